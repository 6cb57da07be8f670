"""Kinesis streaming destinations on the embedded local target: enabled, updated and disabled.

The Kinesis data streams are made with a raw boto3 Kinesis client against the local target
(moto's Kinesis, which it serves beside DynamoDB). Each step applies a spec, reads the
destinations back with a raw DynamoDB client (not through tablesmith), checks that the live
read equals the spec and that planning again is empty.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

import boto3
import harness
import pytest
from harness import session, table

from tablesmith.around.registry import table_itself
from tablesmith.errors import HazardRefused
from tablesmith.hazards import HazardCode

if TYPE_CHECKING:
    from pathlib import Path

    from tablesmith.engine import Session
    from tablesmith.plan import Plan

REGION = "af-south-1"
EVERYTHING = frozenset(HazardCode)
KINESIS_OPS = ("EnableKinesisStreamingDestination", "UpdateKinesisStreamingDestination",
               "DisableKinesisStreamingDestination")


def make_stream(endpoint: str, name: str) -> str:
    """A Kinesis data stream in the table's Region; its ARN."""
    kinesis = boto3.client("kinesis", endpoint_url=endpoint, region_name=REGION)
    kinesis.create_stream(StreamName=name, ShardCount=1)
    arn: str = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"][
        "StreamARN"]
    return arn


def raw_destinations(endpoint: str, table_name: str) -> dict[str, tuple[str, str]]:
    """stream ARN -> (status, precision), as DynamoDB lists them."""
    answer = harness.ddb(endpoint, REGION).describe_kinesis_streaming_destination(
        TableName=table_name)
    return {d["StreamArn"]: (d["DestinationStatus"], d["ApproximateCreationDateTimePrecision"])
            for d in answer["KinesisDataStreamDestinations"]}


def kinesis_ops(plan: Plan) -> list[tuple[str, str]]:
    """(op, stream ARN) of the plan's destination operations, in plan order."""
    out = []
    for op in plan.operations:
        if op.op in KINESIS_OPS:
            destination = getattr(op, "after", None) or op.before  # type: ignore[attr-defined]
            out.append((op.op, destination.stream_arn))
    return out


def assert_converged(s: Session) -> None:
    """The live table equals the spec, the live destinations are the spec's, a new plan is
    empty (harness.assert_converged, with the destinations read as the family's own)."""
    live = s.read()
    state: Any = live.around["kinesis"]
    for want in s.tables:
        current = live.tables.get(want.table_name)
        assert current is not None, f"{want.table_name} does not exist"
        expected = table_itself(want).model_copy(update={"resource_tags": None})
        assert current.table == expected
        if want.kinesis_streaming_destinations is not None:
            streaming = tuple(d.destination for d in state.tables.get(want.table_name, ())
                              if d.streaming)
            assert streaming == want.kinesis_streaming_destinations
    again = s.plan()
    assert not again.has_changes, f"planning again is not empty: {harness.ops_of(again)}"


def spec(tmp_path: Path, step: str, prefix: str, destinations: list[dict[str, str]] | None
         ) -> Path:
    settings = table() if destinations is None else table(
        kinesis_streaming_destinations=destinations)
    return harness.write_spec(tmp_path / step, {"main": settings}, prefix, "local")


# realistic: ENABLING / UPDATING / DISABLING last a while, which apply waits through
@pytest.mark.parametrize("engine", ["local", "local-realistic"])
def test_destinations_enable_update_and_disable(engine: str, engine_endpoint: str,
                                                tmp_path: Path) -> None:
    prefix = f"kds-{uuid.uuid4().hex[:6]}-"
    main = f"{prefix}main"
    changes = make_stream(engine_endpoint, f"{prefix}changes")
    audit = make_stream(engine_endpoint, f"{prefix}audit")

    # 1. the table is made and streams to one stream
    first = session(spec(tmp_path, "a", prefix, [{"stream_arn": changes}]), engine_endpoint)
    plan = first.plan()
    assert kinesis_ops(plan) == [("EnableKinesisStreamingDestination", changes)]
    assert harness.ops_of(plan).index("CreateTable") < harness.ops_of(plan).index(
        "EnableKinesisStreamingDestination")
    assert harness.hazards_of(plan) >= {"COST_CHANGE"}
    said: list[str] = []
    first.apply(plan, allowed=frozenset(),  # COST_CHANGE does not block
                report=lambda _table, message: said.append(message))
    if engine == "local-realistic":  # Enable answered ENABLING: apply waited, and said so
        assert f"Kinesis streaming destination {changes}: ENABLING" in said, said
    assert raw_destinations(engine_endpoint, main) == {changes: ("ACTIVE", "MILLISECOND")}
    assert_converged(first)

    # 2. another precision is an update in place; a second stream is enabled
    second = session(spec(tmp_path, "b", prefix, [
        {"stream_arn": changes, "timestamp_precision": "MICROSECOND"},
        {"stream_arn": audit}]), engine_endpoint)
    plan = second.plan()
    assert sorted(kinesis_ops(plan)) == sorted([("EnableKinesisStreamingDestination", audit),
                                                ("UpdateKinesisStreamingDestination", changes)])
    assert not [h for _, h in plan.hazards() if h.blocking]
    second.apply(plan, allowed=frozenset())
    assert raw_destinations(engine_endpoint, main) == {changes: ("ACTIVE", "MICROSECOND"),
                                                       audit: ("ACTIVE", "MILLISECOND")}
    assert_converged(second)

    # 3. the field absent: not managed, nothing planned, nothing disabled
    unmanaged = session(spec(tmp_path, "c", prefix, None), engine_endpoint)
    assert kinesis_ops(unmanaged.plan()) == []

    # 4. removal: disabled, behind the blocking STOPS_STREAMING
    last = session(spec(tmp_path, "d", prefix, [{"stream_arn": audit}]), engine_endpoint)
    plan = last.plan()
    assert kinesis_ops(plan) == [("DisableKinesisStreamingDestination", changes)]
    assert harness.hazards_of(plan) == {"STOPS_STREAMING"}
    with pytest.raises(HazardRefused) as refused:
        last.apply(plan, allowed=frozenset())
    assert "STOPS_STREAMING" in str(refused.value) and "--allow-hazards" in str(refused.value)
    assert raw_destinations(engine_endpoint, main)[changes] == ("ACTIVE", "MICROSECOND")
    last.apply(plan, allowed=frozenset({HazardCode.STOPS_STREAMING}))
    # AWS keeps a disabled destination listed
    assert raw_destinations(engine_endpoint, main) == {changes: ("DISABLED", "MICROSECOND"),
                                                       audit: ("ACTIVE", "MILLISECOND")}
    assert_converged(last)

    # 5. wanted again: the DISABLED one is enabled again
    again = session(spec(tmp_path, "e", prefix, [{"stream_arn": audit},
                                                 {"stream_arn": changes}]), engine_endpoint)
    plan = again.plan()
    assert kinesis_ops(plan) == [("EnableKinesisStreamingDestination", changes)]
    again.apply(plan, allowed=frozenset())
    assert raw_destinations(engine_endpoint, main)[changes] == ("ACTIVE", "MILLISECOND")
    assert_converged(again)


@pytest.mark.parametrize("engine", ["local"])
def test_a_stream_that_does_not_exist_fails_the_apply_clearly(
        engine: str, engine_endpoint: str, tmp_path: Path) -> None:
    from tablesmith.errors import ApplyError

    prefix = f"kdsx-{uuid.uuid4().hex[:6]}-"
    account = boto3.client("sts", endpoint_url=engine_endpoint, region_name=REGION
                           ).get_caller_identity()["Account"]
    missing = f"arn:aws:kinesis:{REGION}:{account}:stream/{prefix}nowhere"
    s = session(spec(tmp_path, "a", prefix, [{"stream_arn": missing}]), engine_endpoint)
    with pytest.raises(ApplyError) as failed:
        s.apply(s.plan(), allowed=frozenset())
    message = str(failed.value)
    assert "EnableKinesisStreamingDestination" in message and "enabling" in message
    assert "ResourceNotFoundException" in message
