"""The DynamoDB requests an effective table makes, built once: apply sends them, the exporters
translate them.

Every function here is pure (no AWS call, no boto3): an effective spec model in, the request
dict (or a piece of it) in the API's own names out. ``apply`` sends these requests; the
Terraform and CloudFormation exporters build their resources *from* them, translating the API's
names into their own, so that the spec → API mapping is written once. DynamoDB's rules sit
where they act, each with a one-line why.

CreateTable: :func:`create_table_request` and its pieces (:func:`key_schema`,
:func:`attribute_definitions`, :func:`gsi_request`, :func:`lsi_request`, :func:`projection`,
:func:`stream_specification`, :func:`sse_specification`, :func:`on_demand_throughput`,
:func:`tag_list`). UpdateTable and friends, as apply sends them: :func:`stream_specification`
(UpdateStream), :func:`sse_specification` (UpdateSse), :func:`on_demand_throughput`,
:func:`replica_create` (ReplicaUpdates Create), :func:`pitr_specification`
(UpdateContinuousBackups), :func:`ttl_specification` (UpdateTimeToLive),
:func:`strong_global_table_create` / :func:`strong_global_table_delete` (MRSC replicas).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tablesmith.errors import UsageError

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from tablesmith.spec.model import (
        Encryption,
        GlobalSecondaryIndex,
        Key,
        LocalSecondaryIndex,
        OnDemandThroughput,
        PointInTimeRecovery,
        Stream,
        Table,
        TimeToLive,
        WarmThroughput,
    )

# DynamoDB's own "no cap" in OnDemandThroughput: -1 removes a maximum (UpdateTable) or sets
# none (CreateTable). The one representation of "no cap" in every request tablesmith builds;
# the exporters translate it (CloudFormation, whose minimum is 1, leaves the property out).
NO_CAP = -1
DEFAULT_TABLE_CLASS = "STANDARD"  # what CreateTable makes when TableClass is not sent


def key_schema(hash_key: Key, range_key: Key | None = None) -> list[dict[str, str]]:
    """A KeySchema: the partition (HASH) key first, then the sort (RANGE) key if any."""
    # AWS requires this order: the HASH element first
    schema = [{"AttributeName": hash_key.name, "KeyType": "HASH"}]
    if range_key is not None:
        schema.append({"AttributeName": range_key.name, "KeyType": "RANGE"})
    return schema


def gsi_key_schema(index: GlobalSecondaryIndex) -> list[dict[str, str]]:
    """A GSI's KeySchema: its 1-4 HASH elements, then its 0-4 RANGE elements, in key order."""
    # a multi-attribute key is several elements of one KeyType, the HASH ones first (the
    # developer guide's "Multi-attribute keys"; botocore's GSI KeySchema has no maximum)
    return ([{"AttributeName": k.name, "KeyType": "HASH"} for k in index.hash_keys()]
            + [{"AttributeName": k.name, "KeyType": "RANGE"} for k in index.range_keys()])


def attribute_definitions(t: Table) -> list[dict[str, str]]:
    """AttributeDefinitions: the key attributes of the table and its indexes, once each."""
    # only key attributes: DynamoDB rejects a definition no key schema uses
    return [{"AttributeName": a.name, "AttributeType": a.type} for a in t.attribute_definitions]


def projection(index: GlobalSecondaryIndex | LocalSecondaryIndex) -> dict[str, Any]:
    """An index's Projection."""
    request: dict[str, Any] = {"ProjectionType": index.projection_type}
    if index.non_key_attributes:  # AWS accepts NonKeyAttributes with INCLUDE only
        request["NonKeyAttributes"] = list(index.non_key_attributes)
    return request


def gsi_request(index: GlobalSecondaryIndex) -> dict[str, Any]:
    """A GlobalSecondaryIndex (CreateTable) or GlobalSecondaryIndexUpdates Create."""
    request: dict[str, Any] = {"IndexName": index.name,
                               "KeySchema": gsi_key_schema(index),
                               "Projection": projection(index)}
    if index.warm_throughput is not None:  # absent: AWS's default (not managed)
        request["WarmThroughput"] = warm_throughput(index.warm_throughput)
    return request


def lsi_request(t: Table, index: LocalSecondaryIndex) -> dict[str, Any]:
    """A LocalSecondaryIndex: the table's partition key with the index's own sort key."""
    # an LSI can only be made with its table (CreateTable), and shares its partition key
    return {"IndexName": index.name, "KeySchema": key_schema(t.partition_key, index.range_key),
            "Projection": projection(index)}


def stream_specification(stream: Stream) -> dict[str, Any]:
    """A StreamSpecification (CreateTable when enabled; UpdateStream either way)."""
    request: dict[str, Any] = {"StreamEnabled": stream.enabled}
    if stream.enabled:  # AWS refuses a StreamViewType on a stream being turned off
        request["StreamViewType"] = stream.view_type
    return request


def sse_specification(enc: Encryption) -> dict[str, Any]:
    """An SSESpecification (CreateTable unless AWS-owned; UpdateSse either way)."""
    # Enabled=false is DynamoDB's default, the AWS-owned key; KMS without a key id is the
    # AWS-managed key aws/dynamodb
    if enc.type == "AWS_OWNED":
        return {"Enabled": False}
    request: dict[str, Any] = {"Enabled": True, "SSEType": "KMS"}
    if enc.type == "CUSTOMER_MANAGED":
        request["KMSMasterKeyId"] = enc.kms_key_arn
    return request


def on_demand_throughput(cap: OnDemandThroughput | None) -> dict[str, int]:
    """OnDemandThroughput, both maxima always sent: an absent one is :data:`NO_CAP`."""
    # UpdateTable keeps a maximum that is not sent, so "no cap" must be sent as -1 to clear it
    if cap is None:
        return {"MaxReadRequestUnits": NO_CAP, "MaxWriteRequestUnits": NO_CAP}
    return {"MaxReadRequestUnits": cap.max_read_request_units or NO_CAP,
            "MaxWriteRequestUnits": cap.max_write_request_units or NO_CAP}


def tag_list(tags: Mapping[str, str]) -> list[dict[str, str]]:
    """Tags in DynamoDB's list form (CreateTable, TagResource), in the mapping's order."""
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def create_table_request(t: Table) -> dict[str, Any]:
    """The CreateTable request for an effective table; settings CreateTable cannot carry
    (PITR, TTL, replicas) follow as their own requests."""
    request: dict[str, Any] = {
        "TableName": t.table_name,
        "KeySchema": key_schema(t.partition_key, t.sort_key),
        "AttributeDefinitions": attribute_definitions(t),
        "BillingMode": t.billing_mode,
        "DeletionProtectionEnabled": t.deletion_protection,
        "Tags": tag_list(t.tags),
    }
    if t.global_secondary_indexes:
        request["GlobalSecondaryIndexes"] = [gsi_request(g) for g in t.global_secondary_indexes]
    if t.local_secondary_indexes:
        request["LocalSecondaryIndexes"] = [lsi_request(t, i) for i in t.local_secondary_indexes]
    if t.stream.enabled:  # a new table has no stream unless asked
        request["StreamSpecification"] = stream_specification(t.stream)
    if t.encryption.type != "AWS_OWNED":  # a new table is AWS-owned unless asked
        request["SSESpecification"] = sse_specification(t.encryption)
    if t.table_class != DEFAULT_TABLE_CLASS:
        request["TableClass"] = t.table_class
    if t.on_demand_throughput is not None:
        request["OnDemandThroughput"] = on_demand_throughput(t.on_demand_throughput)
    if t.warm_throughput is not None:  # absent: AWS's default (not managed)
        request["WarmThroughput"] = warm_throughput(t.warm_throughput)
    return request


def replica_kms_key(t: Table, region: str) -> str | None:
    """The KMS key of ``t``'s copy in ``region`` (None unless customer-managed)."""
    enc = t.encryption
    if enc.type != "CUSTOMER_MANAGED":
        return None
    # customer-managed keys are regional: the table's key in its own region, one per replica
    key = enc.kms_key_arn if region == t.region else enc.replica_kms_key_arns.get(region)
    if key is None:
        raise UsageError(f"table '{t.name}' has no KMS key for its replica in {region}")
    return key


def replica_create(t: Table, region: str) -> dict[str, Any]:
    """ReplicaUpdates Create: the replica's Region and, with a customer key, its own key."""
    create: dict[str, Any] = {"RegionName": region}
    key = replica_kms_key(t, region)
    if key is not None:  # without it, a customer-managed table's replica creation fails
        create["KMSMasterKeyId"] = key
    return create


def pitr_specification(pitr: PointInTimeRecovery) -> dict[str, Any]:
    """UpdateContinuousBackups' PointInTimeRecoverySpecification."""
    request: dict[str, Any] = {"PointInTimeRecoveryEnabled": pitr.enabled}
    if pitr.enabled:  # a recovery period only exists while PITR is on
        request["RecoveryPeriodInDays"] = pitr.recovery_period_days
    return request


def ttl_specification(ttl: TimeToLive, current: TimeToLive | None = None) -> dict[str, Any]:
    """UpdateTimeToLive's TimeToLiveSpecification; ``current``: the TTL the table has now."""
    # AWS needs an attribute name to disable TTL too: the one TTL is on now
    attribute = ttl.attribute_name if ttl.enabled or current is None else current.attribute_name
    return {"Enabled": ttl.enabled, "AttributeName": attribute}


def warm_throughput(warm: WarmThroughput) -> dict[str, int]:
    """A WarmThroughput (CreateTable, a GSI, UpdateTable, GlobalSecondaryIndexUpdates Update)."""
    # both values always sent: a partial WarmThroughput leaves the other as it is on AWS,
    # and the spec states both
    return {"ReadUnitsPerSecond": warm.read_units_per_second,
            "WriteUnitsPerSecond": warm.write_units_per_second}


def warm_throughput_update(index: str | None, warm: WarmThroughput) -> dict[str, Any]:
    """UpdateTable's arguments that raise warm throughput: the table's, or one index's."""
    if index is None:
        return {"WarmThroughput": warm_throughput(warm)}
    return {"GlobalSecondaryIndexUpdates": [
        {"Update": {"IndexName": index, "WarmThroughput": warm_throughput(warm)}}]}


def strong_global_table_create(t: Table, regions: Sequence[str],
                               witness: str | None) -> dict[str, Any]:
    """UpdateTable that makes ``t`` an MRSC global table: every replica, the witness and
    MultiRegionConsistency STRONG in one request."""
    # MRSC is set only "when you create a global table by specifying one or more Create
    # actions in the ReplicaUpdates action list" (UpdateTable), so all of them go at once,
    # unlike MREC's one replica per UpdateTable; the witness "must be added when creating"
    request: dict[str, Any] = {
        "TableName": t.table_name,
        "ReplicaUpdates": [{"Create": replica_create(t, r)} for r in regions],
        "MultiRegionConsistency": "STRONG",
    }
    if witness is not None:
        request["GlobalTableWitnessUpdates"] = [{"Create": {"RegionName": witness}}]
    return request


def strong_global_table_delete(table_name: str, regions: Sequence[str],
                               witness: str | None) -> dict[str, Any]:
    """UpdateTable that takes an MRSC global table back to one Region: its replicas (and
    witness) deleted in one request."""
    # a witness "must be [deleted] in conjunction with removing a replica", and an MRSC table
    # of three replicas loses two in one call (one alone would leave an invalid MRSC table)
    request: dict[str, Any] = {
        "TableName": table_name,
        "ReplicaUpdates": [{"Delete": {"RegionName": r}} for r in regions],
    }
    if witness is not None:
        request["GlobalTableWitnessUpdates"] = [{"Delete": {"RegionName": witness}}]
    return request
