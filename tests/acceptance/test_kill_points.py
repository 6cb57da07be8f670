"""SIGKILL the prod apply at every operation boundary of its plan: the next apply converges,
the re-plan is empty, nothing exists twice and no item is lost.

Start: the prod environment of ``examples/`` minus a little of every family, applied, with
items written into every table (and so into their replicas):

* products lacks its ActiveIndex GSI (and the index's two throttle alarms);
* tenants has no replica and no AWS Backup (role, policies, vaults, plan, selection);
* campaigns keeps its backups 30 days instead of 90 and alarms at another threshold.

Change: ``tablesmith apply examples --env prod`` itself, run as a CLI subprocess against the
target's endpoint. Its plan (:data:`EXPECTED_OPS`, 18 operations) touches every family: a
GSI, a replica and its own settings, backup creates and updates, alarm creates and updates.

How a kill point is found, with nothing in the product for this test: the apply reports an
operation's start on stderr (``HH:MM:SS table: Operation detail ...``) and a table's end
(``table: done``); tables run in parallel, operations within a table one by one, so an
operation is done when its table's next one starts or the table is done. The kill lands at
that boundary or a few milliseconds into the next operation (before its call, mostly), which
is as good a place to die; the chain below notices which.

What is checked once the kills are over and an apply has run to the end: the live state
equals the spec and the re-plan is empty; the inventory of every resource in both regions
(tables, replicas, indexes, vaults, backup plans and selections, alarms, roles and their
policies) equals that of an apply that was never interrupted, so nothing exists twice; every
table and replica holds the same items (count and a checksum of keys and values), and the
new index all of them. And the apply lock is free at once after every kill (the killed
holder's flock went with it): the next apply waits for no lock (``--lock-timeout`` 0).

* In the suite (40 to 80 s on 2 shared cores at load 2 to 5): the *chain*. For each
  table, ``apply --table T`` is killed after its first operation, again and again, so that
  each run starts where the last one died: every boundary between two operations of the
  table is a kill point, and each next run's plan must be exactly what was left (nothing
  redone, nothing skipped). The replica's creation is killed in its wait instead (the
  replica still CREATING at AWS, asserted). When a kill lands just after the next call
  (``PutMetricAlarm`` is one call), the next plan starts one later, and the test says so.
  The checks above run once, at the end of the chain.
* ``TABLESMITH_SOAK=1`` (``make soak``): every k of the whole prod apply independently, from
  the start state each time (k = 0: killed when the first operation starts; 18 points), and
  a kill in the replica's wait, each followed by an in-process apply (taking the lock) and
  all the checks above. About 150 s at load 3.

Cost: one local target for the file (tests/local_target_process.py), the start state
restored from an in-memory snapshot instead of applied again for every kill point.

Not here: a kill during a GSI backfill. The local target's indexes are ACTIVE at once (moto);
test_interrupt.py kills one on DynamoDB Local, which has real index phases.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import pytest
import yaml
from harness import assert_converged

import tablesmith
from local_target_client import RunningTarget, running_target
from tablesmith.engine import Session

if TYPE_CHECKING:
    from collections.abc import Iterator

EXAMPLES = Path(__file__).parents[2] / "examples"
TABLESMITH = str(Path(sys.executable).with_name("tablesmith"))
HOME, DR = "af-south-1", "eu-west-1"
TABLES = ("campaigns", "products", "tenants")
ITEMS = 40  # per table
# A replica stays CREATING this long: long enough to kill the apply in that wait (asserted),
# short enough for every kill point to wait it out.
REPLICA_SECONDS = "1.5"
SOAK = os.environ.get("TABLESMITH_SOAK", "") not in ("", "0")

# the plan from the start state to examples/ --env prod, in plan order (tables in parallel)
EXPECTED_OPS = [
    ("campaigns", "UpdateBackupPlan"),
    ("campaigns", "PutMetricAlarm"),
    ("campaigns", "PutMetricAlarm"),
    ("products", "CreateGsi"),
    ("products", "PutMetricAlarm"),
    ("products", "PutMetricAlarm"),
    ("tenants", "CreateReplica"),
    ("tenants", "UpdateDeletionProtection"),
    ("tenants", "UpdatePitr"),
    ("tenants", "TagResource"),
    ("tenants", "CreateRole"),
    ("tenants", "AttachRolePolicy"),
    ("tenants", "AttachRolePolicy"),
    ("tenants", "CreateBackupVault"),
    ("tenants", "CreateBackupVault"),
    ("tenants", "CreateBackupPlan"),
    ("tenants", "CreateBackupSelection"),
    ("tenants", "PutMetricAlarm"),
]

_LINE = re.compile(r"^\d\d:\d\d:\d\d (?P<table>\S+): (?P<message>.*)$")
_STARTS = re.compile(r"^[A-Z][A-Za-z]+\b.* \.\.\.$")  # "CreateGsi ActiveIndex ..."


def start_spec(directory: Path) -> Path:
    """examples/ with a little of every family taken out (see the module docstring)."""
    doc = yaml.safe_load((EXAMPLES / "bbws.yaml").read_text(encoding="utf-8"))
    start = copy.deepcopy(doc)
    tables = start["tables"]
    products = tables["products"]["global_secondary_indexes"]
    tables["products"]["global_secondary_indexes"] = [
        g for g in products if g["name"] != "ActiveIndex"
    ]
    tables["tenants"]["replicas"] = []
    tables["tenants"]["backup"] = {"enabled": False}
    tables["campaigns"]["backup"] = {"retention_days": 30}
    tables["campaigns"]["alarms"] = {"throttled_requests": {"threshold": 10}}
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "bbws.yaml").write_text(yaml.safe_dump(start, sort_keys=False), encoding="utf-8")
    return directory


def session(path: Path, endpoint: str) -> Session:
    """The prod environment of the spec at ``path``, against ``endpoint``."""
    return Session.for_environment(tablesmith.load(path, env="prod"), "prod", endpoint_url=endpoint)


@functools.cache
def _client(service: str, endpoint: str, region: str, key: str) -> Any:
    aws: Any = boto3.session.Session(key, key, region_name=region)  # any service, by name
    return aws.client(service, endpoint_url=endpoint)


def client(service: str, endpoint: str, region: str = HOME) -> Any:
    """A raw boto3 client on the local target (made once: clients are slow to make)."""
    return _client(service, endpoint, region, os.environ["AWS_ACCESS_KEY_ID"])


# ------------------------------------------------------------------------------ the target


Target = RunningTarget  # a process that can save and restore what it holds


@dataclass
class Reference:
    """What an uninterrupted apply of the change leaves, to compare each kill point with."""

    target: Target
    inventory: dict[str, list[str]]
    items: dict[str, str]  # "table region" -> count and checksum of its items
    sequence: dict[str, list[str]]  # table -> "table Operation detail" as the apply started them


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory, fake_aws_env: None) -> Iterator[Target]:
    """One local target for the whole file, with replicas CREATING for REPLICA_SECONDS."""
    state = tmp_path_factory.mktemp("kill-points") / "state"
    with running_target(state, TABLESMITH_LOCAL_REPLICA_SECONDS=REPLICA_SECONDS) as target:
        yield target


@pytest.fixture(scope="module")
def reference(target: Target, tmp_path_factory: pytest.TempPathFactory) -> Reference:
    """The start state applied with items, saved as ``start``; then the change applied once,
    uninterrupted, for what it leaves and the order it goes in."""
    sequence: dict[str, list[str]] = {}

    def record(table: str, message: str) -> None:
        if message.endswith(" ..."):  # an operation starts (as the CLI reports it)
            sequence.setdefault(table, []).append(f"{table} {message.removesuffix(' ...')}")

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_ACCESS_KEY_ID", target.key)
        patch.setenv("AWS_SECRET_ACCESS_KEY", target.key)
        patch.setenv("TABLESMITH_POLL_INTERVAL", "0.2")
        start = session(start_spec(tmp_path_factory.mktemp("start")), target.endpoint)
        start.apply(start.plan(), allowed=frozenset())
        for name in TABLES:
            put_items(target.endpoint, name)
        items = item_digests(target.endpoint)
        target.command("save start")

        change = session(EXAMPLES, target.endpoint)
        plan = change.plan()
        assert [(op.table, op.op) for op in plan.operations] == EXPECTED_OPS
        change.apply(plan, allowed=frozenset(), report=record)
        inventory = inventory_of(target.endpoint)
        assert item_digests(target.endpoint) == {**items, **replica_digests(items)}
    return Reference(target, inventory, items, sequence)


@pytest.fixture
def start(reference: Reference, monkeypatch: pytest.MonkeyPatch) -> Reference:
    """The start state, restored; this test's calls (and the CLI's) signed for the target."""
    reference.target.command("restore start")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", reference.target.key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", reference.target.key)
    monkeypatch.setenv("TABLESMITH_POLL_INTERVAL", "0.2")
    return reference


# ------------------------------------------------------------------------------ items


def put_items(endpoint: str, table_name: str) -> None:
    """ITEMS items with every attribute the examples' indexes use, and a payload."""
    items = [
        {
            "PK": {"S": f"{table_name}#{i % 5}"},
            "SK": {"S": f"item#{i:03d}"},
            "active": {"S": "yes" if i % 3 else "no"},
            "dateCreated": {"S": f"2026-01-{1 + i % 28:02d}"},
            "fromDate": {"S": f"2026-02-{1 + i % 28:02d}"},
            "productId": {"S": f"p{i % 4}"},
            "n": {"N": str(i * 7)},
            "tags": {"SS": [f"t{i % 3}", "all"]},
        }
        for i in range(ITEMS)
    ]
    ddb = client("dynamodb", endpoint)
    for chunk in range(0, ITEMS, 25):  # BatchWriteItem takes 25 at most
        requests = [{"PutRequest": {"Item": item}} for item in items[chunk : chunk + 25]]
        assert not ddb.batch_write_item(RequestItems={table_name: requests})["UnprocessedItems"]


def digest(endpoint: str, table_name: str, region: str, index: str | None = None) -> str:
    """The count and a checksum of every item (keys and values) of a table or index."""
    pages = (
        client("dynamodb", endpoint, region)
        .get_paginator("scan")
        .paginate(
            TableName=table_name,
            ConsistentRead=index is None,
            **({"IndexName": index} if index else {}),
        )
    )
    items = sorted(json.dumps(item, sort_keys=True) for page in pages for item in page["Items"])
    return f"{len(items)} items, sha256 {hashlib.sha256(''.join(items).encode()).hexdigest()}"


def item_digests(endpoint: str) -> dict[str, str]:
    """The items of every table of prod, in its region and in each replica region."""
    found = {}
    for name in TABLES:
        regions = [HOME] + [
            r["RegionName"]
            for r in client("dynamodb", endpoint)
            .describe_table(TableName=name)["Table"]
            .get("Replicas", [])
        ]
        for region in regions:
            found[f"{name} {region}"] = digest(endpoint, name, region)
    return found


def replica_digests(items: dict[str, str]) -> dict[str, str]:
    """After the change every table has a replica in DR, holding the home table's items."""
    return {f"{name} {DR}": items[f"{name} {HOME}"] for name in TABLES}


# ------------------------------------------------------------------------------ inventory


def inventory_of(endpoint: str) -> dict[str, list[str]]:
    """Every resource tablesmith makes for prod, by kind and region, duplicates kept."""
    found: dict[str, list[str]] = {}
    for region in (HOME, DR):
        ddb = client("dynamodb", endpoint, region)
        tables = ddb.list_tables()["TableNames"]
        found[f"tables {region}"] = sorted(tables)
        found[f"replicas {region}"] = sorted(
            f"{name} -> {r['RegionName']} {r.get('ReplicaStatus')}"
            for name in tables
            for r in ddb.describe_table(TableName=name)["Table"].get("Replicas", [])
        )
        found[f"indexes {region}"] = sorted(
            f"{name}.{g['IndexName']} {g['IndexStatus']}"
            for name in tables
            for g in ddb.describe_table(TableName=name)["Table"].get("GlobalSecondaryIndexes", [])
        )
        backup = client("backup", endpoint, region)
        found[f"vaults {region}"] = sorted(
            v["BackupVaultName"] for v in backup.list_backup_vaults()["BackupVaultList"]
        )
        plans = backup.list_backup_plans()["BackupPlansList"]
        found[f"backup plans {region}"] = sorted(p["BackupPlanName"] for p in plans)
        found[f"backup selections {region}"] = sorted(
            f"{p['BackupPlanName']}/{s['SelectionName']}"
            for p in plans
            for s in backup.list_backup_selections(BackupPlanId=p["BackupPlanId"])[
                "BackupSelectionsList"
            ]
        )
        found[f"alarms {region}"] = sorted(
            a["AlarmName"]
            for page in client("cloudwatch", endpoint, region)
            .get_paginator("describe_alarms")
            .paginate()
            for a in page["MetricAlarms"]
        )
    iam = client("iam", endpoint)
    roles = [r["RoleName"] for r in iam.list_roles()["Roles"]]
    found["roles"] = sorted(roles)
    found["role policies"] = sorted(
        f"{role}: {p['PolicyName']}"
        for role in roles
        for p in iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]
    )
    return found


# ------------------------------------------------------------------------------ the kill


@dataclass
class Run:
    """What one apply subprocess reported before it ended or was killed."""

    started: list[str]  # "table Operation detail", in the order they started
    done: list[str]  # the same, for those reported done
    lines: list[str]  # all of stderr
    returncode: int = 0

    def tail(self) -> str:
        """The end of stderr, for assertion messages."""
        return "\n".join(self.lines[-15:])


def run_apply(
    endpoint: str, out: Path, *, table: str = "", after: int = -1, during: str = ""
) -> Run:
    """Run ``tablesmith apply examples --env prod`` (``--table table``), and SIGKILL it when
    its ``after``-th operation is reported done (0: when the first one starts), or when a
    progress line contains ``during``; otherwise let it end."""
    command = [TABLESMITH, "apply", str(EXAMPLES), "--env", "prod", "--endpoint-url", endpoint]
    command += ["--auto-approve", *(["--table", table] if table else [])]
    run = Run(started=[], done=[], lines=[])
    running: dict[str, str] = {}  # table -> its operation in flight
    with out.open("w", encoding="utf-8") as stdout:
        proc = subprocess.Popen(command, stdout=stdout, stderr=subprocess.PIPE, text=True)
        assert proc.stderr is not None
        try:
            for raw in proc.stderr:
                run.lines.append(raw.rstrip("\n"))
                match = _LINE.match(run.lines[-1])
                if match is None:
                    continue
                name, message = match.group("table"), match.group("message")
                if _STARTS.match(message) or message == "done":
                    if name in running:
                        run.done.append(running.pop(name))
                    if message != "done":
                        running[name] = f"{name} {message.removesuffix(' ...')}"
                        run.started.append(running[name])
                if (
                    (after == 0 and running)
                    or (after > 0 and len(run.done) >= after)
                    or (during and during in message)
                ):
                    proc.send_signal(signal.SIGKILL)
                    break
        finally:
            if proc.poll() is None and (after >= 0 or during):
                proc.kill()  # the kill point was not reached: the assertions below say so
            proc.stderr.close()
            run.returncode = proc.wait(120)
    return run


def kill_apply(endpoint: str, out: Path, *, after: int = -1, during: str = "") -> Run:
    """:func:`run_apply` that must reach its kill point."""
    run = run_apply(endpoint, out, after=after, during=during)
    assert run.returncode == -signal.SIGKILL, f"ended before the kill point:\n{run.tail()}"
    return run


def check_everything(reference: Reference, again: Session) -> None:
    """The live state is the spec, and everything is there exactly once, every item too."""
    endpoint = reference.target.endpoint
    assert_converged(again)
    assert inventory_of(endpoint) == reference.inventory
    assert item_digests(endpoint) == {**reference.items, **replica_digests(reference.items)}
    # the index made by the change holds every item (all of them have its keys)
    assert digest(endpoint, "products", HOME, "ActiveIndex").startswith(f"{ITEMS} items,")


def converge_and_check(reference: Reference) -> list[tuple[str, str]]:
    """Apply again in-process (the lock free at once), then :func:`check_everything`; the
    operations that apply made."""
    again = session(EXAMPLES, reference.target.endpoint)
    with again.locked("test_kill_points"):  # the killed apply's lock went with it
        plan = again.plan()
        again.apply(plan, allowed=frozenset())
    check_everything(reference, again)
    return [(op.table, op.op) for op in plan.operations]


# ------------------------------------------------------------------------------ the tests


@pytest.mark.timeout(600)
def test_a_chain_of_kills_at_every_boundary_of_each_table(start: Reference, tmp_path: Path) -> None:
    endpoint = start.target.endpoint
    replica = f"tenants CreateReplica {DR}"
    for table in TABLES:
        expected = start.sequence[table]  # what the uninterrupted apply started, in order
        ends: list[str] = []  # its operations, each as a kill came after (or in) it
        how: list[str] = []  # where each of those kills landed
        position = 0  # how many of them are done
        while True:
            out = tmp_path / f"{table}-{position}.out"
            if expected[position:][:1] == [replica]:
                # killed in the wait of the replica's creation, not after it: a wait too
                run = run_apply(endpoint, out, table=table, during=f"replica {DR} CREATING")
                assert run.returncode == -signal.SIGKILL and run.started == [replica], run.tail()
                described = client("dynamodb", endpoint).describe_table(TableName=table)
                replicas = described["Table"]["Replicas"]
                assert [(r["RegionName"], r["ReplicaStatus"]) for r in replicas] == [
                    (DR, "CREATING")
                ]
                ends.append(replica)
                how.append("in its wait")
                position += 1  # the call was made: the next plan must not make it again
                continue
            after = 1 if position < len(expected) - 1 else -1  # the last run ends by itself
            run = run_apply(endpoint, out, table=table, after=after)
            # the plan after a kill is what was left: from the next operation, or from the
            # one after it when the kill landed just after that one's call
            begins = [
                i
                for i in (position, position + 1)
                if expected[i:][: len(run.started)] == run.started
            ]
            if run.returncode == 0 and not run.started:  # "No changes": the last one slipped
                begins = [len(expected)] if position >= len(expected) - 1 else []
            assert begins, f"{table}: ran {run.started} after {expected[:position]}:\n{run.tail()}"
            ends += expected[position : begins[0]]
            how += ["in it, just after its call"] * (begins[0] - position)
            position = begins[0] + len(run.done)
            if run.returncode != -signal.SIGKILL:
                break
            assert len(run.done) == 1, run.tail()
            ends += run.done
            how.append("after it")
        assert run.returncode == 0, f"{table}: {run.tail()}"
        assert position == len(expected), f"{table}: {expected[position:]} never ran"
        # every boundary between two of its operations was a kill point (or a kill landed just
        # before it, in the operation: its wait, or after its call)
        assert ends[: len(expected) - 1] == expected[:-1], ends
        print(
            f"{table}: killed", *(f"{h}: {e}" for e, h in zip(ends, how, strict=True)), sep="\n  "
        )
    check_everything(start, session(EXAMPLES, endpoint))


@pytest.mark.skipif(not SOAK, reason="soak only (TABLESMITH_SOAK=1, make soak); the chain has it")
@pytest.mark.timeout(300)
def test_killed_while_the_replica_is_creating_converges(start: Reference, tmp_path: Path) -> None:
    endpoint = start.target.endpoint
    killed = kill_apply(endpoint, tmp_path / "apply.out", during=f"replica {DR} CREATING")
    assert "tenants CreateReplica eu-west-1" in killed.started
    assert "tenants CreateReplica eu-west-1" not in killed.done
    table = client("dynamodb", endpoint).describe_table(TableName="tenants")["Table"]
    assert [(r["RegionName"], r["ReplicaStatus"]) for r in table["Replicas"]] == [(DR, "CREATING")]
    # the next plan takes the CREATING replica for one: no second CreateReplica
    ops = converge_and_check(start)
    assert ("tenants", "CreateReplica") not in ops, ops


@pytest.mark.skipif(not SOAK, reason="soak only (TABLESMITH_SOAK=1, make soak): ~10 s a point")
@pytest.mark.timeout(300)
@pytest.mark.parametrize("k", range(len(EXPECTED_OPS)))
def test_killed_after_operation_k_converges(k: int, start: Reference, tmp_path: Path) -> None:
    killed = kill_apply(start.target.endpoint, tmp_path / "apply.out", after=k)
    assert len(killed.done) == k, killed.done
    converge_and_check(start)
