"""The spec model: what a table should be, and (from ``live``) what it is.

Two families of frozen pydantic models live here:

* *settings* models (``TableSettings`` and its parts) validate the merged, user-written
  settings of one table in one environment: unknown keys and wrong types are errors, and
  scalars are strict (``"yes"`` is not a bool, ``"7"`` is not a number);
* the *effective* model (``Table``) is the fully-defaulted result for one environment, with
  typed keys and derived attribute definitions. ``live`` reads AWS into this same model, so
  ``diff`` compares like with like.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    Tag,
)

AttributeType = Literal["S", "N", "B"]
ProjectionType = Literal["ALL", "KEYS_ONLY", "INCLUDE"]
StreamViewType = Literal["KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES"]
EncryptionType = Literal["AWS_OWNED", "AWS_MANAGED", "CUSTOMER_MANAGED"]
TableClass = Literal["STANDARD", "STANDARD_INFREQUENT_ACCESS"]
BillingMode = Literal["PAY_PER_REQUEST"]
Statistic = Literal["Sum", "Average", "Maximum", "Minimum", "SampleCount"]
Target = Literal["aws", "local"]
Consistency = Literal["eventual", "strong"]  # MREC / MRSC global tables

MODULE_MANDATORY_TAGS = ("Environment", "Project", "Owner", "CostCenter", "ManagedBy", "Component")
MODULE_TABLE_NAME_PATTERN = r"^[a-z][a-z0-9_]*$"
DEFAULT_REGION = "af-south-1"  # the module README's primary region
DEFAULT_DR_REGION = "eu-west-1"  # the module README's DR region
OWNERSHIP_TAG = "tablesmith:managed"  # value: environment name; marks what --prune may delete


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


# --------------------------------------------------------------------------- settings


class KeyRef(_Frozen):
    """A key attribute written out in full: its name and (optionally) its type."""

    name: StrictStr
    type: AttributeType | None = None


# a key may be written "PK" (its type found elsewhere): loaders normalise that to {name: PK}
KeyInput = KeyRef

# A GSI key is one attribute or a list of them (a multi-attribute key). The form is chosen by
# what was written, so that an error is reported for that form only; the tags appear in a
# validation error's location and are dropped from the path shown (spec.resolve).
GSI_KEY_FORMS = ("(one attribute)", "(attribute list)")


def _gsi_key_form(value: object) -> str:
    return GSI_KEY_FORMS[1] if isinstance(value, (list, tuple)) else GSI_KEY_FORMS[0]


GsiKeyInput = Annotated[
    Annotated[KeyInput, Tag(GSI_KEY_FORMS[0])]
    | Annotated[tuple[KeyInput, ...], Tag(GSI_KEY_FORMS[1])],
    Discriminator(_gsi_key_form),
]


# ContributorInsightsMode (UpdateContributorInsights): which keys CloudWatch ranks
ContributorInsightsMode = Literal["ACCESSED_AND_THROTTLED_KEYS", "THROTTLED_KEYS"]


class ContributorInsights(_Frozen):
    """CloudWatch Contributor Insights of a table or a GSI: its most accessed/throttled keys."""

    enabled: StrictBool
    mode: ContributorInsightsMode = "ACCESSED_AND_THROTTLED_KEYS"  # AWS's default


class GsiSettings(_Frozen):
    """A global secondary index as written."""

    name: StrictStr
    # one key attribute, or a list of 1-4 (a multi-attribute key, in the order written)
    hash_key: GsiKeyInput
    range_key: GsiKeyInput | None = None
    projection_type: ProjectionType = "ALL"
    non_key_attributes: tuple[StrictStr, ...] = ()
    warm_throughput: WarmThroughput | None = None  # None: not managed
    contributor_insights: ContributorInsights | None = None  # None: not managed


class LsiSettings(_Frozen):
    """A local secondary index as written: the table's partition key plus another sort key."""

    name: StrictStr
    range_key: KeyInput
    projection_type: ProjectionType = "ALL"
    non_key_attributes: tuple[StrictStr, ...] = ()


class PointInTimeRecovery(_Frozen):
    """PITR: continuous backups, restorable to any second within the recovery period."""

    enabled: StrictBool
    recovery_period_days: StrictInt  # 1..35


class TimeToLive(_Frozen):
    """TTL: items whose ``attribute_name`` (epoch seconds) has passed are deleted."""

    enabled: StrictBool
    attribute_name: StrictStr


class Stream(_Frozen):
    """DynamoDB Streams; replicas require NEW_AND_OLD_IMAGES."""

    enabled: StrictBool
    view_type: StreamViewType


# a resource-based policy as written: the document, {file: policy.json} (a file beside the
# spec), or "none" (manage: no policy); None: not managed. Any value: spec/policy.py checks
# it, with messages that say what a policy may be (a union's errors would not)
PolicyInput = object


class StreamSettings(Stream):
    """The stream as written: the stream, and the policy on it (attached once it exists)."""

    resource_policy: PolicyInput = None


class ResourcePolicy(_Frozen):
    """A resource-based policy (PutResourcePolicy) as tablesmith sends it."""

    # compact JSON, keys sorted: equal documents are equal text (None: no policy attached)
    document: str | None = None


class Encryption(_Frozen):
    """Server-side encryption at rest: AWS-owned, AWS-managed (aws/dynamodb) or a customer key."""

    type: EncryptionType
    kms_key_arn: StrictStr | None = None
    # customer-managed keys are regional: one per replica region
    replica_kms_key_arns: dict[StrictStr, StrictStr] = Field(default_factory=dict)


class OnDemandThroughput(_Frozen):
    """Caps on on-demand request units (None = no cap)."""

    max_read_request_units: StrictInt | None = None
    max_write_request_units: StrictInt | None = None


class WarmThroughput(_Frozen):
    """Warm throughput: the read/write units per second the table (or GSI) is pre-warmed for."""

    read_units_per_second: StrictInt  # may only increase (AWS refuses a decrease)
    write_units_per_second: StrictInt


class ReplicaPointInTimeRecovery(_Frozen):
    """A replica's own PITR: as the table's, the period AWS's default when not written (it
    only exists while PITR is on)."""

    enabled: StrictBool
    recovery_period_days: StrictInt = 35  # 1..35, AWS's default RecoveryPeriodInDays


class ReplicaSettings(_Frozen):
    """A replica written as a mapping: its region and the settings it has of its own there."""

    region: StrictStr
    point_in_time_recovery: ReplicaPointInTimeRecovery | None = None  # None: the table's


class KinesisStreamingDestination(_Frozen):
    """A Kinesis data stream the table's item changes are streamed to (Kinesis Data Streams for
    DynamoDB); the stream must exist in the table's account and Region."""

    stream_arn: StrictStr  # arn:<partition>:kinesis:<region>:<account>:stream/<name>
    # ApproximateCreationDateTime of the records: AWS's default is MILLISECOND
    timestamp_precision: Literal["MILLISECOND", "MICROSECOND"] = "MILLISECOND"


class Backup(_Frozen):
    """AWS Backup: vault, plan with one rule, selection of the table, and the service role."""

    enabled: StrictBool
    schedule: StrictStr  # AWS cron: cron(min hour day-of-month month day-of-week year)
    retention_days: StrictInt  # 1..365: the rule's DeleteAfterDays
    cold_storage_after_days: StrictInt | None = None  # MoveToColdStorageAfterDays
    copy_to_replica_regions: StrictBool = True  # a DR vault + copy action per replica region


class AlarmRule(_Frozen):
    """One CloudWatch alarm's trigger: ``statistic`` over ``period`` > ``threshold``."""

    enabled: StrictBool
    threshold: StrictFloat
    period: StrictInt  # seconds: 10, 30 or a multiple of 60
    evaluation_periods: StrictInt
    statistic: Statistic


class Alarms(_Frozen):
    """The CloudWatch alarms around a table, on series DynamoDB actually publishes."""

    enabled: StrictBool
    alarm_actions: tuple[StrictStr, ...] = ()  # SNS topic ARNs
    ok_actions: tuple[StrictStr, ...] = ()
    system_errors: AlarmRule  # SystemErrors per TableName+Operation, summed with metric math
    throttled_requests: AlarmRule  # ThrottledRequests per TableName+Operation, summed
    read_throttle_events: AlarmRule  # ReadThrottleEvents per TableName (and per GSI)
    write_throttle_events: AlarmRule  # WriteThrottleEvents per TableName (and per GSI)
    replication_latency: AlarmRule  # ReplicationLatency per TableName+ReceivingRegion
    user_errors: AlarmRule  # UserErrors: account-and-region level, no TableName dimension


class TableSettings(_Frozen):
    """Every setting of one table in one environment, after defaults and overrides merged."""

    partition_key: KeyInput
    sort_key: KeyInput | None = None
    # explicit attribute definitions: optional, cross-checked against the keys
    attributes: dict[StrictStr, AttributeType] | None = None
    global_secondary_indexes: tuple[GsiSettings, ...] = ()
    local_secondary_indexes: tuple[LsiSettings, ...] = ()
    billing_mode: BillingMode
    on_demand_throughput: OnDemandThroughput | None = None
    point_in_time_recovery: PointInTimeRecovery
    ttl: TimeToLive
    stream: StreamSettings
    encryption: Encryption
    deletion_protection: StrictBool
    table_class: TableClass
    # written as region names or as mappings; resolve turns a name into {region: name}
    replicas: tuple[ReplicaSettings, ...] = ()
    warm_throughput: WarmThroughput | None = None  # None: not managed
    # the global table's consistency mode: one for all its replicas, set when it is made
    # (AWS cannot change it); strong (MRSC) takes three Regions of one set, a witness counting
    consistency: Consistency = "eventual"
    witness_region: StrictStr | None = None  # MRSC only: the third Region, without data
    backup: Backup
    alarms: Alarms
    resource_policy: PolicyInput = None  # the table's resource-based policy
    # None: not managed; []: none wanted (every live one is disabled)
    kinesis_streaming_destinations: tuple[KinesisStreamingDestination, ...] | None = None
    contributor_insights: ContributorInsights | None = None  # None: not managed
    tags: dict[StrictStr, StrictStr] = Field(default_factory=dict)
    # tags on the table alone, over ``tags``: the resources around it (backup vault, plan,
    # role, alarms) get ``tags`` without these (the module's ``Name`` and ``Type``)
    table_tags: dict[StrictStr, StrictStr] = Field(default_factory=dict)


class Quotas(_Frozen):
    """The account's adjustable DynamoDB quotas; the defaults are AWS's (Service Quotas)."""

    # on-demand request units per table: caps above it are refused by CreateTable
    table_read_request_units: StrictInt = 40_000
    table_write_request_units: StrictInt = 40_000


class LockSettings(_Frozen):
    """How apply and destroy keep to one at a time per environment (tablesmith.lock)."""

    # auto: a lease in a DynamoDB table on AWS, a file lock on the local target and on other
    # endpoints; table / file: that one everywhere; off: no lock
    mode: Literal["auto", "table", "file", "off"] = "auto"
    table: StrictStr = Field(default="tablesmith-locks", pattern=r"^[A-Za-z0-9_.-]{3,255}$")
    lease_seconds: StrictInt = Field(default=60, ge=10, le=3600)


class Conventions(_Frozen):
    """The platform team's guardrails; the defaults are the module's."""

    mandatory_tags: tuple[StrictStr, ...] = MODULE_MANDATORY_TAGS
    table_name_pattern: StrictStr = MODULE_TABLE_NAME_PATTERN
    quotas: Quotas = Field(default_factory=Quotas)  # raise them where AWS raised them
    lock: LockSettings = Field(default_factory=LockSettings)


class EnvironmentSettings(_Frozen):
    """Where an environment deploys and how it names tables, as written."""

    target: Target = "aws"
    region: StrictStr = DEFAULT_REGION
    dr_region: StrictStr = DEFAULT_DR_REGION
    profile: StrictStr | None = None
    endpoint_url: StrictStr | None = None
    table_prefix: StrictStr = ""
    table_suffix: StrictStr = ""
    # table settings for every table in this environment (validated when merged per table)
    defaults: dict[StrictStr, object] = Field(default_factory=dict)


# --------------------------------------------------------------------------- effective


class Key(_Frozen):
    """A key attribute with its type; also one attribute definition."""

    name: str
    type: AttributeType


class GlobalSecondaryIndex(_Frozen):
    """An effective GSI with typed keys."""

    name: str
    hash_key: Key
    range_key: Key | None = None
    projection_type: ProjectionType = "ALL"
    non_key_attributes: tuple[str, ...] = ()  # sorted
    warm_throughput: WarmThroughput | None = None  # None: not managed (spec) / not read
    # a multi-attribute key's 2nd to 4th attributes, in key order (after hash_key/range_key)
    more_hash_keys: tuple[Key, ...] = ()
    more_range_keys: tuple[Key, ...] = ()  # only with a range_key

    def hash_keys(self) -> tuple[Key, ...]:
        """Every attribute of the partition key, in order."""
        return (self.hash_key, *self.more_hash_keys)

    def range_keys(self) -> tuple[Key, ...]:
        """Every attribute of the sort key, in order (none without a sort key)."""
        return (self.range_key, *self.more_range_keys) if self.range_key else ()

    def outline(self) -> dict[str, Any]:
        """The module's ``global_secondary_indexes`` output entry: a key of one attribute is
        its name (as the module had it), a multi-attribute key the list of its names."""
        def names(keys: tuple[Key, ...]) -> str | list[str] | None:
            if not keys:
                return None
            return keys[0].name if len(keys) == 1 else [k.name for k in keys]
        return {"name": self.name, "hash_key": names(self.hash_keys()),
                "range_key": names(self.range_keys())}


class LocalSecondaryIndex(_Frozen):
    """An effective LSI: partition key of the table, its own sort key."""

    name: str
    range_key: Key
    projection_type: ProjectionType = "ALL"
    non_key_attributes: tuple[str, ...] = ()  # sorted


class Environment(_Frozen):
    """An effective environment: its name and where it deploys."""

    name: str
    target: Target = "aws"
    region: str = DEFAULT_REGION
    dr_region: str = DEFAULT_DR_REGION
    profile: str | None = None
    endpoint_url: str | None = None
    table_prefix: str = ""
    table_suffix: str = ""

    def physical_name(self, logical: str) -> str:
        """The table's name in AWS for this environment."""
        return f"{self.table_prefix}{logical}{self.table_suffix}"


class Table(_Frozen):
    """One table in one environment, fully defaulted: what ``apply`` makes AWS hold."""

    name: str  # logical name, as in the spec
    table_name: str  # physical name in AWS
    environment: str
    region: str
    partition_key: Key
    sort_key: Key | None = None
    attribute_definitions: tuple[Key, ...]  # derived from the keys, sorted by name
    global_secondary_indexes: tuple[GlobalSecondaryIndex, ...] = ()  # sorted by name
    local_secondary_indexes: tuple[LocalSecondaryIndex, ...] = ()  # sorted by name
    # the spec only allows PAY_PER_REQUEST; a live table may still be PROVISIONED
    billing_mode: Literal["PAY_PER_REQUEST", "PROVISIONED"] = "PAY_PER_REQUEST"
    on_demand_throughput: OnDemandThroughput | None = None
    point_in_time_recovery: PointInTimeRecovery
    ttl: TimeToLive
    stream: Stream
    encryption: Encryption
    deletion_protection: bool
    table_class: TableClass
    replicas: tuple[str, ...] = ()  # sorted region names
    # PITR in a replica's region where it differs from the table's (keys: regions in
    # ``replicas``); a region not listed gets ``point_in_time_recovery``
    replica_point_in_time_recovery: dict[str, PointInTimeRecovery] = Field(default_factory=dict)
    warm_throughput: WarmThroughput | None = None  # None: not managed (spec) / not read
    # MultiRegionConsistency of the global table (eventual also for a single-Region table)
    consistency: Consistency = "eventual"
    witness_region: str | None = None  # the MRSC witness (GlobalTableWitnesses)
    tags: dict[str, str]
    # The tags the resources around the table start from (each adds its Name and Component);
    # None: the table's own. Set by the spec when some tags are the table's alone
    # (``table_tags``); None on tables read from AWS.
    resource_tags: dict[str, str] | None = None
    # Intent for the resources around the table (AWS Backup, CloudWatch). Set by the spec;
    # None on tables read from AWS, whose backup and alarms are read as resources of their own.
    backup: Backup | None = None
    alarms: Alarms | None = None
    # resource-based policies of the table and of its stream (tablesmith.around.
    # resource_policy); None: not managed (spec) / read as a resource of their own (live)
    resource_policy: ResourcePolicy | None = None
    stream_resource_policy: ResourcePolicy | None = None
    # sorted by stream ARN; None: not managed (spec), and on tables read from AWS (the family
    # tablesmith.around.kinesis reads them)
    kinesis_streaming_destinations: tuple[KinesisStreamingDestination, ...] | None = None
    # Contributor Insights of the table and of its GSIs (by index name), in its region and
    # each replica's (tablesmith.around.contributor_insights). None / a GSI left out: not
    # managed. Kept off GlobalSecondaryIndex, whose equality is the index DynamoDB cannot
    # change in place; None and empty on tables read from AWS, like backup and alarms.
    contributor_insights: ContributorInsights | None = None
    index_contributor_insights: dict[str, ContributorInsights] = Field(default_factory=dict)

    def pitr_in(self, region: str) -> PointInTimeRecovery:
        """The PITR the table's copy in ``region`` should hold: a replica's own, else the
        table's."""
        return self.replica_point_in_time_recovery.get(region, self.point_in_time_recovery)

    def gsi(self, name: str) -> GlobalSecondaryIndex | None:
        """The GSI called ``name``, if any."""
        return next((g for g in self.global_secondary_indexes if g.name == name), None)

