"""CloudWatch Contributor Insights of a table and of its GSIs, in every region it lives in.

What is managed: ``contributor_insights: {enabled, mode}`` on the table and on each GSI
(``Table.contributor_insights`` / ``Table.index_contributor_insights``). A table or GSI whose
spec leaves the field out is not managed: it is not read and never planned, so a spec that
uses no Contributor Insights costs no call at all. ``enabled: false`` is managed: what is on
is turned off.

AWS facts this module acts on (API reference UpdateContributorInsights /
ListContributorInsights):

* Contributor Insights is set per table and per GSI, each on its own (``IndexName``), and per
  region: a global table's replica is a table of its own region, whose setting AWS does not
  copy. The table's setting is applied in its region and in each replica's
  (``desired_insights``).
* ``ListContributorInsights`` without a ``TableName`` lists the region's tables and indexes
  whose status is not ``DISABLED`` (observed AWS behaviour; a never-enabled table describes
  as ``DISABLED``), 100 a page: the read is one paginated call per region, whatever the
  number of tables. What is not listed is off.
* A summary that leaves ``ContributorInsightsMode`` out is AWS's default
  (ACCESSED_AND_THROTTLED_KEYS), except where the spec wants THROTTLED_KEYS: that target is
  described (DescribeContributorInsights), or the plan could never converge.
* Status ``ENABLING`` counts as on and ``DISABLING`` as off (the change is under way: planning
  it again would only be refused as in use); ``FAILED`` counts as off, so it is enabled again.
* A GSI made again (``CreateGsi`` after a ``DeleteGsi``) or a table replaced starts with
  Contributor Insights off: ``settle`` plans it again where the spec wants it on.
* Deleting a table or an index takes its Contributor Insights with it: removal plans nothing.

Hazards: turning it on (or widening ``THROTTLED_KEYS`` to ``ACCESSED_AND_THROTTLED_KEYS``)
is billed per event CloudWatch ranks: ``COST_CHANGE``. Turning it off loses the key-level view
from then on, not data (the CloudWatch rules go; the table's items stay): no hazard, said in
the operation's reason.

An endpoint without the API (DynamoDB Local) is found by the read itself, not by a probe, so
that specs without Contributor Insights cost nothing there either; its regions are reported
in a notice and planned for nothing (``settle`` adds nothing there either). A destroy reads
nothing: it plans nothing here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from tablesmith import grants
from tablesmith.around.contract import (
    CloudFormationAt,
    CloudFormationOut,
    CloudFormationOutputs,
    FamilyBase,
    Handler,
    ReadContext,
    Runner,
    TerraformAt,
    TerraformOut,
    handler,
)
from tablesmith.aws import ACCESS_DENIED, aws_context, error_code
from tablesmith.errors import AwsError, TablesmithError, UsageError
from tablesmith.hazards import HazardCode
from tablesmith.plan import Action, Category, CreateGsi, Op, ReplaceTable
from tablesmith.spec.model import ContributorInsights, ContributorInsightsMode
from tablesmith.state import FamilyState

if TYPE_CHECKING:
    from collections.abc import Collection, Iterator, Mapping, Sequence

    from tablesmith.aws import Clients
    from tablesmith.spec.model import Table

OFF = ContributorInsights(enabled=False)
MAX_RESULTS = 100  # ListContributorInsights MaxResults: at most 100 (botocore)
# ContributorInsightsStatus (botocore's enum)
InsightsStatus = Literal["ENABLING", "ENABLED", "DISABLING", "DISABLED", "FAILED"]
_STATUSES: tuple[InsightsStatus, ...] = ("ENABLING", "ENABLED", "DISABLING", "DISABLED", "FAILED")
_ON = ("ENABLING", "ENABLED")  # ContributorInsightsStatus that count as on
# the wider mode ranks every request, not only the throttled ones: more events billed
_WIDER = {("THROTTLED_KEYS", "ACCESSED_AND_THROTTLED_KEYS")}


# --------------------------------------------------------------------------- operations


class UpdateContributorInsights(Op):
    """UpdateContributorInsights of the table (``index`` None) or one GSI, in one region."""

    op: Literal["UpdateContributorInsights"] = "UpdateContributorInsights"
    action: Action = Action.UPDATE
    index: str | None = None  # the GSI; None: the table itself
    before: ContributorInsights = OFF  # what was read (off when not listed)
    after: ContributorInsights

    @property
    def label(self) -> str:
        return f"{self.op} {self.index}" if self.index else self.op


# --------------------------------------------------------------------------- live state


class LiveInsights(BaseModel):
    """One table's or GSI's Contributor Insights that is not DISABLED, as listed."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    region: str
    index: str | None = None  # None: the table itself
    status: InsightsStatus  # never DISABLED: what is off is not listed (nor kept)
    mode: ContributorInsightsMode | None = None  # absent (or unknown): AWS's default

    @property
    def setting(self) -> ContributorInsights:
        """The setting in the spec's model (``_ON`` statuses are on)."""
        if self.status not in _ON:
            return OFF
        if self.mode is None:
            return ContributorInsights(enabled=True)
        return ContributorInsights(enabled=True, mode=self.mode)


class InsightsState(FamilyState):
    """What ``read_insights`` found for the tables whose spec manages Contributor Insights."""

    tables: dict[str, tuple[LiveInsights, ...]] = Field(default_factory=dict)
    unsupported: tuple[str, ...] = ()  # regions whose endpoint lacks the API (sorted)

    def fingerprint(self, table: str) -> object:
        return [[i.region, i.index, i.setting.model_dump(mode="json")]
                for i in self.tables.get(table, ())]

    def setting(self, table: str, region: str, index: str | None) -> ContributorInsights:
        """The live setting of the table or GSI in ``region`` (off when not listed)."""
        found = next((i for i in self.tables.get(table, ())
                      if i.region == region and i.index == index), None)
        return OFF if found is None else found.setting


# --------------------------------------------------------------------------- desired


def desired_insights(table: Table
                     ) -> Iterator[tuple[str, str | None, ContributorInsights]]:
    """(region, index or None, setting) of every managed target, the table's region first:
    the table's and each GSI's setting in its own region and in every replica's."""
    gsis = {g.name for g in table.global_secondary_indexes}
    for region in (table.region, *table.replicas):
        if table.contributor_insights is not None:
            yield region, None, table.contributor_insights
        for index, setting in sorted(table.index_contributor_insights.items()):
            if index in gsis:  # resolve derives the keys from the GSIs: a backstop
                yield region, index, setting


def manages(table: Table) -> bool:
    """Does ``table``'s spec manage Contributor Insights anywhere?"""
    return table.contributor_insights is not None or bool(table.index_contributor_insights)


# --------------------------------------------------------------------------- read


def read_insights(clients: Clients, tables: Sequence[Table],
                  context: ReadContext | None = None) -> InsightsState:
    """One paginated ListContributorInsights per region that a managing table lives in;
    nothing for a destroy, which plans nothing here."""
    if context is not None and context.destroy:
        return InsightsState()
    managed = [t for t in tables if manages(t)]
    regions = sorted({r for t in managed for r in (t.region, *t.replicas)})
    wanted = {t.table_name for t in managed}
    # a summary may leave the mode out (an older answer shape, an emulator): taken as AWS's
    # default, which a THROTTLED_KEYS spec would then never match; those are described
    narrow = {(t.table_name, region, index) for t in managed
              for region, index, want in desired_insights(t)
              if want.enabled and want.mode == "THROTTLED_KEYS"}
    found: dict[str, list[LiveInsights]] = {name: [] for name in sorted(wanted)}
    unsupported: list[str] = []
    for region in regions:
        listed = _list_region(clients, region)
        if listed is None:
            unsupported.append(region)
            continue
        for name, insights in listed:
            if name not in wanted:
                continue
            if insights.mode is None and (name, region, insights.index) in narrow:
                insights = insights.model_copy(
                    update={"mode": _described_mode(clients, name, region, insights.index)})
            found[name].append(insights)
    return InsightsState(
        tables={name: tuple(sorted(items, key=lambda i: (i.region, i.index or "")))
                for name, items in found.items()},
        unsupported=tuple(unsupported))


def _described_mode(clients: Clients, table: str, region: str,
                    index: str | None) -> ContributorInsightsMode | None:
    """DescribeContributorInsights' mode of the table or GSI (None: it names none)."""
    request: dict[str, Any] = {"TableName": table}
    if index is not None:
        request["IndexName"] = index
    with aws_context(f"describing Contributor Insights of {_where(table, index, region)}"):
        mode = clients.dynamodb(region).describe_contributor_insights(**request).get(
            "ContributorInsightsMode")
    return _mode(mode)


def _mode(value: object) -> ContributorInsightsMode | None:
    if value == "ACCESSED_AND_THROTTLED_KEYS":
        return "ACCESSED_AND_THROTTLED_KEYS"
    if value == "THROTTLED_KEYS":
        return "THROTTLED_KEYS"
    return None  # absent (or unknown): AWS's default


def _status(value: object, region: str) -> InsightsStatus:
    for status in _STATUSES:
        if value == status:
            return status
    raise AwsError(f"listing Contributor Insights in {region}", "UnexpectedStatus",
                   f"ContributorInsightsStatus '{value}' is none of {', '.join(_STATUSES)}")


def _list_region(clients: Clients, region: str) -> list[tuple[str, LiveInsights]] | None:
    """(table name, insights) of every summary the region lists; None: a custom endpoint
    that does not implement the API (an emulator: any refusal but access denied)."""
    from botocore.exceptions import BotoCoreError, ClientError

    ddb = clients.dynamodb(region)
    out: list[tuple[str, LiveInsights]] = []
    token: str | None = None
    with aws_context(f"listing Contributor Insights in {region}"):
        while True:
            kwargs: dict[str, Any] = {"MaxResults": MAX_RESULTS}
            if token:
                kwargs["NextToken"] = token
            try:
                page = ddb.list_contributor_insights(**kwargs)
            except (ClientError, BotoCoreError) as exc:
                if clients.custom_endpoint and error_code(exc) not in ACCESS_DENIED:
                    return None
                raise
            for raw in page.get("ContributorInsightsSummaries", []):
                status = _status(raw.get("ContributorInsightsStatus", "DISABLED"), region)
                if status == "DISABLED":  # AWS lists none; an emulator might
                    continue
                out.append((raw["TableName"], LiveInsights(
                    region=region, index=raw.get("IndexName"), status=status,
                    mode=_mode(raw.get("ContributorInsightsMode")))))
            token = page.get("NextToken")
            if not token:
                return out


# --------------------------------------------------------------------------- diff


def comparable(setting: ContributorInsights) -> ContributorInsights:
    """What is compared: the mode only counts while it is on."""
    return setting if setting.enabled else OFF


def diff_insights(state: InsightsState, table: Table) -> list[Op]:
    """Pure: one UpdateContributorInsights per managed target whose live setting differs."""
    ops: list[Op] = []
    for region, index, want in desired_insights(table):
        if region in state.unsupported:
            continue
        have = state.setting(table.table_name, region, index)
        if comparable(have) != comparable(want):
            ops.append(_update(table, region, index, have, want, fresh=False))
    return ops


def _update(table: Table, region: str, index: str | None, have: ContributorInsights,
            want: ContributorInsights, *, fresh: bool) -> UpdateContributorInsights:
    where = _where(table.table_name, index, region)
    if not want.enabled:
        return UpdateContributorInsights(
            table=table.table_name, region=region, index=index, action=Action.DELETE,
            before=have, after=OFF, category=Category.DRIFT,
            reason="not wanted by the spec: the key-level view stops (no data is lost)")
    if fresh:
        reason = "made again: its Contributor Insights starts off"
        category, action = Category.NEW, Action.CREATE
    elif have.enabled:
        reason, category, action = "mode changed", Category.DRIFT, Action.UPDATE
    else:
        reason, category, action = "new", Category.NEW, Action.CREATE
    op = UpdateContributorInsights(table=table.table_name, region=region, index=index,
                                   action=action, before=have, after=want,
                                   category=category, reason=reason)
    if not have.enabled or (have.mode, want.mode) in _WIDER:
        op = op.with_hazard(
            HazardCode.COST_CHANGE,
            f"Contributor Insights ({want.mode}) of {where} is billed per event CloudWatch "
            "ranks")
    return op


def _where(table: str, index: str | None, region: str) -> str:
    return (f"index '{index}' of table '{table}'" if index else f"table '{table}'") + \
        f" in {region}"


def settle_insights(ops: list[Op], wanted_by: Sequence[Table],
                    unsupported: Collection[str] = ()) -> list[Op]:
    """Plan Contributor Insights again where the plan makes a GSI or the table anew (they
    start with it off), unless an operation already sets it there; nothing in
    ``unsupported`` regions (the endpoint there lacks the API: apply would fail)."""
    ops = [op for op in ops
           if not (isinstance(op, UpdateContributorInsights) and op.region in unsupported)]
    tables = {t.table_name: t for t in wanted_by}
    fresh: set[tuple[str, str | None]] = set()  # (table, index); None: the whole table
    for op in ops:
        if isinstance(op, ReplaceTable):
            fresh.add((op.table, None))
        elif isinstance(op, CreateGsi):
            fresh.add((op.table, op.after.name))
    if not fresh:
        return ops
    planned = {(op.table, op.region, op.index) for op in ops
               if isinstance(op, UpdateContributorInsights)}
    extra: list[Op] = []
    for name in sorted({t for t, _ in fresh}):
        table = tables.get(name)
        if table is None:
            continue
        for region, index, want in desired_insights(table):
            made = (name, None) in fresh or (index is not None and (name, index) in fresh)
            if made and want.enabled and (name, region, index) not in planned \
                    and region not in unsupported:
                extra.append(_update(table, region, index, OFF, want, fresh=True))
    return ops + extra  # apply runs a table's operations in plan order: after the index


def describe_op(op: Op) -> tuple[str, list[str]]:
    """An UpdateContributorInsights as a headline and one line per changed field."""
    from tablesmith.render.values import show

    assert isinstance(op, UpdateContributorInsights)
    target = f"{op.table}/{op.index}" if op.index else op.table
    field = (f"global_secondary_indexes.{op.index}.contributor_insights" if op.index
             else "contributor_insights")
    before, after = comparable(op.before), comparable(op.after)
    lines = [f"{field}.enabled: {show(before.enabled)} -> {show(after.enabled)}"] \
        if before.enabled != after.enabled else []
    was = before.mode if before.enabled else None  # a mode only counts while it is on
    if after.enabled and was != after.mode:
        lines.append(f"{field}.mode: {show(was)} -> {show(after.mode)}")
    verb = "enable" if after.enabled else "disable"
    return f"UpdateContributorInsights {target} [{op.region}] ({verb})", lines


# --------------------------------------------------------------------------- apply


def update_request(op: UpdateContributorInsights) -> dict[str, Any]:
    """The UpdateContributorInsights request of ``op`` (no AWS call)."""
    request: dict[str, Any] = {
        "TableName": op.table,
        "ContributorInsightsAction": "ENABLE" if op.after.enabled else "DISABLE",
    }
    if op.index is not None:
        request["IndexName"] = op.index
    if op.after.enabled:
        request["ContributorInsightsMode"] = op.after.mode
    return request


def _update_insights(runner: Runner, op: UpdateContributorInsights,
                     desired: Table | None) -> None:
    where = _where(op.table, op.index, op.region)
    if op.after.enabled:
        # the table (or replica) and its indexes ACTIVE first: a GSI still being created
        # is not there for Contributor Insights yet
        runner.table_arn(op.table, op.region)
    try:
        runner.call("dynamodb", op.region,
                    f"{'enabling' if op.after.enabled else 'disabling'} Contributor Insights "
                    f"of {where}", "update_contributor_insights", **update_request(op))
    except TablesmithError as exc:
        # turning off what is gone (the table or index was deleted): the plan's goal holds
        cause = exc.__cause__
        if op.after.enabled or cause is None or error_code(cause) != "ResourceNotFoundException":
            raise


# --------------------------------------------------------------------------- the family


class ContributorInsightsFamily(FamilyBase):
    """CloudWatch Contributor Insights of tables and GSIs (``tablesmith.around.contract``)."""

    name: ClassVar[str] = "contributor_insights"
    spec_fields: ClassVar[tuple[str, ...]] = ("contributor_insights",
                                              "index_contributor_insights")
    title: ClassVar[str] = "Contributor Insights"
    state_type: ClassVar[type[FamilyState]] = InsightsState
    handlers: ClassVar[Mapping[type[Op], Handler]] = dict([
        handler(UpdateContributorInsights, _update_insights),
    ])

    def lacks(self, clients: Clients, region: str) -> bool:
        # told by the read (InsightsState.unsupported): a probe here would cost a call on
        # every plan, also of specs that manage no Contributor Insights
        return False

    def read(self, clients: Clients, tables: Sequence[Table],
             context: ReadContext) -> InsightsState:
        return read_insights(clients, tables, context)

    def diff(self, state: InsightsState, table: Table) -> list[Op]:
        return diff_insights(state, table)

    def diff_destroy(self, state: InsightsState, table: Table) -> list[Op]:
        return []  # DeleteTable takes the table's and its indexes' Contributor Insights

    def settle(self, state: InsightsState, ops: list[Op], wanted_by: Sequence[Table]
               ) -> list[Op]:
        return settle_insights(ops, wanted_by, state.unsupported)

    def notices(self, state: InsightsState, tables: Sequence[Table]) -> list[str]:
        regions = sorted({r for t in tables if manages(t) for r in (t.region, *t.replicas)}
                         & set(state.unsupported))
        return [f"the endpoint does not implement Contributor Insights in {', '.join(regions)}:"
                " it is not managed there"] if regions else []

    def describe(self, op: Op) -> tuple[str, list[str]]:
        return describe_op(op)

    def export_terraform(self, table: Table, at: TerraformAt,
                         out: TerraformOut) -> dict[str, Any]:
        """One ``aws_dynamodb_contributor_insights`` per target that is on, in its region
        (a replica's after that replica); off is the absence of the resource."""
        for region, index, setting in desired_insights(table):
            if not setting.enabled:
                continue
            where = _where(table.table_name, index, region)
            if setting.mode != "ACCESSED_AND_THROTTLED_KEYS":
                # hashicorp/aws 5.x (the exports pin >= 5.97) has no mode argument: the
                # resource would enable every key, a higher bill than the spec asks for
                raise UsageError(
                    f"cannot export to Terraform: Contributor Insights of {where} is "
                    f"{setting.mode}, and the provider's aws_dynamodb_contributor_insights "
                    "sets no mode (it ranks every key); use ACCESSED_AND_THROTTLED_KEYS "
                    "there, or export to CloudFormation")
            body: dict[str, Any] = {"table_name": out.ref(at.address, "name")}
            if index is not None:
                body["index_name"] = index
            name = f"{at.ident}{'_' + out.identifier(index) if index else ''}"
            if region != table.region:
                # the replica's resource, as the exporter names it: it must exist first
                body["depends_on"] = [
                    f"aws_dynamodb_table_replica.{at.ident}_{out.identifier(region)}"]
                name += f"_{out.identifier(region)}"
            out.add(at.file, "aws_dynamodb_contributor_insights", name, body, region,
                    f"{at.owner} (Contributor Insights of {where})")
        return {}

    def export_cloudformation(self, table: Table, at: CloudFormationAt,
                              out: CloudFormationOut) -> CloudFormationOutputs:
        """The ``ContributorInsightsSpecification``s of the table's resource."""
        resource = out.resource(at.logical_id)
        resource.update(cloudformation_properties(table, resource))
        return CloudFormationOutputs()

    def iam_statements(self, tables: Sequence[Table], account: str,
                       read_only: bool) -> list[dict[str, Any]]:
        """Only for the tables whose spec manages it: one ListContributorInsights per region,
        which IAM does not scope to a table; DescribeContributorInsights where a listing
        leaves out the mode; UpdateContributorInsights on the tables and indexes, in the
        table's region and each replica's."""
        managed = [t for t in tables if manages(t)]
        if not managed:
            return []
        arns = [a for t in managed for region in sorted({t.region, *t.replicas})
                for a in grants.table_arns(t.table_name, region, account)[:2]]  # table, indexes
        out = [grants.statement("ListContributorInsightsHasNoResourceOneCallReadsARegion",
                         ("dynamodb:ListContributorInsights",), "*"),
               grants.statement("DescribeContributorInsightsWhereTheListingHasNoMode",
                         ("dynamodb:DescribeContributorInsights",), arns)]
        if not read_only:
            out.append(grants.statement("ChangeContributorInsightsOfTheTablesAndIndexes",
                                 ("dynamodb:UpdateContributorInsights",), arns))
        return out


def cloudformation_properties(table: Table, resource: dict[str, Any]) -> dict[str, Any]:
    """``resource`` (the table's ``AWS::DynamoDB::Table`` or ``GlobalTable``) with its
    ``ContributorInsightsSpecification``s: on the table and its GSIs, or, for a global
    table, on each replica and each replica's GSIs (CloudFormation keeps it per replica,
    as AWS does). Targets the spec leaves out get none (CloudFormation's default: off)."""
    def spec(setting: ContributorInsights) -> dict[str, Any]:
        return {"Enabled": True, "Mode": setting.mode} if setting.enabled else {"Enabled": False}

    wanted = {(region, index): setting for region, index, setting in desired_insights(table)}
    if not wanted:
        return resource
    properties = dict(resource["Properties"])
    if resource["Type"] == "AWS::DynamoDB::GlobalTable":
        replicas = []
        for replica in properties["Replicas"]:
            region = replica["Region"]
            replica = dict(replica)
            if (region, None) in wanted:
                replica["ContributorInsightsSpecification"] = spec(wanted[region, None])
            indexes = [{"IndexName": index, "ContributorInsightsSpecification": spec(s)}
                       for (r, index), s in sorted(wanted.items(), key=lambda w: w[0][1] or "")
                       if r == region and index is not None]
            if indexes:
                replica["GlobalSecondaryIndexes"] = indexes
            replicas.append(replica)
        properties["Replicas"] = replicas
    else:
        if (table.region, None) in wanted:
            properties["ContributorInsightsSpecification"] = spec(wanted[table.region, None])
        properties["GlobalSecondaryIndexes"] = [
            {**g, "ContributorInsightsSpecification": spec(wanted[table.region,
                                                                  g["IndexName"]])}
            if (table.region, g["IndexName"]) in wanted else g
            for g in properties.get("GlobalSecondaryIndexes", [])]
        if not properties["GlobalSecondaryIndexes"]:
            del properties["GlobalSecondaryIndexes"]
    return {**resource, "Properties": properties}


CONTRIBUTOR_INSIGHTS = ContributorInsightsFamily()
