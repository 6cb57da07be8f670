"""One apply at a time per environment and target (issue 14, item 4), with two processes:
this test holds the lock the way an apply does, and a ``tablesmith apply`` subprocess meets it.

The lease (a conditional put in a DynamoDB lock table, the mechanism on AWS) runs on a moto
server; the file lock on the embedded local target's state directory.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import boto3
import yaml
from harness import ddb

from tablesmith.aws import Clients, Target
from tablesmith.lock import hold
from tablesmith.plan import PlanTarget
from tablesmith.spec.model import LockSettings

TABLESMITH = Path(sys.executable).parent / "tablesmith"
TAGS = {"Project": "lock", "Owner": "qa", "CostCenter": "cc-1", "ManagedBy": "tablesmith",
        "Component": "dynamodb"}
REGION = "af-south-1"


def cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "TABLESMITH_POLL_INTERVAL": "0.2"}
    return subprocess.run([str(TABLESMITH), *args], cwd=cwd, env=environ,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=180, check=False)


def write_spec(path: Path, lock: dict[str, Any]) -> Path:
    doc = {"version": 1, "conventions": {"lock": lock},
           "defaults": {"tags": TAGS, "backup": {"enabled": False}, "alarms": {"enabled": False}},
           "environments": {"dev": {}},
           "tables": {"alpha": {"partition_key": {"name": "PK", "type": "S"}}}}
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def tables_of(endpoint: str) -> list[str]:
    return sorted(ddb(endpoint).list_tables()["TableNames"])


def test_a_lease_refuses_a_second_apply_names_its_holder_and_can_be_forced(
        moto_fresh: str, tmp_path: Path) -> None:
    spec = write_spec(tmp_path / "spec.yaml", {"mode": "table"})
    clients = Clients(Target(region=REGION, endpoint_url=moto_fresh))
    target = PlanTarget(kind="endpoint", region=REGION, endpoint=moto_fresh,
                        account="123456789012")
    settings = LockSettings(mode="table")
    with hold(clients, "dev", target, settings, command="tablesmith apply specs") as holder:
        assert holder is not None
        refused = cli(tmp_path, "apply", str(spec), "--env", "dev", "--auto-approve",
                      "--endpoint-url", moto_fresh)
        assert refused.returncode == 1
        assert "holds this environment's lock" in refused.stderr
        assert f"(pid {os.getpid()})" in refused.stderr
        assert f"lease {holder.lease_id}" in refused.stderr
        assert "alpha" not in tables_of(moto_fresh)  # nothing was planned or applied

        forced = cli(tmp_path, "force-unlock", str(spec), "--env", "dev", holder.lease_id,
                     "--endpoint-url", moto_fresh)
        assert forced.returncode == 0, forced.stderr
        applied = cli(tmp_path, "apply", str(spec), "--env", "dev", "--auto-approve",
                      "--endpoint-url", moto_fresh)
        assert applied.returncode == 0, applied.stderr
    assert "alpha" in tables_of(moto_fresh)
    lock_table = ddb(moto_fresh).describe_table(TableName="tablesmith-locks")["Table"]
    assert lock_table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert ddb(moto_fresh).scan(TableName="tablesmith-locks")["Items"] == []  # released


def test_a_lease_whose_holder_died_expires(moto_fresh: str, tmp_path: Path) -> None:
    spec = write_spec(tmp_path / "spec.yaml", {"mode": "table"})
    assert cli(tmp_path, "plan", str(spec), "--env", "dev",
               "--endpoint-url", moto_fresh).returncode == 0
    apply = cli(tmp_path, "apply", str(spec), "--env", "dev", "--auto-approve",
                "--endpoint-url", moto_fresh)  # makes the lock table
    assert apply.returncode == 0, apply.stderr
    client = boto3.client("dynamodb", endpoint_url=moto_fresh, region_name=REGION)
    key = f"dev@123456789012/{REGION}/{moto_fresh}"
    client.put_item(TableName="tablesmith-locks", Item={  # a holder killed a minute ago
        "LockKey": {"S": key}, "LeaseId": {"S": "dead"}, "Who": {"S": "ci"},
        "Host": {"S": "runner"}, "Pid": {"N": "1"}, "Command": {"S": "tablesmith apply"},
        "Since": {"N": str(time.time() - 120)}, "ExpiresAt": {"N": str(int(time.time()) - 60)}})
    again = cli(tmp_path, "apply", str(spec), "--env", "dev", "--auto-approve",
                "--endpoint-url", moto_fresh)
    assert again.returncode == 0, again.stderr


def test_the_local_target_uses_a_file_lock_and_lock_timeout_waits(tmp_path: Path) -> None:
    spec = write_spec(tmp_path / "spec.yaml", {})
    state = (tmp_path / ".tablesmith" / "local" / "dev").resolve()
    assert cli(tmp_path, "plan", str(spec), "--env", "dev", "--local").returncode == 0
    target = PlanTarget(kind="local", region=REGION, state_dir=str(state),
                        account="123456789012")
    clients = Clients(Target(region=REGION))  # a file lock calls nothing
    release = threading.Event()
    held = threading.Event()

    def holder() -> None:
        with hold(clients, "dev", target, LockSettings(), command="tablesmith apply (test)"):
            held.set()
            release.wait(30)

    thread = threading.Thread(target=holder)
    thread.start()
    assert held.wait(10)
    try:
        refused = cli(tmp_path, "apply", str(spec), "--env", "dev", "--local", "--auto-approve")
        assert refused.returncode == 1
        assert "holds this environment's lock" in refused.stderr
        assert "tablesmith apply (test)" in refused.stderr
        threading.Timer(2.0, release.set).start()
        waited = cli(tmp_path, "apply", str(spec), "--env", "dev", "--local", "--auto-approve",
                     "--lock-timeout", "60")
        assert waited.returncode == 0, waited.stderr
    finally:
        release.set()
        thread.join(10)
    assert (state / "apply.lock").stat().st_mode & 0o777 == 0o600
