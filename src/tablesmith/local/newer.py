"""DynamoDB's newer control-plane APIs on the local target, patched into moto in-process.

``install()`` (called after ``local/dynamodb.py``'s, whose handlers it wraps in turn) adds or
corrects, after the AWS DynamoDB API reference (the facts, with sources, are collected in
the session's aws-facts file and repeated here where they act):

* **Resource-based policies** (PutResourcePolicy, GetResourcePolicy, DeleteResourcePolicy,
  CreateTable ``ResourcePolicy``) on a table ARN and on a stream ARN. moto 5.2 keys policies
  by the ARN's last path part (a stream ARN then names no table), keeps them after the table
  is deleted, has no size limit and answers a missing policy with ResourceNotFoundException;
  here the policies live on the table (``_ts_policies``: ``table`` or ``stream/<label>`` ->
  record), so DeleteTable takes them with it, as on AWS.
* **Contributor Insights** (UpdateContributorInsights, DescribeContributorInsights,
  ListContributorInsights; moto has none): per table and per GSI (``_ts_insights``).
* **Kinesis streaming destinations** (Enable/Update/Disable/DescribeKinesisStreamingDestination;
  moto has none): the Kinesis stream must exist in moto's Kinesis backend of the table's
  account and Region (``_ts_kinesis``: stream ARN -> record).
* **Warm throughput**: moto stores UpdateTable's ``WarmThroughput`` as given (a partial value
  loses the other half) and accepts a decrease; here only increases pass and the value merges.
* **Multi-Region strong consistency**: UpdateTable ``MultiRegionConsistency`` and
  ``GlobalTableWitnessUpdates`` (moto ignores both); DescribeTable ``MultiRegionConsistency``
  and ``GlobalTableWitnesses`` (``_ts_consistency``, ``_ts_witness`` on every member).
* **Multi-attribute GSI keys**: botocore 1.44's KeySchema has no maximum and moto accepts any
  number of elements; AWS allows up to four HASH and four RANGE attributes in a GSI (and one
  of each in a table or LSI key), HASH elements first.

Phases (ENABLING, CREATING, ...) end by the wall clock, read when asked, as in
``local/dynamodb.py``: immediate by default, a few (scaled) seconds in the realistic mode.
All state is plain data in ``_ts_*`` attributes of moto's ``Table`` objects, saved by
``local/snapshot.py``. moto is imported inside the functions that need it.
"""

from __future__ import annotations

import functools
import json
import re
import time
from typing import TYPE_CHECKING, Any, TypedDict

from tablesmith.local import dynamodb as replicas
from tablesmith.local import realistic

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

Moto = Any  # a moto object (Table, DynamoDBBackend, DynamoHandler): typed loosely on purpose

_INSTALLED = "_ts_newer_installed"  # marker attribute on moto's DynamoHandler class

# "The maximum size supported for a resource-based policy document is 20 KB. DynamoDB counts
# whitespaces when calculating the size of a policy against this limit." (PutResourcePolicy)
MAX_POLICY_BYTES = 20 * 1024
NO_POLICY = "NO_POLICY"  # ExpectedRevisionId: attach only if the resource has none
# "Subsequent updates to a policy for a given resource are blocked for 15 seconds after a
# successful update" (developer guide, resource-based policy considerations): realistic mode.
POLICY_UPDATE_BLOCK_SECONDS = 15.0
TABLE_POLICY = "table"  # _ts_policies key of the table's own policy; a stream's is stream/<label>

INSIGHTS_MODES = ("ACCESSED_AND_THROTTLED_KEYS", "THROTTLED_KEYS")
INSIGHTS_TABLE = "$table"  # _ts_insights key of the table itself ($ is in no index name)
MAX_LIST_INSIGHTS = 100  # ListContributorInsights MaxResults: at most 100 (botocore)
PRECISIONS = ("MILLISECOND", "MICROSECOND")  # ApproximateCreationDateTimePrecision
# realistic mode: nominal AWS seconds of the asynchronous phases (not published figures)
INSIGHTS_SECONDS = 30.0
KINESIS_SECONDS = 30.0

CONSISTENCIES = ("EVENTUAL", "STRONG")
# "The witness must be in a different Region than the replicas and within the same Region
# set" (API reference, CreateGlobalTableWitnessGroupMemberAction): the Region sets where MRSC
# is offered. "A MRSC global table can be configured with either three replicas, or with two
# replicas and one witness" (same page).
MRSC_REGION_SETS = (
    frozenset({"us-east-1", "us-east-2", "us-west-2"}),
    frozenset({"eu-west-1", "eu-west-2", "eu-west-3", "eu-central-1"}),
    frozenset({"ap-northeast-1", "ap-northeast-2", "ap-northeast-3"}),
)
MRSC_REGIONS = 3  # replicas (this table included) plus the witness
# multi-attribute keys (developer guide, GSI design pattern "Multi-attribute keys"): a GSI's
# partition and sort key may each be made of up to four attributes
MAX_GSI_KEY_ATTRIBUTES = 4

_TABLE_ARN = re.compile(
    r"arn:(?P<partition>aws[a-z-]*):dynamodb:(?P<region>[a-z0-9-]+):(?P<account>[0-9]{12}):"
    r"table/(?P<table>[a-zA-Z0-9_.-]{3,255})(?:/stream/(?P<label>[0-9T:.+-]{1,64}))?"
)
_KINESIS_ARN = re.compile(
    r"arn:(?P<partition>aws[a-z-]*):kinesis:(?P<region>[a-z0-9-]+):(?P<account>[0-9]{12}):"
    r"stream/(?P<name>[a-zA-Z0-9_.-]{1,128})"
)


class _Policy(TypedDict):
    """A resource-based policy attached to the table or its stream."""

    Policy: str  # the document as given (whitespace counts toward the 20 KB)
    RevisionId: str  # milliseconds since the epoch, as AWS's look; strictly increasing
    UpdatedAt: float  # time.time() of the last change (the 15 s block in realistic mode)


class _Insights(TypedDict):
    """Contributor Insights of the table or one GSI."""

    enabled: bool  # the last action: ENABLE -> ENABLING then ENABLED; DISABLE -> DISABLED
    mode: str  # ContributorInsightsMode
    until: float  # time.time() when ENABLING / DISABLING ends
    updated: float  # LastUpdateDateTime


class _Destination(TypedDict):
    """One Kinesis data stream the table streams (or streamed) to."""

    enabled: bool  # ENABLING then ACTIVE, or DISABLING then DISABLED
    precision: str  # ApproximateCreationDateTimePrecision
    until: float  # when ENABLING / UPDATING / DISABLING ends
    updating: bool  # the phase that ends at ``until`` is UPDATING


class _Witness(TypedDict):
    """The witness Region of an MRSC global table (kept on every member)."""

    region: str
    phase: str  # CREATING | ACTIVE | DELETING
    until: float  # when the phase ends (DELETING -> gone)


def install() -> None:
    """Patch moto's DynamoDB handler in this process; calling it again does nothing."""
    from moto.dynamodb.models.table import Table
    from moto.dynamodb.responses import DynamoHandler

    if getattr(DynamoHandler, _INSTALLED, False):
        return
    replicas.install()  # this module wraps its handlers
    for name, method in _HANDLERS.items():
        setattr(DynamoHandler, name, method)
    _wrap(DynamoHandler, "create_table", _create_table)
    _wrap(DynamoHandler, "update_table", _update_table)
    _wrap(Table, "describe", _describe)
    setattr(DynamoHandler, _INSTALLED, True)


def _wrap(cls: type, name: str, make: Callable[[Callable[..., Any]], Callable[..., Any]]) -> None:
    original = getattr(cls, name)
    setattr(cls, name, functools.wraps(original)(make(original)))


# ---------------------------------------------------------------------------- shared helpers


def _validation(message: str) -> Exception:
    from moto.dynamodb.exceptions import MockValidationException

    return MockValidationException(message)


def _not_found(message: str) -> Exception:
    from moto.dynamodb.exceptions import ResourceNotFoundException

    return ResourceNotFoundException(f"Requested resource not found: {message}")


def _in_use(message: str) -> Exception:
    from moto.dynamodb.exceptions import ResourceInUseException

    return ResourceInUseException(message)


def _policy_not_found(message: str) -> Exception:
    from moto.dynamodb.exceptions import PolicyNotFoundException

    return PolicyNotFoundException(
        f"Resource-based policy not found for the provided ResourceArn: {message}"
    )


def _result(body: dict[str, Any]) -> Any:
    from moto.core.responses import ActionResult

    return ActionResult(body)


def _phase_seconds(nominal: float) -> float:
    """How long an asynchronous change takes: nothing by default, scaled in realistic mode."""
    return realistic.scaled(nominal) if realistic.enabled() else 0.0


def _table(handler: Moto, name_or_arn: Any) -> Moto:
    """The table a TableName (a name or an ARN) names, in the handler's account and Region."""
    if not isinstance(name_or_arn, str) or not name_or_arn:
        raise _validation(
            "1 validation error detected: Value null at 'tableName' failed to "
            "satisfy constraint: Member must not be null"
        )
    name = name_or_arn
    match = _TABLE_ARN.fullmatch(name_or_arn)
    if match:
        name = match["table"]
    elif name_or_arn.startswith("arn:"):
        raise _validation(f"Invalid TableArn: {name_or_arn}")
    table = handler.dynamodb_backend.tables.get(name)
    if table is None:
        raise _not_found(f"Table: {name} not found")
    return table


# ---------------------------------------------------------------------------- resource policies


def _policy_target(handler: Moto, arn: Any) -> tuple[Moto, str]:
    """(table, key in its _ts_policies) of a table or stream ARN; refused as AWS does."""
    from moto.dynamodb.models import dynamodb_backends

    match = _TABLE_ARN.fullmatch(arn) if isinstance(arn, str) else None
    if match is None:
        raise _validation(f"Invalid ResourceArn provided as input {str(arn)[:1283]}")
    backends = dynamodb_backends.get(match["account"])
    backend = backends.get(match["region"]) if backends is not None else None
    table = backend.tables.get(match["table"]) if backend is not None else None
    if table is None:
        raise _not_found(f"Table: {match['table']} not found")
    label = match["label"]
    if label is None:
        return table, TABLE_POLICY
    # "you can only attach a resource-based policy to existing streams" (considerations)
    if label != table.latest_stream_label or not (table.stream_specification or {}).get(
        "StreamEnabled"
    ):
        raise _not_found(f"Stream: {arn} not found")
    return table, f"stream/{label}"


def _policies(table: Moto) -> dict[str, _Policy]:
    records: dict[str, _Policy] | None = getattr(table, "_ts_policies", None)
    if records is None:
        records = {}
        table._ts_policies = records
    return records


def _check_policy_document(policy: Any) -> str:
    if not isinstance(policy, str) or not policy:
        raise _validation(
            "1 validation error detected: Value null at 'policy' failed to "
            "satisfy constraint: Member must not be null"
        )
    if len(policy.encode()) > MAX_POLICY_BYTES:
        raise _validation(
            f"Policy document size {len(policy.encode())} bytes exceeds the maximum of "
            f"{MAX_POLICY_BYTES} bytes (20 KB, whitespace included)"
        )
    try:
        document = json.loads(policy)
    except ValueError:
        raise _validation("Invalid policy document: the policy is not valid JSON") from None
    if not isinstance(document, dict) or "Statement" not in document:
        raise _validation("Invalid policy document: it must be a JSON object with a Statement")
    return policy


def _next_revision(previous: _Policy | None) -> str:
    """A revision id: milliseconds, always above the previous one (compared as text by users)."""
    revision = int(time.time() * 1000)
    if previous is not None and previous["RevisionId"].isdigit():
        revision = max(revision, int(previous["RevisionId"]) + 1)
    return str(revision)


def _attach_policy(table: Moto, key: str, policy: str, expected: Any) -> _Policy:
    records = _policies(table)
    current = records.get(key)
    if expected == NO_POLICY and current is not None:
        raise _policy_not_found(
            f"Requested policy update expecting none to be present for table {table.name}, "
            f"but a policy exists with revision id {current['RevisionId']}."
        )
    if expected not in (None, NO_POLICY):
        if current is None:
            raise _policy_not_found(
                f"Requested update for policy with revision id {expected}, but no policy is "
                f"attached to {table.name}."
            )
        if current["RevisionId"] != expected:
            raise _policy_not_found(
                f"Requested update for policy with revision id {expected}, but the policy "
                f"associated to target table {table.name} has revision id "
                f"{current['RevisionId']}."
            )
    if current is not None and current["Policy"] == policy:
        return current  # idempotent: the same document keeps its revision id
    now = time.time()
    if current is not None and now < current["UpdatedAt"] + _phase_seconds(
        POLICY_UPDATE_BLOCK_SECONDS
    ):
        raise _in_use(
            f"Attempt to change a resource which is still in use: the policy of {table.name} "
            "was updated less than 15 seconds ago"
        )
    record = _Policy(Policy=policy, RevisionId=_next_revision(current), UpdatedAt=now)
    records[key] = record
    return record


def _put_resource_policy(self: Moto) -> Any:
    table, key = _policy_target(self, self.body.get("ResourceArn"))
    policy = _check_policy_document(self.body.get("Policy"))
    record = _attach_policy(table, key, policy, self.body.get("ExpectedRevisionId"))
    return _result({"RevisionId": record["RevisionId"]})


def _get_resource_policy(self: Moto) -> Any:
    arn = self.body.get("ResourceArn")
    table, key = _policy_target(self, arn)
    record = _policies(table).get(key)
    if record is None:
        raise _policy_not_found(str(arn))
    return _result({"Policy": record["Policy"], "RevisionId": record["RevisionId"]})


def _delete_resource_policy(self: Moto) -> Any:
    arn = self.body.get("ResourceArn")
    table, key = _policy_target(self, arn)
    records = _policies(table)
    record = records.get(key)
    if record is None:  # AWS: PolicyNotFoundException, not moto's ResourceNotFoundException
        raise _policy_not_found(str(arn))
    expected = self.body.get("ExpectedRevisionId")
    if expected is not None and expected != record["RevisionId"]:
        raise _policy_not_found(
            f"Requested update for policy with revision id {expected}, but the policy "
            f"associated to target table {table.name} has revision id {record['RevisionId']}."
        )
    del records[key]
    return _result({"RevisionId": record["RevisionId"]})


# ---------------------------------------------------------------------------- contributor insights


def _insights(table: Moto) -> dict[str, _Insights]:
    records: dict[str, _Insights] | None = getattr(table, "_ts_insights", None)
    if records is None:
        records = {}
        table._ts_insights = records
    live = {gsi.name for gsi in table.global_indexes} | {INSIGHTS_TABLE}
    for gone in [key for key in records if key not in live]:  # a deleted index takes its own
        del records[gone]
    return records


def _insights_status(record: _Insights | None, now: float) -> str:
    if record is None:
        return "DISABLED"
    if now < record["until"]:
        return "ENABLING" if record["enabled"] else "DISABLING"
    return "ENABLED" if record["enabled"] else "DISABLED"


def _insights_key(table: Moto, index: Any) -> str:
    if index is None:
        return INSIGHTS_TABLE
    if not any(gsi.name == index for gsi in table.global_indexes):
        raise _not_found(f"Index: {index} not found in table {table.name}")
    return str(index)


def _insights_summary(
    table: Moto, key: str, record: _Insights | None, now: float
) -> dict[str, Any]:
    summary: dict[str, Any] = {"TableName": table.name}
    if key != INSIGHTS_TABLE:
        summary["IndexName"] = key
    summary["ContributorInsightsStatus"] = _insights_status(record, now)
    if record is not None and record["enabled"]:
        summary["ContributorInsightsMode"] = record["mode"]
    return summary


def _update_contributor_insights(self: Moto) -> Any:
    table = _table(self, self.body.get("TableName"))
    key = _insights_key(table, self.body.get("IndexName"))
    action = self.body.get("ContributorInsightsAction")
    if action not in ("ENABLE", "DISABLE"):
        raise _validation(
            f"1 validation error detected: Value '{action}' at 'contributorInsightsAction' "
            "failed to satisfy constraint: Member must satisfy enum value set: [ENABLE, DISABLE]"
        )
    mode = self.body.get("ContributorInsightsMode")
    if mode is not None and mode not in INSIGHTS_MODES:
        raise _validation(
            f"1 validation error detected: Value '{mode}' at 'contributorInsightsMode' failed "
            "to satisfy constraint: Member must satisfy enum value set: "
            f"[{', '.join(INSIGHTS_MODES)}]"
        )
    records = _insights(table)
    now = time.time()
    current = records.get(key)
    status = _insights_status(current, now)
    if status in ("ENABLING", "DISABLING"):
        raise _in_use(f"Contributor Insights of {table.name} is {status.lower()}")
    records[key] = _Insights(
        enabled=action == "ENABLE",
        mode=mode or (current["mode"] if current else INSIGHTS_MODES[0]),
        until=now + _phase_seconds(INSIGHTS_SECONDS),
        updated=now,
    )
    return _result(_insights_summary(table, key, records[key], now))


def _describe_contributor_insights(self: Moto) -> Any:
    table = _table(self, self.body.get("TableName"))
    key = _insights_key(table, self.body.get("IndexName"))
    record = _insights(table).get(key)
    now = time.time()
    answer = _insights_summary(table, key, record, now)
    if record is not None:
        answer["LastUpdateDateTime"] = record["updated"]
        if answer["ContributorInsightsStatus"] == "ENABLED":
            answer["ContributorInsightsRuleList"] = _rule_names(table, key, record)
    return _result(answer)


def _rule_names(table: Moto, key: str, record: _Insights) -> list[str]:
    """The CloudWatch rules AWS creates: partition/sort key, accessed (C) and throttled (T)."""
    target = table.name if key == INSIGHTS_TABLE else f"{table.name}-{key}"
    stamp = int(record["updated"] * 1000)
    kinds = ["PKT", "SKT"] if record["mode"] == "THROTTLED_KEYS" else ["PKC", "SKC", "PKT", "SKT"]
    if not table.range_key_attr and key == INSIGHTS_TABLE:
        kinds = [kind for kind in kinds if not kind.startswith("SK")]
    return [f"DynamoDBContributorInsights-{kind}-{target}-{stamp}" for kind in kinds]


def _list_contributor_insights(self: Moto) -> Any:
    """With TableName: the table and each of its GSIs (DISABLED ones too); without: every
    table or index whose Contributor Insights is not DISABLED."""
    limit = self.body.get("MaxResults", MAX_LIST_INSIGHTS)
    if not isinstance(limit, int) or not 0 < limit <= MAX_LIST_INSIGHTS:
        raise _validation(
            f"1 validation error detected: Value '{limit}' at 'maxResults' failed to satisfy "
            f"constraint: Member must have value less than or equal to {MAX_LIST_INSIGHTS}"
        )
    now = time.time()
    summaries: list[dict[str, Any]] = []
    name = self.body.get("TableName")
    if name is not None:
        table = _table(self, name)
        records = _insights(table)
        for key in [INSIGHTS_TABLE, *sorted(gsi.name for gsi in table.global_indexes)]:
            summaries.append(_insights_summary(table, key, records.get(key), now))
    else:
        for table in sorted(self.dynamodb_backend.tables.values(), key=lambda t: t.name):
            for key, record in sorted(_insights(table).items()):
                if _insights_status(record, now) != "DISABLED":
                    summaries.append(_insights_summary(table, key, record, now))
    token = self.body.get("NextToken")
    start = int(token) if isinstance(token, str) and token.isdigit() else 0
    page = summaries[start : start + limit]
    answer: dict[str, Any] = {"ContributorInsightsSummaries": page}
    if start + limit < len(summaries):
        answer["NextToken"] = str(start + limit)
    return _result(answer)


# ---------------------------------------------------------------------------- kinesis destinations


def _destinations(table: Moto) -> dict[str, _Destination]:
    records: dict[str, _Destination] | None = getattr(table, "_ts_kinesis", None)
    if records is None:
        records = {}
        table._ts_kinesis = records
    return records


def _destination_status(record: _Destination, now: float) -> str:
    if now < record["until"]:
        if record["updating"]:
            return "UPDATING"
        return "ENABLING" if record["enabled"] else "DISABLING"
    return "ACTIVE" if record["enabled"] else "DISABLED"


def _check_kinesis_stream(table: Moto, arn: Any) -> str:
    """The ARN of an existing Kinesis data stream of the table's account and Region."""
    from moto.kinesis.models import kinesis_backends

    match = _KINESIS_ARN.fullmatch(arn) if isinstance(arn, str) else None
    if match is None or len(arn) < 37:
        raise _validation(f"Invalid StreamArn provided as input {str(arn)[:1024]}")
    if match["account"] != table.account_id or match["region"] != table.region_name:
        # DynamoDB writes to a stream of the table's own account and Region only
        raise _validation(
            f"The Kinesis data stream {arn} must be in the same account and Region as the "
            f"table {table.name}"
        )
    backend = kinesis_backends[table.account_id][table.region_name]
    if match["name"] not in backend.streams:
        raise _not_found(f"Kinesis stream {arn} not found")
    return str(arn)


def _precision(config: Any) -> str | None:
    value = config.get("ApproximateCreationDateTimePrecision") if isinstance(config, dict) else None
    if value is not None and value not in PRECISIONS:
        raise _validation(
            f"1 validation error detected: Value '{value}' at "
            "'approximateCreationDateTimePrecision' failed to satisfy constraint: Member must "
            f"satisfy enum value set: [{', '.join(PRECISIONS)}]"
        )
    return value


def _destination_answer(
    table: Moto, arn: str, record: _Destination, now: float, config_key: str
) -> Any:
    return _result(
        {
            "TableName": table.name,
            "StreamArn": arn,
            "DestinationStatus": _destination_status(record, now),
            config_key: {"ApproximateCreationDateTimePrecision": record["precision"]},
        }
    )


def _enable_kinesis_streaming_destination(self: Moto) -> Any:
    table = _table(self, self.body.get("TableName"))
    arn = _check_kinesis_stream(table, self.body.get("StreamArn"))
    precision = _precision(self.body.get("EnableKinesisStreamingConfiguration"))
    records = _destinations(table)
    now = time.time()
    current = records.get(arn)
    if current is not None and _destination_status(current, now) != "DISABLED":
        raise _in_use(
            f"Table {table.name} is already streaming to {arn} "
            f"({_destination_status(current, now)})"
        )
    record = _Destination(
        enabled=True,
        precision=precision or PRECISIONS[0],
        until=now + _phase_seconds(KINESIS_SECONDS),
        updating=False,
    )
    records[arn] = record
    return _destination_answer(table, arn, record, now, "EnableKinesisStreamingConfiguration")


def _active_destination(table: Moto, arn: Any, now: float) -> tuple[str, _Destination]:
    record = _destinations(table).get(arn) if isinstance(arn, str) else None
    if record is None:
        raise _not_found(f"Kinesis streaming destination {arn} of table {table.name} not found")
    status = _destination_status(record, now)
    if status != "ACTIVE":
        raise _validation(
            f"The Kinesis streaming destination {arn} of table {table.name} is {status}, not ACTIVE"
        )
    return str(arn), record


def _update_kinesis_streaming_destination(self: Moto) -> Any:
    table = _table(self, self.body.get("TableName"))
    now = time.time()
    arn, record = _active_destination(table, self.body.get("StreamArn"), now)
    precision = _precision(self.body.get("UpdateKinesisStreamingConfiguration"))
    if precision is None:
        raise _validation(
            "UpdateKinesisStreamingConfiguration must set ApproximateCreationDateTimePrecision"
        )
    if precision == record["precision"]:
        raise _validation(
            f"The Kinesis streaming destination {arn} already has "
            f"ApproximateCreationDateTimePrecision {precision}"
        )
    record["precision"] = precision
    record["until"] = now + _phase_seconds(KINESIS_SECONDS)
    record["updating"] = True
    return _destination_answer(table, arn, record, now, "UpdateKinesisStreamingConfiguration")


def _disable_kinesis_streaming_destination(self: Moto) -> Any:
    table = _table(self, self.body.get("TableName"))
    now = time.time()
    arn, record = _active_destination(table, self.body.get("StreamArn"), now)
    record["enabled"] = False
    record["until"] = now + _phase_seconds(KINESIS_SECONDS)
    record["updating"] = False
    return _destination_answer(table, arn, record, now, "EnableKinesisStreamingConfiguration")


def _describe_kinesis_streaming_destination(self: Moto) -> Any:
    table = _table(self, self.body.get("TableName"))
    now = time.time()
    return _result(
        {
            "TableName": table.name,
            "KinesisDataStreamDestinations": [
                {
                    "StreamArn": arn,
                    "DestinationStatus": _destination_status(record, now),
                    "ApproximateCreationDateTimePrecision": record["precision"],
                }
                for arn, record in _destinations(table).items()
            ],
        }
    )


_HANDLERS: dict[str, Callable[[Moto], Any]] = {
    "put_resource_policy": _put_resource_policy,
    "get_resource_policy": _get_resource_policy,
    "delete_resource_policy": _delete_resource_policy,
    "update_contributor_insights": _update_contributor_insights,
    "describe_contributor_insights": _describe_contributor_insights,
    "list_contributor_insights": _list_contributor_insights,
    "enable_kinesis_streaming_destination": _enable_kinesis_streaming_destination,
    "update_kinesis_streaming_destination": _update_kinesis_streaming_destination,
    "disable_kinesis_streaming_destination": _disable_kinesis_streaming_destination,
    "describe_kinesis_streaming_destination": _describe_kinesis_streaming_destination,
}
# the IAM action of each operation above is dynamodb:<Operation> (local/iam.py needs no list)


# ---------------------------------------------------------------------------- key schemas


def _check_key_schema(schema: Any, *, where: str, multi: bool) -> None:
    """HASH elements, then RANGE ones: one of each for a table or LSI, up to four in a GSI."""
    if not isinstance(schema, list):
        return  # moto's own error
    kinds = [element.get("KeyType") for element in schema if isinstance(element, dict)]
    names = [element.get("AttributeName") for element in schema if isinstance(element, dict)]
    most = MAX_GSI_KEY_ATTRIBUTES if multi else 1
    hashes, ranges = kinds.count("HASH"), kinds.count("RANGE")
    problem = None
    if hashes < 1 or hashes > most or ranges > most:
        problem = (
            f"{where} may have 1 to {most} HASH and at most {most} RANGE key "
            f"attributes, not {hashes} and {ranges}"
        )
    elif kinds != sorted(kinds, key=lambda kind: kind != "HASH"):
        problem = f"{where} must list its HASH key attributes before its RANGE ones"
    elif len(set(names)) != len(names):
        problem = f"{where} names a key attribute twice"
    if problem:
        raise _validation(f"One or more parameter values were invalid: {problem}")


def _check_key_schemas(body: Mapping[str, Any]) -> None:
    for gsi in body.get("GlobalSecondaryIndexes") or []:
        if isinstance(gsi, dict):
            _check_key_schema(
                gsi.get("KeySchema"), where=f"index {gsi.get('IndexName')}", multi=True
            )
    for update in body.get("GlobalSecondaryIndexUpdates") or []:
        create = update.get("Create") if isinstance(update, dict) else None
        if isinstance(create, dict):
            _check_key_schema(
                create.get("KeySchema"), where=f"index {create.get('IndexName')}", multi=True
            )
    for lsi in body.get("LocalSecondaryIndexes") or []:
        if isinstance(lsi, dict):
            _check_key_schema(
                lsi.get("KeySchema"), where=f"index {lsi.get('IndexName')}", multi=False
            )


# ---------------------------------------------------------------------------- create / update


def _create_table(original: Callable[..., Any]) -> Callable[..., Any]:
    def create_table(self: Moto) -> Any:
        from moto.dynamodb.responses import DynamoResult

        body = self.body
        _check_key_schemas(body)
        _check_key_schema(body.get("KeySchema"), where="the table's KeySchema", multi=False)
        policy = body.get("ResourcePolicy")
        if policy is not None:
            _check_policy_document(policy)
        result = original(self)
        if policy is None:
            return result
        # "When you attach a resource-based policy while creating a table, the policy
        # application is strongly consistent" (CreateTable ResourcePolicy)
        table = self.dynamodb_backend.get_table(body["TableName"])
        _attach_policy(table, TABLE_POLICY, policy, None)
        return DynamoResult(table.describe())

    return create_table


def _update_table(original: Callable[..., Any]) -> Callable[..., Any]:
    def update_table(self: Moto) -> Any:
        from moto.dynamodb.responses import DynamoResult

        body = self.body
        table = self.dynamodb_backend.get_table(body.get("TableName"))
        _check_key_schemas(body)
        warm = _check_warm_increases(table, body)
        mrsc = _check_mrsc(table, body, time.time())
        if mrsc is not None and len(mrsc.replicas) > 1:
            # an MRSC table of three replicas is made in one request; the replica code makes
            # one replica per UpdateTable (MREC's rule), so the others are made after it
            self.body = {**body, "ReplicaUpdates": [{"Create": mrsc.replicas[0]}]}
        also_deleted = _strong_deletes(table, body, time.time())
        if also_deleted:
            # likewise the replicas of a three-replica MRSC table go in one request ("delete
            # both replicas in one UpdateTable", developer guide delete-gt-mrsc)
            first = body["ReplicaUpdates"][0]
            self.body = {**body, "ReplicaUpdates": [first]}
        try:
            original(self)
        finally:
            self.body = body
        now = time.time()
        for region in also_deleted:
            replicas._delete_replica(table, region, now)
        if also_deleted:  # the table is a single-Region table again
            table._ts_consistency = None
        if mrsc is not None:
            _apply_mrsc(table, mrsc, now)
        _merge_warm(table, warm)
        return DynamoResult(table.describe())

    return update_table


# ---------------------------------------------------------------------------- warm throughput


_WARM_KEYS = ("ReadUnitsPerSecond", "WriteUnitsPerSecond")


def _check_warm(current: Mapping[str, Any], wanted: Any, what: str) -> dict[str, Any]:
    """The merged warm throughput; a decrease is refused ("you can increase" it only)."""
    if not isinstance(wanted, dict):
        return {}
    merged = {key: current.get(key) for key in _WARM_KEYS}
    for key in _WARM_KEYS:
        value = wanted.get(key)
        if value is None:
            continue
        if not isinstance(value, int) or value < 1:
            raise _validation(
                f"One or more parameter values were invalid: {key} for "
                f"WarmThroughput for {what} must be a positive number"
            )
        now = current.get(key)
        if isinstance(now, int) and value < now:
            raise _validation(
                f"One or more parameter values were invalid: Requested {key} for "
                f"WarmThroughput for {what} is lower than the current {key} ({now}); warm "
                "throughput can only be increased"
            )
        merged[key] = value
    return merged


def _check_warm_increases(table: Moto, body: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Index name ('' for the table) -> merged warm throughput, checked before moto runs."""
    merged: dict[str, dict[str, Any]] = {}
    table_warm = _check_warm(table.warm_throughput or {}, body.get("WarmThroughput"), "table")
    if table_warm:
        merged[""] = table_warm
    indexes = {gsi.name: gsi for gsi in table.global_indexes}
    for update in body.get("GlobalSecondaryIndexUpdates") or []:
        change = update.get("Update") if isinstance(update, dict) else None
        if not isinstance(change, dict) or change.get("IndexName") not in indexes:
            continue
        name = change["IndexName"]
        index_warm = _check_warm(
            indexes[name].warm_throughput or {}, change.get("WarmThroughput"), f"index {name}"
        )
        if index_warm:
            merged[name] = index_warm
    return merged


def _merge_warm(table: Moto, merged: Mapping[str, dict[str, Any]]) -> None:
    """Set the merged values; warm throughput also follows provisioned capacity upwards."""
    targets: list[tuple[Moto, dict[str, Any] | None]] = [(table, merged.get(""))]
    targets += [(gsi, merged.get(gsi.name)) for gsi in table.global_indexes]
    for target, value in targets:
        warm = dict(target.warm_throughput or {})
        if value:
            warm.update({k: v for k, v in value.items() if v is not None})
        throughput = target.throughput or {}
        for warm_key, capacity_key in zip(
            _WARM_KEYS, ("ReadCapacityUnits", "WriteCapacityUnits"), strict=True
        ):
            capacity = throughput.get(capacity_key)
            if isinstance(capacity, int) and capacity > (warm.get(warm_key) or 0):
                warm[warm_key] = capacity
        warm["Status"] = "ACTIVE"
        target.warm_throughput = warm


# ---------------------------------------------------------------------------- MRSC


class _Mrsc:
    """A checked MRSC request: the consistency to set, replicas to create, witness changes."""

    def __init__(
        self,
        consistency: str | None,
        replicas_: list[dict[str, Any]],
        witness_create: str | None,
        witness_delete: str | None,
    ) -> None:
        self.consistency = consistency
        self.replicas = replicas_
        self.witness_create = witness_create
        self.witness_delete = witness_delete


def _witness(table: Moto, now: float) -> _Witness | None:
    record: _Witness | None = getattr(table, "_ts_witness", None)
    if record is None:
        return None
    if now >= record["until"] and record["phase"] == "DELETING":
        return None
    return record


def _witness_status(record: _Witness, now: float) -> str:
    return record["phase"] if now < record["until"] else "ACTIVE"


def _region_set(regions: set[str]) -> frozenset[str] | None:
    return next((s for s in MRSC_REGION_SETS if regions <= s), None)


def _check_mrsc(table: Moto, body: Mapping[str, Any], now: float) -> _Mrsc | None:
    consistency = body.get("MultiRegionConsistency")
    witness_updates = body.get("GlobalTableWitnessUpdates")
    if consistency is None and not witness_updates:
        return None
    if consistency is not None and consistency not in CONSISTENCIES:
        raise _validation(
            f"1 validation error detected: Value '{consistency}' at 'multiRegionConsistency' "
            f"failed to satisfy constraint: Member must satisfy enum value set: "
            f"[{', '.join(CONSISTENCIES)}]"
        )
    updates = body.get("ReplicaUpdates") or []
    creates = [
        u["Create"] for u in updates if isinstance(u, dict) and isinstance(u.get("Create"), dict)
    ]
    deletes = [
        u["Delete"] for u in updates if isinstance(u, dict) and isinstance(u.get("Delete"), dict)
    ]
    witness_create, witness_delete = _witness_actions(witness_updates)
    members = replicas._members(table, now)
    if witness_delete is not None:
        # "Must be done in conjunction with removing a replica. The deletion of both a witness
        # and replica converts the remaining replica to a single-Region DynamoDB table."
        current = _witness(table, now)
        if current is None or current["region"] != witness_delete:
            raise _validation(
                f"One or more parameter values were invalid: {witness_delete} "
                f"is not the witness of table {table.name}"
            )
        if len(deletes) != 1:
            raise _validation(
                "One or more parameter values were invalid: a witness is "
                "deleted together with one replica (ReplicaUpdates Delete)"
            )
        return _Mrsc(None, [], None, witness_delete)
    # "This parameter is only valid when you create a global table by specifying one or more
    # Create actions in the ReplicaUpdates action list." (UpdateTable MultiRegionConsistency)
    if not creates or members:
        raise _validation(
            "One or more parameter values were invalid: MultiRegionConsistency and "
            "GlobalTableWitnessUpdates are only valid when creating a global table (ReplicaUpdates "
            "Create on a table without replicas); a global table's consistency mode cannot change"
        )
    if consistency != "STRONG":
        if witness_create is not None:
            raise _validation(
                "One or more parameter values were invalid: a witness is only "
                "valid for MultiRegionConsistency STRONG"
            )
        if len(creates) > 1:
            raise _validation(
                "One or more parameter values were invalid: only one replica can "
                "be created or deleted per UpdateTable request"
            )
        return _Mrsc("EVENTUAL", creates, None, None)
    _check_mrsc_regions(table, creates, witness_create)
    for params in creates:  # each replica as the replica code checks one (Region, stream, key)
        replicas._check_replica_updates(table, [{"Create": params}], now)
    if len(table) > 0:  # AWS's example: "Table must be empty when enabling MRSC"
        raise _validation(
            f"One or more parameter values were invalid: table {table.name} must "
            "be empty to become a multi-Region strongly consistent global table"
        )
    return _Mrsc("STRONG", creates, witness_create, None)


def _strong_deletes(table: Moto, body: Mapping[str, Any], now: float) -> list[str]:
    """The Regions beyond the first of a ReplicaUpdates that deletes every replica of a
    three-replica MRSC table at once (AWS refuses one alone: an MRSC table has three
    members); none for any other request, which the replica code checks as MREC's."""
    if getattr(table, "_ts_consistency", None) != "STRONG" or body.get(
            "GlobalTableWitnessUpdates"):
        return []
    updates = body.get("ReplicaUpdates") or []
    regions = [u["Delete"].get("RegionName") for u in updates
               if isinstance(u, dict) and isinstance(u.get("Delete"), dict)]
    if len(regions) < 2 or len(regions) != len(updates):
        return []
    members = set(replicas._members(table, now))
    if set(regions) != members or len(set(regions)) != len(regions):
        raise _validation(
            "One or more parameter values were invalid: the replicas of an MRSC global "
            f"table are deleted together: all of {', '.join(sorted(members))}")
    return [str(r) for r in regions[1:]]


def _witness_actions(updates: Any) -> tuple[str | None, str | None]:
    if not updates:
        return None, None
    if not isinstance(updates, list) or len(updates) != 1 or not isinstance(updates[0], dict):
        raise _validation(
            "One or more parameter values were invalid: GlobalTableWitnessUpdates "
            "takes exactly one update (one witness per MRSC global table)"
        )
    (update,) = updates
    actions = [name for name in ("Create", "Delete") if isinstance(update.get(name), dict)]
    if len(actions) != 1:
        raise _validation(
            "One or more parameter values were invalid: a witness update must "
            "contain exactly one action"
        )
    region = update[actions[0]].get("RegionName")
    if not isinstance(region, str) or not region:
        raise _validation("One or more parameter values were invalid: RegionName is required")
    return (region, None) if actions[0] == "Create" else (None, region)


def _check_mrsc_regions(table: Moto, creates: list[dict[str, Any]], witness: str | None) -> None:
    regions = [table.region_name] + [str(c.get("RegionName")) for c in creates]
    everything = regions + ([witness] if witness else [])
    if len(set(everything)) != len(everything):
        raise _validation(
            "One or more parameter values were invalid: the replicas and the "
            "witness of an MRSC global table must be in different Regions"
        )
    if len(everything) != MRSC_REGIONS:
        raise _validation(
            "One or more parameter values were invalid: an MRSC global table has three "
            "replicas, or two replicas and one witness, not "
            f"{len(regions)} replica(s) and {1 if witness else 0} witness"
        )
    if _region_set(set(everything)) is None:
        sets = "; ".join(", ".join(sorted(s)) for s in MRSC_REGION_SETS)
        raise _validation(
            "One or more parameter values were invalid: the Regions of an MRSC global table "
            f"({', '.join(everything)}) must all be in one Region set: {sets}"
        )


def _apply_mrsc(table: Moto, mrsc: _Mrsc, now: float) -> None:
    if mrsc.witness_delete is not None:  # the table is a single-Region table again
        table._ts_consistency = None
        table._ts_witness = None
        return
    for params in mrsc.replicas[1:]:
        replicas._create_replica(table, params, now)
    until = now + replicas._replica_seconds()
    members = [table] + [
        p
        for p in (replicas._peer(table, r) for r in replicas._members(table, now))
        if p is not None
    ]
    for member in members:
        member._ts_consistency = mrsc.consistency
        if mrsc.witness_create is not None:
            member._ts_witness = _Witness(region=mrsc.witness_create, phase="CREATING", until=until)


def _describe(original: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    def describe(self: Moto, base_key: str = "TableDescription") -> dict[str, Any]:
        result = original(self, base_key=base_key)
        desc = result[base_key]
        now = time.time()
        consistency = getattr(self, "_ts_consistency", None)
        if desc.get("Replicas") or consistency == "STRONG":
            desc["MultiRegionConsistency"] = consistency or "EVENTUAL"
        witness = _witness(self, now)
        if witness is not None:
            desc["GlobalTableWitnesses"] = [
                {"RegionName": witness["region"], "WitnessStatus": _witness_status(witness, now)}
            ]
        return result

    return describe
