"""Operations moto does not implement answer with AWS's unknown-operation error (issue 12).

Before: ``describe-global-table-settings`` gave an HTML 500 page and
``get-backup-vault-access-policy`` an HTML 404 page. Each SDK now raises its usual error
with code ``UnknownOperationException`` (``InvalidAction`` for the query protocol, as AWS's
query services call it), and what moto implements answers as before.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.exceptions import ClientError

from tablesmith.local.server import LocalTarget

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

REGION = "af-south-1"


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """(endpoint, access key) of a local target in this process."""
    local = LocalTarget(tmp_path_factory.mktemp("unknown-ops") / "state")
    with local as endpoint:
        try:
            yield endpoint, local.access_key
        finally:
            local.clear()  # moto's state is process-global: leave nothing to later tests


@pytest.fixture
def client(target: tuple[str, str]) -> Callable[[str], Any]:
    endpoint, key = target

    def make(service: str) -> Any:
        return boto3.client(  # type: ignore[call-overload]
            service,
            endpoint_url=endpoint,
            region_name=REGION,
            aws_access_key_id=key,
            aws_secret_access_key=key,
        )

    return make


def error_of(call: Callable[[], Any]) -> tuple[int, str, str]:
    """(HTTP status, error code, message) of a call that fails."""
    with pytest.raises(ClientError) as caught:
        call()
    response = caught.value.response
    return (
        response["ResponseMetadata"]["HTTPStatusCode"],
        response["Error"]["Code"],
        response["Error"].get("Message", ""),
    )


def test_an_unimplemented_dynamodb_operation(client: Callable[[str], Any]) -> None:
    # was: HTML 500 (moto raises NotImplementedError)
    status, code, message = error_of(
        lambda: client("dynamodb").describe_global_table_settings(GlobalTableName="orders")
    )
    assert (status, code) == (400, "UnknownOperationException")
    assert "DescribeGlobalTableSettings" in message and "<" not in message


def test_an_unrouted_backup_operation(client: Callable[[str], Any]) -> None:
    # was: HTML 404 (no route for GET /backup-vaults/<name>/access-policy)
    status, code, message = error_of(
        lambda: client("backup").get_backup_vault_access_policy(BackupVaultName="vault")
    )
    assert (status, code) == (400, "UnknownOperationException")
    assert "/backup-vaults/vault/access-policy" in message


def test_an_unimplemented_cbor_operation(client: Callable[[str], Any]) -> None:
    # CloudWatch speaks Smithy RPC v2 CBOR in current botocore
    status, code, message = error_of(lambda: client("cloudwatch").describe_anomaly_detectors())
    assert (status, code) == (400, "UnknownOperationException")
    assert "DescribeAnomalyDetectors" in message


def test_an_unimplemented_query_operation(client: Callable[[str], Any]) -> None:
    status, code, message = error_of(lambda: client("sns").list_origination_numbers())
    assert (status, code) == (400, "InvalidAction")
    assert "ListOriginationNumbers" in message


def test_the_json_shape_on_the_wire(target: tuple[str, str]) -> None:
    endpoint, key = target
    request = urllib.request.Request(
        endpoint + "/",
        data=b'{"GlobalTableName": "orders"}',
        method="POST",
        headers={
            "Host": endpoint.removeprefix("http://"),
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": "DynamoDB_20120810.DescribeGlobalTableSettings",
            # the gate compares only the key ID (moto verifies no signatures)
            "Authorization": f"AWS4-HMAC-SHA256 Credential={key}/20260101/{REGION}/dynamodb/"
            "aws4_request, SignedHeaders=host, Signature=0",
        },
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=30)
    assert caught.value.code == 400
    assert caught.value.headers["Content-Type"] == "application/x-amz-json-1.0"
    body = json.loads(caught.value.read())
    assert set(body) == {"__type", "message"}
    assert body["__type"].rsplit("#", 1)[-1] == "UnknownOperationException"


def test_implemented_operations_answer_as_before(client: Callable[[str], Any]) -> None:
    assert error_of(lambda: client("dynamodb").describe_table(TableName="nope"))[1] == (
        "ResourceNotFoundException"
    )
    assert (
        error_of(lambda: client("backup").describe_backup_vault(BackupVaultName="nope"))[1]
        == "ResourceNotFoundException"
    )
    assert client("cloudwatch").describe_alarms()["MetricAlarms"] == []


def test_unsigned_requests_are_still_refused_first(target: tuple[str, str]) -> None:
    endpoint, _ = target
    unsigned = boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="someone-else",
        aws_secret_access_key="x",
    )
    assert (
        error_of(lambda: unsigned.describe_global_table_settings(GlobalTableName="orders"))[1]
        == "UnrecognizedClientException"
    )
