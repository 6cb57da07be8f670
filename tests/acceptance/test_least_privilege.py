"""Least privilege: plan, apply and destroy work with exactly ``tablesmith iam-policy``'s
policy, and without any one of its actions the call that needs it is refused, by name.

The engine is a moto server with IAM enforcement on (``INITIAL_NO_AUTH_ACTION_COUNT``, see
``servers.start_moto_iam``; ``moto_iam_server.py`` makes moto check each statement's
Resource, which it otherwise does not). Its first three requests make an admin user; from
then on every request is signed with a user's keys and checked against the user's policy.

What this proves, and what it cannot (moto 5.2.5, measured):
* DynamoDB, CloudWatch alarms, the tagging API and STS: enforced, with resources;
* AWS Backup is off in the spec: moto answers its REST reads ``SignatureDoesNotMatch`` once
  enforcement is on, and plain moto lacks backup selections anyway, so the backup, IAM-role
  and KMS statements are checked by the unit tests only (``tests/unit/test_iam_policy.py``);
* moto allows ``sts:GetCallerIdentity`` whatever the policy, evaluates only ``StringEquals``
  conditions and lets a key the request does not carry pass (so the ownership-tag statements
  match any table here), and ignores replicas.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import TYPE_CHECKING, Any

import boto3
import pytest
import yaml
from click.testing import CliRunner

import servers
import tablesmith
from tablesmith.cli import cli
from tablesmith.engine import Session
from tablesmith.errors import ApplyError, AwsError, TablesmithError
from tablesmith.hazards import HazardCode

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

ACCOUNT = "123456789012"  # moto's default account
REGION = "af-south-1"
TAGS = {
    "Project": "least-privilege",
    "Owner": "qa",
    "CostCenter": "cc-1",
    "ManagedBy": "tablesmith",
    "Component": "dynamodb",
}
# the service names botocore reports (Clients.calls) -> IAM's action prefix
IAM_PREFIX = {"resourcegroupstaggingapi": "tag", "monitoring": "cloudwatch"}
# every action the lifecycle below makes moto check (the first test asserts it is exactly
# this): each is removed in turn by test_each_action_is_needed
EXERCISED = (
    "cloudwatch:DeleteAlarms",
    "cloudwatch:DescribeAlarms",
    "cloudwatch:PutMetricAlarm",
    "dynamodb:CreateTable",
    "dynamodb:DeleteTable",
    "dynamodb:DescribeContinuousBackups",
    "dynamodb:DescribeTable",
    "dynamodb:DescribeTimeToLive",
    "dynamodb:ListTagsOfResource",
    "dynamodb:TagResource",
    "dynamodb:UntagResource",
    "dynamodb:UpdateContinuousBackups",
    "dynamodb:UpdateTable",
    "dynamodb:UpdateTimeToLive",
    "tag:GetResources",
)
# not an error without them, by design: where the tagging API refuses, a custom endpoint
# falls back to listing the tables (live.find_orphans); the STS call is answered whatever
# the policy (moto); an unreadable KMS key counts as a customer's (aws.key_manager)
SOFT = ("tag:GetResources", "sts:GetCallerIdentity", "kms:DescribeKey")


@pytest.fixture(scope="module")
def enforcing(fake_aws_env: None) -> Iterator[tuple[str, dict[str, str]]]:
    """A moto server enforcing IAM, and an admin's keys (made with its 3 free requests)."""
    with servers.start_moto_iam(free_requests=3) as server:
        iam = boto3.client("iam", endpoint_url=server.endpoint, region_name=REGION)
        iam.create_user(UserName="admin")
        iam.put_user_policy(
            UserName="admin",
            PolicyName="all",
            PolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
                }
            ),
        )
        key = iam.create_access_key(UserName="admin")["AccessKey"]
        admin = {
            "aws_access_key_id": key["AccessKeyId"],
            "aws_secret_access_key": key["SecretAccessKey"],
        }
        # enforcement is on from here: the fake keys no longer pass
        with pytest.raises(Exception, match=r"InvalidClientTokenId|not valid|403"):
            iam.list_users()
        yield server.endpoint, admin


def user_with(
    endpoint: str, admin: dict[str, str], policy: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new IAM user holding exactly ``policy``, whose keys this test's calls sign with."""
    iam = boto3.client("iam", endpoint_url=endpoint, region_name=REGION, **admin)
    name = f"ci-{uuid.uuid4().hex[:8]}"
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="tablesmith", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])


def write_spec(directory: Path, prefix: str, *, version: int) -> Path:
    """Environment dev (backup off, alarms on) with one table; version 2 adds a GSI and
    changes a tag, so that UpdateTable, TagResource and UntagResource are called."""
    table: dict[str, Any] = {
        "partition_key": {"name": "PK", "type": "S"},
        "sort_key": {"name": "SK", "type": "S"},
        "ttl": {"enabled": True, "attribute_name": "expiresAt"},
        "point_in_time_recovery": {"enabled": True},
        "tags": {"Stage": "one"} if version == 1 else {"Step": "two"},
    }
    if version == 2:
        table["global_secondary_indexes"] = [
            {
                "name": "ByStatus",
                "hash_key": {"name": "status", "type": "S"},
                "projection_type": "KEYS_ONLY",
            }
        ]
    doc = {
        "version": 1,
        "defaults": {"tags": TAGS, "backup": {"enabled": False}},
        "environments": {"dev": {"table_prefix": prefix}},
        "tables": {"orders": table},
    }
    path = directory / f"spec-v{version}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def printed_policy(spec: Path, *, read_only: bool = False) -> dict[str, Any]:
    """What ``tablesmith iam-policy`` prints for environment dev."""
    args = ["iam-policy", str(spec), "--env", "dev", "--account", ACCOUNT]
    result = CliRunner().invoke(cli, args + (["--read-only"] if read_only else []))
    assert result.exit_code == 0, result.output
    policy: dict[str, Any] = json.loads(result.output)
    return policy


def without(policy: dict[str, Any], action: str) -> dict[str, Any]:
    """``policy`` with ``action`` taken out of every statement (empty statements dropped)."""
    statements = [
        {**s, "Action": [a for a in s["Action"] if a != action]} for s in policy["Statement"]
    ]
    return {**policy, "Statement": [s for s in statements if s["Action"]]}


def lifecycle(v1: Path, v2: Path, endpoint: str) -> list[Session]:
    """plan + apply v1 (with an empty re-plan), plan + apply v2, destroy: the sessions."""
    sessions = []
    for path in (v1, v2):
        session = Session.for_environment(
            tablesmith.load(path, env="dev"), "dev", endpoint_url=endpoint
        )
        sessions.append(session)
        session.apply(session.plan(), allowed=frozenset())
        assert session.plan().operations == (), "planning again after apply is empty"
    session = Session.for_environment(tablesmith.load(v2, env="dev"), "dev", endpoint_url=endpoint)
    sessions.append(session)
    session.apply(session.plan_destroy(), allowed=frozenset(HazardCode))
    return sessions


def called_actions(sessions: list[Session]) -> set[str]:
    """The IAM actions of every call the sessions made (``Clients.calls``)."""
    out = set()
    for session in sessions:
        for call in session.clients.calls:
            service, operation = call.split(".", 1)
            out.add(f"{IAM_PREFIX.get(service, service)}:{operation}")
    return out


def test_plan_apply_destroy_with_exactly_the_policy(
    enforcing: tuple[str, dict[str, str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    endpoint, admin = enforcing
    prefix = f"lp{uuid.uuid4().hex[:6]}_"
    v1, v2 = write_spec(tmp_path, prefix, version=1), write_spec(tmp_path, prefix, version=2)
    # a read-only policy plans, and cannot apply
    user_with(endpoint, admin, printed_policy(v1, read_only=True), monkeypatch)
    session = Session.for_environment(tablesmith.load(v1, env="dev"), "dev", endpoint_url=endpoint)
    plan = session.plan()
    assert plan.operations[0].op == "CreateTable"
    with pytest.raises(ApplyError, match=r"creating table .*AccessDenied.*dynamodb:CreateTable"):
        session.apply(plan, allowed=frozenset())
    # the apply policy (of the spec's last version: it grants the first's too) does it all
    apply_policy = printed_policy(v2)
    user_with(endpoint, admin, apply_policy, monkeypatch)
    sessions = lifecycle(v1, v2, endpoint)
    called = called_actions(sessions)
    granted = {a for s in apply_policy["Statement"] for a in s["Action"]}
    assert called - granted == set(), "every call tablesmith makes is in the policy"
    # besides EXERCISED: STS (always allowed here), KMS when a key is read, and the probe of
    # AWS Backup, which moto answers SignatureDoesNotMatch (so backup counts as absent)
    assert called - {"sts:GetCallerIdentity", "kms:DescribeKey", "backup:ListBackupVaults"} == set(
        EXERCISED
    )
    dynamodb = boto3.client("dynamodb", endpoint_url=endpoint, region_name=REGION, **admin)
    assert not [t for t in dynamodb.list_tables()["TableNames"] if t.startswith(prefix)]


def test_tables_outside_the_spec_stay_out_of_reach(
    enforcing: tuple[str, dict[str, str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    endpoint, admin = enforcing
    foreign = f"foreign{uuid.uuid4().hex[:6]}"
    boto3.client("dynamodb", endpoint_url=endpoint, region_name=REGION, **admin).create_table(
        TableName=foreign,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}],
    )
    user_with(endpoint, admin, printed_policy(write_spec(tmp_path, "lpx_", version=2)), monkeypatch)
    user = boto3.session.Session()  # a new session: the default one cached other keys
    dynamodb = user.client("dynamodb", endpoint_url=endpoint, region_name=REGION)
    cloudwatch = user.client("cloudwatch", endpoint_url=endpoint, region_name=REGION)
    from tablesmith.aws import aws_context

    for context, call in (
        (
            "updating table",
            lambda: dynamodb.update_table(TableName=foreign, DeletionProtectionEnabled=True),
        ),
        (
            "tagging table",
            lambda: dynamodb.tag_resource(
                ResourceArn=f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{foreign}",
                Tags=[{"Key": "k", "Value": "v"}],
            ),
        ),
        (
            "putting alarm",
            lambda: cloudwatch.put_metric_alarm(
                AlarmName=f"{foreign}-system-errors",
                MetricName="SystemErrors",
                Namespace="AWS/DynamoDB",
                Statistic="Sum",
                Period=60,
                EvaluationPeriods=1,
                Threshold=1.0,
                ComparisonOperator="GreaterThanThreshold",
            ),
        ),
    ):
        with pytest.raises(AwsError) as denied, aws_context(context):
            call()
        assert denied.value.code == "AccessDenied"


@pytest.mark.parametrize("action", [a for a in EXERCISED if a not in SOFT])
def test_each_action_is_needed(
    action: str,
    enforcing: tuple[str, dict[str, str]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    endpoint, admin = enforcing
    prefix = f"lp{uuid.uuid4().hex[:6]}_"
    v1, v2 = write_spec(tmp_path, prefix, version=1), write_spec(tmp_path, prefix, version=2)
    user_with(endpoint, admin, without(printed_policy(v2), action), monkeypatch)
    with pytest.raises(TablesmithError) as refused:
        lifecycle(v1, v2, endpoint)
    error = refused.value
    message = str(error)
    # named clearly: the gerund context, AWS's code and the missing action
    assert "AccessDenied" in message and f"the credentials lack {action}" in message, message
    if isinstance(error, AwsError):  # a read (plan); apply reports each table's AwsError
        assert error.code == "AccessDenied" and error.context.split()[0].endswith("ing")
    else:
        assert isinstance(error, ApplyError)
        # "<table>: <operation>: <gerund context>: AccessDenied: …"
        assert re.search(r": [a-z]+ing [^\n]*?: AccessDenied: ", message), message
