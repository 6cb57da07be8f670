"""Bulk reads of every DynamoDB table of some regions, with its backup coverage and alarms.

Written to be shared (the audit uses all of it; ``live`` and the performance work can use any
reader on its own). Each reader is one region's worth of one bulk API, or one table's worth of
the two per-table reads that have no bulk form. Calls, for T tables, P backup plans with S
selections, A alarms and R protected resources in a region:

    ListTables                   ceil(T / 100)
    DescribeTable                T                 (bounded pool, adaptive retries)
    DescribeContinuousBackups    T                 (bounded pool, adaptive retries)
    GetResources (tagging)       ceil(T / 100)     tags of every table in the region
    DescribeAlarms               ceil(A / 100)     every metric alarm of the region
    ListProtectedResources       ceil(R / 1000)    the newest recovery point of each resource
    ListBackupPlans              ceil(P / 1000)
    GetBackupPlan                P                 schedules, start windows, copy actions
    ListBackupSelections         P
    GetBackupSelection           S                 resources, tag conditions

So about 2 calls per table, plus 2 per backup plan and 1 per selection: an account whose
tables share a few plans stays near 2; one plan per table (the module's way) costs 3 more
per table, because AWS Backup has no bulk read of plans and selections.

A replica outside the audited regions is read like a table (DescribeTable and
DescribeContinuousBackups), and its region's bulk reads are made too (its tags, and the
alarms and plans that may cover it), so that a global table is judged whole. Features an
endpoint lacks (DynamoDB Local: no tagging, Backup or CloudWatch) become ``gaps``: the rules
that need them are reported as not checked.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from tablesmith.around.alarms import parse_alarm
from tablesmith.aws import aws_context, error_code
from tablesmith.errors import AwsError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

    from tablesmith.aws import Clients
    from tablesmith.resources import MetricAlarm

_T = TypeVar("_T")
MAX_READERS = 16  # concurrent per-table reads; botocore's adaptive retries pace them
PAGE_TABLES = 100  # ListTables Limit
PAGE_ALARMS = 100  # DescribeAlarms MaxRecords (1-100)
PAGE_PROTECTED = 1000  # ListProtectedResources MaxResults (1-1000)
PAGE_PLANS = 1000  # ListBackupPlans MaxResults (1-1000)
_GONE = ("ResourceNotFoundException", "TableNotFoundException")
# what an emulator answers for an API it does not implement
_MISSING_API = (
    "UnknownOperationException",
    "InvalidAction",
    "NotImplemented",
    "UnrecognizedClientException",
    "404",
)


# --------------------------------------------------------------------------- the model


@dataclass(frozen=True)
class Pitr:
    """Point-in-time recovery of a table."""

    enabled: bool
    recovery_period_days: int | None = None  # None when off


@dataclass(frozen=True)
class TableFacts:
    """One regional DynamoDB table as the audit sees it."""

    name: str
    region: str
    arn: str
    status: str
    created: dt.datetime | None
    deletion_protection: bool
    sse_type: str  # AWS_OWNED | KMS
    kms_key_arn: str | None  # with KMS: the key DynamoDB reports
    replicas: tuple[str, ...]  # the other regions of its global table, sorted
    pitr: Pitr | None  # None: not readable here
    tags: dict[str, str]  # without aws: keys; {} for a never-tagged table
    audited_region: bool = True  # False: a replica read only because its table was


@dataclass(frozen=True)
class PlanRule:
    """One rule of a backup plan: when it runs and where it copies to."""

    name: str
    schedule: str
    start_window_minutes: int
    copy_regions: tuple[str, ...]  # regions of the copy actions' destination vaults


@dataclass(frozen=True)
class Selection:
    """One backup selection: which resources a plan backs up."""

    name: str
    resources: tuple[str, ...]  # ARNs or patterns ("*", "arn:aws:dynamodb:*:*:table/*")
    not_resources: tuple[str, ...]
    list_of_tags: tuple[tuple[str, str, str], ...]  # (condition type, key, value), OR-ed
    conditions: tuple[tuple[str, str, str], ...]  # (StringEquals|..., key, value), AND-ed


@dataclass(frozen=True)
class BackupPlanFacts:
    """A backup plan with its rules and selections."""

    plan_id: str
    name: str
    region: str
    rules: tuple[PlanRule, ...]
    selections: tuple[Selection, ...]


@dataclass(frozen=True)
class AlarmFacts:
    """A CloudWatch metric alarm (as ``around.alarms`` parses it) and where it lives."""

    alarm: MetricAlarm
    region: str
    arn: str


@dataclass
class Inventory:
    """Everything the audit read."""

    regions: tuple[str, ...]
    tables: list[TableFacts] = field(default_factory=list)
    plans: list[BackupPlanFacts] = field(default_factory=list)
    alarms: list[AlarmFacts] = field(default_factory=list)
    last_backup: dict[str, dt.datetime] = field(default_factory=dict)  # resource ARN -> time
    gaps: dict[str, tuple[str, ...]] = field(default_factory=dict)  # region -> missing APIs

    def lacks(self, region: str, feature: str) -> bool:
        """Could ``feature`` ("tags", "backup", "cloudwatch", "pitr") not be read there?"""
        return feature in self.gaps.get(region, ())


# --------------------------------------------------------------------------- reading


def read_inventory(
    clients: Clients, regions: Sequence[str], *, workers: int = MAX_READERS
) -> Inventory:
    """Read every table of ``regions`` (and their replicas elsewhere), plans and alarms.

    A replica's region that is not audited is read for that replica only (its table reads,
    and the region's bulk reads, which its backup coverage and alarms depend on).
    """
    inventory = Inventory(regions=tuple(regions))
    gaps: dict[str, list[str]] = {}
    tags: dict[str, dict[str, dict[str, str]] | None] = {}
    names = _read_regions(clients, list(regions), inventory, gaps, tags, workers)
    jobs = [(name, region) for region in regions for name in names[region]]
    facts = read_tables(clients, jobs, tags, gaps, workers=workers)
    seen = {(t.name, t.region) for t in facts}
    extra = sorted({(t.name, r) for t in facts for r in t.replicas} - seen)
    if extra:
        _read_regions(
            clients,
            sorted({r for _, r in extra}),
            inventory,
            gaps,
            tags,
            workers,
            list_tables=False,
        )
        facts += [
            dataclasses.replace(t, audited_region=False)
            for t in read_tables(clients, extra, tags, gaps, workers=workers)
        ]
    inventory.tables = sorted(facts, key=lambda t: (t.name, t.region))
    inventory.alarms.sort(key=lambda a: (a.region, a.alarm.name))
    inventory.plans.sort(key=lambda p: (p.region, p.name))
    inventory.gaps = {r: tuple(sorted(set(g))) for r, g in sorted(gaps.items()) if g}
    return inventory


def _read_regions(
    clients: Clients,
    regions: list[str],
    inventory: Inventory,
    gaps: dict[str, list[str]],
    tags: dict[str, dict[str, dict[str, str]] | None],
    workers: int,
    *,
    list_tables: bool = True,
) -> dict[str, list[str]]:
    """The bulk reads of each region, concurrently, into ``inventory`` (and ``tags``);
    returns the table names of each region (none asked with ``list_tables=False``)."""
    lenient = bool(clients.custom_endpoint)
    for region in regions:
        gaps.setdefault(region, [])

    def bulk(feature: str, read: Callable[[str], _T]) -> Callable[[str], _T | None]:
        return lambda region: _optional(
            gaps[region], feature, lambda: read(region), lenient=lenient
        )

    with ThreadPoolExecutor(max_workers=max(1, min(workers, 4 * len(regions)))) as pool:
        names_f = pool.map(
            lambda region: list_table_names(clients, region) if list_tables else [], regions
        )
        tags_f = pool.map(bulk("tags", lambda region: read_tags(clients, region)), regions)
        alarms_f = pool.map(
            bulk("cloudwatch", lambda region: read_alarms(clients, region)), regions
        )
        plans_f = pool.map(
            bulk("backup", lambda region: read_backup_plans(clients, region, workers=workers)),
            regions,
        )
        protected_f = pool.map(
            bulk("backup", lambda region: read_last_backups(clients, region)), regions
        )
        names = dict(zip(regions, names_f, strict=True))
        tags.update(zip(regions, tags_f, strict=True))
        for alarms in alarms_f:
            inventory.alarms.extend(alarms or ())
        for plans in plans_f:
            inventory.plans.extend(plans or ())
        for protected in protected_f:
            inventory.last_backup.update(protected or {})
    return names


def _optional(gaps: list[str], feature: str, read: Callable[[], _T], *, lenient: bool) -> _T | None:
    """``read()``, or None (and ``feature`` noted) when the endpoint lacks the API.

    ``lenient`` (a custom endpoint): any failure means "not implemented here"; real AWS
    implements every API, so there only the codes of a missing operation count.
    """
    try:
        return read()
    except AwsError as exc:
        if lenient or exc.code in _MISSING_API or exc.code.startswith("Unknown"):
            gaps.append(feature)
            return None
        raise


def list_table_names(clients: Clients, region: str) -> list[str]:
    """Every table name of a region (ListTables, 100 a page)."""
    names: list[str] = []
    with aws_context(f"listing tables in {region}"):
        pages = (
            clients.dynamodb(region)
            .get_paginator("list_tables")
            .paginate(PaginationConfig={"PageSize": PAGE_TABLES})
        )
        for page in pages:
            names.extend(page.get("TableNames", []))
    return sorted(names)


def read_tags(clients: Clients, region: str) -> dict[str, dict[str, str]]:
    """Table ARN -> tags of every tagged table of a region (GetResources, 100 a page).

    The tagging API returns only tables that carry (or carried) a tag: a table it does not
    list has none. It is eventually consistent: a tag set seconds ago may not show yet.
    """
    from tablesmith.tags import tagged_tables

    return tagged_tables(clients, region)


def read_alarms(clients: Clients, region: str) -> list[AlarmFacts]:
    """Every metric alarm of a region (one paginated DescribeAlarms, 100 a page)."""
    alarms: list[AlarmFacts] = []
    with aws_context(f"reading the alarms in {region}"):
        pages = (
            clients.client("cloudwatch", region)
            .get_paginator("describe_alarms")
            .paginate(AlarmTypes=["MetricAlarm"], PaginationConfig={"PageSize": PAGE_ALARMS})
        )
        for page in pages:
            alarms.extend(
                AlarmFacts(alarm=parse_alarm(raw, region), region=region, arn=raw["AlarmArn"])
                for raw in page.get("MetricAlarms", [])
            )
    return alarms


def read_last_backups(clients: Clients, region: str) -> dict[str, dt.datetime]:
    """Resource ARN -> time of its newest recovery point (ListProtectedResources)."""
    found: dict[str, dt.datetime] = {}
    with aws_context(f"listing the resources AWS Backup protects in {region}"):
        pages = (
            clients.client("backup", region)
            .get_paginator("list_protected_resources")
            .paginate(PaginationConfig={"PageSize": PAGE_PROTECTED})
        )
        for page in pages:
            for entry in page.get("Results", []):
                when = entry.get("LastBackupTime")
                if isinstance(when, dt.datetime):
                    found[entry["ResourceArn"]] = when
    return found


def read_backup_plans(
    clients: Clients, region: str, *, workers: int = MAX_READERS
) -> list[BackupPlanFacts]:
    """Every backup plan of a region with its rules and selections."""
    backup = clients.client("backup", region)
    entries: list[dict[str, Any]] = []
    with aws_context(f"listing backup plans in {region}"):
        for page in backup.get_paginator("list_backup_plans").paginate(
            PaginationConfig={"PageSize": PAGE_PLANS}
        ):
            entries.extend(e for e in page.get("BackupPlansList", []) if not e.get("DeletionDate"))
    if not entries:
        return []
    with ThreadPoolExecutor(max_workers=min(workers, len(entries))) as pool:
        return list(pool.map(lambda e: _read_plan(backup, region, e), entries))


def _read_plan(backup: Any, region: str, entry: dict[str, Any]) -> BackupPlanFacts:
    plan_id = str(entry["BackupPlanId"])
    name = str(entry.get("BackupPlanName", plan_id))
    with aws_context(f"reading backup plan '{name}' in {region}"):
        document = backup.get_backup_plan(BackupPlanId=plan_id)["BackupPlan"]
        summaries: list[dict[str, Any]] = []
        for page in backup.get_paginator("list_backup_selections").paginate(BackupPlanId=plan_id):
            summaries.extend(page.get("BackupSelectionsList", []))
        selections = [
            backup.get_backup_selection(BackupPlanId=plan_id, SelectionId=s["SelectionId"])[
                "BackupSelection"
            ]
            for s in summaries
        ]
    return BackupPlanFacts(
        plan_id=plan_id,
        name=name,
        region=region,
        rules=tuple(_plan_rule(r) for r in document.get("Rules") or ()),
        selections=tuple(sorted((_selection(s) for s in selections), key=lambda s: s.name)),
    )


def _plan_rule(raw: dict[str, Any]) -> PlanRule:
    copies = []
    for action in raw.get("CopyActions") or ():
        parts = str(action.get("DestinationBackupVaultArn", "")).split(":")
        if len(parts) > 3:
            copies.append(parts[3])
    return PlanRule(
        name=str(raw.get("RuleName", "")),
        schedule=str(raw.get("ScheduleExpression") or ""),
        # AWS Backup's default start window: 8 hours
        start_window_minutes=int(raw.get("StartWindowMinutes") or 480),
        copy_regions=tuple(sorted(set(copies))),
    )


def _selection(raw: dict[str, Any]) -> Selection:
    conditions: list[tuple[str, str, str]] = []
    for kind, entries in (raw.get("Conditions") or {}).items():
        for entry in entries or ():
            key = str(entry.get("ConditionKey", "")).removeprefix("aws:ResourceTag/")
            conditions.append((str(kind), key, str(entry.get("ConditionValue", ""))))
    return Selection(
        name=str(raw.get("SelectionName", "")),
        resources=tuple(raw.get("Resources") or ()),
        not_resources=tuple(raw.get("NotResources") or ()),
        list_of_tags=tuple(
            (
                str(t.get("ConditionType", "STRINGEQUALS")),
                str(t.get("ConditionKey", "")).removeprefix("aws:ResourceTag/"),
                str(t.get("ConditionValue", "")),
            )
            for t in raw.get("ListOfTags") or ()
        ),
        conditions=tuple(sorted(conditions)),
    )


def read_tables(
    clients: Clients,
    jobs: Iterable[tuple[str, str]],
    tags: dict[str, dict[str, dict[str, str]] | None],
    gaps: dict[str, list[str]],
    *,
    workers: int = MAX_READERS,
) -> list[TableFacts]:
    """DescribeTable + DescribeContinuousBackups of each (name, region), concurrently.

    Tags come from the region's bulk read; where the endpoint had none, ListTagsOfResource.
    Tables gone between ListTables and DescribeTable are skipped.
    """
    jobs = list(jobs)
    if not jobs:
        return []

    def read(job: tuple[str, str]) -> TableFacts | None:
        name, region = job
        return read_table(clients, name, region, tags.get(region), gaps.setdefault(region, []))

    with ThreadPoolExecutor(max_workers=min(workers, len(jobs))) as pool:
        return [t for t in pool.map(read, jobs) if t is not None]


def read_table(
    clients: Clients,
    name: str,
    region: str,
    region_tags: dict[str, dict[str, str]] | None,
    gaps: list[str],
) -> TableFacts | None:
    """One table's facts (None when it is gone or being deleted)."""
    from tablesmith.live import describe_table

    ddb = clients.dynamodb(region)
    desc = describe_table(clients, name, region)
    if desc is None:
        return None
    arn = str(desc["TableArn"])
    pitr = _pitr(ddb, name, region, gaps)
    if region_tags is not None:
        table_tags = region_tags.get(arn, {})
    else:
        table_tags = _tags_of(ddb, arn, region, gaps)
    sse = desc.get("SSEDescription") or {}
    kms = sse.get("Status") in ("ENABLED", "ENABLING", "UPDATING")
    created = desc.get("CreationDateTime")
    return TableFacts(
        name=name,
        region=region,
        arn=arn,
        status=str(desc.get("TableStatus", "ACTIVE")),
        created=created if isinstance(created, dt.datetime) else None,
        deletion_protection=bool(desc.get("DeletionProtectionEnabled", False)),
        sse_type="KMS" if kms else "AWS_OWNED",
        kms_key_arn=sse.get("KMSMasterKeyArn") if kms else None,
        replicas=tuple(
            sorted(
                r["RegionName"]
                for r in desc.get("Replicas", [])
                if r.get("RegionName") != region and r.get("ReplicaStatus") != "DELETING"
            )
        ),
        pitr=pitr,
        tags=dict(sorted(table_tags.items())),
    )


def _pitr(ddb: Any, name: str, region: str, gaps: list[str]) -> Pitr | None:
    from botocore.exceptions import ClientError

    with aws_context(f"reading point-in-time recovery of table '{name}' in {region}"):
        try:
            desc = ddb.describe_continuous_backups(TableName=name)
        except ClientError as exc:
            code = error_code(exc)
            if code in _GONE:
                return None  # still CREATING: not answered yet, so not judged
            if code in _MISSING_API:
                gaps.append("pitr")
                return None
            raise
    raw = desc["ContinuousBackupsDescription"].get("PointInTimeRecoveryDescription", {})
    enabled = raw.get("PointInTimeRecoveryStatus") in ("ENABLED", "ENABLING")
    return Pitr(
        enabled=enabled,
        recovery_period_days=int(raw.get("RecoveryPeriodInDays", 35)) if enabled else None,
    )


def _tags_of(ddb: Any, arn: str, region: str, gaps: list[str]) -> dict[str, str]:
    from botocore.exceptions import ClientError

    tags: dict[str, str] = {}
    kwargs: dict[str, str] = {"ResourceArn": arn}
    with aws_context(f"listing the tags of {arn}"):
        while True:
            try:
                page = ddb.list_tags_of_resource(**kwargs)
            except ClientError as exc:
                if error_code(exc) in _MISSING_API:
                    gaps.append("tags")
                    return {}
                raise
            tags.update(
                {
                    t["Key"]: t["Value"]
                    for t in page.get("Tags", [])
                    if not t["Key"].startswith("aws:")
                }
            )
            token = page.get("NextToken")
            if not token:
                return tags
            kwargs["NextToken"] = token
