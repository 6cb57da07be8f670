"""The table itself: creation, replacement (key schema, LSIs), deletion protection, SSE."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from harness import Case, run_case, table

if TYPE_CHECKING:
    from pathlib import Path

LSI = {"name": "ByN", "range_key": {"name": "n", "type": "N"}, "projection_type": "KEYS_ONLY"}

CASES = [
    Case("create-second-table", {"main": table()},
         {"main": table(), "other": table(partition_key={"name": "id", "type": "N"})},
         ["CreateTable", "UpdatePitr"], items=5),
    Case("replace-on-sort-key-change", {"main": table()},
         {"main": table(sort_key={"name": "SK", "type": "N"})},
         ["ReplaceTable", "UpdatePitr"], {"REPLACES_TABLE"}, items=5, keeps_items=False),
    Case("replace-on-new-lsi", {"main": table()},
         {"main": table(local_secondary_indexes=[LSI])},
         ["ReplaceTable", "UpdatePitr"], {"REPLACES_TABLE"}, items=3, keeps_items=False),
    Case("replace-protected-table-lifts-protection", {"main": table(deletion_protection=True)},
         {"main": table(deletion_protection=True, partition_key={"name": "id", "type": "S"},
                        sort_key=None)},
         ["UpdateDeletionProtection", "ReplaceTable", "UpdatePitr"],
         {"REPLACES_TABLE", "LIFTS_PROTECTION"}),
    Case("protection-on", {"main": table()}, {"main": table(deletion_protection=True)},
         ["UpdateDeletionProtection"], items=4),
    Case("protection-off", {"main": table(deletion_protection=True)}, {"main": table()},
         ["UpdateDeletionProtection"], {"LIFTS_PROTECTION"}, items=4),
    Case("pitr-off", {"main": table()},
         {"main": table(point_in_time_recovery={"enabled": False})},
         ["UpdatePitr"], {"DISABLES_RECOVERY"}, items=3, engines=("moto",)),
    Case("pitr-shorter-window", {"main": table()},
         {"main": table(point_in_time_recovery={"recovery_period_days": 7})},
         ["UpdatePitr"], {"DISABLES_RECOVERY"}, engines=("moto",)),
    Case("tags-change-and-remove", {"main": table(tags={"Team": "a", "Old": "x"})},
         {"main": table(tags={"Team": "b"})}, ["UntagResource", "TagResource"], items=2,
         engines=("moto",)),  # DynamoDB Local has no tagging (measured)
]


def _params() -> list[object]:
    return [pytest.param(case, engine, id=f"{case.name}-{engine}",
                         marks=[pytest.mark.skip(reason=case.skip)] if case.skip else [])
            for case in CASES for engine in case.engines]


@pytest.mark.parametrize(("case", "engine"), _params())
def test_table(case: Case, engine: str, engine_endpoint: str, tmp_path: Path) -> None:
    run_case(case, engine, engine_endpoint, tmp_path)
