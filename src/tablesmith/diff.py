"""Diff: live state + desired tables -> ordered operations with hazards. Pure: no AWS here.

Algorithm, per table (tables are independent and may be applied concurrently):

1. Absent -> ``CreateTable`` (keys, GSIs, LSIs, stream, SSE, class, protection, tags in one
   call), then what CreateTable cannot set: PITR, TTL, replicas.
2. Key schema or LSIs differ -> ``ReplaceTable`` (REPLACES_TABLE): DynamoDB cannot change
   either in place, so the table and its items would be deleted and made again.
3. Otherwise, field by field, in the order AWS needs them applied:
   billing -> replica deletions (a stream cannot be turned off while replicas need it)
   -> stream off -> GSI deletions -> GSI creations (one per UpdateTable, deletes first so the
   20-GSI quota is never exceeded; a changed GSI is deleted and created again, and so is one
   that an ACTIVE replica lacks or holds in another version, since AWS cannot make a GSI on
   one replica but propagates the table's to all of them) -> stream on
   (replicas need it) -> SSE -> class -> on-demand caps -> warm throughput (raised only; a
   lower one is a PlanError) -> deletion protection -> PITR -> TTL
   -> tags -> replica creations, each followed by the replica's own deletion protection, PITR
   (the replica's own period where the spec gives one) and tags (AWS does not propagate
   them) -> the same settings of existing replicas.
4. A replica GSI the table lacks, or one still being built, is a plan notice (no operation
   can change it).
5. Tables that exist but are not in the spec are never touched, except owned orphans with
   ``prune`` (``DeleteTable``, DELETES_DATA).

Every hazard is attached here, where the operation is made, and so is every operation's
category (``plan.Category``): ``new`` for what is in the spec and not live, ``drift`` for what
exists and differs, ``module-defect`` where the live state is what the reference Terraform
module makes and the spec corrects one of its known defects (each with a one-line reason:
``MODULE_*`` below and in ``around/``), ``destroy`` for ``tablesmith destroy``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from tablesmith.around.registry import FAMILIES
from tablesmith.errors import PlanError
from tablesmith.handover import MANAGED_BY, tag_notice
from tablesmith.hazards import HazardCode
from tablesmith.plan import (
    Category,
    CreateGsi,
    CreateReplica,
    CreateStrongReplicas,
    CreateTable,
    DeleteGsi,
    DeleteReplica,
    DeleteStrongReplicas,
    DeleteTable,
    Op,
    Plan,
    ReplaceTable,
    TagResource,
    UntagResource,
    UpdateBillingMode,
    UpdateDeletionProtection,
    UpdateOnDemandThroughput,
    UpdatePitr,
    UpdateSse,
    UpdateStream,
    UpdateTableClass,
    UpdateTtl,
    UpdateWarmThroughput,
)
from tablesmith.spec.model import (
    OWNERSHIP_TAG,
    GlobalSecondaryIndex,
    PointInTimeRecovery,
    Stream,
    Table,
    TimeToLive,
    WarmThroughput,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from tablesmith.around.contract import ResourceFamily
    from tablesmith.state import FamilyState, LiveState, LiveTable, ReplicaState

Ops = list[Op]
OpT = TypeVar("OpT", bound=Op)

# the reference module's replica block (``replica { region_name, point_in_time_recovery }``)
# sets neither tags (no ``propagate_tags``) nor deletion protection, and AWS copies neither
MODULE_REPLICA_PROTECTION = (
    "the Terraform module protects only the primary table: its replica "
    "in {region} could be deleted on its own"
)
MODULE_REPLICA_TAGS = (
    "the Terraform module does not tag its replica (no propagate_tags) and "
    "AWS copies no tags: the replica in {region} has none"
)

_MIGRATE = (
    "to keep the data, create a new table with the new keys, copy the items "
    "(export to S3 + import, or a scan-and-write job), switch readers, then remove "
    "the old table"
)


def plan_environment(
    live: LiveState,
    desired: Sequence[Table],
    *,
    environment: str,
    prune: bool = False,
    lift_protection: bool = False,
) -> Plan:
    """The plan that makes AWS hold ``desired`` (and, with ``prune``, drops owned orphans)."""
    ops: Ops = []
    drift: list[str] = []
    for table in sorted(desired, key=lambda t: t.table_name):
        current = live.tables.get(table.table_name)
        ops += diff_table(current, table)
        ops += _around(live, table)
        if current is not None:
            drift += replica_index_notices(current, table)
    ops = _settle(live, ops, desired)
    orphans = sorted(live.orphans) if prune else []
    for name in orphans:
        orphan = live.tables.get(name)
        if orphan is not None:
            ops += _around_removal(live, name, orphan.table)
            ops += _removal(
                orphan, lift_protection, reason="not in the spec (--prune)", category=Category.DRIFT
            )
    ops, notices = _drop_unsupported(ops, live.unsupported)
    notices += tuple(_terraform_notices(live, ops))
    notices += tuple(n for family in FAMILIES
                     if (state := _state(live, family)) is not None
                     for n in family.notices(state, desired))
    notices += live.notes
    notices += tuple(drift)
    return Plan(
        environment=environment,
        region=live.region,
        desired=_sorted(desired),
        operations=tuple(ops),
        fingerprint=live.fingerprint([t.table_name for t in desired] + list(live.orphans)),
        orphans=tuple(sorted(live.orphans)),
        notices=notices,
    )


def _terraform_notices(live: LiveState, ops: Ops) -> list[str]:
    """Tables this plan changes that are tagged ManagedBy=Terraform: Terraform may still hold
    them, and would revert the plan (``tablesmith.handover``)."""
    key, value = MANAGED_BY
    changed = sorted({op.table for op in ops})
    return [
        tag_notice(name)
        for name in changed
        if (current := live.tables.get(name)) is not None and current.table.tags.get(key) == value
    ]


def _sorted(tables: Sequence[Table]) -> tuple[Table, ...]:
    """Tables by name, tags sorted: the same spec always gives the same plan JSON."""
    return tuple(
        t.model_copy(update={"tags": dict(sorted(t.tags.items()))})
        for t in sorted(tables, key=lambda t: t.table_name)
    )


def _around(live: LiveState, table: Table) -> Ops:
    """The operations of each resource family around one table (after the table's own: they
    need it)."""
    ops: Ops = []
    for family in FAMILIES:
        state = _state(live, family)
        if state is not None:
            ops += family.diff(state, table)
    return ops


def _around_removal(live: LiveState, name: str, table: Table) -> Ops:
    """The resources around a table about to be deleted go first, families in reverse."""
    ops: Ops = []
    for family in reversed(FAMILIES):
        state = _state(live, family)
        if state is not None:
            ops += family.diff_destroy(state, table)
    return ops


def _state(live: LiveState, family: ResourceFamily[Any]) -> FamilyState | None:
    """What ``family`` read (nothing read: nothing of it exists), or None where the endpoint
    does not serve it (then it is not planned)."""
    if family.name in live.unsupported:
        return None
    return live.around.get(family.name) or family.state_type()


def _settle(live: LiveState, ops: Ops, wanted_by: Sequence[Table]) -> Ops:
    """Each family's pass over the whole plan (resources that several tables share); none
    where the endpoint does not serve the family (it planned nothing there)."""
    for family in FAMILIES:
        state = _state(live, family)
        if state is not None:
            ops = family.settle(state, ops, wanted_by)
    return ops


# operations an endpoint without the feature cannot take (emulators: DynamoDB Local)
_FEATURE_OPS = {
    "tags": ("TagResource", "UntagResource"),
    "pitr": ("UpdatePitr",),
}
_FEATURE_NAMES = {
    "tags": "tagging",
    "pitr": "point-in-time recovery",
    **{family.name: family.title for family in FAMILIES},
}


def _drop_unsupported(ops: Ops, unsupported: tuple[str, ...]) -> tuple[Ops, tuple[str, ...]]:
    notices = []
    for feature in unsupported:
        names = _FEATURE_OPS.get(feature, ())
        ops = [op for op in ops if op.op not in names]
        notices.append(
            f"the endpoint does not implement {_FEATURE_NAMES[feature]}: it is not managed there"
        )
    return ops, tuple(notices)


def plan_destroy(
    live: LiveState,
    desired: Sequence[Table],
    *,
    environment: str,
    lift_protection: bool = False,
    remaining: Sequence[Table] = (),
) -> Plan:
    """The plan that removes every table of ``desired`` that exists, replicas first.

    ``remaining``: the environment's other tables (a ``--table`` destroy), which keep what
    they share with the destroyed ones.
    """
    ops: Ops = []
    for table in sorted(desired, key=lambda t: t.table_name):
        # destroying a table takes its backup plan and selection with it: DELETES_DATA (on
        # the table) is the decision that matters, so DISABLES_RECOVERY is not asked again
        ops += [
            _without(op, HazardCode.DISABLES_RECOVERY).model_copy(
                update={"category": Category.DESTROY}
            )
            for op in _around_removal(live, table.table_name, table)
        ]
        current = live.tables.get(table.table_name)
        if current is not None:
            ops += _removal(current, lift_protection, reason="destroy", category=Category.DESTROY)
    # the shared alarm stays while another table of the environment still wants it
    gone = {t.table_name for t in desired}
    ops = _settle(live, ops, [t for t in remaining if t.table_name not in gone])
    return Plan(
        environment=environment,
        region=live.region,
        destroy=True,
        desired=_sorted(desired),
        operations=tuple(ops),
        fingerprint=live.fingerprint([t.table_name for t in desired]),
    )


def _without(op: Any, code: HazardCode) -> Any:
    return op.model_copy(update={"hazards": tuple(h for h in op.hazards if h.code != code)})


def _removal(live: LiveTable, lift_protection: bool, *, reason: str, category: Category) -> Ops:
    """Delete a table: lift protection (if asked), replicas one by one, then the table."""
    t = live.table
    protected = [r.region for r in live.replica_states if r.deletion_protection]
    if t.deletion_protection:
        protected.insert(0, t.region)
    if protected and not lift_protection:
        raise PlanError(
            f"table '{t.table_name}' has deletion protection (in {', '.join(protected)}); "
            "to delete it anyway re-run with --lift-deletion-protection "
            "--allow-hazards DELETES_DATA"
        )
    ops: Ops = []
    if t.deletion_protection:
        ops.append(
            UpdateDeletionProtection(
                table=t.table_name,
                region=t.region,
                before=True,
                after=False,
                category=category,
                reason=f"{reason}: lift protection",
            )
        )
    for replica in live.replica_states:
        if replica.deletion_protection:
            ops.append(
                UpdateDeletionProtection(
                    table=t.table_name,
                    region=replica.region,
                    before=True,
                    after=False,
                    category=category,
                    reason=f"{reason}: lift protection",
                )
            )
        if t.consistency != "strong":
            ops.append(_delete_replica(t, replica.region, reason, category))
    if t.consistency == "strong" and live.replica_states:  # all at once, with the witness
        ops.append(_delete_strong(t, tuple(r.region for r in live.replica_states), reason,
                                  category))
    ops.append(
        DeleteTable(
            table=t.table_name,
            region=t.region,
            before=t,
            item_count=live.item_count,
            reason=reason,
            category=category,
        ).with_hazard(
            HazardCode.DELETES_DATA,
            f"table '{t.table_name}' and its ~{live.item_count} item(s) will be deleted",
            "take an on-demand backup first (aws dynamodb create-backup)",
        )
    )
    return ops


def _delete_replica_ops(t: Table, replica: ReplicaState | None, region: str, reason: str) -> Ops:
    # both callers act on what the spec no longer holds as it is: drift
    """Delete one replica, lifting its own deletion protection first (AWS refuses otherwise)."""
    ops: Ops = []
    if replica is not None and replica.deletion_protection:
        ops.append(
            UpdateDeletionProtection(
                table=t.table_name,
                region=region,
                before=True,
                after=False,
                category=Category.DRIFT,
                reason=f"{reason}: lift the replica's protection",
            ).with_hazard(
                HazardCode.LIFTS_PROTECTION,
                f"deletion protection of '{t.table_name}' in {region} is lifted to delete it",
            )
        )
    return [*ops, _delete_replica(t, region, reason, Category.DRIFT)]


def _delete_replica(t: Table, region: str, reason: str, category: Category) -> Any:
    return DeleteReplica(
        table=t.table_name, region=t.region, replica_region=region, reason=reason, category=category
    ).with_hazard(
        HazardCode.DELETES_DATA,
        f"the replica of '{t.table_name}' in {region} and its copy of the data will be deleted",
        "make sure no application writes to that region first",
    )


def diff_table(live: LiveTable | None, want: Table) -> Ops:
    """The operations that turn ``live`` (None: absent) into ``want``, in apply order."""
    if live is None:
        return _create(want, reason="new table", category=Category.NEW)
    have = live.table
    if _structure(have) != _structure(want):
        return _replace(live, want)
    ops: Ops = []
    name, region = want.table_name, want.region
    if have.billing_mode != want.billing_mode:
        ops.append(
            UpdateBillingMode(
                table=name,
                region=region,
                before=have.billing_mode,
                after=want.billing_mode,
                category=Category.DRIFT,
            ).with_hazard(
                HazardCode.COST_CHANGE,
                "billing switches to on-demand; AWS allows one switch per 24 hours",
            )
        )
    _check_consistency(live, want)  # AWS cannot change a global table's mode
    if have.consistency == "strong" and have.replicas and not want.replicas:
        ops += _delete_strong_ops(want, live, "replicas not in the spec")
    for region_gone in sorted(set(have.replicas) - set(want.replicas)):
        if have.consistency == "strong":
            break  # all of them go together (above)
        ops += _delete_replica_ops(
            want, live.replica(region_gone), region_gone, "replica not in the spec"
        )
    ops += _stream_off(have, want)
    ops += _indexes(live, want)
    ops += _stream_on(have, want)
    if have.encryption != want.encryption:
        ops.append(
            UpdateSse(
                table=name,
                region=region,
                before=have.encryption,
                after=want.encryption,
                category=Category.DRIFT,
            )
        )
    if have.table_class != want.table_class:
        ops.append(
            UpdateTableClass(
                table=name,
                region=region,
                before=have.table_class,
                after=want.table_class,
                category=Category.DRIFT,
            ).with_hazard(
                HazardCode.COST_CHANGE,
                f"table class {have.table_class} -> {want.table_class} "
                "changes storage and request prices",
            )
        )
    if have.on_demand_throughput != want.on_demand_throughput:
        ops.append(
            UpdateOnDemandThroughput(
                table=name,
                region=region,
                before=have.on_demand_throughput,
                after=want.on_demand_throughput,
                category=Category.DRIFT,
            )
        )
    ops += _warm_throughputs(have, want, ops)
    ops += _settings(
        want,
        region,
        have.deletion_protection,
        have.point_in_time_recovery,
        None,
        replica=False,
        category=Category.DRIFT,
    )
    ops += _ttl(live, want)
    ops += _adopting(have, want, _tags(want, region, have.tags))
    live_regions = set(have.replicas)
    ops += _new_replicas(want, [r for r in want.replicas if r not in live_regions],
                         Category.NEW, live.item_count)
    for replica_region in want.replicas:
        state = live.replica(replica_region)
        if state is not None and state.status == "CREATING":
            # still being made (an apply stopped in its wait): it has none of its own settings
            # yet, as a new one; leaving them out, the next apply would stop one short
            ops += _settings(
                want,
                replica_region,
                False,
                PointInTimeRecovery(enabled=False, recovery_period_days=35),
                {},
                replica=True,
                category=Category.NEW,
            )
        elif state is not None:
            ops += _replica_settings(want, have, state)
    return ops


def _structure(t: Table) -> tuple[Any, ...]:
    """What DynamoDB can only set at creation: key schema and LSIs."""
    return (t.partition_key, t.sort_key, t.local_secondary_indexes)


def _create(want: Table, *, reason: str, category: Category) -> Ops:
    """CreateTable and what it cannot set (``category``: new, or drift for a replacement)."""
    name, region = want.table_name, want.region
    create = CreateTable(table=name, region=region, after=want, reason=reason, category=category)
    ops: Ops = [_warm_cost(create, want.warm_throughput, f"table '{name}'")]
    for gsi in want.global_secondary_indexes:
        ops[0] = _warm_cost(ops[0], gsi.warm_throughput, f"index '{gsi.name}'")
    defaults = PointInTimeRecovery(enabled=False, recovery_period_days=35)
    ops += _settings(
        want,
        region,
        want.deletion_protection,
        defaults,
        want.tags,
        replica=False,
        category=category,
    )
    if want.ttl.enabled:
        ops.append(
            UpdateTtl(
                table=name,
                region=region,
                before=want.ttl.model_copy(update={"enabled": False}),
                after=want.ttl,
                category=category,
            )
        )
    ops += _new_replicas(want, want.replicas, category, 0)
    return ops


def _replace(live: LiveTable, want: Table) -> Ops:
    have = live.table
    changed = []
    if (have.partition_key, have.sort_key) != (want.partition_key, want.sort_key):
        changed.append("key schema")
    if have.local_secondary_indexes != want.local_secondary_indexes:
        changed.append("local secondary indexes")
    ops: Ops = []
    if have.deletion_protection:
        ops.append(
            UpdateDeletionProtection(
                table=want.table_name,
                region=want.region,
                before=True,
                after=False,
                category=Category.DRIFT,
                reason="replacement needs protection lifted",
            ).with_hazard(
                HazardCode.LIFTS_PROTECTION,
                f"deletion protection of '{want.table_name}' is lifted to replace it",
            )
        )
    if have.consistency == "strong" and live.replica_states:
        ops += _delete_strong_ops(want, live, "replacement")
    for replica in live.replica_states if have.consistency != "strong" else ():
        ops += _delete_replica_ops(want, replica, replica.region, "replacement")
    ops.append(
        ReplaceTable(
            table=want.table_name,
            region=want.region,
            before=have,
            after=want,
            item_count=live.item_count,
            reason=f"{' and '.join(changed)} changed",
            category=Category.DRIFT,
        ).with_hazard(
            HazardCode.REPLACES_TABLE,
            f"DynamoDB cannot change the {' or '.join(changed)} of '{want.table_name}' in place: "
            f"the table would be deleted with its ~{live.item_count} item(s) and created again",
            _MIGRATE,
        )
    )
    create = _create(want, reason="replacement", category=Category.DRIFT)
    # ReplaceTable does the CreateTable itself, and so carries its hazards (pre-warming)
    replace = ops[-1]
    ops[-1] = replace.model_copy(update={"hazards": (*replace.hazards, *create[0].hazards)})
    return ops + create[1:]


def _indexes(live: LiveTable, want: Table) -> Ops:
    have = {g.name: g for g in live.table.global_secondary_indexes}
    wanted = {g.name: g for g in want.global_secondary_indexes}
    name, region = want.table_name, want.region
    lagging = _lagging_replicas(live, want)
    deletes: Ops = []
    creates: Ops = []
    for index_name in sorted(have):
        current = have[index_name]
        target = wanted.get(index_name)
        same = target is not None and _shape(target) == _shape(current)
        if same and index_name not in lagging:
            continue
        why = (
            "not in the spec"
            if target is None
            else "keys or projection changed (DynamoDB cannot modify them in place)"
        )
        if same:
            # AWS cannot make a GSI on one replica: made again on the table, it reaches all
            why = (
                f"the replica in {', '.join(lagging[index_name])} lacks it or holds "
                "another version; made again on the table, it reaches every replica"
            )
        deletes.append(
            DeleteGsi(
                table=name, region=region, before=current, reason=why, category=Category.DRIFT
            ).with_hazard(
                HazardCode.DELETES_INDEX,
                f"index '{index_name}' is deleted: queries on it fail until it is back"
                if target is not None
                else f"index '{index_name}' is deleted: queries on it fail",
            )
        )
    for index_name in sorted(wanted):
        target = wanted[index_name]
        current_gsi = have.get(index_name)
        if current_gsi is not None and _shape(current_gsi) == _shape(target) and \
                index_name not in lagging:
            continue
        op = CreateGsi(
            table=name,
            region=region,
            after=target,
            item_count=live.item_count,
            reason="new index" if index_name not in have else "recreated",
            category=Category.NEW if index_name not in have else Category.DRIFT,
        )
        if live.item_count > 0:
            op = op.with_hazard(
                HazardCode.INDEX_BACKFILL,
                f"index '{index_name}' backfills ~{live.item_count} item(s) before it is usable",
            )
        creates.append(_warm_cost(op, target.warm_throughput, f"index '{index_name}'"))
    return deletes + creates


def _judged_replicas(live: LiveTable, want: Table) -> list[ReplicaState]:
    """Replicas whose GSIs were read and that the spec keeps (others go or are not made)."""
    return [
        r
        for r in live.replica_states
        if r.global_secondary_indexes is not None and r.region in want.replicas
    ]


def _settling(live: LiveTable, replica: ReplicaState, index_name: str) -> bool:
    """Is the index still on its way (being built on the table or the replica)?"""
    table_index = live.indexes.get(index_name)
    return (
        replica.status != "ACTIVE"
        or index_name in replica.indexes_in_progress
        or (table_index is not None and table_index.status != "ACTIVE")
    )


def _lagging_replicas(live: LiveTable, want: Table) -> dict[str, list[str]]:
    """Index name -> regions of ACTIVE replicas that lack the table's GSI or hold another one.

    AWS gives every replica each GSI made on the table (it cannot be made on a replica
    alone), but a replica can miss one: on AWS while the replica is being created, on an
    emulator for good. An index still being built is waiting, not missing.
    """
    table_gsis = {g.name: g for g in live.table.global_secondary_indexes}
    lagging: dict[str, list[str]] = {}
    for replica in _judged_replicas(live, want):
        theirs = {g.name: g for g in replica.global_secondary_indexes or ()}
        for index_name, gsi in sorted(table_gsis.items()):
            if not _same_shape(theirs.get(index_name), gsi) and \
                    not _settling(live, replica, index_name):
                lagging.setdefault(index_name, []).append(replica.region)
    return lagging


def replica_index_notices(live: LiveTable, want: Table) -> list[str]:
    """What the plan says about replica GSIs it cannot (or need not) change.

    A replica's GSI that the table lacks cannot be deleted on the replica alone; one still
    being built will arrive by itself. (A missing or different one is an operation: the
    index is made again on the table, see ``_indexes``.)
    """
    table_gsis = {g.name: g for g in live.table.global_secondary_indexes}
    wanted = {g.name for g in want.global_secondary_indexes}
    notices = []
    for replica in _judged_replicas(live, want):
        theirs = {g.name: g for g in replica.global_secondary_indexes or ()}
        where = f"the replica of '{want.table_name}' in {replica.region}"
        for index_name in sorted(set(theirs) - set(table_gsis) - wanted):
            notices.append(
                f"{where} has index '{index_name}', which the table has not: AWS cannot "
                "delete a GSI on one replica; remove the replica from the spec, apply, and "
                "add it again"
            )
        for index_name in sorted(table_gsis):
            if not _same_shape(theirs.get(index_name), table_gsis[index_name]) and _settling(
                live, replica, index_name
            ):
                notices.append(
                    f"{where} does not yet match index '{index_name}' (still "
                    "being built or propagated): plan again once it is ACTIVE"
                )
    return notices


def _shape(index: GlobalSecondaryIndex) -> GlobalSecondaryIndex:
    """An index without its warm throughput: what a delete and create would change (warm
    throughput is raised in place, ``UpdateWarmThroughput``)."""
    return index.model_copy(update={"warm_throughput": None})


def _same_shape(a: GlobalSecondaryIndex | None, b: GlobalSecondaryIndex) -> bool:
    return a is not None and _shape(a) == _shape(b)


def _warm_cost(op: OpT, warm: WarmThroughput | None, what: str,
               verb: str = "is set to") -> OpT:
    """``op`` with the COST_CHANGE of pre-warming ``what`` (nothing when not managed)."""
    if warm is None:
        return op
    return op.with_hazard(
        HazardCode.COST_CHANGE,
        f"warm throughput of {what} {verb} {warm.read_units_per_second} reads/s and "
        f"{warm.write_units_per_second} writes/s: pre-warming is billed",
    )


def _warm_throughputs(have: Table, want: Table, ops: Ops) -> Ops:
    """The table's and each kept index's warm throughput, where the spec manages it (an
    index made in this plan gets its own with CreateGsi)."""
    made = {op.after.name for op in ops if isinstance(op, CreateGsi)}
    out = _warm_throughput(want, None, have.warm_throughput, want.warm_throughput)
    for index in want.global_secondary_indexes:
        current = have.gsi(index.name)
        if current is not None and index.name not in made:
            out += _warm_throughput(want, index.name, current.warm_throughput,
                                    index.warm_throughput)
    return out


def _warm_throughput(want: Table, index: str | None, have: WarmThroughput | None,
                     target: WarmThroughput | None) -> Ops:
    """Raise warm throughput to at least what the spec asks.

    AWS only raises warm throughput ("you can increase the warm throughput value"), and raises
    it on its own as traffic grows: the spec's value is a floor. Where the table is already
    warmer on one side, that side stays as it is (a request for less would be refused); where
    it is warmer on both, there is nothing to do.
    """
    if target is None or have == target:
        return []  # absent: not managed
    after = target
    if have is not None:
        after = WarmThroughput(
            read_units_per_second=max(have.read_units_per_second,
                                      target.read_units_per_second),
            write_units_per_second=max(have.write_units_per_second,
                                       target.write_units_per_second))
        if after == have:
            return []
    what = f"index '{index}' of '{want.table_name}'" if index else f"table '{want.table_name}'"
    op = UpdateWarmThroughput(table=want.table_name, region=want.region, index=index,
                              before=have, after=after, category=Category.DRIFT)
    verb = "rises to" if have is not None else "is set to"
    return [_warm_cost(op, after, what, verb)]


def _stream_off(have: Table, want: Table) -> Ops:
    if not have.stream.enabled:
        return []
    if want.stream.enabled and want.stream.view_type == have.stream.view_type:
        return []
    # AWS cannot change a stream's view type in place: it is disabled, then enabled again
    again = (
        " (to change its view type it is disabled, then enabled again)"
        if want.stream.enabled
        else ""
    )
    return [
        UpdateStream(
            table=want.table_name,
            region=want.region,
            before=have.stream,
            after=Stream(enabled=False, view_type=have.stream.view_type),
            reason="stream off" + again,
            category=Category.DRIFT,
        ).with_hazard(
            HazardCode.STREAM_ARN_CHANGES,
            f"the stream of '{want.table_name}' is disabled{again}: its consumers "
            "(Lambda triggers, Kinesis adapters) lose their position and must move to the new "
            "stream ARN",
            "drain consumers first",
        )
    ]


def _stream_on(have: Table, want: Table) -> Ops:
    if not want.stream.enabled:
        return []
    if have.stream.enabled and have.stream.view_type == want.stream.view_type:
        return []
    return [
        UpdateStream(
            table=want.table_name,
            region=want.region,
            before=Stream(enabled=False, view_type=have.stream.view_type),
            after=want.stream,
            reason="stream on",
            category=Category.DRIFT,
        )
    ]


def _settings(
    want: Table,
    region: str,
    protection: bool,
    pitr: PointInTimeRecovery,
    tags: dict[str, str] | None,
    *,
    replica: bool,
    category: Category,
) -> Ops:
    """Deletion protection, PITR and tags (unless None): what each region holds on its own.

    ``category``: new (a table or replica being made) or drift (an existing one).
    """
    ops: Ops = []
    name = want.table_name
    where = f" in {region}" if replica else ""
    if protection != want.deletion_protection:
        protect: Any = UpdateDeletionProtection(
            table=name,
            region=region,
            before=protection,
            after=want.deletion_protection,
            category=category,
        )
        if protection:
            protect = protect.with_hazard(
                HazardCode.LIFTS_PROTECTION, f"deletion protection of '{name}'{where} is turned off"
            )
        ops.append(protect)
    # a replica may have a PITR period of its own (``replicas: [{region, point_in_time_recovery}]``)
    want_pitr = want.pitr_in(region) if replica else want.point_in_time_recovery
    if _pitr_differs(pitr, want_pitr):
        op = UpdatePitr(table=name, region=region, before=pitr, after=want_pitr, category=category)
        if pitr.enabled and not want_pitr.enabled:
            op = op.with_hazard(
                HazardCode.DISABLES_RECOVERY,
                f"point-in-time recovery of '{name}'{where} is turned off: "
                "its restore window is lost",
            )
        elif pitr.enabled and want_pitr.recovery_period_days < pitr.recovery_period_days:
            op = op.with_hazard(
                HazardCode.DISABLES_RECOVERY,
                f"the PITR window of '{name}'{where} shrinks from "
                f"{pitr.recovery_period_days} to "
                f"{want_pitr.recovery_period_days} days",
            )
        ops.append(op)
    if tags is not None:
        ops += _tags(want, region, tags, category if category == Category.NEW else None)
    return ops


def _pitr_differs(have: PointInTimeRecovery, want: PointInTimeRecovery) -> bool:
    if have.enabled != want.enabled:
        return True
    return want.enabled and have.recovery_period_days != want.recovery_period_days


def _adopting(have: Table, want: Table, tag_ops: Ops) -> Ops:
    """Taking over a table another environment's spec owns is a hazard of its own.

    Two environments in one account with the same table names would otherwise fight over
    one table, each apply re-tagging it as its own.
    """
    owner = have.tags.get(OWNERSHIP_TAG)
    if owner is None or owner == want.environment:
        return tag_ops
    message = (
        f"table '{want.table_name}' is managed by environment '{owner}'; applying "
        f"'{want.environment}' takes it over"
    )
    hint = "give the environments their own accounts, or a table_prefix, so names differ"
    return [
        op.with_hazard(HazardCode.ADOPTS_TABLE, message, hint)
        if isinstance(op, TagResource) and OWNERSHIP_TAG in op.after
        else op
        for op in tag_ops
    ]


def _tags(want: Table, region: str, have: dict[str, str], category: Category | None = None) -> Ops:
    """Untag what the spec lacks, tag what it adds or changes.

    ``category`` None: judged here: keys only added are new, a changed or removed one drift.
    """
    ops: Ops = []
    gone = {k: v for k, v in sorted(have.items()) if k not in want.tags}
    changed = {k: v for k, v in sorted(want.tags.items()) if have.get(k) != v}
    if gone:
        ops.append(
            UntagResource(
                table=want.table_name,
                region=region,
                before=gone,
                category=category or Category.DRIFT,
            )
        )
    if changed:
        before = {k: have[k] for k in changed if k in have}
        ops.append(
            TagResource(
                table=want.table_name,
                region=region,
                before=before,
                after=changed,
                category=category or (Category.DRIFT if before else Category.NEW),
            )
        )
    return ops


def _ttl(live: LiveTable, want: Table) -> Ops:
    """TTL: only when it differs (UpdateTimeToLive is not idempotent)."""
    have, target = live.table.ttl, want.ttl
    name, region = want.table_name, want.region
    if not have.enabled and not target.enabled:
        return []
    if have == target:
        return []
    if have.enabled and target.enabled:
        # a new attribute: disable, then enable; AWS then refuses a second change for ~1 hour
        off = TimeToLive(enabled=False, attribute_name=have.attribute_name)
        return [
            UpdateTtl(
                table=name,
                region=region,
                before=have,
                after=off,
                reason="TTL attribute change, step 1 of 2",
                category=Category.DRIFT,
            ).with_hazard(
                HazardCode.TTL_TWO_STEPS,
                f"TTL of '{name}' moves from '{have.attribute_name}' to "
                f"'{target.attribute_name}': disabled now; AWS accepts the enable about an "
                "hour later, so apply reports step 2 as pending until then",
                "re-run apply after an hour",
            ),
            UpdateTtl(
                table=name,
                region=region,
                before=off,
                after=target,
                reason="TTL attribute change, step 2 of 2",
                category=Category.DRIFT,
            ),
        ]
    return [
        UpdateTtl(table=name, region=region, before=have, after=target, category=Category.DRIFT)
    ]


def _new_replica(want: Table, replica_region: str, category: Category = Category.NEW) -> Ops:
    ops: Ops = [
        CreateReplica(
            table=want.table_name,
            region=want.region,
            replica_region=replica_region,
            reason="new replica",
            category=category,
        ).with_hazard(
            HazardCode.COST_CHANGE,
            f"a replica in {replica_region} doubles write and storage cost for that region",
        )
    ]
    # a new replica starts unprotected, without PITR and untagged: AWS copies none of them
    ops += _settings(
        want,
        replica_region,
        False,
        PointInTimeRecovery(enabled=False, recovery_period_days=35),
        {},
        replica=True,
        category=category,
    )
    return ops


def _replica_settings(want: Table, have: Table, state: ReplicaState) -> Ops:
    """An existing replica's own protection, PITR and tags; what the module leaves out of
    its replica (``MODULE_REPLICA_*``) is a module defect, anything else drift."""
    pitr = state.point_in_time_recovery or PointInTimeRecovery(
        enabled=False, recovery_period_days=35
    )
    ops = _settings(
        want,
        state.region,
        state.deletion_protection,
        pitr,
        state.tags,
        replica=True,
        category=Category.DRIFT,
    )
    return [_replica_defect(op, have, state) for op in ops]


def _replica_defect(op: Any, have: Table, state: ReplicaState) -> Any:
    """``op`` as a module defect when it gives the replica what the module's primary has and
    its replica lacks: protection the primary already holds, tags on a replica with none."""
    why = ""
    if op.op == "UpdateDeletionProtection" and op.after and have.deletion_protection:
        why = MODULE_REPLICA_PROTECTION
    elif op.op == "TagResource" and not state.tags and have.tags:
        why = MODULE_REPLICA_TAGS
    if not why:
        return op
    return op.model_copy(
        update={"category": Category.MODULE_DEFECT, "reason": why.format(region=state.region)}
    )


# ------------------------------------------------------------------ MRSC (consistency: strong)


def _check_consistency(live: LiveTable, want: Table) -> None:
    """Refuse what AWS cannot do to a global table: change its consistency mode ("You can't
    change a global table's consistency mode"), or the Regions of an MRSC one (no replica is
    added to it; one goes only with the witness or the other replica)."""
    have = live.table
    if not have.replicas or not want.replicas:
        return  # not a global table yet, or every replica goes: no mode to keep
    name = want.table_name
    witness = " and witness_region" if have.witness_region or want.witness_region else ""
    again = (" on an empty table (AWS sets up MRSC only on a table without items)"
             if want.consistency == "strong" else "")
    how = (f"remove its replicas{witness} from the spec and apply (their copies of the data "
           f"are deleted), then add them back{again}")
    if have.consistency != want.consistency:
        raise PlanError(
            f"table '{name}' is a global table with consistency: {have.consistency} and the "
            f"spec says consistency: {want.consistency}; AWS cannot change a global table's "
            f"consistency mode: to change it, {how}"
        )
    if have.consistency == "strong" and (
        sorted(have.replicas), have.witness_region
    ) != (sorted(want.replicas), want.witness_region):
        raise PlanError(
            f"table '{name}' is an MRSC global table in {_members(have)} and the spec says "
            f"{_members(want)}; AWS cannot change the Regions of an MRSC global table one by "
            f"one: to change them, {how}"
        )


def _members(t: Table) -> str:
    regions = ", ".join([t.region, *t.replicas])
    return regions + (f" with a witness in {t.witness_region}" if t.witness_region else "")


def _new_replicas(want: Table, regions: Sequence[str], category: Category,
                  item_count: int) -> Ops:
    """New replicas: one CreateReplica each (MREC), or one CreateStrongReplicas for all of
    them with the witness (MRSC); then each replica's own settings."""
    if want.consistency != "strong":
        return [op for r in regions for op in _new_replica(want, r, category)]
    if not regions:
        return []
    witness = f" and a witness in {want.witness_region}" if want.witness_region else ""
    op = CreateStrongReplicas(
        table=want.table_name,
        region=want.region,
        replica_regions=tuple(sorted(regions)),
        witness_region=want.witness_region,
        item_count=item_count,
        reason="new MRSC global table",
        category=category,
    ).with_hazard(
        HazardCode.COST_CHANGE,
        f"replicas in {', '.join(sorted(regions))}{witness}: each replica region bills its "
        "writes and storage",
    )
    if item_count > 0:
        # "Table must be empty when enabling MRSC" (AWS code example MRSCGlobalTables);
        # ItemCount is approximate (refreshed about every six hours), hence a hazard
        op = op.with_hazard(
            HazardCode.TABLE_NOT_EMPTY,
            f"table '{want.table_name}' holds ~{item_count} item(s): AWS makes an MRSC "
            "global table only from an empty table and refuses the request otherwise",
            "empty the table (or make a new one) first; if it is empty already (ItemCount "
            "lags by up to six hours), allow TABLE_NOT_EMPTY",
        )
    # each replica starts with AWS's defaults, as an MREC one: the same settings follow
    return [op, *(s for r in sorted(regions) for s in _new_replica(want, r, category)[1:])]


def _delete_strong(t: Table, regions: Sequence[str], reason: str,
                   category: Category) -> DeleteStrongReplicas:
    return DeleteStrongReplicas(
        table=t.table_name,
        region=t.region,
        replica_regions=tuple(sorted(regions)),
        witness_region=t.witness_region,
        reason=reason,
        category=category,
    ).with_hazard(
        HazardCode.DELETES_DATA,
        f"the replicas of '{t.table_name}' in {', '.join(sorted(regions))} and their copies "
        f"of the data will be deleted; the table stays in {t.region} alone",
        "make sure no application writes to those regions first",
    )


def _delete_strong_ops(want: Table, live: LiveTable, reason: str) -> Ops:
    """Every replica of an MRSC global table (and its witness) in one call, each replica's
    deletion protection lifted first."""
    ops: Ops = []
    for replica in live.replica_states:
        if replica.deletion_protection:
            ops += _delete_replica_ops(want, replica, replica.region, reason)[:-1]
    have = live.table
    return [*ops, _delete_strong(have.model_copy(update={"table_name": want.table_name}),
                                 have.replicas, reason, Category.DRIFT)]
