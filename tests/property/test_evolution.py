"""Randomized spec evolution with data: whatever changes come, no item is lost unannounced.

A hypothesis state machine (``RuleBasedStateMachine``) starts a table holding items and then
makes random, valid spec changes to it, one per step, each planned and applied through the
library (``tablesmith.engine.Session``, in this process) against an emulator:

* add, remove or re-project a GSI; add an LSI (the table is replaced); change the key schema;
* TTL on, off or on another attribute; stream on, off or another view type;
* PITR on, off or another period; tags; deletion protection;
* replicas added or removed; AWS Backup on, off, other retention and schedule;
* CloudWatch alarms on, off, other thresholds; and, between changes, more items written.

Invariants, checked after every step:

1. a plan with a blocking hazard is refused by apply: nothing is called but reads, and a new
   plan finds the same live state (fingerprint) and the same operations; the items are as
   they were;
2. the blocking hazards are then allowed at random (3 in 4); if not, the spec change is
   dropped and the run goes on from the live state;
3. after apply, the live state equals the spec: the table (every field of the model), each
   replica's own status, GSIs, tags, protection and PITR, the AWS Backup resources and the
   alarms; and a new plan is empty;
4. every item is still there, by count and by a checksum of keys and values, on the table
   and on every replica, unless the plan replaced the table (REPLACES_TABLE allowed): the
   data-losing hazards are the only way an item count drops. DELETES_DATA here is only ever
   a replica going (the table stays in the spec), so it never excuses a loss on the table.
   A replaced table is empty (checked) and is written again, so the run keeps its data.

Runs (a seed is always printed; ``HYPOTHESIS_SEED=N`` replays one):

* the suite: the ``evolution`` profile, 5 examples x 12 steps on the embedded local target
  (replica phases of 0.2 s); the seed is fixed, so the suite runs the same steps every time;
* ``make soak``: ``HYPOTHESIS_PROFILE=soak``, ``SOAK_STEPS`` steps (default 1,000) with a
  random seed, and a smaller run on DynamoDB Local (``SOAK_DYNAMODB_LOCAL_STEPS``, default
  20), whose GSIs stay CREATING ~30 s and DELETING ~15 s (``-delayTransientStatuses``). It
  has no tagging, PITR, replicas, AWS Backup or CloudWatch, so its steps are the table's
  own. It is in the soak only: each GSI step there takes 15-30 s.

Found by this test (seed 8 on DynamoDB Local): DynamoDB Local 3.3.1 never finishes deleting a
GSI of a table that has an LSI (``Evolution.can_drop_index``); an emulator defect, not
tablesmith's, so that run leaves GSI deletions out while the table has an LSI.

Failing examples are kept in ``tests/property/.hypothesis-db`` and replayed first on the
next run; hypothesis prints the shrunk sequence of steps (``state.add_index(...)``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import math
import os
import random
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import boto3
import evolution_strategies as ev
import pytest
import yaml
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, seed, settings
from hypothesis import strategies as st
from hypothesis.database import DirectoryBasedExampleDatabase
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    precondition,
    rule,
    run_state_machine_as_test,
)

import tablesmith
from tablesmith.around.alarms import AlarmState, comparable, desired_alarms
from tablesmith.around.backup import BackupState
from tablesmith.around.registry import table_itself
from tablesmith.diff import plan_environment
from tablesmith.engine import Session
from tablesmith.errors import HazardRefused
from tablesmith.hazards import HazardCode
from tablesmith.resources import Backup, desired_backup
from tablesmith.spec.model import PointInTimeRecovery, Stream, Table, TimeToLive

if TYPE_CHECKING:
    from local_target_client import RunningTarget
    from tablesmith.aws import Clients
    from tablesmith.plan import Plan
    from tablesmith.state import LiveState

pytestmark = pytest.mark.timeout(7200)

ENV = "evo"
REGION = "af-south-1"
TAGS = {
    "Project": "evolution",
    "Owner": "qa",
    "CostCenter": "cc-1",
    "ManagedBy": "tablesmith",
    "Component": "dynamodb",
}
READ_PREFIXES = ("Describe", "List", "Get", "Scan", "Query")
DATA_LOSING = frozenset({HazardCode.DELETES_DATA, HazardCode.REPLACES_TABLE})

DATABASE = DirectoryBasedExampleDatabase(Path(__file__).resolve().parent / ".hypothesis-db")
_COMMON = settings(
    deadline=None,  # a step is a plan and an apply: 50 ms to seconds
    database=DATABASE,
    print_blob=True,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
    ],
)
SUITE_EXAMPLES, SUITE_STEPS = 5, 12  # 60 steps, each example's first one creates the table
SOAK_STEPS_PER_EXAMPLE = 26
settings.register_profile(
    "evolution", parent=_COMMON, max_examples=SUITE_EXAMPLES, stateful_step_count=SUITE_STEPS
)
SOAK = os.environ.get("HYPOTHESIS_PROFILE") == "soak"
SOAK_STEPS = int(os.environ.get("SOAK_STEPS", "1000"))
DYNAMODB_LOCAL_STEPS = int(os.environ.get("SOAK_DYNAMODB_LOCAL_STEPS", "20"))
settings.register_profile(
    "soak",
    parent=_COMMON,
    max_examples=math.ceil(SOAK_STEPS / (SOAK_STEPS_PER_EXAMPLE - 1)),
    stateful_step_count=SOAK_STEPS_PER_EXAMPLE,
)
PROFILE = settings.get_profile("soak" if SOAK else "evolution")
SUITE_SEED = 20261201  # fixed: the suite runs the same steps every time


def run_seed() -> int:
    """``HYPOTHESIS_SEED``, else the suite's fixed seed, else (soak) a random one."""
    given = os.environ.get("HYPOTHESIS_SEED")
    if given:
        return int(given)
    return random.SystemRandom().randrange(2**32) if SOAK else SUITE_SEED


@dataclass(frozen=True)
class Checksum:
    """The items of one table: how many, and a hash of every key and value."""

    count: int
    digest: str


@dataclass
class Engine:
    """Where a run applies, and what it can manage there."""

    name: str
    endpoint: str
    workdir: Path
    tally: Counter[str]
    full: bool  # tagging, PITR, replicas, AWS Backup and CloudWatch are there
    target: RunningTarget | None = None  # the local target (emptied before every example)
    access_key: str = "testing"

    def client(self, region: str = REGION) -> Any:
        """A raw DynamoDB client (items are written and scanned with it)."""
        return boto3.client(
            "dynamodb",
            endpoint_url=self.endpoint,
            region_name=region,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.access_key,
        )


class Evolution(RuleBasedStateMachine):
    """One table, full of items, whose spec keeps changing."""

    engine: ClassVar[Engine]

    def __init__(self) -> None:
        super().__init__()
        self.run = self.engine
        if self.run.target is not None:
            self.run.target.reset()
        self.prefix = f"e{uuid.uuid4().hex[:6]}_"
        self.name = f"{self.prefix}main"
        self.spec_dir = Path(tempfile.mkdtemp(dir=self.run.workdir))
        self.settings: ev.Settings = {}
        self.written = 0  # items written so far (item numbers 0 .. written-1)
        # what the table holds, checked every step
        self.items = Checksum(0, hashlib.sha256(b"").hexdigest())
        self.steps = 0
        self.clients: Clients | None = None

    # ------------------------------------------------------------------ rules

    @initialize(
        schema=st.integers(0, len(ev.KEY_SCHEMAS) - 1),
        index=st.none() | ev.gsis,
        items=st.integers(5, 40),
    )
    def start(self, schema: int, index: ev.Settings | None, items: int) -> None:
        self.evolve(ev.start_settings(schema, index), allow=True)
        self.write(items)

    @rule(index=ev.gsis, allow=ev.ALLOW)
    def add_index(self, index: ev.Settings, allow: bool) -> None:
        self.evolve(ev.add_gsi(self.settings, index), allow)

    @precondition(lambda self: self.can_drop_index())
    @rule(which=st.integers(0, ev.MAX_GSIS - 1), allow=ev.ALLOW)
    def remove_index(self, which: int, allow: bool) -> None:
        self.evolve(ev.remove_gsi(self.settings, which), allow)

    @precondition(lambda self: self.can_drop_index())
    @rule(
        which=st.integers(0, ev.MAX_GSIS - 1),
        projection=st.sampled_from(ev.PROJECTIONS),
        allow=ev.ALLOW,
    )
    def reproject_index(self, which: int, projection: str, allow: bool) -> None:
        self.evolve(ev.reproject_gsi(self.settings, which, projection), allow)

    @precondition(lambda self: "sort_key" in self.settings)
    @rule(
        name=st.sampled_from(ev.LSI_NAMES),
        range_key=st.sampled_from(ev.LSI_RANGE_KEYS),
        projection=st.sampled_from(ev.PROJECTIONS),
        allow=ev.ALLOW,
    )
    def add_local_index(self, name: str, range_key: str, projection: str, allow: bool) -> None:
        self.evolve(ev.add_lsi(self.settings, name, range_key, projection), allow)

    @rule(schema=st.integers(0, len(ev.KEY_SCHEMAS) - 1), allow=ev.ALLOW)
    def change_keys(self, schema: int, allow: bool) -> None:
        self.evolve(ev.change_keys(self.settings, schema), allow)

    @rule(ttl=ev.ttls, allow=ev.ALLOW)
    def set_ttl(self, ttl: ev.Settings, allow: bool) -> None:
        self.evolve(ev.set_field(self.settings, "ttl", ttl), allow)

    @rule(stream=ev.streams, allow=ev.ALLOW)
    def set_stream(self, stream: ev.Settings, allow: bool) -> None:
        self.evolve(ev.set_stream(self.settings, stream), allow)

    @rule(protect=st.booleans(), allow=ev.ALLOW)
    def set_deletion_protection(self, protect: bool, allow: bool) -> None:
        self.evolve(ev.set_field(self.settings, "deletion_protection", protect), allow)

    @precondition(lambda self: self.run.full)
    @rule(pitr=ev.pitrs, allow=ev.ALLOW)
    def set_pitr(self, pitr: ev.Settings, allow: bool) -> None:
        self.evolve(ev.set_field(self.settings, "point_in_time_recovery", pitr), allow)

    @precondition(lambda self: self.run.full)
    @rule(tags=ev.extra_tags, allow=ev.ALLOW)
    def set_tags(self, tags: dict[str, str], allow: bool) -> None:
        self.evolve(ev.set_field(self.settings, "tags", tags), allow)

    @precondition(lambda self: self.run.full)
    @rule(region=st.sampled_from(ev.REPLICA_REGIONS), allow=ev.ALLOW)
    def add_replica(self, region: str, allow: bool) -> None:
        self.evolve(ev.add_replica(self.settings, region), allow)

    @precondition(lambda self: self.run.full and bool(self.settings.get("replicas")))
    @rule(which=st.integers(0, len(ev.REPLICA_REGIONS) - 1), allow=ev.ALLOW)
    def remove_replica(self, which: int, allow: bool) -> None:
        self.evolve(ev.remove_replica(self.settings, which), allow)

    @precondition(lambda self: self.run.full)
    @rule(backup=ev.backups, allow=ev.ALLOW)
    def set_backup(self, backup: ev.Settings, allow: bool) -> None:
        self.evolve(ev.set_field(self.settings, "backup", backup), allow)

    @precondition(lambda self: self.run.full)
    @rule(alarms=ev.alarm_settings, allow=ev.ALLOW)
    def set_alarms(self, alarms: ev.Settings, allow: bool) -> None:
        self.evolve(ev.set_field(self.settings, "alarms", alarms), allow)

    @rule(count=st.integers(1, 8))
    def write_items(self, count: int) -> None:
        self.count("steps")
        self.write(count)

    def can_drop_index(self) -> bool:
        """Is there a GSI to remove or re-project (which deletes it first)?

        Not on DynamoDB Local while the table has an LSI: there (3.3.1 with
        -delayTransientStatuses) a GSI deleted from a table with an LSI stays DELETING for
        good: apply waited 240 s for it here, and boto3 alone shows it (CreateTable with an
        LSI and a GSI, UpdateTable deleting the GSI: still DELETING after 60 s; without the
        LSI it is gone in ~20 s). The local target and AWS delete such an index.
        """
        if not self.settings.get("global_secondary_indexes"):
            return False
        return self.run.full or not self.settings.get("local_secondary_indexes")

    def teardown(self) -> None:
        if self.run.target is None and self.settings:  # DynamoDB Local: not emptied for us
            client = self.run.client()
            with contextlib.suppress(ClientError):
                client.update_table(TableName=self.name, DeletionProtectionEnabled=False)
            with contextlib.suppress(ClientError):
                client.delete_table(TableName=self.name)

    # ------------------------------------------------------------------ one step

    def count(self, what: str, n: int = 1) -> None:
        self.run.tally[f"{self.run.name}:{what}"] += n

    def session(self, table: ev.Settings) -> Session:
        """A session on the spec whose only table ``main`` has ``table``'s settings."""
        self.steps += 1
        defaults: dict[str, Any] = {"tags": TAGS}
        if not self.run.full:
            defaults["encryption"] = {"type": "AWS_OWNED"}  # DynamoDB Local ignores SSE
        doc = {
            "version": 1,
            "defaults": defaults,
            "environments": {ENV: {"table_prefix": self.prefix}},
            "tables": {"main": table},
        }
        path = self.spec_dir / f"step{self.steps}.yaml"
        path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
        session = Session.for_environment(
            tablesmith.load(path, env=ENV), ENV, endpoint_url=self.run.endpoint
        )
        if self.clients is None:
            self.clients = session.clients
        # one Clients for the example, as a long-lived library user would keep: its boto3
        # clients and endpoint probes are made once, not at every step
        return dataclasses.replace(session, clients=self.clients)

    def evolve(self, new: ev.Settings | None, allow: bool) -> None:
        """Plan ``new``; check a refusal; apply (allowing at random); check the invariants."""
        self.count("steps")
        if new is None:  # the drawn change is what the table already has
            self.count("no-op")
            return
        session = self.session(new)
        plan = session.plan()
        blocking = frozenset(h.code for _, h in plan.hazards() if h.blocking)
        if blocking:
            self.check_refused(session, plan, blocking)
            if not allow:
                self.count("refused, change dropped")
                return
            self.count("hazards allowed")
        session.apply(plan, allowed=blocking)
        self.count("applied")
        self.count("operations", len(plan.operations))
        self.settings = new
        self.check_converged(session)
        self.check_items(plan)

    def check_refused(self, session: Session, plan: Plan, blocking: frozenset[HazardCode]) -> None:
        """Apply without the blocking hazards is refused, and nothing changes."""
        before = Counter(session.clients.calls)
        try:
            session.apply(plan, allowed=frozenset())
        except HazardRefused as refusal:
            for code in blocking:
                assert code.value in str(refusal), f"the refusal does not name {code}"
        else:
            raise AssertionError(f"applied without allowing {sorted(blocking)}")
        made = Counter(session.clients.calls) - before
        mutating = [c for c in made if not c.split(".")[1].startswith(READ_PREFIXES)]
        assert not mutating, f"a refused apply called {mutating}"
        again = replan(session, session.read())
        assert again.fingerprint == plan.fingerprint, "the refused apply changed the live state"
        assert [op.model_dump() for op in again.operations] == [
            op.model_dump() for op in plan.operations
        ], "the refused plan is no longer the same"
        assert self.checksum() == self.items, "items changed under a refused apply"
        self.count("refusals checked")

    def check_converged(self, session: Session) -> None:
        """The live state equals the spec, and planning again is empty."""
        live = session.read()
        (want,) = session.tables
        current = live.tables.get(want.table_name)
        assert current is not None, f"{want.table_name} does not exist"
        expected = comparable_table(table_itself(want))
        assert comparable_table(current.table) == expected, (
            f"the table differs from the spec:\n live: {current.table}\n spec: {expected}"
        )
        assert sorted(r.region for r in current.replica_states) == list(want.replicas)
        for replica in current.replica_states:
            where = f"replica in {replica.region}"
            assert replica.status == "ACTIVE", f"{where}: {replica.status}"
            assert replica.tags == want.tags, f"tags of the {where}"
            assert replica.deletion_protection == want.deletion_protection, where
            assert replica.point_in_time_recovery is not None, where
            assert comparable_pitr(replica.point_in_time_recovery) == comparable_pitr(
                want.point_in_time_recovery
            ), where
            assert replica.global_secondary_indexes == want.global_secondary_indexes, (
                f"GSIs of the {where}"
            )
        if "backup" not in live.unsupported:
            backups = live.around.get("backup")
            assert isinstance(backups, BackupState)
            have = backups.tables.get(want.table_name)
            assert (have.backup if have else Backup()) == desired_backup(want), (
                "the AWS Backup resources differ from the spec"
            )
        if "alarms" not in live.unsupported:
            alarms = live.around.get("alarms")
            assert isinstance(alarms, AlarmState)
            have_alarms = {
                a.alarm.name: comparable(a.alarm) for a in alarms.tables.get(want.table_name, ())
            }
            want_alarms = {a.name: comparable(a) for a in desired_alarms(want)}
            assert have_alarms == want_alarms, "the alarms differ from the spec"
        again = replan(session, live)
        assert not again.has_changes, (
            f"planning again is not empty: {[op.label for op in again.operations]}"
        )
        self.count("convergence checked")

    def check_items(self, plan: Plan) -> None:
        """Every item is still there, unless the table was replaced (then it is empty)."""
        ran = {h.code for op, h in plan.hazards() if op.table == self.name}
        now = self.checksum()
        if now.count < self.items.count:
            assert ran & DATA_LOSING, (
                f"{self.items.count - now.count} item(s) lost without a data-losing hazard "
                f"(hazards: {sorted(ran)})"
            )
        if HazardCode.REPLACES_TABLE in ran:
            assert now.count == 0, "a replaced table still holds items"
            self.count("items dropped by an allowed REPLACES_TABLE", self.items.count)
            self.items = now
            self.write(self.written, again=True)
            return
        assert now == self.items, (
            f"the items changed: {self.items.count} -> {now.count} (hazards: {sorted(ran)})"
        )
        self.check_replicas()

    # ------------------------------------------------------------------ items

    def write(self, count: int, *, again: bool = False) -> None:
        """Write ``count`` new items (``again``: items 0..count-1 into a replaced table)."""
        client = self.run.client()
        first = 0 if again else self.written
        for i in range(first, first + count):
            client.put_item(TableName=self.name, Item=ev.item(i))
        if not again:
            self.written += count
        expected = self.written if again else self.items.count + count
        self.items = self.checksum()
        assert self.items.count == expected, f"wrote {expected} items, scan finds {self.items}"
        self.check_replicas()

    def check_replicas(self) -> None:
        """Every replica holds exactly the table's items."""
        for region in self.settings.get("replicas", []):
            assert self.checksum(region) == self.items, f"the items of the replica in {region}"

    def checksum(self, region: str = REGION) -> Checksum:
        """Count and hash every item of the table in ``region`` (a consistent full scan)."""
        lines = []
        pages = (
            self.run.client(region)
            .get_paginator("scan")
            .paginate(TableName=self.name, ConsistentRead=True)
        )
        for page in pages:
            lines += [json.dumps(i, sort_keys=True, separators=(",", ":")) for i in page["Items"]]
        self.count("items checked", len(lines))
        digest = hashlib.sha256("\n".join(sorted(lines)).encode()).hexdigest()
        return Checksum(len(lines), digest)


def comparable_pitr(pitr: PointInTimeRecovery) -> PointInTimeRecovery:
    """PITR as DynamoDB knows it: a period only while it is on."""
    return pitr if pitr.enabled else pitr.model_copy(update={"recovery_period_days": 0})


def comparable_table(table: Table) -> Table:
    """A table as DynamoDB knows it: what a disabled feature was set to is not part of it.

    Disabling TTL keeps the attribute name it had (UpdateTimeToLive must name the current
    one), a disabled stream has no view type, PITR off has no period; diff ignores them too.
    """
    return table.model_copy(
        update={
            "ttl": table.ttl if table.ttl.enabled else TimeToLive(enabled=False, attribute_name=""),
            "stream": table.stream
            if table.stream.enabled
            else Stream(enabled=False, view_type="KEYS_ONLY"),
            "point_in_time_recovery": comparable_pitr(table.point_in_time_recovery),
        }
    )


def replan(session: Session, live: LiveState) -> Plan:
    """The plan ``session.plan()`` makes, from live state already read (diff is pure)."""
    return plan_environment(live, session.tables, environment=session.environment)


class LocalTargetEvolution(Evolution):
    """The evolution on the embedded local target: every family, replicas included."""


class DynamoDBLocalEvolution(Evolution):
    """The evolution on DynamoDB Local: the table's own settings, with real index phases."""


def _run(machine: type[Evolution], engine: Engine, profile: settings, label: str) -> None:
    chosen = run_seed()
    print(
        f"\nspec evolution on {engine.name}: seed {chosen} (HYPOTHESIS_SEED={chosen} replays it), "
        f"{profile.max_examples} example(s) x {profile.stateful_step_count} steps"
    )
    machine.engine = engine
    seed(chosen)(machine)  # hypothesis' documented @seed on a state machine class
    started = time.monotonic()
    run_state_machine_as_test(machine, settings=profile)
    engine.tally[f"{engine.name}:seconds"] = round(time.monotonic() - started)
    steps = engine.tally[f"{engine.name}:steps"]
    wanted = profile.max_examples * (profile.stateful_step_count - 1)
    assert steps >= wanted, f"{label}: only {steps} steps ran, {wanted} were asked for"


@pytest.fixture
def fast_apply(monkeypatch: pytest.MonkeyPatch) -> None:
    """Poll emulators often: their transitions take fractions of a second here."""
    monkeypatch.setenv("TABLESMITH_POLL_INTERVAL", "0.05")
    monkeypatch.setenv("TABLESMITH_WAIT_TIMEOUT", "240")


def test_spec_evolution_on_the_local_target(
    evolution_target: RunningTarget,
    tally: Counter[str],
    tmp_path: Path,
    fast_apply: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the local target answers only its own key: the sessions' calls are signed with it
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", evolution_target.key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", evolution_target.key)
    engine = Engine(
        "local",
        evolution_target.endpoint,
        tmp_path,
        tally,
        full=True,
        target=evolution_target,
        access_key=evolution_target.key,
    )
    _run(LocalTargetEvolution, engine, PROFILE, "local target")


@pytest.mark.dynamodb_local
@pytest.mark.skipif(
    not SOAK,
    reason="soak only (HYPOTHESIS_PROFILE=soak): DynamoDB Local holds each GSI change ~15-30 s",
)
def test_spec_evolution_on_dynamodb_local(
    dynamodb_local_endpoint: str, tally: Counter[str], tmp_path: Path, fast_apply: None
) -> None:
    per_example = 11
    profile = settings(
        PROFILE,
        max_examples=math.ceil(DYNAMODB_LOCAL_STEPS / (per_example - 1)),
        stateful_step_count=per_example,
    )
    engine = Engine("dynamodb-local", dynamodb_local_endpoint, tmp_path, tally, full=False)
    _run(DynamoDBLocalEvolution, engine, profile, "DynamoDB Local")
