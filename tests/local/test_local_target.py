"""The embedded local target through the real command line, in separate processes."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "bbws.yaml"
TABLESMITH = str(Path(sys.executable).with_name("tablesmith"))
KEYS: dict[str, str] = {}  # endpoint -> the access key its `local serve` printed


def run(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TABLESMITH_POLL_INTERVAL": "0.2",
           "TABLESMITH_LOCAL_REPLICA_SECONDS": "0.3"}
    return subprocess.run([TABLESMITH, *args], capture_output=True, text=True, timeout=timeout,
                          env=env, check=False)


def client(endpoint: str, region: str = "af-south-1") -> object:
    return boto3.client("dynamodb", endpoint_url=endpoint, region_name=region,
                        aws_access_key_id=KEYS[endpoint], aws_secret_access_key=KEYS[endpoint])


def serve(state: Path) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([TABLESMITH, "local", "serve", str(EXAMPLES), "--state-dir",
                             str(state)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    match = re.search(r"serving at (http://127\.0\.0\.1:\d+)", line)
    assert match, line + proc.stderr.read() if proc.poll() is not None else line
    while "aws_access_key_id=" not in line:  # the settings lines print the directory's key
        line = proc.stdout.readline()
    key = re.search(r"aws_access_key_id='([^']+)'", line)
    assert key, line
    KEYS[match.group(1)] = key.group(1)
    return proc, match.group(1)


def test_apply_then_plan_in_separate_processes_is_empty(tmp_path: Path) -> None:
    state = tmp_path / "state"
    applied = run("apply", str(EXAMPLES), "--env", "dev", "--local", "--state-dir", str(state),
                  "--auto-approve")
    assert applied.returncode == 0, applied.stderr
    assert "local target: http://127.0.0.1:" in applied.stderr
    planned = run("plan", str(EXAMPLES), "--env", "dev", "--local", "--state-dir", str(state),
                  "--detailed-exitcode")
    assert planned.returncode == 0, planned.stdout + planned.stderr
    assert "No changes" in planned.stdout
    saved = json.loads((state / "state.json").read_text())  # one JSON file (snapshot.py)
    assert saved["format"] == 2 and saved["schema"] == "tablesmith-local-state"
    assert not (state / "state.pickle").exists()
    assert oct((state / "state.json").stat().st_mode)[-3:] == "600"
    # nothing secret: the directory's access key is only in credentials.json
    key = json.loads((state / "credentials.json").read_text())["access_key"]
    assert key.encode() not in (state / "state.json").read_bytes()


def test_ids_and_arns_survive_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "state"
    assert run("apply", str(EXAMPLES), "--env", "dev", "--local", "--state-dir", str(state),
               "--auto-approve", "--table", "tenants").returncode == 0
    first, endpoint = serve(state)
    try:
        before = client(endpoint).describe_table(TableName="tenants")["Table"]  # type: ignore[attr-defined]
    finally:
        first.send_signal(signal.SIGTERM)
        first.wait(30)
    second, endpoint = serve(state)
    try:
        after = client(endpoint).describe_table(TableName="tenants")["Table"]  # type: ignore[attr-defined]
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(30)
    assert after["TableArn"] == before["TableArn"]
    assert after["LatestStreamArn"] == before["LatestStreamArn"]
    assert after["CreationDateTime"] == before["CreationDateTime"]


def test_serve_keeps_items_written_through_it_after_sigterm(tmp_path: Path) -> None:
    state = tmp_path / "state"
    assert run("apply", str(EXAMPLES), "--env", "dev", "--local", "--state-dir", str(state),
               "--auto-approve", "--table", "tenants").returncode == 0
    proc, endpoint = serve(state)
    try:
        ddb = client(endpoint)
        for i in range(25):
            ddb.put_item(TableName="tenants",  # type: ignore[attr-defined]
                         Item={"PK": {"S": f"t#{i}"}, "SK": {"S": "profile"}})
        # while it serves, --local commands use the served endpoint (one owner of the state)
        planned = run("plan", str(EXAMPLES), "--env", "dev", "--local", "--state-dir",
                      str(state), "--table", "tenants", "--detailed-exitcode")
        assert planned.returncode == 0, planned.stderr
        assert endpoint in planned.stderr
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    proc, endpoint = serve(state)
    try:
        count = client(endpoint).scan(TableName="tenants", Select="COUNT")["Count"]  # type: ignore[attr-defined]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    assert count == 25


def test_serve_listens_on_loopback_only(tmp_path: Path) -> None:
    proc, endpoint = serve(tmp_path / "state")
    try:
        port = int(endpoint.rsplit(":", 1)[1])
        listening = []
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            for line in Path(table).read_text().splitlines()[1:]:
                local, state = line.split()[1], line.split()[3]
                if state == "0A" and int(local.split(":")[1], 16) == port:
                    listening.append(local.split(":")[0])
        assert listening == ["0100007F"]  # 127.0.0.1, and nothing else
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(30)


def test_corrupt_state_is_a_clear_error_with_a_way_out(tmp_path: Path) -> None:
    state = tmp_path / "state"
    assert run("apply", str(EXAMPLES), "--env", "dev", "--local", "--state-dir", str(state),
               "--auto-approve", "--table", "tenants").returncode == 0
    # another moto (or tablesmith) version wrote it: information only, it loads
    saved = json.loads((state / "state.json").read_text())
    saved["moto"] = "5.2.99"
    (state / "state.json").write_text(json.dumps(saved))
    other = run("plan", str(EXAMPLES), "--env", "dev", "--local", "--state-dir", str(state),
                "--table", "tenants", "--detailed-exitcode")
    assert other.returncode == 0, other.stdout + other.stderr

    newer = json.loads((state / "state.json").read_text())
    newer["format"] = 99
    (state / "state.json").write_text(json.dumps(newer))
    refused = run("plan", str(EXAMPLES), "--env", "dev", "--local", "--state-dir", str(state))
    assert refused.returncode == 1 and "newer" in refused.stderr, refused.stderr

    (state / "state.json").write_text('{"format": 2, "accounts": {"123456789012": [')
    broken = run("plan", str(EXAMPLES), "--env", "dev", "--local", "--state-dir", str(state))
    assert broken.returncode == 1
    assert "tablesmith local reset" in broken.stderr
    assert "Traceback" not in broken.stderr

    reset = run("local", "reset", str(EXAMPLES), "--state-dir", str(state))
    assert reset.returncode == 0, reset.stderr
    fresh = run("plan", str(EXAMPLES), "--env", "dev", "--local", "--state-dir", str(state),
                "--detailed-exitcode")
    assert fresh.returncode == 2  # everything to create again


def test_reset_is_refused_while_served(tmp_path: Path) -> None:
    proc, endpoint = serve(tmp_path / "state")
    try:
        refused = run("local", "reset", str(EXAMPLES), "--state-dir", str(tmp_path / "state"))
        assert refused.returncode == 1
        assert endpoint in refused.stderr
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_readme_main_job(env: str, tmp_path: Path) -> None:
    """The README's main-job command, as written in the Makefile, for one environment."""
    started = time.monotonic()
    result = subprocess.run(["make", "-s", "demo", f"ENV={env}",
                             f"STATE_DIR={tmp_path / 'state'}"], cwd=ROOT, capture_output=True,
                            text=True, timeout=300, check=False,
                            env={**os.environ, "TABLESMITH_LOCAL_REPLICA_SECONDS": "0.3",
                                 "TABLESMITH_POLL_INTERVAL": "0.2"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No changes" in result.stdout
    assert time.monotonic() - started < 300
