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
    OWNERSHIP_TAG,
    AlarmRule,
    AttributeType,
    Conventions,
    Environment,
    GlobalSecondaryIndex,
    GsiSettings,
    Key,
    KeyRef,
    LocalSecondaryIndex,
    LsiSettings,
    Table,
    TableSettings,
)
from tablesmith.spec.patterns import name_pattern
from tablesmith.spec.regions import nearest, region_problem
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
                path: Path_ = tuple(p for p in error["loc"] if p != "[key]")
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
        stream=settings.stream,
        encryption=settings.encryption,
        deletion_protection=settings.deletion_protection,
        table_class=settings.table_class,
        replicas=tuple(sorted(settings.replicas)),
        backup=settings.backup,
        alarms=settings.alarms,
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


def _normalise_keys(data: dict[str, Any]) -> dict[str, Any]:
    """Turn the shorthand ``hash_key: PK`` into ``{name: PK}`` so one model validates both."""

    def norm(value: Any) -> Any:
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
    loc: Path_ = tuple(p for p in error["loc"] if p != "[key]")
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


def _annotation_at(model: type[BaseModel], loc: Path_) -> Any:
    """The type annotation of the value at ``loc`` in ``model`` (None if there is none)."""
    current: Any = model
    for part in loc:
        current = _strip_optional(current)
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
    annotation = _strip_optional(annotation)
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
        current = _strip_optional(current)
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
    current = _strip_optional(current)
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
    for i, g in enumerate(settings.global_secondary_indexes):
        uses.append((("global_secondary_indexes", i, "hash_key"), g.hash_key))
        if g.range_key is not None:
            uses.append((("global_secondary_indexes", i, "range_key"), g.range_key))
    for i, lsi in enumerate(settings.local_secondary_indexes):
        uses.append((("local_secondary_indexes", i, "range_key"), lsi.range_key))

    types: dict[str, tuple[AttributeType, Path_]] = {}
    for name, type_ in declared.items():
        types[name] = (type_, ("attributes", name))
    ok = True
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
        name=g.name, hash_key=key(g.hash_key),
        range_key=key(g.range_key) if g.range_key is not None else None,
        projection_type=g.projection_type,
        non_key_attributes=tuple(sorted(g.non_key_attributes)))
        for g in settings.global_secondary_indexes]
    lsis = [LocalSecondaryIndex(
        name=i.name, range_key=key(i.range_key), projection_type=i.projection_type,
        non_key_attributes=tuple(sorted(i.non_key_attributes)))
        for i in settings.local_secondary_indexes]
    attributes = {ref.name: key(ref) for _, ref in uses}
    return partition, sort, gsis, lsis, attributes


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
        if g.range_key is not None and g.range_key.name == g.hash_key.name:
            report.add(("global_secondary_indexes", i, "range_key", "name"),
                       f"index '{g.name}': the range key '{g.hash_key.name}' is also its hash "
                       f"key: {same}", hint)
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

    _check_replicas(report, settings, env)
    _check_encryption(report, settings)
    _check_backup(report, settings, env.physical_name(name))
    _check_alarms(report, settings)


def _check_replicas(report: _Reporter, settings: TableSettings, env: Environment) -> None:
    seen: set[str] = set()
    for i, region in enumerate(settings.replicas):
        path: Path_ = ("replicas", i)
        if not _REGION.fullmatch(region):
            report.add(path, f"{region!r} is not an AWS region name", "e.g. eu-west-1")
        elif (unknown := region_problem(region)) is not None:
            report.add(path, unknown, nearest(region))
        elif region == env.region:
            report.add(path, f"replica region {region} is the table's own region",
                       "a replica must be in another region than the table's")
        elif region in seen:
            report.add(path, f"replica region {region} is listed twice")
        seen.add(region)
    if settings.replicas:
        stream = settings.stream
        if not stream.enabled or stream.view_type != "NEW_AND_OLD_IMAGES":
            where: Path_ = ("stream", "view_type") if stream.enabled else ("stream", "enabled")
            if not report.written(where):
                where = ("replicas",)
            report.add(where,
                       "replicas (global tables) require streams enabled with NEW_AND_OLD_IMAGES",
                       "set stream: {enabled: true, view_type: NEW_AND_OLD_IMAGES}")


def _check_encryption(report: _Reporter, settings: TableSettings) -> None:
    enc = settings.encryption
    if enc.type == "CUSTOMER_MANAGED":
        if not enc.kms_key_arn:
            report.add(("encryption", "kms_key_arn"),
                       "CUSTOMER_MANAGED encryption needs kms_key_arn")
        elif not _KMS_KEY.fullmatch(enc.kms_key_arn):
            report.add(("encryption", "kms_key_arn"),
                       f"'{enc.kms_key_arn}' is not a KMS key ARN, alias or key id")
        for region in settings.replicas:
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
        if region not in settings.replicas:
            report.add(("encryption", "replica_kms_key_arns", region),
                       f"{region} is not a replica region of this table")


def _check_backup(report: _Reporter, settings: TableSettings, physical: str) -> None:
    backup = settings.backup
    if backup.enabled:
        from tablesmith.around.backup import backup_name_problems

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
    from tablesmith.around.alarms import MAX_ALARM_NAME, derived_alarms

    longest: dict[Path_, str] = {}  # where to shorten -> the longest alarm name it makes
    gsis = {g.name: i for i, g in enumerate(settings.global_secondary_indexes)}
    replicas = {r: i for i, r in enumerate(settings.replicas)}
    for alarm in derived_alarms(table):
        if len(alarm.name) <= MAX_ALARM_NAME:
            continue
        dimensions = alarm.dimensions or {}
        where: Path_ = ()  # the table's name
        if "GlobalSecondaryIndexName" in dimensions:
            where = ("global_secondary_indexes", gsis[dimensions["GlobalSecondaryIndexName"]],
                     "name")
        elif "ReceivingRegion" in dimensions:
            where = ("replicas", replicas[dimensions["ReceivingRegion"]])
        elif alarm.metric_name == "UserErrors":
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
