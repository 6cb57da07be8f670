"""Tier-1 tests of ``around/alarms.py``: every alarm watches a series DynamoDB publishes.

The dimension table below is transcribed from the AWS page "DynamoDB Metrics and dimensions"
(Amazon DynamoDB Developer Guide,
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/metrics-dimensions.html):
for each metric, its "Dimensions:" line and its "Valid Statistics:" list, and the values of
the ``Operation`` dimension. Where the page lists ``TableName, GlobalSecondaryIndexName`` it
also says "The TableName dimension returns the <metric> for the table, but not for any global
secondary indexes", so both ``{TableName}`` and ``{TableName, GlobalSecondaryIndexName}`` are
published series. ``UserErrors`` (and the account-level ``AccountMax*`` metrics) have no
dimensions line: UserErrors "represents the aggregate of HTTP 400 errors … for the current
AWS Region and the current AWS account".

An alarm passes only if its metric (or each metric term of its metric math) names exactly
one of the published dimension sets, uses a documented statistic, and only documented
``Operation`` values. The Terraform module's three original alarms are checked too: each
fails, which is the point of this test.
"""

from __future__ import annotations

from typing import Any

import pytest

from tablesmith.around import alarms as mod
from tablesmith.around.alarms import (
    ALARMS,
    MAX_ALARM_METRICS,
    DeleteAlarms,
    LiveAlarm,
    PutMetricAlarm,
    comparable,
    dedupe_alarm_ops,
    desired_alarms,
    diff_alarms,
    diff_alarms_destroy,
    is_table_alarm,
    parse_alarm,
    put_request,
    shared_alarm_conflicts,
    user_errors_alarm_name,
)
from tablesmith.errors import AwsError, PlanError
from tablesmith.plan import Action, Category
from tablesmith.resources import MetricAlarm, MetricQuery
from tablesmith.spec.defaults import MODULE_DEFAULTS
from tablesmith.spec.model import (
    AlarmRule,
    Alarms,
    Encryption,
    GlobalSecondaryIndex,
    Key,
    PointInTimeRecovery,
    Stream,
    Table,
    TimeToLive,
)

T, G, R = "TableName", "GlobalSecondaryIndexName", "ReceivingRegion"
OP, S = "Operation", "StreamLabel"
ALL_STATS = frozenset({"Minimum", "Maximum", "Average", "SampleCount", "Sum"})

# metric -> (published dimension sets, valid statistics), from the page above
PUBLISHED: dict[str, tuple[tuple[frozenset[str], ...], frozenset[str]]] = {
    "AccountMaxReads": ((frozenset(),), frozenset({"Maximum"})),
    "AccountMaxWrites": ((frozenset(),), frozenset({"Maximum"})),
    "AccountMaxTableLevelReads": ((frozenset(),), frozenset({"Maximum"})),
    "AccountMaxTableLevelWrites": ((frozenset(),), frozenset({"Maximum"})),
    "ConditionalCheckFailedRequests": ((frozenset({T}),), ALL_STATS),
    "ConsumedReadCapacityUnits": ((frozenset({T}), frozenset({T, G})), ALL_STATS),
    "ConsumedWriteCapacityUnits": ((frozenset({T}), frozenset({T, G})), ALL_STATS),
    "ProvisionedReadCapacityUnits": ((frozenset({T}), frozenset({T, G})),
                                     frozenset({"Minimum", "Maximum", "Average"})),
    "ProvisionedWriteCapacityUnits": ((frozenset({T}), frozenset({T, G})),
                                      frozenset({"Minimum", "Maximum", "Average"})),
    "OnlineIndexConsumedWriteCapacity": ((frozenset({T, G}),), ALL_STATS),
    "OnlineIndexPercentageProgress": ((frozenset({T, G}),), ALL_STATS),
    "OnlineIndexThrottleEvents": ((frozenset({T, G}),), ALL_STATS),
    "PendingReplicationCount": ((frozenset({T, R}),),
                                frozenset({"Average", "SampleCount", "Sum"})),
    "ReadThrottleEvents": ((frozenset({T}), frozenset({T, G})),
                           frozenset({"SampleCount", "Sum"})),
    "WriteThrottleEvents": ((frozenset({T}), frozenset({T, G})),
                            frozenset({"SampleCount", "Sum"})),
    "ReplicationLatency": ((frozenset({T, R}),), frozenset({"Average", "Minimum", "Maximum"})),
    "ReturnedBytes": ((frozenset({OP, S, T}),), ALL_STATS),
    "ReturnedItemCount": ((frozenset({T, OP}),), ALL_STATS),
    "ReturnedRecordsCount": ((frozenset({OP, S, T}),), ALL_STATS),
    "SuccessfulRequestLatency": ((frozenset({T, OP}),),
                                 frozenset({"Minimum", "Maximum", "Average", "SampleCount"})),
    "SystemErrors": ((frozenset({T, OP}),), frozenset({"Sum", "SampleCount"})),
    "ThrottledRequests": ((frozenset({T, OP}),), frozenset({"Sum", "SampleCount"})),
    "TimeToLiveDeletedItemCount": ((frozenset({T}),), frozenset({"Sum"})),
    "TransactionConflict": ((frozenset({T}),), ALL_STATS),
    "UserErrors": ((frozenset(),), frozenset({"Sum", "SampleCount"})),
}
# the Operation dimension's values: DynamoDB operations, and the one Streams operation
DYNAMODB_OPERATIONS = frozenset({
    "PutItem", "DeleteItem", "UpdateItem", "GetItem", "BatchGetItem", "Scan", "Query",
    "BatchWriteItem", "TransactWriteItems", "TransactGetItems", "ExecuteTransaction",
    "BatchExecuteStatement", "ExecuteStatement"})
STREAMS_OPERATIONS = frozenset({"GetRecords"})

PRIMARY, DR, OTHER = "af-south-1", "eu-west-1", "us-east-1"
TAGS = {"Environment": "prod", "Project": "shop", "Component": "dynamodb"}
TOPIC = "arn:aws:sns:af-south-1:123456789012:alerts"
OK_TOPIC = "arn:aws:sns:af-south-1:123456789012:recovered"


def rule(**update: Any) -> AlarmRule:
    return AlarmRule.model_validate({**MODULE_DEFAULTS["alarms"]["system_errors"], **update})


def settings(**update: Any) -> Alarms:
    """The module defaults (user_errors off), with ``update`` applied."""
    return Alarms.model_validate(MODULE_DEFAULTS["alarms"]).model_copy(update=update)


def gsi(name: str) -> GlobalSecondaryIndex:
    return GlobalSecondaryIndex(name=name, hash_key=Key(name=f"{name}PK", type="S"))


def table(**update: Any) -> Table:
    base = Table(
        name="orders", table_name="orders", environment="prod", region=PRIMARY,
        partition_key=Key(name="PK", type="S"), sort_key=Key(name="SK", type="S"),
        attribute_definitions=(Key(name="PK", type="S"), Key(name="SK", type="S")),
        point_in_time_recovery=PointInTimeRecovery(enabled=True, recovery_period_days=35),
        ttl=TimeToLive(enabled=False, attribute_name="expiresAt"),
        stream=Stream(enabled=True, view_type="NEW_AND_OLD_IMAGES"),
        encryption=Encryption(type="AWS_MANAGED"), deletion_protection=False,
        table_class="STANDARD", tags=dict(TAGS), alarms=settings())
    return base.model_copy(update=update)


def rich() -> Table:
    """GSIs, two replicas, user errors on, actions: every kind of alarm."""
    return table(global_secondary_indexes=(gsi("ByCustomer"), gsi("ByStatus")),
                 replicas=(DR, OTHER),
                 alarms=settings(user_errors=rule(enabled=True, threshold=10.0),
                                 alarm_actions=(TOPIC,), ok_actions=(OK_TOPIC,)))


# --------------------------------------------------------------------------- the dimension test


def series_problems(alarm: MetricAlarm, t: Table) -> list[str]:
    """Why ``alarm`` watches something DynamoDB does not publish (empty: it is fine)."""
    problems: list[str] = []
    if alarm.metrics:
        stats = [q for q in alarm.metrics if q.expression is None]
        expressions = [q for q in alarm.metrics if q.expression is not None]
        returning = [q for q in alarm.metrics if q.return_data]
        if len(stats) > MAX_ALARM_METRICS or len(expressions) > 10:
            problems.append(f"{alarm.name}: {len(stats)} metrics, {len(expressions)} "
                            "expressions (PutMetricAlarm: at most 10 of each)")
        if len(returning) != 1 or returning[0].expression is None:
            problems.append(f"{alarm.name}: exactly one expression must return data")
        if alarm.namespace or alarm.metric_name or alarm.dimensions or alarm.statistic:
            problems.append(f"{alarm.name}: Metrics excludes MetricName/Dimensions/Statistic")
        terms = [(q.namespace, q.metric_name, q.dimensions, q.stat) for q in stats]
    else:
        terms = [(alarm.namespace, alarm.metric_name, alarm.dimensions, alarm.statistic)]
    for namespace, metric, dimensions, stat in terms:
        where = f"{alarm.name}: {metric}{sorted(dimensions)}"
        if namespace != "AWS/DynamoDB" or metric not in PUBLISHED:
            problems.append(f"{where}: not a DynamoDB metric")
            continue
        published, valid_stats = PUBLISHED[metric]
        if frozenset(dimensions) not in published:
            problems.append(f"{where}: DynamoDB publishes {metric} only with "
                            f"{[sorted(d) for d in published]}")
        if stat not in valid_stats:
            problems.append(f"{where}: {stat} is not a valid statistic")
        if T in dimensions and dimensions[T] != t.table_name:
            problems.append(f"{where}: watches another table")
        if G in dimensions and t.gsi(dimensions[G]) is None:
            problems.append(f"{where}: no such index")
        if R in dimensions and dimensions[R] not in t.replicas:
            problems.append(f"{where}: no replica there")
        if OP in dimensions and dimensions[OP] not in DYNAMODB_OPERATIONS | STREAMS_OPERATIONS:
            problems.append(f"{where}: {dimensions[OP]} is not an Operation value")
    return problems


def test_every_alarm_of_a_rich_table_watches_a_published_series() -> None:
    t = rich()
    alarms = desired_alarms(t)
    assert len(alarms) == 4 + 2 + 2 * 2 + 2 + 1
    for alarm in alarms:
        assert series_problems(alarm, t) == [], alarm.name


def test_summed_alarms_cover_every_operation_that_publishes_them() -> None:
    by_metric: dict[str, set[str]] = {}
    for alarm in desired_alarms(rich()):
        for q in alarm.metrics:
            if q.expression is None:
                assert q.metric_name is not None
                by_metric.setdefault(q.metric_name, set()).add(q.dimensions[OP])
        if alarm.metrics:
            total = alarm.metrics[-1]
            assert (total.expression, total.return_data) == ("SUM(METRICS())", True)
    # SystemErrors: requests to DynamoDB *or DynamoDB Streams*; throttling: DynamoDB only
    assert by_metric == {"SystemErrors": set(DYNAMODB_OPERATIONS | STREAMS_OPERATIONS),
                         "ThrottledRequests": set(DYNAMODB_OPERATIONS)}


def module_alarms(name: str) -> list[MetricAlarm]:
    """main.tf's three alarms, as they were written."""
    common: dict[str, Any] = {"region": PRIMARY, "namespace": "AWS/DynamoDB", "period": 300,
                              "statistic": "Sum", "dimensions": {T: name}}
    return [MetricAlarm(name=f"{name}-user-errors", metric_name="UserErrors", threshold=10,
                        evaluation_periods=2, **common),
            MetricAlarm(name=f"{name}-system-errors", metric_name="SystemErrors", threshold=0,
                        evaluation_periods=1, **common),
            MetricAlarm(name=f"{name}-throttled-requests", metric_name="ThrottledRequests",
                        threshold=5, evaluation_periods=2, **common)]


@pytest.mark.parametrize("index", [0, 1, 2], ids=["UserErrors", "SystemErrors",
                                                  "ThrottledRequests"])
def test_the_modules_original_alarms_are_caught(index: int) -> None:
    alarm = module_alarms("orders")[index]
    problems = series_problems(alarm, table())
    assert len(problems) == 1 and "publishes" in problems[0], problems


def test_checker_catches_wrong_operation_statistic_and_index() -> None:
    t = rich()
    bad = [
        MetricAlarm(name="x", region=PRIMARY, namespace="AWS/DynamoDB",
                    metric_name="ReadThrottleEvents", dimensions={T: "orders", G: "Nope"},
                    statistic="Sum", period=60, threshold=1, evaluation_periods=1),
        MetricAlarm(name="y", region=PRIMARY, namespace="AWS/DynamoDB",
                    metric_name="ReplicationLatency", dimensions={T: "orders", R: DR},
                    statistic="Sum", period=60, threshold=1, evaluation_periods=1),
        MetricAlarm(name="z", region=PRIMARY, threshold=1, evaluation_periods=1, metrics=(
            MetricQuery(id="a", namespace="AWS/DynamoDB", metric_name="SystemErrors",
                        dimensions={T: "orders", OP: "CreateTable"}, stat="Sum", period=60),
            MetricQuery(id="t", expression="SUM(METRICS())", return_data=True))),
    ]
    assert all(len(series_problems(a, t)) == 1 for a in bad)


# --------------------------------------------------------------------------- desired


def test_settings_flow_into_the_alarms() -> None:
    t = table(alarms=settings(read_throttle_events=rule(threshold=7.5, period=60,
                                                        evaluation_periods=3),
                              alarm_actions=(TOPIC,), ok_actions=(OK_TOPIC,)))
    alarm = {a.name: a for a in desired_alarms(t)}["orders-read-throttle-events"]
    assert (alarm.threshold, alarm.period, alarm.evaluation_periods, alarm.statistic) == (
        7.5, 60, 3, "Sum")
    assert alarm.dimensions == {T: "orders"}
    assert (alarm.alarm_actions, alarm.ok_actions) == ((TOPIC,), (OK_TOPIC,))
    assert alarm.treat_missing_data == "notBreaching"
    assert alarm.region == PRIMARY
    assert alarm.tags == {**TAGS, "Component": "monitoring", "Name": alarm.name}
    assert "ReadThrottleEvents" in alarm.description and "7.5" in alarm.description
    summed = {a.name: a for a in desired_alarms(t)}["orders-system-errors"]
    assert all(q.period == 300 and q.stat == "Sum" for q in summed.metrics[:-1])
    assert summed.threshold == 0.0 and summed.evaluation_periods == 1


def test_names_and_order() -> None:
    assert [a.name for a in desired_alarms(rich())] == [
        "dynamodb-user-errors-prod-af-south-1",
        "orders-ByCustomer-read-throttle-events",
        "orders-ByCustomer-write-throttle-events",
        "orders-ByStatus-read-throttle-events",
        "orders-ByStatus-write-throttle-events",
        "orders-read-throttle-events",
        "orders-replication-latency-eu-west-1",
        "orders-replication-latency-us-east-1",
        "orders-system-errors",
        "orders-system-errors-partiql-streams",
        "orders-throttled-requests",
        "orders-throttled-requests-partiql",
        "orders-write-throttle-events",
    ]


def test_disabled_rules_and_disabled_alarms_make_none() -> None:
    off = rule(enabled=False)
    t = table(alarms=settings(system_errors=off, throttled_requests=off,
                              write_throttle_events=off),
              global_secondary_indexes=(gsi("ByCustomer"),), replicas=(DR,))
    assert [a.name for a in desired_alarms(t)] == [
        "orders-ByCustomer-read-throttle-events", "orders-read-throttle-events",
        "orders-replication-latency-eu-west-1"]
    assert desired_alarms(table(alarms=settings(enabled=False))) == ()
    assert desired_alarms(table(alarms=None)) == ()
    # user errors are opt-in; replication latency only with replicas
    assert not any("user-errors" in a.name or "replication" in a.name
                   for a in desired_alarms(table()))


def test_replication_and_gsi_dimensions() -> None:
    alarms = {a.name: a for a in desired_alarms(rich())}
    latency = alarms["orders-replication-latency-us-east-1"]
    assert (latency.metric_name, latency.dimensions, latency.statistic, latency.region) == (
        "ReplicationLatency", {T: "orders", R: OTHER}, "Average", PRIMARY)
    index = alarms["orders-ByStatus-write-throttle-events"]
    assert index.dimensions == {T: "orders", G: "ByStatus"}
    user = alarms[user_errors_alarm_name(rich())]
    assert (user.metric_name, user.dimensions, user.threshold) == ("UserErrors", {}, 10.0)


def test_name_longer_than_cloudwatch_allows_is_an_error() -> None:
    with pytest.raises(PlanError, match="255"):
        desired_alarms(table(global_secondary_indexes=(gsi("I" * 250),)))


# --------------------------------------------------------------------------- read (parse)


def test_parse_reads_back_what_was_put() -> None:
    """A DescribeAlarms entry built from each PutMetricAlarm request parses to the alarm."""
    for alarm in desired_alarms(rich()):
        request = put_request(alarm, with_tags=True)
        raw: dict[str, Any] = {k: v for k, v in request.items()
                               if k not in ("Tags", "ActionsEnabled")}
        raw["AlarmArn"] = f"arn:aws:cloudwatch:{PRIMARY}:1:alarm:{alarm.name}"
        # AWS may answer dimensions in another order and reuse lists
        if "Dimensions" in raw:
            raw["Dimensions"] = list(reversed(raw["Dimensions"]))
        assert comparable(parse_alarm(raw, PRIMARY)) == comparable(alarm)


def test_parse_normalises_what_moto_and_aws_leave_out() -> None:
    raw = {"AlarmName": "orders-x", "AlarmArn": "arn", "Dimensions": [], "Metrics": [],
           "Namespace": "AWS/DynamoDB", "MetricName": "ReadThrottleEvents", "Statistic": "Sum",
           "Period": 60, "Threshold": 1, "EvaluationPeriods": 1,
           "ComparisonOperator": "GreaterThanThreshold"}
    alarm = parse_alarm(raw, PRIMARY)
    assert alarm.description == "" and alarm.threshold == 1.0 and alarm.dimensions == {}
    assert alarm.treat_missing_data == "missing"  # AWS's default: not ours
    math = parse_alarm({**raw, "Metrics": [{"Id": "t", "Expression": "SUM(METRICS())"}]},
                       PRIMARY)
    assert math.metrics[0].return_data is True


def test_put_request_shapes() -> None:
    alarms = {a.name: a for a in desired_alarms(rich())}
    single = put_request(alarms["orders-read-throttle-events"], with_tags=True)
    assert single["Dimensions"] == [{"Name": T, "Value": "orders"}]
    assert single["Statistic"] == "Sum" and single["Period"] == 300 and "Metrics" not in single
    assert {"Key": "Component", "Value": "monitoring"} in single["Tags"]
    summed = put_request(alarms["orders-system-errors"], with_tags=False)
    assert "Tags" not in summed and "MetricName" not in summed and "Period" not in summed
    first = summed["Metrics"][0]
    assert first == {"Id": "get_item", "ReturnData": False, "Label": "GetItem", "MetricStat": {
        "Metric": {"Namespace": "AWS/DynamoDB", "MetricName": "SystemErrors",
                   "Dimensions": [{"Name": OP, "Value": "GetItem"},
                                  {"Name": T, "Value": "orders"}]},
        "Period": 300, "Stat": "Sum"}}
    assert summed["Metrics"][-1]["Expression"] == "SUM(METRICS())"
    assert summed["AlarmActions"] == [TOPIC] and summed["OKActions"] == [OK_TOPIC]


# --------------------------------------------------------------------------- diff


def live_of(alarms: tuple[MetricAlarm, ...]) -> tuple[LiveAlarm, ...]:
    """As ``read_alarms`` returns them: without tags."""
    return tuple(LiveAlarm(alarm=comparable(a), arn=f"arn:{a.name}") for a in alarms)


def summary(ops: list[Any]) -> list[tuple[str, str, str]]:
    return [(op.op, op.action.value, (op.after if op.op == "PutMetricAlarm" else op.before).name)
            for op in ops]


def test_new_alarms_are_created_sorted() -> None:
    t = rich()
    ops = diff_alarms((), desired_alarms(t), t)
    assert [s[2] for s in summary(ops)] == [a.name for a in desired_alarms(t)]
    assert all(op.op == "PutMetricAlarm" and op.action == Action.CREATE and op.before is None
               and op.table == "orders" for op in ops)


def test_unchanged_is_empty_even_without_tags() -> None:
    t = rich()
    assert diff_alarms(live_of(desired_alarms(t)), desired_alarms(t), t) == []


def test_threshold_change_is_an_update_with_before() -> None:
    t = rich()
    changed = rich().model_copy(update={"alarms": rich().alarms.model_copy(  # type: ignore[union-attr]
        update={"read_throttle_events": rule(threshold=50.0)})})
    ops = diff_alarms(live_of(desired_alarms(t)), desired_alarms(changed), changed)
    assert summary(ops) == [
        ("PutMetricAlarm", "update", "orders-ByCustomer-read-throttle-events"),
        ("PutMetricAlarm", "update", "orders-ByStatus-read-throttle-events"),
        ("PutMetricAlarm", "update", "orders-read-throttle-events")]
    assert ops[0].before.threshold == 5.0 and ops[0].after.threshold == 50.0
    assert "threshold" in ops[0].reason


def test_actions_change_updates_every_alarm() -> None:
    t = table()
    new = table(alarms=settings(alarm_actions=(TOPIC,)))
    ops = diff_alarms(live_of(desired_alarms(t)), desired_alarms(new), new)
    assert len(ops) == len(desired_alarms(t)) and all(op.action == Action.UPDATE for op in ops)


def test_removed_gsi_and_replica_alarms_are_deleted() -> None:
    t = rich()
    smaller = rich().model_copy(update={"global_secondary_indexes": (gsi("ByStatus"),),
                                        "replicas": (DR,)})
    ops = diff_alarms(live_of(desired_alarms(t)), desired_alarms(smaller), smaller)
    assert summary(ops) == [
        ("DeleteAlarms", "delete", "orders-ByCustomer-read-throttle-events"),
        ("DeleteAlarms", "delete", "orders-ByCustomer-write-throttle-events"),
        ("DeleteAlarms", "delete", "orders-replication-latency-us-east-1")]


def test_only_our_alarms_are_ever_deleted() -> None:
    t = table()
    theirs = [
        # someone's own alarm under our prefix
        MetricAlarm(name="orders-p99-latency", region=PRIMARY, namespace="AWS/DynamoDB",
                    metric_name="SuccessfulRequestLatency",
                    dimensions={T: "orders", OP: "GetItem"}, statistic="Maximum", period=60,
                    threshold=100, evaluation_periods=1),
        # table "orders-archive"'s alarm: our prefix, a derivable name, another table
        MetricAlarm(name="orders-archive-read-throttle-events", region=PRIMARY,
                    namespace="AWS/DynamoDB", metric_name="ReadThrottleEvents",
                    dimensions={T: "orders-archive"}, statistic="Sum", period=60, threshold=1,
                    evaluation_periods=1),
        # another environment's shared alarm
        MetricAlarm(name="dynamodb-user-errors-dev-af-south-1", region=PRIMARY,
                    namespace="AWS/DynamoDB", metric_name="UserErrors", statistic="Sum",
                    period=60, threshold=1, evaluation_periods=1),
    ]
    assert not any(is_table_alarm(a, t) for a in theirs)
    assert diff_alarms(live_of(tuple(theirs)), desired_alarms(t), t) == diff_alarms(
        (), desired_alarms(t), t)
    assert diff_alarms_destroy(live_of(tuple(theirs)), t) == []


def test_destroy_deletes_every_alarm_of_the_table() -> None:
    t = rich()
    ops = diff_alarms_destroy(live_of(desired_alarms(t)), t)
    assert [s[2] for s in summary(ops)] == [a.name for a in desired_alarms(t)]
    assert all(isinstance(op, DeleteAlarms) for op in ops)


# --------------------------------------------------------------------------- shared alarm


def two_tables(**second: Any) -> tuple[Table, Table]:
    on = settings(user_errors=rule(enabled=True, threshold=10.0))
    a = table(alarms=on)
    b = table(name="users", table_name="users", alarms=on).model_copy(update=second)
    return a, b


def test_shared_user_errors_alarm_is_created_once() -> None:
    a, b = two_tables()
    ops = diff_alarms((), desired_alarms(a), a) + diff_alarms((), desired_alarms(b), b)
    ops = dedupe_alarm_ops(ops, [a, b])
    shared = [op for op in ops if op.after.name == user_errors_alarm_name(a)]
    assert len(shared) == 1 and shared[0].table == "orders"
    assert len(ops) == 2 * (len(desired_alarms(a)) - 1) + 1


def test_shared_alarm_not_deleted_while_another_table_wants_it() -> None:
    a, b = two_tables()
    a_off = a.model_copy(update={"alarms": settings()})  # user_errors off again
    live = {t.table_name: live_of(desired_alarms(t)) for t in (a, b)}
    ops = diff_alarms(live["orders"], desired_alarms(a_off), a_off) + diff_alarms(
        live["users"], desired_alarms(b), b)
    assert [op.op for op in ops] == ["DeleteAlarms"]  # before dedupe
    assert dedupe_alarm_ops(ops, [a_off, b]) == []
    # nobody wants it any more: one delete
    b_off = b.model_copy(update={"alarms": settings()})
    ops = diff_alarms(live["orders"], desired_alarms(a_off), a_off) + diff_alarms(
        live["users"], desired_alarms(b_off), b_off)
    assert summary(dedupe_alarm_ops(ops, [a_off, b_off])) == [
        ("DeleteAlarms", "delete", "dynamodb-user-errors-prod-af-south-1")]


def test_conflicting_shared_settings_converge_on_the_first_table() -> None:
    a, b = two_tables()
    b = b.model_copy(update={"alarms": settings(user_errors=rule(enabled=True,
                                                                 threshold=99.0))})
    live = live_of(tuple(x for x in desired_alarms(a) if x.name.startswith("dynamodb-")))
    ops = diff_alarms(live, desired_alarms(a), a) + diff_alarms(live, desired_alarms(b), b)
    kept = [op for op in dedupe_alarm_ops(ops, [a, b])
            if op.after.name.startswith("dynamodb-")]
    assert kept == []  # live already is orders' version; users' would flip it each apply
    assert len(shared_alarm_conflicts([a, b])) == 1
    assert shared_alarm_conflicts(list(two_tables())) == []


def test_dedupe_passes_other_operations_through_in_order() -> None:
    t = rich()
    ops = diff_alarms((), desired_alarms(t), t)
    assert dedupe_alarm_ops(ops, [t]) == ops


# --------------------------------------------------------------------------- handlers


class FakeRunner:
    """Records calls; fails with ``error`` (an AWS error code) if given."""

    def __init__(self, error: str = "") -> None:
        self.calls: list[tuple[str, str, str, dict[str, Any]]] = []
        self.error = error

    def call(self, service: str, region: str, context: str, method: str, **kwargs: Any) -> Any:
        self.calls.append((service, region, method, kwargs))
        if self.error:
            from botocore.exceptions import ClientError

            cause = ClientError({"Error": {"Code": self.error, "Message": "no"}}, method)
            raise AwsError(context, self.error, "no") from cause
        return {}

    def report(self, table: str, message: str) -> None:
        pass


def test_handlers_call_cloudwatch() -> None:
    t = rich()
    alarm = desired_alarms(t)[1]
    runner = FakeRunner()
    new = Category.NEW
    ALARMS.handlers[PutMetricAlarm](runner, PutMetricAlarm(table="orders", region=PRIMARY,
                                                      category=new, after=alarm), t)
    ALARMS.handlers[PutMetricAlarm](runner, PutMetricAlarm(
        table="orders", region=PRIMARY, category=new, action=Action.UPDATE, before=alarm,
        after=alarm), t)
    ALARMS.handlers[DeleteAlarms](runner, DeleteAlarms(table="orders", region=PRIMARY,
                                                  category=new, before=alarm), t)
    (s1, r1, m1, k1), (_, _, _, k2), (_, _, m3, k3) = runner.calls
    assert (s1, r1, m1) == ("cloudwatch", PRIMARY, "put_metric_alarm")
    assert "Tags" in k1 and "Tags" not in k2
    assert (m3, k3) == ("delete_alarms", {"AlarmNames": [alarm.name]})


def test_deleting_an_alarm_already_gone_is_fine() -> None:
    alarm = desired_alarms(table())[0]
    op = DeleteAlarms(table="orders", region=PRIMARY, category=Category.NEW, before=alarm)
    ALARMS.handlers[DeleteAlarms](FakeRunner("ResourceNotFound"), op, None)
    with pytest.raises(AwsError):
        ALARMS.handlers[DeleteAlarms](FakeRunner("AccessDenied"), op, None)


def test_module_constants_match_the_documentation() -> None:
    assert set(mod.ITEM_OPERATIONS + mod.PARTIQL_OPERATIONS) == DYNAMODB_OPERATIONS
    assert set(mod.STREAMS_OPERATIONS) == STREAMS_OPERATIONS


class FakeClients:
    """``Clients`` with a custom endpoint whose CloudWatch answers or fails."""

    def __init__(self, endpoint: str | None, fails: bool) -> None:
        self.custom_endpoint = endpoint
        self.fails = fails

    def client(self, service: str, region: str) -> Any:
        fails = self.fails

        class CloudWatch:
            def describe_alarms(self, **_: Any) -> dict[str, Any]:
                if fails:
                    raise ValueError("not CloudWatch")
                return {"MetricAlarms": []}

        return CloudWatch()


def test_endpoint_probe_for_cloudwatch() -> None:
    probe = mod.endpoint_lacks_alarms
    assert probe(FakeClients(None, fails=True), PRIMARY) is False  # type: ignore[arg-type]
    assert probe(FakeClients("http://x", fails=False), PRIMARY) is False  # type: ignore[arg-type]
    assert probe(FakeClients("http://x", fails=True), PRIMARY) is True  # type: ignore[arg-type]


def test_describe_op_lines() -> None:
    t = rich()
    alarm = {a.name: a for a in desired_alarms(t)}["orders-read-throttle-events"]
    summed = {a.name: a for a in desired_alarms(t)}["orders-system-errors"]
    changed = alarm.model_copy(update={"threshold": 50.0})
    new, drift = Category.NEW, Category.DRIFT
    assert mod.describe_op(PutMetricAlarm(table="orders", region=PRIMARY, category=new,
                                          after=summed)) == (
        "PutMetricAlarm orders-system-errors [af-south-1] (sum of 10 metrics; 0)", [])
    assert mod.describe_op(PutMetricAlarm(
        table="orders", region=PRIMARY, category=drift, action=Action.UPDATE, before=alarm,
        after=changed)) == (
        "PutMetricAlarm orders-read-throttle-events [af-south-1]", ["threshold: 5 -> 50"])
    assert mod.describe_op(DeleteAlarms(table="orders", region=PRIMARY, category=drift,
                                        before=alarm)) == (
        "DeleteAlarms orders-read-throttle-events [af-south-1] (watches Sum of "
        "ReadThrottleEvents {TableName: orders} per 300s)", [])


def test_metric_math_terms_in_another_order_are_no_change() -> None:
    """Terraform's provider sends metric_query blocks in set order: still the same alarm."""
    from tablesmith.around.alarms import LiveAlarm, desired_alarms, diff_alarms

    table = rich()
    wanted = desired_alarms(table)
    shuffled = tuple(
        LiveAlarm(alarm=a.model_copy(update={"metrics": tuple(reversed(a.metrics))}),
                  arn=f"arn:aws:cloudwatch:af-south-1:123456789012:alarm:{a.name}")
        for a in wanted)
    assert any(len(a.metrics) > 1 for a in wanted)
    assert diff_alarms(shuffled, wanted, table) == []
