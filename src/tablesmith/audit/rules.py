"""The audit's rules as data: a stable ID, a severity, what it checks and a one-line fix.

IDs are AWS Config's managed-rule names where AWS Config has the same check (so that findings
map onto a team's Config dashboards), and ``tablesmith-*`` otherwise. IDs and severities are
part of the ``--json`` format (docs/audit-json.md): never rename one, add a new one instead.

Each fix is two one-liners: ``spec_fix`` (the spec change, shown for tables a spec names) and
``cli_fix`` (an AWS CLI command, for the others). Placeholders: ``{table}``, ``{region}``,
``{arn}``, ``{resource}`` (the alarm or plan the finding is about), ``{detail}``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Severity(enum.IntEnum):
    """How bad a finding is; ``--fail-on`` compares with ``>=``."""

    INFO = 1
    WARNING = 2
    ERROR = 3

    @property
    def label(self) -> str:
        """The lower-case name used in the CLI and JSON."""
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Severity:
        """``"warning"`` -> ``Severity.WARNING`` (ValueError for anything else)."""
        try:
            return cls[text.upper()]
        except KeyError:
            names = ", ".join(s.label for s in cls)
            raise ValueError(f"unknown severity '{text}' (one of: {names})") from None


@dataclass(frozen=True)
class Rule:
    """One check of the audit."""

    id: str
    severity: Severity
    checks: str  # what it checks, one line (``--help`` and the docs)
    spec_fix: str
    cli_fix: str
    needs_spec: bool = False  # only with --spec


PITR = Rule(
    "dynamodb-pitr-enabled",
    Severity.ERROR,
    "point-in-time recovery is on (its recovery period is reported)",
    "point_in_time_recovery: {{enabled: true, recovery_period_days: 35}}",
    "aws dynamodb update-continuous-backups --table-name {table} --region {region} "
    "--point-in-time-recovery-specification PointInTimeRecoveryEnabled=true",
)
IN_BACKUP_PLAN = Rule(
    "dynamodb-in-backup-plan",
    Severity.ERROR,
    "some AWS Backup plan selects the table (by ARN, tag condition or wildcard)",
    "backup: {{enabled: true}}",
    "aws backup create-backup-selection --region {region} --backup-plan-id <plan-id> "
    '--backup-selection \'{{"SelectionName": "{table}", "IamRoleArn": "<role-arn>", '
    '"Resources": ["{arn}"]}}\'',
)
PROTECTED_BY_PLAN = Rule(
    "dynamodb-resources-protected-by-backup-plan",
    Severity.WARNING,
    "a replicated table's backup plan copies to a vault in another region",
    "backup: {{enabled: true, copy_to_replica_regions: true}}",
    "aws backup update-backup-plan --region {region} --backup-plan-id {resource} "
    "--backup-plan <the plan with a CopyActions entry to a vault in {detail}>",
)
LAST_RECOVERY_POINT = Rule(
    "dynamodb-last-backup-recovery-point-created",
    Severity.WARNING,
    "a recovery point exists within the plan's schedule period (plus its start window)",
    "backup: {{enabled: true}}  # then check the plan's jobs: aws backup list-backup-jobs "
    "--by-resource-arn {arn} --region {region}",
    "aws backup list-backup-jobs --by-resource-arn {arn} --region {region}  "
    "# why did the plan's jobs not complete?",
)
DELETION_PROTECTION = Rule(
    "dynamodb-table-deletion-protection-enabled",
    Severity.WARNING,
    "deletion protection is on, on the table and on every replica",
    "deletion_protection: true",
    "aws dynamodb update-table --table-name {table} --region {region} "
    "--deletion-protection-enabled",
)
ENCRYPTED_KMS = Rule(
    "dynamodb-table-encrypted-kms",
    Severity.WARNING,
    "encrypted with a KMS key (AWS-managed or customer; --kms-key / --require-customer-key "
    "narrow it)",
    "encryption: {{type: AWS_MANAGED}}  # or {{type: CUSTOMER_MANAGED, kms_key_arn: <arn>}}",
    "aws dynamodb update-table --table-name {table} --region {region} "
    "--sse-specification Enabled=true,SSEType=KMS",
)
UNPUBLISHED_SERIES = Rule(
    "tablesmith-alarm-unpublished-series",
    Severity.WARNING,
    "no alarm in AWS/DynamoDB watches a metric/dimension set DynamoDB never publishes",
    "alarms: {{enabled: true}}  # tablesmith's alarms watch published series; then: "
    "aws cloudwatch delete-alarms --alarm-names {resource} --region {region}",
    "aws cloudwatch delete-alarms --alarm-names {resource} --region {region}  "
    "# and alarm on {detail} instead",
)
NO_ERROR_ALARM = Rule(
    "tablesmith-no-error-alarm",
    Severity.WARNING,
    "an alarm that can fire watches the table's SystemErrors and its throttling",
    "alarms: {{enabled: true, system_errors: {{enabled: true}}, "
    "throttled_requests: {{enabled: true}}}}",
    "aws cloudwatch put-metric-alarm --region {region} --alarm-name {table}-system-errors "
    "--metrics <SystemErrors per TableName={table} and Operation, SUM(METRICS())> ...",
)
REPLICA_DRIFT = Rule(
    "tablesmith-replica-drift",
    Severity.WARNING,
    "a replica's tags, deletion protection and PITR match its table's",
    "replicas: [{region}]  # tablesmith apply sets each replica's tags, protection and PITR",
    "{detail}",
)
MANDATORY_TAGS = Rule(
    "tablesmith-mandatory-tags",
    Severity.WARNING,
    "the conventions' mandatory tags are set (default: the module's six)",
    "tags: {{{detail}}}",
    "aws dynamodb tag-resource --resource-arn {arn} --region {region} --tags {detail}",
)
UNMANAGED = Rule(
    "tablesmith-unmanaged",
    Severity.INFO,
    "with --spec: every table of the account is named by the spec",
    "tables: {{{table}: {{...}}}}  # or delete it",
    "add '{table}' to the spec, or: aws dynamodb delete-table --table-name {table} "
    "--region {region}",
    needs_spec=True,
)
SPEC_DRIFT = Rule(
    "tablesmith-spec-drift",
    Severity.WARNING,
    "with --spec: the live state of each spec table matches the spec (the plan is empty)",
    "tablesmith plan {detail}  # review, then tablesmith apply",
    "tablesmith plan {detail}  # review, then tablesmith apply",
    needs_spec=True,
)

RULES: tuple[Rule, ...] = (
    PITR,
    IN_BACKUP_PLAN,
    PROTECTED_BY_PLAN,
    LAST_RECOVERY_POINT,
    DELETION_PROTECTION,
    ENCRYPTED_KMS,
    UNPUBLISHED_SERIES,
    NO_ERROR_ALARM,
    REPLICA_DRIFT,
    MANDATORY_TAGS,
    UNMANAGED,
    SPEC_DRIFT,
)
BY_ID = {rule.id: rule for rule in RULES}


@dataclass(frozen=True)
class Finding:
    """One rule broken by one table (or by one alarm or plan of it) in one region."""

    rule: Rule
    table: str | None  # None: an account-level resource (an alarm naming no table)
    region: str
    message: str
    fix: str
    resource: str | None = None  # the alarm or plan the finding is about, if not the table

    @property
    def severity(self) -> Severity:
        """The rule's severity."""
        return self.rule.severity

    def sort_key(self) -> tuple[str, str, str, str]:
        """Findings are listed by table, region, rule, resource."""
        return (self.table or "", self.region, self.rule.id, self.resource or "")


def make_finding(
    rule: Rule,
    *,
    table: str | None,
    region: str,
    message: str,
    managed: bool = False,
    arn: str = "",
    resource: str | None = None,
    detail: str = "",
) -> Finding:
    """A finding with its fix filled in (the spec change when a spec names the table)."""
    template = rule.spec_fix if managed else rule.cli_fix
    fix = template.format(
        table=table or "", region=region, arn=arn or "<arn>", resource=resource or "", detail=detail
    )
    return Finding(
        rule=rule, table=table, region=region, message=message, fix=fix, resource=resource
    )
