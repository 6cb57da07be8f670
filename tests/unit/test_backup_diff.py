"""Tier-1 tests of the AWS Backup diff (``around/backup.py``): literal live state in, ordered
operations out.

The desired side comes from ``desired_backup(table)``; the live side is written out as a
literal ``LiveBackup``, so a change in naming, tagging or ordering fails here. Every test
asserts the exact list of ``(op, region, [hazard codes])`` in plan order.
"""

from __future__ import annotations

from typing import Any

import pytest

from tablesmith.around.backup import (
    LiveBackup,
    backup_name_problems,
    diff_backup,
    diff_backup_destroy,
    notices,
    trust_conditions,
    trust_policy,
    trusted_service,
)
from tablesmith.plan import Action, Category
from tablesmith.resources import (
    BACKUP_POLICIES,
    Backup,
    BackupPlan,
    BackupRole,
    BackupRule,
    BackupSelection,
    BackupVault,
    CopyAction,
    desired_backup,
)
from tablesmith.spec.model import (
    Backup as BackupSettings,
)
from tablesmith.spec.model import (
    Encryption,
    Key,
    PointInTimeRecovery,
    Stream,
    Table,
    TimeToLive,
)

PRIMARY = "af-south-1"
DR = "eu-west-1"
TAGS = {"Environment": "prod", "Project": "shop", "tablesmith:managed": "prod"}
DAILY = "cron(0 2 * * ? *)"
HOURLY = "cron(0 */1 * * ? *)"
FOR_BACKUP, FOR_RESTORES = BACKUP_POLICIES


def table(*, enabled: bool = True, schedule: str = DAILY, retention: int = 35,
          replicas: tuple[str, ...] = (), copy: bool = True) -> Table:
    """The table ``orders`` with backup settings."""
    return Table(
        name="orders", table_name="orders", environment="prod", region=PRIMARY,
        partition_key=Key(name="PK", type="S"),
        attribute_definitions=(Key(name="PK", type="S"),),
        point_in_time_recovery=PointInTimeRecovery(enabled=True, recovery_period_days=35),
        ttl=TimeToLive(enabled=False, attribute_name="expiryTime"),
        stream=Stream(enabled=True, view_type="NEW_AND_OLD_IMAGES"),
        encryption=Encryption(type="AWS_MANAGED"), deletion_protection=False,
        table_class="STANDARD", replicas=replicas, tags=dict(TAGS),
        backup=BackupSettings(enabled=enabled, schedule=schedule, retention_days=retention,
                              copy_to_replica_regions=copy))


def tags(name: str, component: str, **extra: str) -> dict[str, str]:
    """The module's tags of a backup resource: the table's, Name and Component."""
    return {**TAGS, "Name": name, "Component": component, **extra}


VAULT = BackupVault(name="orders-backup-vault", region=PRIMARY,
                    tags=tags("orders-backup-vault", "backup"))
DR_VAULT = BackupVault(name="orders-backup-vault-dr", region=DR,
                       tags=tags("orders-backup-vault-dr", "backup", Region=DR))
ROLE = BackupRole(name="orders-backup-role", trusted_service="backup.amazonaws.com",
                  managed_policies=(FOR_BACKUP, FOR_RESTORES),
                  tags=tags("orders-backup-role", "iam"))
SELECTION = BackupSelection(name="orders-backup-selection", plan="orders-backup-plan",
                            role="orders-backup-role", table="orders")
COPY_35 = CopyAction(destination_region=DR, destination_vault="orders-backup-vault-dr",
                     delete_after_days=35)


def plan(*, schedule: str = DAILY, retention: int = 35,
         copies: tuple[CopyAction, ...] = ()) -> BackupPlan:
    """The plan as AWS would hold it."""
    return BackupPlan(
        name="orders-backup-plan", region=PRIMARY,
        rule=BackupRule(name="orders-backup-rule", target_vault="orders-backup-vault",
                        schedule=schedule, delete_after_days=retention, copy_actions=copies),
        tags=tags("orders-backup-plan", "backup"))


def live(*, vault: BackupVault | None = VAULT, backup_plan: BackupPlan | None = None,
         selection: BackupSelection | None = SELECTION, role: BackupRole | None = ROLE,
         dr_vaults: tuple[BackupVault, ...] = (),
         points: dict[str, int] | None = None) -> LiveBackup:
    """A literal LiveBackup (the plan defaults to the daily 35-day one)."""
    return LiveBackup(
        backup=Backup(vault=vault, plan=backup_plan or plan(), selection=selection, role=role,
                      dr_vaults=dr_vaults),
        vault_arn="arn:aws:backup:af-south-1:123456789012:backup-vault:orders-backup-vault",
        dr_vault_arns={v.region: f"arn:aws:backup:{v.region}:123456789012:backup-vault:{v.name}"
                       for v in dr_vaults},
        plan_id="0b1c2d3e-plan", plan_arn="arn:aws:backup:af-south-1:123456789012:"
        "backup-plan:0b1c2d3e-plan", plan_version="v1", selection_id="sel-1",
        role_arn="arn:aws:iam::123456789012:role/orders-backup-role",
        recovery_points=points or {})


def summary(ops: list[Any]) -> list[tuple[str, str, list[str]]]:
    """(op, region, hazard codes) of each operation, in order."""
    return [(op.op, op.region, [h.code.value for h in op.hazards]) for op in ops]


def diff(current: LiveBackup | None, t: Table) -> list[Any]:
    return diff_backup(current, desired_backup(t), t)


# --------------------------------------------------------------------------- creation


def test_backup_on_from_nothing_creates_in_dependency_order() -> None:
    ops = diff(None, table())
    assert summary(ops) == [
        ("CreateRole", PRIMARY, []),
        ("AttachRolePolicy", PRIMARY, []),
        ("AttachRolePolicy", PRIMARY, []),
        ("CreateBackupVault", PRIMARY, []),
        ("CreateBackupPlan", PRIMARY, []),
        ("CreateBackupSelection", PRIMARY, []),
    ]
    assert [op.policy_arn for op in ops[1:3]] == [FOR_BACKUP, FOR_RESTORES]
    assert ops[0].after == ROLE
    assert ops[3].after == VAULT
    assert ops[4].after == plan()
    assert ops[5].after == SELECTION
    assert all(op.table == "orders" for op in ops)


def test_backup_on_with_a_replica_makes_the_dr_vault_before_the_plan_that_copies_to_it() -> None:
    ops = diff(None, table(replicas=(DR,)))
    assert summary(ops) == [
        ("CreateRole", PRIMARY, []),
        ("AttachRolePolicy", PRIMARY, []),
        ("AttachRolePolicy", PRIMARY, []),
        ("CreateBackupVault", DR, []),
        ("CreateBackupVault", PRIMARY, []),
        ("CreateBackupPlan", PRIMARY, []),
        ("CreateBackupSelection", PRIMARY, []),
    ]
    assert ops[3].after == DR_VAULT
    assert ops[5].after.rule.copy_actions == (COPY_35,)


def test_copy_to_replica_regions_off_makes_no_dr_vault() -> None:
    ops = diff(None, table(replicas=(DR,), copy=False))
    assert DR not in {op.region for op in ops}
    assert ops[4].after.rule.copy_actions == ()


# --------------------------------------------------------------------------- changes


def test_no_change_is_empty() -> None:
    assert diff(live(), table()) == []
    assert diff(live(backup_plan=plan(copies=(COPY_35,)), dr_vaults=(DR_VAULT,)),
                table(replicas=(DR,))) == []


def test_schedule_change_is_one_update_of_the_plan() -> None:
    ops = diff(live(), table(schedule=HOURLY))
    assert summary(ops) == [("UpdateBackupPlan", PRIMARY, [])]
    assert ops[0].action == Action.UPDATE
    assert ops[0].before.rule.schedule == DAILY
    assert ops[0].after.rule.schedule == HOURLY
    assert "schedule" in ops[0].reason


def test_longer_retention_is_an_update_without_hazard() -> None:
    assert summary(diff(live(), table(retention=90))) == [("UpdateBackupPlan", PRIMARY, [])]


def test_shorter_retention_is_an_update_that_shortens_retention() -> None:
    ops = diff(live(), table(retention=7))
    assert summary(ops) == [("UpdateBackupPlan", PRIMARY, ["SHORTENS_RETENTION"])]
    assert "7 days instead of 35" in ops[0].hazards[0].message
    assert ops[0].hazards[0].blocking


def test_replication_on_adds_the_dr_vault_then_the_copy_action() -> None:
    ops = diff(live(), table(replicas=(DR,)))
    assert summary(ops) == [
        ("CreateBackupVault", DR, []),
        ("UpdateBackupPlan", PRIMARY, []),
    ]
    assert ops[0].after == DR_VAULT
    assert ops[1].before.rule.copy_actions == ()
    assert ops[1].after.rule.copy_actions == (COPY_35,)


def test_replication_off_drops_the_copy_action_then_the_empty_dr_vault() -> None:
    current = live(backup_plan=plan(copies=(COPY_35,)), dr_vaults=(DR_VAULT,),
                   points={f"{DR}/orders-backup-vault-dr": 0})
    ops = diff(current, table())
    assert summary(ops) == [
        ("UpdateBackupPlan", PRIMARY, ["DISABLES_RECOVERY"]),
        ("DeleteBackupVault", DR, []),
    ]
    assert ops[1].before == DR_VAULT


def test_replication_off_with_copies_in_the_dr_vault_deletes_data() -> None:
    current = live(backup_plan=plan(copies=(COPY_35,)), dr_vaults=(DR_VAULT,),
                   points={f"{DR}/orders-backup-vault-dr": 12})
    ops = diff(current, table())
    assert summary(ops) == [
        ("UpdateBackupPlan", PRIMARY, ["DISABLES_RECOVERY"]),
        ("DeleteBackupVault", DR, ["DELETES_DATA"]),
    ]
    assert ops[1].recovery_points == 12
    message = ops[1].hazards[0].message
    assert "12 recovery point(s)" in message
    assert "refuses" in message and "first" in message


def test_a_selection_with_another_role_is_deleted_and_made_again() -> None:
    drifted = SELECTION.model_copy(update={"role": "someone-elses-role"})
    assert summary(diff(live(selection=drifted), table())) == [
        ("DeleteBackupSelection", PRIMARY, []),
        ("CreateBackupSelection", PRIMARY, []),
    ]


def test_a_missing_selection_is_made() -> None:
    assert summary(diff(live(selection=None), table())) == [
        ("CreateBackupSelection", PRIMARY, [])]


def test_vault_tag_drift_is_an_update_of_its_tags() -> None:
    drifted = VAULT.model_copy(update={"tags": {**VAULT.tags, "Owner": "someone"}})
    ops = diff(live(vault=drifted), table())
    assert summary(ops) == [("UpdateTags", PRIMARY, [])]
    assert (ops[0].resource, ops[0].name, ops[0].category) == (
        "backup vault", VAULT.name, Category.DRIFT)
    assert (ops[0].before, ops[0].after) == ({"Owner": "someone"}, {})


def test_plan_tag_drift_is_an_update_of_its_tags_not_of_the_plan() -> None:
    drifted = plan().model_copy(update={"tags": {}})
    ops = diff(live(backup_plan=drifted), table())
    assert summary(ops) == [("UpdateTags", PRIMARY, [])]
    assert (ops[0].resource, ops[0].before, ops[0].after) == (
        "backup plan", {}, plan().tags)
    assert ops[0].category == Category.NEW  # keys only added


def test_a_rule_change_keeps_the_tags_out_of_the_plan_update() -> None:
    drifted = plan().model_copy(update={"tags": {}, "rule": plan().rule.model_copy(
        update={"schedule": "cron(0 5 * * ? *)"})})
    ops = diff(live(backup_plan=drifted), table())
    assert summary(ops) == [("UpdateBackupPlan", PRIMARY, []), ("UpdateTags", PRIMARY, [])]
    assert ops[0].before.tags == ops[0].after.tags == {}
    assert ops[0].reason == 'schedule "cron(0 5 * * ? *)" -> "cron(0 2 * * ? *)"'


def test_role_drift_retags_reattaches_and_detaches_strangers() -> None:
    stranger = "arn:aws:iam::aws:policy/AdministratorAccess"
    drifted = ROLE.model_copy(update={"tags": {}, "managed_policies": (stranger, FOR_BACKUP)})
    ops = diff(live(role=drifted), table())
    assert summary(ops) == [
        ("UpdateTags", PRIMARY, []),
        ("AttachRolePolicy", PRIMARY, []),
        ("DetachRolePolicy", PRIMARY, []),
    ]
    assert (ops[0].resource, ops[0].after) == ("IAM role", ROLE.tags)
    assert ops[1].policy_arn == FOR_RESTORES
    assert ops[2].policy_arn == stranger


# --------------------------------------------------------------------------- removal


def test_backup_off_removes_everything_behind_disables_recovery() -> None:
    current = live(points={f"{PRIMARY}/orders-backup-vault": 0})
    ops = diff(current, table(enabled=False))
    assert summary(ops) == [
        ("DeleteBackupSelection", PRIMARY, ["DISABLES_RECOVERY"]),
        ("DeleteBackupPlan", PRIMARY, ["DISABLES_RECOVERY"]),
        ("DeleteBackupVault", PRIMARY, []),
        ("DetachRolePolicy", PRIMARY, []),
        ("DetachRolePolicy", PRIMARY, []),
        ("DeleteRole", PRIMARY, []),
    ]
    assert [op.policy_arn for op in ops[3:5]] == [FOR_BACKUP, FOR_RESTORES]


def test_backup_off_with_recovery_points_deletes_data() -> None:
    current = live(backup_plan=plan(copies=(COPY_35,)), dr_vaults=(DR_VAULT,),
                   points={f"{PRIMARY}/orders-backup-vault": 30,
                           f"{DR}/orders-backup-vault-dr": 0})
    assert summary(diff(current, table(enabled=False, replicas=(DR,)))) == [
        ("DeleteBackupSelection", PRIMARY, ["DISABLES_RECOVERY"]),
        ("DeleteBackupPlan", PRIMARY, ["DISABLES_RECOVERY"]),
        ("DeleteBackupVault", DR, []),
        ("DeleteBackupVault", PRIMARY, ["DELETES_DATA"]),
        ("DetachRolePolicy", PRIMARY, []),
        ("DetachRolePolicy", PRIMARY, []),
        ("DeleteRole", PRIMARY, []),
    ]


def test_backup_off_with_nothing_left_is_empty() -> None:
    assert diff(None, table(enabled=False)) == []


def test_destroy_removes_what_exists_in_dependency_order() -> None:
    current = live(backup_plan=plan(copies=(COPY_35,)), dr_vaults=(DR_VAULT,),
                   points={f"{PRIMARY}/orders-backup-vault": 3,
                           f"{DR}/orders-backup-vault-dr": 3})
    ops = diff_backup_destroy(current, table(replicas=(DR,)))
    assert summary(ops) == [
        ("DeleteBackupSelection", PRIMARY, ["DISABLES_RECOVERY"]),
        ("DeleteBackupPlan", PRIMARY, ["DISABLES_RECOVERY"]),
        ("DeleteBackupVault", DR, ["DELETES_DATA"]),
        ("DeleteBackupVault", PRIMARY, ["DELETES_DATA"]),
        ("DetachRolePolicy", PRIMARY, []),
        ("DetachRolePolicy", PRIMARY, []),
        ("DeleteRole", PRIMARY, []),
    ]
    assert {op.reason for op in ops} == {"destroy"}
    assert diff_backup_destroy(None, table()) == []


def test_destroy_of_a_half_removed_backup_takes_what_is_left() -> None:
    current = live(vault=None, selection=None, dr_vaults=(DR_VAULT,)).model_copy(
        update={"backup": Backup(role=ROLE, dr_vaults=(DR_VAULT,))})
    assert summary(diff_backup_destroy(current, table())) == [
        ("DeleteBackupVault", DR, []),
        ("DetachRolePolicy", PRIMARY, []),
        ("DetachRolePolicy", PRIMARY, []),
        ("DeleteRole", PRIMARY, []),
    ]


# --------------------------------------------------------------------------- notices, names


def test_notice_when_copies_need_the_advanced_dynamodb_setting() -> None:
    copying = table(replicas=(DR,))
    [notice] = notices({PRIMARY: False}, [copying])
    assert "orders" in notice and "advanced DynamoDB backup" in notice
    assert notice.endswith("aws backup update-region-settings "
                           "--resource-type-management-preference DynamoDB=true "
                           f"--region {PRIMARY}")
    assert notices({PRIMARY: True}, [copying]) == []
    assert notices({}, [copying]) == []  # not read: nothing known, nothing said
    assert notices({PRIMARY: False}, [table()]) == []  # no copies


@pytest.mark.parametrize(("name", "bad"), [
    ("orders", []),
    ("a" * 33, []),
    ("a" * 34, ["backup selection"]),  # <t>-backup-selection: 17 + 34 > 50
    ("a" * 36, ["DR backup vault", "backup selection"]),
    ("dev.orders", ["backup vault", "DR backup vault"]),  # vault names take no dots
])
def test_backup_name_problems(name: str, bad: list[str]) -> None:
    problems = backup_name_problems(name)
    assert [p.split(" name ")[0].removeprefix("the ") for p in problems] == bad


def test_a_role_any_account_may_use_gets_the_source_account_condition() -> None:
    ops = diff(live(role=ROLE.model_copy(update={"limited_to_account": False})), table())
    assert summary(ops) == [("UpdateAssumeRolePolicy", PRIMARY, [])]
    assert ops[0].category == Category.MODULE_DEFECT  # the module's trust policy
    assert "aws:SourceAccount" in ops[0].reason


def test_a_role_trusting_another_service_is_drift() -> None:
    ops = diff(live(role=ROLE.model_copy(update={"trusted_service": "ec2.amazonaws.com"})),
               table())
    assert summary(ops) == [("UpdateAssumeRolePolicy", PRIMARY, [])]
    assert ops[0].category == Category.DRIFT


def test_trusted_service_reads_the_module_trust_policy_and_nothing_else() -> None:
    assert trusted_service(trust_policy("backup.amazonaws.com", "123456789012")) == \
        "backup.amazonaws.com"
    wider = trust_policy("backup.amazonaws.com", None)
    wider["Statement"][0]["Principal"] = {"Service": "backup.amazonaws.com",
                                          "AWS": "arn:aws:iam::123456789012:root"}
    assert trusted_service(wider) != "backup.amazonaws.com"
    encoded = "%7B%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Principal%22%3A%7B" \
        "%22Service%22%3A%5B%22backup.amazonaws.com%22%5D%7D%2C%22Action%22%3A" \
        "%22sts%3AAssumeRole%22%7D%5D%7D"
    assert trusted_service(encoded) == "backup.amazonaws.com"
    assert trust_conditions(encoded) == {}


def test_trust_policy_limits_aws_backup_to_the_account() -> None:
    (statement,) = trust_policy("backup.amazonaws.com", "123456789012")["Statement"]
    assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}
    assert "Condition" not in trust_policy("backup.amazonaws.com", None)["Statement"][0]


def test_trust_policy_keeps_a_users_stricter_condition() -> None:
    stricter = {"ArnLike": {"aws:SourceArn": "arn:aws:backup:af-south-1:123456789012:*"}}
    (statement,) = trust_policy("backup.amazonaws.com", "123456789012", stricter)["Statement"]
    assert statement["Condition"] == stricter  # already limited: nothing added or removed
    other = {"StringEquals": {"aws:PrincipalTag/team": "a"}}
    (statement,) = trust_policy("backup.amazonaws.com", "123456789012", other)["Statement"]
    assert statement["Condition"] == {"StringEquals": {"aws:PrincipalTag/team": "a",
                                                       "aws:SourceAccount": "123456789012"}}
    document = trust_policy("backup.amazonaws.com", "123456789012", stricter)
    assert trusted_service(document) == "backup.amazonaws.com"
    assert trust_conditions(document) == stricter
