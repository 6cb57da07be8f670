"""The random spec changes of the evolution test: valid table settings and the items they hold.

Everything here is pure: a table's settings are a plain dict in the spec's own shape (what a
spec file writes under ``tables: {main: ...}``), and each change is a function from the
current settings and a drawn value to the next settings. Every result is a valid spec
(``tablesmith.load`` accepts it), so a failure of the test is tablesmith's, never the
generator's: the functions here keep the rules the spec validator enforces.

Items carry every attribute any key could be built on, each always with one type, so that
any key schema, GSI or LSI drawn here indexes them all:

* ``PK`` (S, 5 values), ``SK`` (S), ``id`` (S), ``created`` (N), ``email`` (S): the last four
  unique per item, so every key drawn (``KEY_SCHEMAS``) is unique too;
* ``status`` (S, 3 values), ``score`` (N, repeating): GSI keys that share values;
* ``region`` and ``note`` (S): never keys, for INCLUDE projections;
* ``expiresAt`` and ``ttl`` (N): TTL attributes, set in the year 2100 (never expired).
"""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import strategies as st

Settings = dict[str, Any]

ATTRIBUTE_TYPES = {
    "PK": "S",
    "SK": "S",
    "id": "S",
    "created": "N",
    "email": "S",
    "status": "S",
    "score": "N",
}
# (partition, sort): each combination is unique across the items ``item`` makes
KEY_SCHEMAS: tuple[tuple[str, str | None], ...] = (
    ("PK", "SK"),
    ("id", None),
    ("PK", "created"),
    ("id", "SK"),
    ("email", None),
)
GSI_NAMES = ("ByStatus", "ByEmail", "ByScore", "ByCreated")
GSI_HASH_KEYS = ("status", "email", "score", "PK", "created")
GSI_RANGE_KEYS = (None, "created", "score", "SK")
LSI_NAMES = ("LsiCreated", "LsiEmail", "LsiScore")
LSI_RANGE_KEYS = ("created", "email", "score")
NON_KEY_ATTRIBUTES = ("region", "note")
PROJECTIONS = ("ALL", "KEYS_ONLY", "INCLUDE")
TTL_ATTRIBUTES = ("expiresAt", "ttl")
VIEW_TYPES = ("NEW_AND_OLD_IMAGES", "NEW_IMAGE", "OLD_IMAGE", "KEYS_ONLY")
REPLICA_REGIONS = ("eu-west-1", "us-east-1")
SCHEDULES = ("cron(0 2 * * ? *)", "cron(0 */1 * * ? *)", "cron(30 4 ? * MON *)")
RETENTIONS = (7, 14, 35, 90, 120)
MAX_GSIS = 3  # AWS allows 20; three keep each step short and still exercise the ordering
MAX_LSIS = 2
YEAR_2100 = 4102444800
ALLOW = st.sampled_from([True, True, True, False])  # allow a blocking hazard? (shrinks to yes)


def key(name: str) -> dict[str, str]:
    """A key attribute as a spec writes it."""
    return {"name": name, "type": ATTRIBUTE_TYPES[name]}


def item(i: int) -> dict[str, Any]:
    """Item number ``i`` as boto3's DynamoDB client writes it."""
    return {
        "PK": {"S": f"pk{i % 5}"},
        "SK": {"S": f"sk{i:05d}"},
        "id": {"S": f"id{i:05d}"},
        "created": {"N": str(1_700_000_000 + i)},
        "email": {"S": f"user{i}@example.com"},
        "status": {"S": ("active", "inactive", "banned")[i % 3]},
        "score": {"N": str((i * 7) % 50)},
        "region": {"S": ("north", "south")[i % 2]},
        "note": {"S": f"item {i}"},
        "expiresAt": {"N": str(YEAR_2100 + i)},
        "ttl": {"N": str(YEAR_2100 + 2 * i)},
    }


# --------------------------------------------------------------------------- drawn parts

gsis = st.builds(
    lambda name, hash_key, range_key, projection: gsi(name, hash_key, range_key, projection),
    st.sampled_from(GSI_NAMES),
    st.sampled_from(GSI_HASH_KEYS),
    st.sampled_from(GSI_RANGE_KEYS),
    st.sampled_from(PROJECTIONS),
)
pitrs = st.fixed_dictionaries(
    {"enabled": st.booleans(), "recovery_period_days": st.sampled_from([35, 7, 1, 14])}
)
ttls = st.fixed_dictionaries(
    {"enabled": st.booleans(), "attribute_name": st.sampled_from(TTL_ATTRIBUTES)}
)
streams = st.fixed_dictionaries(
    {"enabled": st.booleans(), "view_type": st.sampled_from(VIEW_TYPES)}
)
extra_tags = st.dictionaries(
    st.sampled_from(["Team", "Tier", "Stage"]), st.sampled_from(["a", "b", "c"]), max_size=3
)
backups = st.builds(
    lambda enabled, schedule, retention, cold: backup(enabled, schedule, retention, cold),
    st.booleans(),
    st.sampled_from(SCHEDULES),
    st.sampled_from(RETENTIONS),
    st.booleans(),
)
alarm_settings = st.builds(
    lambda enabled, system, throttled, write, user: alarms(enabled, system, throttled, write, user),
    st.booleans(),
    st.sampled_from([0.0, 1.0, 3.0]),
    st.sampled_from([5.0, 10.0, 50.0]),
    st.sampled_from([5.0, 20.0]),
    st.booleans(),
)


def gsi(name: str, hash_key: str, range_key: str | None, projection: str) -> Settings:
    """A GSI as a spec writes it (a range key equal to the hash key is dropped)."""
    index: Settings = {"name": name, "hash_key": key(hash_key), "projection_type": projection}
    if range_key is not None and range_key != hash_key:
        index["range_key"] = key(range_key)
    if projection == "INCLUDE":
        index["non_key_attributes"] = list(NON_KEY_ATTRIBUTES)
    return index


def backup(enabled: bool, schedule: str, retention: int, cold: bool) -> Settings:
    """AWS Backup settings; cold storage only where retention allows it (>= 90 days after)."""
    settings: Settings = {"enabled": enabled, "schedule": schedule, "retention_days": retention}
    if cold and retention >= 91:
        settings["cold_storage_after_days"] = 1
    return settings


def alarms(enabled: bool, system: float, throttled: float, write: float, user: bool) -> Settings:
    """Alarm settings with a few thresholds drawn."""
    return {
        "enabled": enabled,
        "system_errors": {"threshold": system},
        "throttled_requests": {"threshold": throttled},
        "write_throttle_events": {"threshold": write},
        "user_errors": {"enabled": user},
    }


def start_settings(schema: int, index: Settings | None) -> Settings:
    """The table a run starts with: one of the key schemas, maybe a GSI, defaults otherwise."""
    partition, sort = KEY_SCHEMAS[schema % len(KEY_SCHEMAS)]
    settings: Settings = {"partition_key": key(partition)}
    if sort is not None:
        settings["sort_key"] = key(sort)
    settings["global_secondary_indexes"] = [] if index is None else [index]
    return settings


# --------------------------------------------------------------------------- changes


def _next(settings: Settings) -> Settings:
    return copy.deepcopy(settings)


def add_gsi(settings: Settings, index: Settings) -> Settings | None:
    """Add ``index`` (None when a GSI of that name exists or the table has enough)."""
    current = settings.get("global_secondary_indexes", [])
    if len(current) >= MAX_GSIS or any(g["name"] == index["name"] for g in current):
        return None
    new = _next(settings)
    new["global_secondary_indexes"] = [*current, index]
    return new


def remove_gsi(settings: Settings, which: int) -> Settings:
    """Remove the ``which``-th GSI (modulo their number)."""
    new = _next(settings)
    current = new["global_secondary_indexes"]
    current.pop(which % len(current))
    return new


def reproject_gsi(settings: Settings, which: int, projection: str) -> Settings | None:
    """Give the ``which``-th GSI another projection (None when it already has it)."""
    new = _next(settings)
    index = new["global_secondary_indexes"][which % len(new["global_secondary_indexes"])]
    if index["projection_type"] == projection:
        return None
    index["projection_type"] = projection
    index.pop("non_key_attributes", None)
    if projection == "INCLUDE":
        index["non_key_attributes"] = list(NON_KEY_ATTRIBUTES)
    return new


def add_lsi(settings: Settings, name: str, range_key: str, projection: str) -> Settings | None:
    """Add an LSI (a new table: DynamoDB only makes LSIs with the table).

    None when the table has no sort key (an LSI needs one), or the name or range key is taken.
    """
    sort = settings.get("sort_key")
    current = settings.get("local_secondary_indexes", [])
    if (
        sort is None
        or len(current) >= MAX_LSIS
        or range_key in (sort["name"], settings["partition_key"]["name"])
    ):
        return None
    if any(i["name"] == name or i["range_key"]["name"] == range_key for i in current):
        return None
    index: Settings = {"name": name, "range_key": key(range_key), "projection_type": projection}
    if projection == "INCLUDE":
        index["non_key_attributes"] = list(NON_KEY_ATTRIBUTES)
    new = _next(settings)
    new["local_secondary_indexes"] = [*current, index]
    return new


def change_keys(settings: Settings, schema: int) -> Settings | None:
    """Another key schema (None when it is the same); LSIs that no longer fit are dropped."""
    partition, sort = KEY_SCHEMAS[schema % len(KEY_SCHEMAS)]
    have_sort = settings.get("sort_key")
    if settings["partition_key"]["name"] == partition and ((have_sort or {}).get("name") == sort):
        return None
    new = _next(settings)
    new["partition_key"] = key(partition)
    new.pop("sort_key", None)
    if sort is not None:
        new["sort_key"] = key(sort)
    new["local_secondary_indexes"] = [
        i
        for i in new.get("local_secondary_indexes", [])
        if sort is not None and i["range_key"]["name"] not in (partition, sort)
    ]
    return new


def set_field(settings: Settings, name: str, value: Any) -> Settings | None:
    """Set one top-level setting (None when it already has that value)."""
    if settings.get(name) == value:
        return None
    new = _next(settings)
    new[name] = copy.deepcopy(value)
    return new


def set_stream(settings: Settings, stream: Settings) -> Settings | None:
    """A stream change; None while replicas need the stream as it is (NEW_AND_OLD_IMAGES)."""
    if settings.get("replicas"):
        return None
    return set_field(settings, "stream", stream)


def add_replica(settings: Settings, region: str) -> Settings | None:
    """Add a replica (and the stream global tables need); None when it exists."""
    current = settings.get("replicas", [])
    if region in current:
        return None
    new = _next(settings)
    new["replicas"] = sorted([*current, region])
    new["stream"] = {"enabled": True, "view_type": "NEW_AND_OLD_IMAGES"}
    return new


def remove_replica(settings: Settings, which: int) -> Settings:
    """Remove the ``which``-th replica (modulo their number)."""
    new = _next(settings)
    new["replicas"].pop(which % len(new["replicas"]))
    return new
