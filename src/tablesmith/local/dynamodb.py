"""Global-table replicas, and the UpdateTable fields moto ignores, patched into moto in-process.

``install()`` wraps methods of moto's ``DynamoHandler``, ``DynamoDBBackend`` and ``Table``
(moto 5.2.x). What it adds, after the AWS DynamoDB API reference (UpdateTable, DescribeTable,
DeleteTable, ``TableDescription``, ``ReplicaDescription``; global tables version 2019.11.21):

* **ReplicaUpdates** (UpdateTable): ``Create`` makes the table in the replica Region's backend
  of the same account (keys, indexes, billing, stream, encryption, table class, on-demand
  throughput and the items; not tags, not deletion protection, not PITR: AWS copies none of
  them); ``Delete`` removes it. One replica update per request.
* **Replica state**: every member of a global table holds, on its moto ``Table``, one record
  per *other* Region (``_ts_replicas``: Region -> ``_Replica``). A record has a phase and the
  wall-clock time the phase ends, so that status is computed when read (no timer thread) and
  survives the local target saving its state and loading it in another process:

      Create  -> CREATING until now + delay, then ACTIVE
      Delete  -> DELETING until now + delay, then gone (the replica table goes at once)

  The delay is ``TABLESMITH_LOCAL_REPLICA_SECONDS`` (default 2.0), read when the update is
  made; in the realistic mode it is that mode's model (a base plus a time per item). While
  any record is CREATING or DELETING the table is UPDATING; a new replica table is
  CREATING for the same delay (``_ts_creating_until``). DescribeTable lists ``Replicas`` (every
  other Region, as AWS does) and ``GlobalTableVersion``.
* **Replication**: after a write of key K on a member (PutItem, UpdateItem, DeleteItem, and
  BatchWriteItem / TransactWriteItems, which moto runs through the same backend methods), the
  item K (or its absence) is copied to every other member. Copies are written with moto's
  ``Table.put_item`` / ``Table.delete_item``, which are not patched, so a copy never
  replicates again: no recursion guard is needed. A transaction re-syncs its keys once it has
  finished, which also carries moto's rollback of a cancelled transaction to the replicas.
  PartiQL writes re-sync whole tables (moto writes them below the backend methods).
* **Index propagation**: ``GlobalSecondaryIndexUpdates`` (create, delete, update) made on any
  member are made on every other member too, with the same index status and phase as the
  member's (ACTIVE at once by default; CREATING, backfilling, DELETING for a while in the
  realistic mode, ``local/realistic.py``); each member indexes the items it already holds.
* **Realistic mode** (``local/realistic.py``, off by default): CreateTable starts a CREATING
  phase, index changes start index phases (the table is UPDATING meanwhile, and only the
  deletion of a backfilling index gets past that), replica delays follow its model, and
  UpdateTimeToLive is refused within the hour after a change.
* **UpdateTable fields moto ignores**: ``SSESpecification``, ``TableClass`` (also at
  CreateTable), ``OnDemandThroughput`` (also at CreateTable), and enabling a stream again after
  it was disabled (AWS starts a new stream with a new label and ARN; moto refuses because the
  old label remains, and crashes on writes after a disable because it keeps the old shard).

All extension state is plain data in ``_ts_*`` attributes of moto's ``Table`` objects (read with
``getattr(..., default)`` so tables made before ``install()`` work), never in this module, so
that it is saved and restored with moto's backends (``local/snapshot.py`` names each one: a new
``_ts_*`` attribute must be added there). moto is imported inside ``install()`` and
the functions it installs: importing this module does not import moto.
"""

from __future__ import annotations

import copy
import functools
import math
import os
import time
from typing import TYPE_CHECKING, Any, TypedDict

from tablesmith.local import realistic

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

REPLICA_SECONDS_ENV = "TABLESMITH_LOCAL_REPLICA_SECONDS"
DEFAULT_REPLICA_SECONDS = 2.0
GLOBAL_TABLE_VERSION = "2019.11.21"
# AWS refuses DeleteTable on a replica that sourced a new replica in the last 24 hours.
SOURCE_HOLD_SECONDS = 24 * 3600.0
TABLE_CLASSES = ("STANDARD", "STANDARD_INFREQUENT_ACCESS")
REPLICA_STREAM_VIEW = "NEW_AND_OLD_IMAGES"  # global tables replicate through this stream

_INSTALLED = "_ts_dynamodb_installed"  # marker attribute on moto's DynamoDBBackend class

# Messages real DynamoDB returns (seen in the wild), where we know them.
_LOCAL_REGION_MSG = (
    "Cannot add, delete, or update the local region through ReplicaUpdates. "
    "Use CreateTable, DeleteTable, or UpdateTable as required."
)
_EXISTS_MSG = (
    "Failed to create a the new replica of table with name: '{name}' because one or "
    "more replicas already existed as tables."
)
_SOURCE_HOLD_MSG = (
    "Replica cannot be deleted because it has acted as a source region for new "
    "replica(s) being added to the table in the last 24 hours."
)

Moto = Any  # a moto object (Table, DynamoDBBackend, DynamoHandler): typed loosely on purpose


class _Replica(TypedDict):
    """What a member of a global table knows of one other Region (stored on moto's Table)."""

    phase: str  # CREATING | ACTIVE | DELETING
    until: float  # time.time() when the phase ends; CREATING -> ACTIVE, DELETING -> gone
    kms_key: str | None  # KMSMasterKeyId given for that replica, if any


def install() -> None:
    """Patch moto's DynamoDB classes in this process; calling it again does nothing."""
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table
    from moto.dynamodb.responses import DynamoHandler

    if getattr(DynamoDBBackend, _INSTALLED, False):
        return
    _wrap(DynamoHandler, "create_table", _create_table)
    _wrap(DynamoHandler, "update_table", _update_table)
    _wrap(DynamoHandler, "update_time_to_live", _update_time_to_live)
    _wrap(DynamoDBBackend, "delete_table", _delete_table)
    _wrap(DynamoDBBackend, "update_table_streams", _update_table_streams)
    for method in ("put_item", "update_item", "delete_item"):
        _wrap(DynamoDBBackend, method, _syncing_write)
    _wrap(DynamoDBBackend, "transact_write_items", _transact_write_items)
    _wrap(DynamoDBBackend, "execute_statement", _execute_statement)
    _wrap(Table, "describe", _describe)
    _wrap(DynamoDBBackend, "tag_resource", _tag_resource)
    _wrap(DynamoHandler, "list_tags_of_resource", _list_tags_of_resource)
    setattr(DynamoDBBackend, _INSTALLED, True)


def _tag_resource(original: Callable[..., Any]) -> Callable[..., Any]:
    """TagResource sets each key once, as AWS does ("if a tag key already exists, its value is
    overwritten"). moto appends, so a retried TagResource held every key twice, and its
    ListTagsOfResource, which pages by the first index of a key, then never ended."""

    def tag_resource(self: Moto, arn: str, tags: dict[str, str]) -> None:
        for table in self.tables.values():
            if table.table_arn == arn:
                table.tags = [t for t in table.tags if t["Key"] not in tags]
        original(self, arn, tags)

    return tag_resource


def _list_tags_of_resource(original: Callable[..., Any]) -> Callable[..., Any]:
    """ListTagsOfResource answers every tag of the resource in one page, as DynamoDB does for
    the at most 50 a resource holds. moto pages by 10 "to make testing easier", and the
    Terraform provider reads one page only: with 11 tags (the prod example's), its wait for
    a replica's tags never ended. A NextToken from moto's pages is still followed."""

    def list_tags_of_resource(self: Moto) -> Any:
        if self.body.get("NextToken"):
            return original(self)
        from moto.core.responses import ActionResult

        return ActionResult(
            {"Tags": self.dynamodb_backend.list_tags_of_resource(self.body["ResourceArn"])})

    return list_tags_of_resource


def _wrap(cls: type, name: str, make: Callable[[Callable[..., Any]], Callable[..., Any]]) -> None:
    original = getattr(cls, name)
    setattr(cls, name, functools.wraps(original)(make(original)))


# ---------------------------------------------------------------------------- replica state


def _replica_seconds(items: int = 0) -> float:
    """How long a replica stays CREATING or DELETING: the realistic model, else the setting."""
    if realistic.enabled():
        return realistic.scaled(realistic.replica_seconds(items))
    try:
        seconds = float(os.environ.get(REPLICA_SECONDS_ENV, DEFAULT_REPLICA_SECONDS))
    except ValueError:
        return DEFAULT_REPLICA_SECONDS
    return seconds if math.isfinite(seconds) and seconds >= 0 else DEFAULT_REPLICA_SECONDS


def _records(table: Moto) -> dict[str, _Replica]:
    """The table's replica records, attached on first use (tables made before install)."""
    records: dict[str, _Replica] | None = getattr(table, "_ts_replicas", None)
    if records is None:
        records = {}
        table._ts_replicas = records
    return records


def _status(record: _Replica, now: float) -> str | None:
    """CREATING, ACTIVE or DELETING; None once a deleted replica is gone."""
    if now < record["until"]:
        return record["phase"]
    return None if record["phase"] == "DELETING" else "ACTIVE"


def _view(table: Moto, now: float) -> dict[str, str]:
    """Region -> ReplicaStatus of every other Region the table lists."""
    records: dict[str, _Replica] = getattr(table, "_ts_replicas", {})
    view = {region: _status(record, now) for region, record in records.items()}
    return {region: status for region, status in sorted(view.items()) if status is not None}


def _members(table: Moto, now: float) -> list[str]:
    """The other Regions of the table's global table (replicas being deleted are not)."""
    return [region for region, status in _view(table, now).items() if status != "DELETING"]


def _table_status(table: Moto, now: float) -> str | None:
    """CREATING or UPDATING while a replica change is under way, else None (moto's own)."""
    if now < getattr(table, "_ts_creating_until", 0.0):
        return "CREATING"
    if realistic.busy(table, now):  # a GSI being created, updated or deleted
        return "UPDATING"
    if any(status != "ACTIVE" for status in _view(table, now).values()):
        return "UPDATING"
    return None


def _prune(table: Moto, now: float) -> None:
    records = _records(table)
    for region in [r for r, record in records.items() if _status(record, now) is None]:
        del records[region]


def _backend(account_id: str, region: str) -> Moto:
    from moto.dynamodb.models import dynamodb_backends

    return dynamodb_backends[account_id][region]


def _peer(table: Moto, region: str) -> Moto | None:
    """The same table in another Region of the account, if it exists."""
    return _backend(table.account_id, region).tables.get(table.name)


def _arn(table: Moto, region: str) -> str:
    from moto.utilities.utils import get_partition

    return f"arn:{get_partition(region)}:dynamodb:{region}:{table.account_id}:table/{table.name}"


def _replica_descriptions(table: Moto, now: float) -> list[dict[str, Any]]:
    records: dict[str, _Replica] = getattr(table, "_ts_replicas", {})
    replicas = []
    for region, status in _view(table, now).items():
        replica: dict[str, Any] = {
            "RegionName": region,
            "ReplicaStatus": status,
            "ReplicaArn": _arn(table, region),
        }
        if records[region]["kms_key"]:
            replica["KMSMasterKeyId"] = records[region]["kms_key"]
        replicas.append(replica)
    return replicas


# ---------------------------------------------------------------------------- describe


def _describe(original: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    def describe(self: Moto, base_key: str = "TableDescription") -> dict[str, Any]:
        now = time.time()
        realistic.settle(self, now)  # index phases that are over end before moto reads them
        result = original(self, base_key=base_key)
        desc = result[base_key]
        realistic.describe_indexes(self, desc, now)
        status = _table_status(self, now)
        if status:
            desc["TableStatus"] = status
        replicas = _replica_descriptions(self, now)
        if replicas:
            desc["Replicas"] = replicas
            desc["GlobalTableVersion"] = GLOBAL_TABLE_VERSION
        table_class = getattr(self, "_ts_table_class", None)
        if table_class:
            desc["TableClassSummary"] = dict(table_class)
        on_demand = getattr(self, "_ts_on_demand", None)
        if on_demand:
            desc["OnDemandThroughput"] = dict(on_demand)
        return result

    return describe


# ---------------------------------------------------------------------------- create / update


def _check_table_class(value: Any) -> None:
    from moto.dynamodb.exceptions import MockValidationException

    if value is not None and value not in TABLE_CLASSES:
        raise MockValidationException(
            f"1 validation error detected: Value '{value}' at 'tableClass' failed to satisfy "
            f"constraint: Member must satisfy enum value set: [{', '.join(TABLE_CLASSES)}]"
        )


def _set_table_class(table: Moto, value: str | None, *, stamp: bool) -> None:
    if value is None:
        return
    summary: dict[str, Any] = {"TableClass": value}
    if stamp:  # AWS reports when the class last changed
        summary["LastUpdateDateTime"] = time.time()
    table._ts_table_class = summary


def _set_on_demand(table: Moto, value: Mapping[str, Any] | None) -> None:
    """Merge MaxRead/MaxWriteRequestUnits (-1: no cap), as UpdateTable does."""
    if not value:
        return
    merged = dict(getattr(table, "_ts_on_demand", None) or {})
    merged.update(
        {k: v for k, v in value.items() if k in ("MaxReadRequestUnits", "MaxWriteRequestUnits")}
    )
    table._ts_on_demand = merged


def _set_sse(table: Moto, spec: Mapping[str, Any] | None) -> None:
    """SSESpecification: off means AWS-owned key (no SSEDescription); on means KMS."""
    if spec is None:
        return
    enabled = spec.get("Enabled")
    if enabled is None:
        enabled = spec.get("SSEType") == "KMS" or bool(spec.get("KMSMasterKeyId"))
    if not enabled:
        table.sse_specification = {"Enabled": False}
        return
    # no key: the Region's AWS managed key alias/aws/dynamodb, made as moto makes it at create
    key = spec.get("KMSMasterKeyId") or table._get_default_encryption_key(
        table.account_id, table.region_name
    )
    table.sse_specification = {"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": key}


def _create_table(original: Callable[..., Any]) -> Callable[..., Any]:
    def create_table(self: Moto) -> Any:
        from moto.dynamodb.responses import DynamoResult

        body = self.body
        _check_table_class(body.get("TableClass"))
        result = original(self)
        slow = realistic.enabled()
        if body.get("TableClass") is None and not body.get("OnDemandThroughput") and not slow:
            return result
        table = self.dynamodb_backend.get_table(body["TableName"])
        _set_table_class(table, body.get("TableClass"), stamp=False)
        _set_on_demand(table, body.get("OnDemandThroughput"))
        if slow:
            realistic.start_table(table, time.time())
        return DynamoResult(table.describe())

    return create_table


def _update_table(original: Callable[..., Any]) -> Callable[..., Any]:
    def update_table(self: Moto) -> Any:
        from moto.dynamodb.exceptions import ResourceInUseException
        from moto.dynamodb.responses import DynamoResult

        body = self.body
        backend = self.dynamodb_backend
        table = backend.get_table(body["TableName"])
        now = time.time()
        realistic.settle(table, now)
        status = _table_status(table, now)
        if status and not _deletes_backfilling_index(table, body, now):
            # AWS: "While it's UPDATING, you can't issue another UpdateTable request."
            raise ResourceInUseException(
                f"Attempt to change a resource which is still in use: Table is being "
                f"{status.lower()}: {table.name}"
            )
        _prune(table, now)
        replica_update = _check_replica_updates(table, body.get("ReplicaUpdates"), now)
        _check_table_class(body.get("TableClass"))
        before = {gsi.name: gsi for gsi in table.global_indexes}
        original(self)  # what moto handles itself: throughput, GSIs, billing, stream, ...
        _set_sse(table, body.get("SSESpecification"))
        _set_table_class(table, body.get("TableClass"), stamp=True)
        _set_on_demand(table, body.get("OnDemandThroughput"))
        index_updates = body.get("GlobalSecondaryIndexUpdates")
        if index_updates and isinstance(index_updates, list):
            if realistic.enabled():
                realistic.start_index_changes(table, index_updates, before, time.time())
            _propagate_indexes(table, index_updates, time.time())
        if replica_update is not None:
            action, params = replica_update
            if action == "Create":
                _create_replica(table, params, time.time())
            else:
                _delete_replica(table, params["RegionName"], time.time())
        return DynamoResult(table.describe())

    return update_table


def _deletes_backfilling_index(table: Moto, body: Mapping[str, Any], now: float) -> bool:
    """Whether the request only deletes an index that is backfilling (AWS allows that)."""
    updates = body.get("GlobalSecondaryIndexUpdates")
    others = set(body) - {"TableName", "GlobalSecondaryIndexUpdates", "AttributeDefinitions"}
    if others or not isinstance(updates, list) or len(updates) != 1:
        return False
    (update,) = updates
    delete = update.get("Delete") if isinstance(update, dict) and len(update) == 1 else None
    name = delete.get("IndexName") if isinstance(delete, dict) else None
    return isinstance(name, str) and realistic.backfilling(table, name, now)


def _update_time_to_live(original: Callable[..., Any]) -> Callable[..., Any]:
    """Realistic mode: one TTL change an hour, as AWS allows (the handler, not the backend
    method, so that loading the saved state does not count as a change)."""

    def update_time_to_live(self: Moto) -> Any:
        table = _find_table(self.dynamodb_backend, self.body.get("TableName"))
        if table is None:
            return original(self)  # moto's own errors
        now = time.time()
        realistic.check_ttl_change(table, now)
        result = original(self)
        realistic.record_ttl_change(table, now)
        return result

    return update_time_to_live


def _update_table_streams(original: Callable[..., Any]) -> Callable[..., Any]:
    def update_table_streams(self: Moto, table: Moto, spec: dict[str, Any]) -> None:
        from moto.dynamodb.exceptions import MockValidationException

        enabled = spec.get("StreamEnabled")
        enabling = enabled is True or (enabled is None and bool(spec.get("StreamViewType")))
        view = spec.get("StreamViewType")
        if _members(table, time.time()) and not (enabling and view == REPLICA_STREAM_VIEW):
            raise MockValidationException(
                "One or more parameter values were invalid: a table with replicas must keep "
                f"its stream enabled with StreamViewType {REPLICA_STREAM_VIEW}"
            )
        current = table.stream_specification or {}
        if enabling and current.get("StreamEnabled"):
            original(self, table, spec)  # moto's "Cannot enable stream"
            return
        if enabling:
            if not view:
                raise MockValidationException(
                    "One or more parameter values were invalid: StreamViewType must be "
                    "specified when StreamEnabled is true"
                )
            # a new stream, with a new label and ARN, even if an old label remains
            table.set_stream_specification({"StreamEnabled": True, "StreamViewType": view})
            return
        table.set_stream_specification({"StreamEnabled": False})
        table.stream_shard = None  # moto would keep writing records without a view type

    return update_table_streams


def _propagate_indexes(table: Moto, updates: list[dict[str, Any]], now: float) -> None:
    """Copy a GSI change made on one member to every other member, as AWS does.

    A global table's members have the same indexes: AWS applies a GlobalSecondaryIndexUpdates
    made on any replica to all of them. Only the indexes the request names are touched (an
    earlier divergence of another index stays, as it would on AWS). A created or updated
    index is a copy of the member's own moto index, so it has the same status (phase) and
    settings; the items each member already holds are what moto queries an index over, so
    the replicated items are indexed at once.
    """
    own = {gsi.name: gsi for gsi in table.global_indexes}
    for region in _members(table, now):
        peer = _peer(table, region)
        if peer is None:
            continue
        peer.attr = copy.deepcopy(table.attr)  # a new index may define a new key attribute
        indexes = {gsi.name: gsi for gsi in peer.global_indexes}
        for update in updates if isinstance(updates, list) else []:
            for action in ("Delete", "Update", "Create"):  # moto's order within one update
                name = (update.get(action) or {}).get("IndexName")
                if name is None:
                    continue
                if name in own:  # created, updated, or DELETING (realistic mode keeps it listed)
                    indexes[name] = copy.deepcopy(own[name])
                else:
                    indexes.pop(name, None)
                realistic.copy_phases(table, peer, [name])
        peer.global_indexes = list(indexes.values())


# ---------------------------------------------------------------------------- replica updates


def _check_replica_updates(
    table: Moto, updates: Any, now: float
) -> tuple[str, dict[str, Any]] | None:
    """Validate ReplicaUpdates as AWS does; the one action to run, if any."""
    from moto.dynamodb.exceptions import DeletionProtectedException, MockValidationException

    if not updates:
        return None
    if len(updates) > 1:
        raise MockValidationException(
            "One or more parameter values were invalid: only one replica can be created or "
            "deleted per UpdateTable request"
        )
    (update,) = updates
    actions = [name for name in ("Create", "Update", "Delete", "Disassociate") if update.get(name)]
    if len(actions) != 1:
        raise MockValidationException(
            "One or more parameter values were invalid: a ReplicationGroupUpdate must contain "
            "exactly one action"
        )
    action = actions[0]
    if action not in ("Create", "Delete"):
        # never drop a change on the floor: say what is not emulated
        raise MockValidationException(
            f"ReplicaUpdates {action} is not supported by the tablesmith local target"
        )
    params: dict[str, Any] = update[action]
    region = params.get("RegionName", "")
    if region == table.region_name:
        raise MockValidationException(_LOCAL_REGION_MSG)
    _check_region(table, region)
    view = _view(table, now)
    if action == "Create":
        if region in view or _peer(table, region) is not None:
            raise MockValidationException(_EXISTS_MSG.format(name=table.name))
        _check_replica_stream(table)
        _check_replica_key(table, params)
        return action, params
    if view.get(region) not in ("CREATING", "ACTIVE"):
        raise MockValidationException(
            f"One or more parameter values were invalid: the table '{table.name}' has no "
            f"replica in {region}"
        )
    peer = _peer(table, region)
    if peer is not None and peer.deletion_protection_enabled:
        raise DeletionProtectedException(table.name)  # AWS refuses: lift the replica's first
    return action, params


def _check_region(table: Moto, region: str) -> None:
    from moto.dynamodb.exceptions import MockValidationException
    from moto.dynamodb.models import dynamodb_backends

    if not region or region not in dynamodb_backends[table.account_id]:
        raise MockValidationException(
            f"One or more parameter values were invalid: invalid Region '{region}'"
        )


def _check_replica_stream(table: Moto) -> None:
    from moto.dynamodb.exceptions import MockValidationException

    spec = table.stream_specification or {}
    if spec.get("StreamEnabled") and spec.get("StreamViewType") != REPLICA_STREAM_VIEW:
        raise MockValidationException(
            "One or more parameter values were invalid: replicas need the table's stream to "
            f"have StreamViewType {REPLICA_STREAM_VIEW}, not {spec.get('StreamViewType')}"
        )


def _sse_key(table: Moto) -> str | None:
    """The KMS key of a table encrypted with KMS, else None (AWS owned key)."""
    sse = table.sse_specification or {}
    return sse.get("KMSMasterKeyId") if sse.get("Enabled") is True else None


def _is_default_key(table: Moto, key: str) -> bool:
    """Whether ``key`` is the Region's AWS managed key (looked up without creating it)."""
    from moto.kms.models import kms_backends

    kms = kms_backends[table.account_id][table.region_name]
    alias = "alias/aws/dynamodb"
    return bool(kms.alias_exists(alias) and key in (alias, kms.describe_key(alias).arn))


def _check_replica_key(table: Moto, params: Mapping[str, Any]) -> None:
    from moto.dynamodb.exceptions import MockValidationException

    key = _sse_key(table)
    if key and not params.get("KMSMasterKeyId") and not _is_default_key(table, key):
        # customer managed keys are regional: the replica needs its own
        raise MockValidationException(
            "One or more parameter values were invalid: KMSMasterKeyId must be specified for "
            f"the replica in {params.get('RegionName')} because the table is encrypted with a "
            "customer managed key"
        )


def _create_replica(table: Moto, params: Mapping[str, Any], now: float) -> None:
    region: str = params["RegionName"]
    until = now + _replica_seconds(len(table))
    spec = table.stream_specification or {}
    if not spec.get("StreamEnabled"):  # AWS turns the stream on for a global table
        table.set_stream_specification(
            {"StreamEnabled": True, "StreamViewType": REPLICA_STREAM_VIEW}
        )
    replica = _make_replica_table(table, region, params.get("KMSMasterKeyId"))
    replica._ts_creating_until = until
    members = _members(table, now)
    kms_key: str | None = params.get("KMSMasterKeyId")
    peers = [_peer(table, member) for member in members]
    for other in [table] + [p for p in peers if p is not None]:
        _records(other)[region] = _Replica(phase="CREATING", until=until, kms_key=kms_key)
    own = _records(table)
    replica_records = _records(replica)
    replica_records[table.region_name] = _Replica(phase="ACTIVE", until=0.0, kms_key=None)
    for member in members:
        replica_records[member] = _Replica(
            phase="ACTIVE", until=0.0, kms_key=own[member]["kms_key"]
        )
    table._ts_sourced_at = now
    for item in table.all_items():
        replica.put_item(copy.deepcopy(item.to_json()["Attributes"]), overwrite=True)


def _make_replica_table(table: Moto, region: str, kms_key: str | None) -> Moto:
    """The replica: the source's shape, stream and encryption; no tags, no protection."""
    provisioned = (table.billing_mode or "PROVISIONED") == "PROVISIONED"

    def capacity(throughput: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "ReadCapacityUnits": throughput["ReadCapacityUnits"],
            "WriteCapacityUnits": throughput["WriteCapacityUnits"],
        }

    gsis = []
    for gsi in table.global_indexes:
        request: dict[str, Any] = {
            "IndexName": gsi.name,
            "KeySchema": copy.deepcopy(gsi.schema),
            "Projection": copy.deepcopy(gsi.projection),
        }
        if provisioned:
            request["ProvisionedThroughput"] = capacity(gsi.throughput)
        gsis.append(request)
    lsis = [
        {
            "IndexName": lsi.name,
            "KeySchema": copy.deepcopy(lsi.schema),
            "Projection": copy.deepcopy(lsi.projection),
        }
        for lsi in table.indexes
    ]
    replica = _backend(table.account_id, region).create_table(
        table.name,
        schema=copy.deepcopy(table.schema),
        throughput=capacity(table.throughput) if provisioned else None,
        attr=copy.deepcopy(table.attr),
        global_indexes=gsis,
        indexes=lsis,
        streams={"StreamEnabled": True, "StreamViewType": REPLICA_STREAM_VIEW},
        billing_mode=table.billing_mode or "PROVISIONED",
        sse_specification=None,
        tags=[],
        deletion_protection_enabled=False,
        warm_throughput=None,
    )
    source_key = _sse_key(table)
    if kms_key:
        _set_sse(replica, {"Enabled": True, "KMSMasterKeyId": kms_key})
    elif source_key:  # AWS managed key: the replica Region's own alias/aws/dynamodb
        _set_sse(replica, {"Enabled": True})
    table_class = getattr(table, "_ts_table_class", None)
    if table_class:
        _set_table_class(replica, table_class["TableClass"], stamp=False)
    _set_on_demand(replica, getattr(table, "_ts_on_demand", None))
    return replica


def _delete_replica(table: Moto, region: str, now: float) -> None:
    """Remove the replica table at once; every other member shows it DELETING for a while."""
    until = now + _replica_seconds()
    members = _members(table, now)
    peer = _peer(table, region)
    if peer is not None:
        _backend(table.account_id, region).tables.pop(table.name, None)
    peers = [_peer(table, member) for member in members if member != region]
    for other in [table] + [p for p in peers if p is not None]:
        records = _records(other)
        kms_key = records[region]["kms_key"] if region in records else None
        records[region] = _Replica(phase="DELETING", until=until, kms_key=kms_key)


def _delete_table(original: Callable[..., Any]) -> Callable[..., Any]:
    def delete_table(self: Moto, name: str) -> Any:
        from moto.dynamodb.exceptions import MockValidationException, ResourceInUseException

        table = self.get_table(name)
        now = time.time()
        status = _table_status(table, now)
        if status:
            # AWS: DeleteTable of a table CREATING or UPDATING is a ResourceInUseException
            raise ResourceInUseException(
                f"Attempt to change a resource which is still in use: Table is being "
                f"{status.lower()}: {table.name}"
            )
        members = _members(table, now)
        if members and now - getattr(table, "_ts_sourced_at", -math.inf) < SOURCE_HOLD_SECONDS:
            raise MockValidationException(_SOURCE_HOLD_MSG)
        result = original(self, name)  # moto checks deletion protection
        # deleting a replica table (version 2019.11.21) removes its Region from the others
        until = now + _replica_seconds()
        for member in members:
            peer = _peer(table, member)
            if peer is not None:
                _records(peer)[table.region_name] = _Replica(
                    phase="DELETING", until=until, kms_key=None
                )
        return result

    return delete_table


# ---------------------------------------------------------------------------- replication


def _key_of(table: Moto, attrs: Any) -> dict[str, Any] | None:
    """The primary key part of an item or key, or None if it does not have one."""
    names = [table.hash_key_attr] + ([table.range_key_attr] if table.range_key_attr else [])
    if not isinstance(attrs, dict) or any(name not in attrs for name in names):
        return None
    return {name: attrs[name] for name in names}


def _find_table(backend: Moto, name: Any) -> Moto | None:
    from moto.dynamodb.exceptions import ResourceNotFoundException

    if not isinstance(name, str):
        return None
    try:
        return backend.get_table(name)
    except ResourceNotFoundException:
        return None


def _sync_key(backend: Moto, table_name: Any, attrs: Any) -> None:
    """Copy the item with the key in ``attrs`` (or its absence) to the other members."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    table = _find_table(backend, table_name)
    if table is None:
        return
    members = _members(table, time.time())
    key = _key_of(table, attrs)
    if not members or key is None:
        return
    hash_key = DynamoType(key[table.hash_key_attr])
    range_key = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
    item = table.get_item(hash_key, range_key)
    for region in members:
        peer = _peer(table, region)
        if peer is None:
            continue
        if item is None:
            peer.delete_item(hash_key, range_key)
        else:
            peer.put_item(copy.deepcopy(item.to_json()["Attributes"]), overwrite=True)


def _sync_all(table: Moto) -> None:
    """Make every other member's items equal to the table's (writes moto makes below us)."""
    for region in _members(table, time.time()):
        peer = _peer(table, region)
        if peer is not None:
            peer.items = copy.deepcopy(table.items)


# Each write re-syncs its key whether or not it succeeded: a failed write changed nothing (or
# left what moto left, which the replicas then match), and the sync copies the current state.


def _syncing_write(original: Callable[..., Any]) -> Callable[..., Any]:
    """put_item / update_item / delete_item: the write, then its key synced to the replicas.

    All three take the table name and then the item (put) or its key (update, delete); both
    hold the key attributes, which is all the sync needs.
    """

    def write(
        self: Moto, table_name: str, item_or_key: dict[str, Any], *args: Any, **kwargs: Any
    ) -> Any:
        try:
            return original(self, table_name, item_or_key, *args, **kwargs)
        finally:
            _sync_key(self, table_name, item_or_key)

    return write


def _transact_write_items(original: Callable[..., Any]) -> Callable[..., Any]:
    def transact_write_items(self: Moto, transact_items: list[dict[str, Any]]) -> Any:
        try:
            return original(self, transact_items)
        finally:
            # the inner writes replicated as they went; a cancelled transaction is rolled back
            # by moto on the source only, so re-sync every key it named
            for entry in transact_items if isinstance(transact_items, list) else []:
                for kind, op in entry.items() if isinstance(entry, dict) else []:
                    if isinstance(op, dict) and kind in ("Put", "Update", "Delete"):
                        _sync_key(
                            self,
                            op.get("TableName"),
                            op.get("Item") if kind == "Put" else op.get("Key"),
                        )

    return transact_write_items


def _execute_statement(original: Callable[..., Any]) -> Callable[..., Any]:
    def execute_statement(self: Moto, *args: Any, **kwargs: Any) -> Any:
        try:
            return original(self, *args, **kwargs)
        finally:
            for table in list(self.tables.values()):
                _sync_all(table)

    return execute_statement
