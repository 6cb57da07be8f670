"""The test-server harness: the fake AWS environment, moto server and DynamoDB Local."""

from __future__ import annotations

import socket
import struct
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.waiter import WaiterModel, create_waiter_with_client

import servers

if TYPE_CHECKING:
    from collections.abc import Callable

    from mypy_boto3_dynamodb import DynamoDBClient

LISTEN = "0A"  # TCP_LISTEN in /proc/net/tcp's "st" column

# boto3 has no waiter for index status; DynamoDB allows no further GSI change on the table until
# every index is ACTIVE. DynamoDB Local holds a new index in CREATING for about 30 s.
GSI_WAITERS = WaiterModel(
    {
        "version": 2,
        "waiters": {
            "IndexesActive": {
                "operation": "DescribeTable",
                "delay": 1,
                "maxAttempts": 90,
                "acceptors": [
                    {
                        "matcher": "pathAll",
                        "argument": "Table.GlobalSecondaryIndexes[].IndexStatus",
                        "expected": "ACTIVE",
                        "state": "success",
                    }
                ],
            }
        },
    }
)


def client(service: str, endpoint: str) -> Any:
    """A boto3 client for ``service`` at ``endpoint``, credentials and region from the env."""
    return boto3.client(service, endpoint_url=endpoint)  # type: ignore[call-overload]


def listening_addresses(port: int) -> set[str]:
    """Local addresses of listening TCP sockets on ``port``, read from /proc/net/tcp{,6}."""
    found: set[str] = set()
    for table, family in (("/proc/net/tcp", socket.AF_INET), ("/proc/net/tcp6", socket.AF_INET6)):
        path = Path(table)
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()
            address_hex, port_hex = fields[1].split(":")
            if fields[3] != LISTEN or int(port_hex, 16) != port:
                continue
            # The kernel prints each 32-bit word of the address as %08X in host byte order.
            raw = b"".join(
                struct.pack("=I", int(address_hex[i : i + 8], 16))
                for i in range(0, len(address_hex), 8)
            )
            found.add(socket.inet_ntop(family, raw))
    return found


def test_fake_aws_env_is_the_only_credential_source() -> None:
    session = boto3.session.Session()
    credentials = session.get_credentials()

    assert credentials is not None
    assert (credentials.access_key, credentials.method) == ("testing", "env")
    assert session.region_name == "af-south-1"
    assert session.available_profiles == []


MOTO_CALLS: list[tuple[str, Callable[[Any], object]]] = [
    ("dynamodb", lambda c: c.list_tables()["TableNames"]),
    ("sts", lambda c: c.get_caller_identity()["Account"]),
    ("backup", lambda c: c.list_backup_vaults()["BackupVaultList"]),
    ("cloudwatch", lambda c: c.describe_alarms()["MetricAlarms"]),
    ("iam", lambda c: c.list_roles()["Roles"]),
]


@pytest.mark.parametrize(("service", "call"), MOTO_CALLS, ids=[s for s, _ in MOTO_CALLS])
def test_moto_answers(moto_fresh: str, service: str, call: Callable[[Any], object]) -> None:
    assert call(client(service, moto_fresh)) is not None


def test_moto_reset_forgets_tables(moto_fresh: str) -> None:
    dynamodb: DynamoDBClient = client("dynamodb", moto_fresh)
    dynamodb.create_table(
        TableName="tenants",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    assert dynamodb.list_tables()["TableNames"] == ["tenants"]

    servers.reset_moto(moto_fresh)

    assert dynamodb.list_tables()["TableNames"] == []


@pytest.mark.dynamodb_local
def test_dynamodb_local_holds_a_new_gsi_in_creating(dynamodb_local_endpoint: str) -> None:
    dynamodb: DynamoDBClient = client("dynamodb", dynamodb_local_endpoint)
    table = f"orders-{uuid.uuid4().hex[:8]}"  # the server lives for the whole worker session
    created = dynamodb.create_table(
        TableName=table,
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "customer", "AttributeType": "S"},
        ],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by_customer",
                "KeySchema": [{"AttributeName": "customer", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )
    # Even with -delayTransientStatuses, DynamoDB Local creates tables (and the GSIs created
    # with them) ACTIVE at once; only indexes added later pass through CREATING.
    assert created["TableDescription"]["TableStatus"] == "ACTIVE"
    dynamodb.get_waiter("table_exists").wait(
        TableName=table, WaiterConfig={"Delay": 1, "MaxAttempts": 30}
    )

    dynamodb.update_table(
        TableName=table,
        AttributeDefinitions=[{"AttributeName": "status", "AttributeType": "S"}],
        GlobalSecondaryIndexUpdates=[
            {
                "Create": {
                    "IndexName": "by_status",
                    "KeySchema": [{"AttributeName": "status", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "KEYS_ONLY"},
                }
            }
        ],
    )
    indexes = dynamodb.describe_table(TableName=table)["Table"]["GlobalSecondaryIndexes"]
    assert {i["IndexName"]: i["IndexStatus"] for i in indexes} == {
        "by_customer": "ACTIVE",
        "by_status": "CREATING",
    }

    create_waiter_with_client("IndexesActive", GSI_WAITERS, dynamodb).wait(TableName=table)


@pytest.mark.dynamodb_local
def test_servers_listen_on_loopback_only(moto_endpoint: str, dynamodb_local_endpoint: str) -> None:
    if not Path("/proc/net/tcp").exists():
        pytest.skip("reads listening sockets from Linux's /proc/net/tcp")
    for endpoint in (moto_endpoint, dynamodb_local_endpoint):
        url = urlsplit(endpoint)
        assert url.hostname == servers.LOOPBACK
        assert url.port is not None
        assert listening_addresses(url.port) == {servers.LOOPBACK}, endpoint


def test_jar_override_may_name_a_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    jar = tmp_path / "lib" / "dynamodb_local_2099-01-01" / servers.JAR_NAME
    jar.parent.mkdir(parents=True)
    jar.touch()
    monkeypatch.setenv(servers.DYNAMODB_LOCAL_JAR_ENV, str(tmp_path))

    assert servers.find_dynamodb_local_jar() == jar


def test_missing_jar_names_make_tools(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(servers.DYNAMODB_LOCAL_JAR_ENV, str(tmp_path / "nowhere"))

    with pytest.raises(servers.DynamoDBLocalUnavailable, match="make tools"):
        servers.find_dynamodb_local_jar()
