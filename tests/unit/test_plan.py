"""Tier-1 tests of plans as data: JSON round-trip, hazards, refusal, fingerprints, requests.

Covers ``plan.py``, ``hazards.py``, ``state.LiveState.fingerprint`` and the two pure parts of
``apply.py`` (``check_hazards``) and ``shapes.create_table_request``. Literal inputs, no AWS.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tablesmith.apply import check_hazards
from tablesmith.diff import plan_destroy, plan_environment
from tablesmith.errors import HazardRefused, PlanError
from tablesmith.hazards import BLOCKING, Hazard, HazardCode, parse_codes
from tablesmith.plan import (
    OPERATION_TYPES,
    Action,
    Category,
    CreateGsi,
    DeleteTable,
    Plan,
    UpdateTableClass,
    operations_from,
)
from tablesmith.shapes import create_table_request
from tablesmith.spec.model import (
    Encryption,
    GlobalSecondaryIndex,
    Key,
    KinesisStreamingDestination,
    LocalSecondaryIndex,
    OnDemandThroughput,
    PointInTimeRecovery,
    Stream,
    Table,
    TimeToLive,
    WarmThroughput,
)
from tablesmith.state import IndexState, LiveState, LiveTable, ReplicaState

PRIMARY = "af-south-1"
DR = "eu-west-1"
ARN = "arn:aws:dynamodb:af-south-1:123456789012:table/x"
KEY_ARN = "arn:aws:kms:af-south-1:123456789012:key/11111111-2222-3333-4444-555555555555"
TAGS = {"Environment": "prod", "Project": "shop", "tablesmith:managed": "prod"}
PITR_ON = PointInTimeRecovery(enabled=True, recovery_period_days=35)
STREAM_ON = Stream(enabled=True, view_type="NEW_AND_OLD_IMAGES")


def table(name: str = "orders", **update: Any) -> Table:
    """A complete effective table (backup and alarms left out: nothing here reads them)."""
    base = Table(
        name=name,
        table_name=name,
        environment="prod",
        region=PRIMARY,
        partition_key=Key(name="PK", type="S"),
        sort_key=Key(name="SK", type="S"),
        attribute_definitions=(Key(name="PK", type="S"), Key(name="SK", type="S")),
        point_in_time_recovery=PointInTimeRecovery(enabled=False, recovery_period_days=35),
        ttl=TimeToLive(enabled=False, attribute_name="expiresAt"),
        stream=Stream(enabled=False, view_type="NEW_AND_OLD_IMAGES"),
        encryption=Encryption(type="AWS_OWNED"),
        deletion_protection=False,
        table_class="STANDARD",
        tags=dict(TAGS),
    )
    return base.model_copy(update=update)


def gsi(name: str, **update: Any) -> GlobalSecondaryIndex:
    """A GSI keyed on ``<name>PK``."""
    return GlobalSecondaryIndex(name=name, hash_key=Key(name=f"{name}PK", type="S"), **update)


def replica(region: str = DR, **update: Any) -> ReplicaState:
    """An ACTIVE, unprotected, untagged replica without PITR."""
    return ReplicaState(region=region, **{"status": "ACTIVE", **update})


def live(t: Table, *, items: int = 0, **update: Any) -> LiveTable:
    """``t`` as AWS holds it."""
    return LiveTable(table=t, arn=ARN, item_count=items, **update)


def state(*tables: LiveTable, **update: Any) -> LiveState:
    """A live state holding ``tables`` under their physical names."""
    return LiveState(region=PRIMARY, tables={lt.table.table_name: lt for lt in tables}, **update)


def every_operation_plan() -> Plan:
    """One plan holding every operation type (four tables and a pruned orphan)."""
    new = table(
        "a_new",
        point_in_time_recovery=PITR_ON,
        ttl=TimeToLive(enabled=True, attribute_name="expiresAt"),
        stream=STREAM_ON,
        replicas=(DR,),
        deletion_protection=True,
    )
    rekeyed = table("b_rekeyed", sort_key=Key(name="at", type="N"))
    have = table(
        "c_changed",
        billing_mode="PROVISIONED",
        global_secondary_indexes=(gsi("Old"),),
        stream=Stream(enabled=True, view_type="KEYS_ONLY"),
        replicas=(DR,),
        tags={**TAGS, "Stale": "x"},
    )
    want = table(
        "c_changed",
        global_secondary_indexes=(gsi("New"),),
        stream=STREAM_ON,
        encryption=Encryption(type="CUSTOMER_MANAGED", kms_key_arn=KEY_ARN),
        table_class="STANDARD_INFREQUENT_ACCESS",
        on_demand_throughput=OnDemandThroughput(max_read_request_units=10),
        tags={**TAGS, "Owner": "team-a"},
    )
    lstate = state(
        live(table("b_rekeyed"), items=3),
        live(have, items=9, replica_states=(replica(),)),
        live(table("z_orphan"), items=1),
        orphans=("z_orphan",),
    )
    plan = plan_environment(lstate, [new, rekeyed, want], environment="prod", prune=True)
    return plan.model_copy(update={"operations": plan.operations + around_operations()})


KINESIS_DESTINATION = KinesisStreamingDestination(
    stream_arn=f"arn:aws:kinesis:{PRIMARY}:123456789012:stream/changes")


def around_operations() -> tuple[Any, ...]:
    """One of each backup / IAM / alarm operation, literally."""
    from tablesmith import plan as p
    from tablesmith.around import alarms as a
    from tablesmith.around import backup as b
    from tablesmith.around import contributor_insights as ci
    from tablesmith.around import kinesis as k
    from tablesmith.around import resource_policy as rp
    from tablesmith.resources import (
        BackupPlan,
        BackupRole,
        BackupRule,
        BackupSelection,
        BackupVault,
        MetricAlarm,
    )
    from tablesmith.spec.model import ContributorInsights

    vault = BackupVault(name="a_new-backup-vault", region=PRIMARY)
    rule = BackupRule(name="r", target_vault=vault.name, schedule="cron(0 2 * * ? *)",
                      delete_after_days=7)
    bplan = BackupPlan(name="a_new-backup-plan", region=PRIMARY, rule=rule)
    selection = BackupSelection(name="s", plan=bplan.name, role="a_new-backup-role",
                                table="a_new")
    role = BackupRole(name="a_new-backup-role")
    alarm = MetricAlarm(name="a_new-system-errors", region=PRIMARY, threshold=0,
                        evaluation_periods=1)
    at: dict[str, Any] = {"table": "a_new", "region": PRIMARY, "category": p.Category.NEW}
    return (
        b.CreateBackupVault(**at, after=vault), b.DeleteBackupVault(**at, before=vault),
        b.CreateBackupPlan(**at, after=bplan),
        b.UpdateBackupPlan(**at, before=bplan, after=bplan.model_copy(update={"name": "x"})),
        b.DeleteBackupPlan(**at, before=bplan), b.CreateBackupSelection(**at, after=selection),
        b.DeleteBackupSelection(**at, before=selection), b.CreateRole(**at, after=role),
        b.AttachRolePolicy(**at, role=role.name, policy_arn=role.managed_policies[0]),
        b.DetachRolePolicy(**at, role=role.name, policy_arn=role.managed_policies[0]),
        b.DeleteRole(**at, before=role), a.PutMetricAlarm(**at, after=alarm),
        a.DeleteAlarms(**at, before=alarm),
        b.UpdateAssumeRolePolicy(**at, before=role.model_copy(update={
            "limited_to_account": False}), after=role),
        b.UpdateTags(**at, resource="IAM role", name=role.name, before={"Team": "a"},
                     after={"Owner": "b"}),
        ci.UpdateContributorInsights(**at, index="ByOwner", action=p.Action.CREATE,
                                     after=ContributorInsights(enabled=True,
                                                               mode="THROTTLED_KEYS")),
        p.UpdateWarmThroughput(**at, index="ByOwner", before=None, after=WarmThroughput(
            read_units_per_second=20_000, write_units_per_second=8_000)),
        k.EnableKinesisStreamingDestination(**at, after=KINESIS_DESTINATION),
        k.UpdateKinesisStreamingDestination(**at, before=KINESIS_DESTINATION, after=(
            KINESIS_DESTINATION.model_copy(update={"timestamp_precision": "MICROSECOND"}))),
        k.DisableKinesisStreamingDestination(**at, before=KINESIS_DESTINATION),
        p.CreateStrongReplicas(**at, replica_regions=("eu-west-2",), witness_region="eu-west-3",
                               item_count=0),
        p.DeleteStrongReplicas(**at, replica_regions=("eu-west-2",), witness_region="eu-west-3"),
        rp.PutResourcePolicy(**at, resource="stream", after=POLICY_TEXT),
        rp.DeleteResourcePolicy(**at, resource="table", before=rp.LivePolicy(
            arn="arn:aws:dynamodb:af-south-1:123456789012:table/a_new", document=POLICY_TEXT,
            revision_id="1700000000000")),
    )


POLICY_TEXT = ('{"Statement":[{"Action":"dynamodb:GetItem","Effect":"Allow",'
               '"Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Resource":"*"}],'
               '"Version":"2012-10-17"}')


# --------------------------------------------------------------------------- JSON


def test_every_operation_type_is_in_the_sample_plan() -> None:
    import tablesmith.around.registry  # noqa: F401 (the families' operations register)

    assert {op.op for op in every_operation_plan().operations} == set(OPERATION_TYPES)


def test_plan_round_trips_through_json() -> None:
    plan = every_operation_plan()
    assert Plan.from_json(plan.to_json()) == plan


def test_round_trip_keeps_hazards_and_notices() -> None:
    lstate = LiveState(
        region=PRIMARY,
        tables={"orders": live(table(deletion_protection=True))},
        unsupported=("tags",),
    )
    plan = plan_environment(lstate, [table()], environment="prod")
    again = Plan.from_json(plan.to_json())
    assert again.hazards() == plan.hazards()
    assert again.notices == plan.notices != ()
    assert isinstance(again.operations[0].hazards[0].code, HazardCode)


def test_destroy_plan_round_trips_through_json() -> None:
    t = table(replicas=(DR,), stream=STREAM_ON)
    plan = plan_destroy(state(live(t, replica_states=(replica(),))), [t], environment="prod")
    again = Plan.from_json(plan.to_json())
    assert again == plan
    assert again.destroy


def test_operations_from_raw_dicts() -> None:
    plan = every_operation_plan()
    raw = [op.model_dump(mode="json") for op in plan.operations]
    assert tuple(operations_from(raw)) == plan.operations


def test_an_unknown_operation_is_rejected() -> None:
    with pytest.raises(ValueError, match="DropEverything"):
        operations_from([{"op": "DropEverything", "table": "t", "region": PRIMARY}])


# --------------------------------------------------------------------------- determinism


def _plan(desired: list[Table], lstate: LiveState) -> str:
    return plan_environment(lstate, desired, environment="prod", prune=True).to_json()


def test_same_inputs_give_the_same_json() -> None:
    assert every_operation_plan().to_json() == every_operation_plan().to_json()


def test_desired_table_order_does_not_change_the_plan() -> None:
    a, b = table("a", ttl=TimeToLive(enabled=True, attribute_name="t")), table("b")
    lstate = state(live(table("a")), live(table("b", deletion_protection=True)))
    assert _plan([a, b], lstate) == _plan([b, a], lstate)


def test_desired_table_order_does_not_change_the_operations() -> None:
    a, b = table("a", ttl=TimeToLive(enabled=True, attribute_name="t")), table("b")
    lstate = state(live(table("a")), live(table("b", deletion_protection=True)))
    first = plan_environment(lstate, [a, b], environment="prod")
    second = plan_environment(lstate, [b, a], environment="prod")
    assert first.operations == second.operations
    assert first.fingerprint == second.fingerprint


def test_tag_order_does_not_change_the_plan() -> None:
    lstate = state(live(table(tags={"Old": "1", "Gone": "2"})))
    forward = table(tags={"A": "1", "B": "2", "C": "3"})
    backward = table(tags={"C": "3", "B": "2", "A": "1"})
    assert _plan([forward], lstate) == _plan([backward], lstate)


def test_orphan_order_does_not_change_the_plan() -> None:
    tables = (live(table()), live(table("x_old")), live(table("y_old")))
    forward = state(*tables, orphans=("x_old", "y_old"))
    backward = state(*tables, orphans=("y_old", "x_old"))
    assert _plan([table()], forward) == _plan([table()], backward)


def test_live_table_dict_order_does_not_change_the_plan() -> None:
    a, b = live(table("a")), live(table("b", tags={}))
    forward = LiveState(region=PRIMARY, tables={"a": a, "b": b})
    backward = LiveState(region=PRIMARY, tables={"b": b, "a": a})
    desired = [table("a"), table("b")]
    assert _plan(desired, forward) == _plan(desired, backward)


# --------------------------------------------------------------------------- hazards on a plan


def _hazard_plan() -> Plan:
    """ReplaceTable (REPLACES_TABLE) on orders, CreateGsi (INDEX_BACKFILL) and UpdateTableClass
    (COST_CHANGE) on users, DeleteTable (DELETES_DATA) of an orphan."""
    lstate = state(
        live(table(), items=5),
        live(table("users"), items=8),
        live(table("zz_old"), items=2),
        orphans=("zz_old",),
    )
    desired = [
        table(sort_key=None),
        table(
            "users",
            global_secondary_indexes=(gsi("ByEmail"),),
            table_class="STANDARD_INFREQUENT_ACCESS",
        ),
    ]
    return plan_environment(lstate, desired, environment="prod", prune=True)


def test_hazards_are_listed_in_plan_order() -> None:
    plan = _hazard_plan()
    assert [(op.op, h.code.value) for op, h in plan.hazards()] == [
        ("ReplaceTable", "REPLACES_TABLE"),
        ("CreateGsi", "INDEX_BACKFILL"),
        ("UpdateTableClass", "COST_CHANGE"),
        ("DeleteTable", "DELETES_DATA"),
    ]


@pytest.mark.parametrize(
    ("allowed", "refused"),
    [
        (frozenset(), ["REPLACES_TABLE", "DELETES_DATA"]),
        (frozenset({HazardCode.DELETES_DATA}), ["REPLACES_TABLE"]),
        (frozenset({HazardCode.DELETES_DATA, HazardCode.REPLACES_TABLE}), []),
        (
            frozenset({HazardCode.COST_CHANGE, HazardCode.INDEX_BACKFILL}),
            ["REPLACES_TABLE", "DELETES_DATA"],
        ),
    ],
    ids=["none", "some", "all", "only-non-blocking"],
)
def test_refused_returns_only_blocking_hazards_not_allowed(
    allowed: frozenset[HazardCode], refused: list[str]
) -> None:
    assert [h.code.value for _, h in _hazard_plan().refused(allowed)] == refused


def test_blocking_set() -> None:
    assert {c.value for c in BLOCKING} == {
        "REPLACES_TABLE",
        "DELETES_DATA",
        "DELETES_INDEX",
        "DISABLES_RECOVERY",
        "STREAM_ARN_CHANGES",
        "STOPS_STREAMING",
        "LIFTS_PROTECTION",
        "SHORTENS_RETENTION",
        "ADOPTS_TABLE",
        "TABLE_NOT_EMPTY",
        "LOCKS_OUT",
        "REMOVES_ACCESS",
    }
    assert not Hazard(code=HazardCode.COST_CHANGE, message="m").blocking
    assert Hazard(code=HazardCode.DELETES_INDEX, message="m").blocking


def test_table_action_is_the_strongest_action_per_table() -> None:
    lstate = state(
        live(table("b_replaced")),
        live(table("c_updated")),
        live(table("d_same")),
        live(table("e_replica"), replica_states=(replica(),)),
        live(table("f_orphan")),
        orphans=("f_orphan",),
    )
    desired = [
        table("a_new"),
        table("b_replaced", sort_key=None),
        table("c_updated", deletion_protection=True),
        table("d_same"),
        table("e_replica", replicas=()),
    ]
    lstate = lstate.model_copy(
        update={
            "tables": {
                **lstate.tables,
                "e_replica": live(table("e_replica", replicas=(DR,)), replica_states=(replica(),)),
            }
        }
    )
    plan = plan_environment(lstate, desired, environment="prod", prune=True)
    assert {
        n: plan.table_action(n)
        for n in (
            "a_new",
            "b_replaced",
            "c_updated",
            "d_same",
            "e_replica",
            "f_orphan",
            "not_there",
        )
    } == {
        "a_new": Action.CREATE,
        "b_replaced": Action.REPLACE,
        "c_updated": Action.UPDATE,
        "d_same": Action.NO_OP,
        "e_replica": Action.UPDATE,
        "f_orphan": Action.DELETE,
        "not_there": Action.NO_OP,
    }


def test_has_changes() -> None:
    assert _hazard_plan().has_changes
    assert not plan_environment(state(live(table())), [table()], environment="p").has_changes


# --------------------------------------------------------------------------- check_hazards


def test_check_hazards_lists_each_refused_operation_and_the_exact_flag() -> None:
    plan = _hazard_plan()
    with pytest.raises(HazardRefused) as caught:
        check_hazards(plan, frozenset())
    message = str(caught.value)
    replace = plan.operations[0]
    assert (
        f"REPLACES_TABLE: ReplaceTable orders ({PRIMARY}): {replace.hazards[0].message}" in message
    )
    delete = next(op for op in plan.operations if op.op == "DeleteTable")
    assert f"DELETES_DATA: DeleteTable zz_old ({PRIMARY}): {delete.hazards[0].message}" in message
    assert replace.hazards[0].suggestion in message
    assert "2 hazardous operation(s)" in message
    assert message.rstrip().endswith("--allow-hazards DELETES_DATA,REPLACES_TABLE")
    assert "INDEX_BACKFILL" not in message and "COST_CHANGE" not in message
    assert isinstance(caught.value, PlanError)


def test_check_hazards_flag_keeps_what_was_already_allowed() -> None:
    with pytest.raises(HazardRefused) as caught:
        check_hazards(_hazard_plan(), frozenset({HazardCode.DELETES_DATA}))
    message = str(caught.value)
    assert "1 hazardous operation(s)" in message
    assert "DeleteTable zz_old" not in message
    assert message.rstrip().endswith("--allow-hazards DELETES_DATA,REPLACES_TABLE")


def test_check_hazards_passes_when_every_blocking_hazard_is_allowed() -> None:
    check_hazards(_hazard_plan(), frozenset({HazardCode.DELETES_DATA, HazardCode.REPLACES_TABLE}))


def test_check_hazards_passes_a_plan_with_only_non_blocking_hazards() -> None:
    op = CreateGsi(table="t", region=PRIMARY, after=gsi("G"), item_count=3,
                   category=Category.NEW).with_hazard(
        HazardCode.INDEX_BACKFILL, "backfills"
    )
    plan = Plan(environment="prod", region=PRIMARY, desired=(), operations=(op,), fingerprint="f")
    check_hazards(plan, frozenset())


# --------------------------------------------------------------------------- parse_codes


def test_parse_codes_accepts_known_codes_case_and_blanks_aside() -> None:
    assert parse_codes(" deletes_data, REPLACES_TABLE ,,") == frozenset(
        {HazardCode.DELETES_DATA, HazardCode.REPLACES_TABLE}
    )
    assert parse_codes("") == frozenset()


def test_parse_codes_rejects_unknown_codes_listing_the_known_ones() -> None:
    with pytest.raises(ValueError) as caught:
        parse_codes("DELETES_DATA,DROP_ALL,nope")
    message = str(caught.value)
    assert "DROP_ALL" in message and "NOPE" in message
    assert all(code.value in message for code in HazardCode)


# --------------------------------------------------------------------------- fingerprint


def _fp(lt: LiveTable, **update: Any) -> str:
    return LiveState(region=PRIMARY, tables={"orders": lt}, **update).fingerprint()


BASE = live(table(replicas=(DR,)), items=10, stream_arn="arn:stream/1", replica_states=(replica(),))


@pytest.mark.parametrize(
    "changed",
    [
        BASE.model_copy(update={"status": "UPDATING"}),
        BASE.model_copy(update={"item_count": 99999}),
        BASE.model_copy(update={"replica_states": (replica(status="UPDATING"),)}),
        BASE.model_copy(update={"indexes": {"G": IndexState(status="CREATING", backfilling=True)}}),
        BASE.model_copy(update={"ttl_status": "ENABLING"}),
    ],
    ids=["status", "item-count", "replica-status", "index-state", "ttl-status"],
)
def test_fingerprint_ignores_transient_state(changed: LiveTable) -> None:
    assert _fp(changed) == _fp(BASE)


@pytest.mark.parametrize(
    "changed",
    [
        BASE.model_copy(update={"table": BASE.table.model_copy(update={"tags": {"a": "b"}})}),
        BASE.model_copy(
            update={
                "table": BASE.table.model_copy(update={"global_secondary_indexes": (gsi("G"),)})
            }
        ),
        BASE.model_copy(update={"stream_arn": "arn:stream/2"}),
        BASE.model_copy(update={"replica_states": (replica(tags={"a": "b"}),)}),
        BASE.model_copy(update={"replica_states": (replica(deletion_protection=True),)}),
    ],
    ids=["tags", "gsis", "stream-arn", "replica-tags", "replica-protection"],
)
def test_fingerprint_changes_with_definitions(changed: LiveTable) -> None:
    assert _fp(changed) != _fp(BASE)


def test_fingerprint_of_absent_table_and_orphans() -> None:
    absent = LiveState(region=PRIMARY, tables={"orders": None})
    assert absent.fingerprint() != _fp(BASE)
    assert _fp(BASE, orphans=("x",)) != _fp(BASE)
    assert _fp(BASE, orphans=("x", "y")) == _fp(BASE, orphans=("y", "x"))


def test_fingerprint_of_chosen_names_ignores_other_tables() -> None:
    other = live(table("other"))
    one = LiveState(region=PRIMARY, tables={"orders": BASE})
    two = LiveState(region=PRIMARY, tables={"orders": BASE, "other": other})
    assert one.fingerprint(["orders"]) == two.fingerprint(["orders"])
    assert two.fingerprint() != two.fingerprint(["orders"])


def test_plan_records_the_fingerprint_of_what_it_read() -> None:
    lstate = state(live(table()), live(table("elsewhere", tags={})))
    plan = plan_environment(lstate, [table()], environment="prod")
    assert plan.fingerprint == lstate.fingerprint(["orders"])


# --------------------------------------------------------------------------- CreateTable request


def test_create_table_request_for_a_plain_table() -> None:
    assert create_table_request(table(tags={"Project": "shop", "Owner": "a"})) == {
        "TableName": "orders",
        "KeySchema": [
            {"AttributeName": "PK", "KeyType": "HASH"},
            {"AttributeName": "SK", "KeyType": "RANGE"},
        ],
        "AttributeDefinitions": [
            {"AttributeName": "PK", "AttributeType": "S"},
            {"AttributeName": "SK", "AttributeType": "S"},
        ],
        "BillingMode": "PAY_PER_REQUEST",
        "DeletionProtectionEnabled": False,
        "Tags": [{"Key": "Project", "Value": "shop"}, {"Key": "Owner", "Value": "a"}],
    }


def test_create_table_request_without_a_sort_key() -> None:
    request = create_table_request(
        table(sort_key=None, attribute_definitions=(Key(name="PK", type="S"),))
    )
    assert request["KeySchema"] == [{"AttributeName": "PK", "KeyType": "HASH"}]
    assert request["AttributeDefinitions"] == [{"AttributeName": "PK", "AttributeType": "S"}]


def test_create_table_request_with_everything() -> None:
    by_email = GlobalSecondaryIndex(
        name="ByEmail",
        hash_key=Key(name="email", type="S"),
        range_key=Key(name="at", type="N"),
        projection_type="INCLUDE",
        non_key_attributes=("a", "b"),
    )
    by_status = GlobalSecondaryIndex(
        name="ByStatus", hash_key=Key(name="status", type="S"), projection_type="KEYS_ONLY"
    )
    by_date = LocalSecondaryIndex(name="ByDate", range_key=Key(name="date", type="S"))
    t = table(
        attribute_definitions=tuple(
            Key(name=n, type=ty)
            for n, ty in (
                ("PK", "S"),
                ("SK", "S"),
                ("at", "N"),
                ("date", "S"),
                ("email", "S"),
                ("status", "S"),
            )
        ),
        global_secondary_indexes=(by_email, by_status),
        local_secondary_indexes=(by_date,),
        stream=Stream(enabled=True, view_type="NEW_IMAGE"),
        deletion_protection=True,
        table_class="STANDARD_INFREQUENT_ACCESS",
        on_demand_throughput=OnDemandThroughput(max_read_request_units=100),
        # neither of these goes into CreateTable: PITR and TTL have their own calls
        point_in_time_recovery=PITR_ON,
        ttl=TimeToLive(enabled=True, attribute_name="exp"),
        replicas=(DR,),
    )
    request = create_table_request(t)
    assert request["AttributeDefinitions"] == [
        {"AttributeName": n, "AttributeType": ty}
        for n, ty in (
            ("PK", "S"),
            ("SK", "S"),
            ("at", "N"),
            ("date", "S"),
            ("email", "S"),
            ("status", "S"),
        )
    ]
    assert request["GlobalSecondaryIndexes"] == [
        {
            "IndexName": "ByEmail",
            "KeySchema": [
                {"AttributeName": "email", "KeyType": "HASH"},
                {"AttributeName": "at", "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["a", "b"]},
        },
        {
            "IndexName": "ByStatus",
            "KeySchema": [{"AttributeName": "status", "KeyType": "HASH"}],
            "Projection": {"ProjectionType": "KEYS_ONLY"},
        },
    ]
    assert request["LocalSecondaryIndexes"] == [
        {
            "IndexName": "ByDate",
            "KeySchema": [
                {"AttributeName": "PK", "KeyType": "HASH"},
                {"AttributeName": "date", "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "ALL"},
        }
    ]
    assert request["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
    assert request["TableClass"] == "STANDARD_INFREQUENT_ACCESS"
    assert request["DeletionProtectionEnabled"] is True
    assert request["OnDemandThroughput"] == {"MaxReadRequestUnits": 100, "MaxWriteRequestUnits": -1}
    assert "SSESpecification" not in request
    assert not {
        "PointInTimeRecoverySpecification",
        "TimeToLiveSpecification",
        "ReplicationGroup",
        "Replicas",
    } & set(request)


@pytest.mark.parametrize(
    ("encryption", "expected"),
    [
        (Encryption(type="AWS_OWNED"), None),
        (Encryption(type="AWS_MANAGED"), {"Enabled": True, "SSEType": "KMS"}),
        (
            Encryption(type="CUSTOMER_MANAGED", kms_key_arn=KEY_ARN),
            {"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": KEY_ARN},
        ),
    ],
    ids=["aws-owned", "aws-managed", "customer-managed"],
)
def test_create_table_request_encryption(
    encryption: Encryption, expected: dict[str, Any] | None
) -> None:
    assert create_table_request(table(encryption=encryption)).get("SSESpecification") == expected


def test_create_table_request_is_json_serialisable() -> None:
    request = create_table_request(table(global_secondary_indexes=(gsi("G"),)))
    assert json.loads(json.dumps(request)) == request


def test_operations_carry_before_and_after() -> None:
    op = UpdateTableClass(
        table="t", region=PRIMARY, before="STANDARD", after="STANDARD_INFREQUENT_ACCESS",
        category=Category.DRIFT,
    )
    assert (op.action, op.label) == (Action.UPDATE, "UpdateTableClass")
    gone = DeleteTable(table="t", region=PRIMARY, before=table("t"), item_count=4,
                       category=Category.DESTROY)
    assert (gone.action, gone.before.table_name) == (Action.DELETE, "t")
