"""Acceptance fixtures: the engine a case runs on, by name."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator

ENGINES = ("moto", "dynamodb-local", "local", "local-realistic")


@pytest.fixture(autouse=True)
def fast_polling(monkeypatch: pytest.MonkeyPatch) -> None:
    """Poll emulators often: their transitions take seconds, not minutes."""
    monkeypatch.setenv("TABLESMITH_POLL_INTERVAL", os.environ.get("TABLESMITH_POLL_INTERVAL",
                                                                 "0.5"))
    monkeypatch.setenv("TABLESMITH_WAIT_TIMEOUT", "240")


# endpoint -> (process, access key) of this worker's local target (see local_target_process)
_LOCAL_TARGETS: dict[str, tuple[subprocess.Popen[str], str]] = {}


def _start_local_target(directory: Path, extra_env: dict[str, str]) -> Iterator[str]:
    """An embedded local target in a subprocess that empties it on request; its endpoint."""
    env = {**os.environ, "TABLESMITH_LOCAL_REPLICA_SECONDS": "0.3", **extra_env}
    proc = subprocess.Popen([sys.executable, str(Path(__file__).parents[1] /
                                                 "local_target_process.py"), str(directory)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None and proc.stdin is not None
    match = re.search(r"serving at (http://127\.0\.0\.1:\d+) key (\S+)", proc.stdout.readline())
    if match is None:
        proc.kill()
        raise RuntimeError(f"the local target did not start: {proc.stderr.read()}")
    _LOCAL_TARGETS[match.group(1)] = (proc, match.group(2))
    yield match.group(1)
    proc.stdin.close()  # saves and stops
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)


@pytest.fixture(scope="session")
def local_target_endpoint(tmp_path_factory: pytest.TempPathFactory,
                          fake_aws_env: None) -> Iterator[str]:
    """This worker's embedded local target, in a subprocess that empties it on request."""
    yield from _start_local_target(tmp_path_factory.mktemp("local-target") / "state", {})


# AWS's phases at 1/100 of their time (docs/local-realistic.md): tables CREATING, GSIs
# CREATING then backfilling, DELETING indexes; what DynamoDB Local's -delayTransientStatuses
# gives, in seconds instead of minutes
REALISTIC = {"TABLESMITH_LOCAL_REALISTIC": "1", "TABLESMITH_LOCAL_TIME_SCALE": "0.01"}


@pytest.fixture(scope="session")
def realistic_target_endpoint(tmp_path_factory: pytest.TempPathFactory,
                              fake_aws_env: None) -> Iterator[str]:
    """This worker's embedded local target in realistic mode."""
    yield from _start_local_target(tmp_path_factory.mktemp("realistic-target") / "state",
                                   REALISTIC)


def use_local_target(endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Empty the local target at ``endpoint`` and sign this test's calls with its key.

    The local target answers only its own access key (moto and DynamoDB Local take any):
    the test's AWS_* keys become that one, for boto3 here and the CLI's subprocesses.
    """
    proc, key = _LOCAL_TARGETS[endpoint]
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write("reset\n")
    proc.stdin.flush()
    assert proc.stdout.readline().strip() == "ok"
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key)
    return endpoint


@pytest.fixture
def local_fresh(local_target_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """This worker's embedded local target, emptied before the test.

    Plain moto lacks what the examples' environments use (AWS Backup selections, AWS-managed
    IAM policies, replicas); the local target is moto plus exactly those.
    """
    return use_local_target(local_target_endpoint, monkeypatch)


@pytest.fixture
def engine_endpoint(request: pytest.FixtureRequest) -> str:
    """The endpoint of the engine named by the test's ``engine`` parameter (emptied)."""
    engine: str = request.getfixturevalue("engine")
    if engine == "moto":
        return str(request.getfixturevalue("moto_fresh"))
    if engine == "local":
        return use_local_target(str(request.getfixturevalue("local_target_endpoint")),
                                request.getfixturevalue("monkeypatch"))
    if engine == "local-realistic":
        return use_local_target(str(request.getfixturevalue("realistic_target_endpoint")),
                                request.getfixturevalue("monkeypatch"))
    return str(request.getfixturevalue("dynamodb_local_endpoint"))
