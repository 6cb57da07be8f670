"""Tier-1 tests of the plan renderers (``render/plan.py``): stable JSON and text for people.

Plans are made by the pure diff from literal tables; the text renderer writes through
``click.echo``, which drops colours when the output is not a terminal (as under capsys).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from tablesmith.diff import plan_destroy, plan_environment
from tablesmith.render.plan import plan_summary, render_plan_json, render_plan_text
from tablesmith.spec.model import (
    Encryption,
    GlobalSecondaryIndex,
    Key,
    PointInTimeRecovery,
    Stream,
    Table,
    TimeToLive,
)
from tablesmith.state import LiveState, LiveTable, ReplicaState

if TYPE_CHECKING:
    import pytest

    from tablesmith.plan import Plan

PRIMARY = "af-south-1"
DR = "eu-west-1"
ARN = "arn:aws:dynamodb:af-south-1:123456789012:table/x"
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
        tags={"Project": "shop"},
    )
    return base.model_copy(update=update)


def live(t: Table, *, items: int = 0, **update: Any) -> LiveTable:
    """``t`` as AWS holds it."""
    return LiveTable(table=t, arn=ARN, item_count=items, **update)


def by_email() -> GlobalSecondaryIndex:
    return GlobalSecondaryIndex(name="ByEmail", hash_key=Key(name="email", type="S"))


def mixed_plan() -> Plan:
    """a_new: create; b_rekeyed: replace; c_indexed: update (GSI with backfill, PITR off);
    d_same: no change; e_old: pruned orphan (delete); f_kept is an orphan left alone."""
    lstate = LiveState(
        region=PRIMARY,
        tables={
            "a_new": None,
            "b_rekeyed": live(table("b_rekeyed"), items=3),
            "c_indexed": live(
                table(
                    "c_indexed",
                    point_in_time_recovery=PointInTimeRecovery(
                        enabled=True, recovery_period_days=35
                    ),
                ),
                items=12,
            ),
            "d_same": live(table("d_same")),
            "e_old": live(table("e_old"), items=4),
        },
        orphans=("e_old",),
    )
    desired = [
        table("a_new"),
        table("b_rekeyed", sort_key=None),
        table("c_indexed", global_secondary_indexes=(by_email(),)),
        table("d_same"),
    ]
    return plan_environment(lstate, desired, environment="prod", prune=True)


def empty_plan() -> Plan:
    lstate = LiveState(region=PRIMARY, tables={"orders": live(table())}, orphans=("f_kept",))
    return plan_environment(lstate, [table()], environment="prod")


# --------------------------------------------------------------------------- JSON


def test_json_has_the_documented_keys() -> None:
    doc = render_plan_json(mixed_plan())
    assert {
        "format_version",
        "environment",
        "region",
        "destroy",
        "fingerprint",
        "has_changes",
        "summary",
        "tables",
        "operations",
        "hazards",
    } <= set(doc)
    plan = mixed_plan()
    assert (
        doc["format_version"],
        doc["environment"],
        doc["region"],
        doc["destroy"],
        doc["fingerprint"],
        doc["has_changes"],
    ) == (1, "prod", PRIMARY, False, plan.fingerprint, True)
    assert json.loads(json.dumps(doc)) == doc  # plain JSON all the way down


def test_json_summary_counts_tables_per_action() -> None:
    doc = render_plan_json(mixed_plan())
    assert doc["summary"] == {"create": 1, "update": 1, "replace": 1, "delete": 1, "no-op": 1}
    assert doc["tables"] == [
        {"table": "a_new", "action": "create"},
        {"table": "b_rekeyed", "action": "replace"},
        {"table": "c_indexed", "action": "update"},
        {"table": "d_same", "action": "no-op"},
        {"table": "e_old", "action": "delete"},
    ]


def test_json_operations_carry_op_before_after_and_hazards() -> None:
    doc = render_plan_json(mixed_plan())
    gsi_op = next(op for op in doc["operations"] if op["op"] == "CreateGsi")
    assert {"op", "table", "region", "action", "reason", "after", "hazards"} <= set(gsi_op)
    assert (gsi_op["table"], gsi_op["region"], gsi_op["action"]) == ("c_indexed", PRIMARY, "create")
    assert gsi_op["after"]["name"] == "ByEmail"
    assert gsi_op["item_count"] == 12
    [hazard] = gsi_op["hazards"]
    assert hazard["code"] == "INDEX_BACKFILL"
    assert hazard["blocking"] is False
    assert "12" in hazard["message"]
    pitr = next(op for op in doc["operations"] if op["op"] == "UpdatePitr")
    assert pitr["before"] == {"enabled": True, "recovery_period_days": 35}
    assert pitr["after"]["enabled"] is False
    assert [op["op"] for op in doc["operations"]] == [op.op for op in mixed_plan().operations]


def test_json_hazards_list_every_hazard_with_its_operation() -> None:
    doc = render_plan_json(mixed_plan())
    assert [(h["code"], h["blocking"], h["table"], h["op"]) for h in doc["hazards"]] == [
        ("REPLACES_TABLE", True, "b_rekeyed", "ReplaceTable"),
        ("INDEX_BACKFILL", False, "c_indexed", "CreateGsi"),
        ("DISABLES_RECOVERY", True, "c_indexed", "UpdatePitr"),
        ("DELETES_DATA", True, "e_old", "DeleteTable"),
    ]
    assert all(h["message"] and h["region"] == PRIMARY for h in doc["hazards"])
    assert "copy the items" in doc["hazards"][0]["suggestion"]


def test_json_of_an_empty_plan() -> None:
    doc = render_plan_json(empty_plan())
    assert doc["has_changes"] is False
    assert doc["operations"] == [] and doc["hazards"] == []
    assert doc["summary"] == {"create": 0, "update": 0, "replace": 0, "delete": 0, "no-op": 1}
    assert doc["orphans"] == ["f_kept"]


def test_json_of_a_destroy_plan() -> None:
    t = table(replicas=(DR,), stream=STREAM_ON)
    lstate = LiveState(
        region=PRIMARY,
        tables={"orders": live(t, replica_states=(ReplicaState(region=DR, status="ACTIVE"),))},
    )
    doc = render_plan_json(plan_destroy(lstate, [t], environment="prod"))
    assert doc["destroy"] is True
    assert doc["summary"]["delete"] == 1
    assert [op["op"] for op in doc["operations"]] == ["DeleteReplica", "DeleteTable"]
    assert doc["operations"][0]["replica_region"] == DR


def test_json_is_stable() -> None:
    assert json.dumps(render_plan_json(mixed_plan()), sort_keys=False) == json.dumps(
        render_plan_json(mixed_plan()), sort_keys=False
    )


def test_plan_summary_skips_orphans_left_alone() -> None:
    assert plan_summary(empty_plan()) == {
        "create": 0,
        "update": 0,
        "replace": 0,
        "delete": 0,
        "no-op": 1,
    }


# --------------------------------------------------------------------------- text


def test_text_names_every_table_with_its_action(capsys: pytest.CaptureFixture[str]) -> None:
    render_plan_text(mixed_plan())
    out = capsys.readouterr().out
    assert "\x1b[" not in out  # no colours when not writing to a terminal
    lines = out.splitlines()
    assert lines[0] == f"tablesmith plan: environment prod ({PRIMARY})"
    assert "  + a_new  create" in lines
    assert "  -/+ b_rekeyed  replace" in lines
    assert "  ~ c_indexed  update" in lines
    assert "  = d_same  no changes" in lines
    assert "  - e_old  delete" in lines
    assert "Plan: 1 to create, 1 to update, 1 to replace, 1 to delete, 1 unchanged." in lines


def test_text_shows_each_operation_with_reason_and_hazards(
    capsys: pytest.CaptureFixture[str],
) -> None:
    render_plan_text(mixed_plan())
    out = capsys.readouterr().out
    assert "+ CreateGsi ByEmail (email; ALL)  # new: new index" in out
    assert "! INDEX_BACKFILL (notice):" in out
    assert "~ UpdatePitr [af-south-1] on (35 days) -> off" in out
    assert "! DISABLES_RECOVERY (BLOCKING):" in out
    assert "- DeleteTable (~4 items)" in out
    assert "-/+ ReplaceTable (key PK:S; stream off; SSE AWS_OWNED)" in out


def test_text_lists_blocking_hazards_with_the_flag(capsys: pytest.CaptureFixture[str]) -> None:
    render_plan_text(mixed_plan())
    last = capsys.readouterr().out.splitlines()[-1]
    assert last == (
        "Hazards that apply will refuse unless allowed: DELETES_DATA, "
        "DISABLES_RECOVERY, REPLACES_TABLE  "
        "(--allow-hazards DELETES_DATA,DISABLES_RECOVERY,REPLACES_TABLE)"
    )


def test_text_of_an_empty_plan_says_no_changes(capsys: pytest.CaptureFixture[str]) -> None:
    render_plan_text(empty_plan())
    out = capsys.readouterr().out
    assert "  = orders  no changes" in out.splitlines()
    assert "No changes. AWS matches the spec." in out
    assert "Plan:" not in out and "Hazards" not in out
    assert "? f_kept: not in the spec; owned by tablesmith (--prune would delete it)" in out


def test_text_without_blocking_hazards_has_no_flag(capsys: pytest.CaptureFixture[str]) -> None:
    lstate = LiveState(region=PRIMARY, tables={"orders": live(table(), items=5)})
    render_plan_text(
        plan_environment(
            lstate, [table(global_secondary_indexes=(by_email(),))], environment="prod"
        )
    )
    out = capsys.readouterr().out
    assert "INDEX_BACKFILL (notice)" in out
    assert "--allow-hazards" not in out


def test_text_shows_notices(capsys: pytest.CaptureFixture[str]) -> None:
    lstate = LiveState(region=PRIMARY, tables={"orders": None}, unsupported=("tags",))
    render_plan_text(plan_environment(lstate, [table()], environment="prod"))
    assert "  note: the endpoint does not implement tagging" in capsys.readouterr().out


def test_text_of_a_destroy_plan(capsys: pytest.CaptureFixture[str]) -> None:
    lstate = LiveState(region=PRIMARY, tables={"orders": live(table(), items=2)})
    render_plan_text(plan_destroy(lstate, [table()], environment="prod"))
    out = capsys.readouterr().out
    assert out.startswith(f"tablesmith destroy: environment prod ({PRIMARY})")
    assert "  - orders  delete" in out
    assert "--allow-hazards DELETES_DATA" in out


def test_text_can_go_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    render_plan_text(empty_plan(), err=True)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "No changes." in captured.err


def test_text_of_tag_and_ttl_changes(capsys: pytest.CaptureFixture[str]) -> None:
    have = table(tags={"Project": "shop", "Stale": "x"})
    want = table(
        tags={"Project": "shop2", "Owner": "a"},
        ttl=TimeToLive(enabled=True, attribute_name="exp"),
        stream=STREAM_ON,
    )
    lstate = LiveState(region=PRIMARY, tables={"orders": live(have)})
    render_plan_text(plan_environment(lstate, [want], environment="prod"))
    out = capsys.readouterr().out
    lines = out.splitlines()
    untag = lines.index("      ~ UntagResource [af-south-1]  # drift")
    assert lines[untag + 1] == "          - Stale (was x)"
    tag = lines.index("      ~ TagResource [af-south-1]  # drift")
    assert lines[tag + 1:tag + 3] == ["          + Owner = a", "          ~ Project: shop -> shop2"]
    assert "~ UpdateTtl off -> on (exp)" in out
    assert "~ UpdateStream off -> NEW_AND_OLD_IMAGES" in out


def test_text_has_no_python_reprs(capsys: pytest.CaptureFixture[str]) -> None:
    """Plan lines speak the spec's vocabulary: true/none/{k: v}, never True/None/{'k': …}."""
    have = table(tags={"Project": "shop", "Team": "a b"}, deletion_protection=True)
    want = table(tags={"Project": "", "Team": "a b c"}, deletion_protection=False)
    lstate = LiveState(region=PRIMARY, tables={"orders": live(have)})
    render_plan_text(plan_environment(lstate, [want], environment="prod",
                                      lift_protection=True))
    out = capsys.readouterr().out
    for repr_only in ("None", "True", "False", "{'", "': '"):
        assert repr_only not in out, out
    assert 'Project: shop -> ""' in out
    assert 'Team: "a b" -> "a b c"' in out
    assert "UpdateDeletionProtection [af-south-1] true -> false" in out


def test_values_are_shown_as_the_spec_writes_them() -> None:
    from tablesmith.render.values import show

    assert show(None) == "none"
    assert show({"TableName": "orders", "Enabled": True}) == "{TableName: orders, Enabled: true}"
    assert show(["a", 1, 2.5]) == "[a, 1, 2.5]"
    assert show("yes") == '"yes"'  # a YAML 1.1 boolean: quoted, as the spec would need it
    assert show(5.0) == "5"
