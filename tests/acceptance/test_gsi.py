"""GSIs: one create or delete per UpdateTable, deletes first, waiting for each.

Every case runs on moto (instant) and on the local target in realistic mode, which has AWS's
phases (a GSI CREATING, then backfilling, the table UPDATING and refusing another UpdateTable
meanwhile, a deleted index DELETING) on a clock 100 times fast. One case, a delete and a
create in one plan, also runs on DynamoDB Local, AWS's own emulator, whose
-delayTransientStatuses phases take about 30 s each: the independent check that the waits
are the ones AWS needs (every case there cost 80-170 s).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from harness import Case, run_case, table

if TYPE_CHECKING:
    from pathlib import Path


def gsi(name: str, hash_key: str, projection: str = "ALL", **extra: Any) -> dict[str, Any]:
    return {"name": name, "hash_key": {"name": hash_key, "type": "S"},
            "projection_type": projection, **extra}


BY_EMAIL = gsi("ByEmail", "email")
BY_STATUS = gsi("ByStatus", "status", "KEYS_ONLY")

CASES = [
    Case("gsi-add-two-at-once", {"main": table()},
         {"main": table(global_secondary_indexes=[BY_EMAIL, BY_STATUS])},
         ["CreateGsi", "CreateGsi"], {"INDEX_BACKFILL"}, items=25),
    Case("gsi-remove", {"main": table(global_secondary_indexes=[BY_EMAIL, BY_STATUS])},
         {"main": table(global_secondary_indexes=[BY_EMAIL])},
         ["DeleteGsi"], {"DELETES_INDEX"}, items=10),
    Case("gsi-change-projection",
         {"main": table(global_secondary_indexes=[BY_STATUS])},
         {"main": table(global_secondary_indexes=[
             gsi("ByStatus", "status", "INCLUDE", non_key_attributes=["email"])])},
         ["DeleteGsi", "CreateGsi"], {"DELETES_INDEX", "INDEX_BACKFILL"}, items=10),
    Case("gsi-swap-delete-before-create",
         {"main": table(global_secondary_indexes=[BY_EMAIL])},
         {"main": table(global_secondary_indexes=[BY_STATUS])},
         ["DeleteGsi", "CreateGsi"], {"DELETES_INDEX"}),
]


ON_DYNAMODB_LOCAL = "gsi-change-projection"
RUNS = [(case, engine) for case in CASES for engine in ("moto", "local-realistic")] + [
    (case, "dynamodb-local") for case in CASES if case.name == ON_DYNAMODB_LOCAL]


@pytest.mark.parametrize(("case", "engine"), RUNS, ids=lambda v: str(v))
def test_gsi(case: Case, engine: str, engine_endpoint: str, tmp_path: Path) -> None:
    run_case(case, engine, engine_endpoint, tmp_path)
