"""AWS Backup around a table, on the embedded local target (moto plus tablesmith's AWS Backup
extension: selections, UpdateBackupPlan, region settings). Each step plans, applies, checks
what AWS holds with boto3 directly, and checks that planning again is empty.

moto runs no backup jobs, so no vault ever holds recovery points here: DELETES_DATA on a vault
is covered by the unit tests, with literal counts.
"""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from harness import hazards_of, session, table, write_spec

from tablesmith.errors import HazardRefused
from tablesmith.hazards import HazardCode
from tablesmith.resources import BACKUP_POLICIES

if TYPE_CHECKING:
    from pathlib import Path

    from tablesmith.engine import Session
    from tablesmith.plan import Plan

PRIMARY = "af-south-1"
DR = "eu-west-1"
DAILY = "cron(0 2 * * ? *)"
HOURLY = "cron(0 */1 * * ? *)"
BACKUP_OPS = {"CreateBackupVault", "DeleteBackupVault", "CreateBackupPlan", "UpdateBackupPlan",
              "DeleteBackupPlan", "CreateBackupSelection", "DeleteBackupSelection", "CreateRole",
              "AttachRolePolicy", "DetachRolePolicy", "DeleteRole", "UpdateAssumeRolePolicy",
              "UpdateTags"}
EVERYTHING = frozenset(HazardCode)


def backed_up(schedule: str = DAILY, retention: int = 7, **settings: Any) -> dict[str, Any]:
    """The table ``main`` with AWS Backup on."""
    return table(backup={"enabled": True, "schedule": schedule, "retention_days": retention},
                 **settings)


class Env:
    """One spec directory and table prefix, re-planned as the spec changes."""

    def __init__(self, endpoint: str, tmp_path: Path) -> None:
        self.endpoint = endpoint
        self.tmp_path = tmp_path
        self.prefix = f"bk{uuid.uuid4().hex[:6]}-"
        self.name = f"{self.prefix}main"
        self.steps = 0

    def session(self, main: dict[str, Any]) -> Session:
        self.steps += 1
        path = write_spec(self.tmp_path / f"step{self.steps}", {"main": main}, self.prefix,
                          "local")
        return session(path, self.endpoint)

    def client(self, service: str, region: str = PRIMARY) -> Any:
        return boto3.client(service, endpoint_url=self.endpoint,  # type: ignore[call-overload]
                            region_name=region)

    def vault(self, region: str = PRIMARY, suffix: str = "") -> dict[str, Any] | None:
        try:
            return self.client("backup", region).describe_backup_vault(  # type: ignore[no-any-return]
                BackupVaultName=f"{self.name}-backup-vault{suffix}")
        except self.client("backup", region).exceptions.ResourceNotFoundException:
            return None

    def plan(self) -> dict[str, Any] | None:
        plans = self.client("backup").list_backup_plans()["BackupPlansList"]
        entry = next((p for p in plans if p["BackupPlanName"] == f"{self.name}-backup-plan"),
                     None)
        if entry is None:
            return None
        return self.client("backup").get_backup_plan(  # type: ignore[no-any-return]
            BackupPlanId=entry["BackupPlanId"])

    def role(self) -> dict[str, Any] | None:
        iam = self.client("iam")
        try:
            return iam.get_role(RoleName=f"{self.name}-backup-role")["Role"]  # type: ignore[no-any-return]
        except iam.exceptions.NoSuchEntityException:
            return None


def backup_ops(plan: Plan) -> list[tuple[str, str]]:
    """(operation, region) of the plan's backup operations, in order."""
    return [(op.op, op.region) for op in plan.operations if op.op in BACKUP_OPS]


def apply_and_converge(s: Session, plan: Plan, allowed: frozenset[HazardCode]) -> None:
    """Apply, then check that planning again is empty (applying twice changes nothing)."""
    s.apply(plan, allowed=allowed)
    again = s.plan()
    assert not again.has_changes, f"planning again: {[op.op for op in again.operations]}"


def refused_without(s: Session, plan: Plan, codes: set[str]) -> None:
    """Apply without allowing ``codes`` is refused, naming each."""
    with pytest.raises(HazardRefused) as refused:
        s.apply(plan, allowed=frozenset())
    for code in codes:
        assert code in str(refused.value)


@pytest.mark.parametrize("engine", ["local"])
def test_backup_on_makes_vault_plan_selection_and_role(engine: str, engine_endpoint: str,
                                                       tmp_path: Path) -> None:
    env = Env(engine_endpoint, tmp_path)
    s = env.session(backed_up())
    plan = s.plan()
    assert backup_ops(plan) == [
        ("CreateRole", PRIMARY), ("AttachRolePolicy", PRIMARY), ("AttachRolePolicy", PRIMARY),
        ("CreateBackupVault", PRIMARY), ("CreateBackupPlan", PRIMARY),
        ("CreateBackupSelection", PRIMARY)]
    apply_and_converge(s, plan, frozenset())

    vault = env.vault()
    assert vault is not None
    vault_tags = env.client("backup").list_tags(ResourceArn=vault["BackupVaultArn"])["Tags"]
    assert vault_tags["Name"] == f"{env.name}-backup-vault"
    assert vault_tags["Component"] == "backup"

    got = env.plan()
    assert got is not None
    [rule] = got["BackupPlan"]["Rules"]
    assert rule["RuleName"] == f"{env.name}-backup-rule"
    assert rule["TargetBackupVaultName"] == f"{env.name}-backup-vault"
    assert rule["ScheduleExpression"] == DAILY
    assert rule["Lifecycle"]["DeleteAfterDays"] == 7
    assert not rule.get("CopyActions")

    role = env.role()
    assert role is not None
    document = role["AssumeRolePolicyDocument"]
    if isinstance(document, str):
        document = json.loads(document)
    assert document["Statement"][0]["Principal"] == {"Service": "backup.amazonaws.com"}
    attached = env.client("iam").list_attached_role_policies(
        RoleName=f"{env.name}-backup-role")["AttachedPolicies"]
    assert sorted(p["PolicyArn"] for p in attached) == sorted(BACKUP_POLICIES)

    backup = env.client("backup")
    [selection] = backup.list_backup_selections(
        BackupPlanId=got["BackupPlanId"])["BackupSelectionsList"]
    body = backup.get_backup_selection(BackupPlanId=got["BackupPlanId"],
                                       SelectionId=selection["SelectionId"])["BackupSelection"]
    assert body["SelectionName"] == f"{env.name}-backup-selection"
    assert body["IamRoleArn"] == role["Arn"]
    table_arn = env.client("dynamodb").describe_table(TableName=env.name)["Table"]["TableArn"]
    assert body["Resources"] == [table_arn]


@pytest.mark.parametrize("engine", ["local"])
def test_schedule_and_retention_change_the_plan_in_place(engine: str, engine_endpoint: str,
                                                         tmp_path: Path) -> None:
    env = Env(engine_endpoint, tmp_path)
    start = env.session(backed_up(retention=30))
    apply_and_converge(start, start.plan(), frozenset())
    before = env.plan()
    assert before is not None

    hourly = env.session(backed_up(schedule=HOURLY, retention=30))
    plan = hourly.plan()
    assert backup_ops(plan) == [("UpdateBackupPlan", PRIMARY)]
    assert hazards_of(plan) == set()
    apply_and_converge(hourly, plan, frozenset())
    after = env.plan()
    assert after is not None
    assert after["BackupPlanId"] == before["BackupPlanId"]
    assert after["VersionId"] != before["VersionId"]
    assert after["BackupPlan"]["Rules"][0]["ScheduleExpression"] == HOURLY

    shorter = env.session(backed_up(schedule=HOURLY, retention=7))
    plan = shorter.plan()
    assert backup_ops(plan) == [("UpdateBackupPlan", PRIMARY)]
    assert hazards_of(plan) == {"SHORTENS_RETENTION"}
    refused_without(shorter, plan, {"SHORTENS_RETENTION"})
    apply_and_converge(shorter, plan, frozenset({HazardCode.SHORTENS_RETENTION}))
    final = env.plan()
    assert final is not None
    assert final["BackupPlanId"] == before["BackupPlanId"]
    assert final["BackupPlan"]["Rules"][0]["Lifecycle"]["DeleteAfterDays"] == 7


@pytest.mark.parametrize("engine", ["local"])
def test_replication_adds_and_removes_the_dr_vault_and_copy_action(
        engine: str, engine_endpoint: str, tmp_path: Path) -> None:
    env = Env(engine_endpoint, tmp_path)
    start = env.session(backed_up())
    apply_and_converge(start, start.plan(), frozenset())
    plan_id = (env.plan() or {})["BackupPlanId"]

    on = env.session(backed_up(replicas=[DR]))
    plan = on.plan()
    assert backup_ops(plan) == [("CreateBackupVault", DR), ("UpdateBackupPlan", PRIMARY)]
    apply_and_converge(on, plan, EVERYTHING)
    dr_vault = env.vault(DR, "-dr")
    assert dr_vault is not None
    got = env.plan()
    assert got is not None and got["BackupPlanId"] == plan_id
    [copy] = got["BackupPlan"]["Rules"][0]["CopyActions"]
    assert copy["DestinationBackupVaultArn"] == dr_vault["BackupVaultArn"]
    assert copy["Lifecycle"]["DeleteAfterDays"] == 7

    off = env.session(backed_up())
    plan = off.plan()
    assert backup_ops(plan) == [("UpdateBackupPlan", PRIMARY), ("DeleteBackupVault", DR)]
    assert "DISABLES_RECOVERY" in hazards_of(plan)  # no more copies to eu-west-1
    refused_without(off, plan, {"DISABLES_RECOVERY"})
    apply_and_converge(off, plan, EVERYTHING)
    assert env.vault(DR, "-dr") is None
    got = env.plan()
    assert got is not None and got["BackupPlanId"] == plan_id
    assert not got["BackupPlan"]["Rules"][0].get("CopyActions")


@pytest.mark.parametrize("engine", ["local"])
def test_backup_off_needs_disables_recovery_and_removes_everything(
        engine: str, engine_endpoint: str, tmp_path: Path) -> None:
    env = Env(engine_endpoint, tmp_path)
    start = env.session(backed_up())
    apply_and_converge(start, start.plan(), frozenset())

    off = env.session(table())
    plan = off.plan()
    assert backup_ops(plan) == [
        ("DeleteBackupSelection", PRIMARY), ("DeleteBackupPlan", PRIMARY),
        ("DeleteBackupVault", PRIMARY), ("DetachRolePolicy", PRIMARY),
        ("DetachRolePolicy", PRIMARY), ("DeleteRole", PRIMARY)]
    assert hazards_of(plan) == {"DISABLES_RECOVERY"}  # the vault is empty: no DELETES_DATA
    refused_without(off, plan, {"DISABLES_RECOVERY"})
    assert env.plan() is not None, "a refused plan changed nothing"
    apply_and_converge(off, plan, frozenset({HazardCode.DISABLES_RECOVERY}))
    assert env.plan() is None
    assert env.vault() is None
    assert env.role() is None


@pytest.mark.parametrize("engine", ["local"])
def test_destroy_removes_the_backup_with_the_table(engine: str, engine_endpoint: str,
                                                   tmp_path: Path) -> None:
    env = Env(engine_endpoint, tmp_path)
    start = env.session(backed_up(replicas=[DR]))
    apply_and_converge(start, start.plan(), EVERYTHING)
    assert env.vault(DR, "-dr") is not None

    plan = start.plan_destroy()
    assert backup_ops(plan) == [
        ("DeleteBackupSelection", PRIMARY), ("DeleteBackupPlan", PRIMARY),
        ("DeleteBackupVault", DR), ("DeleteBackupVault", PRIMARY),
        ("DetachRolePolicy", PRIMARY), ("DetachRolePolicy", PRIMARY), ("DeleteRole", PRIMARY)]
    start.apply(plan, allowed=EVERYTHING)
    assert not start.plan_destroy().has_changes
    assert env.plan() is None
    assert env.vault() is None and env.vault(DR, "-dr") is None
    assert env.role() is None


@pytest.mark.parametrize("engine", ["local"])
def test_cross_region_copy_without_advanced_dynamodb_backup_is_a_notice(
        engine: str, engine_endpoint: str, tmp_path: Path) -> None:
    env = Env(engine_endpoint, tmp_path)
    env.client("backup").update_region_settings(
        ResourceTypeManagementPreference={"DynamoDB": False})
    plan = env.session(backed_up(replicas=[DR])).plan()
    command = ("aws backup update-region-settings --resource-type-management-preference "
               f"DynamoDB=true --region {PRIMARY}")
    assert any(command in notice for notice in plan.notices), plan.notices
    assert not any(command in notice for notice in env.session(backed_up()).plan().notices)
