"""Which KMS keys count as DynamoDB's AWS-managed key (issue 16, item 11).

Only the key behind ``alias/aws/dynamodb`` does. A key we may not describe used to pass for
AWS-managed, so a table moved to a foreign customer key showed no drift.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from tablesmith.aws import Clients, Target

REGION = "af-south-1"
AWS_KEY = f"arn:aws:kms:{REGION}:123456789012:key/aws-dynamodb"
FOREIGN = f"arn:aws:kms:{REGION}:999999999999:key/foreign"


class FakeKms:
    """A KMS client that knows DynamoDB's key and refuses to describe anything else."""

    def __init__(self, *, alias_readable: bool = True) -> None:
        self.alias_readable = alias_readable
        self.calls: list[str] = []

    def describe_key(self, KeyId: str) -> dict[str, Any]:
        self.calls.append(KeyId)
        if KeyId == "alias/aws/dynamodb" and self.alias_readable:
            return {"KeyMetadata": {"Arn": AWS_KEY, "KeyManager": "AWS"}}
        raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}},
                          "DescribeKey")


def clients_with(kms: FakeKms) -> Clients:
    clients = Clients(Target(region=REGION))
    clients._clients[("kms", REGION)] = kms  # the cache is the injection point: no boto3
    return clients


def test_only_the_aws_dynamodb_key_is_aws_managed() -> None:
    kms = FakeKms()
    clients = clients_with(kms)
    assert clients.key_manager(AWS_KEY, REGION) == "AWS"
    assert clients.key_manager(FOREIGN, REGION) == "CUSTOMER"
    assert kms.calls == ["alias/aws/dynamodb"]  # one look-up answers for the region


def test_a_key_nobody_may_describe_is_not_taken_for_aws_managed() -> None:
    clients = clients_with(FakeKms(alias_readable=False))
    assert clients.key_manager(FOREIGN, REGION) == "CUSTOMER"
