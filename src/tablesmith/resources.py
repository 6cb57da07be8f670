"""The resources around a table: AWS Backup (vault, plan, selection, IAM role, DR vaults)
and CloudWatch alarms, in one model for the spec's intent and the live state alike.

``desired_backup(table)`` expands a table's ``backup`` settings into these resources, with
the module's names (``<table>-backup-vault``, ``-backup-plan``, ``-backup-selection``,
``-backup-role``, ``-backup-vault-dr``); ``backup_live.py`` reads the same models from AWS;
the diff compares them. ARNs and IDs, which only AWS knows, live in the ``Live*`` wrappers,
never in what is compared. The alarm model and its derivation live in ``alarms.py``.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from tablesmith.spec.model import Table  # noqa: TC001 (pydantic needs it at runtime)
from tablesmith.spec.names import backup_names

BACKUP_SERVICE = "backup.amazonaws.com"
BACKUP_POLICIES = (
    "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup",
    "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForRestores",
)


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class BackupVault(_Frozen):
    """A backup vault (AWS-managed encryption key, as the module uses)."""

    name: str
    region: str
    tags: dict[str, str] = {}


class CopyAction(_Frozen):
    """Copy each recovery point to a vault in another region, kept as long as the original."""

    destination_region: str
    destination_vault: str  # vault name; its ARN is resolved when applying
    delete_after_days: int
    cold_storage_after_days: int | None = None


class BackupRule(_Frozen):
    """The plan's one rule."""

    name: str
    target_vault: str
    schedule: str
    delete_after_days: int
    cold_storage_after_days: int | None = None
    copy_actions: tuple[CopyAction, ...] = ()  # sorted by destination region


class BackupPlan(_Frozen):
    """A backup plan with one rule; a changed rule is an UpdateBackupPlan, not a new plan."""

    name: str
    region: str
    rule: BackupRule
    tags: dict[str, str] = {}


class BackupRole(_Frozen):
    """The IAM role AWS Backup assumes, with the two AWS-managed policies attached."""

    name: str
    trusted_service: str = BACKUP_SERVICE
    # the trust policy holds an aws:SourceAccount (or stricter) condition: AWS Backup assumes
    # the role only on behalf of this account (the confused-deputy guard)
    limited_to_account: bool = True
    managed_policies: tuple[str, ...] = BACKUP_POLICIES  # sorted ARNs
    tags: dict[str, str] = {}


class BackupSelection(_Frozen):
    """The selection of one table (by name; its ARN is resolved when applying)."""

    name: str
    plan: str  # plan name
    role: str  # role name
    table: str  # physical table name


class Backup(_Frozen):
    """Everything AWS Backup needs for one table (None parts: absent)."""

    vault: BackupVault | None = None
    plan: BackupPlan | None = None
    selection: BackupSelection | None = None
    role: BackupRole | None = None
    dr_vaults: tuple[BackupVault, ...] = ()  # one per replica region, sorted by region


def around_tags(table: Table, name: str, component: str) -> dict[str, str]:
    """The module's tags of a resource around ``table``: the table's (without those that are
    the table's alone, ``table_tags``), with the resource's Name and its own Component."""
    base = table.tags if table.resource_tags is None else table.resource_tags
    return dict(sorted({**base, "Name": name, "Component": component}.items()))


def desired_backup(table: Table) -> Backup:
    """The backup resources ``table``'s settings call for (all None when backup is off)."""
    settings = table.backup
    if settings is None or not settings.enabled:
        return Backup()
    base = table.table_name
    names = backup_names(base)
    vault_name, dr_name = names.vault, names.dr_vault
    copy_regions = table.replicas if settings.copy_to_replica_regions else ()
    dr_vaults = tuple(
        BackupVault(name=dr_name, region=region,
                    tags={**around_tags(table, dr_name, "backup"), "Region": region})
        for region in sorted(copy_regions))
    rule = BackupRule(
        name=names.rule, target_vault=vault_name, schedule=settings.schedule,
        delete_after_days=settings.retention_days,
        cold_storage_after_days=settings.cold_storage_after_days,
        copy_actions=tuple(
            CopyAction(destination_region=v.region, destination_vault=v.name,
                       delete_after_days=settings.retention_days,
                       cold_storage_after_days=settings.cold_storage_after_days)
            for v in dr_vaults))
    role_name, plan_name = names.role, names.plan
    return Backup(
        vault=BackupVault(name=vault_name, region=table.region,
                          tags=around_tags(table, vault_name, "backup")),
        plan=BackupPlan(name=plan_name, region=table.region, rule=rule,
                        tags=around_tags(table, plan_name, "backup")),
        selection=BackupSelection(name=names.selection, plan=plan_name,
                                  role=role_name, table=base),
        role=BackupRole(name=role_name, tags=around_tags(table, role_name, "iam")),
        dr_vaults=dr_vaults,
    )


class MetricQuery(_Frozen):
    """One term of a metric-math alarm: a metric (id, stat, period) or an expression."""

    id: str
    expression: str | None = None  # e.g. "SUM(METRICS())"; None for a metric term
    namespace: str | None = None
    metric_name: str | None = None
    dimensions: dict[str, str] = {}
    stat: str | None = None
    period: int | None = None
    label: str | None = None
    return_data: bool = False


class MetricAlarm(_Frozen):
    """A CloudWatch alarm: on one metric (``metric_name``) or on metric math (``metrics``)."""

    name: str
    region: str
    description: str = ""
    namespace: str | None = None
    metric_name: str | None = None
    dimensions: dict[str, str] = {}
    statistic: str | None = None
    period: int | None = None
    metrics: tuple[MetricQuery, ...] = ()
    threshold: float
    comparison_operator: str = "GreaterThanThreshold"
    evaluation_periods: int
    treat_missing_data: str = "notBreaching"  # DynamoDB publishes these only when non-zero
    alarm_actions: tuple[str, ...] = ()
    ok_actions: tuple[str, ...] = ()
    tags: dict[str, str] = {}
