"""Resource-based policies of a table and its stream, on the embedded local target.

Each case applies a spec, reads the policies back with a raw DynamoDB client (not through
tablesmith), compares them semantically with the spec, and checks that planning again is
empty; then removal (``none``) is planned with its hazard.
"""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Any

import pytest
from harness import ddb, hazards_of, ops_of, session, table, write_spec

from tablesmith.errors import HazardRefused
from tablesmith.hazards import HazardCode

if TYPE_CHECKING:
    from pathlib import Path

    from tablesmith.engine import Session

EVERYTHING = frozenset(HazardCode)
STREAM = {"enabled": True, "view_type": "NEW_AND_OLD_IMAGES"}
POLICY_OPS = ("PutResourcePolicy", "DeleteResourcePolicy")


def statement(effect: str, principal: Any, action: Any, **extra: Any) -> dict[str, Any]:
    return {"Effect": effect, "Principal": principal, "Action": action, "Resource": "*",
            **extra}


def document(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


PARTNER = statement("Allow", {"AWS": "arn:aws:iam::111122223333:root"},
                    ["dynamodb:GetItem", "dynamodb:Query"], Sid="PartnerReads")
STREAM_READER = statement("Allow", {"AWS": "arn:aws:iam::444455556666:role/reader"},
                          ["dynamodb:GetRecords", "dynamodb:GetShardIterator",
                           "dynamodb:DescribeStream"], Sid="StreamReader")
DENY_ALL = statement("Deny", "*", "dynamodb:*", Sid="Nobody")


def policy_of(endpoint: str, arn: str) -> Any:
    """The policy attached to ``arn``, parsed (None: none)."""
    client = ddb(endpoint)
    try:
        return json.loads(client.get_resource_policy(ResourceArn=arn)["Policy"])
    except client.exceptions.PolicyNotFoundException:
        return None


def arns(endpoint: str, name: str) -> tuple[str, str | None]:
    described = ddb(endpoint).describe_table(TableName=name)["Table"]
    return described["TableArn"], described.get("LatestStreamArn")


def policy_ops(s: Session) -> list[tuple[str, str]]:
    return [(op.op, op.resource) for op in s.plan().operations  # type: ignore[attr-defined]
            if op.op in POLICY_OPS]


def converged(s: Session) -> None:
    """The table as the spec says (its policies are compared by the caller); a new plan is
    empty."""
    live = s.read()
    for want in s.tables:
        current = live.tables.get(want.table_name)
        assert current is not None
        assert current.table.stream == want.stream
    again = s.plan()
    assert not again.has_changes, f"planning again is not empty: {ops_of(again)}"


def test_table_and_stream_policies_apply_read_back_and_remove(local_fresh: str,
                                                              tmp_path: Path) -> None:
    prefix = f"rp-{uuid.uuid4().hex[:6]}-"
    name = f"{prefix}main"
    (tmp_path / "a").mkdir()
    # the stream's policy from a file beside the spec, pretty-printed (whitespace is not sent)
    (tmp_path / "a" / "stream-policy.json").write_text(
        json.dumps(document(STREAM_READER), indent=4), encoding="utf-8")
    spec = {"main": table(stream={**STREAM, "resource_policy": {"file": "stream-policy.json"}},
                          resource_policy=document(PARTNER))}
    s = session(write_spec(tmp_path / "a", spec, prefix, "local"), local_fresh)
    plan = s.plan()
    assert [(op.op, op.resource) for op in plan.operations  # type: ignore[attr-defined]
            if op.op in POLICY_OPS] == [("PutResourcePolicy", "table"),
                                        ("PutResourcePolicy", "stream")]
    # after the table's own operations: the stream must exist before its policy is put
    assert ops_of(plan).index("CreateTable") < ops_of(plan).index("PutResourcePolicy")
    s.apply(plan, allowed=frozenset())
    table_arn, stream_arn = arns(local_fresh, name)
    assert stream_arn is not None
    assert policy_of(local_fresh, table_arn) == document(PARTNER)
    assert policy_of(local_fresh, stream_arn) == document(STREAM_READER)
    converged(s)

    # the same document with keys in another order is no change (compared semantically)
    reordered = {"Statement": [dict(reversed(list(PARTNER.items())))], "Version": "2012-10-17"}
    spec["main"]["resource_policy"] = reordered
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "stream-policy.json").write_text(
        json.dumps(document(STREAM_READER)), encoding="utf-8")
    s = session(write_spec(tmp_path / "b", spec, prefix, "local"), local_fresh)
    assert policy_ops(s) == []

    # removal: `none` deletes the policy; its cross-account grant is access at stake
    spec["main"]["resource_policy"] = "none"
    s = session(write_spec(tmp_path / "b", spec, prefix, "local"), local_fresh)
    plan = s.plan()
    assert [op.op for op in plan.operations] == ["DeleteResourcePolicy"]
    assert hazards_of(plan) == {"REMOVES_ACCESS"}
    with pytest.raises(HazardRefused):
        s.apply(plan, allowed=frozenset())
    s.apply(plan, allowed=frozenset({HazardCode.REMOVES_ACCESS}))
    assert policy_of(local_fresh, table_arn) is None
    assert policy_of(local_fresh, stream_arn) == document(STREAM_READER)
    converged(s)

    # absent: not managed, not read (the stream's policy stays as it is)
    spec["main"] = table(stream=STREAM)
    s = session(write_spec(tmp_path / "c", spec, prefix, "local"), local_fresh)
    assert not s.plan().has_changes
    assert policy_of(local_fresh, stream_arn) == document(STREAM_READER)


def test_policy_denying_everyone_is_locks_out(local_fresh: str, tmp_path: Path) -> None:
    prefix = f"rp-{uuid.uuid4().hex[:6]}-"
    spec = {"main": table(resource_policy=document(PARTNER, DENY_ALL))}
    s = session(write_spec(tmp_path / "a", spec, prefix, "local"), local_fresh)
    plan = s.plan()
    assert "LOCKS_OUT" in hazards_of(plan)
    with pytest.raises(HazardRefused):
        s.apply(plan, allowed=frozenset())
    # the same Deny with a condition (everyone but an admin role) locks nobody out statically
    conditional = {**DENY_ALL, "Condition": {"StringNotEquals": {
        "aws:PrincipalArn": "arn:aws:iam::123456789012:role/admin"}}}
    spec = {"main": table(resource_policy=document(PARTNER, conditional))}
    s = session(write_spec(tmp_path / "b", spec, prefix, "local"), local_fresh)
    plan = s.plan()
    assert "LOCKS_OUT" not in hazards_of(plan)
    s.apply(plan, allowed=frozenset())
    table_arn, _ = arns(local_fresh, f"{prefix}main")
    assert policy_of(local_fresh, table_arn) == document(PARTNER, conditional)
    converged(s)


def test_stream_policy_follows_a_new_stream(local_fresh: str, tmp_path: Path) -> None:
    """A stream turned off and on again (a view type change) is a new stream: its policy is
    put on the new one."""
    prefix = f"rp-{uuid.uuid4().hex[:6]}-"
    spec = {"main": table(stream={**STREAM, "resource_policy": document(STREAM_READER)})}
    s = session(write_spec(tmp_path / "a", spec, prefix, "local"), local_fresh)
    s.apply(s.plan(), allowed=frozenset())
    spec["main"]["stream"] = {"enabled": True, "view_type": "NEW_IMAGE",
                              "resource_policy": document(STREAM_READER)}
    s = session(write_spec(tmp_path / "b", spec, prefix, "local"), local_fresh)
    plan = s.plan()
    assert ("PutResourcePolicy", "stream") in [
        (op.op, getattr(op, "resource", "")) for op in plan.operations]
    s.apply(plan, allowed=EVERYTHING)
    _, stream_arn = arns(local_fresh, f"{prefix}main")
    assert stream_arn is not None
    assert policy_of(local_fresh, stream_arn) == document(STREAM_READER)
    converged(s)
