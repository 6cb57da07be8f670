"""`tablesmith import aws` round trip on the embedded local target, through the command line.

The tables are made with boto3 alone, in one batch, on one `local serve` kept up for the
module (every `--local` command then uses it); their AWS Backup resources and alarms are
made the way tablesmith makes them (``desired_backup`` / ``desired_alarms``). Import, then
`plan --detailed-exitcode`, must exit 0; what the spec cannot express is skipped, with the
reason, and nothing of it is written.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml

from local_serve import local_serve
from tablesmith.around.alarms import desired_alarms, put_request
from tablesmith.around.backup import trust_policy
from tablesmith.aws import Clients
from tablesmith.engine import resolve_target
from tablesmith.resources import BACKUP_POLICIES, BACKUP_SERVICE, desired_backup
from tablesmith.spec.loader import load
from tablesmith.spec.model import Environment

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tablesmith.spec.model import Table

TABLESMITH = str(Path(sys.executable).with_name("tablesmith"))
PRIMARY, DR = "af-south-1", "eu-west-1"
ENV = {"TABLESMITH_POLL_INTERVAL": "0.2", "TABLESMITH_LOCAL_REPLICA_SECONDS": "0.3"}
TAGS = {
    "Project": "shop",
    "Owner": "team-a",
    "CostCenter": "4711",
    "ManagedBy": "hand",
    "Component": "dynamodb",
    "Environment": "dev",
}
SNS = "arn:aws:sns:af-south-1:123456789012:oncall"

# what tablesmith makes around two tables: the spec layer they come from (not claimed)
AROUND_SPEC = f"""
version: 1
conventions: {{mandatory_tags: []}}
tables:
  backed_up:
    partition_key: {{name: PK, type: S}}
    backup: {{enabled: true, schedule: "cron(0 3 * * ? *)", retention_days: 21}}
    alarms: {{enabled: false}}
    tags: {{Team: data, "tablesmith:managed": null}}
  alarmed:
    partition_key: {{name: PK, type: S}}
    global_secondary_indexes:
      - {{name: ByX, hash_key: {{name: x, type: S}}, projection_type: KEYS_ONLY}}
    backup: {{enabled: false}}
    alarms:
      enabled: true
      alarm_actions: ["{SNS}"]
      system_errors: {{enabled: true, threshold: 2, period: 60, evaluation_periods: 3,
                      statistic: Sum}}
      write_throttle_events: {{enabled: false, threshold: 5, period: 300,
                              evaluation_periods: 2, statistic: Sum}}
    tags: {{Team: ops, "tablesmith:managed": null}}
"""
IMPORTABLE = (
    "gsi_all",
    "gsi_keys_only",
    "gsi_include",
    "with_lsi",
    "ttl_on",
    "stream_keys_only",
    "stream_new_image",
    "stream_old_image",
    "stream_off",
    "pitr_days",
    "cmk",
    "aws_owned",
    "infrequent",
    "capped",
    "capped_high",
    "protected",
    "tagged",
    "global_table",
    "backed_up",
    "alarmed",
    "Mixed-Case.name",
)
NOT_IMPORTABLE = {"provisioned": "PROVISIONED", "multi_rule": "has 2 rules"}


def run(*args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [TABLESMITH, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **ENV},
        check=False,
    )


@pytest.fixture(scope="module")
def state(tmp_path_factory: pytest.TempPathFactory, fake_aws_env: None) -> Iterator[Path]:
    """A local state holding every shape, served for the whole module."""
    base = tmp_path_factory.mktemp("import")
    directory = base / "state"
    with local_serve(base, directory, {**os.environ, **ENV}) as endpoint:
        aws = Clients(
            resolve_target(
                Environment(name="dev", region=PRIMARY),
                endpoint_url=endpoint,
                local=True,
                state_dir=str(directory),
            )
        )
        build(aws, base)
        yield directory


def key(name: str, kind: str = "HASH") -> dict[str, str]:
    return {"AttributeName": name, "KeyType": kind}


def attrs(**types: str) -> list[dict[str, str]]:
    return [{"AttributeName": n, "AttributeType": t} for n, t in types.items()]


def tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def build(aws: Clients, base: Path) -> None:
    ddb = aws.dynamodb(PRIMARY)
    kms_key = aws.client("kms", PRIMARY).create_key(
        Description="orders", KeyUsage="ENCRYPT_DECRYPT", KeySpec="SYMMETRIC_DEFAULT"
    )["KeyMetadata"]["Arn"]
    simple = {"KeySchema": [key("PK")], "AttributeDefinitions": attrs(PK="S")}
    both = {
        "KeySchema": [key("PK"), key("SK", "RANGE")],
        "AttributeDefinitions": attrs(PK="S", SK="S"),
    }

    def gsi(name: str, projection: dict[str, Any], *keys: dict[str, str]) -> dict[str, Any]:
        return {"IndexName": name, "KeySchema": list(keys), "Projection": projection}

    def stream(view: str) -> dict[str, Any]:
        return {"StreamSpecification": {"StreamEnabled": True, "StreamViewType": view}}

    shapes: dict[str, dict[str, Any]] = {
        "gsi_all": {
            "KeySchema": both["KeySchema"],
            "AttributeDefinitions": attrs(PK="S", SK="S", c="S", d="N"),
            "GlobalSecondaryIndexes": [
                gsi("ByC", {"ProjectionType": "ALL"}, key("c"), key("d", "RANGE"))
            ],
        },
        "gsi_keys_only": {
            "KeySchema": simple["KeySchema"],
            "AttributeDefinitions": attrs(PK="S", n="N"),
            "GlobalSecondaryIndexes": [gsi("ByN", {"ProjectionType": "KEYS_ONLY"}, key("n"))],
        },
        "gsi_include": {
            "KeySchema": simple["KeySchema"],
            "AttributeDefinitions": attrs(PK="S", b="B"),
            "GlobalSecondaryIndexes": [
                gsi(
                    "ByB",
                    {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["zeta", "alpha"]},
                    key("b"),
                )
            ],
        },
        "with_lsi": {
            "KeySchema": both["KeySchema"],
            "AttributeDefinitions": attrs(PK="S", SK="S", when="N"),
            "LocalSecondaryIndexes": [
                gsi(
                    "ByWhen",
                    {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["total"]},
                    key("PK"),
                    key("when", "RANGE"),
                )
            ],
        },
        "ttl_on": simple,
        "stream_keys_only": {**simple, **stream("KEYS_ONLY")},
        "stream_new_image": {**simple, **stream("NEW_IMAGE")},
        "stream_old_image": {**simple, **stream("OLD_IMAGE")},
        "stream_off": simple,
        "pitr_days": {**both, **stream("NEW_AND_OLD_IMAGES")},
        "cmk": {
            **simple,
            "SSESpecification": {"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": kms_key},
        },
        "aws_owned": {**simple, "SSESpecification": {"Enabled": False}},
        "infrequent": {**simple, "TableClass": "STANDARD_INFREQUENT_ACCESS"},
        "capped": {
            **simple,
            "OnDemandThroughput": {"MaxReadRequestUnits": 100, "MaxWriteRequestUnits": 50},
        },
        "capped_high": {**simple, "OnDemandThroughput": {"MaxReadRequestUnits": 50000}},
        "protected": {**simple, "DeletionProtectionEnabled": True},
        "tagged": {
            **simple,
            "Tags": tag_list(
                {**TAGS, "Flag": "yes", "Num": "1e5", "Text": "a: b = c", "Empty": ""}
            ),
        },
        "global_table": {
            **simple,
            **stream("NEW_AND_OLD_IMAGES"),
            "DeletionProtectionEnabled": True,
            "Tags": tag_list(TAGS),
        },
        "Mixed-Case.name": simple,
        "multi_rule": simple,
    }
    for name, shape in shapes.items():
        kwargs = {
            "BillingMode": "PAY_PER_REQUEST",
            "SSESpecification": {"Enabled": True, "SSEType": "KMS"},
            **shape,
        }
        ddb.create_table(TableName=name, **kwargs)
    ddb.create_table(
        TableName="provisioned",
        BillingMode="PROVISIONED",
        ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 5},
        **simple,
    )
    ddb.update_time_to_live(
        TableName="ttl_on", TimeToLiveSpecification={"Enabled": True, "AttributeName": "expiresAt"}
    )
    for name, days in (("pitr_days", 7), ("global_table", 35)):
        ddb.update_continuous_backups(
            TableName=name,
            PointInTimeRecoverySpecification={
                "PointInTimeRecoveryEnabled": True,
                "RecoveryPeriodInDays": days,
            },
        )
    add_replica(aws, "global_table", TAGS)
    around = around_tables(base)
    for table in around.values():
        indexes = [
            gsi(g.name, {"ProjectionType": g.projection_type}, key(g.hash_key.name))
            for g in table.global_secondary_indexes
        ]
        ddb.create_table(
            TableName=table.table_name,
            BillingMode="PAY_PER_REQUEST",
            SSESpecification={"Enabled": True, "SSEType": "KMS"},
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
            KeySchema=[key("PK")],
            AttributeDefinitions=attrs(
                PK="S", **{g.hash_key.name: g.hash_key.type for g in table.global_secondary_indexes}
            ),
            **({"GlobalSecondaryIndexes": indexes} if indexes else {}),
            Tags=tag_list(table.tags),
        )
        ddb.update_continuous_backups(
            TableName=table.table_name,
            PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
        )
    for table in around.values():
        for alarm in desired_alarms(table):
            aws.client("cloudwatch", PRIMARY).put_metric_alarm(**put_request(alarm, with_tags=True))
    make_backup(aws, around["backed_up"])
    multi = around["backed_up"].model_copy(
        update={"name": "multi_rule", "table_name": "multi_rule"}
    )
    make_backup(aws, multi, extra_rule=True)


def around_tables(base: Path) -> dict[str, Table]:
    spec_file = base / "around.yaml"
    spec_file.write_text(AROUND_SPEC)
    return {t.name: t for t in load(spec_file, env="dev").tables("dev")}


def add_replica(aws: Clients, name: str, tags: dict[str, str]) -> None:
    """A replica in DR with what AWS does not copy to it: tags, protection, PITR."""
    aws.dynamodb(PRIMARY).update_table(
        TableName=name, ReplicaUpdates=[{"Create": {"RegionName": DR}}]
    )
    replica = aws.dynamodb(DR)
    deadline = time.monotonic() + 30
    while True:
        try:
            desc = replica.describe_table(TableName=name)["Table"]
            if (
                desc["TableStatus"] == "ACTIVE"
                and aws.dynamodb(PRIMARY).describe_table(TableName=name)["Table"]["TableStatus"]
                == "ACTIVE"
            ):
                break
        except replica.exceptions.ResourceNotFoundException:
            pass
        assert time.monotonic() < deadline, f"replica of {name} not ACTIVE"
        time.sleep(0.1)
    replica.tag_resource(ResourceArn=desc["TableArn"], Tags=tag_list(tags))
    replica.update_table(TableName=name, DeletionProtectionEnabled=True)
    replica.update_continuous_backups(
        TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
    )


def make_backup(aws: Clients, table: Table, *, extra_rule: bool = False) -> None:
    """Vault, plan, role and selection with tablesmith's names and tags (one rule, or two)."""
    wanted = desired_backup(table)
    assert wanted.vault and wanted.plan and wanted.role and wanted.selection
    backup, iam = aws.client("backup", PRIMARY), aws.client("iam", PRIMARY)
    role = iam.create_role(
        RoleName=wanted.role.name,
        AssumeRolePolicyDocument=json.dumps(trust_policy(BACKUP_SERVICE, aws.account_id())),
        Tags=tag_list(wanted.role.tags),
    )
    for policy in BACKUP_POLICIES:
        iam.attach_role_policy(RoleName=wanted.role.name, PolicyArn=policy)
    backup.create_backup_vault(BackupVaultName=wanted.vault.name, BackupVaultTags=wanted.vault.tags)
    rule = wanted.plan.rule
    rules = [
        {
            "RuleName": rule.name,
            "TargetBackupVaultName": rule.target_vault,
            "ScheduleExpression": rule.schedule,
            "Lifecycle": {"DeleteAfterDays": rule.delete_after_days},
        }
    ]
    if extra_rule:
        rules.append(
            {**rules[0], "RuleName": "weekly", "ScheduleExpression": "cron(0 4 ? * SUN *)"}
        )
    plan_id = backup.create_backup_plan(
        BackupPlan={"BackupPlanName": wanted.plan.name, "Rules": rules},
        BackupPlanTags=wanted.plan.tags,
    )["BackupPlanId"]
    arn = aws.dynamodb(PRIMARY).describe_table(TableName=table.table_name)["Table"]["TableArn"]
    backup.create_backup_selection(
        BackupPlanId=plan_id,
        BackupSelection={
            "SelectionName": wanted.selection.name,
            "IamRoleArn": role["Role"]["Arn"],
            "Resources": [arn],
        },
    )


def local(state: Path) -> tuple[str, ...]:
    return ("--env", "dev", "--local", "--state-dir", str(state))


def test_import_then_plan_is_empty_for_every_shape(state: Path, tmp_path: Path) -> None:
    out = tmp_path / "specs"
    result = run("import", "aws", *local(state), "--all", "-o", str(out), "--json")
    assert result.returncode == 1, result.stdout + result.stderr  # two tables are skipped
    summary = json.loads(result.stdout)
    skipped = {s["table"]: s["reason"] for s in summary["skipped"]}
    assert summary["imported"] == sorted(IMPORTABLE), skipped
    assert sorted(skipped) == sorted(NOT_IMPORTABLE)
    for name, words in NOT_IMPORTABLE.items():
        assert words in skipped[name], skipped[name]
    text = (out / "dev.yaml").read_text()
    assert text.startswith("# Imported by `tablesmith import aws --env dev`")
    document = yaml.safe_load(text)
    assert sorted(document["tables"]) == sorted(IMPORTABLE)  # nothing of the skipped ones
    assert not any(n in text for n in NOT_IMPORTABLE)
    tables = document["tables"]
    assert tables["gsi_include"]["global_secondary_indexes"][0]["non_key_attributes"] == [
        "alpha",
        "zeta",
    ]
    assert tables["pitr_days"]["point_in_time_recovery"] == {
        "enabled": True,
        "recovery_period_days": 7,
    }
    assert tables["cmk"]["encryption"]["type"] == "CUSTOMER_MANAGED"
    assert tables["aws_owned"]["encryption"] == {"type": "AWS_OWNED"}
    assert tables["infrequent"]["table_class"] == "STANDARD_INFREQUENT_ACCESS"
    assert tables["global_table"]["replicas"] == [DR]
    assert tables["backed_up"]["backup"]["retention_days"] == 21
    assert tables["alarmed"]["alarms"]["system_errors"]["threshold"] == 2
    assert tables["stream_off"]["stream"]["enabled"] is False
    assert tables["tagged"]["tags"]["Num"] == "1e5"  # quoted: YAML 1.2 reads 1e5 as a number
    assert tables["tagged"]["tags"]["tablesmith:managed"] is None  # not claimed
    assert document["conventions"]["quotas"]["table_read_request_units"] == 50000
    # deterministic: the same live state gives the same bytes
    again = run("import", "aws", *local(state), "--all", "-o", str(out), "--force")
    assert again.returncode == 1
    assert (out / "dev.yaml").read_text() == text
    assert "skipped  provisioned: billing mode is PROVISIONED" in again.stdout

    planned = run("plan", str(out), *local(state), "--detailed-exitcode")
    assert planned.returncode == 0, planned.stdout + planned.stderr
    as_json = run("plan", str(out), *local(state), "--json")
    assert json.loads(as_json.stdout)["operations"] == []


def test_only_importable_tables_exit_0_and_existing_file_is_refused(
    state: Path, tmp_path: Path
) -> None:
    out = tmp_path / "specs"
    args = ("import", "aws", *local(state), "--prefix", "stream_", "-o", str(out))
    first = run(*args)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "imported stream_keys_only" in first.stdout
    refused = run(*args)
    assert refused.returncode == 1
    assert "exists; pass --force" in refused.stderr
    link = tmp_path / "linked"
    link.symlink_to(out)
    through = run("import", "aws", *local(state), "--table", "ttl_on", "-o", str(link))
    assert through.returncode == 1 and "symlink" in through.stderr


def test_claim_is_a_separate_visible_operation(state: Path, tmp_path: Path) -> None:
    out = tmp_path / "specs"
    result = run(
        "import",
        "aws",
        *local(state),
        "--table",
        "capped",
        "--table",
        "backed_up",
        "-o",
        str(out),
        "--claim",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "tablesmith:managed" not in (out / "dev.yaml").read_text().split("tables:")[1]
    planned = run("plan", str(out), *local(state), "--json", "--detailed-exitcode")
    assert planned.returncode == 2, planned.stderr
    ops = json.loads(planned.stdout)["operations"]
    tags = [op for op in ops if op["op"] == "TagResource"]
    assert {op["table"] for op in tags} == {"capped", "backed_up"}
    assert all(op["after"] == {"tablesmith:managed": "dev"} for op in tags), tags
    # the backup vault, plan and role of backed_up take the same tag, and nothing else changes
    for op in ops:
        if op["op"] != "TagResource":
            assert (op["table"], op["op"], op["category"]) == ("backed_up", "UpdateTags", "new")
            assert (op["before"], op["after"]) == ({}, {"tablesmith:managed": "dev"}), op
    applied = run("apply", str(out), *local(state), "--auto-approve")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    # claimed tables import as claimed: no null, and still no change
    again = tmp_path / "again"
    result = run("import", "aws", *local(state), "--table", "capped", "-o", str(again))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "tablesmith:managed" not in (again / "dev.yaml").read_text().split("tables:")[1]
    assert run("plan", str(again), *local(state), "--detailed-exitcode").returncode == 0
