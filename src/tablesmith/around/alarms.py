"""CloudWatch alarms around a table, on series DynamoDB actually publishes.

The Terraform module's three alarms watched series that do not exist: ``UserErrors`` has no
``TableName`` dimension (it is an account-and-region total), and ``SystemErrors`` /
``ThrottledRequests`` are published per ``TableName`` *and* ``Operation``, so an alarm on
``TableName`` alone never sees a data point (and, with ``notBreaching``, never fires).
Source for every dimension below: "DynamoDB Metrics and dimensions",
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/metrics-dimensions.html

What a table gets (``desired_alarms``), each named after the table so that a reader of the
CloudWatch console knows where it comes from:

* ``<table>-system-errors`` and ``<table>-system-errors-partiql-streams``: SystemErrors of
  every operation, summed with metric math (one metric per ``Operation`` plus
  ``SUM(METRICS())``). A metric-math alarm may reference at most 10 metrics (hard limit), and
  SystemErrors is published for 14 operations, so the 10 item operations and the 4 others
  (PartiQL and the Streams ``GetRecords``) are two alarms, each with the rule's threshold;
* ``<table>-throttled-requests`` and ``<table>-throttled-requests-partiql``: the same for
  ThrottledRequests (13 operations: Streams reads are not throttled against table capacity);
* ``<table>-read-throttle-events`` / ``-write-throttle-events`` (``TableName``) and
  ``<table>-<gsi>-read-throttle-events`` / ``-write-throttle-events`` per GSI (``TableName`` +
  ``GlobalSecondaryIndexName``: the table's series excludes its indexes);
* ``<table>-replication-latency-<region>`` per replica (``TableName`` + ``ReceivingRegion``,
  published in the table's own region);
* ``dynamodb-user-errors-<environment>-<region>`` (no dimensions) when ``user_errors`` is on:
  one per region, shared by the environment's tables (``dedupe_alarm_ops`` keeps one).

The module's own alarms (``<table>-user-errors``, ``-system-errors``, ``-throttled-requests``,
each on ``TableName`` alone) are recognised by name *and* by the series they watch
(``is_module_alarm``): the user-errors one is deleted (``module-defect``; tablesmith has no
alarm of that name), the other two are rewritten in place to the series DynamoDB publishes, and
every other alarm the spec adds to such a table is the rest of that correction.

Tags are set when an alarm is created and not read back: ListTagsForResource costs one call
per alarm (a table with three GSIs has a dozen alarms), and PutMetricAlarm ignores ``Tags`` on
an existing alarm anyway. So tags are left out of every comparison (``comparable``).
"""

from __future__ import annotations

import os
import re
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from tablesmith import grants as iam
from tablesmith.around.contract import (
    CfnSub,
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
    lacks_api,
)
from tablesmith.aws import aws_context, error_code
from tablesmith.errors import PlanError, TablesmithError, UsageError
from tablesmith.plan import Action, Category, Op
from tablesmith.resources import MetricAlarm, MetricQuery, around_tags
from tablesmith.spec.names import MAX_ALARM_NAME as MAX_ALARM_NAME
from tablesmith.spec.names import SHARED_PREFIX as SHARED_PREFIX
from tablesmith.spec.names import (
    SYSTEM_ERRORS_SUFFIXES,
    THROTTLED_SUFFIXES,
    AlarmName,
    alarm_names,
)
from tablesmith.spec.names import user_errors_alarm_name as user_errors_alarm_name
from tablesmith.state import FamilyState

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from tablesmith.aws import Clients
    from tablesmith.spec.model import AlarmRule, Table

NAMESPACE = "AWS/DynamoDB"
MAX_ALARM_METRICS = 10  # metric-math alarm: at most 10 MetricStat terms (hard limit)
MAX_READERS = 16
# the alarms' names (and MAX_ALARM_NAME) are the spec's: ``tablesmith.spec.names``

# The values of the ``Operation`` dimension (same page, "Operation"), grouped so that each
# group fits one metric-math alarm.
ITEM_OPERATIONS = ("GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan",
                   "BatchGetItem", "BatchWriteItem", "TransactGetItems", "TransactWriteItems")
PARTIQL_OPERATIONS = ("ExecuteStatement", "BatchExecuteStatement", "ExecuteTransaction")
STREAMS_OPERATIONS = ("GetRecords",)  # DynamoDB Streams
# SystemErrors: "requests to DynamoDB or Amazon DynamoDB Streams" that answer HTTP 500
_Groups = tuple[tuple[str, tuple[str, ...]], ...]  # (name suffix, operations)
SYSTEM_ERRORS_GROUPS: _Groups = tuple(zip(
    SYSTEM_ERRORS_SUFFIXES, (ITEM_OPERATIONS, PARTIQL_OPERATIONS + STREAMS_OPERATIONS),
    strict=True))
# ThrottledRequests: "requests to DynamoDB that exceed the provisioned throughput limits"
THROTTLED_GROUPS: _Groups = tuple(zip(THROTTLED_SUFFIXES, (ITEM_OPERATIONS, PARTIQL_OPERATIONS),
                                      strict=True))

_FIXED_SUFFIXES = (*(s for s, _ in (*SYSTEM_ERRORS_GROUPS, *THROTTLED_GROUPS)),
                   "read-throttle-events", "write-throttle-events")
_GSI_SUFFIX = re.compile(r"^.+-(read|write)-throttle-events$")
_REPLICA_SUFFIX = re.compile(r"^replication-latency-[a-z]{2}(-[a-z]+)+-\d+$")
_SHARED_NAME = re.compile(rf"^{SHARED_PREFIX}.+-[a-z]{{2}}(-[a-z]+)+-\d+$")
# the reference Terraform module's alarms: suffix -> metric, each on TableName=<table> alone
MODULE_ALARMS = {"user-errors": "UserErrors", "system-errors": "SystemErrors",
                 "throttled-requests": "ThrottledRequests"}
_MODULE_WHY = {
    "UserErrors": "UserErrors is an account-and-region total, with no TableName dimension",
    "SystemErrors": "SystemErrors is published per TableName and Operation",
    "ThrottledRequests": "ThrottledRequests is published per TableName and Operation",
}


# --------------------------------------------------------------------------- operations


class PutMetricAlarm(Op):
    """CloudWatch PutMetricAlarm: creates or replaces an alarm in place."""

    op: Literal["PutMetricAlarm"] = "PutMetricAlarm"
    action: Action = Action.CREATE
    before: MetricAlarm | None = None
    after: MetricAlarm


class DeleteAlarms(Op):
    """CloudWatch DeleteAlarms of one alarm."""

    op: Literal["DeleteAlarms"] = "DeleteAlarms"
    action: Action = Action.DELETE
    before: MetricAlarm


# --------------------------------------------------------------------------- live state


class LiveAlarm(BaseModel):
    """An alarm as read, with its ARN."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    alarm: MetricAlarm
    arn: str


class AlarmState(FamilyState):
    """What ``read_alarms`` found: each table's alarms (by physical name), sorted by name."""

    tables: dict[str, tuple[LiveAlarm, ...]] = Field(default_factory=dict)

    def fingerprint(self, table: str) -> object:
        return [a.model_dump(mode="json") for a in self.tables.get(table, ())]


# --------------------------------------------------------------------------- desired


def is_shared(name: str) -> bool:
    """Is ``name`` a shared (account-and-region) alarm, owned by no single table?"""
    return bool(_SHARED_NAME.match(name))


def desired_alarms(table: Table) -> tuple[MetricAlarm, ...]:
    """The alarms ``table``'s settings call for, sorted by name (none when alarms are off)."""
    alarms = derived_alarms(table)
    t = table.table_name
    for alarm in alarms:  # validation reports these first (spec.resolve): a backstop
        if len(alarm.name) > MAX_ALARM_NAME:
            raise PlanError(f"alarm name '{alarm.name[:60]}…' of table '{t}' is longer than "
                            f"CloudWatch's {MAX_ALARM_NAME} characters; shorten the table or "
                            "index name, or disable that alarm rule")
    return alarms


def derived_alarms(table: Table) -> tuple[MetricAlarm, ...]:
    """The alarms ``table``'s settings call for, sorted by name, whatever their names' length:
    one for each of the spec's ``alarm_names`` (which validation checks too)."""
    return tuple(_derived(table, named) for named in alarm_names(table))


def _derived(table: Table, named: AlarmName) -> MetricAlarm:
    """The alarm ``named`` is: what it watches, from the rule that makes it."""
    settings = table.alarms
    assert settings is not None  # alarm_names derives none otherwise
    rule: AlarmRule = getattr(settings, named.rule)
    t, name = table.table_name, named.name
    if named.rule == "system_errors" and named.suffix is not None:
        return _summed(table, name, "SystemErrors", dict(SYSTEM_ERRORS_GROUPS)[named.suffix],
                       rule, f"HTTP 500 responses (SystemErrors) of table '{t}'")
    if named.rule == "throttled_requests" and named.suffix is not None:
        return _summed(table, name, "ThrottledRequests", dict(THROTTLED_GROUPS)[named.suffix],
                       rule, f"throttled requests (ThrottledRequests) of table '{t}'")
    if named.rule in ("read_throttle_events", "write_throttle_events"):
        kind = named.rule.split("_")[0]
        metric = f"{kind.capitalize()}ThrottleEvents"
        if named.index is None:
            return _single(table, name, metric, {"TableName": t}, rule,
                           f"{kind} events throttled ({metric}) on table '{t}' "
                           "(its indexes have alarms of their own)")
        return _single(table, name, metric,
                       {"GlobalSecondaryIndexName": named.index, "TableName": t}, rule,
                       f"{kind} events throttled ({metric}) on index '{named.index}' of table "
                       f"'{t}'")
    if named.rule == "replication_latency" and named.replica is not None:
        return _single(table, name, "ReplicationLatency",
                       {"ReceivingRegion": named.replica, "TableName": t}, rule,
                       f"replication latency (ms) from table '{t}' in {table.region} to its "
                       f"replica in {named.replica}")
    assert named.rule == "user_errors", named.rule
    return _single(
        table, name, "UserErrors", {}, rule,
        f"HTTP 400 responses (UserErrors) of every DynamoDB and DynamoDB Streams request "
        f"in this account in {table.region}: UserErrors has no TableName dimension, so "
        f"the tables of environment '{table.environment}' share this alarm")


def _trigger(rule: AlarmRule) -> str:
    return (f"{rule.statistic} over {rule.period}s > {rule.threshold:g} for "
            f"{rule.evaluation_periods} period(s)")


def _common(table: Table, name: str, rule: AlarmRule, description: str) -> dict[str, Any]:
    settings = table.alarms
    assert settings is not None  # desired_alarms returned early otherwise
    return {
        "name": name,
        "region": table.region,  # DynamoDB publishes its metrics in the table's own region
        "description": f"{description}: {_trigger(rule)}",
        "threshold": float(rule.threshold),
        "evaluation_periods": rule.evaluation_periods,
        "treat_missing_data": "notBreaching",  # DynamoDB publishes these only when non-zero
        "alarm_actions": tuple(sorted(settings.alarm_actions)),
        "ok_actions": tuple(sorted(settings.ok_actions)),
        "tags": around_tags(table, name, "monitoring"),
    }


def _single(table: Table, name: str, metric: str, dimensions: dict[str, str],
            rule: AlarmRule, description: str) -> MetricAlarm:
    return MetricAlarm(namespace=NAMESPACE, metric_name=metric,
                       dimensions=dict(sorted(dimensions.items())), statistic=rule.statistic,
                       period=rule.period, **_common(table, name, rule, description))


def _summed(table: Table, name: str, metric: str, operations: Sequence[str], rule: AlarmRule,
            what: str) -> MetricAlarm:
    """``metric`` of each operation, and their sum (the one term that returns data)."""
    assert len(operations) <= MAX_ALARM_METRICS
    terms = [MetricQuery(id=_query_id(op), namespace=NAMESPACE, metric_name=metric,
                         dimensions={"Operation": op, "TableName": table.table_name},
                         stat=rule.statistic, period=rule.period, label=op)
             for op in operations]
    total = MetricQuery(id="total", expression="SUM(METRICS())", return_data=True,
                        label=f"{metric}, summed over {len(operations)} operations")
    description = f"{what}, summed over {', '.join(operations)}"
    return MetricAlarm(metrics=(*terms, total), **_common(table, name, rule, description))


def _query_id(operation: str) -> str:
    # a metric-math id starts with a lowercase letter: GetItem -> get_item
    return re.sub(r"(?<!^)(?=[A-Z])", "_", operation).lower()


# --------------------------------------------------------------------------- ownership


def is_table_alarm(alarm: MetricAlarm, table: Table) -> bool:
    """Is ``alarm`` one that tablesmith derives for ``table`` (by name and by what it watches)?

    The name alone is not enough: DescribeAlarms' prefix ``orders-`` also returns the alarms
    of a table called ``orders-archive``, so the alarm must also watch ``TableName=<table>``.
    """
    if alarm.name == user_errors_alarm_name(table) or is_module_alarm(alarm, table):
        return True
    prefix = f"{table.table_name}-"
    if not alarm.name.startswith(prefix):
        return False
    suffix = alarm.name[len(prefix):]
    if not (suffix in _FIXED_SUFFIXES or _GSI_SUFFIX.match(suffix)
            or _REPLICA_SUFFIX.match(suffix)):
        return False
    watched = [q.dimensions for q in alarm.metrics if q.expression is None] \
        if alarm.metrics else [alarm.dimensions]
    return bool(watched) and all(d.get("TableName") == table.table_name for d in watched)


def is_module_alarm(alarm: MetricAlarm, table: Table) -> bool:
    """Is ``alarm`` one the reference Terraform module made for ``table``, as it made it?

    Its name (``<table>-user-errors``, ``-system-errors``, ``-throttled-requests``), and
    exactly what it watches: that metric of ``AWS/DynamoDB`` with the one dimension
    ``TableName=<table>``, no metric math. Anyone else's alarm under such a name watches
    something else and is left alone.
    """
    prefix = f"{table.table_name}-"
    metric = MODULE_ALARMS.get(alarm.name[len(prefix):]) if alarm.name.startswith(prefix) \
        else None
    return (metric is not None and not alarm.metrics and alarm.namespace == NAMESPACE
            and alarm.metric_name == metric and alarm.dimensions == {"TableName": table.table_name})


def module_defect(alarm: MetricAlarm) -> str:
    """Why a module-made alarm can never fire (one line)."""
    why = _MODULE_WHY.get(alarm.metric_name or "", "DynamoDB does not publish that series")
    return (f"the Terraform module's alarm watches {alarm.metric_name} by TableName alone, "
            f"which DynamoDB never publishes ({why}): it can never fire")


# --------------------------------------------------------------------------- read


def read_alarms(clients: Clients, tables: Sequence[Table]) -> dict[str, tuple[LiveAlarm, ...]]:
    """The alarms of each table (by physical name), sorted by name.

    Per region one paginated DescribeAlarms (100 a page) with the longest name prefix the
    region's tables share, each alarm given to the table ``is_table_alarm`` says it is for;
    per region one DescribeAlarms by name for the shared UserErrors alarms, which appear
    under every table of their environment and region. A region whose prefix matches so many
    other alarms that the scan would cost more pages than it has tables is read per table
    instead (``AlarmNamePrefix=<table>-``, concurrently): never more calls than that.
    """
    if not tables:
        return {}
    regions: dict[str, list[Table]] = {}
    for table in tables:
        regions.setdefault(table.region, []).append(table)
    own: dict[tuple[str, str], list[LiveAlarm]] = {}
    for region, group in sorted(regions.items()):
        for name, alarms in _read_region(clients, region, group).items():
            own[(region, name)] = alarms
    shared = _read_shared(clients, tables)
    result: dict[str, tuple[LiveAlarm, ...]] = {}
    for table in tables:
        found = [*own.get((table.region, table.table_name), ())]
        mine = shared.get((table.region, user_errors_alarm_name(table)))
        if mine is not None:
            found.append(mine)
        result[table.table_name] = tuple(sorted(found, key=lambda a: a.alarm.name))
    return result


def _read_region(clients: Clients, region: str,
                 tables: Sequence[Table]) -> dict[str, list[LiveAlarm]]:
    """Table name -> its own alarms in ``region`` (one prefix scan, or one read per table)."""
    by_name = {t.table_name: t for t in tables}
    # a character prefix of names, not a path: what AlarmNamePrefix matches
    prefix = os.path.commonprefix([f"{name}-" for name in by_name])  # noqa: RUF071
    budget = len(by_name)  # the per-table reads' cost: the scan may not cost more
    # no common prefix: every alarm of the region (DescribeAlarms takes no empty prefix)
    scope = {"AlarmNamePrefix": prefix} if prefix else {}
    scanned = _describe(clients, region, f"reading the alarms of {len(by_name)} table(s) in "
                        f"{region}", max_pages=budget, **scope) if len(by_name) > 1 else None
    if scanned is None:
        with ThreadPoolExecutor(max_workers=min(MAX_READERS, len(by_name))) as pool:
            return dict(zip(by_name, pool.map(lambda t: _read_prefix(clients, t),
                                              by_name.values()), strict=True))
    found: dict[str, list[LiveAlarm]] = {name: [] for name in by_name}
    for alarm in scanned:
        name = alarm.alarm.name
        # the tables whose "<table>-" starts the name: "orders-archive-..." may be either
        # table "orders" or "orders-archive"; is_table_alarm tells by what the alarm watches
        for cut in (i for i, c in enumerate(name) if c == "-"):
            table = by_name.get(name[:cut])
            if table is not None and is_table_alarm(alarm.alarm, table):
                found[table.table_name].append(alarm)
    return found


def _read_prefix(clients: Clients, table: Table) -> list[LiveAlarm]:
    alarms = _describe(clients, table.region, f"reading the alarms of table '{table.table_name}'",
                       AlarmNamePrefix=f"{table.table_name}-")
    assert alarms is not None  # no page limit
    return [a for a in alarms if is_table_alarm(a.alarm, table)]


def _read_shared(clients: Clients, tables: Sequence[Table]) -> dict[tuple[str, str], LiveAlarm]:
    names: dict[str, set[str]] = {}
    for table in tables:
        names.setdefault(table.region, set()).add(user_errors_alarm_name(table))
    found: dict[tuple[str, str], LiveAlarm] = {}
    for region, wanted in sorted(names.items()):
        ordered = sorted(wanted)
        for start in range(0, len(ordered), 100):  # DescribeAlarms takes up to 100 names
            for alarm in _describe(clients, region, f"reading the UserErrors alarms in {region}",
                                   AlarmNames=ordered[start:start + 100]) or ():
                found[(region, alarm.alarm.name)] = alarm
    return found


def _describe(clients: Clients, region: str, context: str, *, max_pages: int | None = None,
              **kwargs: Any) -> list[LiveAlarm] | None:
    """The metric alarms DescribeAlarms answers (every page, 100 a page); None when there are
    more than ``max_pages`` pages (the caller reads them another way)."""
    cloudwatch = clients.client("cloudwatch", region)
    alarms: list[LiveAlarm] = []
    with aws_context(context):
        pages = cloudwatch.get_paginator("describe_alarms").paginate(
            AlarmTypes=["MetricAlarm"], PaginationConfig={"PageSize": 100}, **kwargs)
        for number, page in enumerate(pages, start=1):
            if max_pages is not None and number > max_pages:
                return None
            for raw in page.get("MetricAlarms", []):
                alarms.append(LiveAlarm(alarm=parse_alarm(raw, region), arn=raw["AlarmArn"]))
    return alarms


def parse_alarm(raw: dict[str, Any], region: str) -> MetricAlarm:
    """A DescribeAlarms ``MetricAlarms`` entry as the model ``desired_alarms`` makes.

    Normalised so that what was put is what is read: dimensions and actions sorted, floats,
    absent fields as the model's defaults (moto answers ``[]`` where AWS leaves a key out).
    """
    return MetricAlarm(
        name=raw["AlarmName"],
        region=region,
        description=raw.get("AlarmDescription") or "",
        namespace=raw.get("Namespace") or None,
        metric_name=raw.get("MetricName") or None,
        dimensions=_dimensions(raw.get("Dimensions")),
        statistic=raw.get("Statistic") or None,
        period=raw.get("Period") or None,
        metrics=tuple(_query(q) for q in raw.get("Metrics") or ()),
        threshold=float(raw.get("Threshold", 0.0)),
        comparison_operator=raw.get("ComparisonOperator", "GreaterThanThreshold"),
        evaluation_periods=int(raw.get("EvaluationPeriods", 1)),
        # AWS's default when an alarm was made without it
        treat_missing_data=raw.get("TreatMissingData") or "missing",
        alarm_actions=tuple(sorted(raw.get("AlarmActions") or ())),
        ok_actions=tuple(sorted(raw.get("OKActions") or ())),
    )


def _dimensions(raw: Iterable[dict[str, str]] | None) -> dict[str, str]:
    return dict(sorted((d["Name"], d["Value"]) for d in raw or ()))


def _query(raw: dict[str, Any]) -> MetricQuery:
    stat = raw.get("MetricStat")
    expression = raw.get("Expression") or None
    # ReturnData: in an alarm exactly one term returns data; absent means the default (true)
    # for the expression and false for a metric, as tablesmith sends them
    return_data = bool(raw.get("ReturnData", expression is not None))
    if stat is None:
        # an expression's Period is not sent by tablesmith; ignoring an echoed one keeps a
        # plan from updating the alarm forever
        return MetricQuery(id=raw["Id"], expression=expression, label=raw.get("Label") or None,
                           return_data=return_data)
    metric = stat.get("Metric", {})
    return MetricQuery(id=raw["Id"], namespace=metric.get("Namespace"),
                       metric_name=metric.get("MetricName"),
                       dimensions=_dimensions(metric.get("Dimensions")), stat=stat.get("Stat"),
                       period=stat.get("Period"), label=raw.get("Label") or None,
                       return_data=return_data)


def endpoint_lacks_alarms(clients: Clients, region: str) -> bool:
    """Does a custom endpoint not answer CloudWatch (DynamoDB Local)? Real AWS: False."""
    if not clients.custom_endpoint:
        return False
    try:
        clients.client("cloudwatch", region).describe_alarms(MaxRecords=1)
    except Exception:  # an error, or an answer botocore cannot even parse: not CloudWatch
        return True
    return False


# --------------------------------------------------------------------------- diff


def comparable(alarm: MetricAlarm) -> MetricAlarm:
    """What is compared: everything but tags (set on create, not read back), with the terms
    of metric math in id order: their order does not change the result, and other tools
    send them in another order (Terraform's provider holds ``metric_query`` as a set)."""
    return alarm.model_copy(update={"tags": {},
                                    "metrics": tuple(sorted(alarm.metrics, key=lambda m: m.id))})


def diff_alarms(live: Sequence[LiveAlarm], desired: Sequence[MetricAlarm],
                table: Table) -> list[Any]:
    """PutMetricAlarm for new or changed alarms, DeleteAlarms for ours no longer wanted.

    Pure; sorted by alarm name. Only alarms ``is_table_alarm`` recognises are ever deleted:
    anyone else's alarm, even one under the table's name prefix, is left alone.

    Categories: a module-made alarm (``is_module_alarm``) rewritten or deleted is a module
    defect, and so is every alarm added to a table that has one (the module's alarms watch
    nothing DynamoDB publishes: these are the ones that can fire); otherwise new or drift.
    Deleting a module alarm carries no hazard: it never received a data point, so no
    monitoring is lost.
    """
    have = {a.alarm.name: a.alarm for a in live}
    want = {a.name: a for a in desired}
    module = sorted(n for n, a in have.items() if is_module_alarm(a, table))
    ops: list[tuple[str, Any]] = []
    for name, target in want.items():
        current = have.get(name)
        if current is None:
            category, why = Category.NEW, "new alarm"
            if module:
                category = Category.MODULE_DEFECT
                why = (f"in place of the Terraform module's {', '.join(module)}, which "
                       "watch series DynamoDB never publishes")
            ops.append((name, PutMetricAlarm(table=table.table_name, region=target.region,
                                             after=target, category=category, reason=why)))
        elif comparable(current) != comparable(target):
            category, why = Category.DRIFT, f"{_changed(current, target)} changed"
            if is_module_alarm(current, table):
                category, why = Category.MODULE_DEFECT, module_defect(current)
            ops.append((name, PutMetricAlarm(
                table=table.table_name, region=target.region, action=Action.UPDATE,
                before=current, after=target, category=category, reason=why)))
    for name, current in have.items():
        if name not in want and is_table_alarm(current, table):
            category, why = Category.DRIFT, "not wanted by the spec"
            if is_module_alarm(current, table):
                category, why = Category.MODULE_DEFECT, module_defect(current)
            ops.append((name, DeleteAlarms(table=table.table_name, region=current.region,
                                           before=current, category=category, reason=why)))
    return [op for _, op in sorted(ops, key=lambda item: item[0])]


def diff_alarms_destroy(live: Sequence[LiveAlarm], table: Table) -> list[Any]:
    """DeleteAlarms for every alarm of ``table`` (run ``dedupe_alarm_ops`` on the result)."""
    return diff_alarms(live, (), table)


def _changed(before: MetricAlarm, after: MetricAlarm) -> str:
    a, b = comparable(before).model_dump(), comparable(after).model_dump()
    return ", ".join(k for k in a if a[k] != b[k])


def dedupe_alarm_ops(ops: Sequence[Any], wanted_by: Sequence[Table]) -> list[Any]:
    """Keep one operation per shared UserErrors alarm across an environment's tables.

    Every table that enables ``user_errors`` wants the same alarm, and every table of the
    environment sees it live. The first table by name (in ``wanted_by``, the tables that stay)
    defines it: a Put that does not match it is dropped (two tables asking for different
    thresholds would otherwise flip it on every apply), a Delete of a name some table still
    wants is dropped, and of several Puts or Deletes of one name only the first is kept.
    Non-alarm and per-table alarm operations pass through untouched, in order.
    """
    canonical: dict[str, MetricAlarm] = {}
    for table in sorted(wanted_by, key=lambda t: t.table_name):
        for alarm in desired_alarms(table):
            if is_shared(alarm.name):
                canonical.setdefault(alarm.name, comparable(alarm))
    kept: list[Any] = []
    seen: set[tuple[str, str]] = set()
    for op in ops:
        name = _alarm_name(op)
        if name is None or not is_shared(name):
            kept.append(op)
            continue
        if (op.op, name) in seen:
            continue
        if op.op == "PutMetricAlarm" and comparable(op.after) != canonical.get(name):
            continue
        if op.op == "DeleteAlarms" and name in canonical:
            continue
        seen.add((op.op, name))
        kept.append(op)
    return kept


def shared_alarm_conflicts(tables: Sequence[Table]) -> list[str]:
    """Messages for tables that ask for one shared alarm with different settings (validation)."""
    by_name: dict[str, list[tuple[str, MetricAlarm]]] = {}
    for table in sorted(tables, key=lambda t: t.table_name):
        for alarm in desired_alarms(table):
            if is_shared(alarm.name):
                by_name.setdefault(alarm.name, []).append((table.table_name, alarm))
    problems = []
    for name, wanted in sorted(by_name.items()):
        first_table, first = wanted[0]
        for other_table, other in wanted[1:]:
            if comparable(other).model_copy(update={"description": ""}) != comparable(
                    first).model_copy(update={"description": ""}):
                problems.append(
                    f"tables '{first_table}' and '{other_table}' set different alarms.user_errors "
                    f"(or alarm actions) but share the one alarm '{name}' (UserErrors has no "
                    f"TableName dimension); '{first_table}' wins: set them alike")
    return problems


def describe_op(op: Any) -> tuple[str, list[str]]:
    """An alarm operation as a headline and one line per changed field (for
    ``render.plan.describe_lines``)."""
    from tablesmith.render.values import show

    if op.op == "DeleteAlarms":
        return f"DeleteAlarms {op.before.name} [{op.region}] (watches {watched(op.before)})", []
    alarm: MetricAlarm = op.after
    if op.before is None:
        what = (f"{alarm.metric_name} {show(alarm.dimensions)}" if alarm.metric_name else
                f"sum of {len(alarm.metrics) - 1} metrics")
        return f"PutMetricAlarm {alarm.name} [{op.region}] ({what}; {alarm.threshold:g})", []
    a, b = comparable(op.before).model_dump(), comparable(alarm).model_dump()
    series = ("namespace", "metric_name", "dimensions", "statistic", "period", "metrics")
    changes = []
    if any(a[k] != b[k] for k in series):
        changes.append(f"watches: {watched(op.before)} -> {watched(alarm)}")
    changes += [f"{k}: {show(a[k])} -> {show(b[k])}" for k in a
                if a[k] != b[k] and k not in series]
    return f"PutMetricAlarm {alarm.name} [{op.region}]", changes


def watched(alarm: MetricAlarm) -> str:
    """What an alarm watches, in words: ``Sum of SystemErrors {TableName: t} per 300s``."""
    from tablesmith.render.values import show

    if not alarm.metrics:
        return (f"{alarm.statistic} of {alarm.metric_name} {show(alarm.dimensions)} "
                f"per {alarm.period}s")
    terms = [q for q in alarm.metrics if q.expression is None]
    expression = next((q.expression for q in alarm.metrics if q.expression), "")
    common = {k: v for k, v in terms[0].dimensions.items() if k != "Operation"} if terms else {}
    operations = [q.dimensions.get("Operation", q.id) for q in terms]
    first = terms[0] if terms else None
    metric = f"{first.stat} of {first.metric_name} {show(common)}" if first else "metrics"
    period = f" per {first.period}s" if first else ""
    return (f"{expression} of {len(terms)} metrics ({metric} by Operation: "
            f"{', '.join(operations)}){period}")


def _alarm_name(op: Any) -> str | None:
    if op.op == "PutMetricAlarm":
        return str(op.after.name)
    if op.op == "DeleteAlarms":
        return str(op.before.name)
    return None


# --------------------------------------------------------------------------- apply


def put_request(alarm: MetricAlarm, *, with_tags: bool) -> dict[str, Any]:
    """The PutMetricAlarm request for ``alarm`` (``Tags`` only count when it is created)."""
    request: dict[str, Any] = {
        "AlarmName": alarm.name,
        "AlarmDescription": alarm.description,
        "ActionsEnabled": True,
        "AlarmActions": list(alarm.alarm_actions),
        "OKActions": list(alarm.ok_actions),
        "ComparisonOperator": alarm.comparison_operator,
        "EvaluationPeriods": alarm.evaluation_periods,
        "Threshold": alarm.threshold,
        "TreatMissingData": alarm.treat_missing_data,
    }
    if alarm.metrics:
        # with Metrics, AWS refuses Namespace/MetricName/Dimensions/Period/Statistic
        request["Metrics"] = [_query_request(q) for q in alarm.metrics]
    else:
        request.update({
            "Namespace": alarm.namespace,
            "MetricName": alarm.metric_name,
            "Dimensions": [{"Name": k, "Value": v} for k, v in alarm.dimensions.items()],
            "Statistic": alarm.statistic,
            "Period": alarm.period,
        })
    if with_tags and alarm.tags:
        request["Tags"] = [{"Key": k, "Value": v} for k, v in alarm.tags.items()]
    return request


def _query_request(query: MetricQuery) -> dict[str, Any]:
    request: dict[str, Any] = {"Id": query.id, "ReturnData": query.return_data}
    if query.label is not None:
        request["Label"] = query.label
    if query.expression is not None:
        request["Expression"] = query.expression
        return request
    request["MetricStat"] = {
        "Metric": {"Namespace": query.namespace, "MetricName": query.metric_name,
                   "Dimensions": [{"Name": k, "Value": v} for k, v in query.dimensions.items()]},
        "Period": query.period,
        "Stat": query.stat,
    }
    return request


def _put_metric_alarm(runner: Runner, op: Any, desired: Table | None) -> None:
    alarm: MetricAlarm = op.after
    verb = "creating" if op.action == Action.CREATE else "updating"
    runner.call("cloudwatch", op.region, f"{verb} alarm '{alarm.name}' in {op.region}",
                "put_metric_alarm", **put_request(alarm, with_tags=op.action == Action.CREATE))


def _delete_alarms(runner: Runner, op: Any, desired: Table | None) -> None:
    name = op.before.name
    try:
        runner.call("cloudwatch", op.region, f"deleting alarm '{name}' in {op.region}",
                    "delete_alarms", AlarmNames=[name])
    except TablesmithError as exc:
        # already gone (an interrupted run, or someone else): the plan's goal holds
        if exc.__cause__ is None or error_code(exc.__cause__) != "ResourceNotFound":
            raise


# --------------------------------------------------------------------------- the family


class AlarmFamily(FamilyBase):
    """CloudWatch alarms around a table (the contract: ``tablesmith.around.contract``)."""

    name: ClassVar[str] = "alarms"
    spec_fields: ClassVar[tuple[str, ...]] = ("alarms",)
    title: ClassVar[str] = "CloudWatch alarms"
    state_type: ClassVar[type[FamilyState]] = AlarmState
    handlers: ClassVar[Mapping[type[Op], Handler]] = dict([
        handler(PutMetricAlarm, _put_metric_alarm),
        handler(DeleteAlarms, _delete_alarms),
    ])

    def lacks(self, clients: Clients, region: str) -> bool:
        return lacks_api(lambda: clients.client("cloudwatch", region).describe_alarms(
            MaxRecords=1))

    def read(self, clients: Clients, tables: Sequence[Table],
             context: ReadContext) -> AlarmState:
        return AlarmState(tables=read_alarms(clients, tables))

    def diff(self, state: AlarmState, table: Table) -> list[Op]:
        return diff_alarms(state.tables.get(table.table_name, ()), desired_alarms(table), table)

    def diff_destroy(self, state: AlarmState, table: Table) -> list[Op]:
        return diff_alarms_destroy(state.tables.get(table.table_name, ()), table)

    def settle(self, state: AlarmState, ops: list[Op], wanted_by: Sequence[Table]
               ) -> list[Op]:
        # one UserErrors alarm per account and region is shared by the environment's tables
        return dedupe_alarm_ops(ops, wanted_by)

    def describe(self, op: Op) -> tuple[str, list[str]]:
        return describe_op(op)

    def outputs(self, state: AlarmState | None, table: Table) -> dict[str, Any]:
        alarms = {a.alarm.name: a.arn
                  for a in (state.tables.get(table.table_name, ()) if state else ())}
        base = table.table_name
        return {
            "user_errors_alarm_arn": next(
                (arn for name, arn in alarms.items() if "user-errors" in name), None),
            "system_errors_alarm_arn": alarms.get(f"{base}-system-errors"),
            "throttled_requests_alarm_arn": alarms.get(f"{base}-throttled-requests"),
            "alarm_arns": dict(sorted(alarms.items())),
        }


    def export_terraform(self, table: Table, at: TerraformAt,
                         out: TerraformOut) -> dict[str, Any]:
        """The table's alarms, translated from the PutMetricAlarm requests apply sends; a
        shared UserErrors alarm goes in the shared file once per Region, defined (as apply's
        ``dedupe_alarm_ops`` does) by the first table by physical name."""
        made: dict[tuple[str, str], str] = out.memo(self.name)  # (region, name) -> address
        arns: dict[str, str] = {}
        for alarm in desired_alarms(table):
            key = (alarm.region, alarm.name)
            if key in made:
                address = made[key]
            elif is_shared(alarm.name):
                address = out.add(out.shared_file, "aws_cloudwatch_metric_alarm",
                                  out.identifier(alarm.name),
                                  _terraform_alarm(out, alarm, None, ""), alarm.region,
                                  f"shared alarm '{alarm.name}'")
            else:
                address = out.add(at.file, "aws_cloudwatch_metric_alarm",
                                  _terraform_name(out, at.ident, table, alarm),
                                  _terraform_alarm(out, alarm, table, at.address), alarm.region,
                                  f"{at.owner} (alarm '{alarm.name}')")
            made[key] = address
            arns[alarm.name] = out.ref(address, "arn")
        base = table.table_name
        return {
            "user_errors_alarm_arn": next(
                (arn for name, arn in arns.items() if is_shared(name)), None),
            "system_errors_alarm_arn": arns.get(f"{base}-system-errors"),
            "throttled_requests_alarm_arn": arns.get(f"{base}-throttled-requests"),
            "alarm_arns": arns,
        }

    def export_cloudformation(self, table: Table, at: CloudFormationAt,
                              out: CloudFormationOut) -> CloudFormationOutputs:
        """The table's alarms, the PutMetricAlarm requests apply sends; a shared UserErrors
        alarm once per stack, defined (as apply's ``dedupe_alarm_ops`` does) by the first
        table by name."""
        made: dict[str, str] = out.memo(self.name)  # shared alarm name -> logical ID
        ids: dict[str, str] = {}  # alarm name -> logical ID
        for alarm in desired_alarms(table):
            if alarm.region != out.region:
                raise UsageError(f"alarm '{alarm.name}' is in {alarm.region}; only alarms in "
                                 f"the table's region ({out.region}) can be exported")
            logical_id = _cloudformation_id(out, table, alarm)
            ids[alarm.name] = logical_id
            if is_shared(alarm.name):
                if alarm.name in made:
                    continue
                made[alarm.name] = logical_id
            out.add_resource(logical_id, f"alarm '{alarm.name}'", _cloudformation_alarm(alarm))
        outputs: list[tuple[str, str, Any]] = []
        for output, suffix in (("user_errors_alarm_arn", "user-errors"),
                               ("system_errors_alarm_arn", "system-errors"),
                               ("throttled_requests_alarm_arn", "throttled-requests")):
            found = _module_alarm(table, ids, suffix)
            if found is not None:
                outputs.append((output, f"ARN of the {suffix.replace('-', ' ')} alarm",
                                out.get_att(found, "Arn")))
        if ids:
            outputs.append(("alarm_arns", "Alarm name to ARN (JSON map)",
                            out.json_sub({n: CfnSub(f"{lid}.Arn") for n, lid in ids.items()})))
        return CloudFormationOutputs(outputs)

    def iam_statements(self, tables: Sequence[Table], account: str,
                       read_only: bool) -> list[dict[str, Any]]:
        """PutMetricAlarm on exactly the alarm names the spec derives; DeleteAlarms on the
        table's own prefix (``<table>-*``, what ``is_table_alarm`` recognises: an alarm of a
        removed index or replica has a name the spec no longer derives) and the shared one."""
        if read_only:
            return []  # DescribeAlarms is unscoped (iam_policy.UNSCOPED_READS)
        puts = sorted(
            {_iam_alarm_arn(a.region, account, a.name) for t in tables for a in desired_alarms(t)}
        )
        # what is deleted is what is_table_alarm recognises: the table's prefix, and the shared
        # UserErrors alarm of the environment in the region
        deletes = sorted(
            {_iam_alarm_arn(t.region, account, f"{t.table_name}-*") for t in tables}
            | {_iam_alarm_arn(t.region, account, user_errors_alarm_name(t)) for t in tables}
        )
        out = [iam.statement("RemoveOnlyTheTablesOwnAlarms", ALARM_DELETES, deletes)]
        if puts:
            out.append(iam.statement("PutExactlyTheAlarmsTheSpecDerives", ALARM_PUTS, puts))
        return out


# --------------------------------------------------------------------------- export


def _terraform_name(out: TerraformOut, ident: str, table: Table, alarm: MetricAlarm) -> str:
    # "<table name>-system-errors" -> "<ident>_system_errors"; other names as they are
    prefix = f"{table.table_name}-"
    if alarm.name.startswith(prefix):
        return f"{ident}_{out.identifier(alarm.name[len(prefix):])}"
    return out.identifier(alarm.name)


def _terraform_dimensions(out: TerraformOut, dimensions: Sequence[dict[str, str]],
                          table: Table | None, table_address: str) -> dict[str, Any]:
    """A request's Dimensions list as the provider's map, sorted by name."""
    # naming the table through its resource orders the alarm after the table, as the module did
    def value(key: str, value: str) -> str:
        if table is not None and key == "TableName" and value == table.table_name:
            return out.ref(table_address, "name")
        return value
    return {d["Name"]: value(d["Name"], d["Value"])
            for d in sorted(dimensions, key=lambda d: d["Name"])}


def _terraform_alarm(out: TerraformOut, alarm: MetricAlarm, table: Table | None,
                     table_address: str) -> dict[str, Any]:
    """The alarm, translated from the PutMetricAlarm request apply sends; ``table`` (None for a
    shared alarm) is named by reference in dimensions."""
    request = put_request(alarm, with_tags=True)
    body: dict[str, Any] = {
        "alarm_name": request["AlarmName"],
        "comparison_operator": request["ComparisonOperator"],
        "evaluation_periods": request["EvaluationPeriods"],
        "threshold": request["Threshold"],
        "treat_missing_data": request["TreatMissingData"],
        "alarm_actions": request["AlarmActions"],
        "ok_actions": request["OKActions"],
        "tags": {t["Key"]: t["Value"] for t in request.get("Tags", [])},
    }
    if request.get("AlarmDescription"):
        body["alarm_description"] = request["AlarmDescription"]
    if "Metrics" in request:
        body["metric_query"] = [_terraform_query(out, q, alarm, table, table_address)
                                for q in request["Metrics"]]
        return body
    single = {
        "namespace": request["Namespace"],
        "metric_name": request["MetricName"],
        "statistic": request["Statistic"],
        "period": request["Period"],
        "dimensions": _terraform_dimensions(out, request["Dimensions"], table, table_address),
    }
    return body | {k: v for k, v in single.items() if v is not None and v != {}}


def _terraform_query(out: TerraformOut, q: dict[str, Any], alarm: MetricAlarm,
                     table: Table | None, table_address: str) -> dict[str, Any]:
    """A MetricDataQuery of the request as a ``metric_query`` block."""
    query: dict[str, Any] = {"id": q["Id"], "return_data": q["ReturnData"]}
    if "Label" in q:
        query["label"] = q["Label"]
    if "Expression" in q:
        # no period: PutMetricAlarm takes a Period on metric terms only
        query["expression"] = q["Expression"]
        return query
    stat = q["MetricStat"]
    metric_name = stat["Metric"]["MetricName"]
    if metric_name is None:
        raise UsageError(f"cannot export alarm '{alarm.name}': query '{q['Id']}' has neither an "
                         "expression nor a metric")
    if stat["Stat"] is None or stat["Period"] is None:
        raise UsageError(f"cannot export alarm '{alarm.name}': metric '{q['Id']}' has no stat or "
                         "period")
    metric: dict[str, Any] = {"metric_name": metric_name, "stat": stat["Stat"],
                              "period": stat["Period"]}
    if stat["Metric"]["Namespace"] is not None:
        metric["namespace"] = stat["Metric"]["Namespace"]
    if stat["Metric"]["Dimensions"]:
        metric["dimensions"] = _terraform_dimensions(out, stat["Metric"]["Dimensions"], table,
                                                     table_address)
    query["metric"] = [metric]
    return query


def _cloudformation_id(out: CloudFormationOut, table: Table, alarm: MetricAlarm) -> str:
    """``<T><rest of the alarm name>Alarm``; the shared UserErrors alarm has no table."""
    if is_shared(alarm.name):
        return out.pascal(alarm.name) + "Alarm"
    prefix = f"{table.table_name}-"
    rest = alarm.name[len(prefix):] if alarm.name.startswith(prefix) else alarm.name
    return out.pascal(table.name) + out.pascal(rest) + "Alarm"


def _cloudformation_alarm(alarm: MetricAlarm) -> dict[str, Any]:
    # the PutMetricAlarm request apply sends: CloudFormation's properties have the same names
    properties = put_request(alarm, with_tags=True)
    for key in ("AlarmActions", "OKActions"):
        if not properties.get(key):
            properties.pop(key, None)
    return {"Type": "AWS::CloudWatch::Alarm", "Properties": properties}


def _module_alarm(table: Table, ids: dict[str, str], suffix: str) -> str | None:
    """The alarm a module ``<suffix>_alarm_arn`` output stands for (as ``outputs`` finds it)."""
    if suffix == "user-errors":
        return next((lid for n, lid in ids.items() if "user-errors" in n), None)
    return ids.get(f"{table.table_name}-{suffix}")


# --------------------------------------------------------------------------- IAM
# what the reads and handlers call (iam_statements; tablesmith iam-policy)

ALARM_PUTS = ("cloudwatch:PutMetricAlarm", "cloudwatch:TagResource")  # Tags on create
ALARM_DELETES = ("cloudwatch:DeleteAlarms",)


def _iam_alarm_arn(region: str, account: str, name: str) -> str:
    return iam.arn("cloudwatch", region, account, f"alarm:{name}")


ALARMS = AlarmFamily()
