"""Streams (one enable or disable per call) and TTL (only when it differs; two steps)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from harness import Case, run_case, table

if TYPE_CHECKING:
    from pathlib import Path

CASES = [
    Case("stream-off", {"main": table()}, {"main": table(stream={"enabled": False})},
         ["UpdateStream"], {"STREAM_ARN_CHANGES"}, items=3),
    Case("stream-on", {"main": table(stream={"enabled": False})}, {"main": table()},
         ["UpdateStream"], items=3),
    Case("stream-view-type-change", {"main": table()},
         {"main": table(stream={"view_type": "KEYS_ONLY"})},
         ["UpdateStream", "UpdateStream"], {"STREAM_ARN_CHANGES"}, items=3,
         # moto refuses to enable a stream on a table that ever had one ("Cannot enable
         # stream", measured); AWS and DynamoDB Local accept it
         engines=("dynamodb-local",)),
    Case("ttl-on", {"main": table()}, {"main": table(ttl={"enabled": True})},
         ["UpdateTtl"], items=3),
    Case("ttl-off", {"main": table(ttl={"enabled": True})}, {"main": table()},
         ["UpdateTtl"], items=3),
]


def _params() -> list[object]:
    return [pytest.param(case, engine, id=f"{case.name}-{engine}",
                         marks=[pytest.mark.skip(reason=case.skip)] if case.skip else [])
            for case in CASES for engine in case.engines]


@pytest.mark.parametrize(("case", "engine"), _params())
def test_stream_ttl(case: Case, engine: str, engine_endpoint: str, tmp_path: Path) -> None:
    run_case(case, engine, engine_endpoint, tmp_path)
