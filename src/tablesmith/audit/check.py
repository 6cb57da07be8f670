"""The checks: pure functions from what was read (``read.Inventory``) to findings.

No AWS here: every input is data, so each rule is unit-tested with literal values.

Units. Each regional table is checked on its own for what AWS keeps per region (PITR,
deletion protection, encryption, tags). A global table (its members list each other as
replicas) is one unit for what protects its data as a whole: a member is in a backup plan,
has a recent recovery point and is watched by an error alarm when *any* member is (backing
up or watching one replica of the same data is enough; tablesmith itself backs up and
watches a table in its home region, with a copy action to each replica region).
``tablesmith-replica-drift`` compares each member with the reference member: the one in the
first audited region (default ``af-south-1``), else the first region by name.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import itertools
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tablesmith.around.metrics import (
    ERROR_METRICS,
    THROTTLE_METRICS,
    can_fire_on,
    unpublished_series,
)
from tablesmith.audit import rules as r
from tablesmith.spec.model import MODULE_MANDATORY_TAGS

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from tablesmith.audit.read import BackupPlanFacts, Inventory, PlanRule, Selection, TableFacts
    from tablesmith.audit.rules import Finding


@dataclass(frozen=True)
class Policy:
    """What the account is held to (defaults: the module's conventions)."""

    mandatory_tags: tuple[str, ...] = MODULE_MANDATORY_TAGS
    kms_keys: tuple[str, ...] = ()  # when given: the only keys that pass
    require_customer_key: bool = False
    key_managers: Mapping[str, str] = field(default_factory=dict)  # key ARN -> AWS|CUSTOMER


@dataclass(frozen=True)
class SpecView:
    """What a spec says, for the two rules that need one."""

    path: str
    environment: str
    named: frozenset[str]  # every physical table name of every environment of the spec
    managed: frozenset[tuple[str, str]]  # (name, region) of the environment's tables+replicas
    drift: Mapping[tuple[str, str], str]  # (name, region) -> the plan's summary for it


# --------------------------------------------------------------------------- schedules


_CRON = re.compile(r"^cron\((.+)\)$")
_RATE = re.compile(r"^rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)$")


def schedule_period(expression: str) -> dt.timedelta:
    """The longest gap between two runs of an AWS Backup schedule (an estimate from cron
    fields: every N hours, daily, weekly, monthly; 1 day when it cannot tell)."""
    rate = _RATE.match(expression.strip())
    if rate:
        amount, unit = int(rate.group(1)), rate.group(2).rstrip("s")
        return dt.timedelta(**{f"{unit}s": amount})
    cron = _CRON.match(expression.strip())
    if not cron:
        return dt.timedelta(days=1)
    fields = cron.group(1).split()
    if len(fields) != 6:
        return dt.timedelta(days=1)
    minute, hour, day, month, weekday, _year = fields
    if month not in ("*", "?"):
        return dt.timedelta(days=366)
    if day not in ("*", "?") and not day.startswith("*/"):
        return dt.timedelta(days=31)
    if day.startswith("*/"):
        return dt.timedelta(days=int(day[2:]) if day[2:].isdigit() else 1)
    if weekday not in ("*", "?"):
        days = len(weekday.split(",")) if "-" not in weekday else 5
        return dt.timedelta(days=7) if days <= 1 else dt.timedelta(days=7 / days + 2)
    if hour == "*":
        return (
            dt.timedelta(minutes=int(minute[2:]))
            if minute.startswith("*/") and minute[2:].isdigit()
            else dt.timedelta(hours=1)
        )
    if hour.startswith("*/") and hour[2:].isdigit():
        return dt.timedelta(hours=int(hour[2:]))
    if "," in hour:
        hours = sorted(int(h) for h in hour.split(",") if h.isdigit())
        if len(hours) > 1:
            gaps = [b - a for a, b in itertools.pairwise(hours)]
            return dt.timedelta(hours=max([*gaps, 24 - hours[-1] + hours[0]]))
    return dt.timedelta(days=1)


def allowed_age(rule: PlanRule) -> dt.timedelta:
    """How old the newest recovery point may be: the schedule period plus the start window
    (a job may start that late and still be on time)."""
    return schedule_period(rule.schedule) + dt.timedelta(minutes=rule.start_window_minutes)


# --------------------------------------------------------------------------- selections


def selects(selection: Selection, table: TableFacts) -> bool:
    """Does a backup selection pick ``table`` (AWS's assignment rules)?

    Resources (ARNs or wildcards) OR ListOfTags pick a resource; every Condition must then
    hold; NotResources exclude it again.
    """
    by_arn = any(fnmatch.fnmatchcase(table.arn, p) for p in selection.resources)
    by_tag = any(
        _tag_condition(kind, key, value, table.tags) for kind, key, value in selection.list_of_tags
    )
    if not (by_arn or by_tag):
        return False
    if not all(
        _tag_condition(kind, key, value, table.tags) for kind, key, value in selection.conditions
    ):
        return False
    return not any(fnmatch.fnmatchcase(table.arn, p) for p in selection.not_resources)


def _tag_condition(kind: str, key: str, value: str, tags: Mapping[str, str]) -> bool:
    kind = kind.upper()
    have = tags.get(key)
    if kind == "STRINGEQUALS":
        return have == value
    if kind == "STRINGNOTEQUALS":
        return have != value
    if kind == "STRINGLIKE":
        return have is not None and fnmatch.fnmatchcase(have, value)
    if kind == "STRINGNOTLIKE":
        return have is None or not fnmatch.fnmatchcase(have, value)
    return False


def plans_selecting(plans: Sequence[BackupPlanFacts], table: TableFacts) -> list[BackupPlanFacts]:
    """The plans of the table's own region that select it."""
    return [
        p
        for p in plans
        if p.region == table.region and any(selects(s, table) for s in p.selections)
    ]


# --------------------------------------------------------------------------- the audit


@dataclass
class _Context:
    inventory: Inventory
    policy: Policy
    spec: SpecView | None
    now: dt.datetime
    findings: list[Finding] = field(default_factory=list)

    def add(
        self,
        rule: r.Rule,
        table: TableFacts | None,
        message: str,
        *,
        region: str | None = None,
        resource: str | None = None,
        detail: str = "",
        name: str | None = None,
    ) -> None:
        where = region or (table.region if table else "")
        table_name = table.name if table else name
        managed = (
            self.spec is not None
            and table_name is not None
            and (table_name, where) in self.spec.managed
        )
        self.findings.append(
            r.make_finding(
                rule,
                table=table_name,
                region=where,
                message=message,
                managed=managed,
                arn=table.arn if table else "",
                resource=resource,
                detail=detail,
            )
        )


def global_tables(tables: Sequence[TableFacts]) -> list[list[TableFacts]]:
    """Tables grouped by global table (members name each other), each group by region."""
    groups: dict[tuple[str, frozenset[str]], list[TableFacts]] = {}
    for table in tables:
        key = (table.name, frozenset({table.region, *table.replicas}))
        groups.setdefault(key, []).append(table)
    return [
        sorted(g, key=lambda t: t.region)
        for _, g in sorted(groups.items(), key=lambda item: (item[0][0], sorted(item[0][1])))
    ]


def audit(
    inventory: Inventory,
    *,
    policy: Policy | None = None,
    spec: SpecView | None = None,
    now: dt.datetime | None = None,
) -> list[Finding]:
    """Every finding, sorted by table, region, rule and resource."""
    ctx = _Context(inventory, policy or Policy(), spec, now or dt.datetime.now(dt.UTC))
    for group in global_tables(inventory.tables):
        for table in group:
            _check_pitr(ctx, table)
            _check_deletion_protection(ctx, table)
            _check_encryption(ctx, table)
            _check_tags(ctx, table)
        _check_backup(ctx, group)
        _check_error_alarms(ctx, group)
        _check_replica_drift(ctx, group)
    _check_alarm_series(ctx)
    if spec is not None:
        _check_spec(ctx, spec)
    return sorted(ctx.findings, key=lambda f: f.sort_key())


def _check_pitr(ctx: _Context, table: TableFacts) -> None:
    if table.pitr is None or table.pitr.enabled:
        return
    ctx.add(
        r.PITR,
        table,
        "point-in-time recovery is off: the table cannot be restored to a point in time",
    )


def _check_deletion_protection(ctx: _Context, table: TableFacts) -> None:
    if table.deletion_protection:
        return
    what = "global table member" if table.replicas else "table"
    ctx.add(
        r.DELETION_PROTECTION,
        table,
        f"deletion protection is off on this {what}: one DeleteTable removes it",
    )


def _check_encryption(ctx: _Context, table: TableFacts) -> None:
    policy = ctx.policy
    key = table.kms_key_arn
    if table.sse_type != "KMS" or not key:
        ctx.add(
            r.ENCRYPTED_KMS,
            table,
            "encrypted with an AWS-owned key, not a KMS key: "
            "key use is not in CloudTrail and the key cannot be controlled",
        )
    elif policy.kms_keys and key not in policy.kms_keys:
        ctx.add(
            r.ENCRYPTED_KMS,
            table,
            f"encrypted with KMS key {key}, which is not one of the keys allowed (--kms-key)",
        )
    elif policy.require_customer_key and policy.key_managers.get(key) == "AWS":
        ctx.add(
            r.ENCRYPTED_KMS,
            table,
            "encrypted with the AWS-managed key aws/dynamodb; "
            "the policy requires a customer-managed key (--require-customer-key)",
        )


def _check_tags(ctx: _Context, table: TableFacts) -> None:
    if ctx.inventory.lacks(table.region, "tags"):
        return
    missing = [k for k in ctx.policy.mandatory_tags if not table.tags.get(k)]
    if missing:
        ctx.add(
            r.MANDATORY_TAGS,
            table,
            f"missing mandatory tag(s): {', '.join(missing)}",
            detail=" ".join(f"Key={k},Value=<value>" for k in missing)
            if not (ctx.spec and (table.name, table.region) in ctx.spec.managed)
            else ", ".join(f"{k}: <value>" for k in missing),
        )


def _check_backup(ctx: _Context, group: list[TableFacts]) -> None:
    if any(ctx.inventory.lacks(t.region, "backup") for t in group):
        return
    selecting = {t.region: plans_selecting(ctx.inventory.plans, t) for t in group}
    covered = [t for t in group if selecting[t.region]]
    if not covered:
        for table in group:
            # every member: backing up any one of them would do
            ctx.add(
                r.IN_BACKUP_PLAN,
                table,
                "no AWS Backup plan selects this table"
                + (" or any of its replicas" if len(group) > 1 else ""),
            )
        return
    regions = {t.region for t in group}
    for table in covered:
        plans = selecting[table.region]
        rules = [rule for plan in plans for rule in plan.rules]
        if len(group) > 1:
            copied = {c for rule in rules for c in rule.copy_regions} - {table.region}
            if not copied:
                others = ", ".join(sorted(regions - {table.region}))
                ctx.add(
                    r.PROTECTED_BY_PLAN,
                    table,
                    f"replicated to {others}, but plan(s) "
                    f"{', '.join(p.name for p in plans)} copy no recovery point to "
                    "another region",
                    resource=plans[0].plan_id,
                    detail=others,
                )
        _check_recovery_point(ctx, table, group, rules)


def _check_recovery_point(
    ctx: _Context, table: TableFacts, group: list[TableFacts], rules: list[PlanRule]
) -> None:
    scheduled = [rule for rule in rules if rule.schedule]
    if not scheduled:
        return
    allowed = min(allowed_age(rule) for rule in scheduled)
    points = [ctx.inventory.last_backup[t.arn] for t in group if t.arn in ctx.inventory.last_backup]
    newest = max(points) if points else None
    if newest is not None:
        age = ctx.now - newest
        if age > allowed:
            ctx.add(
                r.LAST_RECOVERY_POINT,
                table,
                f"the newest recovery point is {_span(age)} old; the plan's schedule "
                f"expects one every {_span(allowed)} (period + start window)",
            )
        return
    if table.created is not None and ctx.now - table.created > allowed:
        ctx.add(
            r.LAST_RECOVERY_POINT,
            table,
            f"no recovery point yet, {_span(ctx.now - table.created)} after the table "
            f"was created; the plan's schedule expects one every {_span(allowed)}",
        )


def _span(delta: dt.timedelta) -> str:
    hours = delta.total_seconds() / 3600
    if hours >= 48:
        return f"{hours / 24:.1f} days"
    if hours >= 1:
        return f"{hours:.1f} hours"
    return f"{delta.total_seconds() / 60:.0f} minutes"


def _check_error_alarms(ctx: _Context, group: list[TableFacts]) -> None:
    regions = {t.region for t in group}
    if any(ctx.inventory.lacks(region, "cloudwatch") for region in regions):
        return
    name = group[0].name
    alarms = [a.alarm for a in ctx.inventory.alarms if a.region in regions]
    missing = [
        kind
        for kind, metrics in (("SystemErrors", ERROR_METRICS), ("throttling", THROTTLE_METRICS))
        if not any(can_fire_on(alarm, metrics, name) for alarm in alarms)
    ]
    if not missing:
        return
    for table in group:
        # every member: an alarm on any one of them would do
        ctx.add(
            r.NO_ERROR_ALARM,
            table,
            f"no alarm that can fire watches its "
            f"{' or its '.join(missing)}" + (" (in any of its regions)" if len(group) > 1 else ""),
        )


def _check_replica_drift(ctx: _Context, group: list[TableFacts]) -> None:
    if len(group) < 2:
        return
    order = {region: i for i, region in enumerate(ctx.inventory.regions)}
    reference = min(group, key=lambda t: (order.get(t.region, len(order)), t.region))
    for member in group:
        if member is reference:
            continue
        differences: list[str] = []
        fixes: list[str] = []
        where = f"--region {member.region}"
        if (
            not ctx.inventory.lacks(member.region, "tags")
            and not ctx.inventory.lacks(reference.region, "tags")
            and member.tags != reference.tags
        ):
            keys = sorted(
                k
                for k in set(member.tags) | set(reference.tags)
                if member.tags.get(k) != reference.tags.get(k)
            )
            differences.append(f"tags differ ({', '.join(keys)})")
            wanted = [k for k in keys if k in reference.tags]
            if wanted:
                fixes.append(
                    f"aws dynamodb tag-resource --resource-arn {member.arn} {where} "
                    "--tags " + " ".join(f"Key={k},Value={reference.tags[k]}" for k in wanted)
                )
        if member.deletion_protection != reference.deletion_protection:
            differences.append(
                f"deletion protection {_on(member.deletion_protection)} "
                f"(table: {_on(reference.deletion_protection)})"
            )
            flag = (
                "--deletion-protection-enabled"
                if reference.deletion_protection
                else "--no-deletion-protection-enabled"
            )
            fixes.append(f"aws dynamodb update-table --table-name {member.name} {where} {flag}")
        if member.pitr is not None and reference.pitr is not None and member.pitr != reference.pitr:
            differences.append(f"PITR {_pitr(member)} (table: {_pitr(reference)})")
            fixes.append(
                f"aws dynamodb update-continuous-backups --table-name {member.name} "
                f"{where} --point-in-time-recovery-specification "
                f"PointInTimeRecoveryEnabled={str(reference.pitr.enabled).lower()}"
            )
        if differences:
            ctx.add(
                r.REPLICA_DRIFT,
                member,
                f"differs from its table in {reference.region}: " + "; ".join(differences),
                detail=" && ".join(fixes)
                or "tablesmith apply (it sets each replica's tags, protection and PITR)",
            )


def _on(flag: bool) -> str:
    return "on" if flag else "off"


def _pitr(table: TableFacts) -> str:
    assert table.pitr is not None
    if not table.pitr.enabled:
        return "off"
    return f"on, {table.pitr.recovery_period_days} days"


def _check_alarm_series(ctx: _Context) -> None:
    known = {(t.name, t.region): t for t in ctx.inventory.tables}
    for facts in ctx.inventory.alarms:
        bad = unpublished_series(facts.alarm)
        if not bad:
            continue
        names = sorted({dims.get("TableName", "") for _, dims in bad} - {""})
        shown = "; ".join(f"{metric} {{{', '.join(sorted(dims))}}}" for metric, dims in bad)
        suggestion = _suggest(bad[0][0])
        targets: list[str | None] = [*names] if names else [None]
        for name in targets:
            table = known.get((name, facts.region)) if name else None
            ctx.add(
                r.UNPUBLISHED_SERIES,
                table,
                f"alarm '{facts.alarm.name}' watches {shown}, "
                "a series DynamoDB never publishes: it can never fire",
                region=facts.region,
                resource=facts.alarm.name,
                detail=suggestion,
                name=name,
            )


def _suggest(metric: str) -> str:
    if metric in ("SystemErrors", "ThrottledRequests"):
        return f"{metric} per TableName and Operation, summed with metric math"
    if metric == "UserErrors":
        return "UserErrors without dimensions (one alarm per account and region)"
    return f"{metric} with the dimensions DynamoDB publishes"


def _check_spec(ctx: _Context, spec: SpecView) -> None:
    for table in ctx.inventory.tables:
        if table.audited_region and table.name not in spec.named:
            ctx.add(r.UNMANAGED, table, f"no environment of the spec {spec.path} names this table")
    for (name, region), summary in sorted(spec.drift.items()):
        found = next(
            (t for t in ctx.inventory.tables if (t.name, t.region) == (name, region)), None
        )
        ctx.add(
            r.SPEC_DRIFT,
            found,
            summary,
            region=region,
            name=name,
            detail=f"{spec.path} --env {spec.environment}",
        )
