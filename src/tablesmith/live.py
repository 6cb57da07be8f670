"""Read what AWS holds into the spec's model (``state.LiveTable`` around a ``Table``).

Per table: DescribeTable, DescribeContinuousBackups and DescribeTimeToLive (3 calls: no bulk
form exists); per replica region the replica's own DescribeTable and
DescribeContinuousBackups, because AWS does not propagate deletion protection, PITR or tags
to replicas (the replica's DescribeTable also gives its GSIs, which AWS does propagate, but
not at once). A KMS DescribeKey tells an AWS-managed key from a customer's, cached per key
(one call per region in practice). An absent table costs one call. Tables are read
concurrently on a bounded pool, sharing thread-safe botocore clients.

Tags come in bulk (:class:`BulkTags`): one Resource Groups Tagging ``GetResources`` per
region, filtered on the environment's ownership tag, gives the tags of its tables, backup
vaults and backup plans (100 a page) and the candidates for orphans. That API is eventually
consistent and lists only resources that carry (or carried) a tag, so its answer is trusted
only where it equals what the spec wants: a resource it omits, or shows with other tags, is
read again with its own API (ListTagsOfResource, AWS Backup ListTags). A no-change plan so
reads no tags per table, a real difference is always confirmed by the authoritative read, and
a table without tags (absent from the answer) still reads as no tags. An endpoint without the
tagging API (or credentials that may not call it) falls back to the per-resource reads.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from tablesmith.aws import ACCESS_DENIED, aws_context, error_code
from tablesmith.errors import AwsError
from tablesmith.spec.model import (
    OWNERSHIP_TAG,
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
from tablesmith.state import IndexState, LiveState, LiveTable, ReplicaState
from tablesmith.tags import BulkTags

if TYPE_CHECKING:
    from collections.abc import Sequence

    from tablesmith.aws import Clients

MAX_READERS = 16
_GONE = ("ResourceNotFoundException", "TableNotFoundException")
def endpoint_gaps(clients: Clients, region: str) -> tuple[str, ...]:
    """Which features a custom endpoint lacks: "tags", "pitr", and each resource family it
    does not serve (by the family's name). One probe call each, cached per region.

    Only asked of custom endpoints (emulators); real AWS implements everything. A probe on a
    table that does not exist tells "unknown operation" from "no such table".
    """
    if not clients.custom_endpoint:
        return ()
    cached = clients.gaps.get(region)
    if cached is not None:
        return cached
    from botocore.exceptions import BotoCoreError, ClientError

    from tablesmith.around.registry import FAMILIES

    ddb = clients.dynamodb(region)
    account_arn = f"arn:aws:dynamodb:{region}:000000000000:table/tablesmith-probe"
    gaps = []
    probes: tuple[tuple[str, str, dict[str, Any]], ...] = (
        ("tags", "list_tags_of_resource", {"ResourceArn": account_arn}),
        ("pitr", "describe_continuous_backups", {"TableName": "tablesmith-probe"}),
    )
    for feature, method, kwargs in probes:
        try:
            getattr(ddb, method)(**kwargs)
        except ClientError as exc:
            if error_code(exc) == "UnknownOperationException":
                gaps.append(feature)
        except BotoCoreError:
            gaps.append(feature)
    gaps += [family.name for family in FAMILIES if family.lacks(clients, region)]
    clients.gaps[region] = tuple(gaps)
    return tuple(gaps)


def read_live(clients: Clients, desired: Sequence[Table], *, region: str,
              prune_environment: str | None = None,
              known: Sequence[str] = (), destroy: bool = False,
              prune: bool = False) -> LiveState:
    """Read every desired table (and the orphans ``prune_environment`` owns) concurrently.

    ``prune_environment``: look for tables that carry its ownership tag but that the spec no
    longer names; every plan does, to show them (only ``--prune`` deletes them). Without
    ``prune``, credentials that may not search tags cost a notice, not the plan.
    ``known`` names every table of the spec's environment: never an orphan.
    """
    gaps = endpoint_gaps(clients, region)
    names = {t.table_name: t for t in desired}
    orphans: list[str] = []
    notes: tuple[str, ...] = ()
    environment = prune_environment or next((t.environment for t in desired), None)
    bulk = BulkTags(clients, None if "tags" in gaps else environment)
    if prune_environment is not None and "tags" not in gaps:
        try:
            orphans = find_orphans(clients, region, set(names) | set(known),
                                   prune_environment, bulk=bulk)
        except AwsError as exc:
            if prune or exc.code not in ACCESS_DENIED:
                raise
            notes = (f"could not look for tables this environment owns outside the spec "
                     f"({exc.code} on {exc.context}); grant tag:GetResources to see them",)
    jobs: list[tuple[str, Table | None]] = [(n, t) for n, t in names.items()]
    jobs += [(n, None) for n in orphans]
    if not jobs:
        return LiveState(region=region, tables={}, unsupported=gaps, notes=notes)
    with ThreadPoolExecutor(max_workers=min(MAX_READERS, len(jobs))) as pool:
        results = list(pool.map(
            lambda job: read_table(clients, job[0], region, job[1], gaps=gaps, bulk=bulk),
            jobs))
    tables = {name: live for (name, _), live in zip(jobs, results, strict=True)}
    # the resources around each table: families of their own (tablesmith.around); orphans
    # (for --prune) bring theirs too, to remove them with the table
    from tablesmith.around.contract import ReadContext
    from tablesmith.around.registry import FAMILIES

    around = list(desired) + [live.table for name in orphans
                              if (live := tables.get(name)) is not None]
    context = ReadContext(live_tables=tables, destroy=destroy, bulk=bulk)
    states = {family.name: family.read(clients, around, context)
              for family in FAMILIES if family.name not in gaps}
    return LiveState(region=region, tables=tables, orphans=tuple(sorted(orphans)),
                     unsupported=gaps, around=states, notes=notes)


def find_orphans(clients: Clients, region: str, known: set[str], environment: str,
                 bulk: BulkTags | None = None) -> list[str]:
    """Tables in the region that the spec does not name but that carry our ownership tag.

    One Resource Groups Tagging ``GetResources`` filtered on the tag finds the candidates,
    whatever the number of tables in the account (the same answer ``bulk`` keeps for the
    tags of the spec's tables). That API is eventually consistent, and a table whose tag was
    just removed must never be taken for ours: each candidate's tags are read again from
    DynamoDB itself (``ListTagsOfResource``, usually for no table at all). Endpoints without
    the tagging API fall back to listing every table.
    """
    ddb = clients.dynamodb(region)
    bulk = bulk if bulk is not None and bulk.environment == environment \
        else BulkTags(clients, environment)
    index = bulk.region(region)
    if index is not None:
        candidates = [arn for arn in index
                      if ":table/" in arn and "/index/" not in arn and _name(arn) not in known]
    elif not clients.custom_endpoint:
        raise bulk.errors[region]  # real AWS: a missing tag:GetResources is the user's to fix
    else:
        candidates = _all_table_arns(ddb, region, known)
    found = []
    with aws_context(f"reading the tags of tables in {region}"):
        for arn in candidates:
            if _tags(ddb, arn).get(OWNERSHIP_TAG) == environment:
                found.append(_name(arn))
    return sorted(found)


def _name(arn: str) -> str:
    return arn.split(":table/", 1)[-1]


def _all_table_arns(ddb: Any, region: str, known: set[str]) -> list[str]:
    arns = []
    with aws_context(f"listing tables in {region}"):
        for page in ddb.get_paginator("list_tables").paginate():
            for name in page.get("TableNames", []):
                if name not in known:
                    arns.append(str(ddb.describe_table(TableName=name)["Table"]["TableArn"]))
    return arns


def _tags(ddb: Any, arn: str) -> dict[str, str]:
    tags: dict[str, str] = {}
    kwargs: dict[str, str] = {"ResourceArn": arn}
    while True:
        page = ddb.list_tags_of_resource(**kwargs)
        tags.update({t["Key"]: t["Value"] for t in page.get("Tags", [])})
        token = page.get("NextToken")
        if not token:
            return tags
        kwargs["NextToken"] = token


def describe_table(clients: Clients, name: str, region: str) -> dict[str, Any] | None:
    """DescribeTable's answer, or None for a table that is absent or being deleted (on its
    way out: for planning and auditing it is gone)."""
    from botocore.exceptions import ClientError

    with aws_context(f"describing table '{name}' in {region}"):
        try:
            desc: dict[str, Any] = clients.dynamodb(region).describe_table(
                TableName=name)["Table"]
        except ClientError as exc:
            if error_code(exc) in _GONE:
                return None
            raise
    return None if desc.get("TableStatus") == "DELETING" else desc


def read_table(clients: Clients, name: str, region: str, desired: Table | None,
               gaps: tuple[str, ...] = (), bulk: BulkTags | None = None) -> LiveTable | None:
    """One table's live state, or None when it does not exist (tags from ``bulk`` where it
    agrees with the spec: see :class:`BulkTags`)."""
    ddb = clients.dynamodb(region)
    desc = describe_table(clients, name, region)
    if desc is None:
        return None
    with aws_context(f"reading settings of table '{name}' in {region}"):
        # what the endpoint cannot hold reads as the spec wants it: the plan reports the gap
        pitr = desired.point_in_time_recovery if desired and "pitr" in gaps else _pitr(ddb, name)
        ttl_desc = ddb.describe_time_to_live(TableName=name).get("TimeToLiveDescription", {})
        if desired and "tags" in gaps:
            tags = dict(desired.tags)
        elif bulk is not None and desired is not None:
            tags = bulk.lookup(region, desc["TableArn"], desired.tags,
                               lambda: _tags(ddb, desc["TableArn"]))
        else:
            tags = _tags(ddb, desc["TableArn"])
    replicas = tuple(
        _replica(clients, name, r, desired, bulk)
        for r in sorted(desc.get("Replicas", []), key=lambda r: r["RegionName"])
        if r.get("ReplicaStatus") != "DELETING"
    )
    table = _table(clients, desc, region, desired, pitr, ttl_desc, tags)
    # PITR is the replica's own (AWS copies none): where it differs from the table's, it is
    # the replica's override, as the spec's ``replicas: [{region, point_in_time_recovery}]``
    overrides = {r.region: r.point_in_time_recovery for r in replicas
                 if r.point_in_time_recovery is not None
                 and r.point_in_time_recovery != table.point_in_time_recovery}
    if overrides:
        table = table.model_copy(update={"replica_point_in_time_recovery": overrides})
    return LiveTable(
        table=table,
        arn=desc["TableArn"],
        table_id=desc.get("TableId"),
        status=desc.get("TableStatus", "ACTIVE"),
        item_count=int(desc.get("ItemCount", 0)),
        stream_arn=desc.get("LatestStreamArn"),
        stream_label=desc.get("LatestStreamLabel"),
        indexes={
            g["IndexName"]: IndexState(status=g.get("IndexStatus", "ACTIVE"),
                                       backfilling=bool(g.get("Backfilling", False)),
                                       arn=g.get("IndexArn"))
            for g in desc.get("GlobalSecondaryIndexes", [])
        },
        replica_states=replicas,
        ttl_status=ttl_desc.get("TimeToLiveStatus", "DISABLED"),
    )


def _pitr(ddb: Any, name: str) -> PointInTimeRecovery:
    from botocore.exceptions import ClientError

    try:
        desc = ddb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
    except ClientError as exc:
        if error_code(exc) in _GONE:  # a table still CREATING may not answer yet
            return PointInTimeRecovery(enabled=False, recovery_period_days=35)
        raise
    pitr = desc.get("PointInTimeRecoveryDescription", {})
    return PointInTimeRecovery(
        enabled=pitr.get("PointInTimeRecoveryStatus") in ("ENABLED", "ENABLING"),
        recovery_period_days=int(pitr.get("RecoveryPeriodInDays", 35)),  # AWS default: 35
    )


def _replica(clients: Clients, name: str, summary: dict[str, Any],
             desired: Table | None, bulk: BulkTags | None = None) -> ReplicaState:
    region = summary["RegionName"]
    status = summary.get("ReplicaStatus", "ACTIVE")
    if status == "CREATING":
        return ReplicaState(region=region, status=status)
    ddb = clients.dynamodb(region)
    from botocore.exceptions import ClientError

    with aws_context(f"reading replica of '{name}' in {region}"):
        try:
            desc = ddb.describe_table(TableName=name)["Table"]
        except ClientError as exc:
            if error_code(exc) in _GONE:
                return ReplicaState(region=region, status="CREATING")
            raise
        return ReplicaState(
            region=region,
            status=status,
            arn=desc["TableArn"],
            deletion_protection=bool(desc.get("DeletionProtectionEnabled", False)),
            point_in_time_recovery=_pitr(ddb, name),
            tags={k: v for k, v in _replica_tags(ddb, desc["TableArn"], region, desired,
                                                  bulk).items()
                  if not k.startswith("aws:")},
            # AWS propagates GSIs to replicas; diff.py reports a replica that lags or differs
            global_secondary_indexes=_gsis(desc),
            indexes_in_progress=tuple(sorted(
                g["IndexName"] for g in desc.get("GlobalSecondaryIndexes", [])
                if g.get("IndexStatus", "ACTIVE") in ("CREATING", "UPDATING"))),
        )


def _replica_tags(ddb: Any, arn: str, region: str, desired: Table | None,
                  bulk: BulkTags | None) -> dict[str, str]:
    # AWS does not propagate tags to replicas: a replica is expected to carry the table's
    if bulk is None or desired is None:
        return _tags(ddb, arn)
    return bulk.lookup(region, arn, desired.tags, lambda: _tags(ddb, arn))


def _gsis(desc: dict[str, Any]) -> tuple[GlobalSecondaryIndex, ...]:
    """The GSIs of a DescribeTable answer, by name (one being deleted counts as gone)."""
    types = {a["AttributeName"]: a["AttributeType"] for a in desc["AttributeDefinitions"]}

    def keys(schema: list[dict[str, str]], kind: str) -> list[Key]:
        # a multi-attribute key is several elements of one KeyType, in key order
        return [Key(name=k["AttributeName"], type=types[k["AttributeName"]])
                for k in schema if k["KeyType"] == kind]

    gsis = []
    for g in desc.get("GlobalSecondaryIndexes", []):
        if g.get("IndexStatus") == "DELETING":
            continue
        hash_keys, range_keys = keys(g["KeySchema"], "HASH"), keys(g["KeySchema"], "RANGE")
        assert hash_keys  # a GSI always has a partition key
        gsis.append(GlobalSecondaryIndex(
            name=g["IndexName"], hash_key=hash_keys[0], more_hash_keys=tuple(hash_keys[1:]),
            range_key=range_keys[0] if range_keys else None, more_range_keys=tuple(range_keys[1:]),
            projection_type=g["Projection"]["ProjectionType"],
            non_key_attributes=tuple(sorted(g["Projection"].get("NonKeyAttributes", [])))))
    return tuple(sorted(gsis, key=lambda g: g.name))


def _table(clients: Clients, desc: dict[str, Any], region: str, desired: Table | None,
           pitr: PointInTimeRecovery, ttl_desc: dict[str, Any],
           tags: dict[str, str]) -> Table:
    types = {a["AttributeName"]: a["AttributeType"] for a in desc["AttributeDefinitions"]}

    def keys(schema: list[dict[str, str]]) -> tuple[Key, Key | None]:
        hash_ = next(k["AttributeName"] for k in schema if k["KeyType"] == "HASH")
        range_ = next((k["AttributeName"] for k in schema if k["KeyType"] == "RANGE"), None)
        return (Key(name=hash_, type=types[hash_]),
                Key(name=range_, type=types[range_]) if range_ else None)

    partition, sort = keys(desc["KeySchema"])
    gsis = _warm_gsis(desc, list(_gsis(desc)), desired)
    lsis = []
    for i in desc.get("LocalSecondaryIndexes", []):
        _, r = keys(i["KeySchema"])
        assert r is not None  # an LSI always has a sort key
        lsis.append(LocalSecondaryIndex(
            name=i["IndexName"], range_key=r, projection_type=i["Projection"]["ProjectionType"],
            non_key_attributes=tuple(sorted(i["Projection"].get("NonKeyAttributes", [])))))
    stream_spec = desc.get("StreamSpecification", {})
    stream_on = bool(stream_spec.get("StreamEnabled", False))
    ttl_on = ttl_desc.get("TimeToLiveStatus") in ("ENABLED", "ENABLING")
    return Table(
        name=desired.name if desired else desc["TableName"],
        table_name=desc["TableName"],
        environment=desired.environment if desired else tags.get(OWNERSHIP_TAG, ""),
        region=region,
        partition_key=partition,
        sort_key=sort,
        # derived from the keys, as the spec derives them (emulators may keep stale ones)
        attribute_definitions=_definitions(partition, sort, gsis, lsis),
        global_secondary_indexes=tuple(sorted(gsis, key=lambda g: g.name)),
        local_secondary_indexes=tuple(sorted(lsis, key=lambda i: i.name)),
        billing_mode=desc.get("BillingModeSummary", {}).get("BillingMode", "PROVISIONED"),
        on_demand_throughput=_throughput(desc.get("OnDemandThroughput")),
        point_in_time_recovery=pitr,
        # when off, the attribute name and view type mean nothing: keep the spec's so that
        # "off" compares equal to "off"
        ttl=TimeToLive(enabled=ttl_on, attribute_name=ttl_desc.get(
            "AttributeName", desired.ttl.attribute_name if desired else "expiryTime")),
        stream=Stream(enabled=stream_on, view_type=stream_spec.get(
            "StreamViewType", desired.stream.view_type if desired else "NEW_AND_OLD_IMAGES")),
        encryption=_encryption(clients, desc.get("SSEDescription"), region, desired,
                               tuple(r["RegionName"] for r in desc.get("Replicas", []))),
        deletion_protection=bool(desc.get("DeletionProtectionEnabled", False)),
        table_class=desc.get("TableClassSummary", {}).get("TableClass", "STANDARD"),
        replicas=tuple(sorted(r["RegionName"] for r in desc.get("Replicas", [])
                              if r.get("ReplicaStatus") != "DELETING")),
        # MRSC: DescribeTable says STRONG; MREC global tables say EVENTUAL, others nothing
        consistency="strong" if desc.get("MultiRegionConsistency") == "STRONG" else "eventual",
        witness_region=next((w["RegionName"] for w in desc.get("GlobalTableWitnesses", [])
                             if w.get("WitnessStatus") != "DELETING"), None),
        # read where the spec manages it (absent: not managed, so not compared)
        warm_throughput=_warm(desc.get("WarmThroughput"))
        if desired is not None and desired.warm_throughput is not None else None,
        tags={k: v for k, v in sorted(tags.items()) if not k.startswith("aws:")},
    )


def _warm(raw: dict[str, Any] | None) -> WarmThroughput | None:
    """DescribeTable's WarmThroughput (the table's or an index's); None if not reported."""
    if not raw or raw.get("ReadUnitsPerSecond") is None or raw.get("WriteUnitsPerSecond") is None:
        return None
    return WarmThroughput(read_units_per_second=int(raw["ReadUnitsPerSecond"]),
                          write_units_per_second=int(raw["WriteUnitsPerSecond"]))


def _warm_gsis(desc: dict[str, Any], gsis: list[GlobalSecondaryIndex],
               desired: Table | None) -> list[GlobalSecondaryIndex]:
    """The table's GSIs with the warm throughput of those whose spec manages it."""
    if desired is None:
        return gsis
    raw = {g["IndexName"]: g.get("WarmThroughput") for g in desc.get("GlobalSecondaryIndexes", [])}
    out = []
    for g in gsis:
        wanted = desired.gsi(g.name)
        if wanted is not None and wanted.warm_throughput is not None:
            g = g.model_copy(update={"warm_throughput": _warm(raw.get(g.name))})
        out.append(g)
    return out


def _definitions(partition: Key, sort: Key | None, gsis: list[GlobalSecondaryIndex],
                 lsis: list[LocalSecondaryIndex]) -> tuple[Key, ...]:
    keys = {partition.name: partition}
    if sort:
        keys[sort.name] = sort
    for g in gsis:
        for k in (*g.hash_keys(), *g.range_keys()):
            keys[k.name] = k
    for i in lsis:
        keys[i.range_key.name] = i.range_key
    return tuple(sorted(keys.values(), key=lambda k: k.name))


def _throughput(raw: dict[str, int] | None) -> OnDemandThroughput | None:
    if not raw:
        return None
    read = raw.get("MaxReadRequestUnits", -1)
    write = raw.get("MaxWriteRequestUnits", -1)
    if read in (-1, 0) and write in (-1, 0):
        return None  # -1: no cap
    return OnDemandThroughput(max_read_request_units=None if read in (-1, 0) else read,
                              max_write_request_units=None if write in (-1, 0) else write)


def _encryption(clients: Clients, sse: dict[str, Any] | None, region: str,
                desired: Table | None, replica_regions: tuple[str, ...]) -> Encryption:
    if not sse or sse.get("Status") not in ("ENABLED", "ENABLING", "UPDATING"):
        return Encryption(type="AWS_OWNED")
    arn = sse.get("KMSMasterKeyArn")
    if not arn:
        return Encryption(type="AWS_MANAGED")
    wanted = desired.encryption if desired else None
    if wanted is not None and wanted.type == "CUSTOMER_MANAGED" and wanted.kms_key_arn == arn:
        # replica keys are set when a replica is made; they count for the replicas there are
        return wanted.model_copy(update={"replica_kms_key_arns": {
            region: key for region, key in wanted.replica_kms_key_arns.items()
            if region in replica_regions}})
    if clients.key_manager(arn, region) == "AWS":
        return Encryption(type="AWS_MANAGED")
    return Encryption(type="CUSTOMER_MANAGED", kms_key_arn=arn)
