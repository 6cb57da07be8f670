"""The first Ctrl-C / SIGTERM stops an apply after the operation in flight (issue 12, item 4).

On the embedded local target a replica stays CREATING for ``TABLESMITH_LOCAL_REPLICA_SECONDS``:
the signal arrives while the apply waits for it. The apply must start nothing new, say what
was done, what AWS is still finishing and what was not started, exit 130; the next run
converges.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

TABLESMITH = str(Path(sys.executable).with_name("tablesmith"))
TAGS = {"Project": "stop", "Owner": "qa", "CostCenter": "cc-1", "ManagedBy": "tablesmith",
        "Component": "dynamodb"}


def spec(path: Path) -> Path:
    doc = {"version": 1,
           "defaults": {"tags": TAGS, "backup": {"enabled": False}, "alarms": {"enabled": False}},
           "environments": {"dev": {}},
           "tables": {"orders": {"partition_key": {"name": "PK", "type": "S"},
                                 "replicas": ["eu-west-1"]}}}
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def env(seconds: str) -> dict[str, str]:
    return {**os.environ, "TABLESMITH_POLL_INTERVAL": "0.2",
            "TABLESMITH_LOCAL_REPLICA_SECONDS": seconds}


@pytest.mark.timeout(300)
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_stop_ends_the_apply_after_the_operation_in_flight(tmp_path: Path,
                                                             signum: int) -> None:
    path = str(spec(tmp_path / "spec.yaml"))
    proc = subprocess.Popen([TABLESMITH, "apply", path, "--env", "dev", "--local",
                             "--auto-approve"], env=env("30"), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    seen: list[str] = []
    deadline = time.monotonic() + 120
    for line in proc.stderr:  # progress lines: "HH:MM:SS orders: CreateReplica eu-west-1 ..."
        seen.append(line)
        if "CreateReplica" in line or time.monotonic() > deadline:
            break
    time.sleep(1.0)  # the call is made; the apply now waits for the replica to be ACTIVE
    started = time.monotonic()
    proc.send_signal(signum)
    out, rest = proc.communicate(timeout=60)
    err = "".join(seen) + rest
    assert proc.returncode == 130, out + err
    assert time.monotonic() - started < 20  # did not wait the replica's 30 s out
    assert "Stopping after the operation in flight" in err
    assert "still finishing at AWS: CreateReplica orders" in err
    assert "not started:" in err  # the replica's own tags, protection and PITR
    assert "Traceback" not in err

    again = subprocess.run([TABLESMITH, "apply", path, "--env", "dev", "--local",
                            "--auto-approve"], env=env("0.3"), capture_output=True, text=True,
                           timeout=120, check=False, stdin=subprocess.DEVNULL)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "CreateReplica" not in again.stdout + again.stderr  # AWS finished what was started
    final = subprocess.run([TABLESMITH, "plan", path, "--env", "dev", "--local",
                            "--detailed-exitcode"], env=env("0.3"), capture_output=True,
                           text=True, timeout=120, check=False)
    assert final.returncode == 0, final.stdout + final.stderr
