"""Operations and plans: data, not code.

Every operation is a frozen model named after the AWS action it performs, carrying the
physical table, the region it acts in (the primary, or a replica's own region), an
:class:`Action`, a :class:`Category` (why it is planned: drift, a module defect corrected,
something new) with a one-line ``reason``, ``before``/``after`` values that explain it, and its
hazards. A :class:`Plan`
is the ordered list of operations for one environment, the desired tables it was made for,
and a fingerprint of the live state it was made from; it round-trips through JSON so that
``plan --out`` / ``apply PLANFILE`` work like Terraform's saved plans.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, SerializeAsAny, field_validator

from tablesmith.hazards import Hazard, HazardCode
from tablesmith.spec.model import (
    Encryption,
    GlobalSecondaryIndex,
    LockSettings,
    OnDemandThroughput,
    PointInTimeRecovery,
    Stream,
    Table,
    TimeToLive,
    WarmThroughput,
)

# 2: saved plans record their target, context, approvals and an optional signature
# 3: every operation has a category; tags of vaults, plans and roles are UpdateTags
PLAN_FORMAT_VERSION = 3
_TABLE_OPS = ("CreateTable", "ReplaceTable", "DeleteTable")  # ops on the table as a whole


class Action(StrEnum):
    """What an operation does to its resource (Terraform's closed set)."""

    CREATE = "create"
    UPDATE = "update"
    REPLACE = "replace"
    DELETE = "delete"
    NO_OP = "no-op"


class Category(StrEnum):
    """Why an operation is planned (closed set; the diff decides it where it acts)."""

    DRIFT = "drift"  # the resource exists and differs from the spec
    MODULE_DEFECT = "module-defect"  # a known defect of the reference Terraform module is fixed
    NEW = "new"  # in the spec, not live
    DESTROY = "destroy"  # asked for by `tablesmith destroy`


OPERATION_TYPES: dict[str, type[Op]] = {}  # "CreateTable" -> CreateTable, filled as defined


class Op(BaseModel):
    """The base of every operation: the table's own (below) and its families'
    (``tablesmith.around``). Defining a subclass with an ``op`` literal registers it, so a
    saved plan's operations are validated into their own types."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)
    if TYPE_CHECKING:  # each subclass: ``op: Literal["CreateTable"] = "CreateTable"``
        op: str

    table: str  # physical table name
    region: str  # where the call is made: the table's region or a replica's own region
    action: Action
    category: Category  # no default: every place that makes an operation says why
    hazards: tuple[Hazard, ...] = ()
    reason: str = ""  # one line for people (a module defect: what the module got wrong)

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        field = cls.model_fields.get("op")
        if field is not None and isinstance(field.default, str):
            known = OPERATION_TYPES.setdefault(field.default, cls)
            if known is not cls:
                raise TypeError(f"two operations are called {field.default}: "
                                f"{known.__module__} and {cls.__module__}")

    @property
    def label(self) -> str:
        """Short human description: 'CreateGsi ByEmail'."""
        return self.op

    def with_hazard(self, code: HazardCode, message: str, suggestion: str = "") -> Self:
        """A copy with one more hazard."""
        return self.model_copy(
            update={
                "hazards": (
                    *self.hazards,
                    Hazard(code=code, message=message, suggestion=suggestion),
                )
            }
        )


class CreateTable(Op):
    """CreateTable with keys, indexes, stream, SSE, class, deletion protection and tags."""

    op: Literal["CreateTable"] = "CreateTable"
    action: Action = Action.CREATE
    after: Table


class DeleteTable(Op):
    """DeleteTable."""

    op: Literal["DeleteTable"] = "DeleteTable"
    action: Action = Action.DELETE
    before: Table
    item_count: int = 0


class ReplaceTable(Op):
    """DeleteTable then CreateTable: the only way to change a key schema or an LSI."""

    op: Literal["ReplaceTable"] = "ReplaceTable"
    action: Action = Action.REPLACE
    before: Table
    after: Table
    item_count: int = 0


class CreateGsi(Op):
    """UpdateTable GlobalSecondaryIndexUpdates Create (one index per call)."""

    op: Literal["CreateGsi"] = "CreateGsi"
    action: Action = Action.CREATE
    after: GlobalSecondaryIndex
    item_count: int = 0  # items to backfill


class DeleteGsi(Op):
    """UpdateTable GlobalSecondaryIndexUpdates Delete (one index per call)."""

    op: Literal["DeleteGsi"] = "DeleteGsi"
    action: Action = Action.DELETE
    before: GlobalSecondaryIndex


class UpdateBillingMode(Op):
    """UpdateTable BillingMode (AWS allows a switch about once per 24 hours)."""

    op: Literal["UpdateBillingMode"] = "UpdateBillingMode"
    action: Action = Action.UPDATE
    before: str
    after: str


class UpdateOnDemandThroughput(Op):
    """UpdateTable OnDemandThroughput (request-unit caps)."""

    op: Literal["UpdateOnDemandThroughput"] = "UpdateOnDemandThroughput"
    action: Action = Action.UPDATE
    before: OnDemandThroughput | None
    after: OnDemandThroughput | None


class UpdateWarmThroughput(Op):
    """UpdateTable WarmThroughput (the table) or GlobalSecondaryIndexUpdates Update (an index)."""

    op: Literal["UpdateWarmThroughput"] = "UpdateWarmThroughput"
    action: Action = Action.UPDATE
    index: str | None = None  # None: the table's own warm throughput
    before: WarmThroughput | None  # None: the endpoint reports none
    after: WarmThroughput  # never lower than ``before``: AWS only raises it


class UpdateTableClass(Op):
    """UpdateTable TableClass."""

    op: Literal["UpdateTableClass"] = "UpdateTableClass"
    action: Action = Action.UPDATE
    before: str
    after: str


class UpdateStream(Op):
    """UpdateTable StreamSpecification: one enable or disable per call."""

    op: Literal["UpdateStream"] = "UpdateStream"
    action: Action = Action.UPDATE
    before: Stream
    after: Stream


class UpdateSse(Op):
    """UpdateTable SSESpecification."""

    op: Literal["UpdateSse"] = "UpdateSse"
    action: Action = Action.UPDATE
    before: Encryption
    after: Encryption


class UpdateDeletionProtection(Op):
    """UpdateTable DeletionProtectionEnabled, in the primary's or a replica's region."""

    op: Literal["UpdateDeletionProtection"] = "UpdateDeletionProtection"
    action: Action = Action.UPDATE
    before: bool
    after: bool


class UpdatePitr(Op):
    """UpdateContinuousBackups, in the primary's or a replica's region."""

    op: Literal["UpdatePitr"] = "UpdatePitr"
    action: Action = Action.UPDATE
    before: PointInTimeRecovery
    after: PointInTimeRecovery


class UpdateTtl(Op):
    """UpdateTimeToLive: one enable or disable (AWS allows about one change per hour)."""

    op: Literal["UpdateTtl"] = "UpdateTtl"
    action: Action = Action.UPDATE
    before: TimeToLive
    after: TimeToLive


class TagResource(Op):
    """TagResource: add or change these tags, in the primary's or a replica's region."""

    op: Literal["TagResource"] = "TagResource"
    action: Action = Action.UPDATE
    before: dict[str, str]  # the current values of the keys concerned
    after: dict[str, str]


class UntagResource(Op):
    """UntagResource: remove these tag keys."""

    op: Literal["UntagResource"] = "UntagResource"
    action: Action = Action.UPDATE
    before: dict[str, str]
    after: dict[str, str] = Field(default_factory=dict)


class CreateReplica(Op):
    """UpdateTable ReplicaUpdates Create (one replica per call), made from the primary region."""

    op: Literal["CreateReplica"] = "CreateReplica"
    action: Action = Action.CREATE
    replica_region: str


class DeleteReplica(Op):
    """UpdateTable ReplicaUpdates Delete (one replica per call), made from the primary region."""

    op: Literal["DeleteReplica"] = "DeleteReplica"
    action: Action = Action.DELETE
    replica_region: str


class CreateStrongReplicas(Op):
    """UpdateTable ReplicaUpdates Create (every replica), GlobalTableWitnessUpdates Create and
    MultiRegionConsistency STRONG: an MRSC global table is made in one call, from the primary."""

    op: Literal["CreateStrongReplicas"] = "CreateStrongReplicas"
    action: Action = Action.CREATE
    replica_regions: tuple[str, ...]  # sorted; two, or one with a witness
    witness_region: str | None = None
    item_count: int = 0  # AWS makes an MRSC table only from an empty one


class DeleteStrongReplicas(Op):
    """UpdateTable ReplicaUpdates Delete (every replica) with the witness's Delete: an MRSC
    global table loses its replicas in one call, leaving a single-Region table."""

    op: Literal["DeleteStrongReplicas"] = "DeleteStrongReplicas"
    action: Action = Action.DELETE
    replica_regions: tuple[str, ...]  # sorted
    witness_region: str | None = None


Operation = Op  # every operation, the table's and its families' (``OPERATION_TYPES``)


class PlanTarget(BaseModel):
    """Where a plan was made, so that it is applied there and nowhere else.

    A plan is a statement about one account's tables: applied to another endpoint, account,
    profile or region it would act on resources nobody reviewed.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    kind: Literal["aws", "endpoint", "local"]
    region: str
    endpoint: str | None = None  # kind "endpoint": the URL calls go to
    state_dir: str | None = None  # kind "local": the state directory (its port changes)
    profile: str | None = None
    account: str | None = None  # from STS GetCallerIdentity (None: the endpoint has no STS)
    # settings that came from the spec's environment rather than a flag or the environment
    # variables: shown, because a spec (a pull request) can send credentials elsewhere
    from_spec: tuple[Literal["endpoint", "profile"], ...] = ()

    def describe(self) -> str:
        """One line for the plan header: where the calls go and with whose credentials."""
        account = f"account {self.account}" if self.account else "account unknown"
        if self.kind == "local":
            where = f"the embedded local target (state {self.state_dir})"
        elif self.kind == "endpoint":
            where = f"endpoint {self.endpoint}" + (
                " (from the spec)" if "endpoint" in self.from_spec else ""
            )
        else:
            where = "AWS"
        profile = ""
        if self.profile:
            profile = f", profile {self.profile}" + (
                " (from the spec)" if "profile" in self.from_spec else ""
            )
        return f"{where}, {account}{profile}, region {self.region}"


class Plan(BaseModel):
    """The ordered operations for one environment, and what they were computed from."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    format_version: int = PLAN_FORMAT_VERSION
    environment: str
    region: str
    destroy: bool = False
    desired: tuple[Table, ...]  # the spec's tables (for destroy: the tables to remove)
    operations: tuple[SerializeAsAny[Op], ...]
    fingerprint: str  # hash of the live state the plan was made from
    orphans: tuple[str, ...] = ()  # owned tables not in the spec (deleted with --prune)
    notices: tuple[str, ...] = ()  # what the plan could not manage at this target, and why
    # --- how the plan was asked for: a saved plan is re-computed from these at apply
    prune: bool = False
    lift_protection: bool = False
    remaining: tuple[Table, ...] = ()  # destroy: the environment's tables that stay
    known: tuple[str, ...] = ()  # every table the spec names here (never an orphan)
    lock: LockSettings = Field(default_factory=LockSettings)  # conventions.lock of the spec
    # --- the context a saved plan carries (``apply PLANFILE`` needs no other flag)
    target: PlanTarget | None = None
    spec_path: str | None = None
    approved: tuple[HazardCode, ...] = ()  # hazards allowed at plan time (--allow-hazards)
    signature: str | None = None  # HMAC-SHA256 of the rest, with TABLESMITH_PLAN_KEY

    @field_validator("operations", mode="before")
    @classmethod
    def _typed(cls, raw: Any) -> Any:
        """Each operation into its own type, by its ``op`` (a saved plan is JSON)."""
        if isinstance(raw, (list, tuple)):
            return tuple(operations_from([*raw]))
        return raw

    @property
    def has_changes(self) -> bool:
        """Does applying this plan call AWS?"""
        return bool(self.operations)

    def hazards(self) -> list[tuple[Any, Hazard]]:
        """Every (operation, hazard) pair, in plan order."""
        return [(op, h) for op in self.operations for h in op.hazards]

    def refused(self, allowed: frozenset[HazardCode]) -> list[tuple[Any, Hazard]]:
        """Blocking hazards that ``allowed`` does not name."""
        return [(op, h) for op, h in self.hazards() if h.blocking and h.code not in allowed]

    def table_action(self, table: str) -> Action:
        """The action on one table itself (for summaries): its create/replace/delete if the
        plan has one, else update when anything of it changes, else no-op."""
        ops = [op for op in self.operations if op.table == table]
        whole = [op.action for op in ops if op.op in _TABLE_OPS]
        return whole[0] if whole else Action.UPDATE if ops else Action.NO_OP

    def to_json(self) -> str:
        """Serialise (saved plans)."""
        return self.model_dump_json(indent=2)

    @classmethod
    def from_json(cls, text: str) -> Plan:
        """Load a saved plan (pydantic validates every field; nothing is evaluated).

        Raises ValueError for a document that is not a plan of this format.
        """
        import json

        try:
            head = json.loads(text)
        except ValueError as exc:
            raise ValueError(f"not JSON ({exc})") from exc
        version = head.get("format_version") if isinstance(head, dict) else None
        if version != PLAN_FORMAT_VERSION:
            shown = json.dumps(version) if version is not None else "missing"
            raise ValueError(
                f"plan format {shown} is not this tablesmith's "
                f"({PLAN_FORMAT_VERSION}); run `tablesmith plan --out` again"
            )
        return cls.model_validate(head)

    def signed_body(self) -> bytes:
        """The canonical bytes a signature covers: everything but the signature."""
        return self.model_copy(update={"signature": None}).model_dump_json().encode()


def operations_from(raw: list[Any]) -> list[Op]:
    """Validate raw operation dicts (e.g. from JSON) into their operation models.

    The families' operation types register when their modules are imported; whoever loads a
    saved plan imports ``tablesmith.around.registry`` first (``planfile``)."""
    ops: list[Op] = []
    for item in raw:
        if isinstance(item, Op):
            ops.append(item)
            continue
        kind = item.get("op") if isinstance(item, dict) else None
        op_type = OPERATION_TYPES.get(kind) if isinstance(kind, str) else None
        if op_type is None:
            raise ValueError(f"unknown operation {kind!r}: not one this tablesmith performs")
        ops.append(op_type.model_validate(item))
    return ops
