"""The family contract holds for every registered family (whatever families exist).

A family that forgets a part of the contract fails here, not in a plan: every operation type
has exactly one handler, a family's operations are its own module's, and its state is part of
the plan fingerprint (a saved plan is refused when any family's resources changed).
"""

from __future__ import annotations

import inspect

import pytest

from tablesmith.apply import _TABLE_HANDLERS, _handlers
from tablesmith.around.contract import ResourceFamily
from tablesmith.around.registry import FAMILIES, family_handlers, family_of
from tablesmith.plan import OPERATION_TYPES
from tablesmith.spec.model import (
    Encryption,
    Key,
    PointInTimeRecovery,
    Stream,
    Table,
    TimeToLive,
)
from tablesmith.state import LiveState, LiveTable

CONTRACT = [name for name, _ in inspect.getmembers(ResourceFamily)
            if not name.startswith("_")]


def test_every_operation_type_has_exactly_one_handler() -> None:
    handled = _handlers()
    assert set(handled) == set(OPERATION_TYPES.values()), (
        "operation types without a handler: "
        f"{sorted(t.__name__ for t in set(OPERATION_TYPES.values()) - set(handled))}")
    table_types, family_types = set(_TABLE_HANDLERS), set(family_handlers())
    assert not table_types & family_types
    owners = [f.name for f in FAMILIES for t in f.handlers]
    assert len(owners) == len(family_types), "two families handle one operation type"


def test_names_are_unique_and_not_a_table_feature() -> None:
    names = [f.name for f in FAMILIES]
    assert len(set(names)) == len(names)
    assert not {"tags", "pitr"} & set(names)  # the table's own endpoint gaps


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.name)
def test_family_provides_the_whole_contract(family: ResourceFamily[object]) -> None:
    missing = [name for name in CONTRACT if not hasattr(family, name)]
    assert not missing, f"{family.name} lacks {missing}"
    module = inspect.getmodule(type(family))
    for op_type in family.handlers:
        assert inspect.getmodule(op_type) is module, (
            f"{op_type.__name__} is handled by {family.name} but defined elsewhere")
        assert family_of(op_type.model_construct()) is family


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.name)
def test_spec_fields_are_fields_of_the_table(family: ResourceFamily[object]) -> None:
    assert family.spec_fields, f"{family.name} owns no spec field"
    assert set(family.spec_fields) <= set(Table.model_fields)
    owners = [name for f in FAMILIES for name in f.spec_fields]
    assert len(owners) == len(set(owners)), "two families own one field"


def _table() -> Table:
    key = Key(name="PK", type="S")
    return Table(name="orders", table_name="orders-dev", environment="dev",
                 region="af-south-1", partition_key=key, attribute_definitions=(key,),
                 deletion_protection=True,
                 point_in_time_recovery=PointInTimeRecovery(enabled=True,
                                                            recovery_period_days=35),
                 ttl=TimeToLive(enabled=False, attribute_name="expiresAt"),
                 stream=Stream(enabled=False, view_type="NEW_AND_OLD_IMAGES"),
                 encryption=Encryption(type="AWS_OWNED"), table_class="STANDARD",
                 tags={"Environment": "dev"})


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.name)
def test_family_state_is_part_of_the_fingerprint(family: ResourceFamily[object]) -> None:
    table = _table()
    live = LiveTable(table=table, arn="arn:aws:dynamodb:af-south-1:1:table/orders-dev")
    empty = LiveState(region="af-south-1", tables={table.table_name: live},
                      around={family.name: family.state_type()})
    other = LiveState(region="af-south-1", tables={table.table_name: live},
                      around={family.name: _something(family, table.table_name)})
    assert empty.fingerprint() != other.fingerprint(), (
        f"{family.name}'s resources are not in the plan fingerprint")


def _something(family: ResourceFamily[object], name: str) -> object:
    """A state of ``family`` in which table ``name`` has something (built from the family's
    own state model: its first per-table mapping gets one default-ish entry)."""
    state_type = family.state_type
    field = state_type.model_fields["tables"]
    value_type = field.annotation
    args = getattr(value_type, "__args__", ())
    item = args[1] if len(args) == 2 else None
    assert item is not None, f"{family.name}'s state has no per-table mapping"
    sample = _SAMPLES.get(family.name)
    assert sample is not None, f"add a sample live value for {family.name} to this test"
    return state_type(tables={name: sample})


def _samples() -> dict[str, object]:
    from tablesmith.around.alarms import LiveAlarm
    from tablesmith.around.backup import LiveBackup
    from tablesmith.around.contributor_insights import LiveInsights
    from tablesmith.around.kinesis import LiveDestination
    from tablesmith.around.resource_policy import LivePolicy, TablePolicies
    from tablesmith.resources import Backup, BackupVault, MetricAlarm
    from tablesmith.spec.model import KinesisStreamingDestination

    alarm = MetricAlarm(name="orders-dev-x", region="af-south-1", threshold=1,
                        evaluation_periods=1)
    return {
        "backup": LiveBackup(backup=Backup(vault=BackupVault(name="v", region="af-south-1"))),
        "alarms": (LiveAlarm(alarm=alarm, arn="arn:alarm"),),
        "contributor_insights": (LiveInsights(region="af-south-1", status="ENABLED"),),
        "kinesis": (LiveDestination(destination=KinesisStreamingDestination(
            stream_arn="arn:aws:kinesis:af-south-1:123456789012:stream/s"), status="ACTIVE"),),
        "resource_policy": TablePolicies(read=("table",), table=LivePolicy(
            arn="arn:aws:dynamodb:af-south-1:1:table/orders-dev", document="{}",
            revision_id="1")),
    }


_SAMPLES = _samples()
