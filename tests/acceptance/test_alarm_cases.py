"""CloudWatch alarms on the embedded local target: made, updated and removed with the table.

Each test applies a spec, reads the alarms back with a raw CloudWatch client (not through
tablesmith), and checks that planning again is empty. Only the alarm operations of a plan
are compared here: the table's own are the other files' business.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

import boto3
import harness
import pytest
from harness import assert_converged, session, table

from tablesmith.hazards import HazardCode

if TYPE_CHECKING:
    from pathlib import Path

    from tablesmith.engine import Session
    from tablesmith.plan import Plan

REGION = "af-south-1"
ALARM_OPS = ("PutMetricAlarm", "DeleteAlarms")
EVERYTHING = frozenset(HazardCode)
SHARED = "dynamodb-user-errors-acc-af-south-1"


def write_spec(directory: Path, tables: dict[str, Any], prefix: str, engine: str) -> Path:
    """The harness's spec, with alarms on (the harness turns them off by default)."""
    return harness.write_spec(directory, tables, prefix, engine, alarms=True)


def gsi(name: str, hash_key: str) -> dict[str, Any]:
    return {"name": name, "hash_key": {"name": hash_key, "type": "S"}, "projection_type": "ALL"}


def cloudwatch(endpoint: str) -> Any:
    return boto3.client("cloudwatch", endpoint_url=endpoint, region_name=REGION)


def alarms_named(endpoint: str, prefix: str) -> dict[str, dict[str, Any]]:
    pages = cloudwatch(endpoint).get_paginator("describe_alarms").paginate(
        AlarmNamePrefix=prefix)
    return {a["AlarmName"]: a for page in pages for a in page["MetricAlarms"]}


def alarm_ops(plan: Plan) -> list[tuple[str, str, str]]:
    """(op, action, alarm name) of the plan's alarm operations, in plan order."""
    return [(op.op, op.action.value,
             (op.after if op.op == "PutMetricAlarm" else op.before).name)  # type: ignore[union-attr]
            for op in plan.operations if op.op in ALARM_OPS]


def applied(tmp_path: Path, name: str, tables: dict[str, Any], prefix: str,
            endpoint: str) -> Session:
    s = session(write_spec(tmp_path / name, tables, prefix, "local"), endpoint)
    s.apply(s.plan(), allowed=EVERYTHING)
    assert_converged(s)  # includes: planning again is empty
    return s


def prefix_for(test: str) -> str:
    return f"{test}-{uuid.uuid4().hex[:6]}-"


@pytest.mark.parametrize("engine", ["local"])
def test_apply_creates_alarms_on_published_series(engine: str, engine_endpoint: str,
                                                  tmp_path: Path) -> None:
    prefix = prefix_for("alarms-create")
    main = f"{prefix}main"
    spec = {"main": table(global_secondary_indexes=[gsi("ByEmail", "email")],
                          alarms={"user_errors": {"enabled": True}})}
    s = session(write_spec(tmp_path / "a", spec, prefix, engine), engine_endpoint)
    plan = s.plan()
    assert {a[:2] for a in alarm_ops(plan)} == {("PutMetricAlarm", "create")}
    s.apply(plan, allowed=EVERYTHING)
    assert_converged(s)

    found = alarms_named(engine_endpoint, f"{main}-")
    assert sorted(found) == sorted(f"{main}-{suffix}" for suffix in (
        "system-errors", "system-errors-partiql-streams", "throttled-requests",
        "throttled-requests-partiql", "read-throttle-events", "write-throttle-events",
        "ByEmail-read-throttle-events", "ByEmail-write-throttle-events"))
    system = found[f"{main}-system-errors"]
    stats = [q for q in system["Metrics"] if "MetricStat" in q]
    assert len(stats) == 10  # PutMetricAlarm's limit on metrics in a math alarm
    assert {d["Name"]: d["Value"] for d in stats[0]["MetricStat"]["Metric"]["Dimensions"]} == {
        "TableName": main, "Operation": "GetItem"}
    assert [q["Expression"] for q in system["Metrics"] if q.get("ReturnData")] == [
        "SUM(METRICS())"]
    index = found[f"{main}-ByEmail-read-throttle-events"]
    assert (index["MetricName"], {d["Name"]: d["Value"] for d in index["Dimensions"]}) == (
        "ReadThrottleEvents", {"TableName": main, "GlobalSecondaryIndexName": "ByEmail"})
    assert index["TreatMissingData"] == "notBreaching"
    shared = alarms_named(engine_endpoint, SHARED)[SHARED]
    assert (shared["MetricName"], shared["Dimensions"] or []) == ("UserErrors", [])
    tags = cloudwatch(engine_endpoint).list_tags_for_resource(ResourceARN=index["AlarmArn"])
    assert {"Key": "Component", "Value": "monitoring"} in tags["Tags"]


@pytest.mark.parametrize("engine", ["local"])
def test_threshold_change_updates_in_place(engine: str, engine_endpoint: str,
                                           tmp_path: Path) -> None:
    prefix = prefix_for("alarms-threshold")
    main = f"{prefix}main"
    applied(tmp_path, "a", {"main": table()}, prefix, engine_endpoint)
    arn = alarms_named(engine_endpoint, f"{main}-write")[f"{main}-write-throttle-events"][
        "AlarmArn"]

    new = session(write_spec(tmp_path / "b", {"main": table(
        alarms={"write_throttle_events": {"threshold": 42.0, "evaluation_periods": 3}})},
        prefix, engine), engine_endpoint)
    plan = new.plan()
    assert alarm_ops(plan) == [("PutMetricAlarm", "update", f"{main}-write-throttle-events")]
    assert not plan.hazards()
    new.apply(plan, allowed=frozenset())
    assert_converged(new)
    alarm = alarms_named(engine_endpoint, f"{main}-write")[f"{main}-write-throttle-events"]
    assert (alarm["Threshold"], alarm["EvaluationPeriods"], alarm["AlarmArn"]) == (42.0, 3, arn)


@pytest.mark.parametrize("engine", ["local"])
def test_removed_gsi_takes_its_alarms_and_leaves_others(engine: str, engine_endpoint: str,
                                                        tmp_path: Path) -> None:
    prefix = prefix_for("alarms-gsi")
    main = f"{prefix}main"
    two = [gsi("ByEmail", "email"), gsi("ByStatus", "status")]
    applied(tmp_path, "a", {"main": table(global_secondary_indexes=two)}, prefix,
            engine_endpoint)
    # someone's own alarm under the table's prefix: never ours to delete
    cloudwatch(engine_endpoint).put_metric_alarm(
        AlarmName=f"{main}-p99-getitem", Namespace="AWS/DynamoDB",
        MetricName="SuccessfulRequestLatency", Statistic="Maximum", Period=60,
        Dimensions=[{"Name": "TableName", "Value": main}, {"Name": "Operation",
                                                          "Value": "GetItem"}],
        EvaluationPeriods=1, Threshold=100.0, ComparisonOperator="GreaterThanThreshold")

    new = session(write_spec(tmp_path / "b", {"main": table(global_secondary_indexes=two[1:])},
                             prefix, engine), engine_endpoint)
    plan = new.plan()
    assert alarm_ops(plan) == [("DeleteAlarms", "delete", f"{main}-ByEmail-read-throttle-events"),
                               ("DeleteAlarms", "delete", f"{main}-ByEmail-write-throttle-events")]
    new.apply(plan, allowed=frozenset({HazardCode.DELETES_INDEX}))
    assert_converged(new)
    found = alarms_named(engine_endpoint, f"{main}-")
    assert not any("ByEmail" in name for name in found)
    assert f"{main}-ByStatus-read-throttle-events" in found
    assert f"{main}-p99-getitem" in found


@pytest.mark.parametrize("engine", ["local"])
def test_shared_user_errors_alarm_is_made_once(engine: str, engine_endpoint: str,
                                               tmp_path: Path) -> None:
    prefix = prefix_for("alarms-shared")
    on = {"user_errors": {"enabled": True}}
    spec = {"main": table(alarms=on), "other": table(alarms=on)}
    s = session(write_spec(tmp_path / "a", spec, prefix, engine), engine_endpoint)
    plan = s.plan()
    assert [a for a in alarm_ops(plan) if a[2] == SHARED] == [
        ("PutMetricAlarm", "create", SHARED)]
    s.apply(plan, allowed=EVERYTHING)
    assert_converged(s)

    # one table stops wanting it: the other still does, so it stays
    half = {"main": table(), "other": table(alarms=on)}
    applied(tmp_path, "b", half, prefix, engine_endpoint)
    assert SHARED in alarms_named(engine_endpoint, SHARED)
    # nobody wants it: it goes
    applied(tmp_path, "c", {"main": table(), "other": table()}, prefix, engine_endpoint)
    assert SHARED not in alarms_named(engine_endpoint, SHARED)


@pytest.mark.parametrize("engine", ["local"])
def test_alarms_disabled_removes_them(engine: str, engine_endpoint: str,
                                      tmp_path: Path) -> None:
    prefix = prefix_for("alarms-off")
    main = f"{prefix}main"
    applied(tmp_path, "a", {"main": table()}, prefix, engine_endpoint)
    assert alarms_named(engine_endpoint, f"{main}-")
    applied(tmp_path, "b", {"main": table(alarms={"enabled": False})}, prefix, engine_endpoint)
    assert alarms_named(engine_endpoint, f"{main}-") == {}
