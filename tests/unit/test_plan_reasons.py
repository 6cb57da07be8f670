"""Every operation says why it is planned: new, drift, module-defect (with the defect) or
destroy; plan lines are in the spec's vocabulary; Terraform hand-over notices.

The module-made account is derived, without AWS, from the HCL examples' effective tables: what
the reference module makes for each (its tags, its replica without tags or protection, its
three alarms on ``TableName`` alone, its backup role without ``aws:SourceAccount``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tablesmith.around.alarms import (
    AlarmState,
    LiveAlarm,
    desired_alarms,
    diff_alarms,
    is_table_alarm,
)
from tablesmith.around.backup import BackupState, LiveBackup
from tablesmith.diff import plan_destroy, plan_environment
from tablesmith.errors import UsageError
from tablesmith.handover import removed_block, state_notices, tag_notice
from tablesmith.importer.terraform import held_tables
from tablesmith.plan import Category
from tablesmith.render.plan import render_plan_json, render_plan_text
from tablesmith.render.values import field_changes, show
from tablesmith.resources import MetricAlarm, desired_backup
from tablesmith.spec.loader import load
from tablesmith.spec.model import OWNERSHIP_TAG, GlobalSecondaryIndex, Key, PointInTimeRecovery
from tablesmith.state import LiveState, LiveTable, ReplicaState

if TYPE_CHECKING:
    from tablesmith.plan import Plan
    from tablesmith.spec.model import Table

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "terraform"
ENVS = {"dev": "tenants", "sit": "products", "prod": "campaigns"}
PYTHON_REPRS = re.compile(r"\bNone\b|\bTrue\b|\bFalse\b|\{'|': '|\[\]|(?<!\w)\(\)|=\w+\(")


def spec_table(env: str) -> Table:
    (table,) = load(EXAMPLES).tables(env)
    return table


def module_alarm(table: Table, suffix: str, metric: str, **update: Any) -> MetricAlarm:
    """One of the module's alarms, as DescribeAlarms reads it."""
    alarm = MetricAlarm(
        name=f"{table.table_name}-{suffix}",
        region=table.region,
        description=f"Alert on {suffix} for {table.table_name}",
        namespace="AWS/DynamoDB",
        metric_name=metric,
        dimensions={"TableName": table.table_name},
        statistic="Sum",
        period=300,
        threshold=10.0,
        evaluation_periods=2,
    )
    return alarm.model_copy(update=update)


def module_made(table: Table) -> LiveState:
    """What the reference module made for ``table`` (the tags it merges in, no ownership)."""
    tags = {k: v for k, v in table.tags.items() if k != OWNERSHIP_TAG}
    have = table.model_copy(update={"tags": tags, "backup": None, "alarms": None})
    replicas = tuple(
        ReplicaState(
            region=r, status="ACTIVE", point_in_time_recovery=(table.point_in_time_recovery)
        )
        for r in table.replicas
    )
    backup = desired_backup(table)
    strip: dict[str, Any] = {"tags": {}}

    def untagged(resource: Any) -> Any:
        return resource.model_copy(
            update={"tags": {k: v for k, v in resource.tags.items() if k != OWNERSHIP_TAG}}
        )

    assert backup.role is not None and backup.vault is not None and backup.plan is not None
    module_backup = backup.model_copy(
        update={
            "role": untagged(backup.role).model_copy(update={"limited_to_account": False}),
            "vault": untagged(backup.vault),
            "plan": untagged(backup.plan),
            "dr_vaults": tuple(untagged(v) for v in backup.dr_vaults),
        }
    )
    alarms = tuple(
        LiveAlarm(
            alarm=module_alarm(table, s, m).model_copy(update=strip),
            arn=f"arn:aws:cloudwatch:{table.region}:1:alarm:{s}",
        )
        for s, m in (
            ("user-errors", "UserErrors"),
            ("system-errors", "SystemErrors"),
            ("throttled-requests", "ThrottledRequests"),
        )
    )
    return LiveState(
        region=table.region,
        tables={
            table.table_name: LiveTable(
                table=have, arn="arn:x", item_count=500, replica_states=replicas
            )
        },
        around={
            "backup": BackupState(tables={table.table_name: LiveBackup(backup=module_backup)}),
            "alarms": AlarmState(tables={table.table_name: alarms}),
        },
    )


def migration_plan(env: str) -> Plan:
    table = spec_table(env)
    return plan_environment(module_made(table), [table], environment=env)


def ownership_only(op: Any) -> bool:
    """An operation that only adds the ownership tag (the plan's claim: ``new``)."""
    return (
        op.op in ("TagResource", "UpdateTags")
        and set(op.after) == {OWNERSHIP_TAG}
        and not op.before
    )


# --------------------------------------------------------------------------- the migration


@pytest.mark.parametrize("env", sorted(ENVS))
def test_a_module_made_account_plans_only_module_defects(env: str) -> None:
    plan = migration_plan(env)
    assert plan.operations
    assert plan.refused(frozenset()) == []  # no blocking hazard: nothing of value is lost
    for op in plan.operations:
        if ownership_only(op):
            assert op.category == Category.NEW, op
        else:
            assert op.category == Category.MODULE_DEFECT, op
            assert op.reason and "module" in op.reason, op


def test_the_module_defects_each_with_its_why() -> None:
    operations = migration_plan("prod").operations
    ops = {(op.op, op.region): op for op in operations if op.op != "PutMetricAlarm"}
    dr = "eu-west-1"
    assert "UserErrors is an account-and-region total" in ops[("DeleteAlarms", "af-south-1")].reason
    assert "protects only the primary" in ops[("UpdateDeletionProtection", dr)].reason
    assert "does not tag its replica" in ops[("TagResource", dr)].reason
    assert "aws:SourceAccount" in ops[("UpdateAssumeRolePolicy", "af-south-1")].reason
    puts = [op for op in operations if op.op == "PutMetricAlarm"]
    rewritten = {op.after.name: op.reason for op in puts if op.before is not None}
    assert set(rewritten) == {"campaigns-system-errors", "campaigns-throttled-requests"}
    assert all("per TableName and Operation" in why for why in rewritten.values())


def test_the_module_user_errors_alarm_is_deleted_not_left() -> None:
    plan = migration_plan("dev")
    (delete,) = [op for op in plan.operations if op.op == "DeleteAlarms"]
    assert delete.before.name == "tenants-user-errors"
    assert delete.hazards == ()  # it never fired: no monitoring is lost


def test_an_alarm_of_someone_else_under_the_module_name_is_left_alone() -> None:
    table = spec_table("dev")
    theirs = [
        module_alarm(table, "user-errors", "UserErrors", dimensions={}),  # account-wide
        module_alarm(table, "user-errors", "ConsumedReadCapacityUnits"),
        module_alarm(table, "user-errors", "UserErrors", namespace="Custom/App"),
        module_alarm(
            table, "user-errors", "UserErrors", dimensions={"TableName": "tenants-archive"}
        ),
    ]
    for alarm in theirs:
        assert not is_table_alarm(alarm, table), alarm
        live = [LiveAlarm(alarm=alarm, arn="arn:x")]
        assert [
            op.op
            for op in diff_alarms(live, desired_alarms(table), table)
            if op.op == "DeleteAlarms"
        ] == []


def test_alarms_added_to_a_table_without_module_alarms_are_new() -> None:
    table = spec_table("dev")
    ops = diff_alarms((), desired_alarms(table), table)
    assert ops and {op.category for op in ops} == {Category.NEW}


def test_a_changed_alarm_of_tablesmith_is_drift() -> None:
    table = spec_table("dev")
    wanted = desired_alarms(table)
    live = [
        LiveAlarm(alarm=a.model_copy(update={"threshold": a.threshold + 1}), arn="arn:x")
        for a in wanted
    ]
    ops = diff_alarms(live, wanted, table)
    assert len(ops) == len(wanted) and {op.category for op in ops} == {Category.DRIFT}


# --------------------------------------------------------------------------- new and drift


def test_categories_of_new_and_drifted_resources() -> None:
    table = spec_table("sit")
    assert {
        op.category
        for op in plan_environment(
            LiveState(region=table.region, tables={table.table_name: None}),
            [table],
            environment="sit",
        ).operations
    } == {Category.NEW}
    current = module_made(table)
    have = current.tables[table.table_name]
    assert have is not None
    drifted = have.table.model_copy(
        update={
            "point_in_time_recovery": PointInTimeRecovery(enabled=True, recovery_period_days=7),
            "global_secondary_indexes": have.table.global_secondary_indexes[:1],
            "tags": {**have.table.tags, "Owner": "someone else", "Stale": "x"},
        }
    )
    live = current.model_copy(
        update={"tables": {table.table_name: have.model_copy(update={"table": drifted})}}
    )
    ops = plan_environment(live, [table], environment="sit").operations
    by_op = {op.op: op.category for op in ops if op.table == table.table_name}
    assert by_op["UpdatePitr"] == Category.DRIFT
    assert by_op["CreateGsi"] == Category.NEW  # in the spec, not live
    assert by_op["UntagResource"] == Category.DRIFT
    assert by_op["TagResource"] == Category.DRIFT  # Owner changes value


def test_a_changed_index_is_drift_on_both_sides() -> None:
    table = spec_table("sit")
    current = module_made(table)
    have = current.tables[table.table_name]
    assert have is not None
    first = have.table.global_secondary_indexes[0]
    changed = first.model_copy(update={"projection_type": "ALL"})
    reprojected = have.table.model_copy(
        update={"global_secondary_indexes": (changed, *have.table.global_secondary_indexes[1:])}
    )
    live = current.model_copy(
        update={"tables": {table.table_name: have.model_copy(update={"table": reprojected})}}
    )
    gsi_ops = [
        op
        for op in plan_environment(live, [table], environment="sit").operations
        if op.op in ("DeleteGsi", "CreateGsi")
    ]
    assert [(op.op, op.category) for op in gsi_ops] == [
        ("DeleteGsi", Category.DRIFT),
        ("CreateGsi", Category.DRIFT),
    ]


def test_a_replica_with_tags_of_its_own_is_drift_not_a_module_defect() -> None:
    table = spec_table("prod")
    current = module_made(table)
    have = current.tables[table.table_name]
    assert have is not None
    tagged = tuple(
        r.model_copy(update={"tags": {"Team": "x"}, "deletion_protection": True})
        for r in have.replica_states
    )
    live = current.model_copy(
        update={"tables": {table.table_name: have.model_copy(update={"replica_states": tagged})}}
    )
    replica_ops = [
        op
        for op in plan_environment(live, [table], environment="prod").operations
        if op.region == "eu-west-1" and op.op in ("TagResource", "UntagResource")
    ]
    # the replica's own Team goes (drift), the table's tags are added to it (new)
    assert [(op.op, op.category) for op in replica_ops] == [
        ("UntagResource", Category.DRIFT),
        ("TagResource", Category.NEW),
    ]


def test_destroy_and_prune_say_so() -> None:
    table = spec_table("dev")
    current = module_made(table)
    destroy = plan_destroy(current, [table], environment="dev")
    assert destroy.operations and {op.category for op in destroy.operations} == {Category.DESTROY}
    orphan = current.model_copy(update={"orphans": (table.table_name,)})
    pruned = plan_environment(orphan, [], environment="dev", prune=True)
    assert pruned.operations
    assert {op.category for op in pruned.operations} <= {Category.DRIFT, Category.MODULE_DEFECT}


# --------------------------------------------------------------------------- rendering


@pytest.mark.parametrize("env", sorted(ENVS))
def test_the_migration_plan_text_has_no_python_repr(
    env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    render_plan_text(migration_plan(env))
    out = capsys.readouterr().out
    assert not PYTHON_REPRS.search(out), PYTHON_REPRS.search(out)
    assert "# module-defect: " in out
    assert "CreateRole" not in out and "CreateBackupVault" not in out  # tags are UpdateTags
    assert "Operations by reason: " in out


def test_text_has_one_line_per_changed_field(capsys: pytest.CaptureFixture[str]) -> None:
    render_plan_text(migration_plan("prod"))
    lines = capsys.readouterr().out.splitlines()
    start = next(
        i for i, line in enumerate(lines) if "PutMetricAlarm campaigns-system-errors" in line
    )
    assert (
        lines[start + 1]
        .strip()
        .startswith(
            "watches: Sum of SystemErrors {TableName: campaigns} per 300s -> SUM(METRICS()) of "
            "10 metrics"
        )
    )
    assert lines[start + 2].strip().startswith("description: ")
    tag = next(i for i, line in enumerate(lines) if "TagResource [eu-west-1]" in line)
    assert lines[tag + 1 : tag + 3] == [
        "          + BackupPolicy = hourly",
        "          + Component = dynamodb",
    ]
    role = next(i for i, line in enumerate(lines) if "UpdateAssumeRolePolicy" in line)
    assert lines[role + 1].strip() == (
        "trusts: backup.amazonaws.com for any account -> backup.amazonaws.com for this "
        "account only (aws:SourceAccount)"
    )


def test_json_operations_carry_their_category() -> None:
    doc = render_plan_json(migration_plan("prod"))
    assert doc["format_version"] == 1
    assert {op["category"] for op in doc["operations"]} == {"module-defect", "new"}
    assert doc["categories"]["module-defect"] == sum(
        op["category"] == "module-defect" for op in doc["operations"]
    )
    tags = [op for op in doc["operations"] if op["op"] == "UpdateTags"]
    assert {op["resource"] for op in tags} == {"backup vault", "backup plan", "IAM role"}


def test_values_are_shown_in_spec_vocabulary() -> None:
    gsi = GlobalSecondaryIndex(name="By", hash_key=Key(name="k", type="S"))
    assert show(None) == "none" and show(True) == "true" and show({"a": "b c"}) == '{a: "b c"}'
    assert show(gsi).startswith("{name: By, hash_key: {name: k, type: S}, range_key: none")
    assert show(Category.NEW) == "new" and show(Path("a b")) == '"a b"'
    assert field_changes({"a": 1, "b": None}, {"a": 1, "b": 5}) == ["b: none -> 5"]
    assert field_changes(None, {"x": "y"}) == ["x: none -> y"]


# --------------------------------------------------------------------------- Terraform


def test_a_changed_table_tagged_managed_by_terraform_gets_a_notice() -> None:
    plan = migration_plan("dev")
    assert tag_notice("tenants") in plan.notices
    table = spec_table("dev")
    current = module_made(table)
    empty = plan_environment(current, [], environment="dev")
    assert not any("ManagedBy=Terraform" in n for n in empty.notices)


SHOW_JSON = {
    "format_version": "1.0",
    "values": {
        "root_module": {
            "child_modules": [
                {
                    "address": "module.tenants_table",
                    "resources": [
                        {
                            "address": "module.tenants_table.aws_dynamodb_table.this",
                            "mode": "managed",
                            "type": "aws_dynamodb_table",
                            "name": "this",
                            "values": {"name": "tenants"},
                        },
                        {
                            "address": "module.tenants_table.aws_backup_vault.this[0]",
                            "mode": "managed",
                            "type": "aws_backup_vault",
                            "name": "this",
                            "values": {"name": "tenants-backup-vault"},
                        },
                    ],
                }
            ],
            "resources": [
                {
                    "address": 'aws_dynamodb_table.loose["a"]',
                    "mode": "managed",
                    "type": "aws_dynamodb_table",
                    "name": "loose",
                    "values": {"name": "loose"},
                },
                {
                    "address": "data.aws_dynamodb_table.read",
                    "mode": "data",
                    "type": "aws_dynamodb_table",
                    "name": "read",
                    "values": {"name": "elsewhere"},
                },
            ],
        }
    },
}
CAMPAIGNS_ARN = "arn:aws:dynamodb:af-south-1:123456789012:table/campaigns"
TFSTATE = {
    "version": 4,
    "resources": [
        {
            "module": 'module.campaigns_table["x"]',
            "mode": "managed",
            "type": "aws_dynamodb_table",
            "name": "this",
            "instances": [{"attributes": {"name": "campaigns"}}],
        },
        {
            "mode": "managed",
            "type": "aws_dynamodb_table_replica",
            "name": "dr",
            "instances": [{"attributes": {"global_table_arn": CAMPAIGNS_ARN}}],
        },
    ],
}


def test_state_files_name_the_removed_blocks(tmp_path: Path) -> None:
    shown, state = tmp_path / "show.json", tmp_path / "terraform.tfstate"
    shown.write_text(json.dumps(SHOW_JSON))
    state.write_text(json.dumps(TFSTATE))
    assert held_tables(shown) == {
        "loose": ("aws_dynamodb_table.loose",),
        "tenants": ("module.tenants_table",),
    }
    assert held_tables(state) == {
        "campaigns": ("module.campaigns_table", "aws_dynamodb_table_replica.dr")
    }
    plan = state_notices(migration_plan("dev"), held_tables(shown))
    assert tag_notice("tenants") not in plan.notices  # the exact address instead
    (held,) = [n for n in plan.notices if "Terraform state" in n]
    assert removed_block("module.tenants_table") in held
    assert removed_block("module.tenants_table") == (
        "removed { from = module.tenants_table  lifecycle { destroy = false } }"
    )


@pytest.mark.parametrize("text", ["{", "[1]", '{"version": 3}', '{"values": 1}'])
def test_a_file_that_is_not_a_state_is_refused(tmp_path: Path, text: str) -> None:
    path = tmp_path / "state.json"
    path.write_text(text)
    with pytest.raises(UsageError):
        held_tables(path)
