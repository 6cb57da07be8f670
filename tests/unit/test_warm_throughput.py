"""Warm throughput: the pure diff, the requests, the exporters' translation, and read-back.

Literal values, no AWS: the live side is a LiveTable built by hand, as in test_plan.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from tablesmith.diff import diff_table
from tablesmith.errors import UsageError
from tablesmith.export.cloudformation import _table_resource
from tablesmith.export.terraform import _table_body
from tablesmith.hazards import HazardCode
from tablesmith.live import _warm, _warm_gsis
from tablesmith.plan import Category, CreateGsi, CreateTable, UpdateWarmThroughput
from tablesmith.render.plan import describe_lines
from tablesmith.shapes import create_table_request, gsi_request, warm_throughput_update
from tablesmith.spec.model import (
    Encryption,
    GlobalSecondaryIndex,
    Key,
    PointInTimeRecovery,
    Stream,
    Table,
    TimeToLive,
    WarmThroughput,
)
from tablesmith.state import LiveTable

W12 = WarmThroughput(read_units_per_second=12_000, write_units_per_second=4_000)
W20 = WarmThroughput(read_units_per_second=20_000, write_units_per_second=8_000)


def table(**update: Any) -> Table:
    base = Table(
        name="orders", table_name="orders", environment="prod", region="af-south-1",
        partition_key=Key(name="PK", type="S"),
        attribute_definitions=(Key(name="PK", type="S"), Key(name="status", type="S")),
        point_in_time_recovery=PointInTimeRecovery(enabled=True, recovery_period_days=35),
        ttl=TimeToLive(enabled=False, attribute_name="expiresAt"),
        stream=Stream(enabled=False, view_type="NEW_AND_OLD_IMAGES"),
        encryption=Encryption(type="AWS_OWNED"), deletion_protection=False,
        table_class="STANDARD", tags={"Owner": "a"},
    )
    return base.model_copy(update=update)


def gsi(warm: WarmThroughput | None = None) -> GlobalSecondaryIndex:
    return GlobalSecondaryIndex(name="ByStatus", hash_key=Key(name="status", type="S"),
                                warm_throughput=warm)


def live(t: Table, items: int = 0) -> LiveTable:
    return LiveTable(table=t, arn="arn:aws:dynamodb:af-south-1:123456789012:table/orders",
                     item_count=items)


def test_absent_is_not_managed() -> None:
    # the live table's value is not even read without the field: nothing to compare
    assert diff_table(live(table(warm_throughput=None)), table()) == []
    assert diff_table(live(table(warm_throughput=W20)), table()) == []


def test_raising_the_table_is_one_update_with_its_cost() -> None:
    ops = diff_table(live(table(warm_throughput=W12)), table(warm_throughput=W20))
    assert [type(op) for op in ops] == [UpdateWarmThroughput]
    op = ops[0]
    assert (op.index, op.before, op.after) == (None, W12, W20)
    assert [h.code for h in op.hazards] == [HazardCode.COST_CHANGE]
    assert "20000 reads/s and 8000 writes/s" in op.hazards[0].message
    assert not op.hazards[0].blocking


def test_raising_an_index_updates_that_index_only() -> None:
    have = table(global_secondary_indexes=(gsi(W12),))
    want = table(global_secondary_indexes=(gsi(W20),))
    ops = diff_table(live(have, items=5), want)
    assert [(op.op, op.index) for op in ops] == [("UpdateWarmThroughput", "ByStatus")]


def test_an_index_is_never_recreated_for_its_warm_throughput() -> None:
    # the live index was read without warm throughput (the spec did not manage it before)
    ops = diff_table(live(table(global_secondary_indexes=(gsi(None),))),
                     table(global_secondary_indexes=(gsi(W20),)))
    assert [op.op for op in ops] == ["UpdateWarmThroughput"]
    assert ops[0].before is None


@pytest.mark.parametrize(("have", "want"), [
    (W20, W20.model_copy(update={"read_units_per_second": 19_999})),
    (W20, W20.model_copy(update={"write_units_per_second": 7_999})),
])
def test_a_table_already_warmer_than_the_spec_needs_nothing(have: WarmThroughput,
                                                            want: WarmThroughput) -> None:
    # AWS raises warm throughput by itself as traffic grows: the spec's value is a floor
    assert diff_table(live(table(warm_throughput=have)), table(warm_throughput=want)) == []
    assert diff_table(live(table(global_secondary_indexes=(gsi(have),))),
                      table(global_secondary_indexes=(gsi(want),))) == []


def test_one_side_warmer_keeps_that_side_and_raises_the_other() -> None:
    have = W20.model_copy(update={"read_units_per_second": 30_000})
    want = W20.model_copy(update={"write_units_per_second": 9_000})
    (op,) = diff_table(live(table(warm_throughput=have)), table(warm_throughput=want))
    assert op.op == "UpdateWarmThroughput"
    assert (op.after.read_units_per_second, op.after.write_units_per_second) == (30_000, 9_000)


def test_a_new_table_and_a_new_index_carry_it_in_their_create() -> None:
    want = table(warm_throughput=W20, global_secondary_indexes=(gsi(W12),))
    create = diff_table(None, want)[0]
    assert isinstance(create, CreateTable)
    assert [h.code for h in create.hazards] == [HazardCode.COST_CHANGE] * 2
    request = create_table_request(want)
    assert request["WarmThroughput"] == {"ReadUnitsPerSecond": 20_000,
                                         "WriteUnitsPerSecond": 8_000}
    assert request["GlobalSecondaryIndexes"][0]["WarmThroughput"] == {
        "ReadUnitsPerSecond": 12_000, "WriteUnitsPerSecond": 4_000}
    ops = diff_table(live(table()), table(global_secondary_indexes=(gsi(W20),)))
    assert [type(op) for op in ops] == [CreateGsi]  # no separate update for a new index
    assert [h.code for h in ops[0].hazards] == [HazardCode.COST_CHANGE]
    assert "WarmThroughput" not in gsi_request(gsi(None))


def test_update_request_for_the_table_and_for_an_index() -> None:
    assert warm_throughput_update(None, W20) == {
        "WarmThroughput": {"ReadUnitsPerSecond": 20_000, "WriteUnitsPerSecond": 8_000}}
    assert warm_throughput_update("ByStatus", W12) == {"GlobalSecondaryIndexUpdates": [
        {"Update": {"IndexName": "ByStatus", "WarmThroughput": {
            "ReadUnitsPerSecond": 12_000, "WriteUnitsPerSecond": 4_000}}}]}


def test_plan_line_in_spec_vocabulary() -> None:
    op = UpdateWarmThroughput(table="orders", region="af-south-1", index="ByStatus",
                              before=W12, after=W20, category=Category.DRIFT)
    assert describe_lines(op) == ("UpdateWarmThroughput index ByStatus", [
        "read_units_per_second: 12000 -> 20000", "write_units_per_second: 4000 -> 8000"])


def test_read_back_only_where_the_spec_manages_it() -> None:
    desc = {"WarmThroughput": {"ReadUnitsPerSecond": 12_000, "WriteUnitsPerSecond": 4_000,
                               "Status": "ACTIVE"},
            "GlobalSecondaryIndexes": [{"IndexName": "ByStatus", "WarmThroughput": {
                "ReadUnitsPerSecond": 20_000, "WriteUnitsPerSecond": 8_000,
                "Status": "UPDATING"}}]}
    assert _warm(desc["WarmThroughput"]) == W12
    assert _warm(None) is None
    assert _warm_gsis(desc, [gsi()], table(global_secondary_indexes=(gsi(W12),))) == [gsi(W20)]
    assert _warm_gsis(desc, [gsi()], table(global_secondary_indexes=(gsi(),))) == [gsi()]
    assert _warm_gsis(desc, [gsi()], None) == [gsi()]


def test_cloudformation_takes_the_request_and_terraform_says_it_cannot() -> None:
    want = table(warm_throughput=W20, global_secondary_indexes=(gsi(W12),))
    properties = _table_resource(want)["Properties"]
    request = create_table_request(want)
    assert properties["WarmThroughput"] == request["WarmThroughput"]
    assert properties["GlobalSecondaryIndexes"] == request["GlobalSecondaryIndexes"]
    with pytest.raises(UsageError, match=r"warm_throughput \(on the table, index 'ByStatus'\)"):
        _table_body(want.model_copy(update={"billing_mode": "PAY_PER_REQUEST"}))
    assert "WarmThroughput" not in _table_resource(table())["Properties"]
