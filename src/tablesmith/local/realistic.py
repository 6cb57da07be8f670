"""The local target's realistic mode: AWS's slow phases, on a clock tests can speed up.

Off by default (the local target is instant, as moto is). On with ``tablesmith local serve
--realistic`` or, for any ``--local`` command, ``TABLESMITH_LOCAL_REALISTIC=1``;
``TABLESMITH_LOCAL_TIME_SCALE`` (``--time-scale``, default 1.0) multiplies every duration, so
``0.01`` turns AWS's hour into 36 s and a test sees each phase in milliseconds. Both are read
at each request, in the process that serves the state (``docs/local-realistic.md``).

What it models, after the DynamoDB API reference (``GlobalSecondaryIndexDescription``,
``UpdateTable``, ``UpdateTimeToLive``, ``ReplicaDescription``) and the developer guide's
"Managing global secondary indexes". The durations are orders of magnitude seen on AWS, not
published figures; what matters for rehearsal is the phases and that they take time:

* **CreateTable**: the table is CREATING for :data:`TABLE_CREATE_SECONDS`, its indexes
  CREATING with it (no ``Backfilling`` attribute: AWS omits it for indexes made with the
  table).
* **A GSI created by UpdateTable**: CREATING with ``Backfilling: false`` while resources are
  allocated (:data:`INDEX_ALLOCATION_SECONDS`), then CREATING with ``Backfilling: true`` for
  a time proportional to the table's items (:func:`backfill_seconds`), its ``ItemCount``
  growing, then ACTIVE. The table is UPDATING meanwhile, so another UpdateTable is refused
  (ResourceInUseException), except deleting that index while it backfills, which AWS allows.
* **A GSI deleted**: DELETING for :data:`INDEX_DELETE_SECONDS` (listed, table UPDATING), then
  gone. **A GSI updated** (throughput): UPDATING for :data:`INDEX_UPDATE_SECONDS`. AWS has
  no in-place re-projection: a new projection is a delete and a create.
* **Replicas**: CREATING for :func:`replica_seconds` (a base plus a time per item) instead of
  ``TABLESMITH_LOCAL_REPLICA_SECONDS``.
* **TTL**: a second UpdateTimeToLive within :data:`TTL_COOLDOWN_SECONDS` of a change is the
  ValidationException AWS gives (:data:`TTL_COOLDOWN_MESSAGE`).

In every mode (no timing involved): DescribeTable gives each GSI its ``ItemCount`` and
``IndexSizeBytes`` and the table its ``TableSizeBytes`` (AWS always lists them; moto gives 0
or nothing). Sizes follow the developer guide's item size rules (:func:`item_size`), which do
not depend on how a number is written, so a saved and reloaded state has the same sizes.

State is plain data on moto's ``Table`` (``_ts_index_phases``: index name -> :class:`IndexPhase`;
``_ts_ttl_changed_at``), saved with the local state (``local/snapshot.py``), so a phase goes on
across ``--local`` runs. Phases end by the wall clock (``time.time()``), read when asked: no
timer thread. moto is imported only inside the functions that need it.
"""

from __future__ import annotations

import base64
import binascii
import math
import os
from typing import TYPE_CHECKING, Any, TypedDict

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

REALISTIC_ENV = "TABLESMITH_LOCAL_REALISTIC"
TIME_SCALE_ENV = "TABLESMITH_LOCAL_TIME_SCALE"
MAX_TIME_SCALE = 1000.0

# Nominal durations in AWS seconds (multiplied by the time scale).
TABLE_CREATE_SECONDS = 20.0
INDEX_ALLOCATION_SECONDS = 60.0  # IndexStatus CREATING, Backfilling false
INDEX_BACKFILL_MIN_SECONDS = 30.0
INDEX_BACKFILL_ITEMS_PER_SECOND = 1000.0
INDEX_DELETE_SECONDS = 60.0
INDEX_UPDATE_SECONDS = 30.0
REPLICA_BASE_SECONDS = 300.0
REPLICA_ITEMS_PER_SECOND = 1000.0
# UpdateTimeToLive: "It can take up to one hour for the change to fully process. Any additional
# UpdateTimeToLive calls for the same table during this one hour duration result in a
# ValidationException." (API reference)
TTL_COOLDOWN_SECONDS = 3600.0
TTL_COOLDOWN_MESSAGE = "Time to live has been modified multiple times within a fixed interval"

_TRUE = ("1", "true", "yes", "on")

Moto = Any  # a moto Table or GlobalSecondaryIndex: typed loosely on purpose


class IndexPhase(TypedDict):
    """One GSI's change in progress (stored on moto's Table, by index name)."""

    phase: str  # CREATING | UPDATING | DELETING
    until: float  # time.time() when it ends: ACTIVE, or gone for DELETING
    backfill_from: float | None  # CREATING by UpdateTable: Backfilling from then; else None
    items: int  # the table's items when the change began (backfill progress)


# ---------------------------------------------------------------------------- settings


def enabled() -> bool:
    """Whether the realistic mode is on in this process."""
    return os.environ.get(REALISTIC_ENV, "").strip().lower() in _TRUE


def time_scale() -> float:
    """Real seconds per AWS second (``TABLESMITH_LOCAL_TIME_SCALE``; 1.0 if unset or invalid)."""
    try:
        scale = float(os.environ.get(TIME_SCALE_ENV, "1"))
    except ValueError:
        return 1.0
    return scale if math.isfinite(scale) and 0 < scale <= MAX_TIME_SCALE else 1.0


def configure(*, realistic: bool, scale: float | None = None) -> None:
    """Set the mode for this process (``local serve``): what the environment variables say."""
    if scale is not None and not (math.isfinite(scale) and 0 < scale <= MAX_TIME_SCALE):
        raise ValueError(f"the time scale must be > 0 and <= {MAX_TIME_SCALE:g}, not {scale}")
    os.environ[REALISTIC_ENV] = "1" if realistic else "0"
    if scale is not None:
        os.environ[TIME_SCALE_ENV] = repr(scale)


def scaled(nominal: float) -> float:
    """Real seconds for ``nominal`` AWS seconds."""
    return nominal * time_scale()


def backfill_seconds(items: int) -> float:
    """AWS seconds to backfill a new GSI over ``items`` items: proportional, with a floor."""
    return max(INDEX_BACKFILL_MIN_SECONDS, items / INDEX_BACKFILL_ITEMS_PER_SECOND)


def replica_seconds(items: int) -> float:
    """AWS seconds a new replica of a table of ``items`` items stays CREATING."""
    return REPLICA_BASE_SECONDS + items / REPLICA_ITEMS_PER_SECOND


# ---------------------------------------------------------------------------- index phases


def phases(table: Moto) -> dict[str, IndexPhase]:
    """The table's index phase records, attached on first use."""
    records: dict[str, IndexPhase] | None = getattr(table, "_ts_index_phases", None)
    if records is None:
        records = {}
        table._ts_index_phases = records
    return records


def settle(table: Moto, now: float) -> None:
    """End the phases that are over: ACTIVE indexes, deleted indexes gone; set moto's status."""
    records: dict[str, IndexPhase] = getattr(table, "_ts_index_phases", {})
    if not records:
        return
    gone = {name for name, r in records.items() if r["phase"] == "DELETING" and now >= r["until"]}
    if gone:
        table.global_indexes = [g for g in table.global_indexes if g.name not in gone]
    for gsi in table.global_indexes:
        record = records.get(gsi.name)
        gsi.status = record["phase"] if record and now < record["until"] else "ACTIVE"
    for name in [n for n, r in records.items() if now >= r["until"]]:
        del records[name]


def busy(table: Moto, now: float) -> bool:
    """Whether an index change is under way (the table is UPDATING)."""
    records: dict[str, IndexPhase] = getattr(table, "_ts_index_phases", {})
    return any(now < r["until"] for r in records.values())


def backfilling(table: Moto, name: str, now: float) -> bool:
    """Whether index ``name`` is CREATING with Backfilling true (AWS lets it be deleted)."""
    record = getattr(table, "_ts_index_phases", {}).get(name)
    if record is None or record["phase"] != "CREATING" or now >= record["until"]:
        return False
    start = record["backfill_from"]
    return start is not None and now >= start


def start_table(table: Moto, now: float) -> None:
    """A new table: CREATING for a while, with the indexes it was made with."""
    until = now + scaled(TABLE_CREATE_SECONDS)
    table._ts_creating_until = until
    records = phases(table)
    for gsi in table.global_indexes:
        records[gsi.name] = IndexPhase(phase="CREATING", until=until, backfill_from=None, items=0)
    settle(table, now)


def start_index_changes(
    table: Moto, updates: Iterable[Mapping[str, Any]], before: Mapping[str, Moto], now: float
) -> None:
    """Phases for the GlobalSecondaryIndexUpdates moto has just applied to ``table``.

    ``before`` is the table's indexes before moto ran (name -> moto index): a deleted one is
    put back to be listed as DELETING until its phase ends.
    """
    records = phases(table)
    items = len(table)
    for update in updates:
        if update.get("Delete"):
            name = update["Delete"].get("IndexName")
            if name in before and all(g.name != name for g in table.global_indexes):
                table.global_indexes.append(before[name])
            records[name] = IndexPhase(
                phase="DELETING",
                until=now + scaled(INDEX_DELETE_SECONDS),
                backfill_from=None,
                items=items,
            )
        if update.get("Update"):
            name = update["Update"].get("IndexName")
            records[name] = IndexPhase(
                phase="UPDATING",
                until=now + scaled(INDEX_UPDATE_SECONDS),
                backfill_from=None,
                items=items,
            )
        if update.get("Create"):
            name = update["Create"].get("IndexName")
            start = now + scaled(INDEX_ALLOCATION_SECONDS)
            records[name] = IndexPhase(
                phase="CREATING",
                until=start + scaled(backfill_seconds(items)),
                backfill_from=start,
                items=items,
            )
    settle(table, now)


def copy_phases(table: Moto, peer: Moto, names: Iterable[str]) -> None:
    """Give a replica the same phases as ``table`` for the indexes named (AWS: same phases)."""
    own: dict[str, IndexPhase] = getattr(table, "_ts_index_phases", {})
    records = phases(peer)
    for name in names:
        if name in own:
            records[name] = IndexPhase(**own[name])
        else:
            records.pop(name, None)


# ---------------------------------------------------------------------------- describe


def describe_indexes(table: Moto, desc: dict[str, Any], now: float) -> None:
    """Sizes in every mode; Backfilling and backfill progress for indexes being created."""
    desc["TableSizeBytes"] = sum(_size(item) for item in table.all_items())
    records: dict[str, IndexPhase] = getattr(table, "_ts_index_phases", {})
    by_name = {gsi.name: gsi for gsi in table.global_indexes}
    for entry in desc.get("GlobalSecondaryIndexes", []):
        gsi = by_name.get(entry.get("IndexName"))
        if gsi is None:
            continue
        count, size = _index_size(table, gsi)
        record = records.get(gsi.name)
        if record is not None and now < record["until"] and record["phase"] == "CREATING":
            start = record["backfill_from"]
            if start is not None:
                entry["Backfilling"] = now >= start
                done = 0.0 if now < start else (now - start) / max(record["until"] - start, 1e-9)
                count, size = int(count * done), int(size * done)
        entry["ItemCount"] = count
        entry["IndexSizeBytes"] = size


def _index_size(table: Moto, gsi: Moto) -> tuple[int, int]:
    """Items an index holds (those with all its key attributes: indexes are sparse), bytes."""
    names = [key["AttributeName"] for key in gsi.schema]
    count = size = 0
    for item in table.all_items():
        if all(name in item.attrs for name in names):
            count += 1
            size += _size(gsi.project(item))
    return count, size


def _size(item: Moto) -> int:
    return item_size(item.to_json()["Attributes"])


def item_size(attributes: Mapping[str, Any]) -> int:
    """An item's size in bytes by DynamoDB's rules: each attribute's name plus its value."""
    return sum(len(name.encode()) + value_size(value) for name, value in attributes.items())


def value_size(value: Mapping[str, Any]) -> int:
    """The size of one AttributeValue in the wire format, after the developer guide's rules.

    Strings and binary: their bytes (UTF-8; binary decoded from base64). Numbers: about one
    byte per two significant digits, plus one (leading and trailing zeros do not count, so
    ``3.0`` and ``3`` are the same size). Booleans and null: one byte. Sets: their members.
    Lists and maps: 3 bytes, plus one byte per element and the elements (with a map's keys).
    """
    ((kind, inner),) = value.items()
    if kind == "S":
        return len(str(inner).encode())
    if kind == "B":
        return _binary_size(inner)
    if kind == "N":
        return _number_size(str(inner))
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(str(v).encode()) for v in inner)
    if kind == "NS":
        return sum(_number_size(str(v)) for v in inner)
    if kind == "BS":
        return sum(_binary_size(v) for v in inner)
    if kind == "L":
        return 3 + sum(1 + value_size(v) for v in inner)
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + value_size(v) for k, v in inner.items())
    return 0


def _number_size(text: str) -> int:
    mantissa = text.lstrip("+-").lower().split("e")[0]
    digits = mantissa.replace(".", "").strip("0")
    return 1 + math.ceil(len(digits or "0") / 2)


def _binary_size(value: Any) -> int:
    if isinstance(value, bytes):
        return len(value)
    try:
        return len(base64.b64decode(str(value), validate=True))
    except (binascii.Error, ValueError):
        return len(str(value).encode())


# ---------------------------------------------------------------------------- TTL


def check_ttl_change(table: Moto, now: float) -> None:
    """Refuse a TTL change within the cooldown of the last one (realistic mode only)."""
    from moto.dynamodb.exceptions import MockValidationException

    last = getattr(table, "_ts_ttl_changed_at", None)
    if enabled() and last is not None and now < last + scaled(TTL_COOLDOWN_SECONDS):
        raise MockValidationException(TTL_COOLDOWN_MESSAGE)


def record_ttl_change(table: Moto, now: float) -> None:
    """Remember when TTL last changed (realistic mode only: the default mode keeps no clock)."""
    if enabled():
        table._ts_ttl_changed_at = now
