"""A migration plan on an account the reference Terraform module built, on the local target.

The account is made with boto3 alone, the way the module's ``main.tf`` makes it for its three
README examples (``examples/terraform``): the table with the module's ``Name``/``Type`` tags,
stream, PITR and protection; the prod replica without tags or protection of its own; the
vault, plan, selection and a role trusting AWS Backup from any account; the three alarms on
``TableName`` alone. Then ``plan`` of the same ``.tf`` files must explain every operation (a
module defect, or the new ownership tag), print no Python repr, name the ``removed`` block for
a table a Terraform state still holds; ``apply`` converges, and the re-plan is empty.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from click.testing import CliRunner

from local_serve import local_serve
from tablesmith.aws import Clients
from tablesmith.cli import cli
from tablesmith.engine import Session, resolve_target
from tablesmith.render.plan import render_plan_json, render_plan_text
from tablesmith.spec.loader import load
from tablesmith.spec.model import OWNERSHIP_TAG, Environment

if TYPE_CHECKING:
    from collections.abc import Iterator

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "terraform"
PRIMARY, DR = "af-south-1", "eu-west-1"
ENV = {"TABLESMITH_POLL_INTERVAL": "0.2", "TABLESMITH_LOCAL_REPLICA_SECONDS": "0.3"}
BASE_TAGS = {
    "Project": "BBWS WP Containers",
    "Owner": "Tebogo",
    "CostCenter": "AWS",
    "ManagedBy": "Terraform",
    "Component": "dynamodb",
}
# env -> table, GSIs (name, hash, range, projection), protected, replicated, days, schedule, tags
EXAMPLES_BUILT: dict[
    str, tuple[str, list[tuple[str, str, str, str]], bool, bool, int, str, dict[str, str]]
] = {
    "dev": ("tenants", [], False, False, 7, "cron(0 2 * * ? *)", {"Environment": "dev"}),
    "sit": (
        "products",
        [
            ("ProductActiveIndex", "active", "dateCreated", "ALL"),
            ("ActiveIndex", "active", "dateCreated", "KEYS_ONLY"),
        ],
        False,
        False,
        14,
        "cron(0 2 * * ? *)",
        {"Environment": "sit"},
    ),
    "prod": (
        "campaigns",
        [
            ("CampaignActiveIndex", "active", "fromDate", "ALL"),
            ("CampaignProductIndex", "productId", "fromDate", "ALL"),
        ],
        True,
        True,
        90,
        "cron(0 */1 * * ? *)",
        {"Environment": "prod", "DR": "enabled", "BackupPolicy": "hourly"},
    ),
}
PYTHON_REPRS = re.compile(r"\bNone\b|\bTrue\b|\bFalse\b|\{'|': '|\[\]|(?<!\w)\(\)|=\w+\(")


def tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def build(aws: Clients, env: str) -> None:
    """What ``module "<table>_table"`` of the example makes (main.tf, resource by resource)."""
    name, gsis, protect, replicate, days, schedule, extra = EXAMPLES_BUILT[env]
    tags = {**BASE_TAGS, **extra}
    ddb = aws.dynamodb(PRIMARY)
    attributes = {"PK": "S", "SK": "S", **{a: "S" for _, h, r, _ in gsis for a in (h, r)}}
    request: dict[str, Any] = {
        "TableName": name,
        "BillingMode": "PAY_PER_REQUEST",
        "KeySchema": [
            {"AttributeName": "PK", "KeyType": "HASH"},
            {"AttributeName": "SK", "KeyType": "RANGE"},
        ],
        "AttributeDefinitions": [
            {"AttributeName": a, "AttributeType": t} for a, t in attributes.items()
        ],
        "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        "SSESpecification": {"Enabled": True, "SSEType": "KMS"},
        "DeletionProtectionEnabled": protect,
        "Tags": tag_list({**tags, "Name": name, "Type": "DynamoDB"}),
    }
    if gsis:
        request["GlobalSecondaryIndexes"] = [
            {
                "IndexName": index,
                "Projection": {"ProjectionType": projection},
                "KeySchema": [
                    {"AttributeName": h, "KeyType": "HASH"},
                    {"AttributeName": r, "KeyType": "RANGE"},
                ],
            }
            for index, h, r, projection in gsis
        ]
    ddb.create_table(**request)
    ddb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 0.2})
    pitr = {"PointInTimeRecoveryEnabled": True}
    ddb.update_continuous_backups(TableName=name, PointInTimeRecoverySpecification=pitr)
    if replicate:  # replica { region_name, point_in_time_recovery }: nothing else
        ddb.update_table(TableName=name, ReplicaUpdates=[{"Create": {"RegionName": DR}}])
        deadline = time.monotonic() + 60
        while any(
            r.get("ReplicaStatus") != "ACTIVE"
            for r in ddb.describe_table(TableName=name)["Table"].get("Replicas", [{}])
        ):
            assert time.monotonic() < deadline, "the replica did not become ACTIVE"
            time.sleep(0.2)
        aws.dynamodb(DR).update_continuous_backups(
            TableName=name, PointInTimeRecoverySpecification=pitr
        )
    backup = aws.client("backup", PRIMARY)
    vault = f"{name}-backup-vault"
    backup.create_backup_vault(
        BackupVaultName=vault, BackupVaultTags={**tags, "Name": vault, "Component": "backup"}
    )
    rule: dict[str, Any] = {
        "RuleName": f"{name}-backup-rule",
        "TargetBackupVaultName": vault,
        "ScheduleExpression": schedule,
        "Lifecycle": {"DeleteAfterDays": days},
    }
    if replicate:
        dr_vault = f"{name}-backup-vault-dr"
        arn = aws.client("backup", DR).create_backup_vault(
            BackupVaultName=dr_vault,
            BackupVaultTags={**tags, "Name": dr_vault, "Component": "backup", "Region": DR},
        )["BackupVaultArn"]
        rule["CopyActions"] = [
            {"DestinationBackupVaultArn": arn, "Lifecycle": {"DeleteAfterDays": days}}
        ]
    plan = backup.create_backup_plan(
        BackupPlan={"BackupPlanName": f"{name}-backup-plan", "Rules": [rule]},
        BackupPlanTags={**tags, "Name": f"{name}-backup-plan", "Component": "backup"},
    )
    iam = aws.client("iam", PRIMARY)
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "backup.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    role = iam.create_role(
        RoleName=f"{name}-backup-role",
        AssumeRolePolicyDocument=json.dumps(trust),
        Tags=tag_list({**tags, "Name": f"{name}-backup-role", "Component": "iam"}),
    )["Role"]
    for policy in ("AWSBackupServiceRolePolicyForBackup", "AWSBackupServiceRolePolicyForRestores"):
        iam.attach_role_policy(
            RoleName=role["RoleName"], PolicyArn=f"arn:aws:iam::aws:policy/service-role/{policy}"
        )
    table_arn = ddb.describe_table(TableName=name)["Table"]["TableArn"]
    backup.create_backup_selection(
        BackupPlanId=plan["BackupPlanId"],
        BackupSelection={
            "SelectionName": f"{name}-backup-selection",
            "IamRoleArn": role["Arn"],
            "Resources": [table_arn],
        },
    )
    cloudwatch = aws.client("cloudwatch", PRIMARY)
    for suffix, metric, periods, threshold in (
        ("user-errors", "UserErrors", 2, 10),
        ("system-errors", "SystemErrors", 1, 0),
        ("throttled-requests", "ThrottledRequests", 2, 5),
    ):
        cloudwatch.put_metric_alarm(
            AlarmName=f"{name}-{suffix}",
            ComparisonOperator="GreaterThanThreshold",
            EvaluationPeriods=periods,
            MetricName=metric,
            Namespace="AWS/DynamoDB",
            Period=300,
            Statistic="Sum",
            Threshold=threshold,
            TreatMissingData="notBreaching",
            AlarmDescription=f"Alert on {suffix} for {name}",
            AlarmActions=[],
            Dimensions=[{"Name": "TableName", "Value": name}],
            Tags=tag_list({**tags, "Name": f"{name}-{suffix}-alarm", "Component": "monitoring"}),
        )
    # someone else's alarm under the module's name, on another series: never touched
    cloudwatch.put_metric_alarm(
        AlarmName=f"{name}-user-errors-app",
        ComparisonOperator="GreaterThanThreshold",
        EvaluationPeriods=1,
        MetricName="UserErrors",
        Namespace="AWS/DynamoDB",
        Period=60,
        Statistic="Sum",
        Threshold=1,
    )


@pytest.fixture(scope="module")
def account(
    tmp_path_factory: pytest.TempPathFactory,
    fake_aws_env: None,
) -> Iterator[tuple[str, Path]]:
    """A local target holding what the module made for the three examples (endpoint, state)."""
    base = tmp_path_factory.mktemp("migration")
    directory = base / "state"
    with local_serve(base, directory, {**os.environ, **ENV}) as endpoint:
        for env in EXAMPLES_BUILT:
            build(
                Clients(
                    resolve_target(
                        Environment(name=env, region=PRIMARY),
                        endpoint_url=endpoint,
                        local=True,
                        state_dir=str(directory),
                    )
                ),
                env,
            )
        yield endpoint, directory


def session(account: tuple[str, Path], env: str) -> Session:
    endpoint, directory = account
    return Session.for_environment(
        load(EXAMPLES), env, endpoint_url=endpoint, local=True, state_dir=str(directory)
    )


def test_terraform_state_names_the_removed_block(account: tuple[str, Path], tmp_path: Path) -> None:
    """`plan --terraform-state` (the command line, before anything is applied)."""
    endpoint, directory = account
    state = tmp_path / "show.json"
    state.write_text(
        json.dumps(
            {
                "format_version": "1.0",
                "values": {
                    "root_module": {
                        "child_modules": [
                            {
                                "address": "module.campaigns_table",
                                "resources": [
                                    {
                                        "address": "module.campaigns_table.aws_dynamodb_table.this",
                                        "mode": "managed",
                                        "type": "aws_dynamodb_table",
                                        "name": "this",
                                        "values": {"name": "campaigns"},
                                    }
                                ],
                            }
                        ],
                    }
                },
            }
        )
    )
    # in-process (click's runner): the option's wiring, without a second Python start-up
    result = CliRunner().invoke(
        cli,
        [
            "plan",
            str(EXAMPLES),
            "--env",
            "prod",
            "--endpoint-url",
            endpoint,
            "--terraform-state",
            str(state),
            "--json",
        ],
        env={**ENV, **_keys(directory)},
    )
    assert result.exit_code == 0, result.output
    notices = json.loads(result.stdout)["notices"]
    assert any(
        "removed { from = module.campaigns_table  lifecycle { destroy = false } }" in n
        for n in notices
    ), notices
    assert not any("ManagedBy=Terraform" in n for n in notices), notices


def _keys(directory: Path) -> dict[str, str]:
    """The local target's own credentials (it answers no others)."""
    from tablesmith.local.store import StateStore

    key = StateStore(directory).access_key()
    assert key is not None
    return {"AWS_ACCESS_KEY_ID": key, "AWS_SECRET_ACCESS_KEY": key}


@pytest.mark.parametrize("env", ["dev", "sit", "prod"])
def test_the_migration_plan_explains_itself_and_converges(
    account: tuple[str, Path],
    env: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TABLESMITH_POLL_INTERVAL", ENV["TABLESMITH_POLL_INTERVAL"])
    s = session(account, env)
    plan = s.plan()
    name = EXAMPLES_BUILT[env][0]
    assert plan.refused(frozenset()) == []
    for op in plan.operations:
        claim = (
            op.op in ("TagResource", "UpdateTags")
            and set(op.after) == {OWNERSHIP_TAG}
            and not op.before
        )
        assert op.category.value == ("new" if claim else "module-defect"), op
    deleted = [op.before.name for op in plan.operations if op.op == "DeleteAlarms"]
    assert deleted == [f"{name}-user-errors"]  # not the -app one: it is not the module's
    assert any(f"table '{name}' is tagged ManagedBy=Terraform" in n for n in plan.notices)

    render_plan_text(plan)
    text = capsys.readouterr().out
    assert not PYTHON_REPRS.search(text), PYTHON_REPRS.search(text)
    assert "CreateRole" not in text and "CreateBackupVault" not in text
    doc = render_plan_json(plan)
    assert {op["category"] for op in doc["operations"]} == {"module-defect", "new"}

    s.apply(plan, allowed=frozenset())
    again = s.plan()
    assert again.operations == (), [(op.op, op.reason) for op in again.operations]
    assert not any("ManagedBy=Terraform" in n for n in again.notices)
    cloudwatch = s.clients.client("cloudwatch", PRIMARY)
    names = {
        a["AlarmName"]
        for a in cloudwatch.describe_alarms(AlarmNamePrefix=f"{name}-user-errors")["MetricAlarms"]
    }
    assert names == {f"{name}-user-errors-app"}
    if env == "prod":
        replica = s.clients.dynamodb(DR).describe_table(TableName=name)["Table"]
        assert replica["DeletionProtectionEnabled"] is True
