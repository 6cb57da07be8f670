"""Effective tables -> the native YAML spec, every setting written out, deterministically.

Every setting of every table is explicit, so the built-in defaults of the environment
(dev's daily backups, prod's deletion protection and replica, …) never change what the file
means. Mappings whose order means nothing (tags, tables) are sorted; lists keep the model's
order, which is already sorted (indexes by name, replicas by region). Strings are quoted
unless plainly a name, because the spec loader reads YAML 1.2 (``1e5`` is a number there,
``yes`` a string) while PyYAML writes for YAML 1.1.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import yaml

from tablesmith.spec.model import OWNERSHIP_TAG, Conventions

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence
    from pathlib import Path

    from tablesmith.spec.model import AlarmRule, Environment, Key, Table

_PLAIN = re.compile(r"[A-Za-z][A-Za-z0-9_./-]*")
_RESERVED = {"true", "false", "null", "yes", "no", "on", "off", "y", "n", "nan", "inf"}
ALARM_RULES = (
    "system_errors",
    "throttled_requests",
    "read_throttle_events",
    "write_throttle_events",
    "replication_latency",
    "user_errors",
)


class _Flow(dict[str, Any]):
    """A mapping written on one line: ``{name: PK, type: S}``."""


class _FlowList(list[Any]):
    """A list written on one line: ``[dev]``."""


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    plain = _PLAIN.fullmatch(value) is not None and value.lower() not in _RESERVED
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=None if plain else '"')


def _flow(dumper: yaml.SafeDumper, value: _Flow) -> yaml.MappingNode:
    return dumper.represent_mapping("tag:yaml.org,2002:map", value.items(), flow_style=True)


def _flow_list(dumper: yaml.SafeDumper, value: _FlowList) -> yaml.SequenceNode:
    return dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=True)


def _block(dumper: yaml.SafeDumper, value: dict[str, Any]) -> yaml.MappingNode:
    return dumper.represent_mapping("tag:yaml.org,2002:map", value.items(), flow_style=False)


_Dumper.add_representer(str, _str)
_Dumper.add_representer(_Flow, _flow)
_Dumper.add_representer(_FlowList, _flow_list)
_Dumper.add_representer(dict, _block)


def render_spec(
    env: Environment,
    conventions: Conventions,
    tables: Sequence[Table],
    *,
    claimed: Iterable[str] = (),
    header: Sequence[str] = (),
) -> str:
    """The YAML spec of ``tables`` in ``env`` (physical names in ``claimed`` keep or get
    the ownership tag; the others are written with ``tablesmith:managed: null``)."""
    owned = set(claimed)
    document: dict[str, Any] = {"version": 1}
    written = _conventions(conventions)
    if written:
        document["conventions"] = written
    document["environments"] = {env.name: _Flow(_environment(env))}
    document["tables"] = {
        t.name: table_settings(t, env, claim=t.table_name in owned)
        for t in sorted(tables, key=lambda t: t.name)
    }
    text = yaml.dump(
        document,
        Dumper=_Dumper,
        sort_keys=False,
        width=100,
        allow_unicode=True,
        default_flow_style=False,
    )
    lines = [f"# {line}".rstrip() for line in header]
    return "\n".join(lines) + ("\n" if lines else "") + text


def _environment(env: Environment) -> dict[str, Any]:
    placement: dict[str, Any] = {"region": env.region}
    if env.table_prefix:
        placement["table_prefix"] = env.table_prefix
    if env.table_suffix:
        placement["table_suffix"] = env.table_suffix
    return placement


def _conventions(conventions: Conventions) -> dict[str, Any]:
    """Only what differs from the built-in conventions."""
    default = Conventions()
    written: dict[str, Any] = {}
    if conventions.mandatory_tags != default.mandatory_tags:
        written["mandatory_tags"] = _FlowList(conventions.mandatory_tags)
    if conventions.table_name_pattern != default.table_name_pattern:
        written["table_name_pattern"] = conventions.table_name_pattern
    if conventions.quotas != default.quotas:
        written["quotas"] = _Flow(conventions.quotas.model_dump())
    return written


def _key(key: Key) -> _Flow:
    return _Flow(name=key.name, type=key.type)


def _projection(projection_type: str, non_key: Sequence[str]) -> dict[str, Any]:
    out: dict[str, Any] = {"projection_type": projection_type}
    if non_key:
        out["non_key_attributes"] = _FlowList(non_key)
    return out


def table_settings(t: Table, env: Environment, *, claim: bool) -> dict[str, Any]:
    """One table's settings, each written out (the order of the spec model)."""
    body: dict[str, Any] = {
        "only_in": _FlowList([env.name]),
        "partition_key": _key(t.partition_key),
    }
    if t.sort_key is not None:
        body["sort_key"] = _key(t.sort_key)
    if t.global_secondary_indexes:
        body["global_secondary_indexes"] = [
            {
                "name": g.name,
                "hash_key": _key(g.hash_key),
                **({"range_key": _key(g.range_key)} if g.range_key else {}),
                **_projection(g.projection_type, g.non_key_attributes),
            }
            for g in t.global_secondary_indexes
        ]
    if t.local_secondary_indexes:
        body["local_secondary_indexes"] = [
            {
                "name": i.name,
                "range_key": _key(i.range_key),
                **_projection(i.projection_type, i.non_key_attributes),
            }
            for i in t.local_secondary_indexes
        ]
    body["billing_mode"] = t.billing_mode
    caps = t.on_demand_throughput
    if caps is not None:
        body["on_demand_throughput"] = _Flow(
            {k: v for k, v in caps.model_dump().items() if v is not None}
        )
    body["point_in_time_recovery"] = _Flow(t.point_in_time_recovery.model_dump())
    body["ttl"] = _Flow(t.ttl.model_dump())
    body["stream"] = _Flow(t.stream.model_dump())
    encryption: dict[str, Any] = {"type": t.encryption.type}
    if t.encryption.kms_key_arn:
        encryption["kms_key_arn"] = t.encryption.kms_key_arn
    if t.encryption.replica_kms_key_arns:
        encryption["replica_kms_key_arns"] = dict(sorted(t.encryption.replica_kms_key_arns.items()))
    body["encryption"] = encryption
    body["deletion_protection"] = t.deletion_protection
    body["table_class"] = t.table_class
    body["replicas"] = _FlowList(t.replicas)
    if t.backup is not None:
        backup = t.backup.model_dump()
        if backup["cold_storage_after_days"] is None:
            del backup["cold_storage_after_days"]
        body["backup"] = backup
    if t.alarms is not None:
        a = t.alarms
        body["alarms"] = {
            "enabled": a.enabled,
            "alarm_actions": _FlowList(a.alarm_actions),
            "ok_actions": _FlowList(a.ok_actions),
            **{name: _rule(getattr(a, name)) for name in ALARM_RULES},
        }
    if t.resource_tags is None:
        body["tags"] = written_tags(t.tags, env, claim=claim)
    else:  # some tags are the table's alone (the module's Name and Type)
        body["tags"] = written_tags(t.resource_tags, env, claim=claim)
        body["table_tags"] = {
            k: v for k, v in sorted(t.tags.items()) if t.resource_tags.get(k) != v
        }
    return body


def _rule(rule: AlarmRule) -> _Flow:
    return _Flow(rule.model_dump())


def written_tags(tags: Mapping[str, str], env: Environment, *, claim: bool) -> dict[str, Any]:
    """The tags as the spec writes them: the ownership tag is the loader's to add (or not:
    null), and so is the ``Environment`` tag the built-in layers add (null when absent)."""
    out: dict[str, Any] = {k: v for k, v in sorted(tags.items()) if k != OWNERSHIP_TAG}
    if "Environment" not in out:
        out["Environment"] = None
    if not claim:
        out[OWNERSHIP_TAG] = None
    return dict(sorted(out.items()))


def write_spec(directory: Path, env_name: str, text: str, *, force: bool) -> Path:
    """Write ``text`` to ``directory/<env>.yaml``; an existing file only with ``force``."""
    from tablesmith.errors import UsageError

    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", env_name):
        raise UsageError(f"environment name {env_name!r} cannot be a file name")
    return write_file(directory, f"{env_name}.yaml", text, force=force)


def write_file(directory: Path, name: str, text: str, *, force: bool) -> Path:
    """Write ``text`` to ``directory/name``; an existing file only with ``force``.

    Symlinks are never followed: the directory and the file are opened with ``O_NOFOLLOW``
    (a symlinked directory or file is refused, not written through).
    """
    import errno
    import os

    from tablesmith.errors import UsageError

    nofollow = getattr(os, "O_NOFOLLOW", 0)
    directory.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | nofollow)
    except OSError as exc:
        if os.path.islink(directory):
            raise UsageError(f"{directory} is a symlink; give the real directory with -o") from None
        raise UsageError(
            f"cannot use {directory} as the output directory: {exc.strerror}"
        ) from None
    target = directory / name
    # O_NONBLOCK: a FIFO planted at the name must not hang the command (it is refused below)
    flags = (
        os.O_WRONLY | os.O_CREAT | os.O_NONBLOCK | nofollow | (os.O_TRUNC if force else os.O_EXCL)
    )
    try:
        try:
            handle = os.open(name, flags, 0o666, dir_fd=fd)
        except FileExistsError:
            raise UsageError(f"{target} exists; pass --force to overwrite it") from None
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise UsageError(f"{target} is a symlink; refusing to write through it") from None
            raise UsageError(f"cannot write {target}: {exc.strerror}") from None
        import stat

        if not stat.S_ISREG(os.fstat(handle).st_mode):
            os.close(handle)
            raise UsageError(f"{target} is not a regular file; refusing to write it")
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
    finally:
        os.close(fd)
    return target
