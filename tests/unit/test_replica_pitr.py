"""PITR periods per replica: the spec's mapping form, the pure diff, and the exporters.

``replicas: [eu-west-1]`` and ``[{region: eu-west-1, point_in_time_recovery: {...}}]`` give
the same ``Table.replicas``; a replica's own PITR is ``Table.replica_point_in_time_recovery``
and is what UpdatePitr in that region sets.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
import yaml

from tablesmith.diff import diff_table
from tablesmith.errors import UsageError
from tablesmith.export.cloudformation import _global_table_resource
from tablesmith.export.terraform import _replica_body
from tablesmith.hazards import HazardCode
from tablesmith.spec.loader import load
from tablesmith.spec.model import (
    Encryption,
    Key,
    PointInTimeRecovery,
    Stream,
    Table,
    TimeToLive,
)
from tablesmith.state import LiveTable, ReplicaState

if TYPE_CHECKING:
    from pathlib import Path

DR = "eu-west-1"
ON_35 = PointInTimeRecovery(enabled=True, recovery_period_days=35)
ON_7 = PointInTimeRecovery(enabled=True, recovery_period_days=7)
TAGS = {"Environment": "prod", "Project": "p", "Owner": "o", "CostCenter": "c",
        "ManagedBy": "tablesmith", "Component": "db"}


def table(**update: Any) -> Table:
    base = Table(
        name="orders", table_name="orders", environment="prod", region="af-south-1",
        partition_key=Key(name="PK", type="S"), attribute_definitions=(Key(name="PK", type="S"),),
        point_in_time_recovery=ON_35,
        ttl=TimeToLive(enabled=False, attribute_name="expiresAt"),
        stream=Stream(enabled=True, view_type="NEW_AND_OLD_IMAGES"),
        encryption=Encryption(type="AWS_OWNED"), deletion_protection=False,
        table_class="STANDARD", replicas=(DR,), tags={"Owner": "a"},
    )
    return base.model_copy(update=update)


def live(t: Table, pitr: PointInTimeRecovery) -> LiveTable:
    return LiveTable(table=t, arn="arn:aws:dynamodb:af-south-1:123456789012:table/orders",
                     replica_states=(ReplicaState(region=DR, status="ACTIVE", tags=t.tags,
                                                  point_in_time_recovery=pitr),))


def test_the_replica_override_is_applied_in_its_region() -> None:
    ops = diff_table(live(table(), ON_35), table(replica_point_in_time_recovery={DR: ON_7}))
    assert [(op.op, op.region, op.after) for op in ops] == [("UpdatePitr", DR, ON_7)]
    assert [h.code for h in ops[0].hazards] == [HazardCode.DISABLES_RECOVERY]
    assert "in eu-west-1 shrinks from 35 to 7 days" in ops[0].hazards[0].message


def test_matching_override_and_no_override_are_no_change() -> None:
    assert diff_table(live(table(), ON_7), table(replica_point_in_time_recovery={DR: ON_7})) == []
    assert diff_table(live(table(), ON_35), table()) == []


def test_removing_the_override_returns_to_the_tables_period() -> None:
    ops = diff_table(live(table(), ON_7), table())
    assert [(op.op, op.region, op.before, op.after) for op in ops] == [
        ("UpdatePitr", DR, ON_7, ON_35)]
    assert ops[0].hazards == ()  # a longer window loses nothing


def test_a_new_replica_gets_its_own_period() -> None:
    want = table(replica_point_in_time_recovery={DR: ON_7})
    ops = diff_table(live(table(replicas=()), ON_35).model_copy(update={"replica_states": ()}),
                     want)
    pitr = [op for op in ops if op.op == "UpdatePitr"]
    assert [(op.region, op.after) for op in pitr] == [(DR, ON_7)]


def spec(tmp_path: Path, replicas: list[Any], pitr: dict[str, Any] | None = None) -> Any:
    doc = {"version": 1, "defaults": {"tags": TAGS, "alarms": {"enabled": False}},
           "environments": {"prod": {}},
           "tables": {"orders": {"partition_key": {"name": "PK", "type": "S"},
                                 "replicas": replicas,
                                 **({"point_in_time_recovery": pitr} if pitr else {})}}}
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return load(path).table("prod", "orders")


def test_both_spellings_give_the_same_table(tmp_path: Path) -> None:
    plain = spec(tmp_path, [DR, "us-east-1"])
    mapped = spec(tmp_path, [{"region": DR}, "us-east-1"])
    assert plain == mapped
    assert plain.replicas == ("eu-west-1", "us-east-1")
    assert plain.replica_point_in_time_recovery == {}


def test_the_mapping_gives_an_override_only_where_it_differs(tmp_path: Path) -> None:
    t = spec(tmp_path, [{"region": DR, "point_in_time_recovery": {
        "enabled": True, "recovery_period_days": 7}},
        {"region": "us-east-1", "point_in_time_recovery": {
            "enabled": True, "recovery_period_days": 35}}])
    assert t.replicas == (DR, "us-east-1")
    assert t.replica_point_in_time_recovery == {DR: ON_7}
    # off is off whatever the period written: it reads back as AWS's default
    off = spec(tmp_path, [{"region": DR, "point_in_time_recovery": {
        "enabled": False, "recovery_period_days": 3}}])
    assert off.replica_point_in_time_recovery == {
        DR: PointInTimeRecovery(enabled=False, recovery_period_days=35)}


def test_exporters() -> None:
    want = table(replica_point_in_time_recovery={DR: ON_7})
    replicas = {r["Region"]: r for r in _global_table_resource(want)["Properties"]["Replicas"]}
    assert replicas[DR]["PointInTimeRecoverySpecification"] == {
        "PointInTimeRecoveryEnabled": True, "RecoveryPeriodInDays": 7}
    assert replicas["af-south-1"]["PointInTimeRecoverySpecification"] == {
        "PointInTimeRecoveryEnabled": True, "RecoveryPeriodInDays": 35}
    off = PointInTimeRecovery(enabled=False, recovery_period_days=35)
    assert _replica_body(table(replica_point_in_time_recovery={DR: off}), DR, "t.x")[
        "point_in_time_recovery"] is False
    with pytest.raises(UsageError, match="aws_dynamodb_table_replica has no recovery period"):
        _replica_body(want, DR, "aws_dynamodb_table.orders")


def test_a_replica_period_is_aws_default_when_not_written(tmp_path: Path) -> None:
    # as at table level: RecoveryPeriodInDays is optional (35), and an off PITR has none
    t = spec(tmp_path, [{"region": DR, "point_in_time_recovery": {"enabled": True}},
                        {"region": "us-east-1", "point_in_time_recovery": {"enabled": False}}],
             pitr={"enabled": True, "recovery_period_days": 7})
    assert t.replica_point_in_time_recovery == {
        DR: PointInTimeRecovery(enabled=True, recovery_period_days=35),
        "us-east-1": PointInTimeRecovery(enabled=False, recovery_period_days=35)}


def test_terraform_refuses_the_tables_period_on_a_replica(tmp_path: Path) -> None:
    # no override: apply gives the replica the table's 7 days, which the replica resource
    # cannot hold (it keeps 35): refused, not exported as another table
    t = spec(tmp_path, [DR], pitr={"enabled": True, "recovery_period_days": 7})
    with pytest.raises(UsageError, match="the table's setting"):
        _replica_body(t, DR, "aws_dynamodb_table.orders")
