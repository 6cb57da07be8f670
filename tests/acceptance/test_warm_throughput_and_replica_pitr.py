"""Warm throughput (table and GSIs) and PITR periods per replica, on the embedded local target.

Warm throughput is raised in place (UpdateTable WarmThroughput, or an index's
GlobalSecondaryIndexUpdates Update), carries COST_CHANGE, and is a floor: AWS never lowers
it (and raises it on its own with traffic), so a lower value plans nothing, and removing the
field stops managing it (no operation).
A replica's own PITR (``replicas: [{region, point_in_time_recovery}]``) is set with
UpdateContinuousBackups in the replica's region. moto ignores replica updates, so the
replica cases run on the local target, as test_replicas.py's do.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from harness import Case, run_case, session, table, write_spec

from tablesmith.hazards import HazardCode

if TYPE_CHECKING:
    from pathlib import Path

DR = "eu-west-1"
PITR_35 = {"enabled": True, "recovery_period_days": 35}


def warm(read: int, write: int) -> dict[str, int]:
    return {"read_units_per_second": read, "write_units_per_second": write}


def by_status(**extra: Any) -> dict[str, Any]:
    return {"name": "ByStatus", "hash_key": {"name": "status", "type": "S"},
            "projection_type": "KEYS_ONLY", **extra}


def replica(days: int, enabled: bool = True) -> dict[str, Any]:
    return {"region": DR, "point_in_time_recovery": {"enabled": enabled,
                                                     "recovery_period_days": days}}


CASES = [
    Case("warm-table-raise", {"main": table()},
         {"main": table(warm_throughput=warm(20_000, 8_000))},
         ["UpdateWarmThroughput"], {"COST_CHANGE"}, items=3),
    Case("warm-table-raise-again", {"main": table(warm_throughput=warm(20_000, 8_000))},
         {"main": table(warm_throughput=warm(20_000, 9_000))},
         ["UpdateWarmThroughput"], {"COST_CHANGE"}),
    # removing the field stops managing it: nothing to do (AWS cannot lower it anyway)
    Case("warm-table-unmanaged", {"main": table(warm_throughput=warm(20_000, 8_000))},
         {"main": table()}, []),
    Case("warm-gsi-created-with-it", {"main": table()},
         {"main": table(global_secondary_indexes=[by_status(
             warm_throughput=warm(15_000, 6_000))])},
         ["CreateGsi"], {"COST_CHANGE"}),
    Case("warm-gsi-raise",
         {"main": table(global_secondary_indexes=[by_status()])},
         {"main": table(global_secondary_indexes=[by_status(
             warm_throughput=warm(30_000, 4_000))])},
         ["UpdateWarmThroughput"], {"COST_CHANGE"}, items=4),
    Case("replica-pitr-shorter", {"main": table(replicas=[DR])},
         {"main": table(replicas=[replica(7)])},
         ["UpdatePitr"], {"DISABLES_RECOVERY"}, items=2),
    Case("replica-pitr-override-removed",
         {"main": table(point_in_time_recovery={"enabled": True, "recovery_period_days": 10},
                        replicas=[replica(20)])},
         {"main": table(point_in_time_recovery={"enabled": True, "recovery_period_days": 10},
                        replicas=[DR])},
         ["UpdatePitr"], {"DISABLES_RECOVERY"}),
    Case("replica-pitr-off-while-table-on", {"main": table(replicas=[replica(14)])},
         {"main": table(replicas=[replica(35, enabled=False)])},
         ["UpdatePitr"], {"DISABLES_RECOVERY"}),
    Case("replica-new-with-own-pitr", {"main": table()},
         {"main": table(replicas=[replica(14)])},
         ["CreateReplica", "UpdatePitr", "TagResource"], {"COST_CHANGE"}, items=2),
]


@pytest.mark.parametrize("engine", ["local"])
@pytest.mark.parametrize("case", CASES, ids=str)
def test_warm_throughput_and_replica_pitr(case: Case, engine: str, engine_endpoint: str,
                                          tmp_path: Path) -> None:
    run_case(case, engine, engine_endpoint, tmp_path)


@pytest.mark.parametrize("engine", ["local"])
def test_a_lower_warm_throughput_changes_nothing(engine: str, engine_endpoint: str,
                                                 tmp_path: Path) -> None:
    """The spec's warm throughput is a floor (AWS raises it on its own, and never lowers it):
    a spec below what the table has plans nothing and calls nothing that mutates."""
    prefix = "warm-lower-"
    spec = {"main": table(global_secondary_indexes=[by_status(
        warm_throughput=warm(20_000, 5_000))], warm_throughput=warm(20_000, 8_000))}
    s = session(write_spec(tmp_path / "a", spec, prefix, engine), engine_endpoint)
    s.apply(s.plan(), allowed=frozenset(HazardCode))
    for lowered in (
            {"main": {**spec["main"], "warm_throughput": warm(19_000, 8_000)}},
            {"main": {**spec["main"], "global_secondary_indexes": [by_status(
                warm_throughput=warm(20_000, 4_000))]}}):
        s = session(write_spec(tmp_path / "b", lowered, prefix, engine), engine_endpoint)
        plan = s.plan()
        assert not plan.has_changes, [op.op for op in plan.operations]
        calls = dict(s.clients.calls)
        s.apply(plan, allowed=frozenset(HazardCode))
        assert not [c for c in s.clients.calls if calls.get(c) != s.clients.calls[c]
                    and c.split(".")[1].startswith("Update")], "a mutating call was made"
