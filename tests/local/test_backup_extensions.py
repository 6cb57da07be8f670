"""tablesmith.local.backup: the AWS Backup operations it adds to moto, over real HTTP.

A moto server runs in this process (``ThreadedMotoServer`` on 127.0.0.1, a kernel-chosen port),
started after ``install()`` because the server reads moto's URL map when it builds the backup
app. Every test starts from an empty moto (POST /moto-api/reset).
"""

from __future__ import annotations

import json
import urllib.request
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from tablesmith.around.backup import request_token, selection_request_id
from tablesmith.local.backup import install

if TYPE_CHECKING:
    from collections.abc import Iterator

    from mypy_boto3_backup import BackupClient
    from mypy_boto3_backup.type_defs import BackupPlanInputTypeDef, BackupSelectionTypeDef

REGION = "af-south-1"
ACCOUNT = "123456789012"  # moto's default account
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/tablesmith-backup"
TABLE_ARN = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/orders"
DR_VAULT_ARN = f"arn:aws:backup:eu-west-1:{ACCOUNT}:backup-vault:orders-dr"

# Loopback never goes through a proxy named in the environment.
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@pytest.fixture(scope="module")
def endpoint(fake_aws_env: None) -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    install()
    install()  # idempotent
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        assert server._server is not None
        yield f"http://127.0.0.1:{server._server.server_port}"
    finally:
        server.stop()


@pytest.fixture
def backup(endpoint: str) -> BackupClient:
    request = urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")
    with _NO_PROXY.open(request, timeout=10) as response:
        assert response.status == 200
    return boto3.client("backup", endpoint_url=endpoint, region_name=REGION)


@pytest.fixture
def unvalidated(backup: BackupClient, endpoint: str) -> BackupClient:
    """A client without botocore's parameter validation, to send what AWS would reject."""
    return boto3.client(
        "backup",
        endpoint_url=endpoint,
        region_name=REGION,
        config=Config(parameter_validation=False),
    )


def _plan_document(
    name: str = "orders", vault: str = "orders", days: int = 35
) -> BackupPlanInputTypeDef:
    return {
        "BackupPlanName": name,
        "Rules": [
            {
                "RuleName": "daily",
                "TargetBackupVaultName": vault,
                "ScheduleExpression": "cron(0 3 * * ? *)",
                "StartWindowMinutes": 60,
                "CompletionWindowMinutes": 180,
                "Lifecycle": {"DeleteAfterDays": days},
                "CopyActions": [
                    {
                        "DestinationBackupVaultArn": DR_VAULT_ARN,
                        "Lifecycle": {"DeleteAfterDays": days * 2},
                    }
                ],
            }
        ],
    }


def _selection(name: str = "orders-table") -> BackupSelectionTypeDef:
    return {"SelectionName": name, "IamRoleArn": ROLE_ARN, "Resources": [TABLE_ARN]}


def _plan(backup: BackupClient, name: str = "orders") -> str:
    backup.create_backup_vault(BackupVaultName="orders")
    return backup.create_backup_plan(BackupPlan=_plan_document(name))["BackupPlanId"]


def _code(error: pytest.ExceptionInfo[ClientError]) -> str:
    return str(error.value.response["Error"]["Code"])


def _signed_get(endpoint: str, path: str) -> tuple[int, dict[str, Any]]:
    """GET ``path`` as a SigV4 client sends it (moto's server picks the service from the
    credential scope; an unsigned GET /tags/... would be routed to S3)."""
    request = AWSRequest(method="GET", url=f"{endpoint}{path}")
    SigV4Auth(Credentials("testing", "testing"), "backup", REGION).add_auth(request)
    prepared = request.prepare()
    assert prepared.url is not None
    raw = urllib.request.Request(prepared.url, headers=dict(prepared.headers.items()))
    try:
        with _NO_PROXY.open(raw, timeout=10) as response:
            return int(response.status), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return int(error.code), json.loads(error.read())


# --------------------------------------------------------------------------------------------
# Selections


def test_create_get_list_delete_selection(backup: BackupClient) -> None:
    plan_id = _plan(backup)
    created = backup.create_backup_selection(
        BackupPlanId=plan_id, BackupSelection=_selection(), CreatorRequestId="req-1"
    )
    assert set(created) - {"ResponseMetadata"} == {"SelectionId", "BackupPlanId", "CreationDate"}
    assert created["BackupPlanId"] == plan_id
    selection_id = created["SelectionId"]

    got = backup.get_backup_selection(BackupPlanId=plan_id, SelectionId=selection_id)
    assert got["SelectionId"] == selection_id
    assert got["BackupPlanId"] == plan_id
    assert got["CreatorRequestId"] == "req-1"
    assert got["CreationDate"] == created["CreationDate"]
    assert got["BackupSelection"] == {
        "SelectionName": "orders-table",
        "IamRoleArn": ROLE_ARN,
        "Resources": [TABLE_ARN],
        "ListOfTags": [],
        "NotResources": [],
        "Conditions": {
            "StringEquals": [],
            "StringNotEquals": [],
            "StringLike": [],
            "StringNotLike": [],
        },
    }

    listed = backup.list_backup_selections(BackupPlanId=plan_id)
    assert "NextToken" not in listed
    assert listed["BackupSelectionsList"] == [
        {
            "SelectionId": selection_id,
            "SelectionName": "orders-table",
            "BackupPlanId": plan_id,
            "CreationDate": created["CreationDate"],
            "CreatorRequestId": "req-1",
            "IamRoleArn": ROLE_ARN,
        }
    ]

    backup.delete_backup_selection(BackupPlanId=plan_id, SelectionId=selection_id)
    assert backup.list_backup_selections(BackupPlanId=plan_id)["BackupSelectionsList"] == []
    with pytest.raises(ClientError) as error:
        backup.get_backup_selection(BackupPlanId=plan_id, SelectionId=selection_id)
    assert _code(error) == "ResourceNotFoundException"


def test_selection_keeps_tags_conditions_and_not_resources(backup: BackupClient) -> None:
    plan_id = _plan(backup)
    document: BackupSelectionTypeDef = {
        "SelectionName": "by-tag",
        "IamRoleArn": ROLE_ARN,
        "Resources": ["arn:aws:dynamodb:*:*:table/*"],
        "NotResources": [TABLE_ARN],
        "ListOfTags": [
            {"ConditionType": "STRINGEQUALS", "ConditionKey": "backup", "ConditionValue": "yes"}
        ],
        "Conditions": {
            "StringLike": [{"ConditionKey": "aws:ResourceTag/env", "ConditionValue": "prod*"}]
        },
    }
    selection_id = backup.create_backup_selection(BackupPlanId=plan_id, BackupSelection=document)[
        "SelectionId"
    ]
    got = backup.get_backup_selection(BackupPlanId=plan_id, SelectionId=selection_id)
    selection = got["BackupSelection"]
    assert selection["Resources"] == ["arn:aws:dynamodb:*:*:table/*"]
    assert selection["NotResources"] == [TABLE_ARN]
    assert selection["ListOfTags"] == document["ListOfTags"]
    assert selection["Conditions"] == {
        "StringEquals": [],
        "StringNotEquals": [],
        "StringLike": [{"ConditionKey": "aws:ResourceTag/env", "ConditionValue": "prod*"}],
        "StringNotLike": [],
    }
    assert got["CreatorRequestId"]  # botocore fills the idempotency token


def test_create_selection_errors(backup: BackupClient, unvalidated: BackupClient) -> None:
    plan_id = _plan(backup)
    with pytest.raises(ClientError) as error:
        backup.create_backup_selection(BackupPlanId="no-such-plan", BackupSelection=_selection())
    assert _code(error) == "ResourceNotFoundException"

    for missing in ("SelectionName", "IamRoleArn"):
        document = {k: v for k, v in _selection().items() if k != missing}
        with pytest.raises(ClientError) as error:
            unvalidated.create_backup_selection(BackupPlanId=plan_id, BackupSelection=document)  # type: ignore[arg-type]
        assert _code(error) == "MissingParameterValueException", missing
        assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400

    with pytest.raises(ClientError) as error:
        backup.create_backup_selection(
            BackupPlanId=plan_id,
            BackupSelection={"SelectionName": "nothing", "IamRoleArn": ROLE_ARN},
        )
    assert _code(error) == "InvalidParameterValueException"

    backup.create_backup_selection(BackupPlanId=plan_id, BackupSelection=_selection())
    with pytest.raises(ClientError) as error:
        backup.create_backup_selection(BackupPlanId=plan_id, BackupSelection=_selection())
    assert _code(error) == "AlreadyExistsException"
    # Nothing of the refused requests was stored.
    assert len(backup.list_backup_selections(BackupPlanId=plan_id)["BackupSelectionsList"]) == 1


def test_create_selection_is_idempotent_for_the_same_creator_request_id(
    backup: BackupClient,
) -> None:
    plan_id = _plan(backup)
    first = backup.create_backup_selection(
        BackupPlanId=plan_id, BackupSelection=_selection(), CreatorRequestId="retry-me"
    )
    again = backup.create_backup_selection(
        BackupPlanId=plan_id, BackupSelection=_selection(), CreatorRequestId="retry-me"
    )
    assert again["SelectionId"] == first["SelectionId"]
    assert len(backup.list_backup_selections(BackupPlanId=plan_id)["BackupSelectionsList"]) == 1


def test_same_selection_name_in_two_plans(backup: BackupClient) -> None:
    first = _plan(backup, "first")
    second = backup.create_backup_plan(BackupPlan=_plan_document("second"))["BackupPlanId"]
    backup.create_backup_selection(BackupPlanId=first, BackupSelection=_selection())
    backup.create_backup_selection(BackupPlanId=second, BackupSelection=_selection())
    for plan_id in (first, second):
        listed = backup.list_backup_selections(BackupPlanId=plan_id)["BackupSelectionsList"]
        assert [entry["BackupPlanId"] for entry in listed] == [plan_id]


def test_get_list_delete_selection_errors(backup: BackupClient) -> None:
    plan_id = _plan(backup)
    selection_id = backup.create_backup_selection(
        BackupPlanId=plan_id, BackupSelection=_selection()
    )["SelectionId"]
    with pytest.raises(ClientError) as error:
        backup.get_backup_selection(BackupPlanId=plan_id, SelectionId="no-such-selection")
    assert _code(error) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as error:
        backup.get_backup_selection(BackupPlanId="no-such-plan", SelectionId=selection_id)
    assert _code(error) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as error:
        backup.list_backup_selections(BackupPlanId="no-such-plan")
    assert _code(error) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as error:
        backup.delete_backup_selection(BackupPlanId=plan_id, SelectionId="no-such-selection")
    assert _code(error) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as error:
        backup.delete_backup_selection(BackupPlanId="no-such-plan", SelectionId=selection_id)
    assert _code(error) == "ResourceNotFoundException"


def test_list_selections_pages(backup: BackupClient) -> None:
    plan_id = _plan(backup)
    ids = [
        backup.create_backup_selection(
            BackupPlanId=plan_id, BackupSelection=_selection(f"selection-{n}")
        )["SelectionId"]
        for n in range(3)
    ]
    first = backup.list_backup_selections(BackupPlanId=plan_id, MaxResults=2)
    assert [s["SelectionId"] for s in first["BackupSelectionsList"]] == ids[:2]
    assert first["NextToken"]
    second = backup.list_backup_selections(
        BackupPlanId=plan_id, MaxResults=2, NextToken=first["NextToken"]
    )
    assert [s["SelectionId"] for s in second["BackupSelectionsList"]] == ids[2:]
    assert "NextToken" not in second

    paginator = backup.get_paginator("list_backup_selections")
    pages = paginator.paginate(BackupPlanId=plan_id, PaginationConfig={"PageSize": 1})
    assert [s["SelectionId"] for page in pages for s in page["BackupSelectionsList"]] == ids

    with pytest.raises(ClientError) as error:
        backup.list_backup_selections(BackupPlanId=plan_id, NextToken="bogus")
    assert _code(error) == "InvalidParameterValueException"


def test_plan_with_selections_cannot_be_deleted(backup: BackupClient) -> None:
    plan_id = _plan(backup)
    selection_id = backup.create_backup_selection(
        BackupPlanId=plan_id, BackupSelection=_selection()
    )["SelectionId"]
    with pytest.raises(ClientError) as error:
        backup.delete_backup_plan(BackupPlanId=plan_id)
    assert _code(error) == "InvalidRequestException"
    assert "selections must be deleted" in error.value.response["Error"]["Message"]
    assert "DeletionDate" not in backup.get_backup_plan(BackupPlanId=plan_id)

    backup.delete_backup_selection(BackupPlanId=plan_id, SelectionId=selection_id)
    deleted = backup.delete_backup_plan(BackupPlanId=plan_id)
    assert deleted["BackupPlanId"] == plan_id
    assert deleted["DeletionDate"]
    assert backup.list_backup_plans()["BackupPlansList"] == []
    # A deleted plan takes no selections, and its name is free again.
    with pytest.raises(ClientError) as error:
        backup.create_backup_selection(BackupPlanId=plan_id, BackupSelection=_selection())
    assert _code(error) == "ResourceNotFoundException"
    again = backup.create_backup_plan(BackupPlan=_plan_document())
    assert again["BackupPlanId"] != plan_id


# --------------------------------------------------------------------------------------------
# Plans


def test_get_backup_plan_returns_rules_as_sent(backup: BackupClient) -> None:
    plan_id = _plan(backup)
    rule = backup.get_backup_plan(BackupPlanId=plan_id)["BackupPlan"]["Rules"][0]
    assert rule["ScheduleExpression"] == "cron(0 3 * * ? *)"
    assert rule["StartWindowMinutes"] == 60
    assert rule["CompletionWindowMinutes"] == 180
    assert rule["Lifecycle"] == {"DeleteAfterDays": 35}
    assert rule["CopyActions"] == [
        {"DestinationBackupVaultArn": DR_VAULT_ARN, "Lifecycle": {"DeleteAfterDays": 70}}
    ]
    assert rule["RuleId"]


def test_update_backup_plan(backup: BackupClient) -> None:
    backup.create_backup_vault(BackupVaultName="orders")
    created = backup.create_backup_plan(BackupPlan=_plan_document(), BackupPlanTags={"team": "a"})
    plan_id = created["BackupPlanId"]
    old_rule_id = backup.get_backup_plan(BackupPlanId=plan_id)["BackupPlan"]["Rules"][0]["RuleId"]

    new_document = _plan_document(days=90)
    new_document["Rules"][0]["ScheduleExpression"] = "cron(30 1 * * ? *)"
    new_document["AdvancedBackupSettings"] = [
        {"ResourceType": "EC2", "BackupOptions": {"WindowsVSS": "enabled"}}
    ]
    updated = backup.update_backup_plan(BackupPlanId=plan_id, BackupPlan=new_document)
    assert updated["BackupPlanId"] == plan_id
    assert updated["BackupPlanArn"] == created["BackupPlanArn"]
    assert updated["CreationDate"] == created["CreationDate"]
    assert updated["VersionId"] != created["VersionId"]
    assert updated["AdvancedBackupSettings"] == new_document["AdvancedBackupSettings"]

    got = backup.get_backup_plan(BackupPlanId=plan_id)
    assert got["VersionId"] == updated["VersionId"]
    assert got["BackupPlanArn"] == created["BackupPlanArn"]
    assert got["AdvancedBackupSettings"] == new_document["AdvancedBackupSettings"]
    (rule,) = got["BackupPlan"]["Rules"]
    assert rule["ScheduleExpression"] == "cron(30 1 * * ? *)"
    assert rule["Lifecycle"] == {"DeleteAfterDays": 90}
    assert rule["CopyActions"][0]["Lifecycle"] == {"DeleteAfterDays": 180}
    assert rule["RuleId"] and rule["RuleId"] != old_rule_id
    # The current version can be asked for by id; the plan keeps its tags.
    by_version = backup.get_backup_plan(BackupPlanId=plan_id, VersionId=updated["VersionId"])
    assert by_version["BackupPlan"]["Rules"][0]["Lifecycle"] == {"DeleteAfterDays": 90}
    assert backup.list_tags(ResourceArn=created["BackupPlanArn"])["Tags"] == {"team": "a"}

    # Without AdvancedBackupSettings the update drops them.
    backup.update_backup_plan(BackupPlanId=plan_id, BackupPlan=_plan_document())
    assert "AdvancedBackupSettings" not in backup.get_backup_plan(BackupPlanId=plan_id)


def test_update_backup_plan_errors(backup: BackupClient, unvalidated: BackupClient) -> None:
    with pytest.raises(ClientError) as error:
        backup.update_backup_plan(BackupPlanId="no-such-plan", BackupPlan=_plan_document())
    assert _code(error) == "ResourceNotFoundException"

    plan_id = _plan(backup)
    with pytest.raises(ClientError) as error:
        unvalidated.update_backup_plan(BackupPlanId=plan_id, BackupPlan={"BackupPlanName": "x"})  # type: ignore[typeddict-item]
    assert _code(error) == "MissingParameterValueException"

    backup.delete_backup_plan(BackupPlanId=plan_id)
    with pytest.raises(ClientError) as error:
        backup.update_backup_plan(BackupPlanId=plan_id, BackupPlan=_plan_document())
    assert _code(error) == "ResourceNotFoundException"


# --------------------------------------------------------------------------------------------
# Tags


def test_list_tags_of_vault_and_plan_with_and_without_trailing_slash(
    backup: BackupClient, endpoint: str
) -> None:
    vault_arn = backup.create_backup_vault(
        BackupVaultName="orders", BackupVaultTags={"team": "data", "env": "prod"}
    )["BackupVaultArn"]
    plan_arn = backup.create_backup_plan(
        BackupPlan=_plan_document(), BackupPlanTags={"owner": "ops"}
    )["BackupPlanArn"]

    assert backup.list_tags(ResourceArn=vault_arn)["Tags"] == {"team": "data", "env": "prod"}
    assert backup.list_tags(ResourceArn=plan_arn)["Tags"] == {"owner": "ops"}

    backup.tag_resource(ResourceArn=vault_arn, Tags={"cost": "42"})
    backup.untag_resource(ResourceArn=vault_arn, TagKeyList=["env"])
    backup.tag_resource(ResourceArn=plan_arn, Tags={"owner": "dba"})
    vault_tags = {"team": "data", "cost": "42"}
    plan_tags = {"owner": "dba"}

    for arn, tags in ((vault_arn, vault_tags), (plan_arn, plan_tags)):
        assert backup.list_tags(ResourceArn=arn)["Tags"] == tags
        for encoded in (quote(arn, safe=""), arn):
            for path in (f"/tags/{encoded}/", f"/tags/{encoded}"):
                assert _signed_get(endpoint, path) == (200, {"Tags": tags}), path


def test_list_tags_of_missing_vault_or_plan(backup: BackupClient, endpoint: str) -> None:
    for arn in (
        f"arn:aws:backup:{REGION}:{ACCOUNT}:backup-vault:nope",
        f"arn:aws:backup:{REGION}:{ACCOUNT}:backup-plan:nope",
    ):
        with pytest.raises(ClientError) as error:
            backup.list_tags(ResourceArn=arn)
        assert _code(error) == "ResourceNotFoundException"
        status, body = _signed_get(endpoint, f"/tags/{arn}")
        assert (status, body["__type"]) == (400, "ResourceNotFoundException")


def test_recreated_vault_has_only_its_own_tags(backup: BackupClient) -> None:
    arn = backup.create_backup_vault(BackupVaultName="orders", BackupVaultTags={"old": "1"})[
        "BackupVaultArn"
    ]
    backup.delete_backup_vault(BackupVaultName="orders")
    assert backup.create_backup_vault(BackupVaultName="orders")["BackupVaultArn"] == arn
    assert backup.list_tags(ResourceArn=arn)["Tags"] == {}


# --------------------------------------------------------------------------------------------
# Region settings, vaults, recovery points


def test_region_settings(backup: BackupClient, unvalidated: BackupClient) -> None:
    settings = backup.describe_region_settings()
    assert settings["ResourceTypeOptInPreference"]["DynamoDB"] is True
    assert settings["ResourceTypeManagementPreference"] == {"DynamoDB": True, "EFS": True}

    backup.update_region_settings(ResourceTypeManagementPreference={"DynamoDB": False})
    backup.update_region_settings(ResourceTypeOptInPreference={"S3": True})
    settings = backup.describe_region_settings()
    assert settings["ResourceTypeManagementPreference"] == {"DynamoDB": False, "EFS": True}
    assert settings["ResourceTypeOptInPreference"]["S3"] is True
    assert settings["ResourceTypeOptInPreference"]["DynamoDB"] is True

    with pytest.raises(ClientError) as error:
        unvalidated.update_region_settings(ResourceTypeManagementPreference={"DynamoDB": "yes"})  # type: ignore[dict-item]
    assert _code(error) == "InvalidParameterValueException"

    # Settings are per Region.
    other = boto3.client("backup", endpoint_url=backup.meta.endpoint_url, region_name="eu-west-1")
    assert other.describe_region_settings()["ResourceTypeManagementPreference"]["DynamoDB"] is True


def test_describe_vault_and_list_recovery_points(backup: BackupClient) -> None:
    arn = backup.create_backup_vault(BackupVaultName="orders", CreatorRequestId="vault-1")[
        "BackupVaultArn"
    ]
    vault = backup.describe_backup_vault(BackupVaultName="orders")
    assert vault["BackupVaultName"] == "orders"
    assert vault["BackupVaultArn"] == arn
    assert vault["CreatorRequestId"] == "vault-1"
    assert vault["NumberOfRecoveryPoints"] == 0
    assert vault["VaultType"] == "BACKUP_VAULT"
    assert vault["VaultState"] == "AVAILABLE"
    assert vault["CreationDate"]

    points = backup.list_recovery_points_by_backup_vault(BackupVaultName="orders")
    assert points["RecoveryPoints"] == []

    with pytest.raises(ClientError) as error:
        backup.describe_backup_vault(BackupVaultName="nope")
    assert _code(error) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as error:
        backup.list_recovery_points_by_backup_vault(BackupVaultName="nope")
    assert _code(error) == "ResourceNotFoundException"


# --------------------------------------------------------------------------------------------
# Persistence: the local target saves moto's backup backends as JSON and re-creates them


def test_state_survives_save_reset_restore(backup: BackupClient, endpoint: str) -> None:
    from tablesmith.local import snapshot

    plan_id = _plan(backup)
    selection_id = backup.create_backup_selection(
        BackupPlanId=plan_id, BackupSelection=_selection()
    )["SelectionId"]
    version = backup.update_backup_plan(BackupPlanId=plan_id, BackupPlan=_plan_document(days=7))[
        "VersionId"
    ]
    backup.update_region_settings(ResourceTypeManagementPreference={"DynamoDB": False})

    saved = snapshot.loads(snapshot.dumps())

    request = urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")
    with _NO_PROXY.open(request, timeout=10):
        pass
    with pytest.raises(ClientError):
        backup.get_backup_selection(BackupPlanId=plan_id, SelectionId=selection_id)
    assert backup.describe_region_settings()["ResourceTypeManagementPreference"]["DynamoDB"]

    snapshot.restore(saved)

    got = backup.get_backup_selection(BackupPlanId=plan_id, SelectionId=selection_id)
    assert got["BackupSelection"]["Resources"] == [TABLE_ARN]
    plan = backup.get_backup_plan(BackupPlanId=plan_id)
    assert plan["VersionId"] == version
    assert plan["BackupPlan"]["Rules"][0]["Lifecycle"] == {"DeleteAfterDays": 7}
    assert not backup.describe_region_settings()["ResourceTypeManagementPreference"]["DynamoDB"]
    with pytest.raises(ClientError) as error:
        backup.delete_backup_plan(BackupPlanId=plan_id)
    assert _code(error) == "InvalidRequestException"


# ------------------------------------------------------------------ CreatorRequestId
# The local target honours AWS Backup's CreatorRequestId as AWS does: a create retried with the
# same token answers with what the first attempt made, never a second resource; and
# tablesmith's tokens are the same for the same request.


def _token_document(days: int = 7) -> dict[str, Any]:
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
    first = backup.create_backup_plan(BackupPlan=_token_document(), CreatorRequestId="p-1")
    again = backup.create_backup_plan(BackupPlan=_token_document(), CreatorRequestId="p-1")
    assert again["BackupPlanId"] == first["BackupPlanId"]
    assert len(backup.list_backup_plans()["BackupPlansList"]) == 1
    with pytest.raises(ClientError) as error:  # without the token: a second plan is refused
        backup.create_backup_plan(BackupPlan=_token_document())
    assert error.value.response["Error"]["Code"] == "AlreadyExistsException"


def test_a_deleted_plan_does_not_answer_for_its_token(backup: Any) -> None:
    first = backup.create_backup_plan(BackupPlan=_token_document(), CreatorRequestId="p-1")
    backup.delete_backup_plan(BackupPlanId=first["BackupPlanId"])
    made = backup.create_backup_plan(BackupPlan=_token_document(), CreatorRequestId="p-1")
    assert made["BackupPlanId"] != first["BackupPlanId"]
    assert [p["BackupPlanId"] for p in backup.list_backup_plans()["BackupPlansList"]] == [
        made["BackupPlanId"]
    ]


def test_tokens_are_the_request_digest() -> None:
    request = {"BackupPlan": _token_document(), "BackupPlanTags": {"Owner": "qa"}}
    token = request_token("plan", request)
    assert token == request_token(
        "plan", {"BackupPlanTags": {"Owner": "qa"}, "BackupPlan": _token_document()}
    )  # key order aside
    assert token != request_token("plan", {**request, "BackupPlan": _token_document(days=8)})
    assert token != request_token("plan", request, "1700000000.0")  # salted: stale token
    assert token != request_token("vault", request)
    assert len(token) <= 50 and token.replace("-", "").isalnum()  # AWS: 1-50 of [\w.-]
    selection = selection_request_id(TABLE_ARN, "the request")
    assert selection == selection_request_id(TABLE_ARN, "the request")
    assert selection != selection_request_id(TABLE_ARN, "another request")
    assert len(selection) <= 50
