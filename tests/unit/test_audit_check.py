"""The audit's checks on literal inventories: no AWS, no emulator."""

from __future__ import annotations

import datetime as dt

import pytest

from tablesmith.around.alarms import desired_alarms
from tablesmith.around.metrics import is_published, unpublished_series
from tablesmith.audit.check import Policy, audit, schedule_period, selects
from tablesmith.audit.read import (
    AlarmFacts,
    BackupPlanFacts,
    Inventory,
    Pitr,
    PlanRule,
    Selection,
    TableFacts,
)
from tablesmith.audit.rules import RULES, Severity
from tablesmith.resources import MetricAlarm
from tablesmith.spec.loader import load

NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)
TAGS = {
    "Environment": "prod",
    "Project": "p",
    "Owner": "o",
    "CostCenter": "1",
    "ManagedBy": "m",
    "Component": "dynamodb",
}
ARN = "arn:aws:dynamodb:af-south-1:123456789012:table/{}"


def table(name: str = "orders", region: str = "af-south-1", **changes: object) -> TableFacts:
    base = TableFacts(
        name=name,
        region=region,
        arn=ARN.format(name).replace("af-south-1", region),
        status="ACTIVE",
        created=NOW - dt.timedelta(days=30),
        deletion_protection=True,
        sse_type="KMS",
        kms_key_arn="arn:aws:kms:k",
        replicas=(),
        pitr=Pitr(enabled=True, recovery_period_days=35),
        tags=dict(TAGS),
    )
    return TableFacts(**{**base.__dict__, **changes})  # type: ignore[arg-type]


def alarm(name: str, metric: str, dims: dict[str, str], region: str = "af-south-1") -> AlarmFacts:
    return AlarmFacts(
        alarm=MetricAlarm(
            name=name,
            region=region,
            namespace="AWS/DynamoDB",
            metric_name=metric,
            dimensions=dims,
            statistic="Sum",
            period=300,
            threshold=0,
            evaluation_periods=1,
        ),
        region=region,
        arn=f"arn:aws:cloudwatch:{region}:1:alarm:{name}",
    )


def good_alarms(name: str, region: str = "af-south-1") -> list[AlarmFacts]:
    return [
        alarm(f"{name}-se", "SystemErrors", {"TableName": name, "Operation": "GetItem"}, region),
        alarm(f"{name}-rt", "ReadThrottleEvents", {"TableName": name}, region),
    ]


def daily_plan(*selections: Selection, copy: tuple[str, ...] = ()) -> BackupPlanFacts:
    return BackupPlanFacts(
        plan_id="p1",
        name="daily",
        region="af-south-1",
        rules=(PlanRule("r", "cron(0 2 * * ? *)", 60, copy),),
        selections=selections,
    )


ALL = Selection(name="all", resources=("*",), not_resources=(), list_of_tags=(), conditions=())


def found(inventory: Inventory, **kwargs: object) -> list[tuple[str | None, str, str]]:
    return [(f.table, f.region, f.rule.id) for f in audit(inventory, now=NOW, **kwargs)]  # type: ignore[arg-type]


def test_a_table_that_keeps_every_rule_has_no_finding() -> None:
    inventory = Inventory(
        regions=("af-south-1",),
        tables=[table()],
        plans=[daily_plan(ALL)],
        alarms=good_alarms("orders"),
        last_backup={ARN.format("orders"): NOW - dt.timedelta(hours=3)},
    )
    assert found(inventory) == []


def test_each_broken_setting_is_its_rule() -> None:
    inventory = Inventory(
        regions=("af-south-1",),
        tables=[
            table(pitr=Pitr(enabled=False)),
            table("b", deletion_protection=False),
            table("c", sse_type="AWS_OWNED", kms_key_arn=None),
            table("d", tags={"Owner": "o"}),
        ],
        plans=[daily_plan(ALL)],
        alarms=[a for n in ["orders", "b", "c", "d"] for a in good_alarms(n)],
        last_backup={ARN.format(n): NOW for n in ["orders", "b", "c", "d"]},
    )
    assert found(inventory) == [
        ("b", "af-south-1", "dynamodb-table-deletion-protection-enabled"),
        ("c", "af-south-1", "dynamodb-table-encrypted-kms"),
        ("d", "af-south-1", "tablesmith-mandatory-tags"),
        ("orders", "af-south-1", "dynamodb-pitr-enabled"),
    ]


def test_the_modules_three_alarms_can_never_fire() -> None:
    module = [
        alarm("orders-user-errors", "UserErrors", {"TableName": "orders"}),
        alarm("orders-system-errors", "SystemErrors", {"TableName": "orders"}),
        alarm("orders-throttled-requests", "ThrottledRequests", {"TableName": "orders"}),
    ]
    inventory = Inventory(
        regions=("af-south-1",),
        tables=[table()],
        plans=[daily_plan(ALL)],
        alarms=module,
        last_backup={ARN.format("orders"): NOW},
    )
    assert found(inventory) == [
        ("orders", "af-south-1", "tablesmith-alarm-unpublished-series")
    ] * 3 + [("orders", "af-south-1", "tablesmith-no-error-alarm")]


def test_every_alarm_tablesmith_makes_watches_a_published_series() -> None:
    spec = load("examples", env="prod")
    for t in spec.tables("prod"):
        for a in desired_alarms(t):
            assert unpublished_series(a) == [], a.name


@pytest.mark.parametrize(
    ("metric", "dims", "published"),
    [
        ("SystemErrors", {"TableName": "t", "Operation": "GetItem"}, True),
        ("SystemErrors", {"TableName": "t"}, False),
        ("UserErrors", {}, True),
        ("UserErrors", {"TableName": "t"}, False),
        ("ReadThrottleEvents", {"TableName": "t", "GlobalSecondaryIndexName": "g"}, True),
        ("ReplicationLatency", {"TableName": "t", "ReceivingRegion": "eu-west-1"}, True),
        ("ReplicationLatency", {"TableName": "t"}, False),
        ("NoSuchMetric", {"TableName": "t"}, False),
    ],
)
def test_published_series(metric: str, dims: dict[str, str], published: bool) -> None:
    assert is_published(metric, dims) is published


def test_selection_by_arn_wildcard_tags_conditions_and_exclusions() -> None:
    t = table(tags={**TAGS, "Backup": "daily"})
    sel = Selection("s", (), (), (), ())
    assert not selects(sel, t)
    assert selects(sel.__class__("s", ("arn:aws:dynamodb:*:*:table/ord*",), (), (), ()), t)
    assert selects(sel.__class__("s", (), (), (("STRINGEQUALS", "Backup", "daily"),), ()), t)
    assert not selects(sel.__class__("s", (), (), (("STRINGEQUALS", "Backup", "hourly"),), ()), t)
    assert not selects(
        sel.__class__("s", ("*",), (), (), (("StringEquals", "Backup", "hourly"),)), t
    )
    assert selects(sel.__class__("s", ("*",), (), (), (("StringLike", "Backup", "da*"),)), t)
    assert not selects(sel.__class__("s", ("*",), (t.arn,), (), ()), t)


def test_replicas_are_one_unit_for_backup_and_alarms_but_drift_is_named() -> None:
    primary = table(replicas=("eu-west-1",))
    replica = table(
        region="eu-west-1",
        replicas=("af-south-1",),
        tags={**TAGS, "Owner": "x"},
        deletion_protection=False,
    )
    inventory = Inventory(
        regions=("af-south-1", "eu-west-1"),
        tables=[primary, replica],
        plans=[daily_plan(ALL, copy=("eu-west-1",))],
        alarms=good_alarms("orders"),
        last_backup={primary.arn: NOW},
    )
    assert found(inventory) == [
        ("orders", "eu-west-1", "dynamodb-table-deletion-protection-enabled"),
        ("orders", "eu-west-1", "tablesmith-replica-drift"),
    ]
    no_copy = Inventory(
        regions=inventory.regions,
        tables=[
            primary,
            replica.__class__(
                **{**replica.__dict__, "tags": dict(TAGS), "deletion_protection": True}
            ),
        ],
        plans=[daily_plan(ALL)],
        alarms=good_alarms("orders"),
        last_backup={primary.arn: NOW},
    )
    assert found(no_copy) == [
        ("orders", "af-south-1", "dynamodb-resources-protected-by-backup-plan")
    ]


def test_recovery_points_are_due_within_the_period_plus_the_start_window() -> None:
    plan = daily_plan(ALL)  # daily, 60-minute start window: 25 hours
    base = {"regions": ("af-south-1",), "plans": [plan], "alarms": good_alarms("orders")}
    fresh = Inventory(
        tables=[table()], last_backup={ARN.format("orders"): NOW - dt.timedelta(hours=24)}, **base
    )  # type: ignore[arg-type]
    stale = Inventory(
        tables=[table()], last_backup={ARN.format("orders"): NOW - dt.timedelta(hours=26)}, **base
    )  # type: ignore[arg-type]
    new = Inventory(tables=[table(created=NOW - dt.timedelta(hours=2))], **base)  # type: ignore[arg-type]
    assert found(fresh) == []
    assert found(stale) == [("orders", "af-south-1", "dynamodb-last-backup-recovery-point-created")]
    assert found(new) == []


@pytest.mark.parametrize(
    ("expression", "hours"),
    [
        ("cron(0 2 * * ? *)", 24),
        ("cron(0 */1 * * ? *)", 1),
        ("cron(0 */6 * * ? *)", 6),
        ("cron(0 * * * ? *)", 1),
        ("cron(0 3 ? * SUN *)", 168),
        ("cron(0 4 1 * ? *)", 744),
        ("cron(0 2,14 * * ? *)", 12),
    ],
)
def test_schedule_period(expression: str, hours: int) -> None:
    assert schedule_period(expression) == dt.timedelta(hours=hours)


def test_kms_policy_narrows_the_keys_that_pass() -> None:
    inventory = Inventory(
        regions=("af-south-1",),
        tables=[table()],
        plans=[daily_plan(ALL)],
        alarms=good_alarms("orders"),
        last_backup={ARN.format("orders"): NOW},
    )
    assert found(inventory, policy=Policy(kms_keys=("arn:aws:kms:other",))) == [
        ("orders", "af-south-1", "dynamodb-table-encrypted-kms")
    ]
    assert found(
        inventory, policy=Policy(require_customer_key=True, key_managers={"arn:aws:kms:k": "AWS"})
    ) == [("orders", "af-south-1", "dynamodb-table-encrypted-kms")]


def test_rule_ids_are_unique_and_severities_parse() -> None:
    assert len({r.id for r in RULES}) == len(RULES) == 12
    assert Severity.parse("warning") is Severity.WARNING
    with pytest.raises(ValueError, match="one of"):
        Severity.parse("fatal")
