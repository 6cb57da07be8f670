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


class Runner(Protocol):
    """What a handler may use of ``apply``'s runner."""

    clients: Clients

    def call(self, service: str, region: str, context: str, method: str, *,
             took_effect: Callable[[], bool] | None = None,
             **kwargs: Any) -> Any: ...  # pragma: no cover

    def table_arn(self, name: str, region: str) -> str: ...  # pragma: no cover

    def report(self, table: str, message: str) -> None: ...  # pragma: no cover


OpT = TypeVar("OpT", bound=Op)
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

    def settle(self, ops: list[Op], wanted_by: Sequence[Table]) -> list[Op]:
        """A pass over the whole plan's operations (resources several tables share)."""
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


class FamilyBase:
    """Defaults for the optional parts of the contract (a family overrides what it needs)."""

    name: ClassVar[str]
    state_type: ClassVar[type[FamilyState]]

    def settle(self, ops: list[Op], wanted_by: Sequence[Table]) -> list[Op]:
        return ops

    def notices(self, state: Any, tables: Sequence[Table]) -> list[str]:
        return []

    def outputs(self, state: Any, table: Table) -> dict[str, Any]:
        return {}



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
