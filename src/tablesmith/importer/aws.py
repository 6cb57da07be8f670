"""Live tables -> the spec's model, and proof that the spec would change nothing.

Algorithm (``import_tables``):

1. Read each chosen table with ``live.read_table`` (no desired state), and refuse up front
   what the spec cannot hold: PROVISIONED billing, a table, index or replica that is not
   ACTIVE, a table another environment owns (its ``tablesmith:managed`` tag).
2. Read them again as the plan reads them (``live.read_live``, with the candidate tables as
   the desired state): the same table settings, plus their AWS Backup resources and alarms,
   from which the ``backup`` and ``alarms`` settings are derived (a plan with several rules
   is refused: the spec holds one rule per table).
3. Check each candidate the way ``plan`` will see it: write its spec, load it back with the
   real loader (every default and validation rule applies) and require the very same
   effective table; then ``diff.plan_environment`` on the state read in step 2 must give no
   operation for it. A table failing either is skipped with the reason (the operations the
   plan would make), never written; the check repeats until no table is dropped (tables
   share conventions and the account-wide UserErrors alarm).

Ownership: the spec loader adds ``tablesmith:managed=<env>`` to every table, and ``--prune``
deletes only tables carrying it. An imported table does not carry it, so the spec writes
``tablesmith:managed: null`` (the tag is not added, the plan is empty) unless the table is
already this environment's or ``claim`` is asked, when the plan tags it as a visible,
separate operation.
"""

from __future__ import annotations

import re
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, get_args

from tablesmith.around.alarms import AlarmState
from tablesmith.around.backup import BackupState
from tablesmith.errors import SpecError, UsageError
from tablesmith.spec.defaults import MODULE_DEFAULTS
from tablesmith.spec.model import (
    MODULE_TABLE_NAME_PATTERN,
    OWNERSHIP_TAG,
    AlarmRule,
    Alarms,
    Backup,
    Conventions,
    Quotas,
    Statistic,
    Table,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from tablesmith.around.alarms import LiveAlarm
    from tablesmith.around.backup import LiveBackup
    from tablesmith.aws import Clients
    from tablesmith.spec.model import Environment
    from tablesmith.state import LiveState, LiveTable

MAX_READERS = 16
ANY_TABLE_NAME = r"^[A-Za-z0-9_.-]{3,255}$"  # DynamoDB's own rule for table names
_MORE_RULES = re.compile(r" \(\+(\d+) other rules?\)$")  # how backup.py reads extra rules
_SHOWN_OPS = 4  # operations named in a skip reason


@dataclass(frozen=True)
class TableResult:
    """What became of one chosen table."""

    name: str  # physical name
    imported: bool
    reason: str = ""  # why it was skipped ("" when imported)
    claimed: bool = False  # the written spec has it carry the ownership tag


@dataclass(frozen=True)
class ImportResult:
    """The spec written for the importable tables, and a verdict per chosen table."""

    environment: Environment
    conventions: Conventions
    tables: tuple[Table, ...]  # imported, as the written spec loads them (ownership aside)
    results: tuple[TableResult, ...]  # every chosen table, by name
    text: str = ""  # the YAML spec ("" when no table could be imported)
    notices: tuple[str, ...] = field(default=())

    @property
    def skipped(self) -> tuple[TableResult, ...]:
        """The tables that were not imported."""
        return tuple(r for r in self.results if not r.imported)


# --------------------------------------------------------------------------- choose


def choose_tables(
    clients: Clients, region: str, names: Sequence[str], prefix: str | None, everything: bool
) -> list[str]:
    """The physical names to import: those given, or those of the region (with ``prefix``)."""
    if names:
        return sorted(set(names))
    from tablesmith.aws import aws_context

    found: list[str] = []
    with aws_context(f"listing tables in {region}"):
        for page in clients.dynamodb(region).get_paginator("list_tables").paginate():
            found += page.get("TableNames", [])
    if not everything:
        found = [n for n in found if n.startswith(prefix or "")]
    return sorted(found)


# --------------------------------------------------------------------------- import


def import_tables(
    clients: Clients,
    env: Environment,
    names: Sequence[str],
    *,
    claim: bool = False,
    header: Sequence[str] = (),
) -> ImportResult:
    """Read ``names`` in ``env``'s region and write the spec that reproduces them exactly."""
    from tablesmith.live import endpoint_gaps, read_live, read_table

    region = env.region
    gaps = endpoint_gaps(clients, region)
    blind = [g for g in ("tags", "pitr") if g in gaps]
    if blind:
        raise UsageError(
            f"the endpoint does not implement {' and '.join(blind)}: import "
            "cannot read what the tables hold there"
        )
    reasons: dict[str, str] = {}
    if not names:
        return ImportResult(environment=env, conventions=Conventions(), tables=(), results=())
    with ThreadPoolExecutor(max_workers=min(MAX_READERS, len(names))) as pool:
        first = list(pool.map(lambda n: read_table(clients, n, region, None, gaps), names))
    candidates: dict[str, Table] = {}
    for name, live in zip(names, first, strict=True):
        outcome = _candidate(clients, name, live, env)
        if isinstance(outcome, str):
            reasons[name] = outcome
        else:
            candidates[name] = outcome

    state = read_live(clients, list(candidates.values()), region=region)
    notices = []
    if "backup" in state.unsupported:
        notices.append("the endpoint has no AWS Backup: backup is written as disabled")
    if "alarms" in state.unsupported:
        notices.append("the endpoint has no CloudWatch: alarms are written as disabled")
    for name, table in list(candidates.items()):
        outcome = _around(state, table)
        if isinstance(outcome, str):
            reasons[name] = outcome
            del candidates[name]
        else:
            candidates[name] = outcome

    checked, conventions = _verify(state, env, candidates, reasons)
    owned = {n for n, t in checked.items() if claim or OWNERSHIP_TAG in t.tags}
    results = tuple(
        TableResult(name=n, imported=n in checked, reason=reasons.get(n, ""), claimed=n in owned)
        for n in sorted(names)
    )
    text = ""
    if checked:
        from tablesmith.importer.yaml_writer import render_spec

        text = render_spec(env, conventions, list(checked.values()), claimed=owned, header=header)
        _load(text, env)  # what is written must load (claimed or not)
    return ImportResult(
        environment=env,
        conventions=conventions,
        tables=tuple(checked[n] for n in sorted(checked)),
        results=results,
        text=text,
        notices=tuple(notices),
    )


def _candidate(
    clients: Clients, name: str, live: LiveTable | None, env: Environment
) -> Table | str:
    """The table as the spec would hold it, or why the spec cannot."""
    if live is None:
        return "no such table in " + env.region
    t = live.table
    if t.billing_mode != "PAY_PER_REQUEST":
        return (
            f"billing mode is {t.billing_mode}: the spec holds on-demand tables only "
            "(switch it to PAY_PER_REQUEST first, then import it)"
        )
    if live.status != "ACTIVE":
        return f"the table is {live.status}: import it once it is ACTIVE"
    busy = sorted(n for n, i in live.indexes.items() if i.status != "ACTIVE" or i.backfilling)
    if busy:
        return f"index(es) {', '.join(busy)} not ACTIVE yet: import once they are"
    busy = [r.region for r in live.replica_states if r.status != "ACTIVE"]
    if busy:
        return f"replica(s) in {', '.join(busy)} not ACTIVE yet: import once they are"
    owner = t.tags.get(OWNERSHIP_TAG)
    if owner is not None and owner != env.name:
        return (
            f"environment '{owner}' owns it ({OWNERSHIP_TAG}={owner}): import it into "
            "that environment"
        )
    prefix, suffix = env.table_prefix, env.table_suffix
    if not (name.startswith(prefix) and name.endswith(suffix)) or len(name) <= len(prefix) + len(
        suffix
    ):
        return f"its name does not have the environment's prefix '{prefix}' / suffix '{suffix}'"
    logical = name[len(prefix) : len(name) - len(suffix)]
    encryption = t.encryption
    if encryption.type == "CUSTOMER_MANAGED" and t.replicas:
        keys = _replica_keys(clients, name, t.replicas)
        if isinstance(keys, str):
            return keys
        encryption = encryption.model_copy(update={"replica_kms_key_arns": keys})
    return t.model_copy(update={"name": logical, "environment": env.name, "encryption": encryption})


def _replica_keys(clients: Clients, name: str, regions: Sequence[str]) -> dict[str, str] | str:
    """The customer-managed KMS key of each replica (keys are regional)."""
    from tablesmith.aws import aws_context

    keys: dict[str, str] = {}
    for region in regions:
        with aws_context(f"describing replica of '{name}' in {region}"):
            sse = (
                clients.dynamodb(region)
                .describe_table(TableName=name)["Table"]
                .get("SSEDescription")
                or {}
            )
        arn = sse.get("KMSMasterKeyArn")
        if not arn:
            return f"its replica in {region} has no KMS key of its own"
        keys[region] = str(arn)
    return dict(sorted(keys.items()))


# --------------------------------------------------------------------------- around


def _around(state: LiveState, table: Table) -> Table | str:
    """``table`` with the ``backup`` and ``alarms`` settings its live resources show."""
    live = state.tables.get(table.table_name)
    if live is None:
        return "the table disappeared while it was being read"
    backup = (
        _disabled_backup()
        if "backup" in state.unsupported
        else _backup(backups.tables.get(table.table_name)
                     if isinstance(backups := state.around.get("backup"), BackupState)
                     else None, table)
    )
    if isinstance(backup, str):
        return backup
    alarms = (
        _disabled_alarms()
        if "alarms" in state.unsupported
        else _alarms(alarms_read.tables.get(table.table_name, ())
                     if isinstance(alarms_read := state.around.get("alarms"), AlarmState)
                     else (), table)
    )
    if isinstance(alarms, str):
        return alarms
    return table.model_copy(update={"backup": backup, "alarms": alarms})


def _disabled_backup() -> Backup:
    return Backup.model_validate({**MODULE_DEFAULTS["backup"], "enabled": False})


def _backup(live: LiveBackup | None, table: Table) -> Backup | str:
    """The one-rule backup setting the table's vault, plan, selection and role show."""
    if live is None:
        return _disabled_backup()
    plan = live.backup.plan
    if plan is None:
        found = [
            what
            for what, value in (
                ("vault", live.backup.vault),
                ("selection", live.backup.selection),
                ("role", live.backup.role),
            )
            if value is not None
        ]
        found += ["DR vault"] * bool(live.backup.dr_vaults)
        return (
            f"AWS Backup {', '.join(found)} of the table exist without its plan "
            f"'{table.table_name}-backup-plan': the spec holds all of them or none"
        )
    rule = plan.rule
    more = _MORE_RULES.search(rule.name)
    if more:
        return (
            f"its backup plan '{plan.name}' has {int(more.group(1)) + 1} rules: the spec "
            "holds one rule per table"
        )
    copies = bool(rule.copy_actions)
    return Backup(
        enabled=True,
        schedule=rule.schedule,
        retention_days=rule.delete_after_days,
        cold_storage_after_days=rule.cold_storage_after_days,
        copy_to_replica_regions=copies or not table.replicas,
    )


def _default_rules(enabled: bool | None = None) -> dict[str, AlarmRule]:
    rules = {}
    for name in (
        "system_errors",
        "throttled_requests",
        "read_throttle_events",
        "write_throttle_events",
        "replication_latency",
        "user_errors",
    ):
        raw = dict(MODULE_DEFAULTS["alarms"][name])
        if enabled is not None:
            raw["enabled"] = enabled
        rules[name] = AlarmRule.model_validate(raw)
    return rules


def _disabled_alarms() -> Alarms:
    return Alarms(enabled=False, **_default_rules(False))


def _alarms(live: Sequence[LiveAlarm], table: Table) -> Alarms | str:
    """The alarm settings the table's alarms (found by tablesmith's names) show."""
    from tablesmith.around.alarms import user_errors_alarm_name

    if not live:
        return _disabled_alarms()
    by_name = {a.alarm.name: a.alarm for a in live}
    t = table.table_name
    gsis = [g.name for g in table.global_secondary_indexes]
    candidates = {
        "system_errors": [f"{t}-system-errors", f"{t}-system-errors-partiql-streams"],
        "throttled_requests": [f"{t}-throttled-requests", f"{t}-throttled-requests-partiql"],
        "read_throttle_events": [
            f"{t}-read-throttle-events",
            *(f"{t}-{g}-read-throttle-events" for g in gsis),
        ],
        "write_throttle_events": [
            f"{t}-write-throttle-events",
            *(f"{t}-{g}-write-throttle-events" for g in gsis),
        ],
        "replication_latency": [f"{t}-replication-latency-{r}" for r in table.replicas],
        "user_errors": [user_errors_alarm_name(table)],
    }
    rules: dict[str, AlarmRule] = {}
    defaults = _default_rules(False)
    first = None
    for setting, names in candidates.items():
        alarm = next((by_name[n] for n in names if n in by_name), None)
        if alarm is None:
            rules[setting] = defaults[setting]
            continue
        first = first or alarm
        rule = _rule(alarm)
        if isinstance(rule, str):
            return rule
        rules[setting] = rule
    if first is None:  # only alarms of other names: nothing of tablesmith's to reproduce
        return _disabled_alarms()
    return Alarms(
        enabled=True, alarm_actions=first.alarm_actions, ok_actions=first.ok_actions, **rules
    )


def _rule(alarm: Any) -> AlarmRule | str:
    if alarm.metrics:
        term = next((q for q in alarm.metrics if q.expression is None), None)
        stat, period = (term.stat, term.period) if term is not None else (None, None)
    else:
        stat, period = alarm.statistic, alarm.period
    if stat not in get_args(Statistic) or period is None:
        return (
            f"alarm '{alarm.name}' uses statistic {stat or 'none'}: the spec's alarms use "
            f"one of {', '.join(get_args(Statistic))}"
        )
    return AlarmRule.model_validate(
        {
            "enabled": True,
            "threshold": float(alarm.threshold),
            "period": period,
            "evaluation_periods": alarm.evaluation_periods,
            "statistic": stat,
        }
    )


# --------------------------------------------------------------------------- verify


def conventions_for(tables: Iterable[Table]) -> Conventions:
    """The built-in conventions, relaxed only where the imported tables need it."""
    chosen = list(tables)
    default = Conventions()
    mandatory = tuple(k for k in default.mandatory_tags if all(k in t.tags for t in chosen))
    pattern = default.table_name_pattern
    if not all(re.fullmatch(MODULE_TABLE_NAME_PATTERN, t.name) for t in chosen):
        pattern = ANY_TABLE_NAME
    caps = [
        c
        for t in chosen
        if t.on_demand_throughput is not None
        for c in (
            t.on_demand_throughput.max_read_request_units,
            t.on_demand_throughput.max_write_request_units,
        )
        if c is not None
    ]
    quotas = default.quotas
    if caps and max(caps) > min(quotas.table_read_request_units, quotas.table_write_request_units):
        top = max(caps)
        quotas = Quotas(
            table_read_request_units=max(top, quotas.table_read_request_units),
            table_write_request_units=max(top, quotas.table_write_request_units),
        )
    return Conventions(mandatory_tags=mandatory, table_name_pattern=pattern, quotas=quotas)


def _verify(
    state: LiveState, env: Environment, candidates: dict[str, Table], reasons: dict[str, str]
) -> tuple[dict[str, Table], Conventions]:
    """The candidates whose written spec loads back the same and plans empty (step 3)."""
    from tablesmith.diff import plan_environment
    from tablesmith.render.plan import _describe

    current = dict(candidates)
    conventions = conventions_for(current.values())
    for _ in range(len(candidates) + 1):
        conventions = conventions_for(current.values())
        for name, table in list(current.items()):
            problem = _reads_back(table, env, conventions)
            if problem:
                reasons[name] = problem
                del current[name]
        plan = plan_environment(state, list(current.values()), environment=env.name)
        changes: dict[str, list[str]] = {}
        for op in plan.operations:
            if op.table in current:
                changes.setdefault(op.table, []).append(_describe(op))
        for name, lines in changes.items():
            shown = "; ".join(lines[:_SHOWN_OPS]) + (
                f"; and {len(lines) - _SHOWN_OPS} more" if len(lines) > _SHOWN_OPS else ""
            )
            reasons[name] = f"the spec cannot reproduce it: a plan would {shown}"
            del current[name]
        if not changes:
            break
    return current, conventions


def _reads_back(table: Table, env: Environment, conventions: Conventions) -> str:
    """Why the spec written for ``table`` does not load back as ``table`` ("" if it does)."""
    from tablesmith.importer.yaml_writer import render_spec

    text = render_spec(
        env, conventions, [table], claimed=[table.table_name] if OWNERSHIP_TAG in table.tags else []
    )
    try:
        loaded = _load(text, env)
    except SpecError as exc:
        problems = "; ".join(f"{d.path}: {d.message}" for d in exc.diagnostics[:3])
        return f"the spec cannot express it: {problems}"
    if len(loaded) != 1 or loaded[0] != table:
        got = loaded[0].model_dump() if loaded else {}
        want = table.model_dump()
        fields = [k for k in want if got.get(k) != want[k]]
        return f"the written spec reads back differently ({', '.join(fields)})"
    return ""


def _load(text: str, env: Environment) -> tuple[Table, ...]:
    """The tables of ``env`` in the spec ``text``, through the real loader."""
    from tablesmith.spec.loader import load

    with tempfile.TemporaryDirectory(prefix="tablesmith-import-") as directory:
        path = Path(directory) / f"{env.name}.yaml"
        path.write_text(text, encoding="utf-8")
        return load(path, env=env.name).tables(env.name)


def describe_source(clients: Clients, env: Environment) -> list[str]:
    """The header comment of the written spec: where it came from, and how to read it."""
    target = clients.target
    if target.static_credentials:
        where = "the embedded local target"
    elif clients.custom_endpoint:
        where = f"the endpoint {clients.custom_endpoint}"
    else:
        account = clients.account_id()
        where = f"AWS account {account}" + (
            f" (profile {target.profile})" if target.profile else ""
        )
    return [
        f"Imported by `tablesmith import aws --env {env.name}` from {where}, {env.region}.",
        "Every setting is written out: the environment's built-in defaults change nothing",
        "here, and `tablesmith plan` on this file (same target flags) plans no change.",
        f"`{OWNERSHIP_TAG}: null`: the table is not claimed (--prune never deletes it);",
        "drop that line (or import with --claim) to have the next apply tag it as owned.",
    ]
