"""Acceptance fixtures: the engine a case runs on, by name."""

from __future__ import annotations

import os

import pytest

ENGINES = ("moto", "dynamodb-local")


@pytest.fixture(autouse=True)
def fast_polling(monkeypatch: pytest.MonkeyPatch) -> None:
    """Poll emulators often: their transitions take seconds, not minutes."""
    monkeypatch.setenv("TABLESMITH_POLL_INTERVAL", os.environ.get("TABLESMITH_POLL_INTERVAL",
                                                                 "0.5"))
    monkeypatch.setenv("TABLESMITH_WAIT_TIMEOUT", "240")


@pytest.fixture
def engine_endpoint(request: pytest.FixtureRequest) -> str:
    """The endpoint of the engine named by the test's ``engine`` parameter."""
    engine: str = request.getfixturevalue("engine")
    if engine == "moto":
        return str(request.getfixturevalue("moto_fresh"))
    return str(request.getfixturevalue("dynamodb_local_endpoint"))
