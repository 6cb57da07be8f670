"""An apply killed with SIGKILL half way converges when run again, and loses nothing.

Runs on the local target in realistic mode, where a table stays CREATING and an index
CREATING, then backfilling, for a time (AWS's phases on a clock 100 times fast): long enough
to kill the apply in the middle of a GSI sequence. ``make soak`` (TABLESMITH_SOAK=1) runs the
same cases on DynamoDB Local too, whose -delayTransientStatuses phases take about 30 s each
(about 230 s for the two: too long for every run of the suite).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from harness import TAGS, count_items, ddb, put_items

TABLESMITH = str(Path(sys.executable).with_name("tablesmith"))


def spec(path: Path, prefix: str, **table: Any) -> Path:
    doc = {
        "version": 1,
        "defaults": {"tags": TAGS, "encryption": {"type": "AWS_OWNED"}},
        "environments": {"acc": {"table_prefix": prefix}},
        "tables": {"main": {"partition_key": {"name": "PK", "type": "S"},
                            "sort_key": {"name": "SK", "type": "S"}, **table}},
    }
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return path


def cli(*args: str, endpoint: str) -> subprocess.Popen[str]:
    env = {**os.environ, "TABLESMITH_POLL_INTERVAL": "0.3"}
    return subprocess.Popen([TABLESMITH, *args, "--env", "acc", "--endpoint-url", endpoint],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def run(*args: str, endpoint: str) -> subprocess.CompletedProcess[str]:
    proc = cli(*args, endpoint=endpoint)
    out, err = proc.communicate(timeout=600)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def wait_for(condition: Any, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.05)


def describe(endpoint: str, name: str) -> dict[str, Any] | None:
    try:
        table: dict[str, Any] = ddb(endpoint).describe_table(TableName=name)["Table"]
        return table
    except ddb(endpoint).exceptions.ResourceNotFoundException:
        return None


ENGINES = ["local-realistic"] + (["dynamodb-local"] if os.environ.get("TABLESMITH_SOAK") else [])


def gsi(name: str, key: str) -> dict[str, Any]:
    return {"name": name, "hash_key": {"name": key, "type": "S"}, "projection_type": "ALL"}


@pytest.mark.timeout(600)
@pytest.mark.parametrize("engine", ENGINES)
def test_killed_after_create_table_converges(engine: str, engine_endpoint: str,
                                             tmp_path: Path) -> None:
    endpoint = engine_endpoint
    name = "int-create-main"
    path = spec(tmp_path / "spec.yaml", "int-create-", ttl={"enabled": True})
    proc = cli("apply", str(path), "--auto-approve", endpoint=endpoint)
    wait_for(lambda: describe(endpoint, name) is not None)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL

    again = run("apply", str(path), "--auto-approve", endpoint=endpoint)
    assert again.returncode == 0, again.stderr
    final = run("plan", str(path), "--detailed-exitcode", endpoint=endpoint)
    assert final.returncode == 0, final.stdout + final.stderr
    ttl = ddb(endpoint).describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    assert ttl["TimeToLiveStatus"] == "ENABLED"


@pytest.mark.timeout(600)
@pytest.mark.parametrize("engine", ENGINES)
def test_killed_in_the_middle_of_a_gsi_sequence_converges(engine: str, engine_endpoint: str,
                                                          tmp_path: Path) -> None:
    endpoint = engine_endpoint
    name = "int-gsi-main"
    start = spec(tmp_path / "start.yaml", "int-gsi-")
    assert run("apply", str(start), "--auto-approve", endpoint=endpoint).returncode == 0
    put_items(endpoint, name, 40)

    three = spec(tmp_path / "three.yaml", "int-gsi-", global_secondary_indexes=[
        gsi("ByEmail", "email"), gsi("ByStatus", "status"), gsi("ByPk2", "PK2")])
    proc = cli("apply", str(three), "--auto-approve", endpoint=endpoint)

    def first_index_creating() -> bool:
        desc = describe(endpoint, name) or {}
        return any(g["IndexStatus"] == "CREATING" for g in desc.get("GlobalSecondaryIndexes", []))

    wait_for(first_index_creating)
    proc.send_signal(signal.SIGKILL)  # in the middle: one index CREATING, two still to go
    proc.wait()
    indexes = (describe(endpoint, name) or {}).get("GlobalSecondaryIndexes", [])
    assert len(indexes) == 1

    # the re-run sees the index still CREATING, waits for it, then makes the other two
    again = run("apply", str(three), "--auto-approve", endpoint=endpoint)
    assert again.returncode == 0, again.stderr
    assert again.stdout.count("CreateGsi") == 2, again.stdout
    final = run("plan", str(three), "--detailed-exitcode", endpoint=endpoint)
    assert final.returncode == 0, final.stdout + final.stderr
    names = {g["IndexName"] for g in (describe(endpoint, name) or {})["GlobalSecondaryIndexes"]}
    assert names == {"ByEmail", "ByStatus", "ByPk2"}
    assert count_items(endpoint, name) == 40

