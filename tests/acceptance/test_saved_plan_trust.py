"""Saved plans are checked, not trusted (issue 16, items 2, 3, 4 and 9).

Each test makes a real plan with the CLI against a moto server, tampers with the file the way
an attacker with write access to a CI artifact would, then runs ``apply PLANFILE
--auto-approve`` and asserts that it is refused and that the emulator holds exactly what it
held before: nothing was called.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from harness import ddb

import servers

TABLESMITH = Path(sys.executable).parent / "tablesmith"
TAGS = {"Project": "trust", "Owner": "qa", "CostCenter": "cc-1", "ManagedBy": "tablesmith",
        "Component": "dynamodb"}
KEYS = {"partition_key": {"name": "PK", "type": "S"}}


def cli(cwd: Path, *args: str, env: dict[str, str] | None = None,
        ) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "TABLESMITH_POLL_INTERVAL": "0.2", **(env or {})}
    return subprocess.run([str(TABLESMITH), *args], cwd=cwd, env=environ,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=120, check=False)


def write_spec(path: Path, tables: dict[str, Any], env: dict[str, Any] | None = None) -> Path:
    doc = {"version": 1, "defaults": {"tags": TAGS, "backup": {"enabled": False},
                                      "alarms": {"enabled": False}},
           "environments": {"dev": env or {}}, "tables": tables}
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def tables_of(endpoint: str) -> list[str]:
    return sorted(ddb(endpoint).list_tables()["TableNames"])


def tags_of(endpoint: str, name: str) -> dict[str, str]:
    client = ddb(endpoint)
    arn = client.describe_table(TableName=name)["Table"]["TableArn"]
    return {t["Key"]: t["Value"] for t in client.list_tags_of_resource(ResourceArn=arn)["Tags"]}


def edit(path: Path, change: Any) -> None:
    doc = json.loads(path.read_text(encoding="utf-8"))
    change(doc)
    path.write_text(json.dumps(doc), encoding="utf-8")


def test_emptied_hazards_do_not_open_the_gate(moto_fresh: str, tmp_path: Path) -> None:
    both = write_spec(tmp_path / "both.yaml", {"alpha": KEYS, "beta": KEYS})
    assert cli(tmp_path, "apply", str(both), "--env", "dev", "--auto-approve",
               "--endpoint-url", moto_fresh).returncode == 0
    one = write_spec(tmp_path / "one.yaml", {"alpha": KEYS})
    planned = cli(tmp_path, "plan", str(one), "--env", "dev", "--prune", "--out", "p.plan",
                  "--endpoint-url", moto_fresh)
    assert planned.returncode == 0, planned.stderr

    def empty_hazards(doc: dict[str, Any]) -> None:
        for op in doc["operations"]:
            op["hazards"] = []
    edit(tmp_path / "p.plan", empty_hazards)

    result = cli(tmp_path, "apply", "p.plan", "--auto-approve")
    assert result.returncode == 1
    assert "not what its tables need" in result.stderr
    assert "Traceback" not in result.stderr
    assert tables_of(moto_fresh) == ["alpha", "beta"]


def test_operations_added_to_a_plan_are_refused(moto_fresh: str, tmp_path: Path) -> None:
    spec = write_spec(tmp_path / "spec.yaml", {"alpha": KEYS})
    assert cli(tmp_path, "apply", str(spec), "--env", "dev", "--auto-approve",
               "--endpoint-url", moto_fresh).returncode == 0
    stranger = ddb(moto_fresh).create_table(
        TableName="stranger", BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}])
    assert stranger
    iam = boto3.client("iam", endpoint_url=moto_fresh, region_name="us-east-1")
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "backup.amazonaws.com"},
        "Action": "sts:AssumeRole"}]}
    iam.create_role(RoleName="unrelated", AssumeRolePolicyDocument=json.dumps(trust))
    planned = cli(tmp_path, "plan", str(spec), "--env", "dev", "--out", "p.plan",
                  "--endpoint-url", moto_fresh)
    assert planned.returncode == 0, planned.stderr
    assert json.loads((tmp_path / "p.plan").read_text())["operations"] == []

    def add_operations(doc: dict[str, Any]) -> None:
        doc["operations"] = [
            {"op": "AttachRolePolicy", "table": "alpha", "region": "us-west-2",
             "action": "update", "category": "drift", "role": "unrelated",
             "policy_arn": "arn:aws:iam::aws:policy/AdministratorAccess"},
            {"op": "UpdateAssumeRolePolicy", "table": "alpha", "region": "af-south-1",
             "action": "update", "category": "drift",
             "before": {"name": "unrelated"},
             "after": {"name": "unrelated", "trusted_service": "ec2.amazonaws.com"}},
            {"op": "TagResource", "table": "stranger", "region": "af-south-1",
             "action": "update", "category": "new", "before": {},
             "after": {"Owner": "attacker"}},
        ]
    edit(tmp_path / "p.plan", add_operations)

    result = cli(tmp_path, "apply", "p.plan", "--auto-approve")
    assert result.returncode == 1, result.stdout
    assert "not what its tables need" in result.stderr
    assert "AttachRolePolicy" in result.stderr
    assert iam.list_attached_role_policies(RoleName="unrelated")["AttachedPolicies"] == []
    document = iam.get_role(RoleName="unrelated")["Role"]["AssumeRolePolicyDocument"]
    assert "ec2.amazonaws.com" not in json.dumps(document)
    assert tags_of(moto_fresh, "stranger") == {}


def test_a_plan_applies_only_where_it_was_made(moto_fresh: str, tmp_path: Path) -> None:
    spec = write_spec(tmp_path / "spec.yaml", {"alpha": KEYS})
    planned = cli(tmp_path, "plan", str(spec), "--env", "dev", "--out", "p.plan",
                  "--endpoint-url", moto_fresh)
    assert planned.returncode == 0, planned.stderr
    target = json.loads((tmp_path / "p.plan").read_text())["target"]
    assert target["kind"] == "endpoint"
    assert target["endpoint"] == moto_fresh
    assert target["account"] == "123456789012"

    with servers.start_moto() as other:
        moved = cli(tmp_path, "apply", "p.plan", "--auto-approve",
                    "--endpoint-url", other.endpoint)
        assert moved.returncode == 1
        assert "contradict the saved plan" in moved.stderr
        assert tables_of(other.endpoint) == []

        # the file edited to point elsewhere, with a made-up account: refused too
        edit(tmp_path / "p.plan", lambda d: d["target"].update(account="999999999999"))
        forged = cli(tmp_path, "apply", "p.plan", "--auto-approve")
        assert forged.returncode == 1
        assert "another target" in forged.stderr
        assert "account: planned 999999999999, now 123456789012" in forged.stderr
    assert tables_of(moto_fresh) == []


def test_a_plan_needs_no_flags_at_apply(moto_fresh: str, tmp_path: Path) -> None:
    spec = write_spec(tmp_path / "spec.yaml", {"alpha": KEYS})
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    planned = cli(tmp_path, "plan", str(spec), "--env", "dev", "--out",
                  str(elsewhere / "p.plan"), "--endpoint-url", moto_fresh)
    assert planned.returncode == 0, planned.stderr
    result = cli(elsewhere, "apply", "p.plan", "--auto-approve")
    assert result.returncode == 0, result.stderr
    assert tables_of(moto_fresh) == ["alpha"]
    wrong_env = cli(elsewhere, "apply", "p.plan", "--env", "prod", "--auto-approve")
    assert wrong_env.returncode == 1
    assert "environment 'dev', not 'prod'" in wrong_env.stderr


def test_approvals_in_an_unsigned_plan_are_not_honoured(moto_fresh: str,
                                                        tmp_path: Path) -> None:
    both = write_spec(tmp_path / "both.yaml", {"alpha": KEYS, "beta": KEYS})
    assert cli(tmp_path, "apply", str(both), "--env", "dev", "--auto-approve",
               "--endpoint-url", moto_fresh).returncode == 0
    one = write_spec(tmp_path / "one.yaml", {"alpha": KEYS})
    assert cli(tmp_path, "plan", str(one), "--env", "dev", "--prune", "--out", "p.plan",
               "--endpoint-url", moto_fresh).returncode == 0
    edit(tmp_path / "p.plan", lambda d: d.update(approved=["DELETES_DATA"]))

    result = cli(tmp_path, "apply", "p.plan", "--auto-approve")
    assert result.returncode == 1
    assert "DELETES_DATA" in result.stderr
    assert tables_of(moto_fresh) == ["alpha", "beta"]


def test_signed_approvals_are_honoured_and_a_forged_signature_refused(
        moto_fresh: str, tmp_path: Path) -> None:
    key = {"TABLESMITH_PLAN_KEY": hashlib.sha256(b"ci secret").hexdigest()}
    both = write_spec(tmp_path / "both.yaml", {"alpha": KEYS, "beta": KEYS})
    assert cli(tmp_path, "apply", str(both), "--env", "dev", "--auto-approve",
               "--endpoint-url", moto_fresh).returncode == 0
    one = write_spec(tmp_path / "one.yaml", {"alpha": KEYS})
    planned = cli(tmp_path, "plan", str(one), "--env", "dev", "--prune", "--allow-hazards",
                  "DELETES_DATA", "--out", "p.plan", "--endpoint-url", moto_fresh, env=key)
    assert planned.returncode == 0, planned.stderr
    signed = (tmp_path / "p.plan").read_text()

    # a changed byte, with the key: refused whole
    edit(tmp_path / "p.plan", lambda d: d.update(lift_protection=True))
    forged = cli(tmp_path, "apply", "p.plan", "--auto-approve", env=key)
    assert forged.returncode == 1
    assert "signature does not match" in forged.stderr
    assert tables_of(moto_fresh) == ["alpha", "beta"]

    (tmp_path / "p.plan").write_text(signed)
    applied = cli(tmp_path, "apply", "p.plan", "--auto-approve", env=key)
    assert applied.returncode == 0, applied.stderr
    assert tables_of(moto_fresh) == ["alpha"]


@pytest.mark.parametrize("doc", [
    "{",
    '{"format_version": 2}',
    '{"format_version": 1, "environment": "dev"}',
    '[1, 2, 3]',
    '{"format_version": 2, "environment": "dev", "region": "af-south-1", "desired": [], '
    '"operations": [{"op": "Exec", "cmd": "touch pwned"}], "fingerprint": "x"}',
])
def test_a_malformed_plan_is_one_line(tmp_path: Path, doc: str) -> None:
    (tmp_path / "bad.plan").write_text(doc)
    result = cli(tmp_path, "apply", "bad.plan", "--auto-approve")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert not (tmp_path / "pwned").exists()


def test_a_symlinked_plan_is_neither_read_nor_written(moto_fresh: str, tmp_path: Path) -> None:
    spec = write_spec(tmp_path / "spec.yaml", {"alpha": KEYS})
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    (tmp_path / "p.plan").symlink_to(victim)
    planned = cli(tmp_path, "plan", str(spec), "--env", "dev", "--out", "p.plan",
                  "--endpoint-url", moto_fresh)
    assert planned.returncode == 1
    assert "symlink" in planned.stderr
    assert victim.read_text() == "keep me"


def near_spec(directory: Path) -> Path:
    return write_spec(directory / "plain.yaml", {"alpha": KEYS})


def test_an_endpoint_from_the_spec_is_shown_and_must_be_safe(moto_fresh: str,
                                                             tmp_path: Path) -> None:
    far = write_spec(tmp_path / "far.yaml", {"alpha": KEYS},
                     env={"endpoint_url": "http://192.0.2.2:8088"})
    refused = cli(tmp_path, "plan", str(far), "--env", "dev")
    assert refused.returncode == 1
    assert "environments.dev.endpoint_url: http://192.0.2.2:8088 is not on this machine and " \
        "not https" in refused.stderr
    flag = cli(tmp_path, "plan", str(near_spec(tmp_path)), "--env", "dev",
               "--endpoint-url", "http://192.0.2.2:8088")
    assert flag.returncode == 1
    assert "from --endpoint-url / AWS_ENDPOINT_URL" in flag.stderr
    assert "Traceback" not in flag.stderr

    near = write_spec(tmp_path / "near.yaml", {"alpha": KEYS}, env={"endpoint_url": moto_fresh})
    shown = cli(tmp_path, "plan", str(near), "--env", "dev")
    assert shown.returncode == 0, shown.stderr
    assert f"target: endpoint {moto_fresh} (from the spec), account 123456789012" in shown.stdout
    doc = json.loads(cli(tmp_path, "plan", str(near), "--env", "dev", "--json").stdout)
    assert doc["target"]["from_spec"] == ["endpoint"]
    assert doc["target"]["endpoint"] == moto_fresh


def test_apply_json_always_prints_a_result(moto_fresh: str, tmp_path: Path) -> None:
    """A pipeline reading --json gets a result when refused or failed too (issue 12, 8)."""
    both = write_spec(tmp_path / "both.yaml", {"alpha": KEYS, "beta": KEYS})
    done = cli(tmp_path, "apply", str(both), "--env", "dev", "--auto-approve", "--json",
               "--endpoint-url", moto_fresh)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["status"] == "applied"
    one = write_spec(tmp_path / "one.yaml", {"alpha": KEYS})
    refused = cli(tmp_path, "apply", str(one), "--env", "dev", "--prune", "--auto-approve",
                  "--json", "--endpoint-url", moto_fresh)
    assert refused.returncode == 1
    doc = json.loads(refused.stdout)
    assert doc["status"] == "refused" and doc["applied"] == 0
    assert [(r["op"], r["table"], r["code"]) for r in doc["refused"]] == [
        ("DeleteTable", "beta", "DELETES_DATA")]
    (tmp_path / "bad.yaml").write_text("version: 1\ntables: {x: {partition_key: 3}}\n")
    invalid = cli(tmp_path, "apply", "bad.yaml", "--env", "dev", "--auto-approve", "--json",
                  "--endpoint-url", moto_fresh)
    assert invalid.returncode == 1
    assert json.loads(invalid.stdout)["status"] == "error"
    assert tables_of(moto_fresh) == ["alpha", "beta"]


def test_a_local_plan_applies_to_its_own_local_state_only(moto_fresh: str,
                                                          tmp_path: Path) -> None:
    """A plan made for the embedded local target remembers its state directory: applied from
    elsewhere it uses that state (no stray state next to the plan file) and never AWS or
    another endpoint (issue 16 item 4, issue 12 item 3)."""
    project = tmp_path / "project"
    project.mkdir()
    spec = write_spec(project / "spec.yaml", {"alpha": KEYS})
    planned = cli(project, "plan", "spec.yaml", "--env", "dev", "--local", "--out",
                  str(tmp_path / "sb.plan"))
    assert planned.returncode == 0, planned.stderr
    target = json.loads((tmp_path / "sb.plan").read_text())["target"]
    assert target["kind"] == "local"
    assert target["state_dir"] == str((project / ".tablesmith" / "local" / "dev").resolve())

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    redirected = cli(elsewhere, "apply", "../sb.plan", "--auto-approve",
                     env={"AWS_ENDPOINT_URL": moto_fresh})
    assert redirected.returncode == 1
    assert "contradict the saved plan" in redirected.stderr
    assert tables_of(moto_fresh) == []

    applied = cli(elsewhere, "apply", "../sb.plan", "--auto-approve")
    assert applied.returncode == 0, applied.stderr
    assert not (elsewhere / ".tablesmith").exists() and not (tmp_path / ".tablesmith").exists()
    again = cli(project, "plan", str(spec), "--env", "dev", "--local", "--detailed-exitcode")
    assert again.returncode == 0, again.stdout + again.stderr
