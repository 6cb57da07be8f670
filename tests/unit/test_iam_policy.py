"""The least-privilege policy builder: pure, literal checks on the examples' environments."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore import xform_name

import tablesmith
from tablesmith.around.alarms import desired_alarms
from tablesmith.iam_policy import (
    PRINCIPAL_ACCOUNT,
    UNSCOPED_READS,
    USED_IF_ALLOWED,
    actions,
    iam_policy,
)

REPO = Path(__file__).resolve().parents[2]
ACCOUNT = "123456789012"
# the modules that make AWS calls (their method names are scanned below)
CALLERS = ("live.py", "apply.py", "around/backup.py", "around/alarms.py", "aws.py")
SERVICES = {
    "dynamodb": "dynamodb",
    "backup": "backup",
    "cloudwatch": "cloudwatch",
    "iam": "iam",
    "kms": "kms",
    "sts": "sts",
    "resourcegroupstaggingapi": "tag",
}
# operation names that several services share: tablesmith calls them on the others only
SHARED_NAMES_NOT_CALLED = {"cloudwatch:UntagResource", "kms:TagResource", "kms:UntagResource"}
MUTATING = re.compile(
    r":(Create|Delete|Update|Put|Tag|Untag|Attach|Detach|Pass|Batch|Get"
    r"Item|Scan|Query|Mount|Decrypt|Generate|Retire)"
)
READ_PREFIXES = ("Describe", "List", "Get")


def tables(env: str) -> tuple[Any, ...]:
    return tablesmith.load(REPO / "examples" / "bbws.yaml", env=env).tables(env)


def policy(env: str = "prod", *, read_only: bool = False, account: str = ACCOUNT) -> dict[str, Any]:
    return iam_policy(tables(env), account=account, environment=env, read_only=read_only)


def statement(doc: dict[str, Any], sid: str) -> dict[str, Any]:
    found = [s for s in doc["Statement"] if sid in s["Sid"].split("Also")]
    assert len(found) == 1, sid
    one: dict[str, Any] = found[0]
    return one


def resources_of(doc: dict[str, Any], action: str) -> set[str]:
    out: set[str] = set()
    for s in doc["Statement"]:
        if action in s["Action"]:
            out |= {s["Resource"]} if isinstance(s["Resource"], str) else set(s["Resource"])
    return out


@pytest.mark.parametrize("env", ["dev", "sit", "prod"])
@pytest.mark.parametrize("read_only", [False, True])
def test_valid_iam_grammar(env: str, read_only: bool) -> None:
    doc = policy(env, read_only=read_only)
    assert doc["Version"] == "2012-10-17"
    sids = [s["Sid"] for s in doc["Statement"]]
    assert len(sids) == len(set(sids))
    for s in doc["Statement"]:
        assert set(s) <= {"Sid", "Effect", "Action", "Resource", "Condition"}
        assert re.fullmatch(r"[A-Za-z0-9]+", s["Sid"]), s["Sid"]  # IAM: letters and digits
        assert s["Effect"] == "Allow"
        assert s["Action"] == sorted(set(s["Action"])) and s["Action"]
        assert all(re.fullmatch(r"[a-z0-9-]+:[A-Za-z0-9]+", a) for a in s["Action"])
        resource = s["Resource"]
        assert resource == "*" or (
            isinstance(resource, list)
            and resource
            and all(
                re.fullmatch(r"arn:aws:[a-z0-9-]+:[a-z0-9-*]*:(\d{12})?:\S+", r) for r in resource
            )
        ), resource
        for operator, keys in s.get("Condition", {}).items():
            assert operator in ("StringEquals", "ArnEquals") and keys


def test_read_only_grants_no_change() -> None:
    granted = actions(policy(read_only=True))
    assert [a for a in granted if MUTATING.search(a)] == []
    assert all(a.split(":")[1].startswith(READ_PREFIXES) for a in granted)
    assert set(granted) < set(actions(policy()))


def test_unscoped_statements_are_only_what_aws_cannot_scope() -> None:
    doc = policy()
    unscoped = {a for s in doc["Statement"] if s["Resource"] == "*" for a in s["Action"]}
    assert {a for _, a in UNSCOPED_READS} <= unscoped
    # beyond those: CreateBackupVault's storage and the AWS Backup key (through Backup only)
    assert unscoped - {a for _, a in UNSCOPED_READS} == {
        "backup-storage:MountCapsule",
        "kms:CreateGrant",
        "kms:Decrypt",
        "kms:GenerateDataKey",
        "kms:RetireGrant",
    }
    key = statement(doc, "CreateBackupVaultUsesTheAwsBackupKeyWhoseArnDiffersPerAccount")
    assert key["Condition"] == {
        "StringEquals": {
            "kms:ViaService": ["backup.af-south-1.amazonaws.com", "backup.eu-west-1.amazonaws.com"]
        }
    }
    for s in doc["Statement"]:
        if s["Resource"] == "*" and s["Sid"] in {sid for sid, _ in UNSCOPED_READS}:
            assert len(s["Action"]) == 1  # one statement, one reason


def test_tables_are_scoped_to_their_regions_indexes_and_streams() -> None:
    doc = policy()
    change = set(statement(doc, "ChangeTheTables")["Resource"])
    for region in ("af-south-1", "eu-west-1"):  # prod: a replica in the DR region
        base = f"arn:aws:dynamodb:{region}:{ACCOUNT}:table/products"
        assert {base, f"{base}/index/*", f"{base}/stream/*"} <= change
    assert all(":table/" in arn for arn in change)
    assert not [arn for arn in change if arn.endswith("table/*")]
    assert resources_of(doc, "dynamodb:UpdateTable") == change
    prune = statement(doc, "PruneOnlyTablesThisEnvironmentOwns")
    assert prune["Resource"] == [f"arn:aws:dynamodb:af-south-1:{ACCOUNT}:table/*"]
    assert prune["Condition"] == {"StringEquals": {"aws:ResourceTag/tablesmith:managed": "prod"}}
    replication = statement(doc, "CreateTheReplicationServiceLinkedRoleOnce")
    assert replication["Condition"] == {
        "StringEquals": {"iam:AWSServiceName": "replication.dynamodb.amazonaws.com"}
    }


def test_backup_vaults_plans_and_role() -> None:
    doc = policy()
    vaults = set(statement(doc, "CreateTheBackupVaults")["Resource"])
    assert f"arn:aws:backup:af-south-1:{ACCOUNT}:backup-vault:tenants-backup-vault" in vaults
    assert f"arn:aws:backup:eu-west-1:{ACCOUNT}:backup-vault:tenants-backup-vault-dr" in vaults
    assert statement(doc, "CreateAndUpdateTheBackupPlans")["Resource"] == [
        f"arn:aws:backup:af-south-1:{ACCOUNT}:backup-plan:*"
    ]
    role = f"arn:aws:iam::{ACCOUNT}:role/tenants-backup-role"
    pass_role = statement(doc, "PassTheBackupRolesOnlyToAwsBackup")
    assert pass_role["Action"] == ["iam:PassRole"] and role in pass_role["Resource"]
    assert pass_role["Condition"] == {
        "StringEquals": {"iam:PassedToService": "backup.amazonaws.com"}
    }
    assert resources_of(doc, "iam:PassRole") == set(pass_role["Resource"])
    attach = statement(doc, "AttachOnlyTheAwsBackupManagedPolicies")
    assert attach["Condition"]["ArnEquals"]["iam:PolicyARN"] == [
        "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup",
        "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForRestores",
    ]


def test_backup_off_keeps_reads_and_removals_only() -> None:
    off = [
        t.model_copy(update={"backup": t.backup.model_copy(update={"enabled": False})})
        for t in tables("dev")
        if t.backup is not None
    ]
    doc = iam_policy(off, account=ACCOUNT, environment="dev")
    granted = actions(doc)
    assert "backup:DeleteBackupVault" in granted and "iam:DeleteRole" in granted
    assert "backup:CreateBackupVault" not in granted and "iam:PassRole" not in granted


def test_alarms_by_exact_name_and_deletes_by_the_tables_prefix() -> None:
    doc = policy()
    puts = set(statement(doc, "PutExactlyTheAlarmsTheSpecDerives")["Resource"])
    wanted = {
        f"arn:aws:cloudwatch:{a.region}:{ACCOUNT}:alarm:{a.name}"
        for t in tables("prod")
        for a in desired_alarms(t)
    }
    assert puts == wanted and wanted
    deletes = statement(doc, "RemoveOnlyTheTablesOwnAlarms")["Resource"]
    assert f"arn:aws:cloudwatch:af-south-1:{ACCOUNT}:alarm:products-*" in deletes
    assert (
        f"arn:aws:cloudwatch:af-south-1:{ACCOUNT}:alarm:dynamodb-user-errors-prod-"
        "af-south-1" in deletes
    )


def test_every_call_in_the_source_is_granted() -> None:
    """Each boto3 method named in the calling modules is an action of the apply policy."""
    source = "".join((REPO / "src" / "tablesmith" / f).read_text() for f in CALLERS)
    session = botocore.session.get_session()
    called = set()
    for service, prefix in SERVICES.items():
        for operation in session.get_service_model(service).operation_names:
            if re.search(rf"[\"'.]{xform_name(operation)}[\"'(]", source):
                called.add(f"{prefix}:{operation}")
    granted = set(actions(policy()))
    assert called - granted == SHARED_NAMES_NOT_CALLED | USED_IF_ALLOWED
    reads = {a for a in called if a.split(":")[1].startswith(READ_PREFIXES)}
    assert reads - set(actions(policy(read_only=True))) == USED_IF_ALLOWED


def test_the_account_placeholder() -> None:
    doc = policy(account=PRINCIPAL_ACCOUNT)
    arns = [r for s in doc["Statement"] if s["Resource"] != "*" for r in s["Resource"]]
    assert arns and all(f":{PRINCIPAL_ACCOUNT}:" in arn for arn in arns)


def test_no_tables_only_the_unscoped_reads() -> None:
    doc = iam_policy((), account=ACCOUNT, environment="dev")
    assert [s["Sid"] for s in doc["Statement"]] == [sid for sid, _ in UNSCOPED_READS]


def test_apply_may_hold_the_lock_lease_and_plan_may_not() -> None:
    """On AWS apply and destroy hold a lease in conventions.lock.table (tablesmith.lock)."""
    from tablesmith.spec.model import LockSettings

    build = iam_policy
    tables = tablesmith.load(REPO / "examples" / "bbws.yaml", env="prod").tables("prod")
    writes = build(tables, account="123456789012", environment="prod")
    lease = [s for s in writes["Statement"] if "LockLeaseTable" in s["Sid"]]
    assert lease and lease[0]["Resource"] == [
        "arn:aws:dynamodb:af-south-1:123456789012:table/tablesmith-locks"]
    assert "dynamodb:PutItem" in lease[0]["Action"]
    reads = build(tables, account="123456789012", environment="prod", read_only=True)
    assert not [s for s in reads["Statement"] if "LockLeaseTable" in s["Sid"]]
    off = build(tables, account="123456789012", environment="prod",
                lock=LockSettings(mode="file"))
    assert not [s for s in off["Statement"] if "LockLeaseTable" in s["Sid"]]


def test_every_call_of_every_family_is_granted_where_the_spec_manages_it() -> None:
    """Each boto3 method named in a family module is granted once a table manages every
    family's field (the families grant their own, ``ResourceFamily.iam_statements``)."""
    from tablesmith.spec.model import (
        ContributorInsights,
        KinesisStreamingDestination,
        ResourcePolicy,
    )

    first, *rest = tables("prod")
    stream = f"arn:aws:kinesis:{first.region}:{ACCOUNT}:stream/changes"
    managing = first.model_copy(update={
        "resource_policy": ResourcePolicy(document='{"Version":"2012-10-17","Statement":[]}'),
        "kinesis_streaming_destinations": (KinesisStreamingDestination(stream_arn=stream),),
        "contributor_insights": ContributorInsights(enabled=True)})
    doc = iam_policy([managing, *rest], account=ACCOUNT, environment="prod")
    around = sorted((REPO / "src" / "tablesmith" / "around").glob("*.py"))
    source = "".join(path.read_text() for path in around)
    session = botocore.session.get_session()
    called = {f"dynamodb:{op}" for op in session.get_service_model("dynamodb").operation_names
              if re.search(rf"[\"'.]{xform_name(op)}[\"'(]", source)}
    assert called - set(actions(doc)) == set()
    # and nothing of theirs where no table manages them
    plain = set(actions(policy()))
    assert not {"dynamodb:PutResourcePolicy", "dynamodb:EnableKinesisStreamingDestination",
                "dynamodb:UpdateContributorInsights"} & plain
