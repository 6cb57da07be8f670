"""AWS's documented rules where DynamoDB Local is lax, written once, each with its source.

The differential fuzz test (``test_fuzz_validation.py``) asks DynamoDB Local whether it
accepts a CreateTable (+ UpdateTimeToLive) request. DynamoDB Local checks keys, names,
indexes and projections as DynamoDB does, but accepts, measured on DynamoDB Local 3.x:

* any tags (control characters, the ``aws:`` prefix, 51 tags, over-long keys and values);
* any ``StreamViewType`` and any ``TableClass`` string;
* any ``SSESpecification`` (an unknown SSEType, any KMSMasterKeyId);
* more than 20 ``NonKeyAttributes`` in one index (it checks only the sum of 100);

and it has no point-in-time recovery and no CloudWatch, whose limits the definition also
meets when tablesmith applies it (PITR's period, the derived alarms' names and tags). Each
function below returns the problems AWS would report (``[]``: AWS accepts), citing the page
the rule is from. Nothing here imports tablesmith: the rules are AWS's, not tablesmith's.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

# --- Tags: DynamoDB API reference, "Tag" data type, and "Tagging for DynamoDB" (restrictions)
# https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_Tag.html
# https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Tagging.html
TAG_KEY_LENGTH = (1, 128)  # Unicode characters
TAG_VALUE_LENGTH = (0, 256)
MAX_TAGS_PER_RESOURCE = 50
TAG_PATTERN = r"[\p{L}\p{Z}\p{N}_.:/=+\-@]*"  # as documented; checked by _in_tag_pattern
RESERVED_TAG_PREFIX = "aws:"  # "the aws: prefix is reserved for AWS use"

# --- Enums: DynamoDB API reference, "StreamSpecification" and "CreateTable" (TableClass)
# https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_StreamSpecification.html
STREAM_VIEW_TYPES = ("NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES", "KEYS_ONLY")
# https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_CreateTable.html
TABLE_CLASSES = ("STANDARD", "STANDARD_INFREQUENT_ACCESS")

# --- SSE: DynamoDB API reference, "SSESpecification"; KMS API reference, "KeyId"
# https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_SSESpecification.html
# https://docs.aws.amazon.com/kms/latest/APIReference/API_DescribeKey.html#KMS-DescribeKey-request-KeyId
SSE_TYPES = ("AES256", "KMS")
_KEY_ID = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32}"
)
_KMS_KEY_FORMS = (  # key id, key ARN, alias name, alias ARN
    _KEY_ID,
    re.compile(r"arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/(" + _KEY_ID.pattern + ")"),
    re.compile(r"alias/[a-zA-Z0-9/_-]{1,250}"),
    re.compile(r"arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:alias/[a-zA-Z0-9/_-]{1,250}"),
)

# --- Projections: DynamoDB API reference, "Projection": NonKeyAttributes 1-20 items
# https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_Projection.html
MAX_NON_KEY_ATTRIBUTES_PER_INDEX = 20

# --- PITR: DynamoDB API reference, "PointInTimeRecoverySpecification": 1-35 days
# https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_PointInTimeRecoverySpecification.html
RECOVERY_PERIOD_DAYS = (1, 35)

# --- CloudWatch: API reference, "PutMetricAlarm": AlarmName 1-255 characters; tags as above
# https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html
MAX_ALARM_NAME = 255


def _in_tag_pattern(text: str) -> bool:
    """``text`` matches TAG_PATTERN (Python's ``re`` has no ``\\p{...}``: by category)."""
    return all(unicodedata.category(c)[0] in "LZN" or c in "_.:/=+-@" for c in text)


def tag_problems(tags: list[dict[str, str]]) -> list[str]:
    """What TagResource (or CreateTable's Tags) would refuse in ``tags``."""
    problems = []
    if len(tags) > MAX_TAGS_PER_RESOURCE:
        problems.append(f"{len(tags)} tags: at most {MAX_TAGS_PER_RESOURCE} per resource")
    for tag in tags:
        key, value = tag["Key"], tag["Value"]
        if not TAG_KEY_LENGTH[0] <= len(key) <= TAG_KEY_LENGTH[1] or not _in_tag_pattern(key):
            problems.append(f"tag key {key!r}: 1-128 characters of {TAG_PATTERN}")
        elif key.lower().startswith(RESERVED_TAG_PREFIX):
            problems.append(f"tag key {key!r}: the aws: prefix is reserved")
        if len(value) > TAG_VALUE_LENGTH[1] or not _in_tag_pattern(value):
            problems.append(f"tag value {value!r}: 0-256 characters of {TAG_PATTERN}")
    return problems


def kms_key_problems(key: str) -> list[str]:
    """A KMSMasterKeyId that is none of KMS's four KeyId forms."""
    if any(form.fullmatch(key) for form in _KMS_KEY_FORMS):
        return []
    return [f"KMSMasterKeyId {key!r} is not a key id, key ARN, alias name or alias ARN"]


def create_table_problems(request: dict[str, Any]) -> list[str]:
    """What AWS refuses in a CreateTable request that DynamoDB Local lets through."""
    problems = tag_problems(request.get("Tags", []))
    stream = request.get("StreamSpecification")
    if (
        stream
        and stream.get("StreamEnabled")
        and stream.get("StreamViewType") not in STREAM_VIEW_TYPES
    ):
        problems.append(
            f"StreamViewType {stream.get('StreamViewType')!r} is not one of "
            f"{', '.join(STREAM_VIEW_TYPES)}"
        )
    table_class = request.get("TableClass", "STANDARD")
    if table_class not in TABLE_CLASSES:
        problems.append(f"TableClass {table_class!r} is not one of {', '.join(TABLE_CLASSES)}")
    sse = request.get("SSESpecification")
    if sse and sse.get("Enabled"):
        if sse.get("SSEType", "KMS") not in SSE_TYPES:
            problems.append(f"SSEType {sse.get('SSEType')!r} is not one of AES256, KMS")
        if "KMSMasterKeyId" in sse:
            problems += kms_key_problems(sse["KMSMasterKeyId"])
    for group in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
        for index in request.get(group, []):
            names = index.get("Projection", {}).get("NonKeyAttributes", [])
            if len(names) > MAX_NON_KEY_ATTRIBUTES_PER_INDEX:
                problems.append(
                    f"index {index['IndexName']!r} projects {len(names)} "
                    f"NonKeyAttributes: at most {MAX_NON_KEY_ATTRIBUTES_PER_INDEX}"
                )
    return problems


def pitr_problems(enabled: bool, days: int) -> list[str]:
    """What UpdateContinuousBackups refuses (the period is sent only when PITR is on)."""
    low, high = RECOVERY_PERIOD_DAYS
    if enabled and not low <= days <= high:
        return [f"RecoveryPeriodInDays {days}: {low}-{high}"]
    return []


def alarm_problems(names: list[str], tags: list[dict[str, str]]) -> list[str]:
    """What PutMetricAlarm refuses in the names (and tags) of the alarms to be made."""
    problems = [
        f"AlarmName of {len(n)} characters: at most {MAX_ALARM_NAME}"
        for n in names
        if not 1 <= len(n) <= MAX_ALARM_NAME
    ]
    if names:
        problems += [f"alarm {p}" for p in tag_problems(tags)]
    return problems
