"""``tablesmith audit``: every DynamoDB table of an account, checked against the guardrails.

    read.py (bulk) ──▶ Inventory ──check.py (pure)──▶ findings ──render.py──▶ text / JSON

The rules are data (``rules.py``): a stable ID (AWS Config's managed-rule name where one
exists), a severity and a one-line fix. With a spec, ``tablesmith-unmanaged`` and
``tablesmith-spec-drift`` come from the spec's names and from the plan ``engine.Session``
computes; everything else needs no spec at all, so tables nobody put in one are audited too.

    from tablesmith.audit import run_audit
    report = run_audit(clients, ["af-south-1", "eu-west-1"])
    [f.rule.id for f in report.findings]
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from tablesmith.audit.check import Policy, SpecView, audit
from tablesmith.audit.read import Inventory, read_inventory
from tablesmith.spec.model import DEFAULT_DR_REGION, DEFAULT_REGION

if TYPE_CHECKING:
    from collections.abc import Sequence

    from tablesmith.audit.rules import Finding
    from tablesmith.aws import Clients
    from tablesmith.engine import Session
    from tablesmith.spec.loader import Spec

__all__ = ["AuditReport", "Policy", "SpecView", "default_regions", "run_audit", "spec_view"]

DEFAULT_REGIONS = (DEFAULT_REGION, DEFAULT_DR_REGION)


@dataclass(frozen=True)
class AuditReport:
    """What one audit read and found."""

    inventory: Inventory
    findings: tuple[Finding, ...]
    calls: Counter[str]  # "dynamodb.DescribeTable" -> count
    seconds: float
    as_of: dt.datetime
    spec: SpecView | None = None

    @property
    def total_calls(self) -> int:
        """AWS API calls made by the audit (spec drift's plan included)."""
        return sum(self.calls.values())


def default_regions(spec: Spec | None, env: str | None) -> tuple[str, ...]:
    """The environment's primary and replica regions, else af-south-1 and eu-west-1."""
    if spec is None or env is None:
        return DEFAULT_REGIONS
    primary = spec.environment(env).region
    replicas = sorted({r for t in spec.tables(env) for r in t.replicas} - {primary})
    return (primary, *replicas)


def spec_view(spec: Spec, env: str, path: str, session: Session | None) -> SpecView:
    """The spec's names, and (given a bound session) the plan's summary per table."""
    named = frozenset(t.table_name for e in spec.tables_by_env for t in spec.tables(e))
    tables = spec.tables(env)
    managed = frozenset(
        {(t.table_name, t.region) for t in tables}
        | {(t.table_name, r) for t in tables for r in t.replicas}
    )
    drift: dict[tuple[str, str], str] = {}
    if session is not None:
        plan = session.plan()
        for table in session.tables:
            ops = [op for op in plan.operations if op.table == table.table_name]
            if ops:
                counts = Counter(op.op for op in ops)
                listed = ", ".join(
                    f"{name}" + (f" x{n}" if n > 1 else "") for name, n in sorted(counts.items())
                )
                drift[(table.table_name, table.region)] = (
                    f"the plan for environment '{env}' has {len(ops)} change(s): {listed}"
                )
    return SpecView(path=path, environment=env, named=named, managed=managed, drift=drift)


def run_audit(
    clients: Clients,
    regions: Sequence[str],
    *,
    policy: Policy | None = None,
    spec: Spec | None = None,
    env: str | None = None,
    spec_path: str = "",
    now: dt.datetime | None = None,
    workers: int | None = None,
) -> AuditReport:
    """Read ``regions`` through ``clients`` and check every table found.

    With ``spec`` and ``env``, the environment is also planned (through the same clients, so
    its calls are counted) for ``tablesmith-spec-drift``.
    """
    started = time.monotonic()
    as_of = now or dt.datetime.now(dt.UTC)
    inventory = read_inventory(clients, regions, **({"workers": workers} if workers else {}))
    policy = policy or Policy()
    if spec is not None:
        policy = replace(policy, mandatory_tags=tuple(spec.conventions.mandatory_tags))
    if policy.require_customer_key:
        keys = {(t.kms_key_arn, t.region) for t in inventory.tables if t.kms_key_arn}
        policy = replace(
            policy,
            key_managers={key: clients.key_manager(key, region) for key, region in sorted(keys)},
        )
    view = None
    if spec is not None and env is not None:
        from tablesmith.aws import Clients as _Clients
        from tablesmith.engine import Session

        # the plan reads the environment's own region: same target, that region
        planning = _Clients(replace(clients.target, region=spec.environment(env).region))
        session = replace(Session.for_environment(spec, env), clients=planning)
        view = spec_view(spec, env, spec_path, session)
        calls = Counter(clients.calls) + Counter(planning.calls)
    else:
        calls = Counter(clients.calls)
    findings = audit(inventory, policy=policy, spec=view, now=as_of)
    return AuditReport(
        inventory=inventory,
        findings=tuple(findings),
        calls=calls,
        seconds=time.monotonic() - started,
        as_of=as_of,
        spec=view,
    )
