"""Multi-Region strong consistency (``consistency: strong``, ``witness_region``): the pure diff,
the request builders, the live read and the exporters, on literal values (no AWS)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tablesmith import live as live_reader
from tablesmith.diff import diff_table, plan_destroy
from tablesmith.errors import PlanError, UsageError
from tablesmith.export import cloudformation, terraform
from tablesmith.shapes import strong_global_table_create, strong_global_table_delete
from tablesmith.spec.model import (
    Encryption,
    Key,
    PointInTimeRecovery,
    Stream,
    Table,
    TimeToLive,
)
from tablesmith.state import LiveState, LiveTable, ReplicaState

PRIMARY = "us-east-1"
PITR_OFF = PointInTimeRecovery(enabled=False, recovery_period_days=35)
TAGS = {"Project": "shop", "tablesmith:managed": "prod"}


def table(**update: Any) -> Table:
    """An effective table in us-east-1 with the stream replicas need."""
    base = Table(
        name="ledger",
        table_name="ledger",
        environment="prod",
        region=PRIMARY,
        partition_key=Key(name="PK", type="S"),
        attribute_definitions=(Key(name="PK", type="S"),),
        point_in_time_recovery=PITR_OFF,
        ttl=TimeToLive(enabled=False, attribute_name="expiresAt"),
        stream=Stream(enabled=True, view_type="NEW_AND_OLD_IMAGES"),
        encryption=Encryption(type="AWS_OWNED"),
        deletion_protection=False,
        table_class="STANDARD",
        tags=dict(TAGS),
    )
    return base.model_copy(update=update)


WITNESSED = table(consistency="strong", replicas=("us-east-2",), witness_region="us-west-2")
THREE = table(consistency="strong", replicas=("us-east-2", "us-west-2"))
MREC = table(replicas=("us-east-2",))


def live(t: Table, *, items: int = 0, protected: tuple[str, ...] = ()) -> LiveTable:
    """``t`` as AWS holds it, each replica with the table's own settings."""
    replicas = tuple(
        ReplicaState(region=r, status="ACTIVE", deletion_protection=r in protected,
                     point_in_time_recovery=t.point_in_time_recovery, tags=dict(t.tags))
        for r in t.replicas)
    return LiveTable(table=t, arn="arn:aws:dynamodb:us-east-1:123456789012:table/ledger",
                     item_count=items, replica_states=replicas)


def steps(ops: Any) -> list[tuple[str, str, list[str]]]:
    return [(op.op, op.region, sorted(h.code.value for h in op.hazards)) for op in ops]


# --------------------------------------------------------------------------- diff


def test_new_mrsc_table_is_created_then_made_strong_in_one_operation() -> None:
    ops = diff_table(None, WITNESSED)
    assert steps(ops) == [
        ("CreateTable", PRIMARY, []),
        ("CreateStrongReplicas", PRIMARY, ["COST_CHANGE"]),
        ("TagResource", "us-east-2", []),
    ]
    strong = ops[1]
    assert (strong.replica_regions, strong.witness_region, strong.item_count) == (
        ("us-east-2",), "us-west-2", 0)


def test_three_replica_mrsc_creates_both_replicas_in_one_operation() -> None:
    ops = diff_table(live(table()), THREE)
    assert [op.op for op in ops] == ["CreateStrongReplicas", "TagResource", "TagResource"]
    assert ops[0].replica_regions == ("us-east-2", "us-west-2")
    assert ops[0].witness_region is None


def test_mrsc_on_a_table_holding_items_is_a_table_not_empty_hazard() -> None:
    ops = diff_table(live(table(), items=12), WITNESSED)
    assert steps(ops)[0] == ("CreateStrongReplicas", PRIMARY, ["COST_CHANGE", "TABLE_NOT_EMPTY"])
    hazard = next(h for h in ops[0].hazards if h.code == "TABLE_NOT_EMPTY")
    assert "~12 item(s)" in hazard.message
    assert hazard.blocking


def test_mrsc_read_back_equal_to_the_spec_is_no_change() -> None:
    assert diff_table(live(WITNESSED), WITNESSED) == []
    assert diff_table(live(THREE), THREE) == []


def test_removing_mrsc_replicas_deletes_them_and_the_witness_in_one_operation() -> None:
    ops = diff_table(live(WITNESSED), table())
    assert steps(ops) == [("DeleteStrongReplicas", PRIMARY, ["DELETES_DATA"])]
    assert (ops[0].replica_regions, ops[0].witness_region) == (("us-east-2",), "us-west-2")


def test_removing_protected_mrsc_replicas_lifts_their_protection_first() -> None:
    ops = diff_table(live(THREE, protected=("us-west-2",)), table())
    assert steps(ops) == [
        ("UpdateDeletionProtection", "us-west-2", ["LIFTS_PROTECTION"]),
        ("DeleteStrongReplicas", PRIMARY, ["DELETES_DATA"]),
    ]


def test_eventual_global_table_cannot_become_strong() -> None:
    with pytest.raises(PlanError, match="cannot change a global table's consistency mode") as e:
        diff_table(live(MREC), WITNESSED)
    assert "remove its replicas and witness_region from the spec and apply" in str(e.value)
    assert "on an empty table" in str(e.value)


def test_strong_global_table_cannot_become_eventual() -> None:
    with pytest.raises(PlanError, match="consistency: strong and the spec says consistency: "
                                        "eventual"):
        diff_table(live(WITNESSED), MREC)


def test_mrsc_regions_cannot_change_one_by_one() -> None:
    with pytest.raises(PlanError, match="cannot change the Regions of an MRSC global table"):
        diff_table(live(WITNESSED), THREE)


def test_destroying_an_mrsc_table_deletes_its_replicas_together_then_the_table() -> None:
    plan = plan_destroy(LiveState(region=PRIMARY, tables={"ledger": live(WITNESSED)}),
                        [WITNESSED], environment="prod")
    assert [op.op for op in plan.operations] == ["DeleteStrongReplicas", "DeleteTable"]


# --------------------------------------------------------------------------- requests


def test_mrsc_create_request_is_one_update_table() -> None:
    assert strong_global_table_create(WITNESSED, ("us-east-2",), "us-west-2") == {
        "TableName": "ledger",
        "ReplicaUpdates": [{"Create": {"RegionName": "us-east-2"}}],
        "MultiRegionConsistency": "STRONG",
        "GlobalTableWitnessUpdates": [{"Create": {"RegionName": "us-west-2"}}],
    }
    assert "GlobalTableWitnessUpdates" not in strong_global_table_create(
        THREE, THREE.replicas, None)


def test_mrsc_delete_request_takes_every_replica_and_the_witness() -> None:
    assert strong_global_table_delete("ledger", ("us-east-2", "us-west-2"), None) == {
        "TableName": "ledger",
        "ReplicaUpdates": [{"Delete": {"RegionName": "us-east-2"}},
                           {"Delete": {"RegionName": "us-west-2"}}],
    }


# --------------------------------------------------------------------------- live read


def test_live_read_takes_consistency_and_witness_from_describe_table() -> None:
    desc = {
        "TableName": "ledger",
        "KeySchema": [{"AttributeName": "PK", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "PK", "AttributeType": "S"}],
        "BillingModeSummary": {"BillingMode": "PAY_PER_REQUEST"},
        "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        "Replicas": [{"RegionName": "us-east-2", "ReplicaStatus": "ACTIVE"}],
        "MultiRegionConsistency": "STRONG",
        "GlobalTableWitnesses": [{"RegionName": "us-west-2", "WitnessStatus": "ACTIVE"}],
    }
    no_clients: Any = None
    read = live_reader._table(no_clients, desc, PRIMARY, WITNESSED, PITR_OFF,
                              {"TimeToLiveStatus": "DISABLED"}, dict(TAGS))
    assert (read.consistency, read.witness_region) == ("strong", "us-west-2")
    desc["MultiRegionConsistency"] = "EVENTUAL"
    desc["GlobalTableWitnesses"] = [{"RegionName": "us-west-2", "WitnessStatus": "DELETING"}]
    read = live_reader._table(no_clients, desc, PRIMARY, WITNESSED, PITR_OFF,
                              {"TimeToLiveStatus": "DISABLED"}, dict(TAGS))
    assert (read.consistency, read.witness_region) == ("eventual", None)


# --------------------------------------------------------------------------- export


def test_cloudformation_global_table_carries_mrsc() -> None:
    resource = cloudformation._global_table_resource(WITNESSED)
    props = resource["Properties"]
    assert props["MultiRegionConsistency"] == "STRONG"
    assert props["GlobalTableWitnesses"] == [{"Region": "us-west-2"}]
    assert [r["Region"] for r in props["Replicas"]] == ["us-east-1", "us-east-2"]
    mrec = cloudformation._global_table_resource(MREC)["Properties"]
    assert "MultiRegionConsistency" not in mrec and "GlobalTableWitnesses" not in mrec


def test_terraform_export_of_mrsc_fails_naming_the_gap() -> None:
    with pytest.raises(UsageError, match=r"consistency: strong and witness_region .* #48672"):
        terraform._table_body(WITNESSED)
    terraform._table_body(MREC)  # eventual: exported as before


def _corpus_mrsc(env: str) -> tuple[Any, list[Table]]:
    import tablesmith

    spec = tablesmith.load(Path(__file__).resolve().parents[1] / "corpus" / "valid" / "mrsc.yaml")
    return spec.environment(env), list(spec.tables(env))


@pytest.mark.parametrize("env", ["east", "europe"])
def test_cloudformation_export_of_mrsc_is_cfn_lint_clean(env: str) -> None:
    import json

    from cfnlint.api import lint

    environment, tables = _corpus_mrsc(env)
    files = cloudformation.render_cloudformation(environment, tables)
    problems = []
    for name, text in files.items():
        if name.endswith(".template.json"):
            region = json.loads(text)["Metadata"]["tablesmith"]["region"]
            problems += [f"{name}: {m.rule.id} {m.message}"
                         for m in lint(text, regions=[region]) if m.rule.id[0] in "EW"]
            if region == environment.region:
                resources = json.loads(text)["Resources"].values()
                table = next(r for r in resources if r["Type"] == "AWS::DynamoDB::GlobalTable")
                assert table["Properties"]["MultiRegionConsistency"] == "STRONG"
    assert problems == []


def test_terraform_render_of_an_mrsc_spec_is_refused() -> None:
    environment, tables = _corpus_mrsc("east")
    with pytest.raises(UsageError, match="cannot export table 'ledger' to Terraform"):
        terraform.render_terraform(environment, tables)


def test_plan_text_says_it_in_spec_vocabulary() -> None:
    from tablesmith.render.plan import describe_lines

    create = diff_table(None, WITNESSED)[1]
    assert describe_lines(create) == (
        "CreateStrongReplicas us-east-2", ["consistency: strong", "witness_region: us-west-2"])
    delete = diff_table(live(THREE), table())[0]
    assert describe_lines(delete) == ("DeleteStrongReplicas us-east-2, us-west-2", [])
