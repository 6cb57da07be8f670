"""``tablesmith import terraform``: Terraform state -> spec + removed.tf, with literal states.

The states here have the shape hashicorp/aws 5.x writes (``terraform show -json`` and
``terraform.tfstate`` v4) for the reference module's README examples. The property that
matters: a module instance imports as the spec tablesmith reads from its module block
(``examples/terraform/*.tf``), so the migration plan is the plan of the module as written.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tablesmith.cli import cli
from tablesmith.errors import UsageError
from tablesmith.importer import terraform as tfimport
from tablesmith.importer.terraform import import_state, module_call, parse_state, read_state
from tablesmith.resources import BACKUP_POLICIES, desired_backup
from tablesmith.spec.loader import load
from tablesmith.spec.model import OWNERSHIP_TAG, Table

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "terraform"
ACCOUNT = "123456789012"
PRIMARY, DR = "af-south-1", "eu-west-1"
BASE_TAGS = {
    "Project": "BBWS WP Containers",
    "Owner": "Tebogo",
    "CostCenter": "AWS",
    "ManagedBy": "Terraform",
    "Component": "dynamodb",
}


# --------------------------------------------------------------------------- states


def _res(kind: str, name: str, values: dict[str, Any], index: int | None = None) -> dict[str, Any]:
    r: dict[str, Any] = {
        "mode": "managed",
        "type": kind,
        "name": name,
        "values": values,
        "provider_name": "registry.terraform.io/hashicorp/aws",
    }
    if index is not None:
        r["index"] = index
    return r


def module_instance(
    table: str,
    env: str,
    *,
    gsis: list[dict[str, Any]],
    retention: int,
    schedule: str,
    protection: bool = False,
    replica: str | None = None,
    extra_tags: dict[str, str] | None = None,
) -> list[dict[str, Any]]:
    """The resources the module makes for one table, as the provider records them."""
    tags = {"Environment": env, **BASE_TAGS, **(extra_tags or {})}
    arn = f"arn:aws:dynamodb:{PRIMARY}:{ACCOUNT}:table/{table}"
    names = {a for g in gsis for a in (g["hash_key"], g["range_key"])}
    table_tags = {**tags, "Name": table, "Type": "DynamoDB"}
    resources = [
        _res(
            "aws_dynamodb_table",
            "this",
            {
                "arn": arn,
                "name": table,
                "id": table,
                "billing_mode": "PAY_PER_REQUEST",
                "hash_key": "PK",
                "range_key": "SK",
                "attribute": [{"name": n, "type": "S"} for n in sorted({"PK", "SK", *names})],
                "global_secondary_index": [
                    {
                        **g,
                        "non_key_attributes": [],
                        "read_capacity": 0,
                        "write_capacity": 0,
                        "on_demand_throughput": [],
                    }
                    for g in gsis
                ],
                "local_secondary_index": [],
                "on_demand_throughput": [],
                "point_in_time_recovery": [{"enabled": True, "recovery_period_in_days": 35}],
                "ttl": [{"enabled": False, "attribute_name": ""}],
                "stream_enabled": True,
                "stream_view_type": "NEW_AND_OLD_IMAGES",
                "server_side_encryption": [
                    {
                        "enabled": True,
                        "kms_key_arn": f"arn:aws:kms:{PRIMARY}:{ACCOUNT}:key/0000-managed",
                    }
                ],
                "deletion_protection_enabled": protection,
                "table_class": "STANDARD",
                "replica": [
                    {
                        "region_name": replica,
                        "kms_key_arn": "",
                        "point_in_time_recovery": True,
                        "propagate_tags": False,
                        "arn": arn.replace(PRIMARY, replica),
                    }
                ]
                if replica
                else [],
                "tags": table_tags,
                "tags_all": table_tags,
                "read_capacity": 0,
                "write_capacity": 0,
            },
        )
    ]

    def around(name: str, component: str, **more: str) -> dict[str, str]:
        return {**tags, "Name": name, "Component": component, **more}

    vault = f"{table}-backup-vault"
    copy = []
    if replica:
        dr_vault = f"{vault}-dr"
        dr_arn = f"arn:aws:backup:{replica}:{ACCOUNT}:backup-vault:{dr_vault}"
        resources.append(
            _res(
                "aws_backup_vault",
                "replica",
                {
                    "name": dr_vault,
                    "arn": dr_arn,
                    "kms_key_arn": "",
                    "force_destroy": False,
                    "tags": around(dr_vault, "backup", Region=replica),
                    "tags_all": around(dr_vault, "backup", Region=replica),
                },
                index=0,
            )
        )
        copy = [
            {
                "destination_vault_arn": dr_arn,
                "lifecycle": [
                    {
                        "delete_after": retention,
                        "cold_storage_after": 0,
                        "opt_in_to_archive_for_supported_resources": False,
                    }
                ],
            }
        ]
    role = f"{table}-backup-role"
    trust = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "backup.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
    )
    resources += [
        _res(
            "aws_backup_vault",
            "this",
            {
                "name": vault,
                "arn": f"arn:aws:backup:{PRIMARY}:{ACCOUNT}:backup-vault:{vault}",
                "tags": around(vault, "backup"),
                "tags_all": around(vault, "backup"),
            },
            index=0,
        ),
        _res(
            "aws_backup_plan",
            "this",
            {
                "name": f"{table}-backup-plan",
                "id": "plan-1",
                "arn": f"arn:aws:backup:{PRIMARY}:{ACCOUNT}:backup-plan:plan-1",
                "rule": [
                    {
                        "rule_name": f"{table}-backup-rule",
                        "target_vault_name": vault,
                        "schedule": schedule,
                        "copy_action": copy,
                        "lifecycle": [{"delete_after": retention, "cold_storage_after": 0}],
                    }
                ],
                "tags_all": around(f"{table}-backup-plan", "backup"),
            },
            index=0,
        ),
        _res(
            "aws_backup_selection",
            "this",
            {
                "name": f"{table}-backup-selection",
                "plan_id": "plan-1",
                "resources": [arn],
                "iam_role_arn": f"arn:aws:iam::{ACCOUNT}:role/{role}",
            },
            index=0,
        ),
        _res(
            "aws_iam_role",
            "backup",
            {
                "name": role,
                "arn": f"arn:aws:iam::{ACCOUNT}:role/{role}",
                "assume_role_policy": trust,
                "tags_all": around(role, "iam"),
            },
            index=0,
        ),
        _res(
            "aws_iam_role_policy_attachment",
            "backup",
            {
                "role": role,
                "policy_arn": BACKUP_POLICIES[0],
            },
            index=0,
        ),
        _res(
            "aws_iam_role_policy_attachment",
            "restore",
            {
                "role": role,
                "policy_arn": BACKUP_POLICIES[1],
            },
            index=0,
        ),
    ]
    for name, metric, periods, threshold in (
        ("user_errors", "UserErrors", 2, 10.0),
        ("system_errors", "SystemErrors", 1, 0.0),
        ("throttled_requests", "ThrottledRequests", 2, 5.0),
    ):
        alarm = f"{table}-{name.replace('_', '-')}"
        resources.append(
            _res(
                "aws_cloudwatch_metric_alarm",
                name,
                {
                    "alarm_name": alarm,
                    "arn": f"arn:aws:cloudwatch:{PRIMARY}:{ACCOUNT}:alarm:{alarm}",
                    "namespace": "AWS/DynamoDB",
                    "metric_name": metric,
                    "statistic": "Sum",
                    "period": 300,
                    "evaluation_periods": periods,
                    "threshold": threshold,
                    "comparison_operator": "GreaterThanThreshold",
                    "treat_missing_data": "notBreaching",
                    "dimensions": {"TableName": table},
                    "alarm_actions": [],
                    "ok_actions": [],
                    "metric_query": [],
                    "extended_statistic": "",
                    "tags_all": around(f"{alarm}-alarm", "monitoring"),
                },
            )
        )
    return resources


PRODUCTS_GSIS = [
    {
        "name": "ActiveIndex",
        "hash_key": "active",
        "range_key": "dateCreated",
        "projection_type": "KEYS_ONLY",
    },
    {
        "name": "ProductActiveIndex",
        "hash_key": "active",
        "range_key": "dateCreated",
        "projection_type": "ALL",
    },
]
CAMPAIGNS_GSIS = [
    {
        "name": "CampaignActiveIndex",
        "hash_key": "active",
        "range_key": "fromDate",
        "projection_type": "ALL",
    },
    {
        "name": "CampaignProductIndex",
        "hash_key": "productId",
        "range_key": "fromDate",
        "projection_type": "ALL",
    },
]


def readme_modules() -> dict[str, list[dict[str, Any]]]:
    return {
        "module.tenants_table": module_instance(
            "tenants", "dev", gsis=[], retention=7, schedule="cron(0 2 * * ? *)"
        ),
        "module.products_table": module_instance(
            "products", "sit", gsis=PRODUCTS_GSIS, retention=14, schedule="cron(0 2 * * ? *)"
        ),
        "module.campaigns_table": module_instance(
            "campaigns",
            "prod",
            gsis=CAMPAIGNS_GSIS,
            retention=90,
            schedule="cron(0 */1 * * ? *)",
            protection=True,
            replica=DR,
            extra_tags={"DR": "enabled", "BackupPolicy": "hourly"},
        ),
    }


def show_json(
    modules: dict[str, list[dict[str, Any]]], root: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    return {
        "format_version": "1.0",
        "terraform_version": "1.11.4",
        "values": {
            "root_module": {
                "resources": root or [],
                "child_modules": [
                    {
                        "address": address,
                        "resources": [
                            {**r, "address": f"{address}.{r['type']}.{r['name']}"}
                            for r in resources
                        ],
                    }
                    for address, resources in modules.items()
                ],
            }
        },
    }


def tfstate(modules: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    resources = []
    for address, members in modules.items():
        for r in members:
            instance: dict[str, Any] = {"schema_version": 0, "attributes": r["values"]}
            if "index" in r:
                instance["index_key"] = r["index"]
            resources.append(
                {
                    "module": address,
                    "mode": "managed",
                    "type": r["type"],
                    "name": r["name"],
                    "provider": 'provider["x"]',
                    "instances": [instance],
                }
            )
    return {
        "version": 4,
        "terraform_version": "1.11.4",
        "serial": 3,
        "lineage": "l",
        "outputs": {},
        "resources": resources,
    }


def loaded(text: str, env: str, tmp_path: Path) -> tuple[Table, ...]:
    path = tmp_path / f"{env}.yaml"
    path.write_text(text, encoding="utf-8")
    return load(path, env=env).tables(env)


def without_owner(table: Table) -> Table:
    def strip(tags: dict[str, str] | None) -> dict[str, str] | None:
        return None if tags is None else {k: v for k, v in tags.items() if k != OWNERSHIP_TAG}

    return table.model_copy(
        update={"tags": strip(table.tags), "resource_tags": strip(table.resource_tags)}
    )


# --------------------------------------------------------------------------- the property


@pytest.mark.parametrize("fmt", ["show", "tfstate"])
def test_module_instances_import_as_tablesmith_reads_their_module_blocks(
    fmt: str, tmp_path: Path
) -> None:
    modules = readme_modules()
    document = show_json(modules) if fmt == "show" else tfstate(modules)
    result = import_state(parse_state(document))
    assert result.skipped == ()
    assert [h.address for h in result.handovers] == [
        "module.campaigns_table",
        "module.products_table",
        "module.tenants_table",
    ]
    assert [s.environment.name for s in result.specs] == ["dev", "prod", "sit"]
    for spec in result.specs:
        env = spec.environment.name
        [imported] = loaded(spec.text, env, tmp_path)
        example = {"dev": "tenants_dev.tf", "sit": "products_sit.tf", "prod": "campaigns_prod.tf"}[
            env
        ]
        [as_written] = load(EXAMPLES / example, env=env).tables(env)
        assert without_owner(imported) == without_owner(as_written)
        assert OWNERSHIP_TAG not in imported.tags  # not claimed: --prune never deletes it


def test_module_tags_stay_on_the_table_and_the_vault_keeps_its_own(tmp_path: Path) -> None:
    result = import_state(parse_state(show_json(readme_modules())))
    prod = next(s for s in result.specs if s.environment.name == "prod")
    [campaigns] = loaded(prod.text, "prod", tmp_path)
    assert campaigns.tags["Name"] == "campaigns" and campaigns.tags["Type"] == "DynamoDB"
    backup = desired_backup(campaigns)
    assert backup.vault is not None and backup.role is not None and backup.plan is not None
    module = {
        r["type"] + "." + r["name"]: r["values"] for r in readme_modules()["module.campaigns_table"]
    }
    # exactly the module's tags: no Type on the vault, plan and role; Region on the DR vault
    assert backup.vault.tags == module["aws_backup_vault.this"]["tags_all"]
    assert backup.plan.tags == module["aws_backup_plan.this"]["tags_all"]
    assert backup.role.tags == module["aws_iam_role.backup"]["tags_all"]
    assert [v.tags for v in backup.dr_vaults] == [module["aws_backup_vault.replica"]["tags_all"]]
    assert "table_tags:" in prod.text


def test_removed_tf_names_each_module_once_and_destroys_nothing() -> None:
    result = import_state(parse_state(show_json(readme_modules())))
    text = result.removed_text
    assert text.count("removed {") == 3
    for module in ("module.tenants_table", "module.products_table", "module.campaigns_table"):
        assert f"  from = {module}\n" in text
    assert text.count("destroy = false") == 3 and "destroy = true" not in text
    campaigns = next(h for h in result.handovers if h.address == "module.campaigns_table")
    assert campaigns.tables == ("campaigns",)
    assert len(campaigns.resources) == 11  # table, 2 vaults, plan, selection, role, 2, 3 alarms


# --------------------------------------------------------------------------- what stays


def test_a_module_holding_other_resources_is_not_handed_over() -> None:
    modules = readme_modules()
    modules["module.products_table"].append(_res("aws_sns_topic", "alarms", {"name": "t"}))
    result = import_state(parse_state(show_json(modules)))
    assert [h.address for h in result.handovers] == [
        "module.campaigns_table",
        "module.tenants_table",
    ]
    held = [s for s in result.skipped if s.address.startswith("module.products_table.")]
    assert len(held) == 11 and all(s.table for s in held)  # its 10 and the stranger
    assert all("module.products_table.aws_sns_topic.alarms" in s.reason for s in held)
    assert [s.environment.name for s in result.specs] == ["dev", "prod"]


def test_other_root_resources_are_listed_not_dropped() -> None:
    root = [
        _res("aws_sns_topic", "alarms", {"name": "t"}),
        {"mode": "data", "type": "aws_caller_identity", "name": "me", "values": {}},
    ]
    result = import_state(parse_state(show_json(readme_modules(), root)))
    assert len(result.handovers) == 3
    assert [(s.address, s.table) for s in result.skipped] == [
        ("aws_sns_topic.alarms", False),
        ("data.aws_caller_identity.me", False),
    ]
    assert "does not manage aws_sns_topic" in result.skipped[0].reason


def plain_table(name: str, **more: Any) -> dict[str, Any]:
    return {
        "arn": f"arn:aws:dynamodb:{PRIMARY}:{ACCOUNT}:table/{name}",
        "name": name,
        "billing_mode": "PAY_PER_REQUEST",
        "hash_key": "id",
        "attribute": [{"name": "id", "type": "S"}],
        "point_in_time_recovery": [{"enabled": False}],
        "stream_enabled": True,
        "stream_view_type": "NEW_AND_OLD_IMAGES",
        "server_side_encryption": [],
        "tags_all": {"Environment": "qa", "Team": "a"},
        **more,
    }


def test_plain_tables_and_their_replica_resources(tmp_path: Path) -> None:
    root = [
        _res(
            "aws_dynamodb_table", "orders", plain_table("orders", deletion_protection_enabled=True)
        ),
        _res(
            "aws_dynamodb_table_replica",
            "orders_dr",
            {
                "arn": f"arn:aws:dynamodb:{DR}:{ACCOUNT}:table/orders",
                "global_table_arn": f"arn:aws:dynamodb:{PRIMARY}:{ACCOUNT}:table/orders",
            },
        ),
        _res(
            "aws_dynamodb_table", "legacy", {**plain_table("legacy"), "billing_mode": "PROVISIONED"}
        ),
    ]
    result = import_state(parse_state(show_json({}, root)))
    assert [(h.address, h.tables) for h in result.handovers] == [
        ("aws_dynamodb_table.orders", ("orders",)),
        ("aws_dynamodb_table_replica.orders_dr", ()),
    ]
    [legacy] = result.skipped
    assert legacy.address == "aws_dynamodb_table.legacy" and "PROVISIONED" in legacy.reason
    [spec] = result.specs
    [orders] = loaded(spec.text, "qa", tmp_path)
    assert orders.replicas == (DR,) and orders.deletion_protection
    assert orders.backup is not None and not orders.backup.enabled  # Terraform's, not its
    assert orders.alarms is not None and not orders.alarms.enabled
    assert orders.resource_tags is None and orders.tags["Team"] == "a"


def test_a_replica_resource_keeps_its_table_when_it_cannot_go() -> None:
    root = [
        _res("aws_dynamodb_table", "orders", plain_table("orders")),
        _res(
            "aws_dynamodb_table_replica",
            "orders_dr",
            {"global_table_arn": f"arn:aws:dynamodb:{PRIMARY}:{ACCOUNT}:table/orders"},
        ),
    ]
    result = import_state(parse_state(show_json({}, root)))
    assert result.handovers == () and result.specs == ()
    assert {s.address for s in result.skipped} == {
        "aws_dynamodb_table.orders",
        "aws_dynamodb_table_replica.orders_dr",
    }


def test_a_table_without_environment_needs_env() -> None:
    table = plain_table("orders", tags_all={"Team": "a"})
    resources = parse_state(show_json({}, [_res("aws_dynamodb_table", "orders", table)]))
    [skipped] = import_state(resources).skipped
    assert "pass --env" in skipped.reason
    assert [s.environment.name for s in import_state(resources, env_name="qa").specs] == ["qa"]


def test_env_selects_the_environment() -> None:
    result = import_state(parse_state(show_json(readme_modules())), env_name="sit")
    assert [h.address for h in result.handovers] == ["module.products_table"]
    assert {s.address.split(".")[1] for s in result.skipped} == {"campaigns_table", "tenants_table"}


def test_module_instances_with_keys_are_one_removed_block() -> None:
    assert module_call('module.t["a b"]') == "module.t"
    assert module_call("module.a[0].module.b") == "module.a.module.b"
    assert module_call("module.a]") is None
    modules = {
        'module.t["products"]': module_instance(
            "products", "sit", gsis=PRODUCTS_GSIS, retention=14, schedule="cron(0 2 * * ? *)"
        )
    }
    result = import_state(parse_state(show_json(modules)))
    assert [h.address for h in result.handovers] == ["module.t"]
    nested = {"module.a.module.t": modules['module.t["products"]']}
    result = import_state(parse_state(show_json(nested)))
    assert result.handovers == () and "called from another module" in result.skipped[0].reason


# --------------------------------------------------------------------------- hostile files


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "not JSON"),
        ('{"version": NaN}', "not JSON"),
        ("[1]", "not an object"),
        ('{"version": 3, "resources": []}', "version 3"),
        ('{"hello": 1}', "neither"),
        ('{"version": 4, "resources": [{"mode": 1}]}', "not a Terraform state"),
        (
            '{"format_version": "1.0", "values": {"root_module": {"resources": "x"}}}',
            "not a Terraform state",
        ),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ],
)
def test_a_hostile_state_is_refused_with_one_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "state.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(UsageError, match=message):
        read_state(path)


def test_a_huge_state_is_not_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tfimport, "MAX_STATE_BYTES", 100)
    path = tmp_path / "state.json"
    path.write_text(json.dumps(show_json(readme_modules())), encoding="utf-8")
    with pytest.raises(UsageError, match="larger than"):
        read_state(path)


def test_hostile_values_are_a_reason_not_a_crash() -> None:
    root = [
        _res("aws_dynamodb_table", "t", {"arn": 5, "name": ["x"]}),
        _res("aws_dynamodb_table", "u", {**plain_table("u"), "hash_key": "nope"}),
    ]
    result = import_state(parse_state(show_json({}, root)))
    reasons = {s.address: s.reason for s in result.skipped}
    assert "not those of aws_dynamodb_table" in reasons["aws_dynamodb_table.t"]
    assert "'nope' has no attribute block" in reasons["aws_dynamodb_table.u"]


# --------------------------------------------------------------------------- CLI


def test_cli_writes_a_spec_per_environment_and_removed_tf(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    state.write_text(json.dumps(show_json(readme_modules())), encoding="utf-8")
    out = tmp_path / "specs"
    result = CliRunner().invoke(
        cli, ["import", "terraform", str(state), "-o", str(out), "--json"], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["skipped"] == []
    assert sorted(p.name for p in out.iterdir()) == [
        "dev.yaml",
        "prod.yaml",
        "removed.tf",
        "sit.yaml",
    ]
    # the directory is a spec as it is (removed.tf has no module block to read)
    spec = load(out)
    assert {e: [t.name for t in spec.tables(e)] for e in ("dev", "sit", "prod")} == {
        "dev": ["tenants"],
        "sit": ["products"],
        "prod": ["campaigns"],
    }
    again = CliRunner().invoke(cli, ["import", "terraform", str(state), "-o", str(out)])
    assert again.exit_code == 1 and "--force" in again.output


def test_cli_exits_1_when_a_table_stays(tmp_path: Path) -> None:
    root = [
        _res(
            "aws_dynamodb_table", "legacy", {**plain_table("legacy"), "billing_mode": "PROVISIONED"}
        )
    ]
    state = tmp_path / "s.json"
    state.write_text(json.dumps(show_json({}, root)), encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["import", "terraform", str(state), "-o", str(out)])
    assert result.exit_code == 1
    assert "skipped  aws_dynamodb_table.legacy: billing mode is PROVISIONED" in result.output
    assert "nothing written" in result.output
    assert not out.exists() or list(out.iterdir()) == []


def test_help_has_examples_for_both_import_sources() -> None:
    runner = CliRunner()
    group = runner.invoke(cli, ["import", "--help"]).output
    assert "tablesmith import aws" in group and "tablesmith import terraform" in group
    command = runner.invoke(cli, ["import", "terraform", "--help"]).output
    assert "Examples:" in command and "terraform show -json" in command


# --------------------------------------------------------------------------- HCL as written


def test_a_module_block_keeps_the_tags_the_module_merges_in() -> None:
    [campaigns] = load(EXAMPLES / "campaigns_prod.tf", env="prod").tables("prod")
    assert campaigns.tags["Name"] == "campaigns" and campaigns.tags["Type"] == "DynamoDB"
    backup = desired_backup(campaigns)
    assert backup.vault is not None and backup.plan is not None and backup.role is not None
    var_tags = {
        "Environment": "prod",
        **BASE_TAGS,
        "DR": "enabled",
        "BackupPolicy": "hourly",
        OWNERSHIP_TAG: "prod",
    }
    assert backup.vault.tags == {
        **var_tags,
        "Name": "campaigns-backup-vault",
        "Component": "backup",
    }
    assert backup.plan.tags == {**var_tags, "Name": "campaigns-backup-plan", "Component": "backup"}
    assert backup.role.tags == {**var_tags, "Name": "campaigns-backup-role", "Component": "iam"}
    assert [v.tags for v in backup.dr_vaults] == [
        {**var_tags, "Name": "campaigns-backup-vault-dr", "Component": "backup", "Region": DR}
    ]
