"""The names a table gives the resources around it, and the AWS limits on them.

Validation (``spec.resolve``) reports a name AWS would refuse at the spec's line, before any
call; the families (``around.backup``, ``around.alarms``) make the resources under the same
names. Both use these functions, so the spec validates without importing a family.

* AWS Backup: everything is named from the table's physical name, as the Terraform module
  does (``<t>-backup-vault``, ``-backup-vault-dr``, ``-backup-plan``, ``-backup-rule``,
  ``-backup-selection``, ``-backup-role``);
* CloudWatch: the alarms a table's ``alarms:`` settings derive (``alarm_names``), each named
  after the table (``around/alarms.py`` says what each one watches), and the one UserErrors
  alarm an environment's tables share per Region.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tablesmith.spec.model import Table

# --------------------------------------------------------------------------- AWS Backup


@dataclass(frozen=True)
class BackupNames:
    """The module's names of one table's backup resources."""

    vault: str
    dr_vault: str
    plan: str
    rule: str
    selection: str
    role: str


def backup_names(table_name: str) -> BackupNames:
    """The names ``desired_backup`` gives, from the table's physical name."""
    return BackupNames(vault=f"{table_name}-backup-vault", dr_vault=f"{table_name}-backup-vault-dr",
                       plan=f"{table_name}-backup-plan", rule=f"{table_name}-backup-rule",
                       selection=f"{table_name}-backup-selection",
                       role=f"{table_name}-backup-role")


# AWS Backup API reference (botocore backup-2018-11-15 shapes) and IAM's roleNameType
_VAULT_NAME = re.compile(r"[a-zA-Z0-9\-_]{2,50}")  # BackupVaultName
_DOTTED_NAME = re.compile(r"[a-zA-Z0-9\-_.]{1,50}")  # BackupSelectionName, BackupRuleName,
# and BackupPlanName ("1 to 50 alphanumeric or '-_.' characters" on CreateBackupPlan)
_ROLE_NAME = re.compile(r"[\w+=,.@-]{1,64}", re.ASCII)  # IAM roleNameType


def backup_name_problems(table_name: str) -> list[str]:
    """What AWS would refuse in the names of ``table_name``'s backup resources ([] if none)."""
    names = backup_names(table_name)
    checks = (
        ("backup vault", names.vault, _VAULT_NAME, "2-50 letters, digits, '-' or '_'"),
        ("DR backup vault", names.dr_vault, _VAULT_NAME, "2-50 letters, digits, '-' or '_'"),
        ("backup plan", names.plan, _DOTTED_NAME, "1-50 letters, digits, '-', '_' or '.'"),
        ("backup rule", names.rule, _DOTTED_NAME, "1-50 letters, digits, '-', '_' or '.'"),
        ("backup selection", names.selection, _DOTTED_NAME,
         "1-50 letters, digits, '-', '_' or '.'"),
        ("IAM role", names.role, _ROLE_NAME, "1-64 letters, digits or '+=,.@_-'"),
    )
    problems = []
    for what, name, pattern, rule in checks:
        if not pattern.fullmatch(name):
            problems.append(f"the {what} name '{name}' ({len(name)} characters) is not valid "
                            f"for AWS: it must be {rule}; shorten the table name (with its "
                            "prefix/suffix) or turn backup off")
    return problems


# --------------------------------------------------------------------------- CloudWatch alarms

MAX_ALARM_NAME = 255  # PutMetricAlarm AlarmName
SHARED_PREFIX = "dynamodb-user-errors-"
# the summed (metric-math) alarms, one per group of operations (``around/alarms.py``)
SYSTEM_ERRORS_SUFFIXES = ("system-errors", "system-errors-partiql-streams")
THROTTLED_SUFFIXES = ("throttled-requests", "throttled-requests-partiql")


@dataclass(frozen=True)
class AlarmName:
    """One alarm a table's settings derive: its name, and what in the spec it comes from."""

    name: str
    rule: str  # the ``alarms:`` rule that makes it: system_errors, ..., user_errors
    suffix: str | None = None  # a summed alarm's group (SYSTEM_ERRORS_/THROTTLED_SUFFIXES)
    index: str | None = None  # the GSI a throttle-events alarm watches
    replica: str | None = None  # the replica Region a replication-latency alarm watches


def user_errors_alarm_name(table: Table) -> str:
    """The one UserErrors alarm of ``table``'s environment in its region."""
    return f"{SHARED_PREFIX}{table.environment}-{table.region}"


def alarm_names(table: Table) -> tuple[AlarmName, ...]:
    """The alarms ``table``'s settings call for, sorted by name (none when alarms are off),
    whatever their names' length."""
    settings = table.alarms
    if settings is None or not settings.enabled:
        return ()
    t = table.table_name
    found: list[AlarmName] = []
    for rule, suffixes in (("system_errors", SYSTEM_ERRORS_SUFFIXES),
                           ("throttled_requests", THROTTLED_SUFFIXES)):
        if getattr(settings, rule).enabled:
            found += [AlarmName(f"{t}-{s}", rule, suffix=s) for s in suffixes]
    for kind in ("read", "write"):
        rule = f"{kind}_throttle_events"
        if not getattr(settings, rule).enabled:
            continue
        found.append(AlarmName(f"{t}-{kind}-throttle-events", rule))
        found += [AlarmName(f"{t}-{g.name}-{kind}-throttle-events", rule, index=g.name)
                  for g in table.global_secondary_indexes]
    if settings.replication_latency.enabled:
        found += [AlarmName(f"{t}-replication-latency-{r}", "replication_latency", replica=r)
                  for r in table.replicas]
    if settings.user_errors.enabled:
        found.append(AlarmName(user_errors_alarm_name(table), "user_errors"))
    return tuple(sorted(found, key=lambda a: a.name))
