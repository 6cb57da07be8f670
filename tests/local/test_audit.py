"""`tablesmith audit` on the embedded local target, through the real command line.

The fixture account is made with boto3 alone (no tablesmith apply): 15 tables in af-south-1
(three of them global tables with a replica in eu-west-1), three AWS Backup plans selecting
by tag, by ARN and by wildcard, a DR copy plan, recovery points, and alarms. Each table
breaks a known subset of the rules (``EXPECTED``); the audit must report exactly those
(table, region, rule, resource) findings, no more and no fewer.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from local_serve import local_serve
from tablesmith.aws import Clients
from tablesmith.engine import resolve_target
from tablesmith.spec.model import Environment

if TYPE_CHECKING:
    from collections.abc import Iterator

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
TABLESMITH = str(Path(sys.executable).with_name("tablesmith"))
PRIMARY, DR = "af-south-1", "eu-west-1"
ACCOUNT = "123456789012"  # moto's default account
ROLE = f"arn:aws:iam::{ACCOUNT}:role/org-backup"
TAGS = {
    "Environment": "prod",
    "Project": "audit",
    "Owner": "platform",
    "CostCenter": "4711",
    "ManagedBy": "hand",
    "Component": "dynamodb",
}
ENV = {"TABLESMITH_POLL_INTERVAL": "0.2", "TABLESMITH_LOCAL_REPLICA_SECONDS": "0.3"}

# (table, region, rule, resource) -> every finding of the fixture account, audited now
EXPECTED_NOW = sorted(
    [
        ("no_pitr", PRIMARY, "dynamodb-pitr-enabled", None),
        ("no_plan", PRIMARY, "dynamodb-in-backup-plan", None),
        ("unprotected", PRIMARY, "dynamodb-table-deletion-protection-enabled", None),
        ("owned_key", PRIMARY, "dynamodb-table-encrypted-kms", None),
        # the reference module's three alarms: none can fire, so nothing watches the table
        (
            "module_alarms",
            PRIMARY,
            "tablesmith-alarm-unpublished-series",
            "module_alarms-system-errors",
        ),
        (
            "module_alarms",
            PRIMARY,
            "tablesmith-alarm-unpublished-series",
            "module_alarms-throttled-requests",
        ),
        (
            "module_alarms",
            PRIMARY,
            "tablesmith-alarm-unpublished-series",
            "module_alarms-user-errors",
        ),
        ("module_alarms", PRIMARY, "tablesmith-no-error-alarm", None),
        ("no_alarms", PRIMARY, "tablesmith-no-error-alarm", None),
        ("untagged", PRIMARY, "tablesmith-mandatory-tags", None),
        ("partial_tags", PRIMARY, "tablesmith-mandatory-tags", None),
        ("global_nocopy", PRIMARY, "dynamodb-resources-protected-by-backup-plan", "org-daily"),
        ("drifted", DR, "tablesmith-replica-drift", None),
        ("drifted_dp", DR, "dynamodb-table-deletion-protection-enabled", None),
        ("drifted_dp", DR, "tablesmith-replica-drift", None),
        ("", PRIMARY, "tablesmith-alarm-unpublished-series", "account-system-errors"),
    ],
    key=lambda f: (f[0], f[1], f[2], f[3] or ""),
)
# three days on, every table of the two daily plans (selected by tag, ARN or condition, with
# a recovery point or none) is overdue; the weekly plan's table is not, nor any replica (no
# plan of its region selects it: its table's plan covers it)
DAILY = (
    "good",
    "no_pitr",
    "unprotected",
    "owned_key",
    "module_alarms",
    "no_alarms",
    "untagged",
    "partial_tags",
    "global_nocopy",
)
DR_COPIED = ("global_ok", "drifted", "drifted_dp")
EXPECTED_LATER = sorted(
    EXPECTED_NOW
    + [
        (t, PRIMARY, "dynamodb-last-backup-recovery-point-created", None)
        for t in (*DAILY, *DR_COPIED)
    ],
    key=lambda f: (f[0], f[1], f[2], f[3] or ""),
)


def run(
    *args: str, extra: dict[str, str] | None = None, timeout: float = 240
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [TABLESMITH, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **ENV, **(extra or {})},
        check=False,
    )


@pytest.fixture(scope="module")
def account(tmp_path_factory: pytest.TempPathFactory, fake_aws_env: None) -> Iterator[Path]:
    """The fixture account's local state directory (made with boto3, then saved)."""
    state = tmp_path_factory.mktemp("audit") / "state"
    with local_serve(EXAMPLES, state, {**os.environ, **ENV}) as endpoint:
        build_account(endpoint, state)
    yield state


def clients(endpoint: str, state: Path) -> Clients:
    """boto3 clients for the local target, signed the way tablesmith signs them."""
    return Clients(
        resolve_target(
            Environment(name="fixture", region=PRIMARY),
            endpoint_url=endpoint,
            local=True,
            state_dir=str(state),
        )
    )


def build_account(endpoint: str, state: Path) -> None:
    aws = clients(endpoint, state)
    ddb, backup, cw = (
        aws.dynamodb(PRIMARY),
        aws.client("backup", PRIMARY),
        aws.client("cloudwatch", PRIMARY),
    )
    backup.create_backup_vault(BackupVaultName="org-vault")
    aws.client("backup", DR).create_backup_vault(BackupVaultName="org-dr-vault")
    dr_vault = f"arn:aws:backup:{DR}:{ACCOUNT}:backup-vault:org-dr-vault"

    def plan(name: str, schedule: str, copy: bool = False) -> str:
        rule: dict[str, Any] = {
            "RuleName": f"{name}-rule",
            "TargetBackupVaultName": "org-vault",
            "ScheduleExpression": schedule,
            "StartWindowMinutes": 60,
        }
        if copy:
            rule["CopyActions"] = [{"DestinationBackupVaultArn": dr_vault}]
        return str(
            backup.create_backup_plan(BackupPlan={"BackupPlanName": name, "Rules": [rule]})[
                "BackupPlanId"
            ]
        )

    def select(plan_id: str, name: str, **how: Any) -> None:
        backup.create_backup_selection(
            BackupPlanId=plan_id, BackupSelection={"SelectionName": name, "IamRoleArn": ROLE, **how}
        )

    daily, weekly, dr = (
        plan("org-daily", "cron(0 2 * * ? *)"),
        plan("org-weekly", "cron(0 3 ? * SUN *)"),
        plan("org-dr", "cron(0 4 * * ? *)", copy=True),
    )
    select(
        daily,
        "by-tag",
        ListOfTags=[
            {"ConditionType": "STRINGEQUALS", "ConditionKey": "Backup", "ConditionValue": "daily"}
        ],
    )
    select(daily, "by-arn", Resources=[f"arn:aws:dynamodb:{PRIMARY}:{ACCOUNT}:table/untagged"])
    select(weekly, "by-wildcard", Resources=["arn:aws:dynamodb:*:*:table/wild_*"])
    select(
        dr,
        "dr",
        Resources=["*"],
        Conditions={
            "StringEquals": [{"ConditionKey": "aws:ResourceTag/Backup", "ConditionValue": "dr"}]
        },
    )

    def table(
        name: str,
        *,
        tags: dict[str, str] | None = None,
        backup_tag: str | None = "daily",
        pitr: bool = True,
        protected: bool = True,
        kms: bool = True,
        alarms: str = "good",
        replica: dict[str, Any] | None = None,
    ) -> None:
        all_tags = (
            {**TAGS, **({"Backup": backup_tag} if backup_tag else {})} if tags is None else tags
        )
        desc = ddb.create_table(
            TableName=name,
            BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
            SSESpecification={"Enabled": True, "SSEType": "KMS"} if kms else {"Enabled": False},
            DeletionProtectionEnabled=protected,
            **({"Tags": [{"Key": k, "Value": v} for k, v in all_tags.items()]} if all_tags else {}),
        )["TableDescription"]
        if pitr:
            ddb.update_continuous_backups(
                TableName=name,
                PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
            )
        if alarms == "good":
            good_alarms(cw, name)
        elif alarms == "module":
            module_alarms(cw, name)
        if replica is not None:
            add_replica(
                aws,
                name,
                {**all_tags, **replica.get("tags", {})},
                protected=replica.get("protected", protected),
                pitr=pitr,
            )
        if name in ("good", "global_ok"):  # a fresh recovery point, as a plan's job leaves
            backup.start_backup_job(
                BackupVaultName="org-vault", ResourceArn=desc["TableArn"], IamRoleArn=ROLE
            )

    table("good")
    table("no_pitr", pitr=False)
    table("no_plan", backup_tag=None)
    table("unprotected", protected=False)
    table("owned_key", kms=False)
    table("module_alarms", alarms="module")
    table("no_alarms", alarms="none")
    table("untagged", tags={})  # in the daily plan by its ARN
    table(
        "partial_tags",
        tags={
            k: v for k, v in {**TAGS, "Backup": "daily"}.items() if k not in ("Owner", "CostCenter")
        },
    )
    table("wild_card", backup_tag=None)  # in the weekly plan by a wildcard
    table("global_ok", backup_tag="dr", replica={})
    table("global_nocopy", replica={})  # daily plan: no copy to another region
    table("drifted", backup_tag="dr", replica={"tags": {"Owner": "someone-else"}})
    table("drifted_dp", backup_tag="dr", replica={"protected": False})
    # an account-level alarm on a series that does not exist (SystemErrors has no total)
    cw.put_metric_alarm(
        AlarmName="account-system-errors",
        Namespace="AWS/DynamoDB",
        MetricName="SystemErrors",
        Statistic="Sum",
        Period=300,
        EvaluationPeriods=1,
        Threshold=0,
        ComparisonOperator="GreaterThanThreshold",
    )


def good_alarms(cw: Any, table: str) -> None:
    """SystemErrors per operation, summed, and read throttle events: both can fire."""
    terms = [
        {
            "Id": op.lower(),
            "ReturnData": False,
            "MetricStat": {
                "Metric": {
                    "Namespace": "AWS/DynamoDB",
                    "MetricName": "SystemErrors",
                    "Dimensions": [
                        {"Name": "TableName", "Value": table},
                        {"Name": "Operation", "Value": op},
                    ],
                },
                "Period": 300,
                "Stat": "Sum",
            },
        }
        for op in ("GetItem", "PutItem", "Query")
    ]
    cw.put_metric_alarm(
        AlarmName=f"{table}-errors",
        EvaluationPeriods=1,
        Threshold=0,
        ComparisonOperator="GreaterThanThreshold",
        TreatMissingData="notBreaching",
        Metrics=[*terms, {"Id": "total", "Expression": "SUM(METRICS())", "ReturnData": True}],
    )
    cw.put_metric_alarm(
        AlarmName=f"{table}-read-throttles",
        Namespace="AWS/DynamoDB",
        MetricName="ReadThrottleEvents",
        Statistic="Sum",
        Period=300,
        EvaluationPeriods=2,
        Threshold=5,
        ComparisonOperator="GreaterThanThreshold",
        Dimensions=[{"Name": "TableName", "Value": table}],
    )


def module_alarms(cw: Any, table: str) -> None:
    """The reference Terraform module's three alarms, as its main.tf makes them."""
    for suffix, metric, periods, threshold in (
        ("user-errors", "UserErrors", 2, 10),
        ("system-errors", "SystemErrors", 1, 0),
        ("throttled-requests", "ThrottledRequests", 2, 5),
    ):
        cw.put_metric_alarm(
            AlarmName=f"{table}-{suffix}",
            Namespace="AWS/DynamoDB",
            MetricName=metric,
            Statistic="Sum",
            Period=300,
            EvaluationPeriods=periods,
            Threshold=threshold,
            ComparisonOperator="GreaterThanThreshold",
            TreatMissingData="notBreaching",
            Dimensions=[{"Name": "TableName", "Value": table}],
        )


def add_replica(
    aws: Clients, name: str, tags: dict[str, str], *, protected: bool, pitr: bool
) -> None:
    """A replica in DR, then what AWS does not copy to it: tags, protection, PITR."""
    aws.dynamodb(PRIMARY).update_table(
        TableName=name, ReplicaUpdates=[{"Create": {"RegionName": DR}}]
    )
    replica = aws.dynamodb(DR)
    deadline = time.monotonic() + 30
    while True:
        try:
            desc = replica.describe_table(TableName=name)["Table"]
            if desc["TableStatus"] == "ACTIVE":
                break
        except replica.exceptions.ResourceNotFoundException:
            pass
        assert time.monotonic() < deadline, f"replica of {name} not ACTIVE"
        time.sleep(0.1)
    replica.tag_resource(
        ResourceArn=desc["TableArn"], Tags=[{"Key": k, "Value": v} for k, v in tags.items()]
    )
    replica.update_table(TableName=name, DeletionProtectionEnabled=protected)
    if pitr:
        replica.update_continuous_backups(
            TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
        )


def audit(
    state: Path,
    *args: str,
    now: dt.datetime | None = None,
) -> subprocess.CompletedProcess[str]:
    extra = {"TABLESMITH_AUDIT_NOW": now.isoformat()} if now else None
    return run("audit", "--local", "--state-dir", str(state), *args, extra=extra)


def found(result: subprocess.CompletedProcess[str]) -> list[tuple[str, str, str, str | None]]:
    assert result.returncode in (0, 3), result.stderr
    report = json.loads(result.stdout)
    return sorted(
        ((f["table"] or "", f["region"], f["rule"], f["resource"]) for f in report["findings"]),
        key=lambda f: (f[0], f[1], f[2], f[3] or ""),
    )


def test_the_fixture_account_gives_exactly_the_expected_findings(account: Path) -> None:
    result = audit(account, "--json")
    assert result.returncode == 0, result.stderr
    got = found(result)
    # the plan IDs are not known in advance: the one finding naming a plan names the daily one
    got = [
        (t, r, rule, "org-daily" if rule.endswith("protected-by-backup-plan") else res)
        for t, r, rule, res in got
    ]
    assert got == EXPECTED_NOW
    report = json.loads(result.stdout)
    assert report["format_version"] == 1
    assert report["regions"] == [PRIMARY, DR]
    assert report["not_checked"] == {}
    tables = {(t["table"], t["region"]): t for t in report["tables"]}
    assert len(tables) == 18  # 15 tables, 3 of them with a replica
    assert tables[("good", PRIMARY)]["backup_plans"] == ["org-daily"]
    assert tables[("untagged", PRIMARY)]["backup_plans"] == ["org-daily"]
    assert tables[("wild_card", PRIMARY)]["backup_plans"] == ["org-weekly"]
    assert tables[("global_ok", PRIMARY)]["backup_plans"] == ["org-dr"]
    assert tables[("good", PRIMARY)]["last_recovery_point"] is not None
    assert tables[("good", PRIMARY)]["pitr"] == {"enabled": True, "recovery_period_days": 35}
    for finding in report["findings"]:
        assert finding["fix"] and finding["message"]
        assert finding["severity"] in ("info", "warning", "error")


def test_time_based_rules_as_of_three_days_later(account: Path) -> None:
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=3)
    got = found(audit(account, "--json", now=later))
    got = [
        (t, r, rule, "org-daily" if rule.endswith("protected-by-backup-plan") else res)
        for t, r, rule, res in got
    ]
    assert got == EXPECTED_LATER


@pytest.mark.parametrize(
    ("flags", "code"),
    [
        ((), 0),
        (("--fail-on", "error"), 3),
        (("--fail-on", "warning"), 3),
        (("--fail-on", "info"), 3),
        (("--fail-on", "error", "--json"), 3),
    ],
)
def test_fail_on_exits_3_when_a_finding_is_that_bad(
    account: Path, flags: tuple[str, ...], code: int
) -> None:
    result = audit(account, *flags)
    assert result.returncode == code, result.stdout + result.stderr
    assert "no_pitr" in result.stdout  # the report is printed either way


def test_fail_on_is_a_closed_choice(account: Path) -> None:
    result = audit(account, "--fail-on", "fatal")
    assert result.returncode == 1
    assert "fatal" in result.stderr


def test_fail_on_counts_only_the_regions_audited(account: Path) -> None:
    # eu-west-1 alone holds three replicas: drift and protection are warnings, no errors
    assert audit(account, "--region", DR, "--fail-on", "error").returncode == 0
    assert audit(account, "--region", DR, "--fail-on", "warning").returncode == 3


def test_calls_are_bulk(account: Path) -> None:
    report = json.loads(audit(account, "--json").stdout)
    calls = report["calls"]
    assert calls["dynamodb.DescribeTable"] == 18
    assert calls["dynamodb.DescribeContinuousBackups"] == 18
    assert "dynamodb.ListTagsOfResource" not in calls  # GetResources, one page per region
    assert calls["resourcegroupstaggingapi.GetResources"] == 2
    assert calls["cloudwatch.DescribeAlarms"] == 2
    assert calls["backup.ListProtectedResources"] == 2


def test_a_prod_table_made_by_tablesmith_has_no_finding_at_or_above_warning(tmp_path: Path) -> None:
    state = ["--local", "--state-dir", str(tmp_path / "state")]
    applied = run("apply", str(EXAMPLES), "--env", "prod", *state, "--auto-approve")
    assert applied.returncode == 0, applied.stderr
    plain = run("audit", *state, "--fail-on", "warning", "--json")
    assert plain.returncode == 0, plain.stdout + plain.stderr
    report = json.loads(plain.stdout)
    assert report["summary"]["tables"] == 6  # three tables, each with its eu-west-1 replica
    assert report["findings"] == []
    with_spec = run(
        "audit", *state, "--spec", str(EXAMPLES), "--env", "prod", "--fail-on", "warning", "--json"
    )
    assert with_spec.returncode == 0, with_spec.stdout + with_spec.stderr
    assert json.loads(with_spec.stdout)["findings"] == []


def test_spec_rules_name_unmanaged_and_drifted_tables(tmp_path: Path) -> None:
    state = ["--local", "--state-dir", str(tmp_path / "state")]
    spec = EXAMPLES / "bbws.yaml"
    assert (
        run(
            "apply", str(spec), "--env", "dev", *state, "--auto-approve", "--table", "tenants"
        ).returncode
        == 0
    )
    result = run(
        "audit", *state, "--spec", str(spec), "--env", "dev", "--json", "--region", PRIMARY
    )
    assert result.returncode == 0, result.stderr
    rules = {(f["table"], f["rule"]) for f in json.loads(result.stdout)["findings"]}
    # products and campaigns are in the spec but not created: the plan would create them
    assert ("products", "tablesmith-spec-drift") in rules
    assert ("campaigns", "tablesmith-spec-drift") in rules
    assert ("tenants", "tablesmith-spec-drift") not in rules
    assert not any(rule == "tablesmith-unmanaged" for _, rule in rules)

    # a table another spec made is one this spec does not manage
    stray = tmp_path / "stray.yaml"
    stray.write_text(
        "version: 1\nenvironments: {dev: {}}\ntables:\n  stray:\n"
        "    partition_key: {name: PK, type: S}\n"
        "    tags: {Project: p, Owner: o, CostCenter: c, ManagedBy: m, Component: c}\n",
        encoding="utf-8",
    )
    made = run("apply", str(stray), "--env", "dev", *state, "--auto-approve")
    assert made.returncode == 0, made.stderr
    result = run(
        "audit", *state, "--spec", str(spec), "--env", "dev", "--json", "--region", PRIMARY
    )
    findings = json.loads(result.stdout)["findings"]
    unmanaged = [f for f in findings if f["rule"] == "tablesmith-unmanaged"]
    assert [(f["table"], f["severity"]) for f in unmanaged] == [("stray", "info")]
    assert "delete-table --table-name stray" in unmanaged[0]["fix"]
    drift = [f for f in findings if f["rule"] == "tablesmith-spec-drift"]
    assert {f["table"] for f in drift} == {"products", "campaigns"}
    assert all("CreateTable" in f["message"] for f in drift)
    assert all(f"plan {spec} --env dev" in f["fix"] for f in drift)


@pytest.mark.dynamodb_local
def test_an_endpoint_without_backup_alarms_or_tags_says_what_it_did_not_check(
    dynamodb_local_endpoint: str,
) -> None:
    import boto3

    ddb = boto3.client("dynamodb", endpoint_url=dynamodb_local_endpoint, region_name=PRIMARY)
    ddb.create_table(
        TableName="audit_bare",
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
    )
    try:
        result = run(
            "audit", "--endpoint-url", dynamodb_local_endpoint, "--region", PRIMARY, "--json"
        )
        assert result.returncode == 0, result.stderr
        report = json.loads(result.stdout)
        assert report["not_checked"] == {PRIMARY: ["backup", "cloudwatch", "pitr", "tags"]}
        rules = {f["rule"] for f in report["findings"] if f["table"] == "audit_bare"}
        # only what DynamoDB Local can answer is judged: protection and encryption
        assert rules == {
            "dynamodb-table-deletion-protection-enabled",
            "dynamodb-table-encrypted-kms",
        }
    finally:
        ddb.delete_table(TableName="audit_bare")
