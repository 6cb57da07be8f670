"""Tier-1 tests of the pure diff (``diff.py``): literal tables in, ordered operations out.

Every test asserts the exact list of ``(op, region, [hazard codes])`` in plan order, so a
change in order, a missing or extra operation, or a hazard in the wrong place all fail.
"""

from __future__ import annotations

from typing import Any

import pytest

from tablesmith import live as live_reader
from tablesmith.diff import diff_table, plan_destroy, plan_environment
from tablesmith.errors import PlanError
from tablesmith.spec.model import (
    AlarmRule,
    Encryption,
    GlobalSecondaryIndex,
    Key,
    LocalSecondaryIndex,
    OnDemandThroughput,
    PointInTimeRecovery,
    Stream,
    Table,
    TimeToLive,
)
from tablesmith.state import LiveState, LiveTable, ReplicaState

PRIMARY = "af-south-1"
DR = "eu-west-1"
OTHER = "us-east-1"
ARN = "arn:aws:dynamodb:af-south-1:123456789012:table/x"
KEY_ARN = "arn:aws:kms:af-south-1:123456789012:key/11111111-2222-3333-4444-555555555555"
DR_KEY_ARN = "arn:aws:kms:eu-west-1:123456789012:key/66666666-7777-8888-9999-000000000000"

PITR_OFF = PointInTimeRecovery(enabled=False, recovery_period_days=35)
PITR_35 = PointInTimeRecovery(enabled=True, recovery_period_days=35)
PITR_7 = PointInTimeRecovery(enabled=True, recovery_period_days=7)
TTL_OFF = TimeToLive(enabled=False, attribute_name="expiresAt")
TTL_ON = TimeToLive(enabled=True, attribute_name="expiresAt")
STREAM_OFF = Stream(enabled=False, view_type="NEW_AND_OLD_IMAGES")
STREAM_ON = Stream(enabled=True, view_type="NEW_AND_OLD_IMAGES")
TAGS = {"Environment": "prod", "Project": "shop", "tablesmith:managed": "prod"}

_RULE = AlarmRule(enabled=True, threshold=1.0, period=60, evaluation_periods=1, statistic="Sum")


def table(**update: Any) -> Table:
    """A complete effective table as the spec produces it; ``update`` varies it."""
    base = Table(
        name="orders",
        table_name="orders",
        environment="prod",
        region=PRIMARY,
        partition_key=Key(name="PK", type="S"),
        sort_key=Key(name="SK", type="S"),
        attribute_definitions=(Key(name="PK", type="S"), Key(name="SK", type="S")),
        point_in_time_recovery=PITR_OFF,
        ttl=TTL_OFF,
        stream=STREAM_OFF,
        encryption=Encryption(type="AWS_OWNED"),
        deletion_protection=False,
        table_class="STANDARD",
        tags=dict(TAGS),
        # the resources around the table (backup, alarms) have tests of their own
        backup=None,
        alarms=None,
    )
    return base.model_copy(update=update)


def full(**update: Any) -> Table:
    """A table with every optional feature on and a replica in the DR region."""
    return table(
        **{
            "point_in_time_recovery": PITR_35,
            "ttl": TTL_ON,
            "stream": STREAM_ON,
            "deletion_protection": True,
            "replicas": (DR,),
            "global_secondary_indexes": (gsi("ByCustomer"),),
            **update,
        }
    )


def gsi(name: str, **update: Any) -> GlobalSecondaryIndex:
    """A GSI keyed on ``<name>PK``."""
    return GlobalSecondaryIndex(name=name, hash_key=Key(name=f"{name}PK", type="S"), **update)


def replica_of(t: Table, region: str = DR, **update: Any) -> ReplicaState:
    """The ACTIVE replica of ``t`` in ``region``, its own settings matching ``t``'s."""
    state = ReplicaState(
        region=region,
        status="ACTIVE",
        arn=f"arn:aws:dynamodb:{region}:123456789012:table/{t.table_name}",
        deletion_protection=t.deletion_protection,
        point_in_time_recovery=t.point_in_time_recovery,
        tags=dict(t.tags),
    )
    return state.model_copy(update=update)


def live(
    t: Table, *, items: int = 0, replicas: tuple[ReplicaState, ...] | None = None, **update: Any
) -> LiveTable:
    """``t`` as AWS holds it: backup and alarms are not part of the read table."""
    if replicas is None:
        replicas = tuple(replica_of(t, r) for r in t.replicas)
    return LiveTable(
        table=t.model_copy(update={"backup": None, "alarms": None}),
        arn=ARN,
        item_count=items,
        replica_states=replicas,
        **update,
    )


def steps(ops: Any) -> list[tuple[str, str, list[str]]]:
    """(operation, region, hazard codes) per operation, in plan order."""
    return [(op.op, op.region, [h.code.value for h in op.hazards]) for op in ops]


def state(*tables: LiveTable, **update: Any) -> LiveState:
    """A live state holding ``tables`` under their physical names."""
    return LiveState(region=PRIMARY, tables={lt.table.table_name: lt for lt in tables}, **update)


# --------------------------------------------------------------------------- absent table


def test_absent_table_is_one_create_table_when_nothing_else_is_on() -> None:
    ops = diff_table(None, table())
    assert steps(ops) == [("CreateTable", PRIMARY, [])]
    assert ops[0].after == table()  # tags, SSE, stream, protection all travel in CreateTable


def test_absent_table_with_everything_on_creates_then_sets_what_create_table_cannot() -> None:
    want = full(
        encryption=Encryption(type="AWS_MANAGED"),
        table_class="STANDARD_INFREQUENT_ACCESS",
        on_demand_throughput=OnDemandThroughput(max_read_request_units=100),
    )
    ops = diff_table(None, want)
    assert steps(ops) == [
        ("CreateTable", PRIMARY, []),
        ("UpdatePitr", PRIMARY, []),
        ("UpdateTtl", PRIMARY, []),
        ("CreateReplica", PRIMARY, ["COST_CHANGE"]),
        ("UpdateDeletionProtection", DR, []),
        ("UpdatePitr", DR, []),
        ("TagResource", DR, []),
    ]
    assert ops[1].before == PITR_OFF and ops[1].after == PITR_35
    assert ops[2].before == TTL_OFF and ops[2].after == TTL_ON
    assert ops[3].replica_region == DR
    assert (ops[4].before, ops[4].after) == (False, True)
    assert ops[6].before == {} and ops[6].after == TAGS


def test_absent_table_with_two_replicas_creates_each_with_its_settings_in_turn() -> None:
    want = table(stream=STREAM_ON, replicas=(DR, OTHER))
    assert steps(diff_table(None, want)) == [
        ("CreateTable", PRIMARY, []),
        ("CreateReplica", PRIMARY, ["COST_CHANGE"]),
        ("TagResource", DR, []),
        ("CreateReplica", PRIMARY, ["COST_CHANGE"]),
        ("TagResource", OTHER, []),
    ]


def test_absent_table_in_plan_environment_is_created() -> None:
    plan = plan_environment(
        LiveState(region=PRIMARY, tables={"orders": None}), [table()], environment="prod"
    )
    assert steps(plan.operations) == [("CreateTable", PRIMARY, [])]
    assert (plan.environment, plan.region, plan.destroy) == ("prod", PRIMARY, False)


# --------------------------------------------------------------------------- no changes


@pytest.mark.parametrize("want", [table(), full()], ids=["plain", "everything-on"])
def test_identical_live_and_desired_is_no_operation(want: Table) -> None:
    assert diff_table(live(want, items=1000), want) == []


def test_identical_in_plan_environment_has_no_changes() -> None:
    plan = plan_environment(state(live(full(), items=5)), [full()], environment="prod")
    assert plan.operations == ()
    assert not plan.has_changes


def test_ttl_off_on_both_sides_with_different_attribute_names_is_no_change() -> None:
    have = table(ttl=TimeToLive(enabled=False, attribute_name="expiryTime"))
    assert diff_table(live(have), table(ttl=TTL_OFF)) == []


def test_stream_off_on_both_sides_with_different_view_types_is_no_change() -> None:
    have = table(stream=Stream(enabled=False, view_type="KEYS_ONLY"))
    assert diff_table(live(have), table(stream=STREAM_OFF)) == []


def test_pitr_off_on_both_sides_with_different_periods_is_no_change() -> None:
    have = table(point_in_time_recovery=PointInTimeRecovery(enabled=False, recovery_period_days=7))
    assert diff_table(live(have), table()) == []


def test_ttl_enabling_counts_as_enabled() -> None:
    want = table(ttl=TTL_ON)
    assert diff_table(live(want, ttl_status="ENABLING"), want) == []


def _describe(t: Table, *, ttl_status: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A literal DescribeTable and DescribeTimeToLive answer for ``t`` (no GSIs)."""
    desc: dict[str, Any] = {
        "TableName": t.table_name,
        "TableArn": ARN,
        "KeySchema": [
            {"AttributeName": "PK", "KeyType": "HASH"},
            {"AttributeName": "SK", "KeyType": "RANGE"},
        ],
        "AttributeDefinitions": [
            {"AttributeName": "PK", "AttributeType": "S"},
            {"AttributeName": "SK", "AttributeType": "S"},
        ],
        "BillingModeSummary": {"BillingMode": "PAY_PER_REQUEST"},
        "DeletionProtectionEnabled": t.deletion_protection,
        "Replicas": [{"RegionName": r, "ReplicaStatus": "ACTIVE"} for r in t.replicas],
    }
    if t.stream.enabled:
        desc["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": t.stream.view_type}
    if t.encryption.type == "CUSTOMER_MANAGED":
        desc["SSEDescription"] = {
            "Status": "ENABLED",
            "SSEType": "KMS",
            "KMSMasterKeyArn": t.encryption.kms_key_arn,
        }
    ttl = {"TimeToLiveStatus": ttl_status, "AttributeName": t.ttl.attribute_name}
    return desc, ttl


def _read(desc: dict[str, Any], ttl: dict[str, Any], want: Table) -> Table:
    # the read is pure for these answers: no KMS lookup (AWS-owned key, or the spec's own CMK)
    no_clients: Any = None
    pitr, tags = want.point_in_time_recovery, dict(want.tags)
    return live_reader._table(no_clients, desc, PRIMARY, want, pitr, ttl, tags)


def test_ttl_enabling_status_is_read_as_enabled() -> None:
    want = table(ttl=TTL_ON)
    desc, ttl = _describe(want, ttl_status="ENABLING")
    read = _read(desc, ttl, want)
    assert read.ttl == TTL_ON
    assert diff_table(live(read, ttl_status="ENABLING"), want) == []


def test_customer_key_table_with_replica_read_back_is_no_change() -> None:
    enc = Encryption(
        type="CUSTOMER_MANAGED", kms_key_arn=KEY_ARN, replica_kms_key_arns={DR: DR_KEY_ARN}
    )
    want = table(stream=STREAM_ON, replicas=(DR,), encryption=enc)
    desc, ttl = _describe(want, ttl_status="DISABLED")
    read = _read(desc, ttl, want)
    assert steps(diff_table(live(read), want)) == []


def test_replicas_whose_own_settings_match_are_no_change() -> None:
    want = full(replicas=(DR, OTHER))
    assert diff_table(live(want), want) == []


def test_replica_read_without_pitr_counts_as_pitr_off() -> None:
    want = table(stream=STREAM_ON, replicas=(DR,))
    have = live(want, replicas=(replica_of(want, point_in_time_recovery=None),))
    assert diff_table(have, want) == []


# --------------------------------------------------------------------------- replacement


def test_sort_key_change_replaces_the_table_and_warns_of_data_loss() -> None:
    have = table(sort_key=Key(name="created", type="N"))
    ops = diff_table(live(have, items=1234), table())
    assert steps(ops) == [("ReplaceTable", PRIMARY, ["REPLACES_TABLE"])]
    hazard = ops[0].hazards[0]
    assert "key schema" in hazard.message
    assert "deleted" in hazard.message and "1234" in hazard.message
    assert "copy the items" in hazard.suggestion and "new table" in hazard.suggestion
    assert ops[0].before.sort_key == Key(name="created", type="N")
    assert ops[0].after == table()
    assert ops[0].item_count == 1234


def test_partition_key_type_change_replaces_the_table() -> None:
    have = table(partition_key=Key(name="PK", type="N"))
    assert steps(diff_table(live(have), table())) == [("ReplaceTable", PRIMARY, ["REPLACES_TABLE"])]


def test_lsi_change_replaces_the_table() -> None:
    lsi = LocalSecondaryIndex(name="ByDate", range_key=Key(name="date", type="S"))
    ops = diff_table(live(table(), items=3), table(local_secondary_indexes=(lsi,)))
    assert steps(ops) == [("ReplaceTable", PRIMARY, ["REPLACES_TABLE"])]
    assert "local secondary indexes" in ops[0].hazards[0].message
    assert "3 item" in ops[0].hazards[0].message


def test_replacing_a_protected_table_with_replicas_lifts_protection_deletes_replicas_first() -> (
    None
):
    want = full(sort_key=Key(name="created", type="N"))
    have = live(
        full(deletion_protection=True),
        items=10,
        replicas=(replica_of(full(), deletion_protection=False),),
    )
    assert steps(diff_table(have, want)) == [
        ("UpdateDeletionProtection", PRIMARY, ["LIFTS_PROTECTION"]),
        ("DeleteReplica", PRIMARY, ["DELETES_DATA"]),
        ("ReplaceTable", PRIMARY, ["REPLACES_TABLE"]),
        # what CreateTable cannot set on the fresh table
        ("UpdatePitr", PRIMARY, []),
        ("UpdateTtl", PRIMARY, []),
        ("CreateReplica", PRIMARY, ["COST_CHANGE"]),
        ("UpdateDeletionProtection", DR, []),
        ("UpdatePitr", DR, []),
        ("TagResource", DR, []),
    ]


def test_replacing_an_unprotected_table_needs_no_lift() -> None:
    ops = diff_table(live(table(), items=0), table(sort_key=None))
    assert steps(ops) == [("ReplaceTable", PRIMARY, ["REPLACES_TABLE"])]


def test_replacing_a_table_lifts_a_protected_replicas_protection_before_deleting_it() -> None:
    want = full(sort_key=Key(name="created", type="N"))
    have = live(full(), items=10)  # the replica in DR is protected, like the primary
    assert steps(diff_table(have, want))[:4] == [
        ("UpdateDeletionProtection", PRIMARY, ["LIFTS_PROTECTION"]),
        ("UpdateDeletionProtection", DR, ["LIFTS_PROTECTION"]),
        ("DeleteReplica", PRIMARY, ["DELETES_DATA"]),
        ("ReplaceTable", PRIMARY, ["REPLACES_TABLE"]),
    ]


# --------------------------------------------------------------------------- GSIs


def test_adding_a_gsi_to_an_empty_table_has_no_hazard() -> None:
    ops = diff_table(live(table(), items=0), table(global_secondary_indexes=(gsi("ByEmail"),)))
    assert steps(ops) == [("CreateGsi", PRIMARY, [])]
    assert ops[0].after == gsi("ByEmail")


def test_adding_a_gsi_to_a_table_with_items_backfills() -> None:
    ops = diff_table(live(table(), items=5000), table(global_secondary_indexes=(gsi("ByEmail"),)))
    assert steps(ops) == [("CreateGsi", PRIMARY, ["INDEX_BACKFILL"])]
    assert "5000" in ops[0].hazards[0].message
    assert not ops[0].hazards[0].blocking
    assert ops[0].item_count == 5000


def test_removing_a_gsi_deletes_the_index() -> None:
    ops = diff_table(live(table(global_secondary_indexes=(gsi("ByEmail"),))), table())
    assert steps(ops) == [("DeleteGsi", PRIMARY, ["DELETES_INDEX"])]
    assert ops[0].before == gsi("ByEmail")


def test_changing_a_gsi_projection_deletes_then_creates_it() -> None:
    have = table(global_secondary_indexes=(gsi("ByEmail"),))
    want = table(global_secondary_indexes=(gsi("ByEmail", projection_type="KEYS_ONLY"),))
    ops = diff_table(live(have, items=7), want)
    assert steps(ops) == [
        ("DeleteGsi", PRIMARY, ["DELETES_INDEX"]),
        ("CreateGsi", PRIMARY, ["INDEX_BACKFILL"]),
    ]
    assert ops[0].before.projection_type == "ALL"
    assert ops[1].after.projection_type == "KEYS_ONLY"


def test_several_gsi_changes_delete_all_first_then_create_sorted_by_name() -> None:
    have = table(
        global_secondary_indexes=(
            gsi("Alpha"),
            gsi("Bravo"),
            gsi("Delta"),
            gsi("Kilo"),
            gsi("Zulu"),
        )
    )
    want = table(
        global_secondary_indexes=(
            gsi("Alpha"),  # unchanged
            gsi("Charlie"),  # new
            gsi("Delta", range_key=Key(name="at", type="N")),  # changed keys
            gsi("Echo"),  # new
            gsi("Kilo", projection_type="INCLUDE", non_key_attributes=("email",)),  # changed
        )
    )  # Bravo and Zulu go
    ops = diff_table(live(have), want)
    assert [(op.op, op.before.name if op.op == "DeleteGsi" else op.after.name) for op in ops] == [
        ("DeleteGsi", "Bravo"),
        ("DeleteGsi", "Delta"),
        ("DeleteGsi", "Kilo"),
        ("DeleteGsi", "Zulu"),
        ("CreateGsi", "Charlie"),
        ("CreateGsi", "Delta"),
        ("CreateGsi", "Echo"),
        ("CreateGsi", "Kilo"),
    ]
    assert all(op.region == PRIMARY for op in ops)


# --------------------------------------------------------------------------- stream


def test_stream_off_to_on_has_no_hazard() -> None:
    ops = diff_table(live(table()), table(stream=STREAM_ON))
    assert steps(ops) == [("UpdateStream", PRIMARY, [])]
    assert (ops[0].before.enabled, ops[0].after) == (False, STREAM_ON)


def test_stream_on_to_off_changes_the_stream_arn() -> None:
    ops = diff_table(live(table(stream=STREAM_ON)), table())
    assert steps(ops) == [("UpdateStream", PRIMARY, ["STREAM_ARN_CHANGES"])]
    assert (ops[0].before, ops[0].after.enabled) == (STREAM_ON, False)


def test_stream_view_type_change_is_off_then_on_with_the_hazard_on_the_first() -> None:
    keys_only = Stream(enabled=True, view_type="KEYS_ONLY")
    ops = diff_table(live(table(stream=keys_only)), table(stream=STREAM_ON))
    assert steps(ops) == [
        ("UpdateStream", PRIMARY, ["STREAM_ARN_CHANGES"]),
        ("UpdateStream", PRIMARY, []),
    ]
    assert (ops[0].before, ops[0].after.enabled) == (keys_only, False)
    assert (ops[1].before.enabled, ops[1].after) == (False, STREAM_ON)


def test_gsi_changes_sit_between_stream_off_and_stream_on() -> None:
    have = table(
        stream=Stream(enabled=True, view_type="KEYS_ONLY"), global_secondary_indexes=(gsi("Old"),)
    )
    want = table(stream=STREAM_ON, global_secondary_indexes=(gsi("New"),))
    assert [op.op for op in diff_table(live(have), want)] == [
        "UpdateStream",
        "DeleteGsi",
        "CreateGsi",
        "UpdateStream",
    ]


# --------------------------------------------------------------------------- PITR


@pytest.mark.parametrize(
    ("before", "after", "hazards"),
    [
        (PITR_35, PITR_OFF, ["DISABLES_RECOVERY"]),
        (PITR_35, PITR_7, ["DISABLES_RECOVERY"]),
        (PITR_7, PITR_35, []),
        (PITR_OFF, PITR_7, []),
    ],
    ids=["on-to-off", "shorter", "longer", "off-to-on"],
)
def test_pitr_changes(
    before: PointInTimeRecovery, after: PointInTimeRecovery, hazards: list[str]
) -> None:
    ops = diff_table(
        live(table(point_in_time_recovery=before)), table(point_in_time_recovery=after)
    )
    assert steps(ops) == [("UpdatePitr", PRIMARY, hazards)]
    assert (ops[0].before, ops[0].after) == (before, after)


def test_pitr_shrinking_names_both_periods() -> None:
    ops = diff_table(
        live(table(point_in_time_recovery=PITR_35)), table(point_in_time_recovery=PITR_7)
    )
    message = ops[0].hazards[0].message
    assert "35" in message and "7" in message


# --------------------------------------------------------------------------- TTL


def test_ttl_off_to_on() -> None:
    ops = diff_table(live(table()), table(ttl=TTL_ON))
    assert steps(ops) == [("UpdateTtl", PRIMARY, [])]
    assert (ops[0].before.enabled, ops[0].after) == (False, TTL_ON)


def test_ttl_on_to_off() -> None:
    ops = diff_table(live(table(ttl=TTL_ON)), table())
    assert steps(ops) == [("UpdateTtl", PRIMARY, [])]
    assert (ops[0].before, ops[0].after.enabled) == (TTL_ON, False)


def test_ttl_attribute_change_is_two_steps_with_the_hazard_on_the_first() -> None:
    new = TimeToLive(enabled=True, attribute_name="purgeAt")
    ops = diff_table(live(table(ttl=TTL_ON)), table(ttl=new))
    assert steps(ops) == [("UpdateTtl", PRIMARY, ["TTL_TWO_STEPS"]), ("UpdateTtl", PRIMARY, [])]
    off = TimeToLive(enabled=False, attribute_name="expiresAt")
    assert (ops[0].before, ops[0].after) == (TTL_ON, off)
    assert (ops[1].before, ops[1].after) == (off, new)
    assert not ops[0].hazards[0].blocking
    assert "expiresAt" in ops[0].hazards[0].message and "purgeAt" in ops[0].hazards[0].message


# --------------------------------------------------------------------------- tags


def test_added_and_changed_tags_are_one_tag_resource_with_before_and_after() -> None:
    want = table(tags={**TAGS, "Owner": "team-a", "Project": "shop2"})
    ops = diff_table(live(table()), want)
    assert steps(ops) == [("TagResource", PRIMARY, [])]
    assert ops[0].before == {"Project": "shop"}
    assert ops[0].after == {"Owner": "team-a", "Project": "shop2"}


def test_removed_tags_are_untagged() -> None:
    ops = diff_table(live(table(tags={**TAGS, "Owner": "team-a"})), table())
    assert steps(ops) == [("UntagResource", PRIMARY, [])]
    assert ops[0].before == {"Owner": "team-a"}


def test_removed_and_changed_tags_untag_then_tag() -> None:
    have = table(tags={**TAGS, "Owner": "team-a"})
    want = table(tags={**TAGS, "Project": "shop2"})
    ops = diff_table(live(have), want)
    assert steps(ops) == [("UntagResource", PRIMARY, []), ("TagResource", PRIMARY, [])]
    assert ops[0].before == {"Owner": "team-a"}
    assert (ops[1].before, ops[1].after) == ({"Project": "shop"}, {"Project": "shop2"})


# --------------------------------------------------------------------------- protection


def test_deletion_protection_on_to_off_lifts_protection() -> None:
    ops = diff_table(live(table(deletion_protection=True)), table())
    assert steps(ops) == [("UpdateDeletionProtection", PRIMARY, ["LIFTS_PROTECTION"])]
    assert (ops[0].before, ops[0].after) == (True, False)
    assert ops[0].hazards[0].blocking


def test_deletion_protection_off_to_on_has_no_hazard() -> None:
    ops = diff_table(live(table()), table(deletion_protection=True))
    assert steps(ops) == [("UpdateDeletionProtection", PRIMARY, [])]
    assert (ops[0].before, ops[0].after) == (False, True)


# --------------------------------------------------------------------------- SSE, class, billing


def test_sse_change_is_update_sse() -> None:
    enc = Encryption(type="CUSTOMER_MANAGED", kms_key_arn=KEY_ARN)
    ops = diff_table(live(table()), table(encryption=enc))
    assert steps(ops) == [("UpdateSse", PRIMARY, [])]
    assert (ops[0].before.type, ops[0].after) == ("AWS_OWNED", enc)


def test_table_class_change_is_a_cost_change() -> None:
    ops = diff_table(live(table()), table(table_class="STANDARD_INFREQUENT_ACCESS"))
    assert steps(ops) == [("UpdateTableClass", PRIMARY, ["COST_CHANGE"])]
    assert (ops[0].before, ops[0].after) == ("STANDARD", "STANDARD_INFREQUENT_ACCESS")
    assert not ops[0].hazards[0].blocking


def test_provisioned_to_on_demand_is_a_cost_change() -> None:
    ops = diff_table(live(table(billing_mode="PROVISIONED")), table())
    assert steps(ops) == [("UpdateBillingMode", PRIMARY, ["COST_CHANGE"])]
    assert (ops[0].before, ops[0].after) == ("PROVISIONED", "PAY_PER_REQUEST")


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (None, OnDemandThroughput(max_read_request_units=100)),
        (OnDemandThroughput(max_read_request_units=100), None),
        (
            OnDemandThroughput(max_read_request_units=100),
            OnDemandThroughput(max_read_request_units=100, max_write_request_units=50),
        ),
    ],
    ids=["cap", "uncap", "change"],
)
def test_on_demand_caps(
    before: OnDemandThroughput | None, after: OnDemandThroughput | None
) -> None:
    ops = diff_table(live(table(on_demand_throughput=before)), table(on_demand_throughput=after))
    assert steps(ops) == [("UpdateOnDemandThroughput", PRIMARY, [])]
    assert (ops[0].before, ops[0].after) == (before, after)


def test_everything_changing_at_once_follows_the_documented_order() -> None:
    """diff.py step 3: billing -> replica deletions -> stream off -> GSI deletions -> GSI
    creations -> stream on -> SSE -> class -> caps -> protection -> PITR -> TTL -> replica
    creations with their settings -> existing replicas' settings. (Primary tags are left out
    here: their place after TTL is tested below.)"""
    have = table(
        billing_mode="PROVISIONED",
        replicas=(DR, OTHER),
        stream=Stream(enabled=True, view_type="KEYS_ONLY"),
        global_secondary_indexes=(gsi("Old"),),
        deletion_protection=True,
        point_in_time_recovery=PITR_35,
    )
    want = table(
        replicas=(DR, "eu-central-1"),
        stream=STREAM_ON,
        global_secondary_indexes=(gsi("New"),),
        encryption=Encryption(type="AWS_MANAGED"),
        table_class="STANDARD_INFREQUENT_ACCESS",
        on_demand_throughput=OnDemandThroughput(max_write_request_units=10),
        ttl=TTL_ON,
    )
    old_dr = replica_of(have, DR, tags={**TAGS, "Stale": "x"})
    ops = diff_table(live(have, items=2, replicas=(old_dr, replica_of(have, OTHER))), want)
    assert steps(ops) == [
        ("UpdateBillingMode", PRIMARY, ["COST_CHANGE"]),
        ("UpdateDeletionProtection", OTHER, ["LIFTS_PROTECTION"]),  # the replica's own
        ("DeleteReplica", PRIMARY, ["DELETES_DATA"]),
        ("UpdateStream", PRIMARY, ["STREAM_ARN_CHANGES"]),
        ("DeleteGsi", PRIMARY, ["DELETES_INDEX"]),
        ("CreateGsi", PRIMARY, ["INDEX_BACKFILL"]),
        ("UpdateStream", PRIMARY, []),
        ("UpdateSse", PRIMARY, []),
        ("UpdateTableClass", PRIMARY, ["COST_CHANGE"]),
        ("UpdateOnDemandThroughput", PRIMARY, []),
        ("UpdateDeletionProtection", PRIMARY, ["LIFTS_PROTECTION"]),
        ("UpdatePitr", PRIMARY, ["DISABLES_RECOVERY"]),
        ("UpdateTtl", PRIMARY, []),
        ("CreateReplica", PRIMARY, ["COST_CHANGE"]),
        ("TagResource", "eu-central-1", []),
        ("UpdateDeletionProtection", DR, ["LIFTS_PROTECTION"]),
        ("UpdatePitr", DR, ["DISABLES_RECOVERY"]),
        ("UntagResource", DR, []),
    ]
    assert ops[2].replica_region == OTHER


def test_primary_tags_come_after_pitr_and_before_replica_creations() -> None:
    have = table(stream=STREAM_ON)
    want = table(
        stream=STREAM_ON, replicas=(DR,), point_in_time_recovery=PITR_7, tags={"Owner": "a"}
    )
    assert steps(diff_table(live(have), want)) == [
        ("UpdatePitr", PRIMARY, []),
        ("UntagResource", PRIMARY, []),
        ("TagResource", PRIMARY, []),
        ("CreateReplica", PRIMARY, ["COST_CHANGE"]),
        ("UpdatePitr", DR, []),
        ("TagResource", DR, []),
    ]


def test_ttl_comes_before_tags_as_documented() -> None:
    ops = diff_table(live(table()), table(ttl=TTL_ON, tags={**TAGS, "Owner": "a"}))
    assert [op.op for op in ops] == ["UpdateTtl", "TagResource"]


# --------------------------------------------------------------------------- replicas


def test_adding_a_replica_costs_and_sets_its_own_settings_in_its_region() -> None:
    have = full(replicas=())
    ops = diff_table(live(have), full())
    assert steps(ops) == [
        ("CreateReplica", PRIMARY, ["COST_CHANGE"]),
        ("UpdateDeletionProtection", DR, []),
        ("UpdatePitr", DR, []),
        ("TagResource", DR, []),
    ]
    assert ops[0].replica_region == DR
    assert DR in ops[0].hazards[0].message


def test_removing_a_replica_deletes_its_data() -> None:
    want = table(stream=STREAM_ON)
    ops = diff_table(live(table(stream=STREAM_ON, replicas=(DR,))), want)
    assert steps(ops) == [("DeleteReplica", PRIMARY, ["DELETES_DATA"])]
    assert ops[0].replica_region == DR


def test_removing_the_last_replica_and_the_stream_deletes_the_replica_first() -> None:
    ops = diff_table(live(table(stream=STREAM_ON, replicas=(DR,))), table())
    assert steps(ops) == [
        ("DeleteReplica", PRIMARY, ["DELETES_DATA"]),
        ("UpdateStream", PRIMARY, ["STREAM_ARN_CHANGES"]),
    ]


def test_removing_a_protected_replica_lifts_its_protection_first() -> None:
    want = full(replicas=())
    ops = diff_table(live(full()), want)  # the replica in DR is protected
    assert steps(ops) == [
        ("UpdateDeletionProtection", DR, ["LIFTS_PROTECTION"]),
        ("DeleteReplica", PRIMARY, ["DELETES_DATA"]),
    ]


@pytest.mark.parametrize(
    ("drift", "expected"),
    [
        (
            {"tags": {"Project": "old", "Stale": "x"}},
            [("UntagResource", DR, []), ("TagResource", DR, [])],
        ),
        ({"deletion_protection": False}, [("UpdateDeletionProtection", DR, [])]),
        ({"point_in_time_recovery": PITR_OFF}, [("UpdatePitr", DR, [])]),
        ({"point_in_time_recovery": PITR_7}, [("UpdatePitr", DR, [])]),
    ],
    ids=["tags", "protection", "pitr-off", "pitr-shorter"],
)
def test_replica_drift_is_fixed_in_the_replicas_region_only(
    drift: dict[str, Any], expected: list[tuple[str, str, list[str]]]
) -> None:
    want = full()
    have = live(want, replicas=(replica_of(want, **drift),))
    assert steps(diff_table(have, want)) == expected


def test_replica_drift_toward_less_protection_carries_the_hazards() -> None:
    want = full(deletion_protection=False, point_in_time_recovery=PITR_7)
    have = live(
        want, replicas=(replica_of(want, deletion_protection=True, point_in_time_recovery=PITR_35),)
    )
    ops = diff_table(have, want)
    assert steps(ops) == [
        ("UpdateDeletionProtection", DR, ["LIFTS_PROTECTION"]),
        ("UpdatePitr", DR, ["DISABLES_RECOVERY"]),
    ]
    assert all(DR in op.hazards[0].message for op in ops)


def test_a_replica_still_creating_gets_the_settings_of_a_new_one() -> None:
    # an apply killed while AWS made the replica set none of them: the next one must
    want = full()
    have = live(want, replicas=(ReplicaState(region=DR, status="CREATING"),))
    assert steps(diff_table(have, want)) == [
        ("UpdateDeletionProtection", DR, []),
        ("UpdatePitr", DR, []),
        ("TagResource", DR, []),
    ]


# --------------------------------------------------------------------------- orphans


def _orphan(name: str, **update: Any) -> LiveTable:
    return live(table(name=name, table_name=name, **update), items=42)


def test_orphans_are_ignored_without_prune() -> None:
    lstate = state(live(table()), _orphan("old_orders"), orphans=("old_orders",))
    plan = plan_environment(lstate, [table()], environment="prod", prune=False)
    assert plan.operations == ()
    assert plan.orphans == ("old_orders",)


def test_prune_deletes_each_orphan() -> None:
    lstate = state(live(table()), _orphan("a_old"), _orphan("b_old"), orphans=("a_old", "b_old"))
    plan = plan_environment(lstate, [table()], environment="prod", prune=True)
    assert [(op.op, op.table, [h.code.value for h in op.hazards]) for op in plan.operations] == [
        ("DeleteTable", "a_old", ["DELETES_DATA"]),
        ("DeleteTable", "b_old", ["DELETES_DATA"]),
    ]
    assert "42" in plan.operations[0].hazards[0].message
    delete: Any = plan.operations[0]
    assert delete.item_count == 42


def test_prune_refuses_a_protected_orphan_naming_both_flags() -> None:
    lstate = state(
        live(table()), _orphan("old_orders", deletion_protection=True), orphans=("old_orders",)
    )
    with pytest.raises(PlanError) as caught:
        plan_environment(lstate, [table()], environment="prod", prune=True)
    message = str(caught.value)
    assert "old_orders" in message
    assert "--lift-deletion-protection" in message
    assert "--allow-hazards DELETES_DATA" in message


def test_prune_with_lift_lifts_the_orphans_protection_first() -> None:
    lstate = state(
        live(table()), _orphan("old_orders", deletion_protection=True), orphans=("old_orders",)
    )
    plan = plan_environment(lstate, [table()], environment="prod", prune=True, lift_protection=True)
    assert steps(plan.operations) == [
        ("UpdateDeletionProtection", PRIMARY, []),
        ("DeleteTable", PRIMARY, ["DELETES_DATA"]),
    ]
    lift: Any = plan.operations[0]
    assert (lift.before, lift.after) == (True, False)


# --------------------------------------------------------------------------- destroy


def test_destroy_deletes_replicas_before_the_table() -> None:
    t = table(stream=STREAM_ON, replicas=(DR, OTHER))
    plan = plan_destroy(state(live(t, items=9)), [t], environment="prod")
    assert steps(plan.operations) == [
        ("DeleteReplica", PRIMARY, ["DELETES_DATA"]),
        ("DeleteReplica", PRIMARY, ["DELETES_DATA"]),
        ("DeleteTable", PRIMARY, ["DELETES_DATA"]),
    ]
    replicas: list[Any] = list(plan.operations[:2])
    assert [op.replica_region for op in replicas] == [DR, OTHER]
    assert plan.destroy


def test_destroy_with_lift_lifts_every_protection_before_deleting() -> None:
    t = full(replicas=(DR, OTHER))
    have = live(t, replicas=(replica_of(t, DR), replica_of(t, OTHER, deletion_protection=False)))
    plan = plan_destroy(state(have), [t], environment="prod", lift_protection=True)
    assert steps(plan.operations) == [
        ("UpdateDeletionProtection", PRIMARY, []),
        ("UpdateDeletionProtection", DR, []),
        ("DeleteReplica", PRIMARY, ["DELETES_DATA"]),
        ("DeleteReplica", PRIMARY, ["DELETES_DATA"]),
        ("DeleteTable", PRIMARY, ["DELETES_DATA"]),
    ]


@pytest.mark.parametrize("protected_where", ["primary", "replica"])
def test_destroy_refuses_a_protected_table_without_lift(protected_where: str) -> None:
    t = table(stream=STREAM_ON, replicas=(DR,), deletion_protection=protected_where == "primary")
    have = live(t, replicas=(replica_of(t, deletion_protection=protected_where == "replica"),))
    with pytest.raises(PlanError, match="--lift-deletion-protection") as caught:
        plan_destroy(state(have), [t], environment="prod")
    assert (PRIMARY if protected_where == "primary" else DR) in str(caught.value)


def test_destroy_of_absent_tables_is_nothing() -> None:
    lstate = LiveState(region=PRIMARY, tables={"orders": None})
    plan = plan_destroy(
        lstate, [table(), table(name="gone", table_name="gone")], environment="prod"
    )
    assert plan.operations == ()
    assert plan.destroy


# --------------------------------------------------------------------------- endpoint gaps


def test_unsupported_features_drop_their_operations_and_add_notices() -> None:
    have = table(tags={"Project": "old", "Stale": "x"})
    want = table(point_in_time_recovery=PITR_35, deletion_protection=True)
    lstate = state(live(have), unsupported=("tags", "pitr"))
    plan = plan_environment(lstate, [want], environment="prod")
    assert steps(plan.operations) == [("UpdateDeletionProtection", PRIMARY, [])]
    assert len(plan.notices) == 2
    assert any("tagging" in n for n in plan.notices)
    assert any("point-in-time recovery" in n for n in plan.notices)


def test_unsupported_features_also_drop_replica_and_create_ops() -> None:
    lstate = LiveState(region=PRIMARY, tables={"orders": None}, unsupported=("tags", "pitr"))
    plan = plan_environment(lstate, [full()], environment="prod")
    assert steps(plan.operations) == [
        ("CreateTable", PRIMARY, []),
        ("UpdateTtl", PRIMARY, []),
        ("CreateReplica", PRIMARY, ["COST_CHANGE"]),
        ("UpdateDeletionProtection", DR, []),
    ]


def test_a_supported_endpoint_has_no_notices() -> None:
    plan = plan_environment(state(live(table())), [table()], environment="prod")
    assert plan.notices == ()


def test_taking_over_a_table_owned_by_another_environment_is_a_blocking_hazard() -> None:
    # dev and prod in one account with the same names would fight over one table
    have = table(tags={**TAGS, "tablesmith:managed": "dev"})
    want = table(environment="prod", tags={**TAGS, "tablesmith:managed": "prod"})
    ops = diff_table(live(have), want)
    assert [(op.op, [h.code.value for h in op.hazards]) for op in ops] == [
        ("TagResource", ["ADOPTS_TABLE"])]
    assert "managed by environment 'dev'" in ops[0].hazards[0].message


# --------------------------------------------------------------------------- replica GSIs
# AWS propagates GSI changes to every replica (it cannot make one on a replica alone); a
# replica that lacks one, or holds another version, has the index made again on the table.


def replicated(*gsis: GlobalSecondaryIndex) -> Table:
    return full(global_secondary_indexes=tuple(gsis))


def test_replica_with_the_tables_indexes_is_no_change() -> None:
    t = replicated(gsi("ByCustomer"))
    have = live(t, replicas=(replica_of(t, global_secondary_indexes=(gsi("ByCustomer"),)),))
    assert diff_table(have, t) == []
    plan = plan_environment(state(have), [t], environment="prod")
    assert plan.operations == () and plan.notices == ()


def test_replica_missing_an_index_has_it_made_again_on_the_table() -> None:
    t = replicated(gsi("ByCustomer"), gsi("ByHotel"))
    rep = replica_of(t, global_secondary_indexes=(gsi("ByCustomer"),))
    have = live(t, items=3, replicas=(rep,))
    ops = diff_table(have, t)
    assert steps(ops) == [
        ("DeleteGsi", PRIMARY, ["DELETES_INDEX"]),
        ("CreateGsi", PRIMARY, ["INDEX_BACKFILL"]),
    ]
    assert ops[0].before == ops[1].after == gsi("ByHotel")
    assert DR in ops[0].reason and ops[1].reason == "recreated"


def test_replica_with_another_projection_has_the_index_made_again() -> None:
    t = replicated(gsi("ByUser", projection_type="INCLUDE", non_key_attributes=("total",)))
    old = gsi("ByUser", projection_type="KEYS_ONLY")
    have = live(t, replicas=(replica_of(t, global_secondary_indexes=(old,)),))
    assert steps(diff_table(have, t)) == [
        ("DeleteGsi", PRIMARY, ["DELETES_INDEX"]),
        ("CreateGsi", PRIMARY, []),
    ]


def test_a_spec_change_of_a_lagging_index_is_planned_once() -> None:
    t = replicated(gsi("ByUser"))
    want = replicated(gsi("ByUser", projection_type="KEYS_ONLY"))
    have = live(t, replicas=(replica_of(t, global_secondary_indexes=()),))
    assert [op.op for op in diff_table(have, want)] == ["DeleteGsi", "CreateGsi"]


def test_replica_index_still_being_built_is_a_notice_not_an_operation() -> None:
    t = replicated(gsi("ByHotel"))
    rep = replica_of(t, global_secondary_indexes=(), indexes_in_progress=("ByHotel",))
    plan = plan_environment(state(live(t, replicas=(rep,))), [t], environment="prod")
    assert plan.operations == ()
    assert plan.notices == (
        f"the replica of 'orders' in {DR} does not yet match index 'ByHotel' (still being "
        "built or propagated): plan again once it is ACTIVE",)


def test_replica_not_yet_active_is_waited_for() -> None:
    t = replicated(gsi("ByHotel"))
    rep = replica_of(t, status="UPDATING", global_secondary_indexes=())
    plan = plan_environment(state(live(t, replicas=(rep,))), [t], environment="prod")
    assert plan.operations == ()
    assert len(plan.notices) == 1 and "'ByHotel'" in plan.notices[0]


def test_replica_with_an_index_the_table_has_not_is_named_in_a_notice() -> None:
    t = replicated()
    rep = replica_of(t, global_secondary_indexes=(gsi("Stray"),))
    plan = plan_environment(state(live(t, replicas=(rep,))), [t], environment="prod")
    assert plan.operations == ()
    assert plan.notices == (
        f"the replica of 'orders' in {DR} has index 'Stray', which the table has not: AWS "
        "cannot delete a GSI on one replica; remove the replica from the spec, apply, and add "
        "it again",)


def test_replica_indexes_not_read_or_replica_leaving_are_not_judged() -> None:
    t = replicated(gsi("ByHotel"))
    unread = live(t, replicas=(replica_of(t),))  # CREATING replicas are not read in full
    assert diff_table(unread, t) == []
    leaving = live(t, replicas=(replica_of(t, global_secondary_indexes=()),))
    assert [op.op for op in diff_table(leaving, t.model_copy(update={"replicas": ()}))] == [
        "UpdateDeletionProtection", "DeleteReplica"]  # no GSI operation


def test_replica_indexes_count_in_the_fingerprint_but_their_progress_does_not() -> None:
    t = replicated(gsi("ByHotel"))

    def fingerprint(rep: ReplicaState) -> str:
        return state(live(t, replicas=(rep,))).fingerprint()

    base = replica_of(t, global_secondary_indexes=(gsi("ByHotel"),))
    assert fingerprint(base) != fingerprint(base.model_copy(
        update={"global_secondary_indexes": ()}))
    assert fingerprint(base) == fingerprint(base.model_copy(
        update={"indexes_in_progress": ("ByHotel",)}))
