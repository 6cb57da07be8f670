"""The ``tablesmith`` command line end to end: a real subprocess against a moto server.

Each test writes its spec into ``tmp_path`` (a copy of ``examples/bbws.yaml`` or a small
literal spec), runs the installed ``tablesmith`` console script with ``--endpoint-url`` (or
``AWS_ENDPOINT_URL``) and checks exit codes, what is printed where, and what the emulator
holds afterwards with a raw boto3 client.

moto ignores replica updates (an apply would wait for a replica that never appears), so the
``prod`` environment is only planned here, never applied.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from harness import count_items, ddb, put_items

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "bbws.yaml"
TABLESMITH = Path(sys.executable).parent / "tablesmith"
EXAMPLE_TABLES = ["campaigns", "products", "tenants"]
TAGS = {"Project": "cli", "Owner": "qa", "CostCenter": "cc-1", "ManagedBy": "tablesmith",
        "Component": "dynamodb"}
PLAN_KEYS = {"format_version", "environment", "region", "destroy", "fingerprint",
             "has_changes", "summary", "categories", "tables", "operations", "hazards",
             "orphans", "notices", "target", "approved"}


def tablesmith(cwd: Path, *args: str, env: dict[str, str] | None = None,
               ) -> subprocess.CompletedProcess[str]:
    """Run the console script with no terminal on stdin, polling the emulator fast."""
    environ = {**os.environ, "TABLESMITH_POLL_INTERVAL": "0.2", **(env or {})}
    return subprocess.run([str(TABLESMITH), *args], cwd=cwd, env=environ,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=120, check=False)


def run(cwd: Path, endpoint: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``tablesmith ARGS --endpoint-url ENDPOINT``."""
    return tablesmith(cwd, *args, "--endpoint-url", endpoint)


def example_spec(directory: Path) -> Path:
    """A copy of the example spec (dev, sit, prod; tenants, products, campaigns)."""
    path = directory / "spec.yaml"
    shutil.copy(EXAMPLE, path)
    return path


def small_spec(directory: Path, tables: dict[str, dict[str, Any]],
               name: str = "spec.yaml", tags: dict[str, str] | None = None) -> Path:
    """A spec with the mandatory tags and environment ``dev`` holding ``tables``."""
    doc = {"version": 1, "defaults": {"tags": tags or TAGS, "backup": {"enabled": False},
                                      "alarms": {"enabled": False}},
           "environments": {"dev": {}},
           "tables": tables}
    path = directory / name
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def keys(sort_type: str = "S") -> dict[str, Any]:
    """PK:S + SK:<sort_type>."""
    return {"partition_key": {"name": "PK", "type": "S"},
            "sort_key": {"name": "SK", "type": sort_type}}


def table_names(endpoint: str) -> list[str]:
    """The tables the emulator holds."""
    return sorted(ddb(endpoint).list_tables()["TableNames"])


def tags_of(endpoint: str, name: str) -> dict[str, str]:
    """The tags of table `name`."""
    client = ddb(endpoint)
    arn = client.describe_table(TableName=name)["Table"]["TableArn"]
    return {t["Key"]: t["Value"] for t in client.list_tags_of_resource(ResourceArn=arn)["Tags"]}


def key_schema(endpoint: str, name: str) -> dict[str, str]:
    """Key attribute name -> type, as the emulator holds them."""
    table = ddb(endpoint).describe_table(TableName=name)["Table"]
    types = {a["AttributeName"]: a["AttributeType"] for a in table["AttributeDefinitions"]}
    return {k["AttributeName"]: types[k["AttributeName"]] for k in table["KeySchema"]}


# ------------------------------------------------------------------ exit codes


def test_detailed_exitcode_is_2_with_changes_and_0_after_apply(local_fresh: str,
                                                               tmp_path: Path) -> None:
    spec = str(example_spec(tmp_path))
    planned = run(tmp_path, local_fresh, "plan", spec, "--env", "dev", "--detailed-exitcode")
    assert planned.returncode == 2, planned.stderr
    assert "Plan: 3 to create" in planned.stdout

    applied = run(tmp_path, local_fresh, "apply", spec, "--env", "dev", "--auto-approve")
    assert applied.returncode == 0, applied.stderr
    assert "Apply complete" in applied.stdout
    assert table_names(local_fresh) == EXAMPLE_TABLES

    again = run(tmp_path, local_fresh, "plan", spec, "--env", "dev", "--detailed-exitcode")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "No changes" in again.stdout


def test_invalid_spec_exits_1_with_the_diagnostic_on_stderr(local_fresh: str,
                                                            tmp_path: Path) -> None:
    spec = small_spec(tmp_path, {"orders": {"partition_key": {"name": "PK", "type": "X"}}})
    result = run(tmp_path, local_fresh, "plan", str(spec), "--env", "dev",
                 "--detailed-exitcode")
    assert result.returncode == 1  # an error, never "changes" (2)
    assert "spec.yaml:" in result.stderr
    assert "tables.orders.partition_key.type" in result.stderr
    assert "Error: the spec has 1 error(s)" in result.stderr
    assert result.stdout == ""
    assert table_names(local_fresh) == []


def test_unknown_environment_exits_1_with_did_you_mean(local_fresh: str, tmp_path: Path) -> None:
    spec = str(example_spec(tmp_path))
    for command in (["plan", "--detailed-exitcode"], ["apply", "--auto-approve"],
                    ["destroy", "--auto-approve", "--allow-hazards", "DELETES_DATA"]):
        result = run(tmp_path, local_fresh, command[0], spec, "--env", "prdo", *command[1:])
        assert result.returncode == 1, (command, result.stdout, result.stderr)
        assert "unknown environment 'prdo'" in result.stderr
        assert "did you mean 'prod'?" in result.stderr
    assert table_names(local_fresh) == []


def test_aws_endpoint_url_in_the_environment_works_like_the_flag(local_fresh: str,
                                                                 tmp_path: Path) -> None:
    spec = str(small_spec(tmp_path, {"orders": keys()}))
    env = {"AWS_ENDPOINT_URL": local_fresh}
    planned = tablesmith(tmp_path, "plan", spec, "--env", "dev", "--detailed-exitcode", env=env)
    assert planned.returncode == 2, planned.stderr
    applied = tablesmith(tmp_path, "apply", spec, "--env", "dev", "--auto-approve", env=env)
    assert applied.returncode == 0, applied.stderr
    assert table_names(local_fresh) == ["orders"]
    again = tablesmith(tmp_path, "plan", spec, "--env", "dev", "--detailed-exitcode", env=env)
    assert again.returncode == 0, again.stdout + again.stderr


@pytest.mark.parametrize("args", [
    pytest.param(["--detailed-exitcode"], id="missing-env"),
    pytest.param(["--env", "dev", "--detailed-exitcode", "--bogus"], id="unknown-option"),
])
def test_usage_errors_never_look_like_changes(tmp_path: Path, args: list[str]) -> None:
    result = tablesmith(tmp_path, "plan", str(example_spec(tmp_path)), *args)
    assert "Error:" in result.stderr
    assert result.returncode == 1


# ------------------------------------------------------------------ JSON


def test_plan_json_has_the_documented_shape(local_fresh: str, tmp_path: Path) -> None:
    spec = str(example_spec(tmp_path))
    result = run(tmp_path, local_fresh, "plan", spec, "--env", "dev", "--json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert set(doc) == PLAN_KEYS
    assert doc["format_version"] == 1
    assert (doc["environment"], doc["region"], doc["destroy"]) == ("dev", "af-south-1", False)
    assert len(doc["fingerprint"]) == 64
    assert doc["has_changes"] is True
    assert doc["summary"] == {"create": 3, "update": 0, "replace": 0, "delete": 0, "no-op": 0}
    assert doc["tables"] == [{"table": t, "action": "create"} for t in EXAMPLE_TABLES]
    assert doc["orphans"] == [] and doc["notices"] == [] and doc["hazards"] == []
    for op in doc["operations"]:
        assert {"op", "table", "region", "action", "hazards"} <= set(op)
        assert op["region"] == "af-south-1"
        assert op["action"] in {"create", "update", "replace", "delete", "no-op"}
    # per table: the table, then its AWS Backup (dev backs up daily) and its alarms
    around = ("CreateRole", "AttachRolePolicy", "AttachRolePolicy", "CreateBackupVault",
              "CreateBackupPlan", "CreateBackupSelection")
    for t in EXAMPLE_TABLES:
        ops = [op["op"] for op in doc["operations"] if op["table"] == t]
        assert ops[:2] == ["CreateTable", "UpdatePitr"]
        assert tuple(ops[2:8]) == around
        assert set(ops[8:]) == {"PutMetricAlarm"}


def test_apply_json_prints_valid_json(local_fresh: str, tmp_path: Path) -> None:
    spec = str(small_spec(tmp_path, {"orders": keys()}))
    result = run(tmp_path, local_fresh, "apply", spec, "--env", "dev", "--auto-approve",
                 "--json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["applied"] == 2
    assert [op["op"] for op in doc["operations"]] == ["CreateTable", "UpdatePitr"]

    nothing = run(tmp_path, local_fresh, "apply", spec, "--env", "dev", "--auto-approve",
                  "--json")
    assert nothing.returncode == 0, nothing.stderr
    assert json.loads(nothing.stdout)["applied"] == 0


# ------------------------------------------------------------------ saved plans


def test_saved_plan_applies_exactly_that_plan(local_fresh: str, tmp_path: Path) -> None:
    spec = small_spec(tmp_path, {"orders": keys()})
    planned = run(tmp_path, local_fresh, "plan", str(spec), "--env", "dev", "--out", "f.plan")
    assert planned.returncode == 0, planned.stderr
    assert "Saved the plan to f.plan" in planned.stdout
    # the spec moves on after the plan was saved: the saved plan must not follow it
    small_spec(tmp_path, {"orders": keys(), "later": keys()})

    applied = run(tmp_path, local_fresh, "apply", "f.plan", "--env", "dev", "--auto-approve")
    assert applied.returncode == 0, applied.stderr
    assert table_names(local_fresh) == ["orders"]

    first = small_spec(tmp_path, {"orders": keys()}, name="first.yaml")
    again = run(tmp_path, local_fresh, "plan", str(first), "--env", "dev",
                "--detailed-exitcode")
    assert again.returncode == 0, again.stdout + again.stderr


def test_saved_plan_is_refused_when_a_tag_changed_behind_its_back(local_fresh: str,
                                                                  tmp_path: Path) -> None:
    spec = str(small_spec(tmp_path, {"orders": keys()}))
    assert run(tmp_path, local_fresh, "apply", spec, "--env", "dev",
               "--auto-approve").returncode == 0
    spec = str(small_spec(tmp_path, {"orders": keys()}, tags={**TAGS, "Owner": "someone"}))
    planned = run(tmp_path, local_fresh, "plan", spec, "--env", "dev", "--out", "f.plan")
    assert planned.returncode == 0, planned.stderr

    client = ddb(local_fresh)
    arn = client.describe_table(TableName="orders")["Table"]["TableArn"]
    client.tag_resource(ResourceArn=arn, Tags=[{"Key": "Sneaky", "Value": "1"}])
    left = tags_of(local_fresh, "orders")

    result = run(tmp_path, local_fresh, "apply", "f.plan", "--env", "dev", "--auto-approve")
    assert result.returncode == 1
    assert "changed since this plan was made" in result.stderr
    assert tags_of(local_fresh, "orders") == left
    assert left["Owner"] == "qa"


def test_saved_plan_is_refused_when_the_table_was_created_behind_its_back(
        local_fresh: str, tmp_path: Path) -> None:
    spec = str(small_spec(tmp_path, {"orders": keys()}))
    planned = run(tmp_path, local_fresh, "plan", spec, "--env", "dev", "--out", "f.plan")
    assert planned.returncode == 0, planned.stderr

    client = ddb(local_fresh)
    client.create_table(TableName="orders", BillingMode="PAY_PER_REQUEST",
                        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "N"}])

    result = run(tmp_path, local_fresh, "apply", "f.plan", "--env", "dev", "--auto-approve")
    assert result.returncode == 1
    assert "changed since this plan was made" in result.stderr
    assert key_schema(local_fresh, "orders") == {"id": "N"}
    assert tags_of(local_fresh, "orders") == {}
    pitr = client.describe_continuous_backups(TableName="orders")["ContinuousBackupsDescription"]
    assert pitr["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "DISABLED"


def test_saved_plan_for_another_environment_is_refused(local_fresh: str, tmp_path: Path) -> None:
    spec = str(example_spec(tmp_path))
    assert run(tmp_path, local_fresh, "plan", spec, "--env", "dev",
               "--out", "f.plan").returncode == 0
    result = run(tmp_path, local_fresh, "apply", "f.plan", "--env", "sit", "--auto-approve")
    assert result.returncode == 1
    assert "the plan is for environment 'dev'" in result.stderr
    assert table_names(local_fresh) == []


# ------------------------------------------------------------------ guardrails


def test_hazard_is_refused_until_allowed_by_the_exact_flag(local_fresh: str,
                                                           tmp_path: Path) -> None:
    spec = str(small_spec(tmp_path, {"orders": keys("S")}))
    assert run(tmp_path, local_fresh, "apply", spec, "--env", "dev",
               "--auto-approve").returncode == 0
    put_items(local_fresh, "orders", 4)
    spec = str(small_spec(tmp_path, {"orders": keys("N")}))

    refused = run(tmp_path, local_fresh, "apply", spec, "--env", "dev", "--auto-approve")
    assert refused.returncode == 1
    assert "REPLACES_TABLE" in refused.stderr
    assert "--allow-hazards REPLACES_TABLE" in refused.stderr
    assert "nothing was changed" in refused.stderr
    assert key_schema(local_fresh, "orders") == {"PK": "S", "SK": "S"}
    assert count_items(local_fresh, "orders") == 4

    allowed = run(tmp_path, local_fresh, "apply", spec, "--env", "dev", "--auto-approve",
                  "--allow-hazards", "REPLACES_TABLE")
    assert allowed.returncode == 0, allowed.stderr
    assert key_schema(local_fresh, "orders") == {"PK": "S", "SK": "N"}
    again = run(tmp_path, local_fresh, "plan", spec, "--env", "dev", "--detailed-exitcode")
    assert again.returncode == 0, again.stdout + again.stderr


def test_apply_without_a_terminal_needs_auto_approve(local_fresh: str, tmp_path: Path) -> None:
    spec = str(example_spec(tmp_path))
    result = run(tmp_path, local_fresh, "apply", spec, "--env", "dev")
    assert result.returncode == 1
    assert "pass --auto-approve" in result.stderr
    assert table_names(local_fresh) == []


def test_table_flag_limits_plan_and_apply_to_one_table(local_fresh: str, tmp_path: Path) -> None:
    spec = str(example_spec(tmp_path))
    planned = run(tmp_path, local_fresh, "plan", spec, "--env", "dev", "--table", "tenants",
                  "--json")
    assert planned.returncode == 0, planned.stderr
    doc = json.loads(planned.stdout)
    assert doc["tables"] == [{"table": "tenants", "action": "create"}]
    assert {op["table"] for op in doc["operations"]} == {"tenants"}

    applied = run(tmp_path, local_fresh, "apply", spec, "--env", "dev", "--table", "tenants",
                  "--auto-approve")
    assert applied.returncode == 0, applied.stderr
    assert table_names(local_fresh) == ["tenants"]
    rest = run(tmp_path, local_fresh, "plan", spec, "--env", "dev", "--detailed-exitcode")
    assert rest.returncode == 2
    assert "Plan: 2 to create, 0 to update, 0 to replace, 0 to delete, 1 unchanged." \
        in rest.stdout


def test_apply_json_has_one_shape_with_and_without_changes(local_fresh: str,
                                                           tmp_path: Path) -> None:
    spec = str(small_spec(tmp_path, {"orders": keys()}))
    first = json.loads(run(tmp_path, local_fresh, "apply", spec, "--env", "dev",
                           "--auto-approve", "--json").stdout)
    second = json.loads(run(tmp_path, local_fresh, "apply", spec, "--env", "dev",
                            "--auto-approve", "--json").stdout)
    assert set(first) == set(second)


# ------------------------------------------------------------------ prod (replicas)


def test_prod_plan_lists_replica_creations_with_cost_change(local_fresh: str,
                                                            tmp_path: Path) -> None:
    # moto ignores replica updates: planning is checked, applying would wait forever
    spec = str(example_spec(tmp_path))
    result = run(tmp_path, local_fresh, "plan", spec, "--env", "prod", "--json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    replicas = [op for op in doc["operations"] if op["op"] == "CreateReplica"]
    assert sorted(op["table"] for op in replicas) == EXAMPLE_TABLES
    for op in replicas:
        assert op["region"] == "af-south-1"
        assert op["replica_region"] == "eu-west-1"
        assert [(h["code"], h["blocking"]) for h in op["hazards"]] == [("COST_CHANGE", False)]
    creates = [op["table"] for op in doc["operations"] if op["op"] == "CreateTable"]
    assert creates == EXAMPLE_TABLES
    assert table_names(local_fresh) == []
