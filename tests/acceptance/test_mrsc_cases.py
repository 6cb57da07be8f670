"""Multi-Region strong consistency on the embedded local target: an MRSC global table made in
one UpdateTable (replicas, witness, MultiRegionConsistency STRONG), read back, planned again
as empty, and removed (its replicas and witness together, DELETES_DATA).

The environment deploys to us-east-1: the built-in environments' af-south-1 is in no MRSC
Region set (validation refuses consistency: strong there). moto has no MRSC; the local
target adds it (src/tablesmith/local/newer.py)."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

import boto3
import pytest
import yaml
from harness import TAGS, assert_converged, hazards_of, ops_of, session

from tablesmith.errors import ApplyError, HazardRefused, PlanError
from tablesmith.hazards import HazardCode

if TYPE_CHECKING:
    from pathlib import Path

    from tablesmith.engine import Session

PRIMARY = "us-east-1"
BASE: dict[str, Any] = {
    "partition_key": {"name": "PK", "type": "S"},
    "stream": {"enabled": True, "view_type": "NEW_AND_OLD_IMAGES"},
}
WITNESSED = {**BASE, "consistency": "strong", "replicas": ["us-east-2"],
             "witness_region": "us-west-2"}
THREE = {**BASE, "consistency": "strong", "replicas": ["us-east-2", "us-west-2"]}
MREC = {**BASE, "replicas": ["us-east-2"]}
ALL = frozenset(HazardCode)


def _session(tmp_path: Path, name: str, settings: dict[str, Any], prefix: str,
             endpoint: str) -> Session:
    doc = {
        "version": 1,
        "defaults": {"tags": TAGS, "alarms": {"enabled": False}},
        "environments": {"acc": {"table_prefix": prefix, "region": PRIMARY}},
        "tables": {"main": settings},
    }
    path = tmp_path / name / "spec.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return session(path, endpoint)


def _prefix(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:6]}-"


def _describe(endpoint: str, table: str) -> dict[str, Any]:
    client = boto3.client("dynamodb", endpoint_url=endpoint, region_name=PRIMARY)
    return client.describe_table(TableName=table)["Table"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("engine", ["local"])
def test_mrsc_with_a_witness_is_made_read_back_and_removed(
    engine: str, engine_endpoint: str, tmp_path: Path
) -> None:
    prefix = _prefix("mrsc-witness")
    s = _session(tmp_path, "start", WITNESSED, prefix, engine_endpoint)
    plan = s.plan()
    # PITR is on by default, in the table's region and each replica's own
    assert ops_of(plan) == ["CreateTable", "UpdatePitr", "CreateStrongReplicas", "UpdatePitr",
                            "TagResource"]
    assert hazards_of(plan) == {"COST_CHANGE"}
    s.apply(plan, allowed=frozenset())
    assert_converged(s)
    desc = _describe(engine_endpoint, f"{prefix}main")
    assert desc["MultiRegionConsistency"] == "STRONG"
    assert desc["GlobalTableWitnesses"][0]["RegionName"] == "us-west-2"

    gone = _session(tmp_path, "gone", BASE, prefix, engine_endpoint)
    plan = gone.plan()
    assert ops_of(plan) == ["DeleteStrongReplicas"]
    assert hazards_of(plan) == {"DELETES_DATA"}
    with pytest.raises(HazardRefused, match="DELETES_DATA"):
        gone.apply(plan, allowed=frozenset())
    gone.apply(plan, allowed=frozenset({HazardCode.DELETES_DATA}))
    assert_converged(gone)
    assert "GlobalTableWitnesses" not in _describe(engine_endpoint, f"{prefix}main")


@pytest.mark.parametrize("engine", ["local"])
def test_existing_empty_table_becomes_an_mrsc_table_of_three_replicas(
    engine: str, engine_endpoint: str, tmp_path: Path
) -> None:
    prefix = _prefix("mrsc-three")
    start = _session(tmp_path, "start", BASE, prefix, engine_endpoint)
    start.apply(start.plan(), allowed=ALL)
    s = _session(tmp_path, "new", THREE, prefix, engine_endpoint)
    plan = s.plan()
    assert ops_of(plan) == ["CreateStrongReplicas", "UpdatePitr", "TagResource", "UpdatePitr",
                            "TagResource"]
    assert plan.operations[0].replica_regions == ("us-east-2", "us-west-2")
    s.apply(plan, allowed=frozenset())
    assert_converged(s)


@pytest.mark.parametrize("engine", ["local"])
def test_the_replicas_of_a_three_replica_mrsc_table_are_removed_together(
    engine: str, engine_endpoint: str, tmp_path: Path
) -> None:
    prefix = _prefix("mrsc-three-gone")
    s = _session(tmp_path, "start", THREE, prefix, engine_endpoint)
    s.apply(s.plan(), allowed=ALL)
    assert_converged(s)
    # the replicas of a three-replica MRSC table go together: one alone is refused by AWS
    gone = _session(tmp_path, "gone", BASE, prefix, engine_endpoint)
    plan = gone.plan()
    assert ops_of(plan) == ["DeleteStrongReplicas"]
    assert plan.operations[0].replica_regions == ("us-east-2", "us-west-2")
    gone.apply(plan, allowed=frozenset({HazardCode.DELETES_DATA}))
    assert_converged(gone)


@pytest.mark.parametrize("engine", ["local"])
def test_mrsc_on_a_table_with_items_is_a_hazard_and_aws_refuses_it(
    engine: str, engine_endpoint: str, tmp_path: Path
) -> None:
    prefix = _prefix("mrsc-items")
    start = _session(tmp_path, "start", BASE, prefix, engine_endpoint)
    start.apply(start.plan(), allowed=ALL)
    client = boto3.client("dynamodb", endpoint_url=engine_endpoint, region_name=PRIMARY)
    for i in range(3):
        client.put_item(TableName=f"{prefix}main", Item={"PK": {"S": f"pk{i}"}})
    s = _session(tmp_path, "new", WITNESSED, prefix, engine_endpoint)
    plan = s.plan()
    assert hazards_of(plan) == {"COST_CHANGE", "TABLE_NOT_EMPTY"}
    with pytest.raises(HazardRefused, match="TABLE_NOT_EMPTY"):
        s.apply(plan, allowed=frozenset())
    # allowed (ItemCount lags), the request still meets AWS's rule: refused, nothing made
    with pytest.raises(ApplyError, match="must be empty"):
        s.apply(plan, allowed=ALL)
    assert client.describe_table(TableName=f"{prefix}main")["Table"].get("Replicas", []) == []


@pytest.mark.parametrize("engine", ["local"])
def test_an_eventual_global_table_cannot_be_made_strong(
    engine: str, engine_endpoint: str, tmp_path: Path
) -> None:
    prefix = _prefix("mrsc-mode")
    start = _session(tmp_path, "start", MREC, prefix, engine_endpoint)
    start.apply(start.plan(), allowed=ALL)
    assert_converged(start)
    with pytest.raises(PlanError, match="cannot change a global table's consistency mode"):
        _session(tmp_path, "new", WITNESSED, prefix, engine_endpoint).plan()
