"""Kinesis streaming destinations (around/kinesis.py): the pure diff, the read's parsing and
what it costs, the plan lines and the IAM policy. Literal values, no AWS."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import botocore.session
from botocore import xform_name

from tablesmith.around.contract import ReadContext
from tablesmith.around.kinesis import (
    KINESIS,
    DisableKinesisStreamingDestination,
    EnableKinesisStreamingDestination,
    KinesisState,
    LiveDestination,
    UpdateKinesisStreamingDestination,
    after_replacement,
    describe_op,
    diff_destinations,
    parse_destinations,
    read_destinations,
)
from tablesmith.hazards import HazardCode
from tablesmith.iam_policy import actions, iam_policy
from tablesmith.plan import Category, ReplaceTable
from tablesmith.spec.model import (
    Encryption,
    Key,
    KinesisStreamingDestination,
    PointInTimeRecovery,
    Stream,
    Table,
    TimeToLive,
)

REPO = Path(__file__).resolve().parents[2]
PRIMARY = "af-south-1"
ACCOUNT = "123456789012"
CHANGES = f"arn:aws:kinesis:{PRIMARY}:{ACCOUNT}:stream/orders-changes"
AUDIT = f"arn:aws:kinesis:{PRIMARY}:{ACCOUNT}:stream/orders-audit"


def table(destinations: tuple[KinesisStreamingDestination, ...] | None, **update: Any) -> Table:
    base = Table(
        name="orders", table_name="orders", environment="prod", region=PRIMARY,
        partition_key=Key(name="PK", type="S"), attribute_definitions=(Key(name="PK", type="S"),),
        point_in_time_recovery=PointInTimeRecovery(enabled=False, recovery_period_days=35),
        ttl=TimeToLive(enabled=False, attribute_name="expiresAt"),
        stream=Stream(enabled=False, view_type="NEW_AND_OLD_IMAGES"),
        encryption=Encryption(type="AWS_OWNED"), deletion_protection=False,
        table_class="STANDARD", tags={"Owner": "qa"},
        kinesis_streaming_destinations=destinations)
    return base.model_copy(update=update)


def want(arn: str, precision: str = "MILLISECOND") -> KinesisStreamingDestination:
    return KinesisStreamingDestination.model_validate(
        {"stream_arn": arn, "timestamp_precision": precision})


def live(arn: str, status: str = "ACTIVE", precision: str = "MILLISECOND") -> LiveDestination:
    return LiveDestination(destination=want(arn, precision), status=status)


def steps(ops: list[Any]) -> list[tuple[str, str, list[str]]]:
    return [(op.op, (getattr(op, "after", None) or op.before).stream_arn,
             [h.code.value for h in op.hazards]) for op in ops]


# --------------------------------------------------------------------------- diff


def test_not_managed_plans_nothing_whatever_streams() -> None:
    assert diff_destinations((live(CHANGES),), table(None)) == []


def test_a_new_destination_is_enabled_and_costs_money() -> None:
    ops = diff_destinations((), table((want(CHANGES, "MICROSECOND"),)))
    assert steps(ops) == [("EnableKinesisStreamingDestination", CHANGES, ["COST_CHANGE"])]
    op = ops[0]
    assert isinstance(op, EnableKinesisStreamingDestination)
    assert (op.after.timestamp_precision, op.category, op.region) == (
        "MICROSECOND", Category.NEW, PRIMARY)
    assert not op.hazards[0].blocking


def test_a_disabled_destination_that_aws_still_lists_is_enabled_again() -> None:
    for status in ("DISABLED", "ENABLE_FAILED", "DISABLING"):
        ops = diff_destinations((live(CHANGES, status),), table((want(CHANGES),)))
        assert steps(ops) == [("EnableKinesisStreamingDestination", CHANGES, ["COST_CHANGE"])]
        assert ops[0].category == Category.DRIFT
        assert status in ops[0].reason


def test_streaming_with_the_same_precision_is_left_alone() -> None:
    for status in ("ACTIVE", "ENABLING", "UPDATING"):
        assert diff_destinations((live(CHANGES, status),), table((want(CHANGES),))) == []


def test_another_precision_is_an_update_in_place() -> None:
    ops = diff_destinations((live(CHANGES),), table((want(CHANGES, "MICROSECOND"),)))
    assert steps(ops) == [("UpdateKinesisStreamingDestination", CHANGES, [])]
    op = ops[0]
    assert isinstance(op, UpdateKinesisStreamingDestination)
    assert (op.before.timestamp_precision, op.after.timestamp_precision) == (
        "MILLISECOND", "MICROSECOND")


def test_removal_disables_with_a_blocking_hazard() -> None:
    ops = diff_destinations((live(AUDIT), live(CHANGES)), table((want(CHANGES),)))
    assert steps(ops) == [("DisableKinesisStreamingDestination", AUDIT, ["STOPS_STREAMING"])]
    hazard = ops[0].hazards[0]
    assert hazard.blocking and AUDIT in hazard.message and hazard.suggestion


def test_empty_list_disables_only_what_streams() -> None:
    current = (live(AUDIT, "DISABLED"), live(CHANGES, "ACTIVE"),
               live(f"arn:aws:kinesis:{PRIMARY}:{ACCOUNT}:stream/z", "ENABLING"))
    ops = diff_destinations(current, table(()))
    assert [op.op for op in ops] == ["DisableKinesisStreamingDestination"] * 2
    assert [arn for _, arn, _ in steps(ops)] == [CHANGES, current[2].destination.stream_arn]


def test_operations_are_sorted_by_stream_arn() -> None:
    ops = diff_destinations((live(CHANGES),), table((want(AUDIT),)))
    assert steps(ops) == [("EnableKinesisStreamingDestination", AUDIT, ["COST_CHANGE"]),
                          ("DisableKinesisStreamingDestination", CHANGES, ["STOPS_STREAMING"])]


def test_the_family_plans_nothing_where_the_endpoint_lacks_the_api() -> None:
    state = KinesisState(unserved=True)
    assert KINESIS.diff(state, table((want(CHANGES),))) == []
    assert KINESIS.notices(state, [table((want(CHANGES),))]) == [
        "the endpoint does not implement Kinesis streaming destinations: they are not "
        "managed there"]
    assert KINESIS.notices(state, [table(None)]) == []


def test_destroy_leaves_the_destinations_to_delete_table() -> None:
    state = KinesisState(tables={"orders": (live(CHANGES),)})
    assert KINESIS.diff_destroy(state, table((want(CHANGES),))) == []


def test_a_replaced_table_gets_its_destinations_enabled_again() -> None:
    t = table((want(AUDIT), want(CHANGES, "MICROSECOND")))
    replace = ReplaceTable(table="orders", region=PRIMARY, before=t, after=t,
                           category=Category.DRIFT)
    planned = [replace, *diff_destinations((live(AUDIT), live(CHANGES)), t)]
    ops = after_replacement(planned, [t])
    assert ops[0] is replace
    assert steps(ops[1:]) == [("EnableKinesisStreamingDestination", AUDIT, ["COST_CHANGE"]),
                              ("EnableKinesisStreamingDestination", CHANGES, ["COST_CHANGE"])]
    unrelated = diff_destinations((), t)
    assert after_replacement(unrelated, [t]) == unrelated


# --------------------------------------------------------------------------- read


def test_parse_keeps_the_streaming_entry_of_an_arn_listed_twice() -> None:
    raw = [
        {"StreamArn": CHANGES, "DestinationStatus": "DISABLED",
         "ApproximateCreationDateTimePrecision": "MICROSECOND"},
        {"StreamArn": CHANGES, "DestinationStatus": "ACTIVE"},
        {"StreamArn": AUDIT, "DestinationStatus": "DISABLED"},
    ]
    assert parse_destinations(raw) == (live(AUDIT, "DISABLED"), live(CHANGES, "ACTIVE"))


def test_the_fingerprint_is_definitions_not_phases() -> None:
    enabling = KinesisState(tables={"orders": (live(CHANGES, "ENABLING"),)})
    active = KinesisState(tables={"orders": (live(CHANGES, "ACTIVE"),)})
    disabled = KinesisState(tables={"orders": (live(CHANGES, "DISABLED"),)})
    assert enabling.fingerprint("orders") == active.fingerprint("orders")
    assert active.fingerprint("orders") != disabled.fingerprint("orders")


class _NoCalls:
    custom_endpoint = None

    def dynamodb(self, region: str | None = None) -> Any:
        raise AssertionError("a table that does not manage destinations cost a call")


class _Answers:
    custom_endpoint = None

    def __init__(self) -> None:
        self.asked: list[str] = []

    def dynamodb(self, region: str | None = None) -> Any:
        return self

    def describe_kinesis_streaming_destination(self, TableName: str) -> dict[str, Any]:
        self.asked.append(TableName)
        return {"TableName": TableName, "KinesisDataStreamDestinations": [
            {"StreamArn": CHANGES, "DestinationStatus": "ACTIVE",
             "ApproximateCreationDateTimePrecision": "MILLISECOND"}]}


def test_read_costs_nothing_for_tables_that_do_not_manage_destinations() -> None:
    tables = [table(None), table((want(CHANGES),), table_name="absent")]
    context = ReadContext(live_tables={"orders": None, "absent": None})
    assert read_destinations(_NoCalls(), tables, context) == KinesisState()  # type: ignore[arg-type]


def test_read_describes_each_existing_managed_table_once() -> None:
    clients = _Answers()
    existing = table((), table_name="existing")
    context = ReadContext(live_tables={"existing": object(), "orders": object()})  # type: ignore[dict-item]
    state = read_destinations(clients, [existing, table(None)], context)  # type: ignore[arg-type]
    assert clients.asked == ["existing"]
    assert state == KinesisState(tables={"existing": (live(CHANGES),)})
    destroy = ReadContext(live_tables=context.live_tables, destroy=True)
    assert read_destinations(_NoCalls(), [existing], destroy) == KinesisState()  # type: ignore[arg-type]


# --------------------------------------------------------------------------- render


def test_plan_lines_speak_the_spec() -> None:
    at: dict[str, Any] = {"table": "orders", "region": PRIMARY, "category": Category.NEW}
    assert describe_op(EnableKinesisStreamingDestination(**at, after=want(CHANGES))) == (
        f"EnableKinesisStreamingDestination {CHANGES} [{PRIMARY}] "
        "(timestamp_precision: MILLISECOND)", [])
    assert describe_op(UpdateKinesisStreamingDestination(
        **at, before=want(CHANGES), after=want(CHANGES, "MICROSECOND"))) == (
        f"UpdateKinesisStreamingDestination {CHANGES} [{PRIMARY}]",
        ["timestamp_precision: MILLISECOND -> MICROSECOND"])
    assert describe_op(DisableKinesisStreamingDestination(**at, before=want(CHANGES))) == (
        f"DisableKinesisStreamingDestination {CHANGES} [{PRIMARY}]", [])


def test_stops_streaming_is_a_blocking_hazard() -> None:
    from tablesmith.hazards import BLOCKING

    assert HazardCode.STOPS_STREAMING in BLOCKING


# --------------------------------------------------------------------------- IAM


def _called_in_module() -> set[str]:
    source = (REPO / "src" / "tablesmith" / "around" / "kinesis.py").read_text()
    model = botocore.session.get_session().get_service_model("dynamodb")
    return {f"dynamodb:{op}" for op in model.operation_names
            if re.search(rf"[\"'.]{xform_name(op)}[\"'(]", source)}


def test_every_call_of_the_family_is_granted_only_where_the_spec_manages_it() -> None:
    called = _called_in_module()
    assert called == {"dynamodb:DescribeKinesisStreamingDestination",
                      "dynamodb:EnableKinesisStreamingDestination",
                      "dynamodb:UpdateKinesisStreamingDestination",
                      "dynamodb:DisableKinesisStreamingDestination"}
    managed = iam_policy([table((want(CHANGES),))], account=ACCOUNT, environment="prod")
    assert called <= set(actions(managed))
    read_only = iam_policy([table((want(CHANGES),))], account=ACCOUNT, environment="prod",
                           read_only=True)
    assert set(actions(read_only)) & called == {"dynamodb:DescribeKinesisStreamingDestination"}
    assert "kinesis:PutRecords" not in actions(read_only)
    unmanaged = iam_policy([table(None)], account=ACCOUNT, environment="prod")
    assert not called & set(actions(unmanaged))
    puts = [s for s in managed["Statement"] if "kinesis:PutRecords" in s["Action"]]
    assert [s["Resource"] for s in puts] == [[CHANGES]]


# --------------------------------------------------------------------------- endpoint gaps


class _Probe:
    """An endpoint whose DescribeKinesisStreamingDestination answers ``code`` (an error)."""

    def __init__(self, code: str, custom: str | None = "http://localhost:8000") -> None:
        self.code = code
        self.custom_endpoint = custom
        self.asked: list[str] = []

    def dynamodb(self, region: str | None = None) -> Any:
        return self

    def describe_kinesis_streaming_destination(self, TableName: str) -> dict[str, Any]:
        from botocore.exceptions import ClientError

        self.asked.append(TableName)
        raise ClientError({"Error": {"Code": self.code, "Message": ""}},
                          "DescribeKinesisStreamingDestination")


def test_only_new_tables_on_an_emulator_without_the_api_are_probed_once() -> None:
    new = ReadContext(live_tables={"orders": None})
    managing = [table((want(CHANGES),)), table((want(AUDIT),), table_name="audit")]
    lacking = _Probe("UnknownOperationException")
    state = read_destinations(lacking, managing, new)  # type: ignore[arg-type]
    assert (state, len(lacking.asked)) == (KinesisState(unserved=True), 1)
    assert KINESIS.diff(state, managing[0]) == []
    serving = _Probe("ResourceNotFoundException")
    assert read_destinations(serving, managing, new) == KinesisState()  # type: ignore[arg-type]
    aws = _Probe("UnknownOperationException", custom=None)
    assert read_destinations(aws, managing, new) == KinesisState()  # type: ignore[arg-type]
    assert aws.asked == []  # real AWS is never probed


def test_settle_plans_nothing_where_the_endpoint_lacks_the_api() -> None:
    t = table((want(CHANGES),))
    replace = ReplaceTable(table="orders", region=PRIMARY, before=t, after=t,
                           category=Category.DRIFT)
    enable = diff_destinations((), t)
    assert KINESIS.settle(KinesisState(unserved=True), [replace, *enable], [t]) == [replace]
    assert steps(KINESIS.settle(KinesisState(), [replace], [t])[1:]) == [
        ("EnableKinesisStreamingDestination", CHANGES, ["COST_CHANGE"])]


def test_a_status_outside_aws_enum_is_an_aws_error() -> None:
    import pytest

    from tablesmith.errors import AwsError

    with pytest.raises(AwsError, match="DestinationStatus 'PAUSED'"):
        parse_destinations([{"StreamArn": CHANGES, "DestinationStatus": "PAUSED"}])
