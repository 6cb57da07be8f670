"""Contributor Insights on the embedded local target: on the table and a GSI, in the table's
region and its replica's; a mode change; turned off; left unmanaged.

Each step applies a spec, reads the settings back with a raw DynamoDB client (not through
tablesmith) and through tablesmith's own read, and checks that planning again is empty. Only
the Contributor Insights operations of a plan are compared here.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from harness import session, table, write_spec

from tablesmith.around.registry import table_itself
from tablesmith.hazards import HazardCode

if TYPE_CHECKING:
    from pathlib import Path

    from tablesmith.engine import Session
    from tablesmith.plan import Plan

PRIMARY, DR = "af-south-1", "eu-west-1"
EVERYTHING = frozenset(HazardCode)
THROTTLED = {"enabled": True, "mode": "THROTTLED_KEYS"}
ALL_KEYS = {"enabled": True, "mode": "ACCESSED_AND_THROTTLED_KEYS"}


def spec(table_ci: dict[str, Any] | None, index_ci: dict[str, Any] | None) -> dict[str, Any]:
    index: dict[str, Any] = {"name": "ByEmail", "hash_key": {"name": "email", "type": "S"},
                             "projection_type": "KEYS_ONLY"}
    if index_ci is not None:
        index["contributor_insights"] = index_ci
    settings: dict[str, Any] = {"global_secondary_indexes": [index], "replicas": [DR]}
    if table_ci is not None:
        settings["contributor_insights"] = table_ci
    return {"main": table(**settings)}


def insights_ops(plan: Plan) -> list[tuple[str, str | None, str, tuple[str, ...]]]:
    """(region, index, action, hazard codes) of the plan's Contributor Insights operations."""
    return [(op.region, op.index, op.action.value,  # type: ignore[attr-defined]
             tuple(h.code.value for h in op.hazards))
            for op in plan.operations if op.op == "UpdateContributorInsights"]


def described(endpoint: str, region: str, name: str, index: str | None) -> tuple[str, Any]:
    """(status, mode) as DynamoDB describes them."""
    ddb = boto3.client("dynamodb", endpoint_url=endpoint, region_name=region)
    answer = ddb.describe_contributor_insights(
        TableName=name, **({"IndexName": index} if index else {}))
    return answer["ContributorInsightsStatus"], answer.get("ContributorInsightsMode")


def converged(s: Session) -> None:
    """The live tables equal the spec, tablesmith reads back each managed setting, and a new
    plan is empty."""
    from tablesmith.around.contributor_insights import desired_insights

    live = s.read()
    state = live.around["contributor_insights"]
    for want in s.tables:
        current = live.tables.get(want.table_name)
        assert current is not None
        assert current.table == table_itself(want).model_copy(update={"resource_tags": None})
        for region, index, setting in desired_insights(want):
            have = state.setting(want.table_name, region, index)  # type: ignore[attr-defined]
            assert (have.enabled, have.mode if have.enabled else None) == (
                setting.enabled, setting.mode if setting.enabled else None), (region, index)
    again = s.plan()
    assert not again.has_changes, [op.op for op in again.operations]


def step(tmp_path: Path, name: str, tables: dict[str, Any], prefix: str,
         endpoint: str) -> tuple[Session, Plan]:
    s = session(write_spec(tmp_path / name, tables, prefix, "local"), endpoint)
    return s, s.plan()


@pytest.mark.parametrize("engine", ["local"])
def test_contributor_insights_lifecycle(engine: str, engine_endpoint: str,
                                        tmp_path: Path) -> None:
    prefix = f"ci-{uuid.uuid4().hex[:6]}-"
    main = f"{prefix}main"

    # on: the table (throttled keys) and its GSI (every key), in both regions
    s, plan = step(tmp_path, "a", spec(THROTTLED, ALL_KEYS), prefix, engine_endpoint)
    cost = ("COST_CHANGE",)
    assert insights_ops(plan) == [(PRIMARY, None, "create", cost),
                                  (PRIMARY, "ByEmail", "create", cost),
                                  (DR, None, "create", cost), (DR, "ByEmail", "create", cost)]
    s.apply(plan, allowed=EVERYTHING)
    for region in (PRIMARY, DR):
        assert described(engine_endpoint, region, main, None) == ("ENABLED", "THROTTLED_KEYS")
        assert described(engine_endpoint, region, main, "ByEmail") == (
            "ENABLED", "ACCESSED_AND_THROTTLED_KEYS")
    converged(s)

    # the table's mode widens: an update in each region, billed for more events
    s, plan = step(tmp_path, "b", spec(ALL_KEYS, ALL_KEYS), prefix, engine_endpoint)
    assert insights_ops(plan) == [(PRIMARY, None, "update", cost), (DR, None, "update", cost)]
    s.apply(plan, allowed=frozenset({HazardCode.COST_CHANGE}))
    assert described(engine_endpoint, DR, main, None) == ("ENABLED", "ACCESSED_AND_THROTTLED_KEYS")
    converged(s)

    # removal: enabled false turns it off (no hazard: the view goes, the data stays)
    s, plan = step(tmp_path, "c", spec({"enabled": False}, ALL_KEYS), prefix, engine_endpoint)
    assert insights_ops(plan) == [(PRIMARY, None, "delete", ()), (DR, None, "delete", ())]
    assert not plan.hazards()
    s.apply(plan, allowed=frozenset())
    for region in (PRIMARY, DR):
        assert described(engine_endpoint, region, main, None)[0] == "DISABLED"
        assert described(engine_endpoint, region, main, "ByEmail")[0] == "ENABLED"
    converged(s)

    # the field left out: not managed, so the GSI's stays on and nothing is planned
    s, plan = step(tmp_path, "d", spec(None, None), prefix, engine_endpoint)
    assert insights_ops(plan) == []
    assert described(engine_endpoint, PRIMARY, main, "ByEmail")[0] == "ENABLED"


@pytest.mark.parametrize("engine", ["local"])
def test_a_recreated_index_gets_its_insights_in_the_same_apply(
        engine: str, engine_endpoint: str, tmp_path: Path) -> None:
    prefix = f"ci-gsi-{uuid.uuid4().hex[:6]}-"
    main = f"{prefix}main"
    index = {"name": "ByEmail", "hash_key": {"name": "email", "type": "S"},
             "projection_type": "KEYS_ONLY", "contributor_insights": THROTTLED}
    s, plan = step(tmp_path, "a", {"main": table(global_secondary_indexes=[index])}, prefix,
                   engine_endpoint)
    s.apply(plan, allowed=EVERYTHING)
    converged(s)

    changed = {**index, "projection_type": "ALL"}  # DynamoDB cannot change it in place
    s, plan = step(tmp_path, "b", {"main": table(global_secondary_indexes=[changed])}, prefix,
                   engine_endpoint)
    ops = [op.op for op in plan.operations]
    assert ops.index("CreateGsi") < ops.index("UpdateContributorInsights")
    assert insights_ops(plan) == [(PRIMARY, "ByEmail", "create", ("COST_CHANGE",))]
    s.apply(plan, allowed=EVERYTHING)
    assert described(engine_endpoint, PRIMARY, main, "ByEmail") == ("ENABLED", "THROTTLED_KEYS")
    converged(s)
