"""tablesmith.local.bulk: recovery points, ListProtectedResources and DescribeAlarms paging,
over real HTTP against an in-process moto server (started after ``install()``)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.exceptions import ClientError

import servers
from tablesmith.local import backup, bulk

if TYPE_CHECKING:
    from collections.abc import Iterator

REGION = "af-south-1"
ROLE = "arn:aws:iam::123456789012:role/r"
ARN = "arn:aws:dynamodb:af-south-1:123456789012:table/{}"


@pytest.fixture(scope="module")
def endpoint(fake_aws_env: None) -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    backup.install()
    bulk.install()
    bulk.install()  # idempotent
    server = ThreadedMotoServer(ip_address=servers.LOOPBACK, port=0, verbose=False)
    server.start()
    assert server._server is not None
    url = f"http://{servers.LOOPBACK}:{server._server.server_port}"
    try:
        yield url
    finally:
        servers.reset_moto(url)
        server.stop()


@pytest.fixture
def client(endpoint: str) -> Any:
    servers.reset_moto(endpoint)
    return lambda service: boto3.client(service, endpoint_url=endpoint, region_name=REGION)


def test_backup_jobs_leave_recovery_points_that_protected_resources_list(client: Any) -> None:
    aws = client("backup")
    aws.create_backup_vault(BackupVaultName="v")
    before = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    first = aws.start_backup_job(BackupVaultName="v", ResourceArn=ARN.format("a"), IamRoleArn=ROLE)
    second = aws.start_backup_job(BackupVaultName="v", ResourceArn=ARN.format("a"), IamRoleArn=ROLE)
    aws.start_backup_job(BackupVaultName="v", ResourceArn=ARN.format("b"), IamRoleArn=ROLE)
    assert first["RecoveryPointArn"] != second["RecoveryPointArn"]
    listed = aws.list_protected_resources()["Results"]
    assert [r["ResourceArn"] for r in listed] == [ARN.format("a"), ARN.format("b")]
    assert listed[0]["ResourceType"] == "DynamoDB"
    assert listed[0]["LastRecoveryPointArn"] == second["RecoveryPointArn"]
    assert listed[0]["LastBackupTime"] >= before
    points = aws.list_recovery_points_by_backup_vault(BackupVaultName="v")["RecoveryPoints"]
    assert len(points) == 3 and {p["Status"] for p in points} == {"COMPLETED"}
    paged = aws.get_paginator("list_protected_resources").paginate(PaginationConfig={"PageSize": 1})
    assert [len(page["Results"]) for page in paged] == [1, 1]


def test_backup_job_needs_an_existing_vault(client: Any) -> None:
    with pytest.raises(ClientError) as caught:
        client("backup").start_backup_job(
            BackupVaultName="nope", ResourceArn=ARN.format("a"), IamRoleArn=ROLE
        )
    assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_deleting_a_vault_drops_its_recovery_points(client: Any) -> None:
    aws = client("backup")
    aws.create_backup_vault(BackupVaultName="v")
    aws.start_backup_job(BackupVaultName="v", ResourceArn=ARN.format("a"), IamRoleArn=ROLE)
    aws.delete_backup_vault(BackupVaultName="v")
    assert aws.list_protected_resources()["Results"] == []


def test_describe_alarms_pages_as_aws_does(client: Any) -> None:
    cloudwatch = client("cloudwatch")
    for i in range(120):
        cloudwatch.put_metric_alarm(
            AlarmName=f"a-{i:03d}",
            Namespace="AWS/DynamoDB",
            MetricName="UserErrors",
            Statistic="Sum",
            Period=300,
            EvaluationPeriods=1,
            Threshold=1,
            ComparisonOperator="GreaterThanThreshold",
        )
    first = cloudwatch.describe_alarms()
    assert len(first["MetricAlarms"]) == 50 and first["NextToken"]  # AWS's default page
    pages = list(
        cloudwatch.get_paginator("describe_alarms").paginate(PaginationConfig={"PageSize": 100})
    )
    assert [len(p["MetricAlarms"]) for p in pages] == [100, 20]
    names = [a["AlarmName"] for p in pages for a in p["MetricAlarms"]]
    assert names == sorted(names) and len(set(names)) == 120
    with pytest.raises(ClientError):
        cloudwatch.describe_alarms(MaxRecords=101)
