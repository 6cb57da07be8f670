"""The bulk reads of a plan, on fake clients: tags from GetResources only where they agree
with the spec, alarms from one prefix scan per region (within the per-table budget), and a
backup selection known from its summary."""

from __future__ import annotations

from typing import Any

from tablesmith.around.alarms import derived_alarms, put_request, read_alarms
from tablesmith.around.backup import _known_selection, selection_request_id
from tablesmith.aws import Clients, Target
from tablesmith.spec.defaults import MODULE_DEFAULTS
from tablesmith.spec.model import (
    OWNERSHIP_TAG,
    Alarms,
    Encryption,
    Key,
    PointInTimeRecovery,
    Stream,
    Table,
    TimeToLive,
)
from tablesmith.tags import BulkTags

REGION = "af-south-1"
ARN = f"arn:aws:dynamodb:{REGION}:123456789012:table/orders"


def table(name: str, **update: Any) -> Table:
    return Table(
        name=name,
        table_name=name,
        environment="dev",
        region=REGION,
        partition_key=Key(name="PK", type="S"),
        sort_key=Key(name="SK", type="S"),
        attribute_definitions=(Key(name="PK", type="S"), Key(name="SK", type="S")),
        point_in_time_recovery=PointInTimeRecovery(enabled=True, recovery_period_days=35),
        ttl=TimeToLive(enabled=False, attribute_name="expiresAt"),
        stream=Stream(enabled=False, view_type="NEW_AND_OLD_IMAGES"),
        encryption=Encryption(type="AWS_MANAGED"),
        deletion_protection=False,
        table_class="STANDARD",
        tags={"Project": "shop", OWNERSHIP_TAG: "dev"},
        alarms=Alarms.model_validate(MODULE_DEFAULTS["alarms"]),
        **update,
    )


class Pages:
    """A botocore paginator stand-in that records each call's arguments."""

    def __init__(self, answer: Any, calls: list[dict[str, Any]]) -> None:
        self.answer = answer
        self.calls = calls

    def paginate(self, **kwargs: Any) -> Any:
        self.calls.append(kwargs)
        return iter(self.answer(kwargs))


class Fake:
    def __init__(self, **paginators: Any) -> None:
        self.calls: list[dict[str, Any]] = []
        self.paginators = paginators

    def get_paginator(self, name: str) -> Pages:
        return Pages(self.paginators[name], self.calls)


def clients(**services: Any) -> Clients:
    made = Clients(Target(region=REGION))  # real AWS: no endpoint probes
    for service, client in services.items():
        made._clients[(service, REGION)] = client
    return made


# --------------------------------------------------------------------------- tags


def tagging(found: dict[str, dict[str, str]]) -> Fake:
    return Fake(
        get_resources=lambda kwargs: [
            {
                "ResourceTagMappingList": [
                    {"ResourceARN": arn, "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}
                    for arn, tags in found.items()
                ]
            }
        ]
    )


def test_bulk_tags_are_trusted_only_where_they_are_what_the_spec_wants() -> None:
    wanted = {"Project": "shop", OWNERSHIP_TAG: "dev"}
    tags = tagging({ARN: {**wanted, "aws:cloudformation:stack-name": "x"}})
    bulk = BulkTags(clients(resourcegroupstaggingapi=tags), "dev")
    reads: list[str] = []

    def read() -> dict[str, str]:
        reads.append("ListTagsOfResource")
        return {"Project": "other"}

    assert bulk.lookup(REGION, ARN, wanted, read) == wanted  # no per-table read
    assert reads == []
    # a difference may be the tagging API's lag: the table's own API decides
    assert bulk.lookup(REGION, ARN, {**wanted, "Team": "a"}, read) == {"Project": "other"}
    # absent from the answer: untagged, or not yet indexed; never taken for "no tags" unread
    assert bulk.lookup(REGION, ARN.replace("orders", "never_tagged"), {}, read) == {
        "Project": "other"
    }
    assert reads == ["ListTagsOfResource"] * 2
    # one GetResources for the region, filtered on the environment's ownership tag
    assert tags.calls == [
        {
            "ResourceTypeFilters": ["dynamodb:table", "backup:backup-vault", "backup:backup-plan"],
            "ResourcesPerPage": 100,
            "TagFilters": [{"Key": OWNERSHIP_TAG, "Values": ["dev"]}],
        }
    ]


def test_without_the_tagging_api_every_lookup_reads_the_resource() -> None:
    class Missing:
        def get_paginator(self, name: str) -> Any:
            from botocore.exceptions import ClientError

            raise ClientError(
                {"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "GetResources"
            )

    bulk = BulkTags(clients(resourcegroupstaggingapi=Missing()), "dev")
    assert bulk.lookup(REGION, ARN, {"Project": "shop"}, lambda: {"Project": "x"}) == {
        "Project": "x"
    }
    assert bulk.errors[REGION].code == "AccessDeniedException"


# --------------------------------------------------------------------------- alarms


def raw(alarm: Any) -> dict[str, Any]:
    """A DescribeAlarms entry for what tablesmith puts."""
    request = put_request(alarm, with_tags=False)
    return {**request, "AlarmArn": f"arn:aws:cloudwatch:{REGION}:1:alarm:{alarm.name}"}


def test_one_prefix_scan_gives_each_table_its_own_alarms() -> None:
    orders, archive = table("orders"), table("orders-archive")
    mine = [raw(a) for a in (*derived_alarms(orders), *derived_alarms(archive))]
    stranger = {**raw(derived_alarms(orders)[0]), "AlarmName": "orders-archive-costs"}

    def describe(kwargs: dict[str, Any]) -> list[dict[str, Any]]:
        if "AlarmNames" in kwargs:
            return [{"MetricAlarms": []}]
        return [{"MetricAlarms": [*mine, stranger]}]

    cloudwatch = Fake(describe_alarms=describe)
    found = read_alarms(clients(cloudwatch=cloudwatch), [orders, archive])
    assert [a.alarm.name for a in found["orders"]] == [a.name for a in derived_alarms(orders)]
    assert [a.alarm.name for a in found["orders-archive"]] == [
        a.name for a in derived_alarms(archive)
    ]
    scans = [c for c in cloudwatch.calls if "AlarmNames" not in c]
    assert [c.get("AlarmNamePrefix") for c in scans] == ["orders-"]  # the shared prefix


def test_a_scan_that_would_cost_more_than_the_tables_reads_per_table() -> None:
    orders, users = table("orders"), table("users")  # no common prefix: the whole region

    def describe(kwargs: dict[str, Any]) -> list[dict[str, Any]]:
        if "AlarmNamePrefix" in kwargs or "AlarmNames" in kwargs:
            return [{"MetricAlarms": []}]
        return [{"MetricAlarms": []}] * 5  # 5 pages of other alarms for 2 tables

    cloudwatch = Fake(describe_alarms=describe)
    found = read_alarms(clients(cloudwatch=cloudwatch), [orders, users])
    assert found == {"orders": (), "users": ()}
    prefixes = sorted(c["AlarmNamePrefix"] for c in cloudwatch.calls if "AlarmNamePrefix" in c)
    assert prefixes == ["orders-", "users-"]


# --------------------------------------------------------------------------- selections


def test_a_selection_made_by_tablesmith_is_known_from_its_summary() -> None:
    token = selection_request_id(ARN)
    assert len(token) <= 50 and token != selection_request_id(ARN)  # never reused
    assert _known_selection({"CreatorRequestId": token}, ARN)
    assert not _known_selection({"CreatorRequestId": token}, ARN + "2")  # another table's
    assert not _known_selection({"CreatorRequestId": "terraform-123"}, ARN)
    assert not _known_selection({}, ARN)  # the console's: read with GetBackupSelection
