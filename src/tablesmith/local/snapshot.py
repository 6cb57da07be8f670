"""The local target's state as inert data: a versioned JSON document, re-created through moto.

    doc = dump()        # everything of ours in moto's backends, as JSON-ready dicts
    restore(doc)        # validate strictly, then rebuild moto's backends through their methods

The document (its schema is ``docs/local-state.md``) holds, per account and region: DynamoDB
tables with their items, AWS Backup vaults, plans and selections, IAM roles and customer
managed policies, CloudWatch metric alarms, KMS keys and SNS topics. Nothing in it is code:
``restore`` validates it with pydantic models that forbid unknown keys and bound every number
and string, then calls moto's own backend methods (``create_table``, ``put_item``,
``create_backup_plan``, ``create_role``, ``put_metric_alarm``, ``create_key``, …) as a
request would, and finally sets the identifiers a request cannot choose (stream labels, plan,
selection, role and key ids, creation dates), so that ARNs and ids are what they were.

Why not pickle moto's objects: unpickling runs code named by the file (CWE-502), and it ties
the state to the exact moto release that wrote it. This document names AWS's concepts, not
moto's classes, so a moto patch upgrade reads it unchanged.

Versions: ``format`` is :data:`SCHEMA_VERSION`. A newer format is refused (this tablesmith
cannot know what it would drop); an older JSON format is migrated in :func:`_migrate`. Format 1
was the pickle, which is never read.

What is not kept (transient, or not used by tablesmith): stream records, DynamoDB on-demand
backups and exports, alarm history, metric data, IAM users, groups and instance profiles, KMS
grants, SNS subscriptions. The extension modules keep their state in ``_ts_*`` attributes;
:func:`dump` refuses one it does not know, so that new extension state is never dropped
silently (add it here and to the schema).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import copy
import functools
import gc
import math
import re
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from tablesmith.errors import LocalTargetError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

SCHEMA_VERSION = 2  # 1 was the pickle (never read); 2 is the first JSON format
SCHEMA = "tablesmith-local-state"  # documented in docs/local-state.md
SERVICES = ("dynamodb", "dynamodbstreams", "backup", "iam", "cloudwatch", "kms", "sts", "sns")

# Extension state (see local/dynamodb.py and local/backup.py) that the document carries.
_TABLE_EXTENSION_ATTRS = frozenset(
    {
        "_ts_replicas",
        "_ts_creating_until",
        "_ts_sourced_at",
        "_ts_table_class",
        "_ts_on_demand",
        "_ts_index_phases",  # this one and the next: local/realistic.py
        "_ts_ttl_changed_at",
        "_ts_policies",  # this one and the next four: local/newer.py
        "_ts_insights",
        "_ts_kinesis",
        "_ts_consistency",
        "_ts_witness",
    }
)
_BACKUP_EXTENSION_ATTRS = frozenset(
    {"_ts_selections", "_ts_region_settings", "_ts_recovery_points"}  # the last: local/bulk.py
)

# DynamoDB allows 32 levels of nesting in an item; JSON documents get the same bound.
MAX_DEPTH = 32
_MAX_TEXT = 1_000_000  # policy documents and the like (IAM's largest is 131,072 characters)
_NUMBER = re.compile(r"-?(0|[1-9][0-9]{0,37})(\.[0-9]{1,38})?([eE][+-]?[0-9]{1,3})?")
_LABEL = re.compile(r"[0-9T:.+-]{1,64}")

# ---------------------------------------------------------------------------- bounded types

Str = Annotated[str, StringConstraints(min_length=1, max_length=2048)]
Text = Annotated[str, StringConstraints(max_length=_MAX_TEXT)]
AccountId = Annotated[str, StringConstraints(pattern=r"^[0-9]{12}$")]
# a Region name (eusc-de-east-1 has a four-letter prefix); moto refuses one it does not know
Region = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,4}(-[a-z]+)+-[0-9]{1,2}$")]
Partition = Annotated[str, StringConstraints(pattern=r"^aws(-[a-z]+){0,3}$")]
Count = Annotated[int, Field(ge=0, le=2**53)]
Stamp = Annotated[float, Field(ge=0, le=1e11, allow_inf_nan=False)]  # Unix seconds
When = Annotated[datetime, Field(strict=False)]  # ISO 8601 text (strict mode wants objects)
Finite = Annotated[float, Field(ge=-1e300, le=1e300, allow_inf_nan=False)]
TagMap = Annotated[dict[Str, Text], Field(max_length=1000)]


def _check_json(value: Any, depth: int = 0) -> Any:
    """A JSON value within :data:`MAX_DEPTH`, with finite numbers and string keys."""
    if depth > MAX_DEPTH:
        raise ValueError(f"nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError("object keys must be strings")
            _check_json(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _check_json(item, depth + 1)
    elif isinstance(value, float) and not math.isfinite(value):
        raise ValueError("numbers must be finite")
    elif isinstance(value, int) and not isinstance(value, bool) and abs(value) > 2**63:
        raise ValueError("integer out of range")
    elif not (value is None or isinstance(value, str | int | float | bool)):
        raise ValueError("not a JSON value")
    return value


class _Strict(BaseModel):
    """A document part: unknown keys refused, no type coercion."""

    model_config = ConfigDict(extra="forbid", strict=True, defer_build=True)


# ---------------------------------------------------------------------------- DynamoDB


class KeyElement(_Strict):
    """One KeySchemaElement."""

    AttributeName: Str
    KeyType: Literal["HASH", "RANGE"]


class AttributeDefinition(_Strict):
    """One AttributeDefinition."""

    AttributeName: Str
    AttributeType: Literal["S", "N", "B"]


class ProjectionDoc(_Strict):
    """An index's Projection."""

    ProjectionType: Literal["ALL", "KEYS_ONLY", "INCLUDE"] | None = None
    NonKeyAttributes: Annotated[list[Str], Field(max_length=100)] | None = None


class Throughput(_Strict):
    """ProvisionedThroughput as moto holds it (0/0 for on-demand tables)."""

    ReadCapacityUnits: Count
    WriteCapacityUnits: Count
    NumberOfDecreasesToday: Count | None = None


class WarmThroughputDoc(_Strict):
    """WarmThroughput as moto holds it."""

    ReadUnitsPerSecond: Count | None = None
    WriteUnitsPerSecond: Count | None = None
    Status: Annotated[str, StringConstraints(max_length=32)] | None = None


class GlobalIndex(_Strict):
    """A GSI: its definition and status."""

    IndexName: Str
    # multi-attribute keys: up to four HASH and four RANGE attributes (local/newer.py)
    KeySchema: Annotated[list[KeyElement], Field(min_length=1, max_length=8)]
    Projection: ProjectionDoc
    IndexStatus: Literal["CREATING", "UPDATING", "DELETING", "ACTIVE"]
    ProvisionedThroughput: Throughput
    WarmThroughput: WarmThroughputDoc


class LocalIndex(_Strict):
    """An LSI."""

    IndexName: Str
    KeySchema: Annotated[list[KeyElement], Field(min_length=1, max_length=2)]
    Projection: ProjectionDoc


StreamView = Literal["KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES"]


class StreamDoc(_Strict):
    """The table's stream; ``LatestStreamLabel`` keeps the stream ARN stable."""

    StreamEnabled: bool
    StreamViewType: StreamView | None = None
    LatestStreamLabel: Annotated[str, StringConstraints(pattern=_LABEL.pattern)] | None = None


class SseSpecification(_Strict):
    """Server-side encryption as moto holds it (KMSMasterKeyId is a key ARN or id)."""

    Enabled: bool | None = None
    SSEType: Literal["KMS", "AES256"] | None = None
    KMSMasterKeyId: Str | None = None


class TimeToLiveDoc(_Strict):
    """TimeToLiveDescription."""

    TimeToLiveStatus: Literal["ENABLING", "DISABLING", "ENABLED", "DISABLED"]
    AttributeName: Str | None = None


class PitrDescription(_Strict):
    """PointInTimeRecoveryDescription, with the recovery period."""

    PointInTimeRecoveryStatus: Literal["ENABLED", "DISABLED", "ENABLING", "DISABLING"]
    EarliestRestorableDateTime: Stamp | None = None
    LatestRestorableDateTime: Stamp | None = None
    RecoveryPeriodInDays: Annotated[int, Field(ge=1, le=35)] | None = None


class ContinuousBackupsDoc(_Strict):
    """ContinuousBackupsDescription."""

    ContinuousBackupsStatus: Literal["ENABLED", "DISABLED"]
    PointInTimeRecoveryDescription: PitrDescription


class Tag(_Strict):
    """A Key/Value tag."""

    Key: Str
    Value: Text


class TableClassDoc(_Strict):
    """The extension's TableClassSummary."""

    TableClass: Literal["STANDARD", "STANDARD_INFREQUENT_ACCESS"]
    LastUpdateDateTime: Stamp | None = None


class OnDemandDoc(_Strict):
    """The extension's OnDemandThroughput (-1: no cap)."""

    MaxReadRequestUnits: Annotated[int, Field(ge=-1, le=2**40)] | None = None
    MaxWriteRequestUnits: Annotated[int, Field(ge=-1, le=2**40)] | None = None


class ReplicaRecord(_Strict):
    """What one member of a global table knows of another Region (local/dynamodb.py)."""

    phase: Literal["CREATING", "ACTIVE", "DELETING"]
    until: Stamp
    kms_key: Str | None = None


class PolicyRecord(_Strict):
    """A resource-based policy of the table or its stream (local/newer.py)."""

    Policy: Text
    RevisionId: Str
    UpdatedAt: Stamp


class InsightsRecord(_Strict):
    """Contributor Insights of the table or one GSI (local/newer.py)."""

    enabled: bool
    mode: Literal["ACCESSED_AND_THROTTLED_KEYS", "THROTTLED_KEYS"]
    until: Stamp
    updated: Stamp


class KinesisRecord(_Strict):
    """A Kinesis streaming destination of the table (local/newer.py)."""

    enabled: bool
    precision: Literal["MILLISECOND", "MICROSECOND"]
    until: Stamp
    updating: bool


class WitnessRecord(_Strict):
    """The witness Region of an MRSC global table (local/newer.py)."""

    region: Region
    phase: Literal["CREATING", "ACTIVE", "DELETING"]
    until: Stamp


class IndexPhaseRecord(_Strict):
    """A GSI change under way in the realistic mode (local/realistic.py)."""

    phase: Literal["CREATING", "UPDATING", "DELETING"]
    until: Stamp
    backfill_from: Stamp | None = None
    items: Count = 0


def _check_attribute_value(value: Any, depth: int = 0) -> None:
    """A DynamoDB AttributeValue in the wire format (B and BS base64)."""
    if depth > MAX_DEPTH:
        raise ValueError(f"an item is nested deeper than {MAX_DEPTH} levels")
    if not isinstance(value, dict) or len(value) != 1:
        raise ValueError("an attribute value must be an object with one type key")
    ((kind, inner),) = value.items()
    if kind == "S":
        ok = isinstance(inner, str)
    elif kind == "N":
        ok = isinstance(inner, str) and _NUMBER.fullmatch(inner) is not None
    elif kind == "B":
        ok = _is_base64(inner)
    elif kind == "BOOL":
        ok = isinstance(inner, bool)
    elif kind == "NULL":
        ok = inner is True
    elif kind == "SS":
        ok = isinstance(inner, list) and all(isinstance(v, str) for v in inner)
    elif kind == "NS":
        ok = isinstance(inner, list) and all(
            isinstance(v, str) and _NUMBER.fullmatch(v) for v in inner
        )
    elif kind == "BS":
        ok = isinstance(inner, list) and all(_is_base64(v) for v in inner)
    elif kind == "L":
        if not isinstance(inner, list):
            raise ValueError("an L value must be a list")
        for member in inner:
            _check_attribute_value(member, depth + 1)
        ok = True
    elif kind == "M":
        if not isinstance(inner, dict):
            raise ValueError("an M value must be an object")
        for member in inner.values():
            _check_attribute_value(member, depth + 1)
        ok = True
    else:
        raise ValueError(f"unknown attribute type {kind[:20]!r}")
    if not ok:
        raise ValueError(f"invalid {kind} attribute value")


def _is_base64(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def _check_item(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict) or not value:
        raise ValueError("an item must be a non-empty object")
    for name, attribute in value.items():
        if not isinstance(name, str) or not name:
            raise ValueError("attribute names must be non-empty strings")
        _check_attribute_value(attribute)
    return value


class TableState(_Strict):
    """One DynamoDB table of one Region: definition, settings, extension state and items."""

    TableName: Str
    KeySchema: Annotated[list[KeyElement], Field(min_length=1, max_length=2)]
    AttributeDefinitions: Annotated[list[AttributeDefinition], Field(min_length=1, max_length=60)]
    BillingMode: Literal["PROVISIONED", "PAY_PER_REQUEST"] | None
    ProvisionedThroughput: Throughput
    WarmThroughput: WarmThroughputDoc
    GlobalSecondaryIndexes: Annotated[list[GlobalIndex], Field(max_length=100)]
    LocalSecondaryIndexes: Annotated[list[LocalIndex], Field(max_length=10)]
    StreamSpecification: StreamDoc
    SSESpecification: SseSpecification | None
    TimeToLive: TimeToLiveDoc
    ContinuousBackups: ContinuousBackupsDoc
    DeletionProtectionEnabled: bool | None
    Tags: Annotated[list[Tag], Field(max_length=1000)]
    CreationDateTime: When
    TableClassSummary: TableClassDoc | None = None
    OnDemandThroughput: OnDemandDoc | None = None
    Replicas: Annotated[dict[Region, ReplicaRecord], Field(max_length=64)] = {}
    CreatingUntil: Stamp | None = None
    SourcedAt: Stamp | None = None
    IndexPhases: Annotated[dict[Str, IndexPhaseRecord], Field(max_length=100)] = {}
    TtlChangedAt: Stamp | None = None
    ResourcePolicies: Annotated[dict[Str, PolicyRecord], Field(max_length=2)] = {}
    ContributorInsights: Annotated[dict[Str, InsightsRecord], Field(max_length=101)] = {}
    KinesisDestinations: Annotated[dict[Str, KinesisRecord], Field(max_length=100)] = {}
    MultiRegionConsistency: Literal["EVENTUAL", "STRONG"] | None = None
    Witness: WitnessRecord | None = None
    Items: list[dict[str, Any]] = []  # checked by _check_item

    def model_post_init(self, context: Any, /) -> None:
        """Items are checked by hand: a pydantic model per attribute value is too slow."""
        for item in self.Items:
            _check_item(item)


class DynamoDBRegion(_Strict):
    """The DynamoDB tables of one Region."""

    tables: Annotated[list[TableState], Field(max_length=10_000)]


# ---------------------------------------------------------------------------- AWS Backup


class Vault(_Strict):
    """A backup vault."""

    BackupVaultName: Str
    CreationDate: Stamp
    EncryptionKeyArn: Str | None = None
    CreatorRequestId: Str | None = None
    NumberOfRecoveryPoints: Count = 0
    Locked: bool = False
    MinRetentionDays: Count | None = None
    MaxRetentionDays: Count | None = None
    LockDate: Stamp | None = None
    ChangeableForDays: Count | None = None


class BackupLifecycle(_Strict):
    """A rule's or copy action's Lifecycle."""

    DeleteAfterDays: Count | None = None
    MoveToColdStorageAfterDays: Count | None = None
    OptInToArchiveForSupportedResources: bool | None = None


class CopyAction(_Strict):
    """A copy of each recovery point to another vault (the DR Region's)."""

    DestinationBackupVaultArn: Str
    Lifecycle: BackupLifecycle | None = None


class BackupRule(_Strict):
    """One rule of a plan as moto holds it: BackupRuleInput, its RuleId and moto's defaults."""

    RuleName: Str
    TargetBackupVaultName: Str
    RuleId: Str
    ScheduleExpression: Str | None = None
    ScheduleExpressionTimezone: Str | None = None
    StartWindowMinutes: Count | None = None
    CompletionWindowMinutes: Count | None = None
    Lifecycle: BackupLifecycle | None = None
    RecoveryPointTags: TagMap | None = None
    CopyActions: Annotated[list[CopyAction], Field(max_length=100)] | None = None
    EnableContinuousBackup: bool | None = None
    TargetLogicallyAirGappedBackupVaultArn: Str | None = None
    # newer, nested request shapes tablesmith does not use: kept as (bounded) JSON
    IndexActions: Annotated[list[dict[str, Any]], Field(max_length=100)] | None = None
    ScanActions: Annotated[list[dict[str, Any]], Field(max_length=100)] | None = None

    def model_post_init(self, context: Any, /) -> None:
        """IndexActions and ScanActions are free-form JSON."""
        _check_json([self.IndexActions, self.ScanActions])


class BackupPlanDocument(_Strict):
    """A plan's document: name, rules (with copy actions) and advanced settings."""

    BackupPlanName: Str
    Rules: Annotated[list[BackupRule], Field(min_length=1, max_length=100)]
    AdvancedBackupSettings: Annotated[list[dict[str, Any]], Field(max_length=20)] | None = None

    def model_post_init(self, context: Any, /) -> None:
        """AdvancedBackupSettings is free-form JSON."""
        _check_json(self.AdvancedBackupSettings)


class Plan(_Strict):
    """A backup plan with its id, version and dates (deleted plans are kept, as moto does)."""

    BackupPlanId: Str
    VersionId: Str
    CreationDate: Stamp
    CreatorRequestId: Str | None = None
    DeletionDate: Stamp | None = None
    BackupPlan: BackupPlanDocument
    AdvancedBackupSettings: Annotated[list[dict[str, Any]], Field(max_length=20)] = []

    def model_post_init(self, context: Any, /) -> None:
        """AdvancedBackupSettings is free-form JSON."""
        _check_json(self.AdvancedBackupSettings)


class ConditionsDoc(_Strict):
    """A selection's Conditions, every kind present (as the extension stores them)."""

    StringEquals: list[dict[str, Any]]
    StringNotEquals: list[dict[str, Any]]
    StringLike: list[dict[str, Any]]
    StringNotLike: list[dict[str, Any]]

    def model_post_init(self, context: Any, /) -> None:
        """Each condition is free-form JSON."""
        _check_json(self.model_dump())


class SelectionDocument(_Strict):
    """A BackupSelection as the extension stores it."""

    SelectionName: Str
    IamRoleArn: Str
    Resources: Annotated[list[Str], Field(max_length=500)]
    ListOfTags: Annotated[list[dict[str, Any]], Field(max_length=500)]
    NotResources: Annotated[list[Str], Field(max_length=500)]
    Conditions: ConditionsDoc

    def model_post_init(self, context: Any, /) -> None:
        """ListOfTags is free-form JSON."""
        _check_json(self.ListOfTags)


class Selection(_Strict):
    """A backup selection with its id."""

    SelectionId: Str
    BackupPlanId: Str
    CreationDate: Stamp
    CreatorRequestId: Str | None = None
    BackupSelection: SelectionDocument


class RecoveryPoint(_Strict):
    """A completed recovery point (local/bulk.py's StartBackupJob)."""

    RecoveryPointArn: Str
    BackupVaultName: Str
    BackupVaultArn: Str
    ResourceArn: Str
    ResourceType: Str
    IamRoleArn: Str
    CreationDate: Stamp
    BackupJobId: Str


class BackupRegion(_Strict):
    """AWS Backup in one Region: vaults, plans, selections, settings and tags (by ARN)."""

    vaults: Annotated[list[Vault], Field(max_length=10_000)] = []
    plans: Annotated[list[Plan], Field(max_length=10_000)] = []
    selections: Annotated[list[Selection], Field(max_length=10_000)] = []
    region_settings: dict[Str, dict[Str, bool]] | None = None
    recovery_points: Annotated[list[RecoveryPoint], Field(max_length=1_000_000)] = []
    tags: Annotated[dict[Str, TagMap], Field(max_length=100_000)] = {}


# ---------------------------------------------------------------------------- IAM


class Role(_Strict):
    """An IAM role: trust policy, id, tags, inline and attached managed policies."""

    RoleName: Str
    RoleId: Str
    Path: Str
    AssumeRolePolicyDocument: Text
    Description: Text | None = None
    MaxSessionDuration: Annotated[int, Field(ge=0, le=43200)] | None = None
    PermissionsBoundary: Str | None = None
    Tags: Annotated[list[Tag], Field(max_length=50)] = []
    CreateDate: When
    InlinePolicies: Annotated[dict[Str, Text], Field(max_length=100)] = {}
    AttachedPolicyArns: Annotated[list[Str], Field(max_length=100)] = []


class PolicyVersion(_Strict):
    """One version of a customer managed policy."""

    VersionId: Annotated[str, StringConstraints(pattern=r"^v[0-9]{1,6}$")]
    Document: Text
    IsDefaultVersion: bool
    CreateDate: When


class ManagedPolicy(_Strict):
    """A customer managed policy with its versions."""

    PolicyName: Str
    PolicyId: Str
    Path: Str
    Description: Text = ""
    CreateDate: When
    UpdateDate: When
    DefaultVersionId: Annotated[str, StringConstraints(pattern=r"^v[0-9]{1,6}$")]
    NextVersionNumber: Annotated[int, Field(ge=2, le=10**6)]
    Versions: Annotated[list[PolicyVersion], Field(min_length=1, max_length=5)]
    Tags: Annotated[list[Tag], Field(max_length=50)] = []


class IamPartition(_Strict):
    """The IAM entities of one account and partition that are the user's (not AWS's)."""

    policies: Annotated[list[ManagedPolicy], Field(max_length=10_000)] = []
    roles: Annotated[list[Role], Field(max_length=10_000)] = []


# ---------------------------------------------------------------------------- CloudWatch


class Dimension(_Strict):
    """A metric dimension."""

    Name: Str
    Value: Text


class MetricDoc(_Strict):
    """MetricStat.Metric."""

    MetricName: Str | None = None
    Namespace: Str | None = None
    Dimensions: Annotated[list[Dimension], Field(max_length=30)] = []


class MetricStatDoc(_Strict):
    """A metric-math term's MetricStat."""

    Metric: MetricDoc
    Period: Count | None = None
    Stat: Str | None = None
    Unit: Str | None = None


class MetricQuery(_Strict):
    """One term of an alarm's ``Metrics``."""

    Id: Str
    Label: Text | None = None
    Period: Count | None = None
    ReturnData: bool | None = None
    Expression: Text | None = None
    MetricStat: MetricStatDoc | None = None


class Alarm(_Strict):
    """A metric (or composite) alarm with its state."""

    AlarmName: Str
    AlarmDescription: Text | None = None
    Namespace: Str | None = None
    MetricName: Str | None = None
    Metrics: Annotated[list[MetricQuery], Field(max_length=100)] = []
    ComparisonOperator: Str | None = None
    EvaluationPeriods: Count | None = None
    DatapointsToAlarm: Count | None = None
    Period: Count | None = None
    Threshold: Finite | None = None
    Statistic: Str | None = None
    ExtendedStatistic: Str | None = None
    Dimensions: Annotated[list[Dimension], Field(max_length=30)] = []
    AlarmActions: Annotated[list[Str], Field(max_length=5)] = []
    OKActions: Annotated[list[Str], Field(max_length=5)] = []
    InsufficientDataActions: Annotated[list[Str], Field(max_length=5)] = []
    Unit: Str | None = None
    ActionsEnabled: bool = True
    TreatMissingData: Str | None = None
    EvaluateLowSampleCountPercentile: Str | None = None
    ThresholdMetricId: Str | None = None
    AlarmRule: Text | None = None
    AlarmConfigurationUpdatedTimestamp: When
    StateValue: Literal["OK", "ALARM", "INSUFFICIENT_DATA"]
    StateReason: Text
    StateReasonData: Text
    StateUpdatedTimestamp: When


class CloudWatchRegion(_Strict):
    """The alarms of one Region, and their tags by ARN."""

    alarms: Annotated[list[Alarm], Field(max_length=100_000)] = []
    tags: Annotated[dict[Str, TagMap], Field(max_length=100_000)] = {}


# ---------------------------------------------------------------------------- KMS, SNS


class KmsKey(_Strict):
    """A KMS key with its aliases and (fake, local) key material."""

    KeyId: Str
    CreationDate: Stamp
    Policy: Text
    Description: Text
    KeyUsage: Str
    KeySpec: Str
    KeyState: Str
    Enabled: bool
    Origin: Str
    KeyManager: Literal["CUSTOMER", "AWS"]
    KeyRotationEnabled: bool
    MultiRegion: bool = False
    MultiRegionConfiguration: dict[str, Any] | None = None
    DeletionDate: When | None = None
    Aliases: Annotated[list[Str], Field(max_length=100)] = []
    # base64: the symmetric material (so Decrypt of earlier ciphertexts works) and the
    # private key as PKCS#8 DER (so signatures and public keys stay; restoring is faster
    # than generating an RSA key)
    KeyMaterial: Annotated[str, StringConstraints(max_length=10_000)]
    PrivateKey: Annotated[str, StringConstraints(max_length=20_000)] | None = None

    def model_post_init(self, context: Any, /) -> None:
        """Key material is base64; the multi-Region configuration free-form JSON."""
        if not _is_base64(self.KeyMaterial) or (
            self.PrivateKey is not None and not _is_base64(self.PrivateKey)
        ):
            raise ValueError("key material must be base64")
        _check_json(self.MultiRegionConfiguration)


class KmsRegion(_Strict):
    """The KMS keys of one Region, and their tags by ARN."""

    keys: Annotated[list[KmsKey], Field(max_length=10_000)] = []
    tags: Annotated[dict[Str, TagMap], Field(max_length=100_000)] = {}


class Topic(_Strict):
    """An SNS topic (subscriptions are not kept)."""

    Name: Str
    DisplayName: Text = ""
    DeliveryPolicy: Text = ""
    KmsMasterKeyId: Text = ""
    Policy: Text
    FifoTopic: bool = False
    ContentBasedDeduplication: bool = False
    Tags: TagMap = {}


class SnsRegion(_Strict):
    """The SNS topics of one Region."""

    topics: Annotated[list[Topic], Field(max_length=100_000)] = []


# ---------------------------------------------------------------------------- the document


class Account(_Strict):
    """Everything kept for one account: services, then Regions (IAM: partitions)."""

    dynamodb: dict[Region, DynamoDBRegion] = {}
    backup: dict[Region, BackupRegion] = {}
    iam: dict[Partition, IamPartition] = {}
    cloudwatch: dict[Region, CloudWatchRegion] = {}
    kms: dict[Region, KmsRegion] = {}
    sns: dict[Region, SnsRegion] = {}


class Snapshot(_Strict):
    """The whole document; ``tablesmith``, ``moto`` and ``saved_at`` are information only."""

    format: Literal[2]
    schema_: Literal["tablesmith-local-state"] = Field(alias="schema")
    tablesmith: Annotated[str, StringConstraints(max_length=100)] | None = None
    moto: Annotated[str, StringConstraints(max_length=100)] | None = None
    saved_at: Annotated[str, StringConstraints(max_length=100)] | None = None
    accounts: Annotated[dict[AccountId, Account], Field(max_length=1000)]


# ============================================================================ dump


@functools.cache
def _versions() -> tuple[str, str]:
    from importlib.metadata import version

    return version("tablesmith"), version("moto")


def dump() -> dict[str, Any]:
    """Everything tablesmith's local target holds in moto's backends, as JSON-ready data."""
    accounts: dict[str, dict[str, Any]] = {}

    def put(account: str, service: str, key: str, value: dict[str, Any]) -> None:
        if any(value.values()):
            accounts.setdefault(account, {}).setdefault(service, {})[key] = value

    for service, dump_one in _DUMPERS.items():
        for account, region, backend in _backends(service):
            put(account, service, region, dump_one(backend))
    return {
        "format": SCHEMA_VERSION,
        "schema": SCHEMA,
        "tablesmith": _versions()[0],
        "moto": _versions()[1],
        "saved_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "accounts": accounts,
    }


def _backends(service: str) -> Iterator[tuple[str, str, Any]]:
    """(account, region or partition, backend) of every backend moto has made so far."""
    from moto.backends import get_backend

    backends: Any = get_backend(service)  # type: ignore[call-overload]
    for account, regions in list(backends.items()):
        for region, backend in list(regions.items()):
            yield account, region, backend


def _unknown_extension_state(obj: Any, known: frozenset[str], what: str) -> None:
    unknown = sorted(k for k in vars(obj) if k.startswith("_ts_") and k not in known)
    if unknown:
        raise LocalTargetError(
            f"cannot save the local state: {what} holds extension state the snapshot does not "
            f"know ({', '.join(unknown)}); add it to tablesmith/local/snapshot.py"
        )


def _stamp(value: Any) -> float | None:
    return None if value is None else float(value)


def _iso(value: datetime) -> str:
    return value.isoformat()


# ---------------------------------------------------------------------------- dump: DynamoDB


def _dump_dynamodb(backend: Any) -> dict[str, Any]:
    return {"tables": [_dump_table(table) for table in backend.tables.values()]}


def _pick(source: dict[str, Any] | None, *keys: str) -> dict[str, Any]:
    return {k: copy.deepcopy(source[k]) for k in keys if source and source.get(k) is not None}


def _dump_table(table: Any) -> dict[str, Any]:
    _unknown_extension_state(table, _TABLE_EXTENSION_ATTRS, f"table {table.name}")
    for gsi in table.global_indexes:
        _unknown_extension_state(gsi, frozenset(), f"index {gsi.name} of table {table.name}")
    stream = table.stream_specification or {}
    sse = table.sse_specification
    state: dict[str, Any] = {
        "TableName": table.name,
        "KeySchema": copy.deepcopy(table.schema),
        "AttributeDefinitions": copy.deepcopy(table.attr),
        "BillingMode": table.billing_mode,
        "ProvisionedThroughput": _pick(
            table.throughput, "ReadCapacityUnits", "WriteCapacityUnits", "NumberOfDecreasesToday"
        ),
        "WarmThroughput": _pick(
            table.warm_throughput, "ReadUnitsPerSecond", "WriteUnitsPerSecond", "Status"
        ),
        "GlobalSecondaryIndexes": [
            {
                "IndexName": gsi.name,
                "KeySchema": copy.deepcopy(gsi.schema),
                "Projection": _pick(gsi.projection, "ProjectionType", "NonKeyAttributes"),
                "IndexStatus": gsi.status,
                "ProvisionedThroughput": _pick(
                    gsi.throughput,
                    "ReadCapacityUnits",
                    "WriteCapacityUnits",
                    "NumberOfDecreasesToday",
                ),
                "WarmThroughput": _pick(
                    gsi.warm_throughput, "ReadUnitsPerSecond", "WriteUnitsPerSecond", "Status"
                ),
            }
            for gsi in table.global_indexes
        ],
        "LocalSecondaryIndexes": [
            {
                "IndexName": lsi.name,
                "KeySchema": copy.deepcopy(lsi.schema),
                "Projection": _pick(lsi.projection, "ProjectionType", "NonKeyAttributes"),
            }
            for lsi in table.indexes
        ],
        "StreamSpecification": {
            "StreamEnabled": bool(stream.get("StreamEnabled")),
            **_pick(stream, "StreamViewType"),
            **(
                {"LatestStreamLabel": table.latest_stream_label}
                if table.latest_stream_label
                else {}
            ),
        },
        "SSESpecification": None
        if sse is None
        else _pick(sse, "Enabled", "SSEType", "KMSMasterKeyId"),
        "TimeToLive": _pick(table.ttl, "TimeToLiveStatus", "AttributeName"),
        "ContinuousBackups": {
            "ContinuousBackupsStatus": table.continuous_backups["ContinuousBackupsStatus"],
            "PointInTimeRecoveryDescription": _pick(
                table.continuous_backups["PointInTimeRecoveryDescription"],
                "PointInTimeRecoveryStatus",
                "EarliestRestorableDateTime",
                "LatestRestorableDateTime",
                "RecoveryPeriodInDays",
            ),
        },
        "DeletionProtectionEnabled": table.deletion_protection_enabled,
        "Tags": [{"Key": t["Key"], "Value": t["Value"]} for t in table.tags or []],
        "CreationDateTime": _iso(table.created_at),
        "Items": [_dump_item(item) for item in table.all_items()],
    }
    for key in ("EarliestRestorableDateTime", "LatestRestorableDateTime"):
        pitr = state["ContinuousBackups"]["PointInTimeRecoveryDescription"]
        if key in pitr:
            pitr[key] = float(pitr[key])
    table_class = getattr(table, "_ts_table_class", None)
    if table_class:
        state["TableClassSummary"] = _pick(table_class, "TableClass", "LastUpdateDateTime")
    on_demand = getattr(table, "_ts_on_demand", None)
    if on_demand:
        state["OnDemandThroughput"] = _pick(
            on_demand, "MaxReadRequestUnits", "MaxWriteRequestUnits"
        )
    replicas = getattr(table, "_ts_replicas", None)
    if replicas:
        state["Replicas"] = {
            region: {"phase": r["phase"], "until": float(r["until"]), "kms_key": r["kms_key"]}
            for region, r in replicas.items()
        }
    phases = getattr(table, "_ts_index_phases", None)
    if phases:
        state["IndexPhases"] = {name: dict(record) for name, record in phases.items()}
    for attr, key in (
        ("_ts_policies", "ResourcePolicies"),
        ("_ts_insights", "ContributorInsights"),
        ("_ts_kinesis", "KinesisDestinations"),
    ):
        records = getattr(table, attr, None)
        if records:
            state[key] = {name: dict(record) for name, record in records.items()}
    if getattr(table, "_ts_consistency", None):
        state["MultiRegionConsistency"] = table._ts_consistency
    if getattr(table, "_ts_witness", None):
        state["Witness"] = dict(table._ts_witness)
    for attr, key in (
        ("_ts_creating_until", "CreatingUntil"),
        ("_ts_sourced_at", "SourcedAt"),
        ("_ts_ttl_changed_at", "TtlChangedAt"),
    ):
        value = getattr(table, attr, None)
        if value is not None and math.isfinite(value):
            state[key] = float(value)
    return state


def _dump_item(item: Any) -> dict[str, Any]:
    return {name: _dump_value(value) for name, value in item.attrs.items()}


def _b64(value: Any) -> str:
    """moto keeps binaries as received (base64 text) or, after some paths, as bytes."""
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    return str(value)


def _dump_value(value: Any) -> dict[str, Any]:
    """A moto DynamoType as a wire-format AttributeValue."""
    kind, inner = value.type, value.value
    if kind == "M":
        return {"M": {k: _dump_value(v) for k, v in inner.items()}}
    if kind == "L":
        return {"L": [_dump_value(v) for v in inner]}
    if kind == "B":
        return {"B": _b64(inner)}
    if kind == "BS":
        return {"BS": [_b64(v.value if hasattr(v, "value") else v) for v in inner]}
    if kind in ("SS", "NS"):
        return {kind: [v.value if hasattr(v, "value") else v for v in inner]}
    return {kind: inner}


# ---------------------------------------------------------------------------- dump: the rest


def _dump_backup(backend: Any) -> dict[str, Any]:
    _unknown_extension_state(backend, _BACKUP_EXTENSION_ATTRS, "an AWS Backup backend")
    vaults = [
        {
            "BackupVaultName": v.backup_vault_name,
            "CreationDate": float(v.creation_date),
            "EncryptionKeyArn": v.encryption_key_arn,
            "CreatorRequestId": v.creator_request_id,
            "NumberOfRecoveryPoints": v.num_of_recovery_points,
            "Locked": v.locked,
            "MinRetentionDays": v.min_retention_days,
            "MaxRetentionDays": v.max_retention_days,
            "LockDate": _stamp(v.lock_date),
            "ChangeableForDays": v.changeable_for_days,
        }
        for v in backend.vaults.values()
    ]
    plans = [
        {
            "BackupPlanId": p.backup_plan_id,
            "VersionId": p.version_id,
            "CreationDate": float(p.creation_date),
            "CreatorRequestId": p.creator_request_id,
            "DeletionDate": _stamp(p.deletion_date),
            "BackupPlan": copy.deepcopy(p.backup_plan),
            "AdvancedBackupSettings": copy.deepcopy(p.advanced_backup_settings or []),
        }
        for p in backend.plans.values()
    ]
    selections = [
        copy.deepcopy(dict(selection))
        for by_id in getattr(backend, "_ts_selections", {}).values()
        for selection in by_id.values()
    ]
    return {
        "vaults": vaults,
        "plans": plans,
        "selections": selections,
        "region_settings": copy.deepcopy(getattr(backend, "_ts_region_settings", None)),
        "recovery_points": [
            copy.deepcopy(dict(point))
            for point in getattr(backend, "_ts_recovery_points", {}).values()
        ],
        "tags": copy.deepcopy(backend.tagger.tags),
    }


def _dump_iam(backend: Any) -> dict[str, Any]:
    from moto.iam.models import AWSManagedPolicy

    policies = [
        {
            "PolicyName": p.name,
            "PolicyId": p.id,
            "Path": p.path,
            "Description": p.description,
            "CreateDate": _iso(p.create_date),
            "UpdateDate": _iso(p.update_date),
            "DefaultVersionId": p.default_version_id,
            "NextVersionNumber": p.next_version_num,
            "Versions": [
                {
                    "VersionId": v.version_id,
                    "Document": v.document,
                    "IsDefaultVersion": v.is_default,
                    "CreateDate": _iso(v.create_date),
                }
                for v in p.versions
            ],
            "Tags": [{"Key": t["Key"], "Value": t["Value"]} for t in p.tags.values()],
        }
        for p in backend.managed_policies.values()
        if not isinstance(p, AWSManagedPolicy)
    ]
    roles = [
        {
            "RoleName": r.name,
            "RoleId": r.id,
            "Path": r.path,
            "AssumeRolePolicyDocument": r.assume_role_policy_document,
            "Description": r.description,
            "MaxSessionDuration": None
            if r.max_session_duration is None
            else int(r.max_session_duration),
            "PermissionsBoundary": r.permissions_boundary_arn,
            "Tags": [{"Key": t["Key"], "Value": t["Value"]} for t in r.tags or []],
            "CreateDate": _iso(r.create_date),
            "InlinePolicies": dict(r.policies),
            "AttachedPolicyArns": list(r.managed_policies),
        }
        for r in backend.roles.values()
    ]
    return {"policies": policies, "roles": roles}


def _dump_cloudwatch(backend: Any) -> dict[str, Any]:
    def dimensions(items: Any) -> list[dict[str, Any]]:
        return [{"Name": d.name, "Value": d.value} for d in items or []]

    def query(q: Any) -> dict[str, Any]:
        term: dict[str, Any] = {
            "Id": q.id,
            "Label": q.label,
            "Period": q.period,
            "ReturnData": q.return_data,
            "Expression": q.expression,
        }
        if q.metric_stat is not None:
            s = q.metric_stat
            term["MetricStat"] = {
                "Metric": {
                    "MetricName": s.metric.metric_name,
                    "Namespace": s.metric.namespace,
                    "Dimensions": dimensions(s.metric.dimensions),
                },
                "Period": s.period,
                "Stat": s.stat,
                "Unit": s.unit,
            }
        return term

    alarms = [
        {
            "AlarmName": a.name,
            "AlarmDescription": a.description,
            "Namespace": a.namespace,
            "MetricName": a.metric_name,
            "Metrics": [query(q) for q in a.metric_data_queries or []],
            "ComparisonOperator": a.comparison_operator,
            "EvaluationPeriods": a.evaluation_periods,
            "DatapointsToAlarm": a.datapoints_to_alarm,
            "Period": a.period,
            "Threshold": None if a.threshold is None else float(a.threshold),
            "Statistic": a.statistic,
            "ExtendedStatistic": a.extended_statistic,
            "Dimensions": dimensions(a.dimensions),
            "AlarmActions": list(a.alarm_actions or []),
            "OKActions": list(a.ok_actions or []),
            "InsufficientDataActions": list(a.insufficient_data_actions or []),
            "Unit": a.unit,
            "ActionsEnabled": bool(a.actions_enabled),
            "TreatMissingData": a.treat_missing_data,
            "EvaluateLowSampleCountPercentile": a.evaluate_low_sample_count_percentile,
            "ThresholdMetricId": a.threshold_metric_id,
            "AlarmRule": a.rule,
            "AlarmConfigurationUpdatedTimestamp": _iso(a.configuration_updated_timestamp),
            "StateValue": a.state_value,
            "StateReason": a.state_reason,
            "StateReasonData": a.state_reason_data,
            "StateUpdatedTimestamp": _iso(a.state_updated_timestamp),
        }
        for a in backend.alarms.values()
    ]
    return {"alarms": alarms, "tags": copy.deepcopy(backend.tagger.tags)}


def _private_key_der(key: Any) -> str | None:
    from cryptography.hazmat.primitives import serialization

    inner = getattr(key.private_key, "private_key", None)
    if inner is None:
        return None
    der = inner.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return base64.b64encode(der).decode("ascii")


def _dump_kms(backend: Any) -> dict[str, Any]:
    keys = [
        {
            "KeyId": k.id,
            "CreationDate": float(k.creation_date),
            "Policy": k.policy,
            "Description": k.description,
            # moto keeps None when CreateKey named neither: AWS's defaults, as DescribeKey shows
            "KeyUsage": k.key_usage or "ENCRYPT_DECRYPT",
            "KeySpec": k.key_spec or "SYMMETRIC_DEFAULT",
            "KeyState": k.key_state,
            "Enabled": bool(k.enabled),
            "Origin": k.origin,
            "KeyManager": k.key_manager,
            "KeyRotationEnabled": bool(k.key_rotation_status),
            "MultiRegion": bool(k.multi_region),
            "MultiRegionConfiguration": copy.deepcopy(
                getattr(k, "multi_region_configuration", None)
            ),
            "DeletionDate": None if k.deletion_date is None else _iso(k.deletion_date),
            "Aliases": list(k.aliases),
            "KeyMaterial": base64.b64encode(k.key_material).decode("ascii"),
            "PrivateKey": _private_key_der(k),
        }
        for k in backend.keys.values()
    ]
    return {"keys": keys, "tags": copy.deepcopy(backend.tagger.tags)}


def _dump_sns(backend: Any) -> dict[str, Any]:
    topics = [
        {
            "Name": t.name,
            "DisplayName": t.display_name,
            "DeliveryPolicy": t.delivery_policy,
            "KmsMasterKeyId": t.kms_master_key_id,
            "Policy": t.policy,
            "FifoTopic": t.fifo_topic in (True, "true"),
            "ContentBasedDeduplication": t.content_based_deduplication in (True, "true"),
            "Tags": dict(t._tags),
        }
        for t in backend.topics.values()
    ]
    return {"topics": topics}


_DUMPERS: dict[str, Callable[[Any], dict[str, Any]]] = {
    "kms": _dump_kms,
    "iam": _dump_iam,
    "dynamodb": _dump_dynamodb,
    "backup": _dump_backup,
    "cloudwatch": _dump_cloudwatch,
    "sns": _dump_sns,
}


def dumps() -> str:
    """:func:`dump` as JSON text; a failure is a one-line :class:`LocalTargetError`."""
    import json

    try:
        return json.dumps(dump(), separators=(",", ":"), allow_nan=False)
    except LocalTargetError:
        raise
    except Exception as exc:  # moto held something the schema does not foresee
        raise LocalTargetError(f"cannot save the local state: {_one_line(exc)}") from None


def loads(text: str) -> dict[str, Any]:
    """The JSON text of a state file as data for :func:`restore` (not yet validated)."""
    import json

    def refuse(constant: str) -> Any:
        raise ValueError(f"{constant} is not a JSON number")

    try:
        data = json.loads(text, parse_constant=refuse)
    except (ValueError, RecursionError) as exc:
        raise LocalTargetError(f"the local state is not valid JSON: {_one_line(exc)}") from None
    if not isinstance(data, dict):
        raise LocalTargetError("the local state is not a JSON object")
    return data


# ============================================================================ restore


def restore(data: dict[str, Any]) -> None:
    """Validate ``data`` and re-create it in moto's (cleared) backends; all or nothing.

    Any problem, however the document was crafted, is a one-line :class:`LocalTargetError`,
    and leaves the backends empty.
    """
    clear()  # whatever happens next, nothing of an earlier state (or of a bad one) remains
    snapshot = _validate(data)
    collecting = gc.isenabled()
    gc.disable()  # a bulk build of acyclic objects: the cyclic collector only slows it down
    try:
        for account_id, account in snapshot.accounts.items():
            _restore_account(account_id, account)
    except LocalTargetError as exc:
        clear()
        raise LocalTargetError(_one_line(exc)) from None
    except Exception as exc:  # moto refused a part of it: the document is not a valid state
        clear()
        raise LocalTargetError(f"the local state cannot be re-created: {_one_line(exc)}") from None
    finally:
        if collecting:
            gc.enable()


def clear() -> None:
    """Empty moto's backends of every service the local target keeps."""
    from moto.backends import get_backend

    for service in SERVICES:
        get_backend(service).clear()  # type: ignore[call-overload]


def _one_line(exc: BaseException, limit: int = 300) -> str:
    """The message on one short line, without the control characters a crafted file may hold."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    text = f"{type(exc).__name__}: {text}" if not isinstance(exc, LocalTargetError) else text
    text = "".join(c if c.isprintable() else "?" for c in text[: limit * 2])
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _validate(data: Any) -> Snapshot:
    if not isinstance(data, dict):
        raise LocalTargetError("the local state is not a JSON object")
    version = data.get("format")
    if isinstance(version, int) and not isinstance(version, bool):
        if version > SCHEMA_VERSION:
            raise LocalTargetError(
                f"the local state has format {version}, newer than this tablesmith reads "
                f"(format {SCHEMA_VERSION}); upgrade tablesmith"
            )
        if version < SCHEMA_VERSION:
            data = _migrate(data, version)
    try:
        return Snapshot.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(part) for part in first["loc"]) or "the document"
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise LocalTargetError(
            _one_line(
                LocalTargetError(f"the local state is not valid: {where}: {first['msg']}{more}")
            )
        ) from None
    except (RecursionError, ValueError, TypeError) as exc:
        raise LocalTargetError(f"the local state is not valid: {_one_line(exc)}") from None


def _migrate(data: dict[str, Any], version: int) -> dict[str, Any]:
    """An older JSON format brought up to :data:`SCHEMA_VERSION` (none exists yet)."""
    raise LocalTargetError(
        f"the local state has format {version}, which tablesmith no longer reads (format 1 "
        "was a pickle, and loading one could run code)"
    )


def _restore_account(account_id: str, account: Account) -> None:
    from moto.backends import get_backend as typed_get_backend

    get_backend: Any = typed_get_backend

    # KMS first (tables name their keys), IAM before the backup selections that name roles
    for region, kms in account.kms.items():
        _restore_kms(get_backend("kms")[account_id][region], kms)
    for partition, iam in account.iam.items():
        _restore_iam(get_backend("iam")[account_id][partition], iam)
    for region, dynamodb in account.dynamodb.items():
        _restore_dynamodb(get_backend("dynamodb")[account_id][region], dynamodb)
    for region, backup in account.backup.items():
        _restore_backup(get_backend("backup")[account_id][region], backup)
    for region, cloudwatch in account.cloudwatch.items():
        _restore_cloudwatch(get_backend("cloudwatch")[account_id][region], cloudwatch)
    for region, sns in account.sns.items():
        _restore_sns(get_backend("sns")[account_id][region], sns)


def _naive(value: datetime) -> datetime:
    """moto's datetimes are naive UTC."""
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def _rekey(mapping: dict[str, Any], old: str, new: str, value: Any) -> None:
    if new != old and new in mapping:
        raise LocalTargetError(f"the local state names the id {new[:80]} twice")
    mapping.pop(old, None)
    mapping[new] = value


def _tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tags.items()]


# ---------------------------------------------------------------------------- restore: DynamoDB


def _dumped(models: list[Any]) -> list[dict[str, Any]]:
    return [m.model_dump(exclude_none=True) for m in models]


def _restore_dynamodb(backend: Any, region: DynamoDBRegion) -> None:
    for state in region.tables:
        _restore_table(backend, state)


def _restore_table(backend: Any, state: TableState) -> None:
    stream = state.StreamSpecification
    provisioned = (state.BillingMode or "PROVISIONED") == "PROVISIONED"
    capacity = {
        "ReadCapacityUnits": state.ProvisionedThroughput.ReadCapacityUnits,
        "WriteCapacityUnits": state.ProvisionedThroughput.WriteCapacityUnits,
    }
    table = backend.create_table(
        state.TableName,
        schema=_dumped(state.KeySchema),
        throughput=capacity if provisioned else None,
        attr=_dumped(state.AttributeDefinitions),
        global_indexes=[
            {
                "IndexName": gsi.IndexName,
                "KeySchema": _dumped(gsi.KeySchema),
                "Projection": gsi.Projection.model_dump(exclude_none=True),
            }
            for gsi in state.GlobalSecondaryIndexes
        ],
        indexes=[
            {
                "IndexName": lsi.IndexName,
                "KeySchema": _dumped(lsi.KeySchema),
                "Projection": lsi.Projection.model_dump(exclude_none=True),
            }
            for lsi in state.LocalSecondaryIndexes
        ],
        streams=(
            {"StreamEnabled": True, "StreamViewType": stream.StreamViewType}
            if stream.StreamEnabled
            else None
        ),
        billing_mode=state.BillingMode,
        sse_specification=None,  # set below: moto would make a KMS key for {"Enabled": false}
        tags=_dumped(state.Tags),
        deletion_protection_enabled=state.DeletionProtectionEnabled,
        warm_throughput=None,
    )
    # what a request cannot choose: exact throughput records, index status, dates, the label
    table.throughput = state.ProvisionedThroughput.model_dump(exclude_none=True)
    table.warm_throughput = state.WarmThroughput.model_dump(exclude_none=True)
    for gsi, saved in zip(table.global_indexes, state.GlobalSecondaryIndexes, strict=True):
        gsi.status = saved.IndexStatus
        gsi.throughput = saved.ProvisionedThroughput.model_dump(exclude_none=True)
        gsi.warm_throughput = saved.WarmThroughput.model_dump(exclude_none=True)
    table.created_at = _naive(state.CreationDateTime)
    if state.SSESpecification is not None:
        table.sse_specification = state.SSESpecification.model_dump(exclude_none=True)
    table.latest_stream_label = stream.LatestStreamLabel
    if stream.StreamEnabled and not stream.LatestStreamLabel:
        raise LocalTargetError(
            f"the local state is not valid: table {state.TableName} has a stream but no label"
        )
    ttl = state.TimeToLive
    if ttl.AttributeName is not None:
        backend.update_time_to_live(
            state.TableName,
            {"Enabled": ttl.TimeToLiveStatus == "ENABLED", "AttributeName": ttl.AttributeName},
        )
    table.ttl = ttl.model_dump(exclude_none=True)  # ENABLING/DISABLING as they were
    table.continuous_backups = state.ContinuousBackups.model_dump(exclude_none=True)
    if state.TableClassSummary is not None:
        table._ts_table_class = state.TableClassSummary.model_dump(exclude_none=True)
    if state.OnDemandThroughput is not None:
        table._ts_on_demand = state.OnDemandThroughput.model_dump(exclude_none=True)
    if state.Replicas:
        table._ts_replicas = {
            region: {"phase": r.phase, "until": r.until, "kms_key": r.kms_key}
            for region, r in state.Replicas.items()
        }
    if state.CreatingUntil is not None:
        table._ts_creating_until = state.CreatingUntil
    if state.SourcedAt is not None:
        table._ts_sourced_at = state.SourcedAt
    if state.IndexPhases:
        table._ts_index_phases = {
            name: record.model_dump() for name, record in state.IndexPhases.items()
        }
    if state.TtlChangedAt is not None:
        table._ts_ttl_changed_at = state.TtlChangedAt
    for attr, records in (
        ("_ts_policies", state.ResourcePolicies),
        ("_ts_insights", state.ContributorInsights),
        ("_ts_kinesis", state.KinesisDestinations),
    ):
        if records:
            setattr(table, attr, {name: r.model_dump() for name, r in records.items()})
    if state.MultiRegionConsistency is not None:
        table._ts_consistency = state.MultiRegionConsistency
    if state.Witness is not None:
        table._ts_witness = state.Witness.model_dump()
    shard, table.stream_shard = table.stream_shard, None  # no stream records for a reload
    try:
        for item in state.Items:
            table.put_item(item, overwrite=True)
    finally:
        table.stream_shard = shard


# ---------------------------------------------------------------------------- restore: Backup


def _restore_backup(backend: Any, region: BackupRegion) -> None:
    for vault in region.vaults:
        made = backend.create_backup_vault(
            vault.BackupVaultName, None, vault.EncryptionKeyArn, vault.CreatorRequestId
        )
        made.creation_date = vault.CreationDate
        made.num_of_recovery_points = vault.NumberOfRecoveryPoints
        made.locked = vault.Locked
        made.min_retention_days = vault.MinRetentionDays
        made.max_retention_days = vault.MaxRetentionDays
        made.lock_date = vault.LockDate
        made.changeable_for_days = vault.ChangeableForDays
    # deleted plans first: a live plan's name may be a deleted one's (CreateBackupPlan allows it)
    order = {plan.BackupPlanId: n for n, plan in enumerate(region.plans)}
    for plan in sorted(region.plans, key=lambda p: p.DeletionDate is None):
        document = plan.BackupPlan.model_dump(exclude_none=True)
        made = backend.create_backup_plan(copy.deepcopy(document), None, plan.CreatorRequestId)
        _rekey(backend.plans, made.backup_plan_id, plan.BackupPlanId, made)
        made.backup_plan_id = plan.BackupPlanId
        made.backup_plan_arn = made.backup_plan_arn.rsplit(":", 1)[0] + ":" + plan.BackupPlanId
        made.backup_plan = document  # with the saved RuleIds
        made.version_id = plan.VersionId
        made.creation_date = plan.CreationDate
        made.deletion_date = plan.DeletionDate
        made.advanced_backup_settings = copy.deepcopy(plan.AdvancedBackupSettings)
    backend.plans = dict(sorted(backend.plans.items(), key=lambda kv: order[kv[0]]))
    for selection in region.selections:
        made = backend.create_backup_selection(
            selection.BackupPlanId,
            selection.BackupSelection.model_dump(),
            selection.CreatorRequestId,
        )
        by_id = backend._ts_selections[selection.BackupPlanId]
        _rekey(by_id, made["SelectionId"], selection.SelectionId, made)
        made["SelectionId"] = selection.SelectionId
        made["CreationDate"] = selection.CreationDate
    if region.region_settings is not None:
        backend.update_region_settings(copy.deepcopy(region.region_settings))
    if region.recovery_points:
        backend._ts_recovery_points = {
            point.RecoveryPointArn: point.model_dump() for point in region.recovery_points
        }
    for arn, tags in region.tags.items():
        backend.tagger.tag_resource(arn, _tag_list(tags))


# ---------------------------------------------------------------------------- restore: IAM


def _restore_iam(backend: Any, iam: IamPartition) -> None:
    for policy in iam.policies:
        default = next((v for v in policy.Versions if v.VersionId == policy.DefaultVersionId), None)
        if default is None:
            raise LocalTargetError(
                f"the local state is not valid: policy {policy.PolicyName} has no version "
                f"{policy.DefaultVersionId}"
            )
        made = backend.create_policy(
            policy.Description,
            policy.Path,
            default.Document,
            policy.PolicyName,
            _dumped(policy.Tags),
        )
        made.id = policy.PolicyId
        made.create_date = _naive(policy.CreateDate)
        made.update_date = _naive(policy.UpdateDate)
        made.default_version_id = policy.DefaultVersionId
        made.next_version_num = policy.NextVersionNumber
        version_type = type(made.versions[0])
        made.versions = [
            version_type(
                made.arn, v.Document, v.IsDefaultVersion, v.VersionId, _naive(v.CreateDate)
            )
            for v in policy.Versions
        ]
    for role in iam.roles:
        made = backend.create_role(
            role.RoleName,
            role.AssumeRolePolicyDocument,
            role.Path,
            role.PermissionsBoundary,
            role.Description,
            _dumped(role.Tags),
            role.MaxSessionDuration,
        )
        _rekey(backend.roles, made.id, role.RoleId, made)
        made.id = role.RoleId
        made.create_date = _naive(role.CreateDate)
        for name, document in role.InlinePolicies.items():
            backend.put_role_policy(role.RoleName, name, document)
        for arn in role.AttachedPolicyArns:
            backend.attach_role_policy(arn, role.RoleName)


# ---------------------------------------------------------------------------- restore: the rest


def _restore_cloudwatch(backend: Any, region: CloudWatchRegion) -> None:
    import importlib

    # moto's constructors, typed loosely: they store what a request gave, None included
    models: Any = importlib.import_module("moto.cloudwatch.models")
    MotoDimension, MotoMetric = models.Dimension, models.Metric
    MetricDataQuery, MotoMetricStat = models.MetricDataQuery, models.MetricStat

    def query(term: MetricQuery) -> Any:
        stat = None
        if term.MetricStat is not None:
            s = term.MetricStat
            stat = MotoMetricStat(
                metric=MotoMetric(
                    metric_name=s.Metric.MetricName,
                    namespace=s.Metric.Namespace,
                    dimensions=[MotoDimension(d.Name, d.Value) for d in s.Metric.Dimensions],
                ),
                period=s.Period,
                stat=s.Stat,
                unit=s.Unit,
            )
        return MetricDataQuery(
            query_id=term.Id,
            label=term.Label,
            period=term.Period,
            return_data=term.ReturnData,
            expression=term.Expression,
            metric_stat=stat,
        )

    for alarm in region.alarms:
        made = backend.put_metric_alarm(
            name=alarm.AlarmName,
            namespace=alarm.Namespace,
            metric_name=alarm.MetricName,
            metric_data_queries=[query(term) for term in alarm.Metrics] or None,
            comparison_operator=alarm.ComparisonOperator,
            evaluation_periods=alarm.EvaluationPeriods,
            datapoints_to_alarm=alarm.DatapointsToAlarm,
            period=alarm.Period,
            threshold=alarm.Threshold,
            statistic=alarm.Statistic,
            extended_statistic=alarm.ExtendedStatistic,
            description=alarm.AlarmDescription,
            dimensions=_dumped(alarm.Dimensions),
            alarm_actions=list(alarm.AlarmActions),
            ok_actions=list(alarm.OKActions),
            insufficient_data_actions=list(alarm.InsufficientDataActions),
            unit=alarm.Unit,
            actions_enabled=alarm.ActionsEnabled,
            treat_missing_data=alarm.TreatMissingData,
            evaluate_low_sample_count_percentile=alarm.EvaluateLowSampleCountPercentile,
            threshold_metric_id=alarm.ThresholdMetricId,
            rule=alarm.AlarmRule,
        )
        made.configuration_updated_timestamp = _naive(alarm.AlarmConfigurationUpdatedTimestamp)
        made.state_value = alarm.StateValue
        made.state_reason = alarm.StateReason
        made.state_reason_data = alarm.StateReasonData
        made.state_updated_timestamp = _naive(alarm.StateUpdatedTimestamp)
    for arn, tags in region.tags.items():
        backend.tagger.tag_resource(arn, _tag_list(tags))


@contextlib.contextmanager
def _saved_private_key(der: str | None) -> Iterator[None]:
    """Have moto's create_key take the saved private key instead of generating a new one."""
    import importlib

    if der is None:
        yield
        return
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    kms_models: Any = importlib.import_module("moto.kms.models")
    kms_utils: Any = importlib.import_module("moto.kms.utils")
    # our own key, and a bad one cannot run code: skip the RSA checks (a tenth of a second)
    loaded = serialization.load_der_private_key(
        base64.b64decode(der), password=None, unsafe_skip_rsa_key_validation=True
    )
    generate = kms_models.generate_private_key

    def saved(key_spec: str) -> Any:
        if key_spec.startswith("ECC_"):
            if not isinstance(loaded, ec.EllipticCurvePrivateKey):
                raise ValueError(f"the saved private key is not an {key_spec} key")
            wrapper = generate(key_spec)  # EC keys are cheap: moto's wrapper, its settings
        else:
            if not isinstance(loaded, rsa.RSAPrivateKey):
                raise ValueError(f"the saved private key of a {key_spec} key is not RSA")
            wrapper = kms_utils.RSAPrivateKey.__new__(kms_utils.RSAPrivateKey)
            wrapper.key_size = loaded.key_size  # no RSA key generated (tens of ms each)
        wrapper.private_key = loaded
        return wrapper

    kms_models.generate_private_key = saved
    try:
        yield
    finally:
        kms_models.generate_private_key = generate


def _restore_kms(backend: Any, region: KmsRegion) -> None:
    for key in region.keys:
        with _saved_private_key(key.PrivateKey):
            made = backend.create_key(
                key.Policy,
                key.KeyUsage,
                key.KeySpec,
                key.Description,
                None,
                multi_region=key.MultiRegion,
                origin=key.Origin,
            )
        _rekey(backend.keys, made.id, key.KeyId, made)
        made.id = key.KeyId
        made.arn = made.arn.rsplit("/", 1)[0] + "/" + key.KeyId
        made.creation_date = key.CreationDate
        made.key_state = key.KeyState
        made.enabled = key.Enabled
        made.key_manager = key.KeyManager
        made.key_rotation_status = key.KeyRotationEnabled
        made.deletion_date = None if key.DeletionDate is None else _naive(key.DeletionDate)
        made.key_material = base64.b64decode(key.KeyMaterial)
        if key.MultiRegionConfiguration is not None:
            made.multi_region_configuration = copy.deepcopy(key.MultiRegionConfiguration)
        for alias in key.Aliases:
            backend.create_alias(key.KeyId, alias)
    for arn, tags in region.tags.items():
        backend.tagger.tag_resource(arn, _tag_list(tags))


def _restore_sns(backend: Any, region: SnsRegion) -> None:
    for topic in region.topics:
        attributes = {"FifoTopic": "true"} if topic.FifoTopic else {}
        made = backend.create_topic(topic.Name, attributes, dict(topic.Tags) or None)
        made.display_name = topic.DisplayName
        made.delivery_policy = topic.DeliveryPolicy
        made.kms_master_key_id = topic.KmsMasterKeyId
        made.policy = topic.Policy
        made.content_based_deduplication = topic.ContentBasedDeduplication
