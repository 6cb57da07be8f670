"""Outputs: every output of the module, read from live state (null where a feature is off).

The module's 17 outputs keep their names and shapes; tablesmith adds the maps the module
could not have (it allowed one replica and made three alarms): ``replica_table_arns``,
``replica_backup_vault_arns``, ``alarm_arns`` and ``replica_global_secondary_indexes`` (each
replica's GSIs as its own region describes them, in the shape of
``global_secondary_indexes``; null for a replica not yet readable). ``table_id`` is the
table's name, as the module's ``aws_dynamodb_table.this.id`` is (its description says "same
as name").
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tablesmith.around.registry import FAMILIES

if TYPE_CHECKING:
    from tablesmith.spec.model import GlobalSecondaryIndex, Table
    from tablesmith.state import LiveState

MODULE_OUTPUTS = (
    "table_name", "table_id", "table_arn", "table_stream_arn", "table_stream_label",
    "global_secondary_indexes", "gsi_arns", "backup_plan_id", "backup_vault_name",
    "backup_vault_arn", "replica_table_arn", "replica_region", "replica_backup_vault_arn",
    "user_errors_alarm_arn", "system_errors_alarm_arn", "throttled_requests_alarm_arn",
    "table_info",
)
# beyond the module, in this order after its outputs
EXTRA_OUTPUTS = ("replica_table_arns", "replica_backup_vault_arns", "alarm_arns",
                 "replica_global_secondary_indexes", "exists")


def table_outputs(table: Table, live: LiveState) -> dict[str, Any]:
    """The outputs of one table (``table`` is the spec's; values come from ``live``)."""
    current = live.tables.get(table.table_name)
    if current is None:
        return {name: None for name in MODULE_OUTPUTS} | {
            "table_name": table.table_name, "exists": False}
    t = current.table
    stream_on = t.stream.enabled
    replicas = {r.region: r.arn for r in current.replica_states}
    first_replica = sorted(replicas)[0] if replicas else None
    # the resources around the table answer their own outputs (a family's "table_info"
    # entries join the table's)
    around: dict[str, Any] = {}
    info: dict[str, Any] = {}
    for family in FAMILIES:
        answer = family.outputs(live.around.get(family.name), table)
        info.update(answer.pop("table_info", {}))
        around.update(answer)
    def gsi_list(gsis: tuple[GlobalSecondaryIndex, ...]) -> list[dict[str, Any]]:
        return [g.outline() for g in gsis]

    replica_gsis = {r.region: None if r.global_secondary_indexes is None
                    else gsi_list(r.global_secondary_indexes)
                    for r in sorted(current.replica_states, key=lambda r: r.region)}
    own = {
        "table_name": t.table_name,
        "table_id": t.table_name,
        "table_arn": current.arn,
        "table_stream_arn": current.stream_arn if stream_on else None,
        "table_stream_label": current.stream_label if stream_on else None,
        "global_secondary_indexes": gsi_list(t.global_secondary_indexes),
        "gsi_arns": {g.name: f"{current.arn}/index/{g.name}"
                     for g in t.global_secondary_indexes},
        "replica_table_arn": replicas[first_replica] if first_replica else None,
        "replica_region": first_replica,
        "table_info": {
            "name": t.table_name,
            "arn": current.arn,
            "partition_key": t.partition_key.name,
            "sort_key": t.sort_key.name if t.sort_key else None,
            "billing_mode": t.billing_mode,
            "stream_enabled": stream_on,
            "stream_arn": current.stream_arn if stream_on else None,
            "pitr_enabled": t.point_in_time_recovery.enabled,
            **info,
            "replication_enabled": bool(replicas),
        },
        # beyond the module
        "replica_table_arns": replicas,
        "replica_global_secondary_indexes": replica_gsis,
        "exists": True,
    }
    merged = {**own, **around}
    order = [*MODULE_OUTPUTS, *EXTRA_OUTPUTS]
    return dict(sorted(merged.items(), key=lambda kv: order.index(kv[0])
                       if kv[0] in order else len(order)))


def environment_outputs(tables: tuple[Table, ...], live: LiveState) -> dict[str, Any]:
    """``{logical table name: outputs}`` for an environment."""
    return {t.name: table_outputs(t, live) for t in tables}
