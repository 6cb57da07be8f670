"""Which series DynamoDB publishes in CloudWatch: metric name -> the dimension sets it has.

An alarm on any other (metric, dimension names) pair watches a series that never receives a
data point: with ``notBreaching`` (or ``missing``) it can never fire. The Terraform module's
three alarms are the example (``UserErrors`` and ``SystemErrors`` / ``ThrottledRequests`` on
``TableName`` alone); ``alarms.py`` explains why each of its own alarms is shaped as it is.
Source: "DynamoDB Metrics and dimensions",
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/metrics-dimensions.html
(and the dimension sets of CDK's generated ``DynamoDBMetrics``, which come from the same
metadata). Only dimension *names* are checked here, not their values.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tablesmith.around.alarms import NAMESPACE

if TYPE_CHECKING:
    from collections.abc import Mapping

    from tablesmith.resources import MetricAlarm

Dims = frozenset[str]
_ACCOUNT: Dims = frozenset()  # account-and-region totals: no dimension at all
_TABLE: Dims = frozenset({"TableName"})
_GSI: Dims = frozenset({"TableName", "GlobalSecondaryIndexName"})
_OPERATION: Dims = frozenset({"TableName", "Operation"})
_STREAM: Dims = frozenset({"TableName", "Operation", "StreamLabel"})  # Streams GetRecords
_REPLICA: Dims = frozenset({"TableName", "ReceivingRegion"})
_DELEGATED: Dims = frozenset({"TableName", "DelegatedOperation"})  # Kinesis streaming

PUBLISHED: Mapping[str, frozenset[Dims]] = {
    **{
        name: frozenset({_ACCOUNT})
        for name in (
            "AccountMaxReads",
            "AccountMaxWrites",
            "AccountMaxTableLevelReads",
            "AccountMaxTableLevelWrites",
            "AccountProvisionedReadCapacityUtilization",
            "AccountProvisionedWriteCapacityUtilization",
            "MaxProvisionedTableReadCapacityUtilization",
            "MaxProvisionedTableWriteCapacityUtilization",
            "UserErrors",  # every request of the account in the region: no TableName
        )
    },
    **{
        name: frozenset({_TABLE})
        for name in (
            "ConditionalCheckFailedRequests",
            "TimeToLiveDeletedItemCount",
            "TransactionConflict",
        )
    },
    **{
        name: frozenset({_TABLE, _GSI})
        for name in (
            "ConsumedReadCapacityUnits",
            "ConsumedWriteCapacityUnits",
            "ProvisionedReadCapacityUnits",
            "ProvisionedWriteCapacityUnits",
            "OnDemandMaxReadRequestUnits",
            "OnDemandMaxWriteRequestUnits",
            # the table's series excludes its indexes, each index has its own
            "ReadThrottleEvents",
            "WriteThrottleEvents",
            "ReadProvisionedThroughputThrottleEvents",
            "WriteProvisionedThroughputThrottleEvents",
            "ReadMaxOnDemandThroughputThrottleEvents",
            "WriteMaxOnDemandThroughputThrottleEvents",
            "ReadKeyRangeThroughputThrottleEvents",
            "WriteKeyRangeThroughputThrottleEvents",
            "ReadAccountLimitThrottleEvents",
            "WriteAccountLimitThrottleEvents",
        )
    },
    **{
        name: frozenset({_GSI})
        for name in (
            "OnlineIndexConsumedWriteCapacity",
            "OnlineIndexPercentageProgress",
            "OnlineIndexThrottleEvents",
        )
    },
    # per TableName *and* Operation: an alarm on TableName alone never sees a data point
    "SystemErrors": frozenset({_OPERATION}),
    "ThrottledRequests": frozenset({_OPERATION}),
    "SuccessfulRequestLatency": frozenset({_OPERATION, _STREAM}),
    "ReturnedItemCount": frozenset({_OPERATION}),
    "ReturnedBytes": frozenset({_STREAM}),
    "ReturnedRecordsCount": frozenset({_STREAM}),
    "ReplicationLatency": frozenset({_REPLICA}),
    "PendingReplicationCount": frozenset({_REPLICA}),  # global tables version 2017.11.29
    **{
        name: frozenset({_DELEGATED})
        for name in (
            "AgeOfOldestUnreplicatedRecord",
            "ConsumedChangeDataCaptureUnits",
            "FailedToReplicateRecordCount",
            "ThrottledPutRecordCount",
        )
    },
}

ERROR_METRICS = frozenset({"SystemErrors"})
THROTTLE_METRICS = frozenset({"ThrottledRequests", "ReadThrottleEvents", "WriteThrottleEvents"})


def is_published(metric: str | None, dimensions: Mapping[str, str]) -> bool:
    """Does DynamoDB publish ``metric`` with exactly these dimension names?"""
    return metric is not None and frozenset(dimensions) in PUBLISHED.get(metric, frozenset())


def watched_series(alarm: MetricAlarm) -> list[tuple[str | None, str | None, dict[str, str]]]:
    """(namespace, metric, dimensions) of each metric an alarm reads (metric math: each term)."""
    if alarm.metrics:
        return [
            (q.namespace, q.metric_name, dict(q.dimensions))
            for q in alarm.metrics
            if q.expression is None
        ]
    return [(alarm.namespace, alarm.metric_name, dict(alarm.dimensions))]


def unpublished_series(alarm: MetricAlarm) -> list[tuple[str, dict[str, str]]]:
    """The AWS/DynamoDB series of ``alarm`` that DynamoDB never publishes ([] if none)."""
    return [
        (metric or "", dims)
        for namespace, metric, dims in watched_series(alarm)
        if namespace == NAMESPACE and not is_published(metric, dims)
    ]


def can_fire_on(alarm: MetricAlarm, metrics: frozenset[str], table: str) -> bool:
    """Does ``alarm`` read a published series of one of ``metrics`` for ``table``?

    A metric-math alarm counts when one of its terms does (its expression combines them).
    """
    return any(
        namespace == NAMESPACE
        and metric in metrics
        and dims.get("TableName") == table
        and is_published(metric, dims)
        for namespace, metric, dims in watched_series(alarm)
    )
