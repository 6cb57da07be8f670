"""Removing tables: ``destroy`` (the spec's tables) and ``--prune`` (owned tables that left it).

Library-level through :class:`tablesmith.engine.Session` against moto, plus the CLI where
the brief is about what a person sees (exit codes, the text of ``plan``). What must hold:

* destroy removes every table of the spec and nothing else; deletion protection is honoured
  unless lifted *and* DELETES_DATA is allowed;
* prune deletes only tables that carry ``tablesmith:managed = <this environment>`` and are
  not in the spec; never a table made outside tablesmith, nor one owned by another
  environment, and only with DELETES_DATA allowed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from harness import ddb, ops_of, put_items

import tablesmith
from tablesmith.engine import Session
from tablesmith.errors import HazardRefused, PlanError, UsageError
from tablesmith.hazards import HazardCode

TABLESMITH = Path(sys.executable).parent / "tablesmith"
TAGS = {"Project": "prune", "Owner": "qa", "CostCenter": "cc-1", "ManagedBy": "tablesmith",
        "Component": "dynamodb"}
KEYS = {"partition_key": {"name": "PK", "type": "S"}, "sort_key": {"name": "SK", "type": "S"}}
DELETES = frozenset({HazardCode.DELETES_DATA})
READ_PREFIXES = ("Describe", "List", "Get", "Scan", "Query")


def write_spec(path: Path, tables: dict[str, dict[str, Any]],
               environments: dict[str, Any] | None = None) -> Path:
    """A spec with the mandatory tags, holding ``tables`` (environment ``dev`` by default)."""
    # the tables alone: AWS Backup and alarms are around-table cases of their own
    doc = {"version": 1, "defaults": {"tags": TAGS, "backup": {"enabled": False},
                                      "alarms": {"enabled": False}},
           "environments": environments or {"dev": {}}, "tables": tables}
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def session(spec: Path, endpoint: str, env: str = "dev",
            tables: tuple[str, ...] = ()) -> Session:
    """A session on ``env`` of ``spec`` against ``endpoint``."""
    return Session.for_environment(tablesmith.load(spec, env=env), env, endpoint_url=endpoint,
                                   tables=tables)


def apply_spec(spec: Path, endpoint: str, env: str = "dev") -> None:
    """Apply the whole spec (no hazards expected)."""
    s = session(spec, endpoint, env)
    s.apply(s.plan(), allowed=frozenset())


def names(endpoint: str) -> list[str]:
    """The tables the emulator holds."""
    return sorted(ddb(endpoint).list_tables()["TableNames"])


def mutating_calls(s: Session, before: dict[str, int]) -> list[str]:
    """Calls made since ``before`` that change something."""
    return [c for c in s.clients.calls
            if c not in before and not c.split(".")[1].startswith(READ_PREFIXES)]


def cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the ``tablesmith`` console script with no terminal on stdin."""
    environ = {**os.environ, "TABLESMITH_POLL_INTERVAL": "0.2"}
    return subprocess.run([str(TABLESMITH), *args], cwd=cwd, env=environ,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=120, check=False)


def create_outside(endpoint: str, name: str, tags: dict[str, str]) -> None:
    """A table made without tablesmith, with these tags."""
    client = ddb(endpoint)
    arn = client.create_table(
        TableName=name, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}],
    )["TableDescription"]["TableArn"]
    if tags:
        client.tag_resource(ResourceArn=arn, Tags=[{"Key": k, "Value": v}
                                                    for k, v in tags.items()])


# ------------------------------------------------------------------ destroy


def test_destroy_removes_the_spec_tables_and_only_those(local_fresh: str,
                                                        tmp_path: Path) -> None:
    spec = write_spec(tmp_path / "spec.yaml", {"alpha": KEYS, "beta": KEYS})
    apply_spec(spec, local_fresh)
    create_outside(local_fresh, "bystander", {})
    put_items(local_fresh, "alpha", 3)

    s = session(spec, local_fresh)
    plan = s.plan_destroy()
    assert plan.destroy
    assert [(op.op, op.table) for op in plan.operations] == [
        ("DeleteTable", "alpha"), ("DeleteTable", "beta")]
    assert {h.code for _, h in plan.hazards()} == {HazardCode.DELETES_DATA}
    s.apply(plan, allowed=DELETES)
    assert names(local_fresh) == ["bystander"]
    assert not session(spec, local_fresh).plan_destroy().has_changes


def test_destroy_of_a_protected_table_needs_both_flags(local_fresh: str, tmp_path: Path) -> None:
    spec = write_spec(tmp_path / "spec.yaml", {"vault": {**KEYS, "deletion_protection": True}})
    apply_spec(spec, local_fresh)
    s = session(spec, local_fresh)

    with pytest.raises(PlanError) as refused:
        s.plan_destroy()
    assert "--lift-deletion-protection" in str(refused.value)
    assert "--allow-hazards DELETES_DATA" in str(refused.value)

    plan = s.plan_destroy(lift_protection=True)
    assert ops_of(plan) == ["UpdateDeletionProtection", "DeleteTable"]
    before = dict(s.clients.calls)
    with pytest.raises(HazardRefused, match="--allow-hazards DELETES_DATA"):
        s.apply(plan, allowed=frozenset())
    assert mutating_calls(s, before) == []
    table = ddb(local_fresh).describe_table(TableName="vault")["Table"]
    assert table["DeletionProtectionEnabled"] is True

    s.apply(plan, allowed=DELETES)
    assert names(local_fresh) == []


def test_destroy_through_the_cli_then_plan_wants_to_create_again(local_fresh: str,
                                                                 tmp_path: Path) -> None:
    spec = str(write_spec(tmp_path / "spec.yaml", {"alpha": KEYS, "beta": KEYS}))
    apply_spec(Path(spec), local_fresh)
    endpoint = ("--endpoint-url", local_fresh)

    refused = cli(tmp_path, "destroy", spec, "--env", "dev", "--auto-approve", *endpoint)
    assert refused.returncode == 1
    assert "--allow-hazards DELETES_DATA" in refused.stderr
    assert names(local_fresh) == ["alpha", "beta"]

    result = cli(tmp_path, "destroy", spec, "--env", "dev", "--allow-hazards", "DELETES_DATA",
                 "--auto-approve", *endpoint)
    assert result.returncode == 0, result.stderr
    assert names(local_fresh) == []
    again = cli(tmp_path, "plan", spec, "--env", "dev", "--detailed-exitcode", *endpoint)
    assert again.returncode == 2, again.stderr
    assert "Plan: 2 to create" in again.stdout


def test_destroy_json_with_nothing_to_destroy_prints_json(local_fresh: str,
                                                          tmp_path: Path) -> None:
    spec = str(write_spec(tmp_path / "spec.yaml", {"alpha": KEYS}))
    result = cli(tmp_path, "destroy", spec, "--env", "dev", "--allow-hazards", "DELETES_DATA",
                 "--auto-approve", "--json", "--endpoint-url", local_fresh)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["applied"] == 0


# ------------------------------------------------------------------ prune


def _two_then_one(tmp_path: Path, endpoint: str) -> Path:
    """Apply alpha and beta, then return a spec that holds only alpha."""
    apply_spec(write_spec(tmp_path / "two.yaml", {"alpha": KEYS, "beta": KEYS}), endpoint)
    return write_spec(tmp_path / "one.yaml", {"alpha": KEYS})


def test_plan_without_prune_leaves_an_owned_orphan_alone(local_fresh: str,
                                                         tmp_path: Path) -> None:
    one = _two_then_one(tmp_path, local_fresh)
    plan = session(one, local_fresh).plan()
    assert not plan.has_changes
    assert "beta" not in {op.table for op in plan.operations}


def test_plan_without_prune_leaves_an_owned_orphan_alone_and_names_it(
        local_fresh: str, tmp_path: Path) -> None:
    # every plan looks for the tables it owns that left the spec (one tagging-API call) and
    # names them: a table dropped from the spec must not go unmentioned (issue 12, item 8)
    one = str(_two_then_one(tmp_path, local_fresh))
    result = cli(tmp_path, "plan", one, "--env", "dev", "--endpoint-url", local_fresh,
                 "--detailed-exitcode")
    assert result.returncode == 0, result.stderr  # nothing to do without --prune
    assert "? beta: not in the spec; owned by tablesmith (--prune would delete it)" in \
        result.stdout
    doc = json.loads(cli(tmp_path, "plan", one, "--env", "dev", "--endpoint-url", local_fresh,
                         "--json").stdout)
    assert doc["orphans"] == ["beta"] and doc["operations"] == []
    assert names(local_fresh) == ["alpha", "beta"]
    helptext = cli(tmp_path, "plan", "--help").stdout
    assert "--prune" in helptext and "left the spec" in helptext


def test_prune_plans_and_deletes_an_owned_orphan(local_fresh: str, tmp_path: Path) -> None:
    one = _two_then_one(tmp_path, local_fresh)
    put_items(local_fresh, "beta", 2)
    s = session(one, local_fresh)
    plan = s.plan(prune=True)
    assert [(op.op, op.table) for op in plan.operations] == [("DeleteTable", "beta")]
    assert [h.code for _, h in plan.hazards()] == [HazardCode.DELETES_DATA]
    assert plan.orphans == ("beta",)

    before = dict(s.clients.calls)
    with pytest.raises(HazardRefused):
        s.apply(plan, allowed=frozenset())
    assert mutating_calls(s, before) == []
    assert names(local_fresh) == ["alpha", "beta"]

    s.apply(plan, allowed=DELETES)
    assert names(local_fresh) == ["alpha"]
    assert not session(one, local_fresh).plan(prune=True).has_changes


def test_prune_of_a_protected_orphan_needs_lift_protection(local_fresh: str,
                                                           tmp_path: Path) -> None:
    apply_spec(write_spec(tmp_path / "two.yaml",
                          {"alpha": KEYS, "beta": {**KEYS, "deletion_protection": True}}),
               local_fresh)
    s = session(write_spec(tmp_path / "one.yaml", {"alpha": KEYS}), local_fresh)
    with pytest.raises(PlanError, match="--lift-deletion-protection"):
        s.plan(prune=True)
    plan = s.plan(prune=True, lift_protection=True)
    assert ops_of(plan) == ["UpdateDeletionProtection", "DeleteTable"]
    s.apply(plan, allowed=DELETES)
    assert names(local_fresh) == ["alpha"]


@pytest.mark.parametrize("tags", [
    pytest.param({}, id="untagged"),
    pytest.param({"ManagedBy": "tablesmith", "Environment": "dev"}, id="lookalike-tags"),
    pytest.param({"tablesmith:managed": "sit"}, id="owned-by-sit"),
    pytest.param({"tablesmith:managed": "dev-old"}, id="owned-by-dev-old"),
])
def test_prune_never_touches_a_table_this_environment_does_not_own(
        local_fresh: str, tmp_path: Path, tags: dict[str, str]) -> None:
    spec = write_spec(tmp_path / "spec.yaml", {"alpha": KEYS})
    apply_spec(spec, local_fresh)
    create_outside(local_fresh, "outsider", tags)
    s = session(spec, local_fresh)
    plan = s.plan(prune=True)
    assert not plan.has_changes
    assert plan.orphans == ()
    s.apply(plan, allowed=frozenset(HazardCode))
    assert names(local_fresh) == ["alpha", "outsider"]


def test_prune_leaves_the_tables_of_another_environment_alone(local_fresh: str,
                                                              tmp_path: Path) -> None:
    envs = {"dev": {"table_prefix": "dev-"}, "sit": {"table_prefix": "sit-"}}
    apply_spec(write_spec(tmp_path / "both.yaml", {"alpha": KEYS, "beta": KEYS}, envs),
               local_fresh, env="sit")
    apply_spec(write_spec(tmp_path / "both.yaml", {"alpha": KEYS, "beta": KEYS}, envs),
               local_fresh, env="dev")
    one = write_spec(tmp_path / "one.yaml", {"alpha": KEYS}, envs)
    s = session(one, local_fresh, env="dev")
    plan = s.plan(prune=True)
    assert [(op.op, op.table) for op in plan.operations] == [("DeleteTable", "dev-beta")]
    s.apply(plan, allowed=DELETES)
    assert names(local_fresh) == ["dev-alpha", "sit-alpha", "sit-beta"]


def test_prune_with_table_flag_is_refused_and_deletes_nothing(local_fresh: str,
                                                               tmp_path: Path) -> None:
    # prune is about the whole environment: with a --table subset, the other spec tables
    # would look like orphans, so the combination is refused outright
    spec = write_spec(tmp_path / "spec.yaml", {"alpha": KEYS, "beta": KEYS})
    apply_spec(spec, local_fresh)
    with pytest.raises(UsageError, match="--prune works on the whole environment"):
        session(spec, local_fresh, tables=("alpha",)).plan(prune=True)
    result = cli(tmp_path, "plan", str(spec), "--env", "dev", "--prune", "--table", "alpha",
                 "--endpoint-url", local_fresh)
    assert result.returncode == 1
    assert names(local_fresh) == ["alpha", "beta"]


def test_destroy_with_table_flag_removes_only_that_table(local_fresh: str,
                                                         tmp_path: Path) -> None:
    spec = write_spec(tmp_path / "spec.yaml", {"alpha": KEYS, "beta": KEYS})
    apply_spec(spec, local_fresh)
    s = session(spec, local_fresh, tables=("beta",))
    plan = s.plan_destroy()
    assert [(op.op, op.table) for op in plan.operations] == [("DeleteTable", "beta")]
    s.apply(plan, allowed=DELETES)
    assert names(local_fresh) == ["alpha"]


def test_saved_prune_plan_is_refused_once_the_orphan_is_disowned(local_fresh: str,
                                                                  tmp_path: Path) -> None:
    one = str(_two_then_one(tmp_path, local_fresh))
    endpoint = ("--endpoint-url", local_fresh)
    planned = cli(tmp_path, "plan", one, "--env", "dev", "--prune", "--out", "p.plan",
                  *endpoint)
    assert planned.returncode == 0, planned.stderr
    assert "DeleteTable" in planned.stdout

    client = ddb(local_fresh)
    arn = client.describe_table(TableName="beta")["Table"]["TableArn"]
    client.untag_resource(ResourceArn=arn, TagKeys=["tablesmith:managed"])

    result = cli(tmp_path, "apply", "p.plan", "--env", "dev", "--allow-hazards", "DELETES_DATA",
                 "--auto-approve", *endpoint)
    assert result.returncode == 1
    assert "changed since this plan was made" in result.stderr
    assert names(local_fresh) == ["alpha", "beta"]


def test_saved_prune_plan_applies(local_fresh: str, tmp_path: Path) -> None:
    one = str(_two_then_one(tmp_path, local_fresh))
    endpoint = ("--endpoint-url", local_fresh)
    assert cli(tmp_path, "plan", one, "--env", "dev", "--prune", "--out", "p.plan",
               *endpoint).returncode == 0
    result = cli(tmp_path, "apply", "p.plan", "--env", "dev", "--allow-hazards", "DELETES_DATA",
                 "--auto-approve", *endpoint)
    assert result.returncode == 0, result.stderr
    assert names(local_fresh) == ["alpha"]
