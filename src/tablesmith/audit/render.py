"""An audit report as text (rich, grouped by table) or as JSON (docs/audit-json.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tablesmith.audit.check import global_tables, plans_selecting
from tablesmith.audit.rules import RULES, Severity

if TYPE_CHECKING:
    from tablesmith.audit import AuditReport
    from tablesmith.audit.read import TableFacts
    from tablesmith.audit.rules import Finding

AUDIT_FORMAT_VERSION = 1
_COLOURS = {Severity.ERROR: "red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}


def finding_json(finding: Finding) -> dict[str, Any]:
    """One finding in the JSON format."""
    return {
        "rule": finding.rule.id,
        "severity": finding.severity.label,
        "table": finding.table,
        "region": finding.region,
        "resource": finding.resource,
        "message": finding.message,
        "fix": finding.fix,
    }


def _table_json(report: AuditReport, table: TableFacts) -> dict[str, Any]:
    pitr = table.pitr
    plans = plans_selecting(report.inventory.plans, table)
    last = report.inventory.last_backup.get(table.arn)
    return {
        "table": table.name,
        "region": table.region,
        "arn": table.arn,
        "audited_region": table.audited_region,
        "replicas": list(table.replicas),
        "pitr": None
        if pitr is None
        else {"enabled": pitr.enabled, "recovery_period_days": pitr.recovery_period_days},
        "deletion_protection": table.deletion_protection,
        "encryption": {"type": table.sse_type, "kms_key_arn": table.kms_key_arn},
        "backup_plans": sorted(p.name for p in plans),
        "last_recovery_point": last.isoformat() if last else None,
        "tags": dict(sorted(table.tags.items())),
        "findings": [
            finding_json(f)
            for f in report.findings
            if (f.table, f.region) == (table.name, table.region)
        ],
    }


def summary(report: AuditReport) -> dict[str, Any]:
    """Counts: tables, findings by severity and by rule, AWS calls (and per table)."""
    tables = len(report.inventory.tables)
    by_severity = {
        s.label: sum(1 for f in report.findings if f.severity == s)
        for s in sorted(Severity, reverse=True)
    }
    by_rule = {
        rule.id: n for rule in RULES if (n := sum(1 for f in report.findings if f.rule is rule))
    }
    return {
        "tables": tables,
        "findings": len(report.findings),
        "by_severity": by_severity,
        "by_rule": by_rule,
        "aws_calls": report.total_calls,
        "aws_calls_per_table": round(report.total_calls / tables, 2) if tables else None,
        "seconds": round(report.seconds, 2),
    }


def render_audit_json(report: AuditReport) -> dict[str, Any]:
    """The ``--json`` document (format_version 1; see docs/audit-json.md)."""
    return {
        "format_version": AUDIT_FORMAT_VERSION,
        "as_of": report.as_of.isoformat(),
        "regions": list(report.inventory.regions),
        "spec": None
        if report.spec is None
        else {"path": report.spec.path, "environment": report.spec.environment},
        "not_checked": {
            region: list(gaps) for region, gaps in sorted(report.inventory.gaps.items())
        },
        "summary": summary(report),
        "tables": [_table_json(report, t) for t in report.inventory.tables],
        # every finding, also those of no table read here (an alarm naming no table, a spec
        # table that does not exist): sorted by table, region, rule, resource
        "findings": [finding_json(f) for f in report.findings],
        "rules": [
            {"id": rule.id, "severity": rule.severity.label, "checks": rule.checks}
            for rule in RULES
        ],
        "calls": dict(sorted(report.calls.items())),
    }


def render_audit_text(report: AuditReport) -> None:
    """Print the report: one block per table (its regions together), findings with fixes."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console(highlight=False)
    counts = summary(report)
    console.print(
        f"[bold]Audit of {counts['tables']} table(s)[/] in "
        f"{', '.join(report.inventory.regions)}"
        + (f" against {report.spec.path} ({report.spec.environment})" if report.spec else "")
    )
    for region, gaps in sorted(report.inventory.gaps.items()):
        console.print(
            f"[yellow]not checked in {region}[/]: the endpoint has no "
            f"{', '.join(gaps)}; the rules that need them are skipped there"
        )
    grid = Table(show_header=True, header_style="bold", show_lines=False, expand=False)
    for column in ("table", "region", "severity", "rule", "finding / fix"):
        grid.add_column(column, overflow="fold")
    listed: set[tuple[str | None, str]] = set()
    for group in global_tables(report.inventory.tables):
        for table in group:
            listed.add((table.name, table.region))
            mine = [f for f in report.findings if (f.table, f.region) == (table.name, table.region)]
            pitr = table.pitr
            facts = (
                "PITR "
                + ("on" if pitr and pitr.enabled else "off" if pitr else "?")
                + (f" ({pitr.recovery_period_days} d)" if pitr and pitr.enabled else "")
            )
            if not mine:
                grid.add_row(table.name, table.region, Text("ok", style="green"), "", facts)
            for i, finding in enumerate(mine):
                _row(grid, finding, table.name if i == 0 else "", table.region if i == 0 else "")
        grid.add_section()
    for finding in report.findings:
        if (finding.table, finding.region) not in listed:
            _row(grid, finding, finding.table or "(account)", finding.region)
    console.print(grid)
    by = counts["by_severity"]
    console.print(
        f"{counts['findings']} finding(s): "
        + ", ".join(
            f"[{_COLOURS[s]}]{by[s.label]} {s.label}[/]" for s in sorted(Severity, reverse=True)
        )
        + f" — {counts['aws_calls']} AWS call(s) in {counts['seconds']:.1f}s"
    )


def _row(grid: Any, finding: Finding, table: str, region: str) -> None:
    from rich.text import Text

    cell = Text(finding.message)
    cell.append(f"\nfix: {finding.fix}", style="bright_black")
    if finding.resource and finding.resource not in finding.message:
        cell = Text(f"[{finding.resource}] ") + cell
    grid.add_row(
        table,
        region,
        Text(finding.severity.label, style=_COLOURS[finding.severity]),
        finding.rule.id,
        cell,
    )
