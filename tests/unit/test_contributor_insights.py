"""Tier-1 tests of ``around/contributor_insights.py``: desired, pure diff, settle, request,
describe and the bulk read, on literal values (the read on a stub client, no AWS)."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tablesmith.around.contributor_insights import (
    CONTRIBUTOR_INSIGHTS,
    OFF,
    InsightsState,
    LiveInsights,
    UpdateContributorInsights,
    describe_op,
    desired_insights,
    diff_insights,
    read_insights,
    settle_insights,
    update_request,
)
from tablesmith.errors import AwsError
from tablesmith.plan import Action, Category, CreateGsi, ReplaceTable
from tablesmith.spec.model import (
    ContributorInsights,
    Encryption,
    GlobalSecondaryIndex,
    Key,
    PointInTimeRecovery,
    Stream,
    Table,
    TimeToLive,
)

PRIMARY, DR = "af-south-1", "eu-west-1"
ON = ContributorInsights(enabled=True)
THROTTLED = ContributorInsights(enabled=True, mode="THROTTLED_KEYS")


def gsi(name: str) -> GlobalSecondaryIndex:
    return GlobalSecondaryIndex(name=name, hash_key=Key(name=name.lower(), type="S"))


def table(**overrides: Any) -> Table:
    base: dict[str, Any] = {
        "name": "orders", "table_name": "orders", "environment": "dev", "region": PRIMARY,
        "partition_key": Key(name="PK", type="S"),
        "attribute_definitions": (Key(name="PK", type="S"), Key(name="byowner", type="S")),
        "global_secondary_indexes": (gsi("ByOwner"),),
        "point_in_time_recovery": PointInTimeRecovery(enabled=True, recovery_period_days=35),
        "ttl": TimeToLive(enabled=False, attribute_name="expiryTime"),
        "stream": Stream(enabled=True, view_type="NEW_AND_OLD_IMAGES"),
        "encryption": Encryption(type="AWS_MANAGED"), "deletion_protection": False,
        "table_class": "STANDARD", "tags": {},
    }
    return Table(**{**base, **overrides})


def state(*found: LiveInsights, name: str = "orders") -> InsightsState:
    return InsightsState(tables={name: found})


def live(region: str, status: str = "ENABLED", index: str | None = None,
         mode: Any = "ACCESSED_AND_THROTTLED_KEYS") -> LiveInsights:
    return LiveInsights(region=region, index=index, status=status, mode=mode)


def shape(ops: list[Any]) -> list[tuple[str, str | None, str, bool, tuple[str, ...]]]:
    return [(op.region, op.index, op.action.value, op.after.enabled,
             tuple(h.code.value for h in op.hazards)) for op in ops]


# --------------------------------------------------------------------------- desired


def test_absent_field_is_not_managed() -> None:
    assert list(desired_insights(table())) == []
    assert diff_insights(InsightsState(), table()) == []


def test_table_and_index_settings_apply_in_every_replica_region() -> None:
    t = table(contributor_insights=ON, index_contributor_insights={"ByOwner": THROTTLED},
              replicas=(DR,))
    assert list(desired_insights(t)) == [
        (PRIMARY, None, ON), (PRIMARY, "ByOwner", THROTTLED),
        (DR, None, ON), (DR, "ByOwner", THROTTLED)]


# --------------------------------------------------------------------------- diff


def test_enabling_is_a_cost_change_in_each_region() -> None:
    t = table(contributor_insights=ON, replicas=(DR,))
    ops = diff_insights(InsightsState(), t)
    assert shape(ops) == [(PRIMARY, None, "create", True, ("COST_CHANGE",)),
                          (DR, None, "create", True, ("COST_CHANGE",))]
    assert all(op.category == Category.NEW for op in ops)


def test_live_equal_to_spec_plans_nothing_and_enabling_counts_as_on() -> None:
    t = table(contributor_insights=ON, index_contributor_insights={"ByOwner": THROTTLED})
    found = state(live(PRIMARY, "ENABLING"), live(PRIMARY, index="ByOwner", mode="THROTTLED_KEYS"))
    assert diff_insights(found, t) == []


def test_disabling_carries_no_hazard() -> None:
    t = table(contributor_insights=ContributorInsights(enabled=False))
    ops = diff_insights(state(live(PRIMARY)), t)
    assert shape(ops) == [(PRIMARY, None, "delete", False, ())]
    assert ops[0].category == Category.DRIFT and "no data is lost" in ops[0].reason


def test_disabled_spec_and_nothing_listed_plans_nothing_whatever_the_mode() -> None:
    t = table(contributor_insights=ContributorInsights(enabled=False, mode="THROTTLED_KEYS"))
    assert diff_insights(state(live(PRIMARY, "DISABLING")), t) == []


def test_failed_is_enabled_again() -> None:
    t = table(contributor_insights=ON)
    assert shape(diff_insights(state(live(PRIMARY, "FAILED")), t)) == [
        (PRIMARY, None, "create", True, ("COST_CHANGE",))]


def test_mode_change_wider_costs_narrower_does_not() -> None:
    wider = diff_insights(state(live(PRIMARY, mode="THROTTLED_KEYS")),
                          table(contributor_insights=ON))
    assert shape(wider) == [(PRIMARY, None, "update", True, ("COST_CHANGE",))]
    narrower = diff_insights(state(live(PRIMARY)), table(contributor_insights=THROTTLED))
    assert shape(narrower) == [(PRIMARY, None, "update", True, ())]
    assert narrower[0].before == ON and narrower[0].after == THROTTLED


def test_listed_without_mode_is_aws_default() -> None:
    assert live(PRIMARY, mode=None).setting == ON
    assert diff_insights(state(live(PRIMARY, mode=None)), table(contributor_insights=ON)) == []


def test_unsupported_region_is_left_out_with_a_notice() -> None:
    t = table(contributor_insights=ON, replicas=(DR,))
    found = InsightsState(unsupported=(DR,))
    assert shape(diff_insights(found, t)) == [(PRIMARY, None, "create", True, ("COST_CHANGE",))]
    assert CONTRIBUTOR_INSIGHTS.notices(found, [t]) == [
        f"the endpoint does not implement Contributor Insights in {DR}: it is not managed there"]
    assert CONTRIBUTOR_INSIGHTS.notices(found, [table()]) == []


def test_destroy_plans_nothing() -> None:
    t = table(contributor_insights=ON)
    assert CONTRIBUTOR_INSIGHTS.diff_destroy(state(live(PRIMARY)), t) == []


def test_fingerprint_is_the_setting_not_the_transient_status() -> None:
    assert state(live(PRIMARY, "ENABLING")).fingerprint("orders") == \
        state(live(PRIMARY, "ENABLED")).fingerprint("orders")
    assert state(live(PRIMARY)).fingerprint("orders") != InsightsState().fingerprint("orders")


# --------------------------------------------------------------------------- settle


def test_a_recreated_index_gets_its_insights_again() -> None:
    t = table(index_contributor_insights={"ByOwner": ON}, replicas=(DR,))
    create = CreateGsi(table="orders", region=PRIMARY, after=gsi("ByOwner"),
                       category=Category.DRIFT)
    ops = settle_insights([create], [t])
    assert ops[0] is create
    assert shape(ops[1:]) == [(PRIMARY, "ByOwner", "create", True, ("COST_CHANGE",)),
                              (DR, "ByOwner", "create", True, ("COST_CHANGE",))]
    assert "made again" in ops[1].reason


def test_settle_keeps_what_the_diff_planned_and_replacement_covers_the_table() -> None:
    t = table(contributor_insights=ON, index_contributor_insights={"ByOwner": OFF})
    planned = UpdateContributorInsights(table="orders", region=PRIMARY, action=Action.CREATE,
                                        after=ON, category=Category.NEW)
    replace = ReplaceTable(table="orders", region=PRIMARY, before=t, after=t,
                           category=Category.DRIFT)
    assert settle_insights([replace, planned], [t]) == [replace, planned]
    assert shape(settle_insights([replace], [t])[1:]) == [
        (PRIMARY, None, "create", True, ("COST_CHANGE",))]  # the index's is off: nothing


# --------------------------------------------------------------------------- request, render


def test_update_request() -> None:
    enable = UpdateContributorInsights(table="orders", region=PRIMARY, index="ByOwner",
                                       action=Action.CREATE, after=THROTTLED,
                                       category=Category.NEW)
    assert update_request(enable) == {
        "TableName": "orders", "IndexName": "ByOwner", "ContributorInsightsAction": "ENABLE",
        "ContributorInsightsMode": "THROTTLED_KEYS"}
    disable = enable.model_copy(update={"index": None, "before": THROTTLED, "after": OFF})
    assert update_request(disable) == {"TableName": "orders",
                                       "ContributorInsightsAction": "DISABLE"}


def test_describe_in_spec_vocabulary() -> None:
    op = UpdateContributorInsights(table="orders", region=DR, index="ByOwner",
                                   action=Action.UPDATE, before=THROTTLED, after=ON,
                                   category=Category.DRIFT)
    assert describe_op(op) == (
        "UpdateContributorInsights orders/ByOwner [eu-west-1] (enable)",
        ["global_secondary_indexes.ByOwner.contributor_insights.mode: THROTTLED_KEYS -> "
         "ACCESSED_AND_THROTTLED_KEYS"])
    off = op.model_copy(update={"index": None, "before": ON, "after": OFF})
    assert describe_op(off) == ("UpdateContributorInsights orders [eu-west-1] (disable)",
                                ["contributor_insights.enabled: true -> false"])
    new = op.model_copy(update={"before": OFF})
    assert describe_op(new)[1] == [
        "global_secondary_indexes.ByOwner.contributor_insights.enabled: false -> true",
        "global_secondary_indexes.ByOwner.contributor_insights.mode: none -> "
        "ACCESSED_AND_THROTTLED_KEYS"]


# --------------------------------------------------------------------------- read


class _Client:
    def __init__(self, pages: list[dict[str, Any]] | Exception) -> None:
        self.pages = pages
        self.asked: list[dict[str, Any]] = []

    def list_contributor_insights(self, **kwargs: Any) -> dict[str, Any]:
        self.asked.append(kwargs)
        if isinstance(self.pages, Exception):
            raise self.pages
        return self.pages[len(self.asked) - 1]


class _Clients:
    def __init__(self, by_region: dict[str, _Client], custom: str | None = None) -> None:
        self.by_region = by_region
        self.custom_endpoint = custom

    def dynamodb(self, region: str) -> _Client:
        return self.by_region[region]


def _summary(name: str, status: str, index: str | None = None,
             mode: str | None = None) -> dict[str, Any]:
    out = {"TableName": name, "ContributorInsightsStatus": status}
    if index:
        out["IndexName"] = index
    if mode:
        out["ContributorInsightsMode"] = mode
    return out


def test_read_is_one_paginated_list_per_region_of_managing_tables_only() -> None:
    primary = _Client([
        {"ContributorInsightsSummaries": [_summary("orders", "ENABLED", mode="THROTTLED_KEYS"),
                                          _summary("other", "ENABLED")], "NextToken": "t"},
        {"ContributorInsightsSummaries": [_summary("orders", "ENABLING", "ByOwner"),
                                          _summary("orders", "DISABLED", "ByX")]}])
    dr = _Client([{"ContributorInsightsSummaries": []}])
    t = table(contributor_insights=ON, replicas=(DR,))
    found = read_insights(_Clients({PRIMARY: primary, DR: dr}),  # type: ignore[arg-type]
                          [t, table(name="quiet", table_name="quiet")])
    assert primary.asked == [{"MaxResults": 100}, {"MaxResults": 100, "NextToken": "t"}]
    assert len(dr.asked) == 1
    assert found == InsightsState(tables={"orders": (
        live(PRIMARY, mode="THROTTLED_KEYS"), live(PRIMARY, "ENABLING", "ByOwner", None))})


def test_read_costs_nothing_when_no_table_manages_it() -> None:
    assert read_insights(_Clients({}), [table()]) == InsightsState()  # type: ignore[arg-type]


def _error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "m"}}, "ListContributorInsights")


def test_an_emulator_without_the_api_is_a_gap_real_aws_errors_are_raised() -> None:
    t = table(contributor_insights=ON)
    unknown = _Clients({PRIMARY: _Client(_error("UnknownOperationException"))},
                       custom="http://localhost:8000")
    assert read_insights(unknown, [t]).unsupported == (PRIMARY,)  # type: ignore[arg-type]
    with pytest.raises(AwsError):
        read_insights(_Clients({PRIMARY: _Client(_error("InternalServerError"))}),  # type: ignore[arg-type]
                      [t])
    denied = _Clients({PRIMARY: _Client(_error("AccessDeniedException"))}, custom="http://x")
    with pytest.raises(AwsError):
        read_insights(denied, [t])  # type: ignore[arg-type]


# --------------------------------------------------------------------------- IAM


def test_iam_grants_it_only_to_tables_that_manage_it() -> None:
    from tablesmith.iam_policy import actions, iam_policy

    quiet = iam_policy([table()], account="123456789012", environment="dev")
    assert not {a for a in actions(quiet) if "ContributorInsights" in a}
    t = table(index_contributor_insights={"ByOwner": ON}, replicas=(DR,))
    doc = iam_policy([t], account="123456789012", environment="dev")
    update = [s for s in doc["Statement"] if "dynamodb:UpdateContributorInsights" in s["Action"]]
    assert [s["Resource"] for s in update] == [[
        f"arn:aws:dynamodb:{region}:123456789012:table/orders{suffix}"
        for region in (PRIMARY, DR) for suffix in ("", "/index/*")]]
    listing = [s for s in doc["Statement"] if "dynamodb:ListContributorInsights" in s["Action"]]
    assert [s["Resource"] for s in listing] == ["*"]
    plan_only = iam_policy([t], account="123456789012", environment="dev", read_only=True)
    assert "dynamodb:UpdateContributorInsights" not in actions(plan_only)
    assert "dynamodb:ListContributorInsights" in actions(plan_only)


# --------------------------------------------------------------------------- gaps, mode


def test_settle_plans_nothing_in_a_region_whose_endpoint_lacks_the_api() -> None:
    t = table(contributor_insights=ON, index_contributor_insights={"ByOwner": ON},
              replicas=(DR,))
    create = CreateGsi(table="orders", region=PRIMARY, after=gsi("ByOwner"),
                       category=Category.DRIFT)
    planned = UpdateContributorInsights(table="orders", region=DR, action=Action.CREATE,
                                        after=ON, category=Category.NEW)
    ops = CONTRIBUTOR_INSIGHTS.settle(InsightsState(unsupported=(DR,)), [create, planned], [t])
    assert ops[0] is create
    assert shape(ops[1:]) == [(PRIMARY, "ByOwner", "create", True, ("COST_CHANGE",))]


class _Describing(_Client):
    def __init__(self, pages: list[dict[str, Any]], mode: str | None) -> None:
        super().__init__(pages)
        self.mode = mode
        self.described: list[dict[str, Any]] = []

    def describe_contributor_insights(self, **kwargs: Any) -> dict[str, Any]:
        self.described.append(kwargs)
        answer = {**kwargs, "ContributorInsightsStatus": "ENABLED"}
        return {**answer, "ContributorInsightsMode": self.mode} if self.mode else answer


def test_a_summary_without_mode_is_described_where_the_spec_wants_throttled_keys() -> None:
    pages = [{"ContributorInsightsSummaries": [_summary("orders", "ENABLED"),
                                               _summary("orders", "ENABLED", "ByOwner")]}]
    t = table(contributor_insights=THROTTLED, index_contributor_insights={"ByOwner": ON})
    client = _Describing(pages, "THROTTLED_KEYS")
    found = read_insights(_Clients({PRIMARY: client}), [t])  # type: ignore[arg-type]
    assert client.described == [{"TableName": "orders"}]  # the index wants AWS's default
    assert diff_insights(found, t) == []
    assert found.tables["orders"][1] == live(PRIMARY, index="ByOwner", mode=None)


def test_destroy_reads_nothing_and_an_unknown_status_is_an_aws_error() -> None:
    from tablesmith.around.contract import ReadContext

    t = table(contributor_insights=ON)
    assert read_insights(_Clients({}), [t], ReadContext(destroy=True)) == InsightsState()  # type: ignore[arg-type]
    odd = _Client([{"ContributorInsightsSummaries": [_summary("orders", "PAUSED")]}])
    with pytest.raises(AwsError, match="ContributorInsightsStatus 'PAUSED'"):
        read_insights(_Clients({PRIMARY: odd}), [t])  # type: ignore[arg-type]
