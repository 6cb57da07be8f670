"""The contract every resource family around a table fulfils, and the registry's types.

A *family* is one kind of resource that lives beside a table (AWS Backup, CloudWatch alarms,
...). Each is one module under ``tablesmith.around`` exposing one object that satisfies
:class:`ResourceFamily`; ``tablesmith.around.registry.FAMILIES`` lists them. The pipeline's
stages loop over that list and never name a family:

=================  ==========================================================================
stage              what it asks of each family
=================  ==========================================================================
``live``           ``lacks`` (custom endpoints only: does the emulator implement it?), then
                   ``read``: the family's live state for every table, in bulk where AWS has it
``state``          the read is a :class:`FamilyState`, kept in ``LiveState.around`` under
                   ``name``; its ``fingerprint`` is part of the plan's stale-plan check
``diff``           ``diff`` (desired from the spec vs. live, pure), ``diff_destroy``,
                   ``settle`` (a pass over the whole plan, e.g. resources shared by tables)
                   and ``notices``
``apply``          ``handlers``: one typed handler per operation type the family defines
``render``         ``describe``: the headline and detail lines of one of its operations
``outputs``        ``outputs``: the module outputs the family's resources answer
``export``         ``export_terraform`` / ``export_cloudformation`` (see ``tablesmith.export``)
=================  ==========================================================================

Operations are :class:`tablesmith.plan.Op` subclasses defined in the family's module (each
named after the AWS action it performs, with ``before``/``after``); defining one registers it
for saved plans (``plan.OPERATION_TYPES``). A handler uses only :class:`Runner`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypeVar, cast

from tablesmith.plan import Op
from tablesmith.state import FamilyState

if TYPE_CHECKING:
    from tablesmith.aws import Clients
    from tablesmith.spec.model import Table
    from tablesmith.state import LiveTable
    from tablesmith.tags import BulkTags


OpT = TypeVar("OpT", bound=Op)
T = TypeVar("T")


class Runner(Protocol):
    """What a handler may use of ``apply``'s runner."""

    clients: Clients
    # what this apply made that later operations need, instead of reading it back: keys
    # (kind, region, name) by the family's convention, e.g. a backup plan's id and ARN
    known: dict[tuple[str, ...], Any]

    def call(self, service: str, region: str, context: str, method: str, *,
             took_effect: Callable[[], bool] | None = None,
             **kwargs: Any) -> Any: ...  # pragma: no cover

    def table_arn(self, name: str, region: str) -> str: ...  # pragma: no cover

    def report(self, table: str, message: str) -> None: ...  # pragma: no cover

    def poll(self, table: str, what: str, read: Callable[[], T],
             done: Callable[[T], bool], progress: Callable[[T], str]) -> T:
        """Call ``read`` until ``done`` says its answer is what the operation waits for;
        report ``progress`` when it changes. Bounded by the apply's wait timeout, and
        abandoned (never half-done: the call was made) when a stop is requested."""
        ...  # pragma: no cover


Handler = Callable[[Runner, Op, "Table | None"], None]


def handler(op_type: type[OpT], fn: Callable[[Runner, OpT, Table | None], None]
            ) -> tuple[type[Op], Handler]:
    """One registry entry: ``fn`` runs operations of ``op_type`` (and only those: the
    dispatch is by exact type, so the cast cannot hand it another operation)."""
    return op_type, cast("Handler", fn)


S = TypeVar("S", bound=FamilyState)


@dataclass(frozen=True)
class ReadContext:
    """What the table reads already know, for a family's own reads."""

    live_tables: Mapping[str, LiveTable | None] = field(default_factory=dict)
    destroy: bool = False  # a destroy plan: the family reads what deleting needs (counts)
    bulk: BulkTags | None = None  # the environment's tags, one GetResources per region


class ResourceFamily(Protocol[S]):
    """One kind of resource around a table (see the module docstring)."""

    name: ClassVar[str]  # key of LiveState.around and of the fingerprint ("backup")
    title: ClassVar[str]  # for people: "AWS Backup"
    # the fields of the effective Table that are this family's settings: the table's own
    # read leaves them at their defaults (the family reads its resources itself)
    spec_fields: ClassVar[tuple[str, ...]]
    state_type: ClassVar[type[FamilyState]]
    handlers: ClassVar[Mapping[type[Op], Handler]]

    def lacks(self, clients: Clients, region: str) -> bool:
        """Does this custom endpoint lack the family's API? (One probe call; never asked
        of real AWS, which implements everything.)"""
        ...  # pragma: no cover

    def read(self, clients: Clients, tables: Sequence[Table], context: ReadContext) -> S:
        """The live state of ``tables``' resources of this family."""
        ...  # pragma: no cover

    def diff(self, state: S, table: Table) -> list[Op]:
        """Pure: the operations that make ``table``'s resources what its spec wants."""
        ...  # pragma: no cover

    def diff_destroy(self, state: S, table: Table) -> list[Op]:
        """Pure: the operations that remove ``table``'s resources (before the table goes)."""
        ...  # pragma: no cover

    def settle(self, state: S, ops: list[Op], wanted_by: Sequence[Table]) -> list[Op]:
        """A pass over the whole plan's operations (resources several tables share, what a
        replaced table must get again); ``state``: what ``read`` found (regions it learnt
        the endpoint lacks the API: the family plans nothing there)."""
        ...  # pragma: no cover

    def notices(self, state: S, tables: Sequence[Table]) -> list[str]:
        """What the plan should tell that no operation does (settings outside the spec)."""
        ...  # pragma: no cover

    def describe(self, op: Op) -> tuple[str, list[str]]:
        """One of its operations for people: a headline and one line per changed field."""
        ...  # pragma: no cover

    def outputs(self, state: S | None, table: Table) -> dict[str, Any]:
        """The module outputs its resources answer for ``table`` (None: not read here)."""
        ...  # pragma: no cover

    def export_terraform(self, table: Table, at: TerraformAt,
                         out: TerraformOut) -> dict[str, Any]:
        """Add ``table``'s resources of this family; the module outputs they answer (a
        ``table_info`` entry joins the table's)."""
        ...  # pragma: no cover

    def iam_statements(self, tables: Sequence[Table], account: str,
                       read_only: bool) -> list[dict[str, Any]]:
        """The IAM statements (``tablesmith.grants``) for what the family's reads and, unless
        ``read_only``, its handlers call for ``tables`` (``tablesmith iam-policy``)."""
        ...  # pragma: no cover

    def export_cloudformation(self, table: Table, at: CloudFormationAt,
                              out: CloudFormationOut) -> CloudFormationOutputs:
        """Add ``table``'s resources of this family; the module outputs they answer."""
        ...  # pragma: no cover


# --------------------------------------------------------------------------- export hooks
# A family adds its resources to an export through what the exporter offers (never by
# importing it: the exporters are a later stage), translating the same request builders its
# handlers send, so that apply and both exports cannot drift apart.


@dataclass(frozen=True)
class TerraformAt:
    """Where one table is in a Terraform export."""

    file: str  # the table's file ("table_<ident>.tf.json")
    ident: str  # the table's identifier; a family's resource names start with it
    owner: str  # for collision messages: "table 'orders'"
    address: str  # the table's resource address ("aws_dynamodb_table.orders")


class TerraformOut(Protocol):
    """What the Terraform exporter offers a family."""

    @property
    def region(self) -> str:
        """The default provider's Region (IAM, being global, goes there)."""
        ...  # pragma: no cover

    @property
    def shared_file(self) -> str:
        """The file for resources no single table owns."""
        ...  # pragma: no cover

    def add(self, file: str, rtype: str, name: str, body: dict[str, Any], region: str,
            owner: str) -> str:
        """Add one resource in ``region`` (its provider is chosen); its address."""
        ...  # pragma: no cover

    def ref(self, address: str, attribute: str) -> str:
        """A reference to another resource's attribute (an expression, never escaped)."""
        ...  # pragma: no cover

    def expression(self, text: str) -> str:
        """``text`` as written: it holds ``${...}`` references (see ``account_id``)."""
        ...  # pragma: no cover

    def account_id(self) -> str:
        """The account's ID as a template reference (the export reads it once)."""
        ...  # pragma: no cover

    def identifier(self, text: str) -> str:
        """``text`` as a Terraform identifier."""
        ...  # pragma: no cover

    def memo(self, family: str) -> dict[Any, Any]:
        """The family's notes for the whole export (resources several tables share)."""
        ...  # pragma: no cover


@dataclass(frozen=True)
class CfnSub:
    """A ``${...}`` reference inside a string the exporter builds with ``Fn::Sub``."""

    expr: str  # e.g. "OrdersTable.Arn", "AWS::AccountId"


# A piece of a CloudFormation string: a literal, a ``${...}`` reference, or an intrinsic
# function (a dict such as ``Fn::If``, which becomes a variable of ``Fn::Sub``)
CfnPart = str | CfnSub | dict[str, Any]


@dataclass(frozen=True)
class CfnString:
    """A string made of parts, as a leaf of ``CloudFormationOut.json_sub``'s document."""

    parts: tuple[CfnPart, ...]


@dataclass(frozen=True)
class CloudFormationAt:
    """Where one table is in a CloudFormation export."""

    pascal: str  # PascalCase of the table's logical name; its logical IDs start with it
    logical_id: str  # the table's resource ("<pascal>Table")
    owner: str  # for collision messages: "table 'orders'"


@dataclass(frozen=True)
class CloudFormationOutputs:
    """What a family's resources answer of one table's outputs."""

    # (module output name, description, value); the exporter orders them as the module does
    outputs: list[tuple[str, str, Any]] = field(default_factory=list)
    table_info: dict[str, Any] = field(default_factory=dict)  # entries joining table_info


@dataclass(frozen=True)
class CrossRegionReference:
    """A value the main stack needs from a stack in another Region: a parameter of the main
    stack (``Fn::ImportValue`` does not cross Regions), recorded in its metadata and README."""

    parameter: str  # the main stack's parameter
    table: str  # logical table name
    region: str
    target: Mapping[str, str]  # what it names, for the metadata ({"backupVault": name})
    from_stack: str
    from_output: str
    when_empty: tuple[CfnPart, ...]  # the value the main stack derives when it is empty


class CloudFormationStack(Protocol):
    """A stack in another Region (``CloudFormationOut.dr_stack``)."""

    @property
    def name(self) -> str: ...  # pragma: no cover

    def add_resource(self, logical_id: str, owner: str, body: dict[str, Any]) -> None:
        ...  # pragma: no cover

    def add_output(self, logical_id: str, owner: str, description: str, value: Any) -> None:
        """An output, exported as ``<stack name>-<logical_id>``."""
        ...  # pragma: no cover


class CloudFormationOut(Protocol):
    """What the CloudFormation exporter offers a family: the main stack (in the table's
    Region), a stack per other Region, and the intrinsics."""

    @property
    def region(self) -> str:
        """The main stack's Region."""
        ...  # pragma: no cover

    def add_resource(self, logical_id: str, owner: str, body: dict[str, Any]) -> None:
        ...  # pragma: no cover

    def add_parameter(self, logical_id: str, owner: str, body: dict[str, Any]) -> None:
        ...  # pragma: no cover

    def add_condition(self, logical_id: str, owner: str, body: Any) -> None:
        ...  # pragma: no cover

    def resource(self, logical_id: str) -> dict[str, Any]:
        """A resource already in the main stack (the table's, for a family whose settings
        are properties of the table), to change in place."""
        ...  # pragma: no cover

    def dr_stack(self, region: str) -> CloudFormationStack:
        """The stack for ``region`` (made on first use), deployed before the main stack."""
        ...  # pragma: no cover

    def cross_region_reference(self, reference: CrossRegionReference) -> None:
        """Record a parameter that stands for another Region's value."""
        ...  # pragma: no cover

    def ref(self, logical_id: str) -> dict[str, Any]:
        ...  # pragma: no cover

    def get_att(self, logical_id: str, attribute: str) -> dict[str, Any]:
        ...  # pragma: no cover

    def sub(self, *parts: CfnPart) -> Any:
        """The string of ``parts``: a literal if it has no references, else ``Fn::Sub``."""
        ...  # pragma: no cover

    def arn(self, service: str, region: str, resource: CfnPart) -> tuple[CfnPart, ...]:
        """The parts of an ARN in this partition and account."""
        ...  # pragma: no cover

    def managed_policy_arn(self, arn: str) -> Any:
        """An AWS-managed policy's ARN in the stack's partition."""
        ...  # pragma: no cover

    def json_sub(self, value: Any) -> Any:
        """A JSON document (``CfnSub`` / ``CfnString`` / intrinsic leaves) as one string,
        for an output: CloudFormation outputs are strings."""
        ...  # pragma: no cover

    def display(self, parts: Sequence[CfnPart]) -> str:
        """Parts for a reader, in a template's descriptions (``<placeholders>``)."""
        ...  # pragma: no cover

    def pascal(self, name: str) -> str:
        """A name as (part of) a logical ID."""
        ...  # pragma: no cover

    def output_id(self, table: Table, output: str) -> str:
        """The output name of ``table``'s module output ``output``."""
        ...  # pragma: no cover

    def memo(self, family: str) -> dict[Any, Any]:
        """The family's notes for the whole export (resources several tables share)."""
        ...  # pragma: no cover


class FamilyBase:
    """Defaults for the optional parts of the contract (a family overrides what it needs)."""

    name: ClassVar[str]
    state_type: ClassVar[type[FamilyState]]

    def settle(self, state: Any, ops: list[Op], wanted_by: Sequence[Table]) -> list[Op]:
        return ops

    def notices(self, state: Any, tables: Sequence[Table]) -> list[str]:
        return []

    def outputs(self, state: Any, table: Table) -> dict[str, Any]:
        return {}

    def export_terraform(self, table: Table, at: TerraformAt,
                         out: TerraformOut) -> dict[str, Any]:
        return {}

    def iam_statements(self, tables: Sequence[Table], account: str,
                       read_only: bool) -> list[dict[str, Any]]:
        return []

    def export_cloudformation(self, table: Table, at: CloudFormationAt,
                              out: CloudFormationOut) -> CloudFormationOutputs:
        return CloudFormationOutputs()



def lacks_api(probe: Callable[[], object]) -> bool:
    """Does a custom endpoint lack a service? ``probe`` makes one harmless call: an answer, or
    a refusal of these credentials (the service is there), says no; any other error, or no
    connection at all, says yes. An emulator that serves only DynamoDB (DynamoDB Local) has no
    other service, and what it answers for one varies."""
    from botocore.exceptions import BotoCoreError, ClientError

    from tablesmith.aws import ACCESS_DENIED, error_code

    try:
        probe()
    except ClientError as exc:
        return error_code(exc) not in ACCESS_DENIED
    except BotoCoreError:
        return True
    return False
