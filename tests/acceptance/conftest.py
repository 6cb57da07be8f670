"""Acceptance fixtures: the engine a case runs on, by name."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import pytest

from local_target_client import RunningTarget, running_target

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

ENGINES = ("moto", "dynamodb-local", "local", "local-realistic")


@pytest.fixture(autouse=True)
def fast_polling(monkeypatch: pytest.MonkeyPatch) -> None:
    """Poll emulators often: their transitions take seconds, not minutes."""
    monkeypatch.setenv("TABLESMITH_POLL_INTERVAL", os.environ.get("TABLESMITH_POLL_INTERVAL",
                                                                 "0.5"))
    monkeypatch.setenv("TABLESMITH_WAIT_TIMEOUT", "240")


# endpoint -> this worker's local target process at it (see local_target_client)
_LOCAL_TARGETS: dict[str, RunningTarget] = {}


def _start_local_target(directory: Path, extra_env: dict[str, str]) -> Iterator[str]:
    """An embedded local target in a subprocess that empties it on request; its endpoint."""
    with running_target(directory, TABLESMITH_LOCAL_REPLICA_SECONDS="0.3", **extra_env) as target:
        _LOCAL_TARGETS[target.endpoint] = target
        yield target.endpoint


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
    target = _LOCAL_TARGETS[endpoint]
    target.reset()
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", target.key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", target.key)
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
