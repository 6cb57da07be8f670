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

import servers

if TYPE_CHECKING:
    from collections.abc import Iterator

ENGINES = ("moto", "dynamodb-local", "local")


@pytest.fixture(autouse=True)
def fast_polling(monkeypatch: pytest.MonkeyPatch) -> None:
    """Poll emulators often: their transitions take seconds, not minutes."""
    monkeypatch.setenv("TABLESMITH_POLL_INTERVAL", os.environ.get("TABLESMITH_POLL_INTERVAL",
                                                                 "0.5"))
    monkeypatch.setenv("TABLESMITH_WAIT_TIMEOUT", "240")


@pytest.fixture(scope="session")
def local_target_endpoint(tmp_path_factory: pytest.TempPathFactory,
                          fake_aws_env: None) -> Iterator[str]:
    """This worker's embedded local target, run as `tablesmith local serve` (a subprocess)."""
    state = tmp_path_factory.mktemp("local-target")
    env = {**os.environ, "TABLESMITH_LOCAL_REPLICA_SECONDS": "0.3"}
    proc = subprocess.Popen([str(Path(sys.executable).with_name("tablesmith")), "local",
                             "serve", str(state), "--state-dir", str(state / "state")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    match = re.search(r"serving at (http://127\.0\.0\.1:\d+)", proc.stdout.readline())
    if match is None:
        proc.kill()
        raise RuntimeError(f"tablesmith local serve did not start: {proc.stderr.read()}")
    yield match.group(1)
    proc.send_signal(signal.SIGTERM)
    proc.wait(30)


@pytest.fixture
def local_fresh(local_target_endpoint: str) -> str:
    """This worker's embedded local target, emptied before the test.

    Plain moto lacks what the examples' environments use (AWS Backup selections, AWS-managed
    IAM policies, replicas); the local target is moto plus exactly those.
    """
    servers.reset_moto(local_target_endpoint)
    return local_target_endpoint


@pytest.fixture
def engine_endpoint(request: pytest.FixtureRequest) -> str:
    """The endpoint of the engine named by the test's ``engine`` parameter (emptied)."""
    engine: str = request.getfixturevalue("engine")
    if engine == "moto":
        return str(request.getfixturevalue("moto_fresh"))
    if engine == "local":
        endpoint = str(request.getfixturevalue("local_target_endpoint"))
        servers.reset_moto(endpoint)
        return endpoint
    return str(request.getfixturevalue("dynamodb_local_endpoint"))
