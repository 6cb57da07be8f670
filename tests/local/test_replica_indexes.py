"""GSI changes reach every replica on the local target, and `plan` sees a replica that differs.

AWS (global tables version 2019.11.21) applies a GlobalSecondaryIndexUpdates made on any
replica to all of them; a replica can still lag while it is being created. Issue 12, item 1:
`apply --env prod --local` added ``ByHotel`` and re-projected ``ByUser``, and in eu-west-1
``ByHotel`` did not exist, ``ByUser`` kept its old projection, and `plan` exited 0.

Everything runs against an in-process local target (the gate and its access key included),
so a replica can be made to diverge through moto's own objects, which no API allows.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import pytest
import yaml
from botocore.exceptions import ClientError

import tablesmith
from tablesmith.engine import Session
from tablesmith.hazards import HazardCode
from tablesmith.local import dynamodb as extensions
from tablesmith.local.server import LocalTarget
from tablesmith.outputs import table_outputs

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

PRIMARY = "af-south-1"
REPLICA = "eu-west-1"
THIRD = "us-west-2"
TABLE = "bookings"
TABLESMITH = str(Path(sys.executable).with_name("tablesmith"))
BY_USER_KEYS = {
    "name": "ByUser",
    "hash_key": {"name": "userId", "type": "S"},
    "projection_type": "KEYS_ONLY",
}
BY_USER_INCLUDE = {**BY_USER_KEYS, "projection_type": "INCLUDE", "non_key_attributes": ["total"]}
BY_HOTEL = {
    "name": "ByHotel",
    "hash_key": {"name": "hotelId", "type": "S"},
    "projection_type": "ALL",
}


class Local:
    """A local target in this process, and boto3 clients signed with its key."""

    def __init__(self, target: LocalTarget, endpoint: str, state_dir: Path) -> None:
        self.target = target
        self.endpoint = endpoint
        self.state_dir = state_dir
        self._clients: dict[str, Any] = {}

    def ddb(self, region: str = PRIMARY) -> Any:
        if region not in self._clients:
            key = self.target.access_key
            self._clients[region] = boto3.client(
                "dynamodb",
                endpoint_url=self.endpoint,
                region_name=region,
                aws_access_key_id=key,
                aws_secret_access_key=key,
            )
        return self._clients[region]

    def moto_table(self, region: str) -> Any:
        """moto's own Table object in ``region`` (to make a replica diverge)."""
        from moto.dynamodb.models import dynamodb_backends

        arn = self.ddb(region).describe_table(TableName=TABLE)["Table"]["TableArn"]
        return dynamodb_backends[arn.split(":")[4]][region].tables[TABLE]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Local]:
    """One local target for the module (a `plan --local` on its state directory uses it)."""
    state_dir = tmp_path_factory.mktemp("replica-indexes") / "state"
    target = LocalTarget(state_dir)
    with target as endpoint:
        target.clear()  # moto's state is process-global: start from nothing
        try:
            yield Local(target, endpoint, state_dir)
        finally:
            target.clear()  # and leave nothing to later tests


@pytest.fixture
def local(served: Local, monkeypatch: pytest.MonkeyPatch) -> Local:
    """The module's local target without DynamoDB tables (cheaper than a whole reset)."""
    from moto.dynamodb.models import dynamodb_backends

    monkeypatch.setenv(extensions.REPLICA_SECONDS_ENV, "0.2")
    monkeypatch.setenv("TABLESMITH_POLL_INTERVAL", "0.1")
    with served.target._lock:  # requests are served one at a time under this lock
        for account in list(dynamodb_backends):
            for region in list(dynamodb_backends[account]):
                dynamodb_backends[account][region].tables.clear()
    return served


def wait_for(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)


def indexes(desc: dict[str, Any]) -> dict[str, tuple[str, dict[str, Any]]]:
    """Index name -> (IndexStatus, Projection) of a DescribeTable answer."""
    return {
        g["IndexName"]: (g["IndexStatus"], g["Projection"])
        for g in desc.get("GlobalSecondaryIndexes", [])
    }


def describe(local: Local, region: str) -> dict[str, Any]:
    return dict(local.ddb(region).describe_table(TableName=TABLE)["Table"])


# ---------------------------------------------------------------------------- the API


def make_global_table(local: Local, *regions: str) -> None:
    """A table with one GSI (ByUser, KEYS_ONLY), items, and replicas in ``regions``."""
    ddb = local.ddb()
    ddb.create_table(
        TableName=TABLE,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "userId", "AttributeType": "S"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "ByUser",
                "KeySchema": [{"AttributeName": "userId", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    for i in range(4):
        ddb.put_item(
            TableName=TABLE,
            Item={
                "pk": {"S": f"b{i}"},
                "userId": {"S": "u1"},
                "hotelId": {"S": f"h{i % 2}"},
                "total": {"N": str(i)},
                "note": {"S": "x"},
            },
        )
    for region in regions:
        ddb.update_table(TableName=TABLE, ReplicaUpdates=[{"Create": {"RegionName": region}}])
        wait_for(lambda: describe(local, PRIMARY)["TableStatus"] == "ACTIVE")


def gsi_update(local: Local, region: str = PRIMARY, **update: Any) -> None:
    definitions = [
        {"AttributeName": "pk", "AttributeType": "S"},
        {"AttributeName": "userId", "AttributeType": "S"},
        {"AttributeName": "hotelId", "AttributeType": "S"},
    ]
    local.ddb(region).update_table(
        TableName=TABLE, AttributeDefinitions=definitions, GlobalSecondaryIndexUpdates=[update]
    )


def create_by_hotel(local: Local, region: str = PRIMARY) -> None:
    gsi_update(
        local,
        region,
        Create={
            "IndexName": "ByHotel",
            "KeySchema": [{"AttributeName": "hotelId", "KeyType": "HASH"}],
            "Projection": {"ProjectionType": "ALL"},
        },
    )


def query_by_hotel(local: Local, region: str) -> list[dict[str, Any]]:
    found = local.ddb(region).query(
        TableName=TABLE,
        IndexName="ByHotel",
        KeyConditionExpression="hotelId = :h",
        ExpressionAttributeValues={":h": {"S": "h1"}},
    )
    return list(found["Items"])


def test_a_gsi_created_on_the_table_reaches_every_replica_with_the_replicated_items(
    local: Local,
) -> None:
    make_global_table(local, REPLICA, THIRD)
    create_by_hotel(local)
    primary = indexes(describe(local, PRIMARY))
    for region in (REPLICA, THIRD):
        desc = describe(local, region)
        assert indexes(desc) == primary  # same indexes, same status (phase), same projection
        assert {"AttributeName": "hotelId", "AttributeType": "S"} in desc["AttributeDefinitions"]
        # the items were replicated before the index existed: they are in it
        assert sorted(i["pk"]["S"] for i in query_by_hotel(local, region)) == ["b1", "b3"]


def test_a_gsi_deleted_on_the_table_is_deleted_on_every_replica(local: Local) -> None:
    make_global_table(local, REPLICA)
    gsi_update(local, Delete={"IndexName": "ByUser"})
    assert indexes(describe(local, REPLICA)) == {}
    with pytest.raises(ClientError) as caught:
        local.ddb(REPLICA).query(
            TableName=TABLE,
            IndexName="ByUser",
            KeyConditionExpression="userId = :u",
            ExpressionAttributeValues={":u": {"S": "u1"}},
        )
    # AWS answers ValidationException, moto ResourceNotFoundException: either says "no index"
    assert caught.value.response["Error"]["Code"] in (
        "ValidationException",
        "ResourceNotFoundException",
    )


def test_a_reprojected_gsi_has_the_new_projection_on_every_replica(local: Local) -> None:
    make_global_table(local, REPLICA)
    # DynamoDB cannot change a projection in place: delete, then create (what apply does)
    gsi_update(local, Delete={"IndexName": "ByUser"})
    gsi_update(
        local,
        Create={
            "IndexName": "ByUser",
            "KeySchema": [{"AttributeName": "userId", "KeyType": "HASH"}],
            "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["total"]},
        },
    )
    _, projection = indexes(describe(local, REPLICA))["ByUser"]
    assert projection == {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["total"]}
    found = local.ddb(REPLICA).query(
        TableName=TABLE,
        IndexName="ByUser",
        KeyConditionExpression="userId = :u",
        ExpressionAttributeValues={":u": {"S": "u1"}},
    )
    assert found["Count"] == 4
    assert all(set(item) == {"pk", "userId", "total"} for item in found["Items"])


def test_a_gsi_change_made_on_a_replica_reaches_the_table(local: Local) -> None:
    make_global_table(local, REPLICA, THIRD)
    create_by_hotel(local, region=REPLICA)  # AWS accepts index changes on any replica
    assert "ByHotel" in indexes(describe(local, PRIMARY))
    assert "ByHotel" in indexes(describe(local, THIRD))


def test_a_table_without_replicas_keeps_its_index_to_itself(local: Local) -> None:
    make_global_table(local)
    create_by_hotel(local)
    assert "ByHotel" in indexes(describe(local, PRIMARY))
    with pytest.raises(ClientError):
        describe(local, REPLICA)


def test_replica_indexes_survive_saving_and_loading_the_state(local: Local) -> None:
    from tablesmith.local import snapshot

    make_global_table(local, REPLICA)
    create_by_hotel(local)
    with local.target._lock:
        saved = snapshot.loads(snapshot.dumps())  # the local target's JSON state
        snapshot.restore(saved)  # as a new process loads it
    assert set(indexes(describe(local, REPLICA))) == {"ByHotel", "ByUser"}
    assert len(query_by_hotel(local, REPLICA)) == 2


# ---------------------------------------------------------------------------- plan and apply


def write_spec(directory: Path, gsis: list[dict[str, Any]]) -> Path:
    doc = {
        "version": 1,
        "defaults": {
            "tags": {
                "Project": "shop",
                "Owner": "team-a",
                "CostCenter": "1",
                "ManagedBy": "tablesmith",
                "Component": "dynamodb",
                "Environment": "acc",
            },
            "alarms": {"enabled": False},
            "backup": {"enabled": False},
        },
        "environments": {"acc": {}},
        "tables": {
            TABLE: {
                "partition_key": {"name": "pk", "type": "S"},
                "replicas": [REPLICA],
                "global_secondary_indexes": gsis,
            }
        },
    }
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "spec.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def session(local: Local, spec: Path) -> Session:
    return Session.for_environment(
        tablesmith.load(spec, env="acc"),
        "acc",
        endpoint_url=local.endpoint,
        local=True,
        state_dir=str(local.state_dir),
    )


def apply(local: Local, spec: Path) -> Session:
    s = session(local, spec)
    s.apply(s.plan(), allowed=frozenset(HazardCode))
    return s


def test_apply_adding_and_reprojecting_gsis_reaches_the_replica(
    local: Local, tmp_path: Path
) -> None:
    """The issue's observation: ByHotel added and ByUser re-projected, with a replica."""
    apply(local, write_spec(tmp_path / "start", [BY_USER_KEYS]))
    local.ddb().put_item(
        TableName=TABLE,
        Item={
            "pk": {"S": "b1"},
            "userId": {"S": "u1"},
            "hotelId": {"S": "h1"},
            "total": {"N": "5"},
        },
    )
    s = apply(local, write_spec(tmp_path / "new", [BY_USER_INCLUDE, BY_HOTEL]))
    assert [i["pk"]["S"] for i in query_by_hotel(local, REPLICA)] == ["b1"]
    _, projection = indexes(describe(local, REPLICA))["ByUser"]
    assert projection == {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["total"]}
    again = s.plan()
    assert again.operations == () and again.notices == ()
    outputs = table_outputs(s.tables[0], s.read(orphans=False))
    assert outputs["replica_global_secondary_indexes"] == {
        REPLICA: [
            {"name": "ByHotel", "hash_key": "hotelId", "range_key": None},
            {"name": "ByUser", "hash_key": "userId", "range_key": None},
        ]
    }


def test_a_replica_missing_an_index_is_drift_that_apply_repairs(
    local: Local, tmp_path: Path
) -> None:
    spec = write_spec(tmp_path, [BY_USER_KEYS, BY_HOTEL])
    apply(local, spec)
    replica = local.moto_table(REPLICA)  # as if the index never reached the replica
    replica.global_indexes = [g for g in replica.global_indexes if g.name != "ByHotel"]

    s = session(local, spec)
    plan = s.plan()
    assert [(op.op, op.region) for op in plan.operations] == [
        ("DeleteGsi", PRIMARY),
        ("CreateGsi", PRIMARY),
    ]
    assert REPLICA in plan.operations[0].reason
    assert plan.has_changes
    assert [h.code for _, h in plan.refused(frozenset())] == [HazardCode.DELETES_INDEX]
    outputs = table_outputs(s.tables[0], s.read(orphans=False))
    assert [g["name"] for g in outputs["replica_global_secondary_indexes"][REPLICA]] == ["ByUser"]

    s.apply(plan, allowed=frozenset({HazardCode.DELETES_INDEX, HazardCode.INDEX_BACKFILL}))
    assert set(indexes(describe(local, REPLICA))) == {"ByHotel", "ByUser"}
    assert not session(local, spec).plan().has_changes


def test_a_replica_with_another_projection_is_drift(local: Local, tmp_path: Path) -> None:
    spec = write_spec(tmp_path, [BY_USER_INCLUDE])
    apply(local, spec)
    (index,) = local.moto_table(REPLICA).global_indexes
    index.projection = {"ProjectionType": "KEYS_ONLY"}
    plan = session(local, spec).plan()
    assert [op.op for op in plan.operations] == ["DeleteGsi", "CreateGsi"]


def test_a_replica_index_the_table_lacks_is_a_notice(local: Local, tmp_path: Path) -> None:
    import copy

    spec = write_spec(tmp_path, [BY_USER_KEYS])
    apply(local, spec)
    replica = local.moto_table(REPLICA)
    stray = copy.deepcopy(replica.global_indexes[0])
    stray.name = "Stray"
    replica.global_indexes = [*replica.global_indexes, stray]
    plan = session(local, spec).plan()
    assert plan.operations == ()
    assert len(plan.notices) == 1
    assert f"'{TABLE}' in {REPLICA} has index 'Stray'" in plan.notices[0]


def test_plan_on_the_command_line_exits_2_for_a_diverged_replica(
    local: Local, tmp_path: Path
) -> None:
    """`plan --detailed-exitcode` exited 0 in the issue.

    The command finds this module's target serving the state directory and plans through it.
    """
    spec = write_spec(tmp_path, [BY_USER_KEYS, BY_HOTEL])
    apply(local, spec)
    replica = local.moto_table(REPLICA)
    replica.global_indexes = [g for g in replica.global_indexes if g.name != "ByHotel"]
    result = subprocess.run(
        [
            TABLESMITH,
            "plan",
            str(spec),
            "--env",
            "acc",
            "--local",
            "--state-dir",
            str(local.state_dir),
            "--detailed-exitcode",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert "ByHotel" in result.stdout and REPLICA in result.stdout
