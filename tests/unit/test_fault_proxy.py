"""The fault proxy's errors are AWS's, as botocore reads them: each protocol's throttling and
internal-error bodies parse to the code AWS sends, and botocore's standard retry mode retries
them (no target is needed: these faults never reach it)."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from fault_proxy import FaultProxy, is_mutating

NOWHERE = "http://127.0.0.1:9"  # never reached: these faults are answered by the proxy

# one service per protocol: JSON, REST-JSON, query (XML), rpc-v2-cbor
CALLS: list[tuple[str, str, dict[str, Any], tuple[str, ...], tuple[str, ...]]] = [
    # service, method, kwargs, throttling codes, internal-error codes
    (
        "dynamodb",
        "list_tables",
        {},
        ("ThrottlingException", "ProvisionedThroughputExceededException"),
        ("InternalFailure",),
    ),
    ("backup", "list_backup_vaults", {}, ("ThrottlingException",), ("InternalFailure",)),
    ("iam", "list_roles", {}, ("Throttling",), ("ServiceUnavailable",)),
    ("cloudwatch", "describe_alarms", {}, ("ThrottlingException",), ("InternalFailure",)),
]


@pytest.mark.parametrize(
    ("service", "method", "kwargs", "throttle", "internal"), CALLS, ids=[c[0] for c in CALLS]
)
@pytest.mark.parametrize("kind", ["throttle", "error500"])
def test_faults_parse_as_aws_errors_and_are_retried(
    kind: str,
    service: str,
    method: str,
    kwargs: dict[str, Any],
    throttle: tuple[str, ...],
    internal: tuple[str, ...],
) -> None:
    with FaultProxy(NOWHERE, rate=1.0, seed=3, kinds=(kind,)) as proxy:
        client: Any = boto3.client(  # type: ignore[call-overload]  # a service by name
            service,
            endpoint_url=proxy.url,
            region_name="af-south-1",
            config=Config(retries={"mode": "standard", "total_max_attempts": 2}),
        )
        with pytest.raises(ClientError) as error:
            getattr(client, method)(**kwargs)
    response = error.value.response
    assert response["Error"]["Code"] in (throttle if kind == "throttle" else internal)
    # botocore took it for a transient error: it retried
    assert response["ResponseMetadata"]["RetryAttempts"] == 1
    assert proxy.injected == {kind: 2}
    assert proxy.requests == 2


def test_decisions_are_seeded_and_counted() -> None:
    def run(seed: int) -> list[str | None]:
        proxy = FaultProxy(NOWHERE, rate=0.5, seed=seed)
        try:
            return [proxy.decide("POST", "/", f"DynamoDB.Op{n}", b"{}")[0] for n in range(40)]
        finally:
            proxy.__exit__()

    first = run(7)
    assert first == run(7)  # the same seed, the same faults
    assert first != run(8)
    assert 5 < sum(kind is not None for kind in first) < 35


def test_lose_first_loses_only_the_first_answer_of_a_mutating_call() -> None:
    proxy = FaultProxy(NOWHERE, seed=1, lose_first=is_mutating)
    try:
        assert proxy.decide("POST", "/", "DynamoDB.CreateTable", b"{}")[0] in (
            "lost_drop",
            "lost_500",
        )
        assert proxy.decide("POST", "/", "DynamoDB.CreateTable", b"{}")[0] is None  # the retry
        assert proxy.decide("POST", "/", "DynamoDB.DescribeTable", b"{}")[0] is None
        assert proxy.decide("GET", "/backup-vaults/", "GET /backup-vaults/", b"")[0] is None
        assert proxy.decide("PUT", "/backup/plans/", "PUT /backup/plans/", b"{}")[0] is not None
    finally:
        proxy.__exit__()
    assert proxy.total_injected == 2


def test_the_proxy_forwards_to_loopback_only() -> None:
    with pytest.raises(ValueError, match=r"127\.0\.0\.1"):
        FaultProxy("http://example.com:80")
