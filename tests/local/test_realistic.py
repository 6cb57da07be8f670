"""The local target's realistic mode, and what it fixes in every mode (issue 12, item 7).

Item 7, "the local target is too instant to rehearse anything", observed:

1. GSIs are ACTIVE at once, so backfill progress and kills mid-backfill can't be seen;
2. re-enabling TTL immediately is accepted;
3. alarms start ``OK``, not ``INSUFFICIENT_DATA``;
4. GSI ``ItemCount`` is missing;
5. PartiQL with parameters gives 500s.

Each has a test here (named ``test_item7_N_...``), plus the replica CREATING times. They run
against an in-process local target (gate, access key and state saving included) with the
time scale turned down (``TABLESMITH_LOCAL_TIME_SCALE``), so an AWS minute lasts a fraction
of a second. Expectations come from the DynamoDB API reference (GlobalSecondaryIndexDescription,
UpdateTable, UpdateTimeToLive, ExecuteStatement) and CloudWatch's PutMetricAlarm.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from click.testing import CliRunner

from tablesmith.cli import cli
from tablesmith.local import dynamodb as extensions
from tablesmith.local import partiql, realistic, snapshot
from tablesmith.local.server import LocalTarget

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

REGION = "af-south-1"
REPLICA = "eu-west-1"
TABLE = "orders"
# 0.02: an index's allocation (60 AWS s) lasts 1.2 s, its minimum backfill 0.6 s, a deletion
# 1.2 s: long enough for a loaded machine to see each phase, short enough to be cheap
SCALE = 0.02
NO_RETRIES = Config(retries={"max_attempts": 0})  # a 500 must show, not be retried away


class Local:
    """A local target in this process, and clients signed with its key."""

    def __init__(self, target: LocalTarget, endpoint: str) -> None:
        self.target = target
        self.endpoint = endpoint

    def client(self, service: str, region: str = REGION) -> Any:
        key = self.target.access_key
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=region,
            aws_access_key_id=key,
            aws_secret_access_key=key,
            config=NO_RETRIES,
        )


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Local]:
    target = LocalTarget(tmp_path_factory.mktemp("realistic") / "state")
    with target as endpoint:
        target.clear()  # moto's state is process-global: start from nothing
        try:
            yield Local(target, endpoint)
        finally:
            target.clear()  # and leave nothing to later tests


@pytest.fixture
def local(served: Local, monkeypatch: pytest.MonkeyPatch) -> Local:
    """The module's target, emptied, in the realistic mode at :data:`SCALE`."""
    monkeypatch.setenv(realistic.REALISTIC_ENV, "1")
    monkeypatch.setenv(realistic.TIME_SCALE_ENV, str(SCALE))
    served.target.clear()
    return served


@pytest.fixture
def instant(served: Local, monkeypatch: pytest.MonkeyPatch) -> Local:
    """The module's target, emptied, in the default (instant) mode."""
    monkeypatch.delenv(realistic.REALISTIC_ENV, raising=False)
    monkeypatch.setenv(extensions.REPLICA_SECONDS_ENV, "0")
    served.target.clear()
    return served


def wait_for(check: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.02)


def make_table(local: Local, items: int = 0, region: str = REGION) -> Any:
    ddb = local.client("dynamodb", region)
    ddb.create_table(
        TableName=TABLE,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    wait_for(lambda: table(ddb)["TableStatus"] == "ACTIVE")
    for i in range(items):
        item = {"pk": {"S": f"o{i}"}, "total": {"N": str(i)}}
        if i % 2 == 0:  # half the items have a status: ByStatus is a sparse index
            item["status"] = {"S": "open"}
        ddb.put_item(TableName=TABLE, Item=item)
    return ddb


def table(ddb: Any) -> dict[str, Any]:
    return dict(ddb.describe_table(TableName=TABLE)["Table"])


def index(
    ddb: Any, name: str = "ByStatus", desc: dict[str, Any] | None = None
) -> dict[str, Any] | None:
    """Index ``name`` of the table (of ``desc``, if given: one answer for both)."""
    desc = desc if desc is not None else table(ddb)
    found = [g for g in desc.get("GlobalSecondaryIndexes", []) if g["IndexName"] == name]
    return found[0] if found else None


def create_index(ddb: Any, name: str = "ByStatus") -> None:
    ddb.update_table(
        TableName=TABLE,
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "status", "AttributeType": "S"},
        ],
        GlobalSecondaryIndexUpdates=[
            {
                "Create": {
                    "IndexName": name,
                    "KeySchema": [{"AttributeName": "status", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "KEYS_ONLY"},
                }
            }
        ],
    )


def delete_index(ddb: Any, name: str = "ByStatus") -> None:
    ddb.update_table(TableName=TABLE, GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": name}}])


def phases_of(ddb: Any, until: Callable[[dict[str, Any] | None], bool]) -> list[tuple[Any, ...]]:
    """The distinct (TableStatus, IndexStatus, Backfilling) seen, in order, until ``until``."""
    seen: list[tuple[Any, ...]] = []
    deadline = time.monotonic() + 20
    while True:
        desc = table(ddb)
        gsi = index(ddb, desc=desc)
        phase = (desc["TableStatus"], gsi and gsi["IndexStatus"], gsi and gsi.get("Backfilling"))
        if not seen or seen[-1] != phase:
            seen.append(phase)
        if until(gsi):
            return seen
        assert time.monotonic() < deadline, f"phases seen so far: {seen}"
        time.sleep(0.02)


# ---------------------------------------------------------------------------- item 7.1: GSIs


def test_item7_1_gsi_backfill_has_aws_phases(local: Local) -> None:
    """CREATING (Backfilling false) -> CREATING (Backfilling true) -> ACTIVE; table UPDATING."""
    ddb = make_table(local, items=40)
    create_index(ddb)
    seen = phases_of(ddb, lambda g: g is not None and g["IndexStatus"] == "ACTIVE")
    assert seen == [
        ("UPDATING", "CREATING", False),
        ("UPDATING", "CREATING", True),
        ("ACTIVE", "ACTIVE", None),
    ]
    gsi = index(ddb)
    assert gsi is not None and gsi["ItemCount"] == 20  # sparse: only items with a status


def test_item7_1_backfill_progress_and_refusals(local: Local) -> None:
    """While backfilling: ItemCount grows, other UpdateTables are refused, a delete is not."""
    ddb = make_table(local, items=40)
    create_index(ddb)
    with pytest.raises(ClientError) as refused:  # allocating: the table is UPDATING
        ddb.update_table(TableName=TABLE, DeletionProtectionEnabled=True)
    assert refused.value.response["Error"]["Code"] == "ResourceInUseException"
    with pytest.raises(ClientError) as early:  # not yet backfilling: AWS refuses the delete
        delete_index(ddb)
    assert early.value.response["Error"]["Code"] == "ResourceInUseException"
    wait_for(lambda: bool((index(ddb) or {}).get("Backfilling")))
    counts = []
    while (gsi := index(ddb)) is not None and gsi.get("Backfilling"):
        counts.append(gsi["ItemCount"])
        time.sleep(0.05)
    assert counts and all(0 <= c <= 20 for c in counts) and counts == sorted(counts)


def test_item7_1_delete_while_backfilling_then_deleting_phase(local: Local) -> None:
    """AWS lets a backfilling index be deleted; it is DELETING (listed) for a while, then gone."""
    ddb = make_table(local, items=4)
    create_index(ddb)
    wait_for(lambda: bool((index(ddb) or {}).get("Backfilling")))
    delete_index(ddb)
    seen = phases_of(ddb, lambda g: g is None)
    assert seen == [("UPDATING", "DELETING", None), ("ACTIVE", None, None)]


TAGS = {
    "Project": "p",
    "Owner": "o",
    "CostCenter": "1",
    "ManagedBy": "tablesmith",
    "Component": "dynamodb",
}


def write_spec(path: Path, indexes: list[str]) -> Path:
    doc = {
        "version": 1,
        "defaults": {  # only what the test is about: no backup or alarms to make
            "tags": TAGS,
            "encryption": {"type": "AWS_OWNED"},
            "backup": {"enabled": False},
            "alarms": {"enabled": False},
            "point_in_time_recovery": {"enabled": False},
        },
        "environments": {"dev": {"region": REGION}},
        "tables": {
            TABLE: {
                "partition_key": {"name": "pk", "type": "S"},
                "global_secondary_indexes": [
                    {
                        "name": name,
                        "hash_key": {"name": name.lower(), "type": "S"},
                        "projection_type": "ALL",
                    }
                    for name in indexes
                ],
            }
        },
    }
    path.write_text(json.dumps(doc), encoding="utf-8")  # JSON is YAML
    return path


def test_item7_1_backfill_time_is_proportional_to_items() -> None:
    """The model: a floor for small tables, then linear in the items."""
    floor = realistic.INDEX_BACKFILL_MIN_SECONDS
    rate = realistic.INDEX_BACKFILL_ITEMS_PER_SECOND
    assert realistic.backfill_seconds(0) == floor
    assert realistic.backfill_seconds(int(10 * floor * rate)) == 10 * floor
    assert realistic.backfill_seconds(int(20 * floor * rate)) == 20 * floor


def test_item7_1_phase_survives_saving_the_state(local: Local) -> None:
    """A `--local` run that ends mid-backfill leaves the next run the same phase."""
    ddb = make_table(local, items=4)
    create_index(ddb)
    with local.target._lock:
        doc = json.loads(snapshot.dumps())
        snapshot.restore(doc)
    (state,) = [
        t
        for account in doc["accounts"].values()
        for region in account["dynamodb"].values()
        for t in region["tables"]
    ]
    assert state["IndexPhases"]["ByStatus"]["phase"] == "CREATING"
    gsi = index(ddb)
    assert gsi is not None and gsi["IndexStatus"] == "CREATING"


def test_create_table_is_creating_with_its_indexes(local: Local) -> None:
    """CreateTable: CREATING for a while, its GSIs too, without a Backfilling attribute."""
    ddb = local.client("dynamodb")
    ddb.create_table(
        TableName=TABLE,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "status", "AttributeType": "S"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "ByStatus",
                "KeySchema": [{"AttributeName": "status", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )
    desc = table(ddb)
    assert desc["TableStatus"] == "CREATING"
    assert desc["GlobalSecondaryIndexes"][0]["IndexStatus"] == "CREATING"
    assert "Backfilling" not in desc["GlobalSecondaryIndexes"][0]
    wait_for(lambda: table(ddb)["TableStatus"] == "ACTIVE")
    assert (index(ddb) or {})["IndexStatus"] == "ACTIVE"


def test_gsi_phases_reach_replicas(local: Local) -> None:
    """A GSI created on a global table is CREATING on every member, as AWS shows it."""
    ddb = make_table(local, items=2)
    ddb.update_table(TableName=TABLE, ReplicaUpdates=[{"Create": {"RegionName": REPLICA}}])
    account = str(table(ddb)["TableArn"].split(":")[4])
    with local.target._lock:  # skip the replica's CREATING time: not what this test is about
        from moto.dynamodb.models import dynamodb_backends

        for backend in dynamodb_backends[account].values():
            found = backend.tables.get(TABLE)
            if found is not None:
                found._ts_creating_until = 0.0
                for record in getattr(found, "_ts_replicas", {}).values():
                    record["until"] = 0.0
    create_index(ddb)
    replica = local.client("dynamodb", REPLICA)
    gsi = index(replica)
    assert gsi is not None and gsi["IndexStatus"] == "CREATING"
    assert table(replica)["TableStatus"] == "UPDATING"
    wait_for(lambda: (index(replica) or {}).get("IndexStatus") == "ACTIVE")


# ---------------------------------------------------------------------------- item 7.2: TTL


def ttl(ddb: Any, enabled: bool) -> None:
    ddb.update_time_to_live(
        TableName=TABLE, TimeToLiveSpecification={"Enabled": enabled, "AttributeName": "expiresAt"}
    )


def test_item7_2_ttl_cooldown(local: Local, monkeypatch: pytest.MonkeyPatch) -> None:
    """A second UpdateTimeToLive within the hour is AWS's ValidationException; later it is not."""
    monkeypatch.setenv(realistic.TIME_SCALE_ENV, "0.0002")  # the hour lasts 0.72 s
    ddb = make_table(local)
    ttl(ddb, True)
    with pytest.raises(ClientError) as refused:
        ttl(ddb, False)
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert refused.value.response["Error"]["Message"] == (
        "Time to live has been modified multiple times within a fixed interval"
    )
    time.sleep(3600 * 0.0002 + 0.1)
    ttl(ddb, False)
    status = ddb.describe_time_to_live(TableName=TABLE)["TimeToLiveDescription"]
    assert status["TimeToLiveStatus"] == "DISABLED"


def test_ttl_without_realistic_mode_is_instant(instant: Local) -> None:
    ddb = make_table(instant)
    ttl(ddb, True)
    ttl(ddb, False)  # the default mode keeps no clock


# ---------------------------------------------------------------------------- item 7.3: alarms


@pytest.mark.parametrize("mode", ["instant", "local"])
def test_item7_3_new_alarm_is_insufficient_data(mode: str, request: pytest.FixtureRequest) -> None:
    """New alarms start INSUFFICIENT_DATA (any mode); an update leaves the state as it was."""
    target: Local = request.getfixturevalue(mode)
    cw = target.client("cloudwatch")
    alarm = {
        "AlarmName": "orders-errors",
        "Namespace": "AWS/DynamoDB",
        "MetricName": "SystemErrors",
        "Statistic": "Sum",
        "Period": 60,
        "EvaluationPeriods": 1,
        "Threshold": 1.0,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        "Dimensions": [{"Name": "TableName", "Value": TABLE}],
    }
    cw.put_metric_alarm(**alarm)
    (made,) = cw.describe_alarms(AlarmNames=["orders-errors"])["MetricAlarms"]
    assert made["StateValue"] == "INSUFFICIENT_DATA"
    assert made["StateReason"] == "Unchecked: Initial alarm creation"
    cw.set_alarm_state(AlarmName="orders-errors", StateValue="ALARM", StateReason="test")
    cw.put_metric_alarm(**{**alarm, "Threshold": 5.0})
    (updated,) = cw.describe_alarms(AlarmNames=["orders-errors"])["MetricAlarms"]
    assert (updated["StateValue"], updated["Threshold"]) == ("ALARM", 5.0)


# ---------------------------------------------------------------------------- item 7.4: sizes


def test_item7_4_gsi_item_count_and_sizes(instant: Local) -> None:
    """DescribeTable lists each GSI's ItemCount and IndexSizeBytes (sparse), and TableSizeBytes."""
    ddb = make_table(instant, items=6)
    create_index(ddb)
    desc = table(ddb)
    (gsi,) = desc["GlobalSecondaryIndexes"]
    assert gsi["ItemCount"] == 3  # the three items with a status
    # KEYS_ONLY: "pk" + "o<i>" and "status" + "open" per item
    assert gsi["IndexSizeBytes"] == sum(
        len("pk") + len(f"o{i}") + len("status") + len("open") for i in (0, 2, 4)
    )
    assert desc["ItemCount"] == 6 and desc["TableSizeBytes"] > gsi["IndexSizeBytes"]


# ---------------------------------------------------------------------------- item 7.5: PartiQL


def test_item7_5_partiql_with_parameters(instant: Local) -> None:
    """INSERT, SELECT, UPDATE and DELETE take ``?`` parameters of any type: no 500."""
    ddb = make_table(instant)
    run = ddb.execute_statement
    run(
        Statement=f"INSERT INTO {TABLE} VALUE {{'pk': ?, 'total': ?, 'tags': ?, 'doc': ?}}",
        Parameters=[{"S": "a"}, {"N": "7"}, {"SS": ["x", "y"]}, {"L": [{"BOOL": True}]}],
    )
    item = ddb.get_item(TableName=TABLE, Key={"pk": {"S": "a"}})["Item"]
    assert item == {
        "pk": {"S": "a"},
        "total": {"N": "7"},
        "tags": {"SS": ["x", "y"]},
        "doc": {"L": [{"BOOL": True}]},
    }
    found = run(Statement=f'SELECT * FROM "{TABLE}" WHERE pk=?', Parameters=[{"S": "a"}])
    assert [i["pk"] for i in found["Items"]] == [{"S": "a"}]
    run(Statement=f"UPDATE {TABLE} SET total=? WHERE pk=?", Parameters=[{"N": "8"}, {"S": "a"}])
    assert ddb.get_item(TableName=TABLE, Key={"pk": {"S": "a"}})["Item"]["total"] == {"N": "8"}
    run(Statement=f"DELETE FROM {TABLE} WHERE pk = ?", Parameters=[{"S": "a"}])
    assert "Item" not in ddb.get_item(TableName=TABLE, Key={"pk": {"S": "a"}})
    run(
        Statement=f"INSERT INTO {TABLE} VALUE {{'pk': ?, 'note': 'why?'}}",  # not a parameter
        Parameters=[{"S": "b"}],
    )
    assert ddb.get_item(TableName=TABLE, Key={"pk": {"S": "b"}})["Item"]["note"] == {"S": "why?"}


def test_partiql_batch_and_transaction_with_parameters(instant: Local) -> None:
    ddb = make_table(instant)
    insert = f"INSERT INTO {TABLE} VALUE {{'pk': ?, 'total': ?}}"
    done = ddb.batch_execute_statement(
        Statements=[
            {"Statement": insert, "Parameters": [{"S": "a"}, {"N": "1"}]},
            {"Statement": insert, "Parameters": [{"S": "b"}, {"N": "2"}]},
        ]
    )
    assert [r.get("Error") for r in done["Responses"]] == [None, None]
    ddb.execute_transaction(
        TransactStatements=[
            {
                "Statement": f"UPDATE {TABLE} SET total=? WHERE pk=?",
                "Parameters": [{"N": "3"}, {"S": "a"}],
            },
            {"Statement": f"DELETE FROM {TABLE} WHERE pk=?", "Parameters": [{"S": "b"}]},
        ]
    )
    items = ddb.scan(TableName=TABLE)["Items"]
    assert items == [{"pk": {"S": "a"}, "total": {"N": "3"}}]


def test_partiql_errors_are_validation_exceptions(instant: Local) -> None:
    ddb = make_table(instant)
    with pytest.raises(ClientError) as count:
        ddb.execute_statement(Statement=f"SELECT * FROM {TABLE} WHERE pk = ?")
    assert count.value.response["Error"] == {
        "Code": "ValidationException",
        "Message": partiql.COUNT_MESSAGE,
    }
    with pytest.raises(ClientError) as syntax:  # moto's parser fails: a 400, not a 500
        ddb.execute_statement(Statement="SELECT * FROM")
    assert syntax.value.response["Error"] == {
        "Code": "ValidationException",
        "Message": partiql.SYNTAX_MESSAGE,
    }
    assert syntax.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_partiql_bind_keeps_quoted_text() -> None:
    text, bound = partiql.bind("SELECT * FROM \"a?b\" WHERE k='?' AND v=?", [{"N": "1"}])
    (placeholder,) = bound
    assert bound[placeholder] == {"N": "1"}
    assert text == f"SELECT * FROM \"a?b\" WHERE k = '?' AND v = '{placeholder}'"
    with pytest.raises(ValueError, match="don't match"):
        partiql.bind("SELECT * FROM t WHERE k = ?", [])


# ---------------------------------------------------------------------------- replicas


def test_replica_creating_time_follows_the_model(
    local: Local, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A replica is CREATING for the base time plus a time per item (scaled), then ACTIVE."""
    monkeypatch.setenv(realistic.TIME_SCALE_ENV, "0.003")  # the base 300 s lasts 0.9 s
    expected = realistic.scaled(realistic.replica_seconds(3))
    assert realistic.replica_seconds(3000) > realistic.replica_seconds(3)
    ddb = make_table(local, items=3)
    started = time.monotonic()
    ddb.update_table(TableName=TABLE, ReplicaUpdates=[{"Create": {"RegionName": REPLICA}}])
    (replica,) = table(ddb)["Replicas"]
    assert replica["ReplicaStatus"] == "CREATING"
    wait_for(lambda: table(ddb)["Replicas"][0]["ReplicaStatus"] == "ACTIVE", timeout=60)
    assert time.monotonic() - started >= expected - 0.05


# ---------------------------------------------------------------------------- the CLI


def test_time_scale_needs_realistic(tmp_path: Path) -> None:
    usage = CliRunner().invoke(cli, ["local", "serve", str(tmp_path), "--time-scale", "0.1"])
    assert usage.exit_code != 0 and "--time-scale needs --realistic" in usage.output


def test_item7_1_apply_killed_mid_backfill_converges(tmp_path: Path) -> None:
    """`local serve --realistic`: kill an apply while an index backfills; the next converges.

    The rehearsal the issue could not make: the served target keeps the index backfilling
    after the apply is gone, and the next `apply --local` waits for it, then goes on. (On
    DynamoDB Local this needs its fixed 30 s CREATING phase: tests/acceptance/test_interrupt.py.)
    """
    env = {k: v for k, v in os.environ.items() if k != realistic.REALISTIC_ENV}
    env["TABLESMITH_POLL_INTERVAL"] = "0.1"
    tablesmith = str(Path(sys.executable).with_name("tablesmith"))
    state = tmp_path / "state"
    two = write_spec(tmp_path / "two.yaml", ["ByA", "ByB"])

    def apply() -> subprocess.Popen[str]:
        return subprocess.Popen(
            [
                tablesmith,
                "apply",
                str(two),
                "--env",
                "dev",
                "--local",
                "--state-dir",
                str(state),
                "--auto-approve",
                "--allow-hazards",
                "INDEX_BACKFILL",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )

    serve = subprocess.Popen(
        [
            tablesmith,
            "local",
            "serve",
            str(tmp_path),
            "--state-dir",
            str(state),
            "--realistic",
            "--time-scale",
            "0.01",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert serve.stdout is not None
        match = re.search(r"serving at (http://127\.0\.0\.1:\d+)", serve.stdout.readline())
        assert match
        key = json.loads((state / "credentials.json").read_text())["access_key"]
        ddb = boto3.client(
            "dynamodb",
            endpoint_url=match.group(1),
            region_name=REGION,
            aws_access_key_id=key,
            aws_secret_access_key=key,
        )
        ddb.create_table(
            TableName=TABLE,
            BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        )
        assert table(ddb)["TableStatus"] == "CREATING"  # the served mode is the realistic one
        wait_for(lambda: table(ddb)["TableStatus"] == "ACTIVE")
        ddb.tag_resource(
            ResourceArn=table(ddb)["TableArn"],
            Tags=[{"Key": k, "Value": v} for k, v in TAGS.items()],
        )
        for i in range(10):
            ddb.put_item(TableName=TABLE, Item={"pk": {"S": f"o{i}"}, "bya": {"S": "a"}})

        first = apply()
        wait_for(lambda: bool((index(ddb, "ByA") or {}).get("Backfilling")), timeout=60)
        first.kill()  # SIGKILL mid-backfill: no chance to tidy up
        first.wait(30)
        assert [g["IndexName"] for g in table(ddb)["GlobalSecondaryIndexes"]] == ["ByA"]
        again = apply()
        out, err = again.communicate(timeout=120)
        assert again.returncode == 0, out + err
        assert out.count("CreateGsi") == 1, out  # ByA was waited for, not made again
        indexes = {
            g["IndexName"]: (g["IndexStatus"], g["ItemCount"])
            for g in table(ddb)["GlobalSecondaryIndexes"]
        }
        assert indexes == {"ByA": ("ACTIVE", 10), "ByB": ("ACTIVE", 0)}
    finally:
        serve.send_signal(signal.SIGTERM)
        assert serve.wait(60) == 0
    assert serve.stderr is not None and "Realistic mode" in serve.stderr.read()
