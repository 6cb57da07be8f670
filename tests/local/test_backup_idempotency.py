"""The local target honours AWS Backup's CreatorRequestId as AWS does: a create retried with
the same token answers with what the first attempt made, never a second resource
(``tablesmith.local.backup``); and tablesmith's tokens are the same for the same request."""

from __future__ import annotations

import urllib.request
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.exceptions import ClientError

from tablesmith.around.backup import request_token, selection_request_id
from tablesmith.local.backup import install

if TYPE_CHECKING:
    from collections.abc import Iterator

REGION = "af-south-1"
ROLE_ARN = "arn:aws:iam::123456789012:role/orders-backup-role"
TABLE_ARN = f"arn:aws:dynamodb:{REGION}:123456789012:table/orders"
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@pytest.fixture(scope="module")
def endpoint(fake_aws_env: None) -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    install()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        assert server._server is not None
        yield f"http://127.0.0.1:{server._server.server_port}"
    finally:
        server.stop()


@pytest.fixture
def backup(endpoint: str) -> Any:
    request = urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")
    with _NO_PROXY.open(request, timeout=10) as response:
        assert response.status == 200
    return boto3.client("backup", endpoint_url=endpoint, region_name=REGION)


def _document(days: int = 7) -> dict[str, Any]:
    return {
        "BackupPlanName": "orders-backup-plan",
        "Rules": [
            {
                "RuleName": "orders-backup-rule",
                "TargetBackupVaultName": "orders-backup-vault",
                "ScheduleExpression": "cron(0 2 * * ? *)",
                "Lifecycle": {"DeleteAfterDays": days},
            }
        ],
    }


def test_a_vault_create_retried_with_its_token_answers_the_same_vault(backup: Any) -> None:
    first = backup.create_backup_vault(
        BackupVaultName="orders-backup-vault", CreatorRequestId="t-1"
    )
    again = backup.create_backup_vault(
        BackupVaultName="orders-backup-vault", CreatorRequestId="t-1"
    )
    assert again["BackupVaultArn"] == first["BackupVaultArn"]
    with pytest.raises(ClientError) as error:  # another request: the name is taken
        backup.create_backup_vault(BackupVaultName="orders-backup-vault", CreatorRequestId="t-2")
    assert error.value.response["Error"]["Code"] == "AlreadyExistsException"
    assert len(backup.list_backup_vaults()["BackupVaultList"]) == 1


def test_a_plan_create_retried_with_its_token_answers_the_same_plan(backup: Any) -> None:
    first = backup.create_backup_plan(BackupPlan=_document(), CreatorRequestId="p-1")
    again = backup.create_backup_plan(BackupPlan=_document(), CreatorRequestId="p-1")
    assert again["BackupPlanId"] == first["BackupPlanId"]
    assert len(backup.list_backup_plans()["BackupPlansList"]) == 1
    with pytest.raises(ClientError) as error:  # without the token: a second plan is refused
        backup.create_backup_plan(BackupPlan=_document())
    assert error.value.response["Error"]["Code"] == "AlreadyExistsException"


def test_a_deleted_plan_does_not_answer_for_its_token(backup: Any) -> None:
    first = backup.create_backup_plan(BackupPlan=_document(), CreatorRequestId="p-1")
    backup.delete_backup_plan(BackupPlanId=first["BackupPlanId"])
    made = backup.create_backup_plan(BackupPlan=_document(), CreatorRequestId="p-1")
    assert made["BackupPlanId"] != first["BackupPlanId"]
    assert [p["BackupPlanId"] for p in backup.list_backup_plans()["BackupPlansList"]] == [
        made["BackupPlanId"]
    ]


def test_tokens_are_the_request_digest() -> None:
    request = {"BackupPlan": _document(), "BackupPlanTags": {"Owner": "qa"}}
    token = request_token("plan", request)
    assert token == request_token(
        "plan", {"BackupPlanTags": {"Owner": "qa"}, "BackupPlan": _document()}
    )  # key order aside
    assert token != request_token("plan", {**request, "BackupPlan": _document(days=8)})
    assert token != request_token("plan", request, "1700000000.0")  # salted: stale token
    assert token != request_token("vault", request)
    assert len(token) <= 50 and token.replace("-", "").isalnum()  # AWS: 1-50 of [\w.-]
    selection = selection_request_id(TABLE_ARN, "the request")
    assert selection == selection_request_id(TABLE_ARN, "the request")
    assert selection != selection_request_id(TABLE_ARN, "another request")
    assert len(selection) <= 50
