"""Render effective specs (``tablesmith show``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Sequence

    from tablesmith.spec.model import Environment, Key, Table

SPEC_JSON_VERSION = 1


def render_spec_json(env: Environment, tables: Sequence[Table]) -> dict[str, Any]:
    """The stable JSON shape of ``show --json``: format version, environment, tables."""
    return {
        "format_version": SPEC_JSON_VERSION,
        "environment": env.model_dump(mode="json"),
        "tables": [t.model_dump(mode="json") for t in tables],
    }


def _key(key: Key | None) -> str:
    return f"{key.name} ({key.type})" if key else "-"


def render_spec_text(env: Environment, tables: Sequence[Table]) -> None:
    """A readable tree per table, on stdout."""
    from rich.console import Console
    from rich.tree import Tree

    console = Console()
    where = "embedded local target" if env.target == "local" else f"AWS {env.region}"
    console.print(f"[bold]Environment {env.name}[/] → {where}"
                  + (f" (profile {env.profile})" if env.profile else ""))
    if not tables:
        console.print("  (no tables)")
    for t in tables:
        tree = Tree(f"[bold cyan]{t.table_name}[/]" +
                    (f" (spec: {t.name})" if t.name != t.table_name else ""))
        keys = tree.add("keys")
        keys.add(f"partition: {_key(t.partition_key)}")
        keys.add(f"sort: {_key(t.sort_key)}")
        keys.add("attributes: " + ", ".join(f"{a.name}:{a.type}" for a in t.attribute_definitions))
        for g in t.global_secondary_indexes:
            proj = g.projection_type + (f" {list(g.non_key_attributes)}"
                                        if g.non_key_attributes else "")
            hash_, range_ = (" + ".join(_key(k) for k in ks) or "-"
                             for ks in (g.hash_keys(), g.range_keys()))
            tree.add(f"GSI {g.name}: {hash_} / {range_}, {proj}")
        for lsi in t.local_secondary_indexes:
            tree.add(f"LSI {lsi.name}: {_key(lsi.range_key)}, {lsi.projection_type}")
        cap = t.on_demand_throughput
        tree.add(f"billing: {t.billing_mode}" + (
            f" (max read {cap.max_read_request_units}, write {cap.max_write_request_units})"
            if cap else "") + f", class {t.table_class}")
        pitr = t.point_in_time_recovery
        tree.add("PITR: " + (f"on, {pitr.recovery_period_days} days" if pitr.enabled else "off"))
        tree.add(f"TTL: {'on (' + t.ttl.attribute_name + ')' if t.ttl.enabled else 'off'}")
        tree.add(f"stream: {t.stream.view_type if t.stream.enabled else 'off'}")
        enc = t.encryption
        tree.add(f"encryption: {enc.type}" + (f" ({enc.kms_key_arn})" if enc.kms_key_arn else ""))
        tree.add(f"deletion protection: {'on' if t.deletion_protection else 'off'}")
        replicas = tree.add(f"replicas: {', '.join(t.replicas) or 'none'}")
        # AWS gives every replica the table's GSIs (`output` shows what each one holds);
        # the JSON form leaves this out: it follows from the table's own indexes
        gsi_names = ", ".join(g.name for g in t.global_secondary_indexes) or "none"
        for region in t.replicas:
            replicas.add(f"{region}: GSIs {gsi_names}")
        b = t.backup
        if b is not None and b.enabled:
            tree.add(f"backup: {b.schedule}, kept {b.retention_days} days" + (
                f", cold after {b.cold_storage_after_days}" if b.cold_storage_after_days else "")
                + (", copied to the replica regions" if t.replicas and b.copy_to_replica_regions
                   else ""))
        else:
            tree.add("backup: off")
        a = t.alarms
        if a is not None and a.enabled:
            rules = [n for n in ("system_errors", "throttled_requests", "read_throttle_events",
                                 "write_throttle_events", "replication_latency", "user_errors")
                     if getattr(a, n).enabled]
            tree.add(f"alarms: {', '.join(rules)}; actions: {', '.join(a.alarm_actions) or 'none'}")
        else:
            tree.add("alarms: off")
        tree.add("tags: " + ", ".join(f"{k}={v}" for k, v in t.tags.items()))
        console.print(tree)
