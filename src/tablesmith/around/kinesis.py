"""Kinesis streaming destinations of a table (Kinesis Data Streams for DynamoDB).

A destination streams the table's item changes to a Kinesis data stream of the table's own
account and Region. The spec lists the wanted ones (``kinesis_streaming_destinations``:
``stream_arn`` and ``timestamp_precision``, the precision of the records'
``ApproximateCreationDateTime``); absent, they are not managed and cost no call; ``[]`` wants
none. Only the table in its own Region is managed (a replica's destinations are its own).

Read: ``DescribeKinesisStreamingDestination`` once per table that declares the field and
exists (AWS has no bulk form). AWS keeps a DISABLED destination listed after
``DisableKinesisStreamingDestination``, so a destination is *live* only while it streams
(ENABLING, ACTIVE, UPDATING); a DISABLED or ENABLE_FAILED one is enabled again when wanted.

Diff, per stream ARN: wanted and not live -> ``EnableKinesisStreamingDestination``
(COST_CHANGE: AWS bills change data capture units for every streamed write, besides the
stream itself); live with another precision -> ``UpdateKinesisStreamingDestination``; live and
not wanted -> ``DisableKinesisStreamingDestination`` (STOPS_STREAMING, blocking: its consumers
get no more records, and re-enabling does not replay the changes made in between).

Apply: every call is asynchronous at AWS (Enable answers ENABLING), so each handler waits,
polling Describe, for the destination to settle (ACTIVE, or DISABLED) before it acts (Update
and Disable need ACTIVE) and after (the next operation, or the re-plan, sees it settled).

The endpoint probe costs nothing: an emulator without these APIs is found by the first read
(UnknownOperationException), so a spec that does not use them makes no call for them; where
only new tables manage them (nothing to read yet), a custom endpoint is probed once. Where it
lacks them, nothing is planned, ``settle`` included.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
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
from tablesmith.aws import aws_context, error_code
from tablesmith.errors import ApplyError, AwsError, UsageError
from tablesmith.hazards import HazardCode
from tablesmith.plan import Action, Category, Op, ReplaceTable
from tablesmith.spec.model import KinesisStreamingDestination
from tablesmith.state import FamilyState

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from tablesmith.aws import Clients
    from tablesmith.spec.model import Table

MAX_READERS = 16
DEFAULT_PRECISION = "MILLISECOND"  # AWS's, when EnableKinesisStreamingConfiguration is left out
# DestinationStatus (botocore's enum)
DestinationStatus = Literal["ENABLING", "ACTIVE", "DISABLING", "DISABLED", "ENABLE_FAILED",
                            "UPDATING"]
_STATUSES: tuple[DestinationStatus, ...] = ("ENABLING", "ACTIVE", "DISABLING", "DISABLED",
                                            "ENABLE_FAILED", "UPDATING")
STREAMING = frozenset({"ENABLING", "ACTIVE", "UPDATING"})  # records reach the stream
SETTLED = frozenset({"ACTIVE", "DISABLED", "ENABLE_FAILED"})  # no change under way
_UNSERVED = ("UnknownOperationException", "UnrecognizedClientException")


# --------------------------------------------------------------------------- operations


class EnableKinesisStreamingDestination(Op):
    """EnableKinesisStreamingDestination: the table starts streaming to a Kinesis stream."""

    op: Literal["EnableKinesisStreamingDestination"] = "EnableKinesisStreamingDestination"
    action: Action = Action.CREATE
    after: KinesisStreamingDestination


class UpdateKinesisStreamingDestination(Op):
    """UpdateKinesisStreamingDestination: another ApproximateCreationDateTime precision."""

    op: Literal["UpdateKinesisStreamingDestination"] = "UpdateKinesisStreamingDestination"
    action: Action = Action.UPDATE
    before: KinesisStreamingDestination
    after: KinesisStreamingDestination


class DisableKinesisStreamingDestination(Op):
    """DisableKinesisStreamingDestination: the table stops streaming (the stream stays)."""

    op: Literal["DisableKinesisStreamingDestination"] = "DisableKinesisStreamingDestination"
    action: Action = Action.DELETE
    before: KinesisStreamingDestination


_KinesisOp = (EnableKinesisStreamingDestination | UpdateKinesisStreamingDestination
              | DisableKinesisStreamingDestination)


# --------------------------------------------------------------------------- live state


class LiveDestination(BaseModel):
    """A destination as DescribeKinesisStreamingDestination lists it."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    destination: KinesisStreamingDestination
    status: DestinationStatus

    @property
    def streaming(self) -> bool:
        """Do the table's changes reach the stream (or are about to)?"""
        return self.status in STREAMING


class KinesisState(FamilyState):
    """What ``read`` found: each read table's destinations (by physical name), by ARN."""

    tables: dict[str, tuple[LiveDestination, ...]] = Field(default_factory=dict)
    # the endpoint answered UnknownOperationException (an emulator): not managed there
    unserved: bool = False

    def fingerprint(self, table: str) -> object:
        # definitions, not phases: what streams, to where, with which precision
        return [[d.destination.stream_arn, d.destination.timestamp_precision, d.streaming]
                for d in self.tables.get(table, ())]


# --------------------------------------------------------------------------- read


def _live(raw: dict[str, Any]) -> LiveDestination:
    return LiveDestination(
        destination=KinesisStreamingDestination(
            stream_arn=raw["StreamArn"],
            timestamp_precision=raw.get("ApproximateCreationDateTimePrecision")
            or DEFAULT_PRECISION),
        status=_destination_status(raw.get("DestinationStatus")))


def _destination_status(value: object) -> DestinationStatus:
    for status in _STATUSES:
        if value == status:
            return status
    raise AwsError("reading a Kinesis streaming destination", "UnexpectedStatus",
                   f"DestinationStatus '{value}' is none of {', '.join(_STATUSES)}")


def parse_destinations(raw: Sequence[dict[str, Any]]) -> tuple[LiveDestination, ...]:
    """One entry per stream ARN, sorted: where AWS lists an ARN twice (a DISABLED entry left
    from before, and the one enabled again), the streaming one counts."""
    by_arn: dict[str, LiveDestination] = {}
    for entry in raw:
        live = _live(entry)
        known = by_arn.get(live.destination.stream_arn)
        if known is None or (live.streaming and not known.streaming):
            by_arn[live.destination.stream_arn] = live
    return tuple(by_arn[arn] for arn in sorted(by_arn))


def _describe(clients: Clients, table: Table) -> tuple[LiveDestination, ...] | None:
    """The table's destinations (None: the endpoint lacks the API)."""
    from botocore.exceptions import ClientError

    with aws_context(f"describing Kinesis streaming destinations of table "
                     f"'{table.table_name}' in {table.region}"):
        try:
            answer = clients.dynamodb(table.region).describe_kinesis_streaming_destination(
                TableName=table.table_name)
        except ClientError as exc:
            code = error_code(exc)
            if code == "ResourceNotFoundException":
                return ()  # deleted since the table was read: nothing streams
            if clients.custom_endpoint and code in _UNSERVED:
                return None
            raise
    return parse_destinations(answer.get("KinesisDataStreamDestinations") or ())


def read_destinations(clients: Clients, tables: Sequence[Table],
                      context: ReadContext) -> KinesisState:
    """Describe the destinations of every existing table whose spec manages them."""
    if context.destroy:
        return KinesisState()  # a destination goes with its table: nothing to plan
    managing = [t for t in tables if t.kinesis_streaming_destinations is not None]
    wanted = [t for t in managing if context.live_tables.get(t.table_name) is not None]
    if not wanted:
        # only new tables manage them: on a custom endpoint, one probe tells whether it has
        # the API, before an Enable is planned that would fail after CreateTable
        lacking = bool(managing) and clients.custom_endpoint is not None \
            and _lacks_api(clients, managing[0].region)
        return KinesisState(unserved=lacking)
    with ThreadPoolExecutor(max_workers=min(MAX_READERS, len(wanted))) as pool:
        found = list(pool.map(lambda t: _describe(clients, t), wanted))
    if any(f is None for f in found):
        return KinesisState(unserved=True)
    return KinesisState(tables={t.table_name: f for t, f in zip(wanted, found, strict=True)
                                if f is not None})


def _lacks_api(clients: Clients, region: str) -> bool:
    """Does the custom endpoint lack DescribeKinesisStreamingDestination? One call on a table
    that does not exist: "no such table" says it has the API."""
    from botocore.exceptions import ClientError

    with aws_context(f"probing Kinesis streaming destinations in {region}"):
        try:
            clients.dynamodb(region).describe_kinesis_streaming_destination(
                TableName="tablesmith-probe")
        except ClientError as exc:
            return error_code(exc) in _UNSERVED
    return False


# --------------------------------------------------------------------------- diff


def diff_destinations(live: Sequence[LiveDestination], table: Table) -> list[Op]:
    """Enable, Update and Disable operations that make ``table`` stream where its spec says.

    Pure; sorted by stream ARN. ``kinesis_streaming_destinations: None`` is not managed: no
    operation, whatever streams.
    """
    wanted = table.kinesis_streaming_destinations
    if wanted is None:
        return []
    have = {d.destination.stream_arn: d for d in live}
    want = {d.stream_arn: d for d in wanted}
    ops: list[tuple[str, Op]] = []
    name, region = table.table_name, table.region
    for arn, target in want.items():
        current = have.get(arn)
        if current is None or not current.streaming:
            why = "new destination" if current is None else \
                f"the destination is {current.status}"
            ops.append((arn, enable_op(table, target, Category.NEW if current is None
                                       else Category.DRIFT, why)))
        elif current.destination.timestamp_precision != target.timestamp_precision:
            ops.append((arn, UpdateKinesisStreamingDestination(
                table=name, region=region, before=current.destination, after=target,
                category=Category.DRIFT, reason="timestamp_precision changed")))
    for arn, current in have.items():
        if arn not in want and current.streaming:
            op = DisableKinesisStreamingDestination(
                table=name, region=region, before=current.destination, category=Category.DRIFT,
                reason="not wanted by the spec")
            ops.append((arn, op.with_hazard(
                HazardCode.STOPS_STREAMING,
                f"table '{name}' stops streaming its item changes to {arn}: the stream's "
                "consumers get no more records, and enabling it again later does not replay "
                "the changes made in between",
                "move the consumers off the stream first, or keep the destination in "
                "kinesis_streaming_destinations")))
    return [op for _, op in sorted(ops, key=lambda item: item[0])]


def enable_op(table: Table, target: KinesisStreamingDestination, category: Category,
              reason: str) -> Op:
    """EnableKinesisStreamingDestination of ``target``, with its cost."""
    op = EnableKinesisStreamingDestination(table=table.table_name, region=table.region,
                                           after=target, category=category, reason=reason)
    result: Op = op.with_hazard(
        HazardCode.COST_CHANGE,
        f"streaming table '{table.table_name}' to {target.stream_arn} is billed: DynamoDB "
        "change data capture units for every write, besides the Kinesis stream's own cost")
    return result


def after_replacement(ops: list[Op], wanted_by: Sequence[Table],
                      unserved: bool = False) -> list[Op]:
    """A replaced table (DeleteTable + CreateTable) loses its destinations: enable every
    wanted one again, in place of what the diff planned against the old table. Nothing where
    the endpoint lacks the API (``unserved``): apply would fail after the table's changes."""
    if unserved:
        return [op for op in ops if not isinstance(op, _KinesisOp)]
    replaced = {op.table for op in ops if isinstance(op, ReplaceTable)}
    if not replaced:
        return ops
    by_name = {t.table_name: t for t in wanted_by}
    kept = [op for op in ops if not (op.table in replaced and isinstance(op, _KinesisOp))]
    for name in sorted(replaced):
        table = by_name.get(name)
        if table is None:
            continue
        kept += [enable_op(table, target, Category.DRIFT,
                           "the table is replaced: its destinations go with it")
                 for target in table.kinesis_streaming_destinations or ()]
    return kept


def describe_op(op: Op) -> tuple[str, list[str]]:
    """A destination operation as a headline and one line per changed field."""
    if isinstance(op, EnableKinesisStreamingDestination):
        return (f"EnableKinesisStreamingDestination {op.after.stream_arn} [{op.region}] "
                f"(timestamp_precision: {op.after.timestamp_precision})"), []
    if isinstance(op, UpdateKinesisStreamingDestination):
        return (f"UpdateKinesisStreamingDestination {op.after.stream_arn} [{op.region}]",
                [f"timestamp_precision: {op.before.timestamp_precision} -> "
                 f"{op.after.timestamp_precision}"])
    assert isinstance(op, DisableKinesisStreamingDestination)
    return f"DisableKinesisStreamingDestination {op.before.stream_arn} [{op.region}]", []


# --------------------------------------------------------------------------- apply


def _status(runner: Runner, op: Op, arn: str) -> str | None:
    """The destination's status as Describe lists it now (None: not listed)."""
    answer = runner.call("dynamodb", op.region, f"describing Kinesis streaming destinations "
                         f"of table '{op.table}' in {op.region}",
                         "describe_kinesis_streaming_destination", TableName=op.table)
    found = {d.destination.stream_arn: d
             for d in parse_destinations(answer.get("KinesisDataStreamDestinations") or ())}
    live = found.get(arn)
    return live.status if live else None


def wait_for(runner: Runner, op: Op, arn: str, done: Callable[[str | None], bool],
             what: str) -> str | None:
    """Poll Describe until ``done(status)``, reporting each new status (the runner bounds
    the wait and abandons it on a stop request). The status that satisfied ``done``."""
    return runner.poll(op.table, what, lambda: _status(runner, op, arn), done,
                       lambda status: f"Kinesis streaming destination {arn}: "
                                      f"{status or 'not listed'}")


def _settled(status: str | None) -> bool:
    return status is None or status in SETTLED


def enable_request(table_name: str, destination: KinesisStreamingDestination) -> dict[str, Any]:
    """The EnableKinesisStreamingDestination request (apply sends it; both exports translate
    it). The precision is always sent, so that AWS's default never decides it."""
    return {"TableName": table_name, "StreamArn": destination.stream_arn,
            "EnableKinesisStreamingConfiguration": {
                "ApproximateCreationDateTimePrecision": destination.timestamp_precision}}


def _enable(runner: Runner, op: EnableKinesisStreamingDestination, desired: Table | None) -> None:
    arn = op.after.stream_arn
    what = f"the Kinesis streaming destination {arn} of table '{op.table}'"
    runner.table_arn(op.table, op.region)  # waits for the table to settle (a GSI being made)
    # a destination still DISABLING cannot be enabled again yet (ResourceInUseException)
    wait_for(runner, op, arn, _settled, f"{what} to settle")
    runner.call("dynamodb", op.region, f"enabling {what}", "enable_kinesis_streaming_destination",
                took_effect=lambda: _status(runner, op, arn) in STREAMING,  # a lost answer
                **enable_request(op.table, op.after))
    status = wait_for(runner, op, arn, lambda s: s is not None and s in SETTLED,
                      f"{what} to be ACTIVE")
    if status != "ACTIVE":
        raise ApplyError(f"enabling {what} ended {status}: does the stream exist in "
                         f"{op.region}, ACTIVE, and may DynamoDB write to it?")


def _update(runner: Runner, op: UpdateKinesisStreamingDestination, desired: Table | None) -> None:
    arn = op.after.stream_arn
    what = f"the Kinesis streaming destination {arn} of table '{op.table}'"
    runner.table_arn(op.table, op.region)  # waits for the table to settle
    wait_for(runner, op, arn, _settled, f"{what} to be ACTIVE")  # Update needs ACTIVE
    runner.call("dynamodb", op.region, f"updating {what}", "update_kinesis_streaming_destination",
                TableName=op.table, StreamArn=arn,
                UpdateKinesisStreamingConfiguration={
                    "ApproximateCreationDateTimePrecision": op.after.timestamp_precision})
    wait_for(runner, op, arn, lambda s: s is not None and s in SETTLED, f"{what} to be ACTIVE")


def _disable(runner: Runner, op: DisableKinesisStreamingDestination,
             desired: Table | None) -> None:
    arn = op.before.stream_arn
    what = f"the Kinesis streaming destination {arn} of table '{op.table}'"
    status = wait_for(runner, op, arn, _settled, f"{what} to settle")  # Disable needs ACTIVE
    if status != "ACTIVE":
        return  # already stopped (an interrupted run, or someone else): the goal holds
    try:
        runner.call("dynamodb", op.region, f"disabling {what}",
                    "disable_kinesis_streaming_destination", TableName=op.table, StreamArn=arn,
                    EnableKinesisStreamingConfiguration={
                        "ApproximateCreationDateTimePrecision": op.before.timestamp_precision})
    except AwsError as exc:
        if exc.code != "ResourceNotFoundException":
            raise
        return  # the table or the destination is gone: nothing streams
    wait_for(runner, op, arn, lambda s: s is None or s == "DISABLED", f"{what} to be DISABLED")


# --------------------------------------------------------------------------- the family


class KinesisFamily(FamilyBase):
    """Kinesis streaming destinations of a table (the contract: ``tablesmith.around.contract``)."""

    name: ClassVar[str] = "kinesis"
    spec_fields: ClassVar[tuple[str, ...]] = ("kinesis_streaming_destinations",)
    title: ClassVar[str] = "Kinesis streaming destinations"
    state_type: ClassVar[type[FamilyState]] = KinesisState
    handlers: ClassVar[Mapping[type[Op], Handler]] = dict([
        handler(EnableKinesisStreamingDestination, _enable),
        handler(UpdateKinesisStreamingDestination, _update),
        handler(DisableKinesisStreamingDestination, _disable),
    ])

    def lacks(self, clients: Clients, region: str) -> bool:
        # no probe call: the read finds an endpoint without the API (see the module docstring)
        return False

    def read(self, clients: Clients, tables: Sequence[Table],
             context: ReadContext) -> KinesisState:
        return read_destinations(clients, tables, context)

    def diff(self, state: KinesisState, table: Table) -> list[Op]:
        if state.unserved:
            return []
        return diff_destinations(state.tables.get(table.table_name, ()), table)

    def diff_destroy(self, state: KinesisState, table: Table) -> list[Op]:
        # DeleteTable ends the streaming (DELETES_DATA on the table is the decision); the
        # Kinesis stream itself is not tablesmith's
        return []

    def settle(self, state: KinesisState, ops: list[Op], wanted_by: Sequence[Table]
               ) -> list[Op]:
        return after_replacement(ops, wanted_by, state.unserved)

    def notices(self, state: KinesisState, tables: Sequence[Table]) -> list[str]:
        if state.unserved and any(t.kinesis_streaming_destinations is not None for t in tables):
            return ["the endpoint does not implement Kinesis streaming destinations: they are "
                    "not managed there"]
        return []

    def describe(self, op: Op) -> tuple[str, list[str]]:
        return describe_op(op)

    def export_terraform(self, table: Table, at: TerraformAt,
                         out: TerraformOut) -> dict[str, Any]:
        """One ``aws_dynamodb_kinesis_streaming_destination`` per wanted destination (a
        disabled one is the absence of the resource)."""
        for destination in table.kinesis_streaming_destinations or ():
            request = enable_request(table.table_name, destination)
            name = destination.stream_arn.rsplit("/", 1)[-1]
            body = {
                "table_name": out.ref(at.address, "name"),
                "stream_arn": request["StreamArn"],
                "approximate_creation_date_time_precision": request[
                    "EnableKinesisStreamingConfiguration"]["ApproximateCreationDateTimePrecision"],
            }
            out.add(at.file, "aws_dynamodb_kinesis_streaming_destination",
                    f"{at.ident}_{out.identifier(name)}", body, table.region,
                    f"{at.owner} (Kinesis streaming destination {destination.stream_arn})")
        return {}

    def export_cloudformation(self, table: Table, at: CloudFormationAt,
                              out: CloudFormationOut) -> CloudFormationOutputs:
        """The table's ``KinesisStreamSpecification`` (a property of its resource)."""
        resource = out.resource(at.logical_id)
        resource.update(cloudformation_properties(table, resource))
        return CloudFormationOutputs()

    def iam_statements(self, tables: Sequence[Table], account: str,
                       read_only: bool) -> list[dict[str, Any]]:
        """Only for the tables whose spec manages their destinations (Developer Guide, "Using
        IAM policies for Amazon Kinesis Data Streams and Amazon DynamoDB": each DynamoDB
        action on the table needs these of Kinesis too)."""
        managed = [t for t in tables if t.kinesis_streaming_destinations is not None]
        if not managed:
            return []
        arns = [grants.arn("dynamodb", t.region, account, f"table/{t.table_name}") for t in managed]
        # a live destination the spec no longer lists names a stream the spec cannot: reads
        # of the streams are granted in the tables' regions
        streams = sorted({grants.arn("kinesis", t.region, account, "stream/*") for t in managed})
        out = [grants.statement("ReadKinesisStreamingDestinations", IAM_READS, arns),
               grants.statement("DescribeTheStreamsTablesStreamTo", IAM_STREAM_READS, streams)]
        if read_only:
            return out
        wanted = sorted({d.stream_arn for t in managed
                         for d in t.kinesis_streaming_destinations or ()})
        out.append(grants.statement("ChangeKinesisStreamingDestinations", IAM_WRITES, arns))
        if wanted:
            out.append(grants.statement("EnableStreamingToExactlyTheSpecsStreams",
                                 IAM_STREAM_WRITES, wanted))
            out.append(grants.statement(
                "ListStreamsHasNoResourceEnablingAStreamingDestinationNeedsIt",
                ("kinesis:ListStreams",), "*"))
        return out


# what the reads and handlers call (iam_statements)
IAM_READS = ("dynamodb:DescribeKinesisStreamingDestination",)
IAM_STREAM_READS = ("kinesis:DescribeStream", "kinesis:DescribeStreamSummary")
IAM_WRITES = (
    "dynamodb:DisableKinesisStreamingDestination",
    "dynamodb:EnableKinesisStreamingDestination",
    "dynamodb:UpdateKinesisStreamingDestination",
)
IAM_STREAM_WRITES = ("kinesis:DescribeStream", "kinesis:PutRecords")  # on Enable


def cloudformation_properties(table: Table, resource: dict[str, Any]) -> dict[str, Any]:
    """``resource`` (the table's ``AWS::DynamoDB::Table`` or ``GlobalTable``) with its
    ``KinesisStreamSpecification``: on the table, or on a global table's replica in the
    table's Region. CloudFormation holds one destination per table (per replica): more
    cannot be exported, and saying so beats exporting some of them."""
    wanted = table.kinesis_streaming_destinations or ()
    if not wanted:
        return resource
    if len(wanted) > 1:
        raise UsageError(
            f"cannot export to CloudFormation: table '{table.name}' streams to "
            f"{len(wanted)} Kinesis data streams, and KinesisStreamSpecification holds one; "
            "export to Terraform, or keep one destination in this environment")
    request = enable_request(table.table_name, wanted[0])
    specification = {
        "StreamArn": request["StreamArn"],
        **request["EnableKinesisStreamingConfiguration"],  # the same property name
    }
    properties = dict(resource["Properties"])
    if resource["Type"] == "AWS::DynamoDB::GlobalTable":
        properties["Replicas"] = [
            {**replica, "KinesisStreamSpecification": specification}
            if replica["Region"] == table.region else replica
            for replica in properties["Replicas"]]
    else:
        properties["KinesisStreamSpecification"] = specification
    return {**resource, "Properties": properties}


KINESIS = KinesisFamily()
