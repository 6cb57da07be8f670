"""Render plans: a coloured, Terraform-like diff for people, stable JSON for pipelines.

JSON (``plan --json``), format_version 1::

    {"format_version": 1, "environment": "prod", "region": "af-south-1", "destroy": false,
     "fingerprint": "<sha256>", "has_changes": true,
     "summary": {"create": 1, "update": 1, "replace": 0, "delete": 0, "no-op": 1},
     "categories": {"drift": 0, "module-defect": 0, "new": 1, "destroy": 0},
     "tables": [{"table": "campaigns", "action": "create"}, ...],
     "operations": [{"op": "CreateGsi", "table": "...", "region": "...", "action": "create",
                     "category": "new", "reason": "...", "before": ..., "after": ...,
                     "hazards": [{"code": "INDEX_BACKFILL", "blocking": false,
                                  "message": "...", "suggestion": "..."}]}, ...],
     "hazards": [{"code": ..., "blocking": ..., "table": ..., "op": ..., "message": ...}],
     "orphans": [...], "notices": [...],
     "target": {"kind": "aws", "region": ..., "endpoint": null, "state_dir": null,
                "profile": ..., "account": ..., "from_spec": []},
     "approved": []}
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from tablesmith.around.registry import family_of
from tablesmith.plan import Action, Category
from tablesmith.render.values import field_changes, show, tag_lines

if TYPE_CHECKING:
    from tablesmith.plan import Plan

# the `plan --json` document's version (fields are only added within one); the file that
# `plan --out` writes is another document, with its own version (plan.PLAN_FORMAT_VERSION)
JSON_FORMAT_VERSION = 1

_SYMBOL = {
    Action.CREATE: ("+", "green"),
    Action.UPDATE: ("~", "yellow"),
    Action.REPLACE: ("-/+", "red"),
    Action.DELETE: ("-", "red"),
    Action.NO_OP: ("=", "bright_black"),
}
_CATEGORY_COLOUR = {
    Category.DRIFT: "bright_black",
    Category.NEW: "bright_black",
    Category.MODULE_DEFECT: "magenta",
    Category.DESTROY: "bright_black",
}


def _tables(plan: Plan) -> list[str]:
    names = [t.table_name for t in plan.desired] + list(plan.orphans)
    names += [op.table for op in plan.operations]
    return sorted(set(names))


def plan_summary(plan: Plan) -> dict[str, int]:
    """How many tables each action touches."""
    counts = {a.value: 0 for a in Action}
    for name in _tables(plan):
        if name in plan.orphans and not any(op.table == name for op in plan.operations):
            continue  # an orphan we leave alone is not part of the summary
        counts[plan.table_action(name).value] += 1
    return counts


def category_summary(plan: Plan) -> dict[str, int]:
    """How many operations each category holds (every category, in its declared order)."""
    counts = {c.value: 0 for c in Category}
    for op in plan.operations:
        counts[op.category.value] += 1
    return counts


def render_plan_json(plan: Plan) -> dict[str, Any]:
    """The stable JSON document for ``plan --json``."""
    operations = []
    hazards = []
    for op in plan.operations:
        data = op.model_dump(mode="json", exclude={"hazards"})
        data["hazards"] = [
            {**h.model_dump(mode="json"), "blocking": h.blocking} for h in op.hazards
        ]
        operations.append(data)
        hazards += [
            {
                "code": h.code.value,
                "blocking": h.blocking,
                "table": op.table,
                "region": op.region,
                "op": op.op,
                "message": h.message,
                "suggestion": h.suggestion,
            }
            for h in op.hazards
        ]
    return {
        "format_version": JSON_FORMAT_VERSION,
        "environment": plan.environment,
        "region": plan.region,
        "destroy": plan.destroy,
        "fingerprint": plan.fingerprint,
        "has_changes": plan.has_changes,
        "summary": plan_summary(plan),
        "categories": category_summary(plan),
        "tables": [
            {"table": n, "action": plan.table_action(n).value}
            for n in _tables(plan)
            if n not in plan.orphans or any(op.table == n for op in plan.operations)
        ],
        "operations": operations,
        "hazards": hazards,
        "orphans": list(plan.orphans),
        "notices": list(plan.notices),
        # where the calls go: a spec can name an endpoint or profile, so it is always shown
        "target": plan.target.model_dump(mode="json") if plan.target else None,
        "approved": [c.value for c in plan.approved],
    }


def _describe(op: Any) -> str:
    """One line for an operation: its headline, then what changes (``; ``-separated)."""
    headline, fields = describe_lines(op)
    return headline + (f" ({'; '.join(fields)})" if fields else "")


def describe_lines(op: Any) -> tuple[str, list[str]]:
    """An operation as a headline and one line per changed field, in spec vocabulary."""
    family = family_of(op)
    if family is not None:  # a resource around the table describes its own operations
        return family.describe(op)
    kind = op.op
    if kind in ("CreateTable", "ReplaceTable"):
        t = op.after
        bits = [
            f"key {t.partition_key.name}:{t.partition_key.type}"
            + (f" + {t.sort_key.name}:{t.sort_key.type}" if t.sort_key else "")
        ]
        if t.global_secondary_indexes:
            bits.append(f"GSIs {', '.join(g.name for g in t.global_secondary_indexes)}")
        if t.local_secondary_indexes:
            bits.append(f"LSIs {', '.join(i.name for i in t.local_secondary_indexes)}")
        bits.append(f"stream {t.stream.view_type if t.stream.enabled else 'off'}")
        bits.append(f"SSE {t.encryption.type}")
        if t.deletion_protection:
            bits.append("deletion protection")
        return f"{kind} ({'; '.join(bits)})", []
    if kind == "DeleteTable":
        return f"DeleteTable (~{op.item_count} items)", []
    if kind == "CreateGsi":
        g = op.after
        keys = "+".join(k.name for k in g.hash_keys()) + (
            f", {'+'.join(k.name for k in g.range_keys())}" if g.range_key else "")
        projection = g.projection_type + (
            f" {show(list(g.non_key_attributes))}" if g.projection_type == "INCLUDE" else ""
        )
        return f"CreateGsi {g.name} ({keys}; {projection})", []
    if kind == "DeleteGsi":
        return f"DeleteGsi {op.before.name}", []
    if kind in ("CreateReplica", "DeleteReplica"):
        return f"{kind} {op.replica_region}", []
    if kind in ("CreateStrongReplicas", "DeleteStrongReplicas"):  # MRSC: all in one call
        witness = [f"witness_region: {op.witness_region}"] if op.witness_region else []
        fields = ["consistency: strong"] if kind == "CreateStrongReplicas" else []
        return f"{kind} {', '.join(op.replica_regions)}", fields + witness
    if kind in ("TagResource", "UntagResource"):
        return f"{kind} [{op.region}]", tag_lines(op.before, op.after)
    if kind == "UpdatePitr":

        def pitr(p: Any) -> str:
            return f"on ({p.recovery_period_days} days)" if p.enabled else "off"

        return f"UpdatePitr [{op.region}] {pitr(op.before)} -> {pitr(op.after)}", []
    if kind == "UpdateTtl":

        def ttl(t: Any) -> str:
            return f"on ({t.attribute_name})" if t.enabled else "off"

        return f"UpdateTtl {ttl(op.before)} -> {ttl(op.after)}", []
    if kind == "UpdateStream":

        def stream(s: Any) -> str:
            return s.view_type if s.enabled else "off"

        return f"UpdateStream {stream(op.before)} -> {stream(op.after)}", []
    if kind == "UpdateSse":
        return f"UpdateSse {op.before.type} -> {op.after.type}", [
            line for line in field_changes(op.before, op.after) if not line.startswith("type:")
        ]
    if kind == "UpdateDeletionProtection":
        return (f"UpdateDeletionProtection [{op.region}] {show(op.before)} -> {show(op.after)}", [])
    if kind == "UpdateOnDemandThroughput":
        return "UpdateOnDemandThroughput", field_changes(op.before, op.after)
    if kind == "UpdateWarmThroughput":
        where = f" index {op.index}" if op.index else ""
        return f"UpdateWarmThroughput{where}", field_changes(op.before, op.after)
    resource = getattr(op, "after", None) or getattr(op, "before", None)
    name = getattr(resource, "name", None)
    if name is not None:
        return f"{kind} {name} [{op.region}]", []
    return (f"{kind} {show(getattr(op, 'before', None))} -> {show(getattr(op, 'after', None))}", [])


def render_plan_text(plan: Plan, *, err: bool = False) -> None:
    """Print the plan for people, table by table, hazards last."""
    echo = click.echo
    verb = "destroy" if plan.destroy else "plan"
    echo(
        click.style(
            f"tablesmith {verb}: environment {plan.environment} ({plan.region})", bold=True
        ),
        err=err,
    )
    if plan.target is not None:
        spec_chosen = bool(plan.target.from_spec)
        echo(
            click.style(
                f"  target: {plan.target.describe()}",
                fg="yellow" if spec_chosen else "bright_black",
            ),
            err=err,
        )
    if plan.approved:
        echo(
            click.style(f"  approved at plan time: {', '.join(plan.approved)}", fg="yellow"),
            err=err,
        )
    by_table: dict[str, list[Any]] = {}
    for op in plan.operations:
        by_table.setdefault(op.table, []).append(op)
    for name in _tables(plan):
        action = plan.table_action(name)
        if name in plan.orphans and name not in by_table:
            echo(
                click.style(
                    f"  ? {name}: not in the spec; owned by tablesmith (--prune would delete it)",
                    fg="bright_black",
                ),
                err=err,
            )
            continue
        symbol, colour = _SYMBOL[action]
        label = "no changes" if action == Action.NO_OP else action.value
        echo(click.style(f"  {symbol} {name}", fg=colour, bold=True) + f"  {label}", err=err)
        for op in by_table.get(name, []):
            s, c = _SYMBOL[op.action]
            headline, fields = describe_lines(op)
            why = f"{op.category.value}: {op.reason}" if op.reason else op.category.value
            echo(
                f"      {click.style(s, fg=c)} {headline}"
                + click.style(f"  # {why}", fg=_CATEGORY_COLOUR[op.category]),
                err=err,
            )
            for field in fields:
                echo(f"          {field}", err=err)
            for h in op.hazards:
                tag = "BLOCKING" if h.blocking else "notice"
                echo(
                    click.style(
                        f"          ! {h.code.value} ({tag}): {h.message}",
                        fg="red" if h.blocking else "yellow",
                    ),
                    err=err,
                )
    counts = plan_summary(plan)
    for notice in plan.notices:
        echo(click.style(f"  note: {notice}", fg="yellow"), err=err)
    echo("", err=err)
    if not plan.has_changes:
        echo(click.style("No changes. AWS matches the spec.", fg="green", bold=True), err=err)
        return
    echo(
        click.style(
            f"Plan: {counts['create']} to create, {counts['update']} to update, "
            f"{counts['replace']} to replace, {counts['delete']} to delete, "
            f"{counts['no-op']} unchanged.",
            bold=True,
        ),
        err=err,
    )
    why = ", ".join(f"{n} {c}" for c, n in category_summary(plan).items() if n)
    echo(f"Operations by reason: {why}.", err=err)
    blocking = sorted({h.code.value for _, h in plan.hazards() if h.blocking})
    if blocking:
        echo(
            click.style(
                f"Hazards that apply will refuse unless allowed: {', '.join(blocking)}"
                f"  (--allow-hazards {','.join(blocking)})",
                fg="red",
            ),
            err=err,
        )
