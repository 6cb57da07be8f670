"""The acceptance-case runner: start spec -> new spec -> expected operations and hazards.

Each case (pg-schema-diff's migration acceptance tests are the model):

1. applies ``start`` and checks that planning again is empty;
2. writes ``items`` items;
3. plans ``new`` and compares the operations and hazards with the expectation;
4. if the plan has blocking hazards, checks that apply without them is refused and that no
   mutating call reached the emulator;
5. applies with the hazards allowed, then checks that the live tables equal the spec, that
   planning again is empty, and that the items are all still there (unless the case deletes
   them).

Emulator gaps, measured and stated rather than hidden:
* DynamoDB Local implements no tagging and no PITR (UnknownOperationException): tablesmith's
  plan says so in a notice and leaves them out, and so does the expectation here;
* DynamoDB Local ignores SSE, so its cases use ``encryption: AWS_OWNED``;
* moto ignores replica updates and UpdateTable's SSE / table class / on-demand throughput:
  those cases run on the embedded local target (``local``), which adds them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import boto3
import yaml

import tablesmith
from tablesmith.around.registry import table_itself
from tablesmith.engine import Session
from tablesmith.errors import HazardRefused
from tablesmith.hazards import HazardCode

if TYPE_CHECKING:
    from pathlib import Path

    from tablesmith.plan import Plan

TAGS = {"Project": "acceptance", "Owner": "qa", "CostCenter": "cc-1", "ManagedBy": "tablesmith",
        "Component": "dynamodb"}
BASE_TABLE: dict[str, Any] = {
    "partition_key": {"name": "PK", "type": "S"},
    "sort_key": {"name": "SK", "type": "S"},
}
# features each engine lacks, and the operations a plan leaves out because of it
GAP_OPS = {
    "moto": (),
    "dynamodb-local": ("TagResource", "UntagResource", "UpdatePitr"),
    "local": (),  # the embedded local target: moto plus tablesmith's extensions
    "local-realistic": (),  # the same, with AWS's phases on a fast clock
}
READ_PREFIXES = ("Describe", "List", "Get", "Scan", "Query")


@dataclass
class Case:
    """One acceptance case on a table called ``main`` (and any others ``start``/``new`` name)."""

    name: str
    start: dict[str, dict[str, Any]]  # table name -> settings, as in a spec's `tables:`
    new: dict[str, dict[str, Any]]
    expect_ops: list[str]  # operation names in plan order (engine gaps left out)
    expect_hazards: set[str] = field(default_factory=set)
    items: int = 0  # items written after `start` is applied
    keeps_items: bool = True  # False when the change deletes the data
    engines: tuple[str, ...] = ("moto", "dynamodb-local")
    skip: str = ""  # why the case cannot run on any engine yet

    def __str__(self) -> str:
        return self.name


def table(**overrides: Any) -> dict[str, Any]:
    """A table's settings: the base keys plus ``overrides``."""
    return {**BASE_TABLE, **overrides}


def write_spec(directory: Path, tables: dict[str, dict[str, Any]], prefix: str,
               engine: str, *, alarms: bool = False) -> Path:
    """A spec file with an environment ``acc`` whose tables are named ``<prefix><name>``.

    Alarms are off unless asked for: they have cases of their own (test_alarms.py), and in
    the table cases they would only add noise.
    """
    defaults: dict[str, Any] = {"tags": TAGS}
    if not alarms:
        defaults["alarms"] = {"enabled": False}
    if engine == "dynamodb-local":
        defaults["encryption"] = {"type": "AWS_OWNED"}  # DynamoDB Local ignores SSE
    doc = {
        "version": 1,
        "defaults": defaults,
        "environments": {"acc": {"table_prefix": prefix}},
        "tables": tables,
    }
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "spec.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def session(spec_path: Path, endpoint: str) -> Session:
    """A session on environment ``acc`` of the spec, against ``endpoint``."""
    spec = tablesmith.load(spec_path, env="acc")
    return Session.for_environment(spec, "acc", endpoint_url=endpoint)


def ops_of(plan: Plan) -> list[str]:
    """The operation names of a plan."""
    return [op.op for op in plan.operations]


def hazards_of(plan: Plan) -> set[str]:
    """The hazard codes of a plan."""
    return {h.code.value for _, h in plan.hazards()}


def ddb(endpoint: str, region: str = "af-south-1") -> Any:
    """A raw boto3 DynamoDB client on the emulator (for writing and counting items)."""
    return boto3.client("dynamodb", endpoint_url=endpoint, region_name=region)


def put_items(endpoint: str, table_name: str, count: int) -> None:
    """Write ``count`` items with keys and the attributes the cases index."""
    client = ddb(endpoint)
    for i in range(count):
        client.put_item(TableName=table_name, Item={
            "PK": {"S": f"pk{i % 7}"}, "SK": {"S": f"sk{i}"}, "email": {"S": f"u{i}@x.io"},
            "status": {"S": "active" if i % 2 else "inactive"}, "n": {"N": str(i)},
        })


def count_items(endpoint: str, table_name: str) -> int:
    """Count items with a full paginated scan (not the approximate ItemCount)."""
    total = 0
    for page in ddb(endpoint).get_paginator("scan").paginate(TableName=table_name,
                                                              Select="COUNT"):
        total += page["Count"]
    return total


def assert_converged(s: Session) -> None:
    """Live tables (and each replica's own settings) equal the spec; a new plan is empty."""
    live = s.read()
    for want in s.tables:
        current = live.tables.get(want.table_name)
        assert current is not None, f"{want.table_name} does not exist"
        expected = table_itself(want).model_copy(update={"resource_tags": None})
        assert current.table == expected, (
            f"{want.table_name} differs from the spec:\n live: {current.table}\n spec: {expected}")
        for replica in current.replica_states:
            assert replica.status == "ACTIVE"
            assert replica.tags == want.tags, f"tags in {replica.region}"
            assert replica.deletion_protection == want.deletion_protection
            assert replica.point_in_time_recovery == want.replica_point_in_time_recovery.get(
                replica.region, want.point_in_time_recovery), f"PITR in {replica.region}"
            # AWS propagates GSIs to replicas (the local target too)
            assert replica.global_secondary_indexes == want.global_secondary_indexes, (
                f"GSIs in {replica.region}")
    again = s.plan()
    assert not again.has_changes, f"planning again is not empty: {ops_of(again)}"


def run_case(case: Case, engine: str, endpoint: str, tmp_path: Path) -> None:
    """Run one case end to end against ``endpoint`` (an engine named ``engine``)."""
    prefix = f"{case.name[:20]}-{uuid.uuid4().hex[:6]}-"
    gaps = GAP_OPS[engine]
    everything = frozenset(HazardCode)

    start = session(write_spec(tmp_path / "start", case.start, prefix, engine), endpoint)
    start.apply(start.plan(), allowed=everything)
    assert_converged(start)
    main = f"{prefix}main"
    if case.items:
        put_items(endpoint, main, case.items)

    new = session(write_spec(tmp_path / "new", case.new, prefix, engine), endpoint)
    plan = new.plan()
    expected = [op for op in case.expect_ops if op not in gaps]
    assert ops_of(plan) == expected, f"operations: {ops_of(plan)} != {expected}"
    assert hazards_of(plan) == case.expect_hazards, (
        f"hazards: {hazards_of(plan)} != {case.expect_hazards}")

    blocking = {h.code for _, h in plan.hazards() if h.blocking}
    if blocking:
        refused = session(write_spec(tmp_path / "new", case.new, prefix, engine), endpoint)
        before_calls = dict(refused.clients.calls)
        try:
            refused.apply(plan, allowed=frozenset())
        except HazardRefused as exc:
            text = str(exc)
            for code in blocking:
                assert code.value in text
            assert "--allow-hazards" in text
        else:
            raise AssertionError("a plan with blocking hazards was applied without them")
        mutating = [c for c in refused.clients.calls
                    if c not in before_calls and not c.split(".")[1].startswith(READ_PREFIXES)]
        assert not mutating, f"mutating calls were made: {mutating}"

    new.apply(plan, allowed=frozenset(blocking))
    assert_converged(new)
    if case.items and case.keeps_items:
        assert count_items(endpoint, main) == case.items, "items were lost"
