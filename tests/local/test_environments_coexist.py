"""The README's main job for dev, then prod, on the same checkout: both succeed, in any order
and repeated (issue 12, item 2). Each environment has its own local state
(``.tablesmith/local/<env>``), as dev and prod have their own tables in AWS."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TABLESMITH = str(Path(sys.executable).with_name("tablesmith"))


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TABLESMITH_POLL_INTERVAL": "0.2",
           "TABLESMITH_LOCAL_REPLICA_SECONDS": "0.3"}
    return subprocess.run([TABLESMITH, *args], cwd=cwd, capture_output=True, text=True,
                          env=env, timeout=300, check=False, stdin=subprocess.DEVNULL)


@pytest.mark.timeout(900)
def test_dev_and_prod_coexist_on_the_local_target(tmp_path: Path) -> None:
    examples = tmp_path / "examples"
    shutil.copytree(ROOT / "examples", examples)
    for env in ("dev", "prod", "dev"):
        applied = run(tmp_path, "apply", "examples", "--env", env, "--local", "--auto-approve")
        assert applied.returncode == 0, applied.stdout + applied.stderr
        assert "ADOPTS_TABLE" not in applied.stdout + applied.stderr
    for env in ("dev", "prod"):
        again = run(tmp_path, "plan", "examples", "--env", env, "--local", "--detailed-exitcode")
        assert again.returncode == 0, again.stdout + again.stderr
        assert (examples / ".tablesmith" / "local" / env / "state.json").is_file()
    assert (examples / ".tablesmith" / ".gitignore").read_text().strip().endswith("*")
