"""Multi-attribute GSI keys on the embedded local target: a table made with one, a GSI of
four plus two attributes added in place (backfilled), read back equal to the spec, planned
again as empty, and removed (DELETES_INDEX). moto keeps such a key schema; the local target
checks its shape (up to 4 HASH + 4 RANGE elements, HASH first, no repeats)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from harness import Case, run_case, table

if TYPE_CHECKING:
    from pathlib import Path


def _keys(*names: str, type_: str = "S") -> list[dict[str, str]]:
    return [{"name": n, "type": type_} for n in names]


BY_PLACE: dict[str, Any] = {"name": "ByPlace", "hash_key": _keys("country", "region"),
                            "range_key": _keys("city", "zip")}
WIDEST: dict[str, Any] = {"name": "ByEverything", "hash_key": _keys("a", "b", "c", "d"),
                          "range_key": _keys("e", "f")}

CASES = [
    Case("multi-key-gsi-with-the-table", {}, {"main": table(global_secondary_indexes=[BY_PLACE])},
         ["CreateTable", "UpdatePitr"]),
    Case("multi-key-gsi-add", {"main": table()},
         {"main": table(global_secondary_indexes=[WIDEST])}, ["CreateGsi"], {"INDEX_BACKFILL"},
         items=5),
    Case("multi-key-gsi-remove", {"main": table(global_secondary_indexes=[BY_PLACE])},
         {"main": table()}, ["DeleteGsi"], {"DELETES_INDEX"}, items=3),
    Case("multi-key-gsi-one-attribute-more",
         {"main": table(global_secondary_indexes=[BY_PLACE])},
         {"main": table(global_secondary_indexes=[
             {**BY_PLACE, "range_key": _keys("city", "zip", "street")}])},
         ["DeleteGsi", "CreateGsi"], {"DELETES_INDEX", "INDEX_BACKFILL"}, items=2),
]


@pytest.mark.parametrize("engine", ["local"])
@pytest.mark.parametrize("case", CASES, ids=str)
def test_multi_attribute_keys(case: Case, engine: str, engine_endpoint: str,
                              tmp_path: Path) -> None:
    run_case(case, engine, engine_endpoint, tmp_path)
