"""The local target's DynamoDB extensions, through boto3 against an in-process moto server.

Expectations come from the AWS DynamoDB API reference (UpdateTable ``ReplicaUpdates``,
DescribeTable ``Replicas`` / ``ReplicaDescription``, global tables version 2019.11.21, and
``SSEDescription``, ``TableClassSummary``, ``OnDemandThroughput``, ``StreamSpecification``).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.exceptions import ClientError

import servers
from tablesmith.local import dynamodb as extensions

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

PRIMARY = "us-east-1"
REPLICA = "eu-west-1"
THIRD = "us-west-2"
TABLE = "orders"
DELAY = 1.5  # TABLESMITH_LOCAL_REPLICA_SECONDS: long enough to see a phase on a loaded machine


@pytest.fixture(scope="module")
def endpoint(fake_aws_env: None) -> Iterator[str]:
    """An in-process moto server with the extensions installed (before its app is built)."""
    from moto.server import ThreadedMotoServer

    extensions.install()
    server = ThreadedMotoServer(ip_address=servers.LOOPBACK, port=0, verbose=False)
    server.start()
    assert server._server is not None
    url = f"http://{servers.LOOPBACK}:{server._server.server_port}"
    try:
        yield url
    finally:
        servers.reset_moto(url)  # moto's state is process-global: leave none to later tests
        server.stop()


@pytest.fixture(autouse=True)
def fresh(endpoint: str, monkeypatch: pytest.MonkeyPatch) -> None:
    servers.reset_moto(endpoint)
    monkeypatch.setenv(extensions.REPLICA_SECONDS_ENV, str(DELAY))


@pytest.fixture
def ddb(endpoint: str) -> Callable[[str], Any]:
    """A DynamoDB client for a Region of the local server."""
    clients: dict[str, Any] = {}

    def client(region: str) -> Any:
        if region not in clients:
            clients[region] = boto3.client("dynamodb", region_name=region, endpoint_url=endpoint)
        return clients[region]

    return client


def make_table(ddb: Callable[[str], Any], **extra: Any) -> dict[str, Any]:
    request: dict[str, Any] = {
        "TableName": TABLE,
        "KeySchema": [
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        "AttributeDefinitions": [
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
            {"AttributeName": "gpk", "AttributeType": "S"},
            {"AttributeName": "lsk", "AttributeType": "N"},
        ],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": "by-gpk",
                "KeySchema": [{"AttributeName": "gpk", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["total"]},
            }
        ],
        "LocalSecondaryIndexes": [
            {
                "IndexName": "by-lsk",
                "KeySchema": [
                    {"AttributeName": "pk", "KeyType": "HASH"},
                    {"AttributeName": "lsk", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ],
        "BillingMode": "PAY_PER_REQUEST",
        **extra,
    }
    return dict(ddb(PRIMARY).create_table(**request)["TableDescription"])


def describe(ddb: Callable[[str], Any], region: str) -> dict[str, Any]:
    return dict(ddb(region).describe_table(TableName=TABLE)["Table"])


def replicas(desc: dict[str, Any]) -> dict[str, str]:
    return {r["RegionName"]: r["ReplicaStatus"] for r in desc.get("Replicas", [])}


def wait_for(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)


def add_replica(
    ddb: Callable[[str], Any],
    region: str,
    *,
    wait: bool = True,
    source: str = PRIMARY,
    **create: Any,
) -> dict[str, Any]:
    response = ddb(source).update_table(
        TableName=TABLE, ReplicaUpdates=[{"Create": {"RegionName": region, **create}}]
    )
    if wait:
        wait_for(
            lambda: (
                describe(ddb, source)["TableStatus"] == "ACTIVE"
                and replicas(describe(ddb, source)).get(region) == "ACTIVE"
            )
        )
    return dict(response["TableDescription"])


def error_code(call: Callable[[], Any]) -> str:
    with pytest.raises(ClientError) as caught:
        call()
    return str(caught.value.response["Error"]["Code"])


def item(region_client: Any, pk: str, sk: str = "a") -> dict[str, Any] | None:
    got = region_client.get_item(TableName=TABLE, Key={"pk": {"S": pk}, "sk": {"S": sk}})
    found: dict[str, Any] | None = got.get("Item")
    return found


# ---------------------------------------------------------------------------- install


def test_install_is_idempotent() -> None:
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table

    before = (Table.describe, DynamoDBBackend.put_item)
    extensions.install()
    assert (Table.describe, DynamoDBBackend.put_item) == before


# ---------------------------------------------------------------------------- replicas


def test_create_replica_is_creating_then_active_on_both_sides(
        ddb: Callable[[str], Any], monkeypatch: pytest.MonkeyPatch) -> None:
    # long enough for the CREATING phase to be seen on a loaded machine (0.3 s was not)
    monkeypatch.setenv(extensions.REPLICA_SECONDS_ENV, "5")
    make_table(ddb)
    response = add_replica(ddb, REPLICA, wait=False)

    assert replicas(response) == {REPLICA: "CREATING"}
    primary = describe(ddb, PRIMARY)
    assert primary["TableStatus"] == "UPDATING"
    assert replicas(primary) == {REPLICA: "CREATING"}
    assert primary["Replicas"][0]["ReplicaArn"] == (
        f"arn:aws:dynamodb:{REPLICA}:123456789012:table/{TABLE}"
    )
    assert primary["GlobalTableVersion"] == "2019.11.21"
    replica = describe(ddb, REPLICA)
    assert replica["TableStatus"] == "CREATING"
    assert replicas(replica) == {PRIMARY: "ACTIVE"}

    wait_for(lambda: replicas(describe(ddb, PRIMARY)) == {REPLICA: "ACTIVE"})
    assert describe(ddb, PRIMARY)["TableStatus"] == "ACTIVE"
    replica = describe(ddb, REPLICA)
    assert replica["TableStatus"] == "ACTIVE"
    assert replicas(replica) == {PRIMARY: "ACTIVE"}
    assert replica["TableArn"] == f"arn:aws:dynamodb:{REPLICA}:123456789012:table/{TABLE}"


def test_replica_has_the_shape_and_a_stream_but_no_tags_or_protection(
    ddb: Callable[[str], Any],
) -> None:
    source = make_table(
        ddb, Tags=[{"Key": "team", "Value": "shop"}], DeletionProtectionEnabled=True
    )
    assert "StreamSpecification" not in source
    add_replica(ddb, REPLICA)

    primary, replica = describe(ddb, PRIMARY), describe(ddb, REPLICA)
    for field in ("KeySchema", "AttributeDefinitions", "BillingModeSummary"):
        assert replica[field] == primary[field]
    assert [
        (g["IndexName"], g["KeySchema"], g["Projection"]) for g in replica["GlobalSecondaryIndexes"]
    ] == [
        (
            "by-gpk",
            [{"AttributeName": "gpk", "KeyType": "HASH"}],
            {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["total"]},
        )
    ]
    assert [(i["IndexName"], i["Projection"]) for i in replica["LocalSecondaryIndexes"]] == [
        ("by-lsk", {"ProjectionType": "KEYS_ONLY"})
    ]
    # AWS turns the stream on for a global table, on both sides
    for desc in (primary, replica):
        assert desc["StreamSpecification"] == {
            "StreamEnabled": True,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        }
        assert desc["LatestStreamArn"].startswith(desc["TableArn"] + "/stream/")
    # tags and deletion protection stay with the primary
    assert primary["DeletionProtectionEnabled"] is True
    assert replica["DeletionProtectionEnabled"] is False
    tags = ddb(PRIMARY).list_tags_of_resource(ResourceArn=primary["TableArn"])["Tags"]
    assert tags == [{"Key": "team", "Value": "shop"}]
    assert ddb(REPLICA).list_tags_of_resource(ResourceArn=replica["TableArn"])["Tags"] == []


def test_replica_keeps_a_provisioned_table_capacity(ddb: Callable[[str], Any]) -> None:
    ddb(PRIMARY).create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        ProvisionedThroughput={"ReadCapacityUnits": 3, "WriteCapacityUnits": 4},
    )
    add_replica(ddb, REPLICA)
    replica = describe(ddb, REPLICA)
    assert replica["BillingModeSummary"]["BillingMode"] == "PROVISIONED"
    assert (
        replica["ProvisionedThroughput"]["ReadCapacityUnits"],
        replica["ProvisionedThroughput"]["WriteCapacityUnits"],
    ) == (3, 4)


def test_existing_items_are_copied_to_a_new_replica(ddb: Callable[[str], Any]) -> None:
    make_table(ddb)
    for n in range(3):
        ddb(PRIMARY).put_item(
            TableName=TABLE, Item={"pk": {"S": f"p{n}"}, "sk": {"S": "a"}, "total": {"N": str(n)}}
        )
    add_replica(ddb, REPLICA, wait=False)
    assert item(ddb(REPLICA), "p2") == {"pk": {"S": "p2"}, "sk": {"S": "a"}, "total": {"N": "2"}}
    assert ddb(REPLICA).scan(TableName=TABLE)["Count"] == 3


def test_every_member_lists_every_other_region(ddb: Callable[[str], Any]) -> None:
    make_table(ddb)
    add_replica(ddb, REPLICA)
    add_replica(ddb, THIRD, wait=False)
    # the existing replica sees the new one being created, too
    assert replicas(describe(ddb, REPLICA)) == {PRIMARY: "ACTIVE", THIRD: "CREATING"}
    wait_for(lambda: describe(ddb, PRIMARY)["TableStatus"] == "ACTIVE")
    assert replicas(describe(ddb, PRIMARY)) == {REPLICA: "ACTIVE", THIRD: "ACTIVE"}
    assert replicas(describe(ddb, REPLICA)) == {PRIMARY: "ACTIVE", THIRD: "ACTIVE"}
    assert replicas(describe(ddb, THIRD)) == {PRIMARY: "ACTIVE", REPLICA: "ACTIVE"}


def test_delete_replica_is_deleting_then_gone(ddb: Callable[[str], Any]) -> None:
    make_table(ddb)
    add_replica(ddb, REPLICA)
    response = ddb(PRIMARY).update_table(
        TableName=TABLE, ReplicaUpdates=[{"Delete": {"RegionName": REPLICA}}]
    )

    assert replicas(response["TableDescription"]) == {REPLICA: "DELETING"}
    assert describe(ddb, PRIMARY)["TableStatus"] == "UPDATING"
    assert error_code(lambda: describe(ddb, REPLICA)) == "ResourceNotFoundException"
    wait_for(lambda: "Replicas" not in describe(ddb, PRIMARY))
    primary = describe(ddb, PRIMARY)
    assert primary["TableStatus"] == "ACTIVE"
    assert "GlobalTableVersion" not in primary


def test_replica_update_errors(ddb: Callable[[str], Any]) -> None:
    make_table(ddb)

    def update(*updates: dict[str, Any], region: str = PRIMARY) -> Callable[[], Any]:
        return lambda: ddb(region).update_table(TableName=TABLE, ReplicaUpdates=list(updates))

    assert error_code(update({"Create": {"RegionName": PRIMARY}})) == "ValidationException"
    assert error_code(update({"Delete": {"RegionName": PRIMARY}})) == "ValidationException"
    assert error_code(update({"Delete": {"RegionName": REPLICA}})) == "ValidationException"
    assert (
        error_code(update({"Create": {"RegionName": REPLICA}}, {"Create": {"RegionName": THIRD}}))
        == "ValidationException"
    )
    assert error_code(update({"Create": {"RegionName": "mars-north-1"}})) == "ValidationException"
    # replica settings updates are not emulated: refused rather than ignored
    assert error_code(update({"Update": {"RegionName": REPLICA}})) == "ValidationException"

    add_replica(ddb, REPLICA, wait=False)
    # one replica change at a time: the table is UPDATING until the replica is ACTIVE
    assert error_code(update({"Create": {"RegionName": THIRD}})) == "ResourceInUseException"
    assert error_code(update({"Delete": {"RegionName": REPLICA}})) == "ResourceInUseException"
    wait_for(lambda: describe(ddb, PRIMARY)["TableStatus"] == "ACTIVE")

    assert error_code(update({"Create": {"RegionName": REPLICA}})) == "ValidationException"
    # from the replica's side, its own Region is the local one, and the primary a replica
    assert error_code(update({"Create": {"RegionName": REPLICA}}, region=REPLICA)) == (
        "ValidationException"
    )
    assert error_code(update({"Create": {"RegionName": PRIMARY}}, region=REPLICA)) == (
        "ValidationException"
    )


def test_create_replica_where_a_table_of_that_name_exists(ddb: Callable[[str], Any]) -> None:
    make_table(ddb)
    ddb(THIRD).create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    code = error_code(lambda: add_replica(ddb, THIRD, wait=False))
    assert code == "ValidationException"
    assert "Replicas" not in describe(ddb, PRIMARY)


def test_protected_replica_cannot_be_deleted(ddb: Callable[[str], Any]) -> None:
    make_table(ddb)
    add_replica(ddb, REPLICA)
    ddb(REPLICA).update_table(TableName=TABLE, DeletionProtectionEnabled=True)
    assert (
        error_code(
            lambda: ddb(PRIMARY).update_table(
                TableName=TABLE, ReplicaUpdates=[{"Delete": {"RegionName": REPLICA}}]
            )
        )
        == "ValidationException"
    )
    assert replicas(describe(ddb, PRIMARY)) == {REPLICA: "ACTIVE"}


def test_table_with_replicas_is_deleted_after_its_replicas(ddb: Callable[[str], Any]) -> None:
    make_table(ddb)
    add_replica(ddb, REPLICA, wait=False)
    # a table whose replica is being created is UPDATING: DeleteTable is refused as in use
    assert error_code(lambda: ddb(PRIMARY).delete_table(TableName=TABLE)) == (
        "ResourceInUseException"
    )
    wait_for(lambda: describe(ddb, PRIMARY)["TableStatus"] == "ACTIVE")
    # AWS: a table that sourced a replica in the last 24 hours cannot go before its replicas
    assert error_code(lambda: ddb(PRIMARY).delete_table(TableName=TABLE)) == "ValidationException"
    ddb(PRIMARY).update_table(TableName=TABLE, ReplicaUpdates=[{"Delete": {"RegionName": REPLICA}}])
    wait_for(lambda: describe(ddb, PRIMARY)["TableStatus"] == "ACTIVE")
    ddb(PRIMARY).delete_table(TableName=TABLE)
    assert error_code(lambda: describe(ddb, PRIMARY)) == "ResourceNotFoundException"


def test_deleting_a_replica_table_leaves_the_global_table(ddb: Callable[[str], Any]) -> None:
    make_table(ddb)
    add_replica(ddb, REPLICA)
    add_replica(ddb, THIRD)
    ddb(THIRD).delete_table(TableName=TABLE)  # version 2019.11.21: deletes that replica
    assert replicas(describe(ddb, PRIMARY)) == {REPLICA: "ACTIVE", THIRD: "DELETING"}
    wait_for(lambda: replicas(describe(ddb, PRIMARY)) == {REPLICA: "ACTIVE"})
    assert replicas(describe(ddb, REPLICA)) == {PRIMARY: "ACTIVE"}


# ---------------------------------------------------------------------------- replication


def test_writes_on_either_side_appear_on_the_other(ddb: Callable[[str], Any]) -> None:
    make_table(ddb)
    add_replica(ddb, REPLICA)
    primary, replica = ddb(PRIMARY), ddb(REPLICA)

    primary.put_item(TableName=TABLE, Item={"pk": {"S": "1"}, "sk": {"S": "a"}, "n": {"N": "1"}})
    assert item(replica, "1") == {"pk": {"S": "1"}, "sk": {"S": "a"}, "n": {"N": "1"}}

    replica.update_item(
        TableName=TABLE,
        Key={"pk": {"S": "1"}, "sk": {"S": "a"}},
        UpdateExpression="SET n = n + :one, gpk = :g",
        ExpressionAttributeValues={":one": {"N": "1"}, ":g": {"S": "x"}},
    )
    assert item(primary, "1") == {
        "pk": {"S": "1"},
        "sk": {"S": "a"},
        "n": {"N": "2"},
        "gpk": {"S": "x"},
    }
    # the replica's GSI sees the replicated item too
    found = replica.query(
        TableName=TABLE,
        IndexName="by-gpk",
        KeyConditionExpression="gpk = :g",
        ExpressionAttributeValues={":g": {"S": "x"}},
    )
    assert found["Count"] == 1

    replica.put_item(TableName=TABLE, Item={"pk": {"S": "2"}, "sk": {"S": "a"}})
    assert item(primary, "2") is not None
    primary.delete_item(TableName=TABLE, Key={"pk": {"S": "1"}, "sk": {"S": "a"}})
    assert item(replica, "1") is None


def test_batch_writes_are_replicated(ddb: Callable[[str], Any]) -> None:
    make_table(ddb)
    add_replica(ddb, REPLICA)
    ddb(PRIMARY).put_item(TableName=TABLE, Item={"pk": {"S": "old"}, "sk": {"S": "a"}})
    ddb(REPLICA).batch_write_item(
        RequestItems={
            TABLE: [
                {"PutRequest": {"Item": {"pk": {"S": "b1"}, "sk": {"S": "a"}}}},
                {"PutRequest": {"Item": {"pk": {"S": "b2"}, "sk": {"S": "a"}}}},
                {"DeleteRequest": {"Key": {"pk": {"S": "old"}, "sk": {"S": "a"}}}},
            ]
        }
    )
    keys = sorted(i["pk"]["S"] for i in ddb(PRIMARY).scan(TableName=TABLE)["Items"])
    assert keys == ["b1", "b2"]


def test_transactions_are_replicated_and_cancelled_ones_are_not(ddb: Callable[[str], Any]) -> None:
    make_table(ddb)
    add_replica(ddb, REPLICA)
    key = {"pk": {"S": "t"}, "sk": {"S": "a"}}
    ddb(PRIMARY).transact_write_items(
        TransactItems=[
            {"Put": {"TableName": TABLE, "Item": {**key, "v": {"N": "1"}}}},
            {"Put": {"TableName": TABLE, "Item": {"pk": {"S": "u"}, "sk": {"S": "a"}}}},
        ]
    )
    assert item(ddb(REPLICA), "t") == {**key, "v": {"N": "1"}}
    assert item(ddb(REPLICA), "u") is not None

    with pytest.raises(ClientError) as caught:
        ddb(PRIMARY).transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": TABLE,
                        "Key": key,
                        "UpdateExpression": "SET v = :two",
                        "ExpressionAttributeValues": {":two": {"N": "2"}},
                    }
                },
                {
                    "Delete": {
                        "TableName": TABLE,
                        "Key": {"pk": {"S": "u"}, "sk": {"S": "a"}},
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
            ]
        )
    assert caught.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert item(ddb(PRIMARY), "t") == {**key, "v": {"N": "1"}}
    assert item(ddb(REPLICA), "t") == {**key, "v": {"N": "1"}}
    assert item(ddb(REPLICA), "u") is not None


def test_partiql_writes_are_replicated(ddb: Callable[[str], Any]) -> None:
    make_table(ddb)
    add_replica(ddb, REPLICA)
    ddb(PRIMARY).execute_statement(
        Statement=f"INSERT INTO \"{TABLE}\" VALUE {{'pk': 'q', 'sk': 'a', 'n': 1}}"
    )
    assert item(ddb(REPLICA), "q", "a") == {"pk": {"S": "q"}, "sk": {"S": "a"}, "n": {"N": "1"}}


def test_writes_reach_every_replica(ddb: Callable[[str], Any]) -> None:
    make_table(ddb)
    add_replica(ddb, REPLICA)
    add_replica(ddb, THIRD)
    ddb(THIRD).put_item(TableName=TABLE, Item={"pk": {"S": "3"}, "sk": {"S": "a"}})
    assert item(ddb(PRIMARY), "3") is not None
    assert item(ddb(REPLICA), "3") is not None


# ---------------------------------------------------------------------------- encryption


def aws_managed_key(ddb: Callable[[str], Any], region: str, endpoint: str) -> str:
    kms = boto3.client("kms", region_name=region, endpoint_url=endpoint)
    return str(kms.describe_key(KeyId="alias/aws/dynamodb")["KeyMetadata"]["Arn"])


def test_sse_round_trip(ddb: Callable[[str], Any], endpoint: str) -> None:
    make_table(ddb)
    assert "SSEDescription" not in describe(ddb, PRIMARY)

    ddb(PRIMARY).update_table(TableName=TABLE, SSESpecification={"Enabled": True, "SSEType": "KMS"})
    sse = describe(ddb, PRIMARY)["SSEDescription"]
    assert sse == {
        "Status": "ENABLED",
        "SSEType": "KMS",
        "KMSMasterKeyArn": aws_managed_key(ddb, PRIMARY, endpoint),
    }

    kms = boto3.client("kms", region_name=PRIMARY, endpoint_url=endpoint)
    cmk = kms.create_key()["KeyMetadata"]["Arn"]
    ddb(PRIMARY).update_table(
        TableName=TABLE, SSESpecification={"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": cmk}
    )
    assert describe(ddb, PRIMARY)["SSEDescription"]["KMSMasterKeyArn"] == cmk

    ddb(PRIMARY).update_table(TableName=TABLE, SSESpecification={"Enabled": False})
    assert "SSEDescription" not in describe(ddb, PRIMARY)


def test_replica_of_an_aws_managed_key_table_uses_its_regions_key(
    ddb: Callable[[str], Any], endpoint: str
) -> None:
    make_table(ddb, SSESpecification={"Enabled": True, "SSEType": "KMS"})
    add_replica(ddb, REPLICA)
    assert describe(ddb, REPLICA)["SSEDescription"]["KMSMasterKeyArn"] == (
        aws_managed_key(ddb, REPLICA, endpoint)
    )


def test_replica_of_a_customer_managed_key_table_needs_a_key(
    ddb: Callable[[str], Any], endpoint: str
) -> None:
    cmk = boto3.client("kms", region_name=PRIMARY, endpoint_url=endpoint).create_key()[
        "KeyMetadata"
    ]["Arn"]
    replica_cmk = boto3.client("kms", region_name=REPLICA, endpoint_url=endpoint).create_key()[
        "KeyMetadata"
    ]["Arn"]
    make_table(ddb, SSESpecification={"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": cmk})
    assert error_code(lambda: add_replica(ddb, REPLICA, wait=False)) == "ValidationException"

    add_replica(ddb, REPLICA, KMSMasterKeyId=replica_cmk)
    assert describe(ddb, REPLICA)["SSEDescription"]["KMSMasterKeyArn"] == replica_cmk
    assert describe(ddb, PRIMARY)["Replicas"][0]["KMSMasterKeyId"] == replica_cmk


# ---------------------------------------------------------------------------- other fields


def test_table_class_at_create_and_update(ddb: Callable[[str], Any]) -> None:
    created = make_table(ddb, TableClass="STANDARD_INFREQUENT_ACCESS")
    assert created["TableClassSummary"]["TableClass"] == "STANDARD_INFREQUENT_ACCESS"
    ddb(PRIMARY).update_table(TableName=TABLE, TableClass="STANDARD")
    summary = describe(ddb, PRIMARY)["TableClassSummary"]
    assert summary["TableClass"] == "STANDARD"
    assert "LastUpdateDateTime" in summary
    assert error_code(lambda: ddb(PRIMARY).update_table(TableName=TABLE, TableClass="COLD")) == (
        "ValidationException"
    )
    add_replica(ddb, REPLICA)
    assert describe(ddb, REPLICA)["TableClassSummary"]["TableClass"] == "STANDARD"


def test_table_class_is_absent_unless_set(ddb: Callable[[str], Any]) -> None:
    make_table(ddb)
    assert "TableClassSummary" not in describe(ddb, PRIMARY)


def test_on_demand_throughput_at_create_and_update(ddb: Callable[[str], Any]) -> None:
    created = make_table(
        ddb, OnDemandThroughput={"MaxReadRequestUnits": 100, "MaxWriteRequestUnits": 50}
    )
    assert created["OnDemandThroughput"] == {"MaxReadRequestUnits": 100, "MaxWriteRequestUnits": 50}
    ddb(PRIMARY).update_table(TableName=TABLE, OnDemandThroughput={"MaxWriteRequestUnits": -1})
    assert describe(ddb, PRIMARY)["OnDemandThroughput"] == {
        "MaxReadRequestUnits": 100,
        "MaxWriteRequestUnits": -1,
    }


def test_stream_can_be_enabled_again_with_a_new_arn(ddb: Callable[[str], Any]) -> None:
    make_table(ddb, StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"})
    first = describe(ddb, PRIMARY)["LatestStreamArn"]
    ddb(PRIMARY).update_table(TableName=TABLE, StreamSpecification={"StreamEnabled": False})
    off = describe(ddb, PRIMARY)
    assert "StreamSpecification" not in off
    # writes keep working with the stream off (moto alone raises KeyError here)
    ddb(PRIMARY).put_item(TableName=TABLE, Item={"pk": {"S": "1"}, "sk": {"S": "a"}})

    time.sleep(0.01)  # labels are timestamps
    ddb(PRIMARY).update_table(
        TableName=TABLE, StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
    )
    on = describe(ddb, PRIMARY)
    assert on["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
    assert on["LatestStreamArn"] != first
    assert on["LatestStreamArn"] == f"{on['TableArn']}/stream/{on['LatestStreamLabel']}"
    # enabling a stream that is already on is still refused
    code = error_code(
        lambda: ddb(PRIMARY).update_table(
            TableName=TABLE,
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
        )
    )
    assert code == "ResourceInUseException"


def test_a_global_table_keeps_its_stream(ddb: Callable[[str], Any]) -> None:
    make_table(ddb)
    add_replica(ddb, REPLICA)
    assert (
        error_code(
            lambda: ddb(PRIMARY).update_table(
                TableName=TABLE, StreamSpecification={"StreamEnabled": False}
            )
        )
        == "ValidationException"
    )


def test_replica_needs_new_and_old_images(ddb: Callable[[str], Any]) -> None:
    make_table(ddb, StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"})
    assert error_code(lambda: add_replica(ddb, REPLICA, wait=False)) == "ValidationException"


# ---------------------------------------------------------------------------- persistence


def test_saved_state_keeps_replicas_and_their_state(
    ddb: Callable[[str], Any], endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tablesmith.local import snapshot

    make_table(ddb)
    add_replica(ddb, REPLICA)
    ddb(PRIMARY).put_item(TableName=TABLE, Item={"pk": {"S": "kept"}, "sk": {"S": "a"}})
    monkeypatch.setenv(extensions.REPLICA_SECONDS_ENV, "60")
    add_replica(ddb, THIRD, wait=False)

    saved = snapshot.loads(snapshot.dumps())  # the local target's JSON state
    servers.reset_moto(endpoint)
    assert error_code(lambda: describe(ddb, PRIMARY)) == "ResourceNotFoundException"
    snapshot.restore(saved)

    primary = describe(ddb, PRIMARY)
    assert primary["TableStatus"] == "UPDATING"
    assert replicas(primary) == {REPLICA: "ACTIVE", THIRD: "CREATING"}
    assert describe(ddb, THIRD)["TableStatus"] == "CREATING"
    assert replicas(describe(ddb, REPLICA)) == {PRIMARY: "ACTIVE", THIRD: "CREATING"}
    assert item(ddb(THIRD), "kept") is not None
    # replication goes on after the restore
    ddb(REPLICA).put_item(TableName=TABLE, Item={"pk": {"S": "after"}, "sk": {"S": "a"}})
    assert item(ddb(PRIMARY), "after") is not None
    assert item(ddb(THIRD), "after") is not None


def test_every_tag_comes_in_one_page_and_tagging_twice_keeps_one_of_each(
    ddb: Callable[[str], Any],
) -> None:
    """DynamoDB answers a resource's (at most 50) tags in one ListTagsOfResource page, and the
    Terraform provider reads one page only: moto's pages of 10 made its wait for the prod
    example's 11 replica tags time out. A retried TagResource must not duplicate keys."""
    arn = make_table(ddb)["TableArn"]
    tags = [{"Key": f"key-{i:02d}", "Value": "one"} for i in range(12)]
    ddb(PRIMARY).tag_resource(ResourceArn=arn, Tags=tags)
    ddb(PRIMARY).tag_resource(ResourceArn=arn, Tags=[{**t, "Value": "two"} for t in tags])
    page = ddb(PRIMARY).list_tags_of_resource(ResourceArn=arn)
    assert "NextToken" not in page
    assert sorted((t["Key"], t["Value"]) for t in page["Tags"]) == [
        (t["Key"], "two") for t in tags]
