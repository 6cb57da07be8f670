"""DynamoDB's newer APIs on the local target (local/newer.py), through boto3 against an
in-process moto server, and their survival across the local state's save and load.

Expectations come from the AWS DynamoDB API reference (PutResourcePolicy, GetResourcePolicy,
DeleteResourcePolicy, UpdateContributorInsights, DescribeContributorInsights,
ListContributorInsights, Enable/Update/Disable/DescribeKinesisStreamingDestination, UpdateTable
WarmThroughput / MultiRegionConsistency / GlobalTableWitnessUpdates, GlobalSecondaryIndex
KeySchema) and the developer guide pages named in local/newer.py.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.exceptions import ClientError

import servers
from tablesmith.local import dynamodb as extensions
from tablesmith.local import newer, snapshot

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

REGION = "us-east-1"
TABLE = "orders"
POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                "Action": "dynamodb:GetItem",
                "Resource": "*",
            }
        ],
    }
)


@pytest.fixture(scope="module")
def endpoint(fake_aws_env: None) -> Iterator[str]:
    """An in-process moto server with the extensions installed (before its app is built)."""
    from moto.server import ThreadedMotoServer

    newer.install()
    server = ThreadedMotoServer(ip_address=servers.LOOPBACK, port=0, verbose=False)
    server.start()
    assert server._server is not None
    url = f"http://{servers.LOOPBACK}:{server._server.server_port}"
    try:
        yield url
    finally:
        servers.reset_moto(url)
        server.stop()


@pytest.fixture(autouse=True)
def fresh(endpoint: str, monkeypatch: pytest.MonkeyPatch) -> None:
    servers.reset_moto(endpoint)
    monkeypatch.setenv(extensions.REPLICA_SECONDS_ENV, "0")


@pytest.fixture
def client(endpoint: str) -> Callable[..., Any]:
    def make(service: str = "dynamodb", region: str = REGION) -> Any:
        return boto3.client(service, region_name=region, endpoint_url=endpoint)

    return make


@pytest.fixture
def ddb(client: Callable[..., Any]) -> Any:
    return client()


def reload() -> None:
    """Save the local state and load it again, as a new ``--local`` process does."""
    text = snapshot.dumps()
    snapshot.restore(snapshot.loads(text))


def make_table(ddb: Any, **extra: Any) -> dict[str, Any]:
    request: dict[str, Any] = {
        "TableName": TABLE,
        "KeySchema": [
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        "AttributeDefinitions": [
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
            {"AttributeName": "g", "AttributeType": "S"},
        ],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": "by-g",
                "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        "BillingMode": "PAY_PER_REQUEST",
        **extra,
    }
    return ddb.create_table(**request)["TableDescription"]  # type: ignore[no-any-return]


def code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


# ---------------------------------------------------------------------------- resource policies


def test_table_policy_put_get_revisions_and_conditions(ddb: Any) -> None:
    arn = make_table(ddb)["TableArn"]
    with pytest.raises(ClientError) as none:
        ddb.get_resource_policy(ResourceArn=arn)
    assert code(none) == "PolicyNotFoundException"
    first = ddb.put_resource_policy(ResourceArn=arn, Policy=POLICY, ExpectedRevisionId="NO_POLICY")[
        "RevisionId"
    ]
    got = ddb.get_resource_policy(ResourceArn=arn)
    assert (got["Policy"], got["RevisionId"]) == (POLICY, first)
    # idempotent: the same document keeps its revision
    assert ddb.put_resource_policy(ResourceArn=arn, Policy=POLICY)["RevisionId"] == first
    for expected in ("NO_POLICY", "1"):  # a policy exists / another revision
        with pytest.raises(ClientError) as mismatch:
            ddb.put_resource_policy(
                ResourceArn=arn,
                Policy=POLICY.replace("GetItem", "Query"),
                ExpectedRevisionId=expected,
            )
        assert code(mismatch) == "PolicyNotFoundException"
    second = ddb.put_resource_policy(
        ResourceArn=arn, Policy=POLICY.replace("GetItem", "Query"), ExpectedRevisionId=first
    )["RevisionId"]
    assert int(second) > int(first)
    with pytest.raises(ClientError) as stale:
        ddb.delete_resource_policy(ResourceArn=arn, ExpectedRevisionId=first)
    assert code(stale) == "PolicyNotFoundException"
    assert (
        ddb.delete_resource_policy(ResourceArn=arn, ExpectedRevisionId=second)["RevisionId"]
        == second
    )
    with pytest.raises(ClientError) as gone:
        ddb.delete_resource_policy(ResourceArn=arn)
    assert code(gone) == "PolicyNotFoundException"  # moto said ResourceNotFoundException


def test_policy_limits_and_missing_resources(ddb: Any) -> None:
    arn = make_table(ddb)["TableArn"]
    padded = json.dumps({"Version": "2012-10-17", "Statement": [], "Sid": " " * (20 * 1024)})
    with pytest.raises(ClientError) as big:
        ddb.put_resource_policy(ResourceArn=arn, Policy=padded)
    assert code(big) == "ValidationException"
    with pytest.raises(ClientError) as bad:
        ddb.put_resource_policy(ResourceArn=arn, Policy="{not json")
    assert code(bad) == "ValidationException"
    with pytest.raises(ClientError) as missing:
        ddb.put_resource_policy(ResourceArn=arn.replace(TABLE, "nothing"), Policy=POLICY)
    assert code(missing) == "ResourceNotFoundException"


def test_stream_policy_needs_the_stream_and_goes_with_the_table(ddb: Any) -> None:
    desc = make_table(
        ddb, StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
    )
    stream_arn = desc["LatestStreamArn"]
    table_arn = desc["TableArn"]
    with pytest.raises(ClientError) as no_stream:
        ddb.put_resource_policy(
            ResourceArn=f"{table_arn}/stream/2000-01-01T00:00:00.000", Policy=POLICY
        )
    assert code(no_stream) == "ResourceNotFoundException"
    stream_rev = ddb.put_resource_policy(ResourceArn=stream_arn, Policy=POLICY)["RevisionId"]
    ddb.put_resource_policy(ResourceArn=table_arn, Policy=POLICY.replace("GetItem", "Query"))
    assert ddb.get_resource_policy(ResourceArn=stream_arn)["RevisionId"] == stream_rev
    assert "Query" in ddb.get_resource_policy(ResourceArn=table_arn)["Policy"]
    reload()
    assert ddb.get_resource_policy(ResourceArn=stream_arn)["Policy"] == POLICY
    assert "Query" in ddb.get_resource_policy(ResourceArn=table_arn)["Policy"]
    ddb.delete_table(TableName=TABLE)
    make_table(ddb)  # the same name again: a new table, without the old one's policy
    with pytest.raises(ClientError) as new_table:
        ddb.get_resource_policy(ResourceArn=table_arn)
    assert code(new_table) == "PolicyNotFoundException"


def test_create_table_attaches_its_resource_policy(ddb: Any) -> None:
    arn = make_table(ddb, ResourcePolicy=POLICY)["TableArn"]
    assert ddb.get_resource_policy(ResourceArn=arn)["Policy"] == POLICY


# ---------------------------------------------------------------------------- contributor insights


def test_contributor_insights_table_and_index(ddb: Any) -> None:
    make_table(ddb)
    never = ddb.describe_contributor_insights(TableName=TABLE)
    assert never["ContributorInsightsStatus"] == "DISABLED"
    assert "ContributorInsightsRuleList" not in never
    enabled = ddb.update_contributor_insights(TableName=TABLE, ContributorInsightsAction="ENABLE")
    assert enabled["ContributorInsightsStatus"] == "ENABLED"
    assert enabled["ContributorInsightsMode"] == "ACCESSED_AND_THROTTLED_KEYS"
    ddb.update_contributor_insights(
        TableName=TABLE,
        IndexName="by-g",
        ContributorInsightsAction="ENABLE",
        ContributorInsightsMode="THROTTLED_KEYS",
    )
    index = ddb.describe_contributor_insights(TableName=TABLE, IndexName="by-g")
    assert index["ContributorInsightsMode"] == "THROTTLED_KEYS"
    assert [r.split("-")[1] for r in index["ContributorInsightsRuleList"]] == ["PKT", "SKT"]
    assert "LastUpdateDateTime" in index
    with pytest.raises(ClientError) as no_index:
        ddb.update_contributor_insights(
            TableName=TABLE, IndexName="nope", ContributorInsightsAction="ENABLE"
        )
    assert code(no_index) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as no_table:
        ddb.describe_contributor_insights(TableName="missing")
    assert code(no_table) == "ResourceNotFoundException"
    reload()
    listed = ddb.list_contributor_insights(TableName=TABLE)["ContributorInsightsSummaries"]
    assert [(s.get("IndexName"), s["ContributorInsightsStatus"]) for s in listed] == [
        (None, "ENABLED"),
        ("by-g", "ENABLED"),
    ]
    ddb.update_contributor_insights(TableName=TABLE, ContributorInsightsAction="DISABLE")
    everywhere = ddb.list_contributor_insights(MaxResults=1)
    assert [s.get("IndexName") for s in everywhere["ContributorInsightsSummaries"]] == ["by-g"]
    assert "NextToken" not in everywhere


# ---------------------------------------------------------------------------- kinesis


def test_kinesis_destination_lifecycle(ddb: Any, client: Callable[..., Any]) -> None:
    make_table(ddb)
    kinesis = client("kinesis")
    kinesis.create_stream(StreamName="changes", ShardCount=1)
    stream_arn = kinesis.describe_stream(StreamName="changes")["StreamDescription"]["StreamARN"]
    missing = stream_arn.replace("changes", "absent")
    with pytest.raises(ClientError) as absent:
        ddb.enable_kinesis_streaming_destination(TableName=TABLE, StreamArn=missing)
    assert code(absent) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as elsewhere:
        ddb.enable_kinesis_streaming_destination(
            TableName=TABLE, StreamArn=stream_arn.replace(REGION, "eu-west-1")
        )
    assert code(elsewhere) == "ValidationException"
    on = ddb.enable_kinesis_streaming_destination(
        TableName=TABLE,
        StreamArn=stream_arn,
        EnableKinesisStreamingConfiguration={"ApproximateCreationDateTimePrecision": "MICROSECOND"},
    )
    assert on["DestinationStatus"] == "ACTIVE"
    with pytest.raises(ClientError) as twice:
        ddb.enable_kinesis_streaming_destination(TableName=TABLE, StreamArn=stream_arn)
    assert code(twice) == "ResourceInUseException"
    updated = ddb.update_kinesis_streaming_destination(
        TableName=TABLE,
        StreamArn=stream_arn,
        UpdateKinesisStreamingConfiguration={"ApproximateCreationDateTimePrecision": "MILLISECOND"},
    )
    assert updated["UpdateKinesisStreamingConfiguration"] == {
        "ApproximateCreationDateTimePrecision": "MILLISECOND"
    }
    reload()
    (dest,) = ddb.describe_kinesis_streaming_destination(TableName=TABLE)[
        "KinesisDataStreamDestinations"
    ]
    assert dest == {
        "StreamArn": stream_arn,
        "DestinationStatus": "ACTIVE",
        "ApproximateCreationDateTimePrecision": "MILLISECOND",
    }
    off = ddb.disable_kinesis_streaming_destination(TableName=TABLE, StreamArn=stream_arn)
    assert off["DestinationStatus"] == "DISABLED"
    with pytest.raises(ClientError) as not_active:
        ddb.disable_kinesis_streaming_destination(TableName=TABLE, StreamArn=stream_arn)
    assert code(not_active) == "ValidationException"


# ---------------------------------------------------------------------------- warm throughput


def test_warm_throughput_defaults_increases_and_refuses_decreases(ddb: Any) -> None:
    desc = make_table(ddb)
    assert desc["WarmThroughput"] == {
        "ReadUnitsPerSecond": 12000,
        "WriteUnitsPerSecond": 4000,
        "Status": "ACTIVE",
    }
    ddb.update_table(TableName=TABLE, WarmThroughput={"ReadUnitsPerSecond": 15000})
    table = ddb.describe_table(TableName=TABLE)["Table"]
    assert table["WarmThroughput"] == {
        "ReadUnitsPerSecond": 15000,
        "WriteUnitsPerSecond": 4000,
        "Status": "ACTIVE",
    }  # moto dropped the write half
    ddb.update_table(
        TableName=TABLE,
        GlobalSecondaryIndexUpdates=[
            {"Update": {"IndexName": "by-g", "WarmThroughput": {"WriteUnitsPerSecond": 5000}}}
        ],
    )
    with pytest.raises(ClientError) as lower:
        ddb.update_table(TableName=TABLE, WarmThroughput={"ReadUnitsPerSecond": 14000})
    assert code(lower) == "ValidationException"
    with pytest.raises(ClientError) as lower_index:
        ddb.update_table(
            TableName=TABLE,
            GlobalSecondaryIndexUpdates=[
                {"Update": {"IndexName": "by-g", "WarmThroughput": {"WriteUnitsPerSecond": 4500}}}
            ],
        )
    assert code(lower_index) == "ValidationException"
    reload()
    table = ddb.describe_table(TableName=TABLE)["Table"]
    assert table["WarmThroughput"]["ReadUnitsPerSecond"] == 15000
    (gsi,) = table["GlobalSecondaryIndexes"]
    assert gsi["WarmThroughput"] == {
        "ReadUnitsPerSecond": 12000,
        "WriteUnitsPerSecond": 5000,
        "Status": "ACTIVE",
    }


# ---------------------------------------------------------------------------- MRSC


def test_mrsc_with_a_witness(ddb: Any, client: Callable[..., Any]) -> None:
    make_table(
        ddb, StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    )
    ddb.update_table(
        TableName=TABLE,
        ReplicaUpdates=[{"Create": {"RegionName": "us-east-2"}}],
        GlobalTableWitnessUpdates=[{"Create": {"RegionName": "us-west-2"}}],
        MultiRegionConsistency="STRONG",
    )
    for region in (REGION, "us-east-2"):
        table = client(region=region).describe_table(TableName=TABLE)["Table"]
        assert table["MultiRegionConsistency"] == "STRONG"
        assert table["GlobalTableWitnesses"] == [
            {"RegionName": "us-west-2", "WitnessStatus": "ACTIVE"}
        ]
    with pytest.raises(ClientError) as change:
        ddb.update_table(
            TableName=TABLE,
            MultiRegionConsistency="EVENTUAL",
            ReplicaUpdates=[{"Create": {"RegionName": "eu-west-1"}}],
        )
    assert code(change) == "ValidationException"
    reload()
    assert (
        ddb.describe_table(TableName=TABLE)["Table"]["GlobalTableWitnesses"][0]["RegionName"]
        == "us-west-2"
    )
    with pytest.raises(ClientError) as alone:
        ddb.update_table(
            TableName=TABLE, GlobalTableWitnessUpdates=[{"Delete": {"RegionName": "us-west-2"}}]
        )
    assert code(alone) == "ValidationException"
    ddb.update_table(
        TableName=TABLE,
        ReplicaUpdates=[{"Delete": {"RegionName": "us-east-2"}}],
        GlobalTableWitnessUpdates=[{"Delete": {"RegionName": "us-west-2"}}],
    )
    single = ddb.describe_table(TableName=TABLE)["Table"]
    assert "GlobalTableWitnesses" not in single and "MultiRegionConsistency" not in single


def test_mrsc_three_replicas_in_one_request(ddb: Any, client: Callable[..., Any]) -> None:
    make_table(ddb)
    ddb.update_table(
        TableName=TABLE,
        MultiRegionConsistency="STRONG",
        ReplicaUpdates=[
            {"Create": {"RegionName": "us-east-2"}},
            {"Create": {"RegionName": "us-west-2"}},
        ],
    )
    table = client(region="us-west-2").describe_table(TableName=TABLE)["Table"]
    assert table["MultiRegionConsistency"] == "STRONG"
    assert sorted(r["RegionName"] for r in table["Replicas"]) == ["us-east-1", "us-east-2"]


@pytest.mark.parametrize(
    ("replicas", "witness", "why"),
    [
        (["eu-west-1"], "us-west-2", "Region sets"),
        (["us-east-2"], None, "two Regions"),
        (["us-east-2"], "us-east-2", "witness on a replica's Region"),
    ],
)
def test_mrsc_refusals(ddb: Any, replicas: list[str], witness: str | None, why: str) -> None:
    make_table(ddb)
    request: dict[str, Any] = {
        "TableName": TABLE,
        "MultiRegionConsistency": "STRONG",
        "ReplicaUpdates": [{"Create": {"RegionName": r}} for r in replicas],
    }
    if witness:
        request["GlobalTableWitnessUpdates"] = [{"Create": {"RegionName": witness}}]
    with pytest.raises(ClientError) as refused:
        ddb.update_table(**request)
    assert code(refused) == "ValidationException", why


def test_mrsc_needs_an_empty_table(ddb: Any) -> None:
    make_table(ddb)
    ddb.put_item(TableName=TABLE, Item={"pk": {"S": "a"}, "sk": {"S": "b"}})
    with pytest.raises(ClientError) as full:
        ddb.update_table(
            TableName=TABLE,
            MultiRegionConsistency="STRONG",
            ReplicaUpdates=[{"Create": {"RegionName": "us-east-2"}}],
            GlobalTableWitnessUpdates=[{"Create": {"RegionName": "us-west-2"}}],
        )
    assert code(full) == "ValidationException"


# ---------------------------------------------------------------------------- PITR on replicas


def test_pitr_recovery_period_on_a_replica(ddb: Any, client: Callable[..., Any]) -> None:
    make_table(
        ddb, StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    )
    ddb.update_table(TableName=TABLE, ReplicaUpdates=[{"Create": {"RegionName": "eu-west-1"}}])
    replica = client(region="eu-west-1")
    replica.update_continuous_backups(
        TableName=TABLE,
        PointInTimeRecoverySpecification={
            "PointInTimeRecoveryEnabled": True,
            "RecoveryPeriodInDays": 7,
        },
    )
    reload()
    pitr = replica.describe_continuous_backups(TableName=TABLE)["ContinuousBackupsDescription"][
        "PointInTimeRecoveryDescription"
    ]
    assert pitr["PointInTimeRecoveryStatus"] == "ENABLED"
    assert pitr["RecoveryPeriodInDays"] == 7
    own = ddb.describe_continuous_backups(TableName=TABLE)["ContinuousBackupsDescription"]
    assert own["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "DISABLED"


# ---------------------------------------------------------------------------- multi-attribute keys


def multi_gsi(hashes: int, ranges: int) -> dict[str, Any]:
    schema = [{"AttributeName": f"h{i}", "KeyType": "HASH"} for i in range(hashes)]
    schema += [{"AttributeName": f"r{i}", "KeyType": "RANGE"} for i in range(ranges)]
    return {"IndexName": "multi", "KeySchema": schema, "Projection": {"ProjectionType": "ALL"}}


def test_multi_attribute_gsi_keys(ddb: Any) -> None:
    gsi = multi_gsi(4, 4)
    attrs = [{"AttributeName": "pk", "AttributeType": "S"}] + [
        {"AttributeName": k["AttributeName"], "AttributeType": "S"} for k in gsi["KeySchema"]
    ]
    ddb.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=attrs,
        BillingMode="PAY_PER_REQUEST",
        GlobalSecondaryIndexes=[gsi],
    )
    item = {"pk": {"S": "1"}, **{k["AttributeName"]: {"S": "v"} for k in gsi["KeySchema"]}}
    ddb.put_item(TableName=TABLE, Item=item)
    reload()
    (index,) = ddb.describe_table(TableName=TABLE)["Table"]["GlobalSecondaryIndexes"]
    assert index["KeySchema"] == gsi["KeySchema"]
    assert ddb.scan(TableName=TABLE, IndexName="multi")["Count"] == 1


@pytest.mark.parametrize(("hashes", "ranges"), [(5, 0), (1, 5)])
def test_multi_attribute_keys_beyond_four_are_refused(ddb: Any, hashes: int, ranges: int) -> None:
    gsi = multi_gsi(hashes, ranges)
    attrs = [{"AttributeName": "pk", "AttributeType": "S"}] + [
        {"AttributeName": k["AttributeName"], "AttributeType": "S"} for k in gsi["KeySchema"]
    ]
    with pytest.raises(ClientError) as refused:
        ddb.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=attrs,
            BillingMode="PAY_PER_REQUEST",
            GlobalSecondaryIndexes=[gsi],
        )
    assert code(refused) == "ValidationException"
