"""Resolve one table's merged settings into the effective :class:`Table`, checking every rule.

Two passes, so that every problem is reported at once:

1. structure: strict pydantic validation of ``TableSettings`` (unknown keys with a
   did-you-mean hint, wrong types, values outside a closed set);
2. meaning: the rules real DynamoDB, AWS Backup and CloudWatch enforce (and the module's own
   variable validations), each written below with the reason.

Each problem is reported at the origin of the value concerned (see ``source.Merged``), so it
points at the file, line and field path the user has to edit.
"""

from __future__ import annotations

import copy
import difflib
import re
import unicodedata
from dataclasses import dataclass, field
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from tablesmith.errors import Diagnostic, Severity
from tablesmith.spec.cron import cron_problem
from tablesmith.spec.model import (
    GSI_KEY_FORMS,
    OWNERSHIP_TAG,
    AlarmRule,
    AttributeType,
    Conventions,
    Environment,
    GlobalSecondaryIndex,
    GsiSettings,
    Key,
    KeyRef,
    KinesisStreamingDestination,
    LocalSecondaryIndex,
    LsiSettings,
    PointInTimeRecovery,
    ResourcePolicy,
    Stream,
    Table,
    TableSettings,
)
from tablesmith.spec.names import MAX_ALARM_NAME, alarm_names, backup_name_problems
from tablesmith.spec.patterns import name_pattern
from tablesmith.spec.policy import effective as effective_policy
from tablesmith.spec.regions import nearest, partition, region_problem
from tablesmith.spec.source import Merged, Origin, Path_, join_path

# Built-in patterns are applied with ``fullmatch``: ``re.match`` with ``$`` lets a trailing
# newline through ("orders\n"), which DynamoDB rejects.
# DynamoDB naming rule for tables and indexes (CreateTable / GlobalSecondaryIndex docs)
_AWS_NAME = re.compile(r"[a-zA-Z0-9_.-]{3,255}")
# region names: the module's replica_region check, widened to gov/iso partitions
_REGION = re.compile(r"[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d{1}")
_SNS_ARN = re.compile(r"arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?")
# KMS KeyId forms (KMS API reference, "KeyId"): key ARN, alias ARN, alias name, key id; a
# multi-Region key's id is "mrk-" and 32 hex digits.
_KEY_ID = r"([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})"
_ALIAS = r"alias/[a-zA-Z0-9/_-]{1,250}"
_KMS_KEY = re.compile(rf"{_KEY_ID}|{_ALIAS}|arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{{12}}:"
                      rf"(key/{_KEY_ID}|{_ALIAS})")
# AWS's tag pattern (DynamoDB TagResource, "Tag"): [\p{L}\p{Z}\p{N}_.:/=+\-@]*. Python's ``re``
# has no \p{...} classes, and its \w and \s are wider (\s takes tabs and newlines, which AWS
# rejects), so the Unicode categories are checked directly.
_TAG_PUNCTUATION = frozenset("_.:/=+-@")

MAX_GSIS = 20  # DynamoDB quota: GSIs per table (default; adjustable only by support case)
MAX_LSIS = 5  # DynamoDB hard limit: LSIs per table
MAX_PROJECTED = 100  # NonKeyAttributes summed over all indexes of a table
MAX_PROJECTED_PER_INDEX = 20  # Projection.NonKeyAttributes: 1-20 items (API reference)
MAX_NAME_BYTES = 255  # key, projected and TTL attribute names: 1-255 bytes of UTF-8
MAX_TAGS = 50  # tags per DynamoDB resource
KEY_FIELDS = ("partition_key", "sort_key")


@dataclass
class Resolution:
    """The result of resolving one table: the table (None when it has errors) and problems."""

    table: Table | None
    diagnostics: list[Diagnostic] = field(default_factory=list)


class _Reporter:
    """Turns (native path, message, hint) into located diagnostics."""

    def __init__(self, merged: Merged, fallback: Origin) -> None:
        self.merged = merged
        self.fallback = fallback
        self.found: list[Diagnostic] = []
        # paths whose (bad) values were dropped: later problems there are consequences
        self.removed: list[Path_] = []

    def written(self, path: Path_) -> bool:
        """Did the user's text (not a built-in default) set the value at ``path``?"""
        return self.merged.locate(path)[1] == len(path)

    def add(self, path: Path_, message: str, hint: str = "",
            severity: Severity = "error") -> None:
        if any(path[: len(r)] == r or r[: len(path)] == path for r in self.removed):
            return
        origin, depth = self.merged.locate(path)
        if origin is None:
            origin, depth = self.fallback, 0
        display = origin.path
        for key in path[depth:]:
            display = join_path(display, key)
        self.found.append(Diagnostic(origin.file, origin.line, display or "(table)",
                                     message, hint, severity))


def resolve_table(
    merged: Merged,
    *,
    name: str,
    name_origin: Origin,
    env: Environment,
    conventions: Conventions,
) -> Resolution:
    """Validate ``merged`` settings of table ``name`` in ``env`` and build its effective Table."""
    report = _Reporter(merged, name_origin)
    settings: TableSettings | None = None
    # stand-ins for values that had to go but have no default to fall back to (see below)
    stand_ins: dict[Path_, Any] = {}
    nulled: frozenset[str] = frozenset()  # tags written as null: not added from below either
    for _ in range(6):
        try:
            data, nulled = _without_null_tags(_normalise_keys(report.merged.data))
            data = _with_stand_ins(data, stand_ins)
            settings = TableSettings.model_validate(data)
            break
        except ValidationError as exc:
            bad = []
            for error in exc.errors():
                _report_validation_error(report, error, TableSettings)
                path: Path_ = _error_path(error["loc"])
                report.removed.append(path)
                if error["type"] == "missing" or _in_list(path):
                    # A required field, or an entry of a list (dropping it would renumber the
                    # entries after it): a stand-in of the right type takes its place, so the
                    # rest of the table, the other entries included, is still checked. What
                    # is found at a stand-in is not reported (its path is in ``removed``).
                    stand_ins[path] = _stand_in(_annotation_at(TableSettings, path),
                                                len(stand_ins))
                else:
                    bad.append(path)  # the value falls back to the built-in default
            report.merged = report.merged.without(bad)
    if settings is None:
        return Resolution(None, report.found)

    _check_names(report, name, name_origin, env, conventions)
    keys = _resolve_keys(report, settings)
    _check_key_schemas(report, settings)
    _check_indexes(report, settings)
    _check_features(report, settings, env, keys[4] if keys else {}, name, conventions)
    _check_tags(report, settings, conventions)
    if keys is None:
        return Resolution(None, report.found)
    # built even when other errors were found, so that the checks of what is derived from the
    # table (its alarms' names) are reported with them; returned only without errors
    partition, sort, gsis, lsis, attributes = keys
    throughput = settings.on_demand_throughput
    if throughput is not None:  # -1 is AWS's "no cap", as is leaving it out
        read = throughput.max_read_request_units
        write = throughput.max_write_request_units
        read, write = (None if read == -1 else read), (None if write == -1 else write)
        throughput = None if read is None and write is None else throughput.model_copy(
            update={"max_read_request_units": read, "max_write_request_units": write})
    # the ownership tag marks what --prune may delete; `tablesmith:managed: null` opts out
    # (an imported table, until `import --claim`)
    tags = {**settings.tags} if OWNERSHIP_TAG in nulled else \
        {**settings.tags, OWNERSHIP_TAG: env.name}
    # table_tags (the module's Name and Type) are the table's alone, not its resources'
    resource_tags = dict(sorted(tags.items())) if settings.table_tags else None
    tags = {**tags, **settings.table_tags}
    table = Table(
        name=name,
        table_name=env.physical_name(name),
        environment=env.name,
        region=env.region,
        partition_key=partition,
        sort_key=sort,
        attribute_definitions=tuple(sorted(attributes.values(), key=lambda k: k.name)),
        global_secondary_indexes=tuple(sorted(gsis, key=lambda g: g.name)),
        local_secondary_indexes=tuple(sorted(lsis, key=lambda i: i.name)),
        billing_mode=settings.billing_mode,
        on_demand_throughput=throughput,
        point_in_time_recovery=settings.point_in_time_recovery,
        ttl=settings.ttl,
        stream=Stream(enabled=settings.stream.enabled, view_type=settings.stream.view_type),
        encryption=settings.encryption,
        deletion_protection=settings.deletion_protection,
        table_class=settings.table_class,
        replicas=tuple(sorted(_replica_regions(settings))),
        replica_point_in_time_recovery=_replica_pitr(settings),
        warm_throughput=settings.warm_throughput,
        consistency=settings.consistency,
        witness_region=settings.witness_region,
        backup=settings.backup,
        resource_policy=_policy(report, settings, ("resource_policy",)),
        stream_resource_policy=_policy(report, settings, ("stream", "resource_policy")),
        alarms=settings.alarms,
        kinesis_streaming_destinations=_kinesis_destinations(settings),
        contributor_insights=settings.contributor_insights,
        index_contributor_insights={g.name: g.contributor_insights for g in sorted(
            settings.global_secondary_indexes, key=lambda g: g.name)
            if g.contributor_insights is not None},
        tags=dict(sorted(tags.items())),
        resource_tags=resource_tags,
    )
    _check_alarm_names(report, table, settings, name_origin)
    if any(d.severity == "error" for d in report.found):
        return Resolution(None, report.found)
    return Resolution(table, report.found)


# --------------------------------------------------------------------------- structure


def _without_null_tags(data: dict[str, Any]) -> tuple[dict[str, Any], frozenset[str]]:
    """Drop tags set to null: a null removes a tag a lower layer adds (the ``Environment``
    tag of the built-in layers, or tablesmith's ownership tag). Returns the dropped keys."""
    tags = data.get("tags")
    if not isinstance(tags, dict) or all(v is not None for v in tags.values()):
        return data, frozenset()
    return ({**data, "tags": {k: v for k, v in tags.items() if v is not None}},
            frozenset(k for k, v in tags.items() if v is None))


DEFAULT_PITR_DAYS = 35  # RecoveryPeriodInDays when none is given (UpdateContinuousBackups)


def _replica_regions(settings: TableSettings) -> list[str]:
    """The replicas' region names, in the order written."""
    return [r.region for r in settings.replicas]


def _replica_pitr(settings: TableSettings) -> dict[str, PointInTimeRecovery]:
    """Each replica's own PITR where it differs from the table's (sorted by region)."""
    table = settings.point_in_time_recovery
    out = {}
    for replica in sorted(settings.replicas, key=lambda r: r.region):
        own = replica.point_in_time_recovery
        pitr = None if own is None else PointInTimeRecovery(
            enabled=own.enabled, recovery_period_days=own.recovery_period_days)
        if pitr is not None and not pitr.enabled:
            # a recovery period only exists while PITR is on: off reads back as AWS's default
            pitr = pitr.model_copy(update={"recovery_period_days": DEFAULT_PITR_DAYS})
        if pitr is not None and pitr != table:
            out[replica.region] = pitr
    return out


def _normalise_keys(data: dict[str, Any]) -> dict[str, Any]:
    """Turn the shorthand ``hash_key: PK`` into ``{name: PK}`` so one model validates both."""

    def norm(value: Any) -> Any:
        if isinstance(value, list):  # a GSI's multi-attribute key: each attribute likewise
            return [norm(v) for v in value]
        return {"name": value} if isinstance(value, str) else value

    out = dict(data)
    for key in KEY_FIELDS:
        if key in out:
            out[key] = norm(out[key])
    for group, fields in (("global_secondary_indexes", ("hash_key", "range_key")),
                          ("local_secondary_indexes", ("range_key",))):
        indexes = out.get(group)
        if isinstance(indexes, list):
            out[group] = [
                {k: norm(v) if k in fields else v for k, v in ix.items()}
                if isinstance(ix, dict) else ix
                for ix in indexes
            ]
    # a replica written as its region name is the mapping {region: name}
    replicas = out.get("replicas")
    if isinstance(replicas, list):
        out["replicas"] = [{"region": r} if isinstance(r, str) else r for r in replicas]
    return out


_TYPE_WORDS = {
    "bool_type": "must be true or false",
    "int_type": "must be a whole number",
    "float_type": "must be a number",
    "string_type": "must be a string",
    "dict_type": "must be a mapping",
    "tuple_type": "must be a list",
    "list_type": "must be a list",
    "model_type": "must be a mapping",
    "model_attributes_type": "must be a mapping",
}

_FIELD_HINTS = {
    "billing_mode": "tablesmith enforces on-demand billing (PAY_PER_REQUEST), as the module "
                    "does; cap spend with on_demand_throughput instead",
    "type": "S (string), N (number) or B (binary)",
    "projection_type": "ALL, KEYS_ONLY or INCLUDE (INCLUDE needs non_key_attributes)",
    "view_type": "KEYS_ONLY, NEW_IMAGE, OLD_IMAGE or NEW_AND_OLD_IMAGES",
}


def _report_validation_error(report: _Reporter, error: Any, model: type[BaseModel]) -> None:
    loc: Path_ = _error_path(error["loc"])
    kind = error["type"]
    value = error.get("input")
    last = loc[-1] if loc else ""
    if kind == "extra_forbidden":
        known = _fields_at(model, loc[:-1])
        close = difflib.get_close_matches(str(last), known, n=1, cutoff=0.6)
        hint = f"did you mean '{close[0]}'?" if close else (
            f"known keys here: {', '.join(sorted(known))}" if known else "")
        report.add(loc, f"unknown key '{last}'", hint)
    elif kind == "missing":
        report.add(loc, f"'{last}' is required")
    elif kind in ("model_type", "model_attributes_type") and len(loc) == 2 and \
            loc[0] == "replicas":  # a replica is its region name, or a mapping
        report.add(loc, f"must be a string, not {_describe(value)}",
                   "a region name (e.g. eu-west-1), or a mapping with region: and the "
                   "replica's own settings")
    elif kind in _TYPE_WORDS:
        report.add(loc, f"{_TYPE_WORDS[kind]}, not {_describe(value)}", _type_hint(kind, value))
    elif kind == "literal_error":
        expected = error.get("ctx", {}).get("expected", "")
        field_name = "type" if loc[:1] == ("attributes",) else str(last)
        policy = " (tablesmith's on-demand-only policy)" if loc == ("billing_mode",) else ""
        report.add(loc, f"{_describe(value)} is not allowed: expected {expected}{policy}",
                   _FIELD_HINTS.get(field_name, ""))
    else:
        report.add(loc, error["msg"])


def _error_path(loc: tuple[str | int, ...]) -> Path_:
    """A validation error's location as a path of the spec: without pydantic's "[key]" and
    the tag of the form a GSI key was written in (``GSI_KEY_FORMS``)."""
    return tuple(p for i, p in enumerate(loc) if p != "[key]" and not (
        p in GSI_KEY_FORMS and i > 0 and loc[i - 1] in ("hash_key", "range_key")))


def _unannotated(annotation: Any) -> Any:
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    return annotation


def _form_for(annotation: Any, part: str | int) -> Any:
    """Of a union of forms (a GSI key: one attribute or a list), the one ``part`` steps into:
    a list for an index, a mapping for a key."""
    annotation = _unannotated(annotation)
    if get_origin(annotation) not in (Union, UnionType):
        return annotation
    forms = [_unannotated(f) for f in get_args(annotation)]
    return next((f for f in forms if (get_origin(f) in (list, tuple)) == isinstance(part, int)),
                forms[0])


def _annotation_at(model: type[BaseModel], loc: Path_) -> Any:
    """The type annotation of the value at ``loc`` in ``model`` (None if there is none)."""
    current: Any = model
    for part in loc:
        current = _form_for(_strip_optional(current), part)
        if isinstance(current, type) and issubclass(current, BaseModel):
            info = current.model_fields.get(str(part))
            if info is None:
                return None
            current = info.annotation
        elif get_origin(current) is dict:
            current = get_args(current)[1]
        elif get_origin(current) in (list, tuple):
            current = get_args(current)[0]
        else:
            return None
    return current


def _in_list(path: Path_) -> bool:
    """Is ``path`` an entry of a list of ``TableSettings``?"""
    if not path or not isinstance(path[-1], int):
        return False
    parent = _strip_optional(_annotation_at(TableSettings, path[:-1]))
    return get_origin(parent) in (list, tuple)


def _stand_in(annotation: Any, n: int) -> Any:
    """A valid value of ``annotation`` (required fields only), unlike any the user wrote."""
    annotation = _unannotated(_strip_optional(annotation))
    if get_origin(annotation) in (Union, UnionType):  # one of several forms: the first
        annotation = _unannotated(get_args(annotation)[0])
    if get_origin(annotation) is Annotated:  # StrictStr, StrictInt, ...
        annotation = get_args(annotation)[0]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return {name: _stand_in(info.annotation, n)
                for name, info in annotation.model_fields.items() if info.is_required()}
    origin = get_origin(annotation)
    if origin is Literal:
        return get_args(annotation)[0]
    if origin in (list, tuple):
        return []
    if origin is dict:
        return {}
    if annotation is bool:
        return False
    if annotation in (int, float):
        return annotation(1)
    return f"(invalid entry {n + 1})"


def _with_stand_ins(data: dict[str, Any], stand_ins: dict[Path_, Any]) -> dict[str, Any]:
    """``data`` with each stand-in put at its path (where the parent is still there)."""
    if stand_ins:
        data = copy.deepcopy(data)  # the merged data is the user's: never changed in place
    for path, value in stand_ins.items():
        node: Any = data
        for key in path[:-1]:
            if not _has(node, key):
                break
            node = node[key]
        else:
            last = path[-1]
            if (isinstance(node, dict) and isinstance(last, str)) or _has(node, last):
                node[last] = value
    return data


def _has(node: Any, key: str | int) -> bool:
    """Is there a ``node[key]`` (a mapping's key, or a list's index)?"""
    if isinstance(node, dict):
        return isinstance(key, str) and key in node
    return isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node)


def _type_hint(kind: str, value: Any) -> str:
    if kind == "bool_type" and isinstance(value, str):
        return "write true or false without quotes"
    if kind in ("int_type", "float_type") and isinstance(value, str):
        return "write the number without quotes"
    if kind == "string_type" and isinstance(value, (int, float, bool)):
        return "quote the value to make it a string"
    return ""


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f"'{value}'"
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return str(value)


def _fields_at(model: type[BaseModel], loc: Path_) -> list[str]:
    """Field names of the model found by walking ``loc`` (for did-you-mean hints).

    Mapping keys (environment names, table names) and list indexes are stepped over.
    """
    current: Any = model
    for part in loc:
        current = _form_for(_strip_optional(current), part)
        if isinstance(current, type) and issubclass(current, BaseModel):
            info = current.model_fields.get(str(part))
            if info is None:
                return []
            current = info.annotation
        elif get_origin(current) is dict:
            current = get_args(current)[1]
        elif get_origin(current) in (list, tuple):
            current = get_args(current)[0]
        else:
            return []
    current = _form_for(_strip_optional(current), "")  # the fields of a mapping
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def _strip_optional(annotation: Any) -> Any:
    """``X | None`` -> ``X``."""
    args = [a for a in get_args(annotation) if a is not type(None)]
    if get_origin(annotation) in (Union, UnionType) and len(args) == 1:
        return args[0]
    return annotation


# --------------------------------------------------------------------------- meaning


def _check_names(report: _Reporter, name: str, name_origin: Origin, env: Environment,
                 conventions: Conventions) -> None:
    def at_name(message: str, hint: str) -> None:
        report.found.append(Diagnostic(name_origin.file, name_origin.line,
                                       name_origin.path or "table_name", message, hint))

    # the spec's own pattern runs on RE2, in linear time (spec/patterns.py), never on re;
    # an unusable one is reported once, at conventions.table_name_pattern, by the loader
    pattern = name_pattern(conventions.table_name_pattern)
    if pattern.problem is None and not pattern.fullmatch(name):
        default = conventions.table_name_pattern == Conventions().table_name_pattern
        at_name(f"table name '{name}' does not match the naming convention "
                f"{conventions.table_name_pattern}",
                "start with a lowercase letter; use lowercase letters, digits and underscores"
                if default else "rename the table to match conventions.table_name_pattern")
    physical = env.physical_name(name)
    if not _AWS_NAME.fullmatch(physical):
        at_name(f"table name {physical!r} is not a valid DynamoDB name",
                "DynamoDB table names are 3-255 characters of a-z, A-Z, 0-9, '_', '-' and '.'")


Keys = tuple[Key, Key | None, list[GlobalSecondaryIndex], list[LocalSecondaryIndex],
             dict[str, Key]]


def _resolve_keys(report: _Reporter, settings: TableSettings) -> Keys | None:
    """Type every key, derive the attribute definitions, and cross-check ``attributes``.

    DynamoDB wants exactly one AttributeDefinition per key attribute (table and indexes), and
    rejects definitions no key uses; the module's example declares unused ones, so those are
    dropped with a warning rather than sent.
    """
    declared = settings.attributes or {}
    # every place a key attribute is named: (path to its KeyRef, ref)
    uses: list[tuple[Path_, KeyRef]] = [(("partition_key",), settings.partition_key)]
    if settings.sort_key is not None:
        uses.append((("sort_key",), settings.sort_key))
    ok = True
    for i, g in enumerate(settings.global_secondary_indexes):
        for field_name, written in (("hash_key", g.hash_key), ("range_key", g.range_key)):
            path: Path_ = ("global_secondary_indexes", i, field_name)
            refs = _gsi_key_refs(written)
            if isinstance(written, tuple) and not 1 <= len(refs) <= MAX_GSI_KEY_ATTRIBUTES:
                # GSI KeySchema: up to 4 HASH and 4 RANGE elements (developer guide,
                # "Multi-attribute keys"); an empty list is no key at all
                report.add(path, f"{field_name} lists {len(refs)} attributes: a GSI key has 1 "
                           f"to {MAX_GSI_KEY_ATTRIBUTES}", "write one attribute, or a list of "
                           f"up to {MAX_GSI_KEY_ATTRIBUTES}")
                ok = False
            uses += [((*path, j) if isinstance(written, tuple) else path, ref)
                     for j, ref in enumerate(refs)]
    for i, lsi in enumerate(settings.local_secondary_indexes):
        uses.append((("local_secondary_indexes", i, "range_key"), lsi.range_key))

    types: dict[str, tuple[AttributeType, Path_]] = {}
    for name, type_ in declared.items():
        types[name] = (type_, ("attributes", name))
    for path, ref in uses:
        if not 1 <= len(ref.name.encode()) <= 255:
            report.add((*path, "name"), "key attribute names are 1-255 bytes long")
            ok = False
            continue
        if ref.type is None:
            continue
        seen = types.get(ref.name)
        if seen is None:
            types[ref.name] = (ref.type, (*path, "type"))
        elif seen[0] != ref.type:
            report.add((*path, "type"),
                       f"attribute '{ref.name}' is given two types: {seen[0]} and {ref.type}",
                       "an attribute has one type in every key and index that uses it")
            ok = False
    for path, ref in uses:
        if ref.type is None and ref.name not in types:
            ok = False
            if any(r[:2] == ("attributes", ref.name) for r in report.removed):
                continue  # its declared type was wrong, and that is already reported
            report.add(path, f"key attribute '{ref.name}' has no type",
                       f"write {{name: {ref.name}, type: S}} or declare it under attributes")
    if not ok:
        return None

    def key(ref: KeyRef) -> Key:
        return Key(name=ref.name, type=types[ref.name][0])

    used = {ref.name for _, ref in uses}
    for name in declared:
        if name not in used:
            report.add(("attributes", name),
                       f"attribute '{name}' is declared but no key or index uses it; "
                       "DynamoDB rejects unused attribute definitions, so it will not be sent",
                       "remove it, or add the index that uses it", severity="warning")
    partition = key(settings.partition_key)
    sort = key(settings.sort_key) if settings.sort_key is not None else None
    gsis = [GlobalSecondaryIndex(
        name=g.name, hash_key=key(_gsi_key_refs(g.hash_key)[0]),
        more_hash_keys=tuple(key(r) for r in _gsi_key_refs(g.hash_key)[1:]),
        range_key=key(_gsi_key_refs(g.range_key)[0]) if g.range_key is not None else None,
        more_range_keys=tuple(key(r) for r in _gsi_key_refs(g.range_key)[1:]),
        projection_type=g.projection_type,
        non_key_attributes=tuple(sorted(g.non_key_attributes)),
        warm_throughput=g.warm_throughput)
        for g in settings.global_secondary_indexes]
    lsis = [LocalSecondaryIndex(
        name=i.name, range_key=key(i.range_key), projection_type=i.projection_type,
        non_key_attributes=tuple(sorted(i.non_key_attributes)))
        for i in settings.local_secondary_indexes]
    attributes = {ref.name: key(ref) for _, ref in uses}
    return partition, sort, gsis, lsis, attributes


MAX_GSI_KEY_ATTRIBUTES = 4  # per GSI key (HASH, RANGE): multi-attribute keys


def _gsi_key_refs(written: KeyRef | tuple[KeyRef, ...] | None) -> tuple[KeyRef, ...]:
    """A GSI key's attributes, in order: one written alone, or the list written."""
    if written is None:
        return ()
    return written if isinstance(written, tuple) else (written,)


def _check_indexes(report: _Reporter, settings: TableSettings) -> None:
    gsis = settings.global_secondary_indexes
    lsis = settings.local_secondary_indexes
    if len(gsis) > MAX_GSIS:
        report.add(("global_secondary_indexes", MAX_GSIS),
                   f"{len(gsis)} global secondary indexes: DynamoDB allows {MAX_GSIS} per table",
                   "merge indexes (overloaded keys) or ask AWS support for a higher quota")
    if len(lsis) > MAX_LSIS:
        report.add(("local_secondary_indexes", MAX_LSIS),
                   f"{len(lsis)} local secondary indexes: DynamoDB allows at most {MAX_LSIS}")
    if lsis and settings.sort_key is None:
        report.add(("local_secondary_indexes",),
                   "local secondary indexes need a table with a sort key",
                   "add sort_key to the table, or use a global secondary index")
    seen: dict[str, Path_] = {}
    projected = 0
    indexed: list[tuple[str, int, GsiSettings | LsiSettings]] = [
        ("global_secondary_indexes", i, g) for i, g in enumerate(gsis)]
    indexed += [("local_secondary_indexes", i, x) for i, x in enumerate(lsis)]
    for group, i, index in indexed:
        path: Path_ = (group, i)
        if not _AWS_NAME.fullmatch(index.name):
            report.add((*path, "name"), f"index name {index.name!r} is not a valid DynamoDB name",
                       "index names are 3-255 characters of a-z, A-Z, 0-9, '_', '-' and '.'")
        if index.name in seen:
            report.add((*path, "name"), f"duplicate index name '{index.name}'",
                       "index names must be unique across a table's GSIs and LSIs")
        seen.setdefault(index.name, path)
        if index.projection_type == "INCLUDE" and not index.non_key_attributes:
            report.add((*path, "projection_type"),
                       f"index '{index.name}' projects INCLUDE but lists no non_key_attributes",
                       "list the attributes to project, or use KEYS_ONLY")
        if index.projection_type != "INCLUDE" and index.non_key_attributes:
            report.add((*path, "non_key_attributes"),
                       f"index '{index.name}' lists non_key_attributes with projection "
                       f"{index.projection_type}; DynamoDB accepts them only with INCLUDE",
                       "use projection_type: INCLUDE, or remove non_key_attributes")
        _check_projected(report, (*path, "non_key_attributes"), index.non_key_attributes)
        before = projected
        projected += len(index.non_key_attributes)
        if before <= MAX_PROJECTED < projected:
            report.add((*path, "non_key_attributes"),
                       f"{projected} projected non-key attributes across the table's indexes: "
                       f"DynamoDB allows {MAX_PROJECTED} in total (repeats count again)",
                       "project ALL on one index instead of listing many attributes")


def _check_projected(report: _Reporter, path: Path_, names: tuple[str, ...]) -> None:
    """One index's NonKeyAttributes: 1-20 names, each 1-255 bytes, none twice."""
    if len(names) > MAX_PROJECTED_PER_INDEX:
        report.add(path, f"{len(names)} non_key_attributes: DynamoDB projects at most "
                   f"{MAX_PROJECTED_PER_INDEX} per index", "project ALL instead of listing them")
    seen: set[str] = set()
    for j, attribute in enumerate(names):
        if not 1 <= len(attribute.encode()) <= MAX_NAME_BYTES:
            report.add((*path, j), f"projected attribute names are 1-{MAX_NAME_BYTES} bytes "
                       f"long ({len(attribute.encode())} here)")
        elif attribute in seen:
            report.add((*path, j), f"'{attribute}' is listed twice: DynamoDB rejects two "
                       "projected attributes with the same name", "list each attribute once")
        seen.add(attribute)


def _check_key_schemas(report: _Reporter, settings: TableSettings) -> None:
    """No key schema may name one attribute twice (DynamoDB: "Two keys can not have the same
    name"): the table's sort key, a GSI's range key and an LSI's sort key must each differ
    from the hash key they go with (an LSI's is the table's partition key)."""
    partition = settings.partition_key.name
    hint = "a key schema needs two different attributes; leave the sort/range key out instead"
    same = "DynamoDB rejects two keys with the same name"
    if settings.sort_key is not None and settings.sort_key.name == partition:
        report.add(("sort_key", "name"),
                   f"the sort key '{partition}' is also the partition key: {same}", hint)
    for i, g in enumerate(settings.global_secondary_indexes):
        hash_refs, range_refs = _gsi_key_refs(g.hash_key), _gsi_key_refs(g.range_key)
        if not isinstance(g.hash_key, tuple) and not isinstance(g.range_key, tuple):
            if range_refs and range_refs[0].name == hash_refs[0].name:
                report.add(("global_secondary_indexes", i, "range_key", "name"),
                           f"index '{g.name}': the range key '{hash_refs[0].name}' is also "
                           f"its hash key: {same}", hint)
            continue
        # a multi-attribute key names each attribute once, across both keys
        seen: set[str] = set()
        for field_name, written, refs in (("hash_key", g.hash_key, hash_refs),
                                          ("range_key", g.range_key, range_refs)):
            for j, ref in enumerate(refs):
                if ref.name in seen:
                    where: Path_ = ("global_secondary_indexes", i, field_name)
                    report.add((*where, j, "name") if isinstance(written, tuple)
                               else (*where, "name"),
                               f"index '{g.name}': attribute '{ref.name}' is named twice in its "
                               f"keys: {same}", "each key attribute of an index appears once")
                seen.add(ref.name)
    for i, lsi in enumerate(settings.local_secondary_indexes):
        if lsi.range_key.name == partition:
            report.add(("local_secondary_indexes", i, "range_key", "name"),
                       f"index '{lsi.name}': the range key '{partition}' is the table's "
                       f"partition key, the hash key of every LSI: {same}",
                       "an LSI sorts the table's partition by another attribute")


def _check_features(report: _Reporter, settings: TableSettings, env: Environment,
                    attributes: dict[str, Key], name: str, conventions: Conventions) -> None:
    days = settings.point_in_time_recovery.recovery_period_days
    if not 1 <= days <= 35:
        report.add(("point_in_time_recovery", "recovery_period_days"),
                   f"recovery_period_days is {days}: PITR keeps 1 to 35 days")
    ttl = settings.ttl
    if not 1 <= len(ttl.attribute_name.encode()) <= 255:
        report.add(("ttl", "attribute_name"), "the TTL attribute name must be 1-255 bytes")
    elif ttl.enabled and ttl.attribute_name in attributes and \
            attributes[ttl.attribute_name].type != "N":
        report.add(("ttl", "attribute_name"),
                   f"TTL attribute '{ttl.attribute_name}' is a key of type "
                   f"{attributes[ttl.attribute_name].type}; TTL only acts on Number values "
                   "(epoch seconds)", severity="warning")

    throughput = settings.on_demand_throughput
    if throughput is not None:
        quotas = conventions.quotas
        for fname, quota, quota_name in (
                ("max_read_request_units", quotas.table_read_request_units,
                 "table_read_request_units"),
                ("max_write_request_units", quotas.table_write_request_units,
                 "table_write_request_units")):
            value = getattr(throughput, fname)
            if value is not None and value != -1 and value < 1:
                report.add(("on_demand_throughput", fname),
                           f"{fname} is {value}: use a positive number, or -1 for no cap")
            elif value is not None and value > quota:
                # DynamoDB: "Cannot increase provisioned throughput to more than 40,000 units
                # per table" (the default, adjustable per-table quota; Service Quotas)
                report.add(("on_demand_throughput", fname),
                           f"{fname} is {value}: above the account's per-table quota of "
                           f"{quota:,} request units, which DynamoDB refuses",
                           f"lower it (or -1 for no cap); if the quota was raised for the "
                           f"account, set conventions.quotas.{quota_name}")

    _check_warm_throughput(report, settings)
    _check_replicas(report, settings, env)
    _check_consistency(report, settings, env)
    _check_encryption(report, settings)
    _check_backup(report, settings, env.physical_name(name))
    _check_alarms(report, settings)
    _check_kinesis(report, settings, env)


# "A new on-demand table starts with warm throughput of 12,000 read units/s and 4,000 write
# units/s" (developer guide, warm throughput scenarios), and so does a new on-demand GSI:
# CreateTable refuses less ("Requested ReadUnitsPerSecond for WarmThroughput ... is lower than
# initial throughput for OnDemand"), and warm throughput is never lowered after
MIN_WARM_READ = 12_000
MIN_WARM_WRITE = 4_000
MAX_WARM = 2**63 - 1  # WarmThroughput values are Longs (API reference)


def _check_warm_throughput(report: _Reporter, settings: TableSettings) -> None:
    where: list[tuple[Path_, Any]] = [(("warm_throughput",), settings.warm_throughput)]
    where += [(("global_secondary_indexes", i, "warm_throughput"), g.warm_throughput)
              for i, g in enumerate(settings.global_secondary_indexes)]
    for path, warm in where:
        if warm is None:
            continue
        for fname, least in (("read_units_per_second", MIN_WARM_READ),
                             ("write_units_per_second", MIN_WARM_WRITE)):
            value = getattr(warm, fname)
            if not least <= value <= MAX_WARM:
                report.add((*path, fname),
                           f"{fname} is {value}: an on-demand table or index starts at "
                           f"{least:,} and warm throughput only goes up from there",
                           f"use at least {least:,}, or leave warm_throughput out (AWS's "
                           "default, not managed)")


def _check_replicas(report: _Reporter, settings: TableSettings, env: Environment) -> None:
    seen: set[str] = set()
    for i, replica in enumerate(settings.replicas):
        region = replica.region
        path = _replica_path(report, i)
        if not _REGION.fullmatch(region):
            report.add(path, f"{region!r} is not an AWS region name", "e.g. eu-west-1")
        elif (unknown := region_problem(region)) is not None:
            report.add(path, unknown, nearest(region))
        elif region == env.region:
            report.add(path, f"replica region {region} is the table's own region",
                       "a replica must be in another region than the table's")
        elif region in seen:
            report.add(path, f"replica region {region} is listed twice",
                       "list each replica region once (as a name or as a mapping)")
        seen.add(region)
        pitr = replica.point_in_time_recovery
        if pitr is not None and not 1 <= pitr.recovery_period_days <= 35:
            # UpdateContinuousBackups: RecoveryPeriodInDays 1..35 (API reference)
            report.add(("replicas", i, "point_in_time_recovery", "recovery_period_days"),
                       f"recovery_period_days is {pitr.recovery_period_days}: PITR keeps 1 to "
                       "35 days", "a number of days from 1 to 35 (AWS's default is 35)")
    if settings.replicas:
        stream = settings.stream
        if not stream.enabled or stream.view_type != "NEW_AND_OLD_IMAGES":
            where: Path_ = ("stream", "view_type") if stream.enabled else ("stream", "enabled")
            if not report.written(where):
                where = ("replicas",)
            report.add(where,
                       "replicas (global tables) require streams enabled with NEW_AND_OLD_IMAGES",
                       "set stream: {enabled: true, view_type: NEW_AND_OLD_IMAGES}")


# Multi-Region strong consistency (MRSC) is offered in these Region sets only; the replicas
# and the witness are all in one set (API reference, CreateGlobalTableWitnessGroupMemberAction)
MRSC_REGION_SETS = (
    ("US", ("us-east-1", "us-east-2", "us-west-2")),
    ("EU", ("eu-west-1", "eu-west-2", "eu-west-3", "eu-central-1")),
    ("AP", ("ap-northeast-1", "ap-northeast-2", "ap-northeast-3")),
)
# "A MRSC global table can be configured with either three replicas, or with two replicas
# and one witness" (same page): the table's Region counts as one of them
MRSC_MEMBERS = 3


def _mrsc_sets() -> str:
    return "; ".join(f"{name}: {', '.join(regions)}" for name, regions in MRSC_REGION_SETS)


def _check_consistency(report: _Reporter, settings: TableSettings, env: Environment) -> None:
    """MRSC: three Regions of one set (a witness counting), the witness apart from them."""
    witness = settings.witness_region
    regions = _replica_regions(settings)
    if settings.consistency != "strong":
        if witness is not None:
            # a witness only exists in an MRSC global table (GlobalTableWitnessGroupUpdate)
            report.add(("witness_region",), "witness_region is only used with "
                       "consistency: strong", "set consistency: strong, or remove witness_region")
        return
    if witness is not None and not _REGION.fullmatch(witness):
        report.add(("witness_region",), f"{witness!r} is not an AWS region name", "e.g. us-west-2")
        return
    if witness is not None and (witness == env.region or witness in regions):
        report.add(("witness_region",), f"witness region {witness} holds the table or one of "
                   "its replicas", "the witness must be in a third Region, apart from them")
        return
    if len(regions) + (witness is not None) != MRSC_MEMBERS - 1:
        report.add(("consistency",), "consistency: strong (MRSC) takes three Regions: the "
                   f"table's and two replicas, or one replica and a witness_region; this table "
                   f"has {len(regions)} replica(s) and {'a' if witness else 'no'} witness",
                   "list two replicas, or one replica and witness_region")
        return
    home = next((name for name, rs in MRSC_REGION_SETS if env.region in rs), None)
    if home is None:
        report.add(("consistency",), f"consistency: strong (MRSC) is not offered in the "
                   f"table's region {env.region}: it is in no MRSC Region set "
                   f"({_mrsc_sets()})", "keep consistency: eventual for this table, or deploy "
                   "it in an environment whose region is in one of these sets")
        return
    allowed = dict(MRSC_REGION_SETS)[home]
    for i, region in enumerate(regions):
        if region not in allowed:
            report.add(_replica_path(report, i), f"replica region {region} is not in the "
                       f"{home} MRSC Region set of the table's region {env.region} "
                       f"({', '.join(allowed)})", "all three Regions of an MRSC table are in "
                       "one set")
    if witness is not None and witness not in allowed:
        report.add(("witness_region",), f"witness region {witness} is not in the {home} MRSC "
                   f"Region set of the table's region {env.region} ({', '.join(allowed)})",
                   "all three Regions of an MRSC table are in one set")


def _policy(report: _Reporter, settings: TableSettings, path: Path_) -> ResourcePolicy | None:
    """The effective resource policy at ``path`` (spec/policy.py checks the document)."""
    written = settings.resource_policy if path == ("resource_policy",) else \
        settings.stream.resource_policy
    if path[0] == "stream" and written not in (None, "none") and not settings.stream.enabled:
        # "You can only attach a resource-based policy to existing streams" (DynamoDB guide)
        report.add(path, "a stream policy needs the stream: stream.enabled is false",
                   "enable the stream, or remove stream.resource_policy")
        return None
    origin, _ = report.merged.locate((*path, "file"))
    return effective_policy(written, origin.file if origin is not None else None,
                            lambda sub, message, hint: report.add((*path, *sub), message, hint))


def _replica_path(report: _Reporter, i: int) -> Path_:
    """Where replica ``i``'s region was written: the entry itself, or its ``region`` key."""
    mapped: Path_ = ("replicas", i, "region")
    return mapped if report.written(mapped) else ("replicas", i)


def _check_encryption(report: _Reporter, settings: TableSettings) -> None:
    enc = settings.encryption
    if enc.type == "CUSTOMER_MANAGED":
        if not enc.kms_key_arn:
            report.add(("encryption", "kms_key_arn"),
                       "CUSTOMER_MANAGED encryption needs kms_key_arn")
        elif not _KMS_KEY.fullmatch(enc.kms_key_arn):
            report.add(("encryption", "kms_key_arn"),
                       f"'{enc.kms_key_arn}' is not a KMS key ARN, alias or key id")
        for region in _replica_regions(settings):
            if region not in enc.replica_kms_key_arns:
                report.add(("encryption", "replica_kms_key_arns"),
                           f"replica region {region} has no KMS key",
                           "KMS keys are regional: give one per replica region")
    else:
        if enc.kms_key_arn:
            report.add(("encryption", "kms_key_arn"),
                       f"kms_key_arn is only used with CUSTOMER_MANAGED (type is {enc.type})")
        if enc.replica_kms_key_arns:
            report.add(("encryption", "replica_kms_key_arns"),
                       "replica_kms_key_arns is only used with CUSTOMER_MANAGED")
    for region in enc.replica_kms_key_arns:
        if region not in _replica_regions(settings):
            report.add(("encryption", "replica_kms_key_arns", region),
                       f"{region} is not a replica region of this table")


def _check_backup(report: _Reporter, settings: TableSettings, physical: str) -> None:
    backup = settings.backup
    if backup.enabled:
        for name_problem in backup_name_problems(physical):
            report.add(("backup", "enabled"), name_problem,
                       "AWS Backup and IAM limit these names (vault and selection 50 "
                       "characters, role 64): shorten the table name or its prefix")
    problem = cron_problem(backup.schedule)
    if problem:
        report.add(("backup", "schedule"), f"schedule '{backup.schedule}' {problem}",
                   "e.g. cron(0 2 * * ? *) for daily at 02:00 UTC")
    if not 1 <= backup.retention_days <= 365:
        report.add(("backup", "retention_days"),
                   f"retention_days is {backup.retention_days}: keep backups 1 to 365 days")
    cold = backup.cold_storage_after_days
    if cold is not None:
        if cold < 1:
            report.add(("backup", "cold_storage_after_days"),
                       "cold_storage_after_days must be at least 1")
        elif backup.retention_days < cold + 90:
            # AWS Backup: recovery points stay in cold storage at least 90 days
            report.add(("backup", "retention_days"),
                       f"retention_days ({backup.retention_days}) must be at least "
                       f"cold_storage_after_days + 90 ({cold + 90}): AWS Backup keeps "
                       "cold-storage backups at least 90 days",
                       f"raise retention_days to {cold + 90} or drop cold storage")


def _check_alarms(report: _Reporter, settings: TableSettings) -> None:
    alarms = settings.alarms
    for group in ("alarm_actions", "ok_actions"):
        for i, arn in enumerate(getattr(alarms, group)):
            if not _SNS_ARN.fullmatch(arn):
                report.add(("alarms", group, i), f"'{arn}' is not an SNS topic ARN",
                           "e.g. arn:aws:sns:af-south-1:123456789012:dynamodb-alarms")
    for name in ("system_errors", "throttled_requests", "read_throttle_events",
                 "write_throttle_events", "replication_latency", "user_errors"):
        rule: AlarmRule = getattr(alarms, name)
        base: Path_ = ("alarms", name)
        # CloudWatch: period 10, 30 or a multiple of 60 seconds
        if rule.period not in (10, 30) and (rule.period < 60 or rule.period % 60):
            report.add((*base, "period"), f"period {rule.period}s is not 10, 30 or a "
                       "multiple of 60 seconds", "DynamoDB metrics are per minute: use 60 or more")
        if rule.evaluation_periods < 1:
            report.add((*base, "evaluation_periods"), "evaluation_periods must be at least 1")
        elif rule.period * rule.evaluation_periods > 86400:
            report.add((*base, "evaluation_periods"),
                       "period x evaluation_periods exceeds one day, which CloudWatch rejects")
        if rule.threshold < 0:
            report.add((*base, "threshold"), "threshold must not be negative")


def _check_alarm_names(report: _Reporter, table: Table, settings: TableSettings,
                       name_origin: Origin) -> None:
    """CloudWatch alarm names are 1-255 characters: those derived from long table, index or
    environment names would make ``plan`` fail, so they are reported here, at the name."""
    # a generous bound on the longest derived name first (its suffixes are at most 30
    # characters, "-<index>-write-throttle-events" and "-replication-latency-<region>" at
    # most 23 and 21 more than the index or region): most tables need no alarms derived
    t = table.table_name
    bound = max(len(t) + 32, len(table.environment) + len(table.region) + 32,
                *(len(t) + len(g.name) + 25 for g in table.global_secondary_indexes),
                *(len(t) + len(r) + 23 for r in table.replicas))
    if bound <= 255:
        return
    longest: dict[Path_, str] = {}  # where to shorten -> the longest alarm name it makes
    gsis = {g.name: i for i, g in enumerate(settings.global_secondary_indexes)}
    replicas = {r: i for i, r in enumerate(_replica_regions(settings))}
    for alarm in alarm_names(table):
        if len(alarm.name) <= MAX_ALARM_NAME:
            continue
        where: Path_ = ()  # the table's name
        if alarm.index is not None:
            where = ("global_secondary_indexes", gsis[alarm.index], "name")
        elif alarm.replica is not None:
            where = _replica_path(report, replicas[alarm.replica])
        elif alarm.rule == "user_errors":
            where = ("alarms", "user_errors", "enabled")
        if len(alarm.name) > len(longest.get(where, "")):
            longest[where] = alarm.name
    if () in longest:  # the table's own alarms are too long: its name is what to shorten
        longest = {(): max(longest.values(), key=len)}
    hint = "shorten the table (or index) name, or turn that alarm off under alarms:"
    for where, name in longest.items():
        message = (f"the CloudWatch alarm name '{name[:40]}…' would be {len(name)} characters: "
                   f"CloudWatch allows {MAX_ALARM_NAME}")
        if where:
            report.add(where, message, hint)
        else:
            report.found.append(Diagnostic(name_origin.file, name_origin.line,
                                           name_origin.path or "table_name", message, hint))


def _check_tags(report: _Reporter, settings: TableSettings, conventions: Conventions) -> None:
    tags = settings.tags
    missing = [k for k in conventions.mandatory_tags if k not in tags]
    if missing:
        report.add(("tags",), f"missing mandatory tag(s): {', '.join(missing)}",
                   f"every table must carry {', '.join(conventions.mandatory_tags)}")
    # the resources around the table carry its tags plus their own Name and Component (and a
    # DR vault its Region): each of them must stay within AWS's 50 tags too
    added = {OWNERSHIP_TAG}
    if settings.alarms.enabled or settings.backup.enabled:
        added |= {"Name", "Component"}
    if settings.backup.enabled and settings.replicas and settings.backup.copy_to_replica_regions:
        added.add("Region")
    count = len(set(tags) | added)
    if count > MAX_TAGS:
        extra = ", ".join(sorted(added - set(tags)))
        report.add(("tags",), f"{len(tags)} tags (+{extra} added by tablesmith): AWS allows "
                   f"{MAX_TAGS} per resource", f"remove at least {count - MAX_TAGS} tag(s)")
    on_table = len(set(tags) | set(settings.table_tags) | {OWNERSHIP_TAG})
    if on_table > MAX_TAGS:
        report.add(("table_tags",), f"the table carries {on_table} tags with its table_tags: "
                   f"AWS allows {MAX_TAGS} per resource",
                   f"remove at least {on_table - MAX_TAGS} tag(s)")
    for setting, written in (("tags", tags), ("table_tags", settings.table_tags)):
        for key, value in written.items():
            if not 1 <= len(key) <= 128 or not _tag_text(key):
                report.add((setting, key), f"tag key {key!r} is not valid",
                           "1-128 letters, digits, spaces and _ . : / = + - @ (no tabs, "
                           "newlines or other control characters)")
            elif key.lower().startswith("aws:"):
                report.add((setting, key), f"tag key '{key}' uses the reserved prefix 'aws:'")
            if len(value) > 256 or not _tag_text(value):
                report.add((setting, key), f"tag value of {key!r} is not valid",
                           "0-256 letters, digits, spaces and _ . : / = + - @ (no tabs, "
                           "newlines or other control characters)")


def _tag_text(text: str) -> bool:
    """Does ``text`` match AWS's tag pattern ``[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*``?"""
    return all(unicodedata.category(c)[0] in "LZN" or c in _TAG_PUNCTUATION for c in text)


# --------------------------------------------------------------------------- kinesis

# a Kinesis data stream's ARN (Kinesis API reference, StreamARN; StreamName: 1-128 of
# [a-zA-Z0-9_.-]); EnableKinesisStreamingDestination takes 37-1024 characters, which
# every ARN of this shape has
_KINESIS_STREAM_ARN = re.compile(
    r"arn:(?P<partition>aws[a-z-]*):kinesis:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):"
    r"stream/(?P<name>[a-zA-Z0-9_.-]{1,128})")


def _kinesis_destinations(
        settings: TableSettings) -> tuple[KinesisStreamingDestination, ...] | None:
    """The destinations sorted by stream ARN (None: not managed)."""
    wanted = settings.kinesis_streaming_destinations
    return None if wanted is None else tuple(sorted(wanted, key=lambda d: d.stream_arn))


def _check_kinesis(report: _Reporter, settings: TableSettings, env: Environment) -> None:
    seen: set[str] = set()
    for i, destination in enumerate(settings.kinesis_streaming_destinations or ()):
        path: Path_ = ("kinesis_streaming_destinations", i, "stream_arn")
        arn = destination.stream_arn
        match = _KINESIS_STREAM_ARN.fullmatch(arn)
        if match is None:
            report.add(path, f"'{arn[:200]}' is not a Kinesis data stream ARN",
                       f"arn:{partition(env.region)}:kinesis:{env.region}:<account>:"
                       "stream/<name>")
        elif match["region"] != env.region:
            # DynamoDB streams only to a Kinesis data stream of the table's own account and
            # Region (Kinesis Data Streams for DynamoDB)
            report.add(path, f"the stream is in {match['region']}, the table in {env.region}: "
                       "DynamoDB streams only to a Kinesis data stream in the table's Region",
                       f"create the stream in {env.region}")
        elif match["partition"] != partition(env.region):
            report.add(path, f"partition '{match['partition']}' is not that of {env.region} "
                       f"('{partition(env.region)}')",
                       f"arn:{partition(env.region)}:kinesis:{env.region}:...")
        if arn in seen:
            # one destination per stream: AWS refuses to enable one that is already enabled
            report.add(path, f"stream {arn} is listed twice",
                       "list each stream once, with the timestamp_precision it should have")
        seen.add(arn)
