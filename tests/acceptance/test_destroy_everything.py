"""Destroy leaves nothing of a table behind: every resource type, in every region."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import boto3
import pytest

import tablesmith
from tablesmith.engine import Session
from tablesmith.hazards import HazardCode

if TYPE_CHECKING:
    from pathlib import Path

ROOT_EXAMPLES = "examples/bbws.yaml"
REGIONS = ("af-south-1", "eu-west-1")


def inventory(endpoint: str) -> dict[str, list[str]]:
    """Every resource of every type tablesmith makes, in both regions."""

    def client(service: str, region: str) -> Any:
        return boto3.client(service, endpoint_url=endpoint, region_name=region)

    found: dict[str, list[str]] = {}
    for region in REGIONS:
        found[f"dynamodb tables {region}"] = client("dynamodb", region).list_tables()[
            "TableNames"]
        backup = client("backup", region)
        found[f"backup vaults {region}"] = [
            v["BackupVaultName"] for v in backup.list_backup_vaults()["BackupVaultList"]]
        plans = backup.list_backup_plans()["BackupPlansList"]
        found[f"backup plans {region}"] = [p["BackupPlanName"] for p in plans]
        found[f"backup selections {region}"] = [
            s["SelectionName"] for p in plans
            for s in backup.list_backup_selections(BackupPlanId=p["BackupPlanId"])[
                "BackupSelectionsList"]]
        found[f"alarms {region}"] = [
            a["AlarmName"] for a in client("cloudwatch", region).describe_alarms()[
                "MetricAlarms"]]
    found["iam roles"] = [r["RoleName"] for r in client("iam", REGIONS[0]).list_roles()["Roles"]]
    return found


@pytest.mark.parametrize("engine", ["local"])
def test_destroy_of_prod_leaves_nothing_behind(engine: str, engine_endpoint: str,
                                               tmp_path: Path) -> None:
    spec = tablesmith.load(ROOT_EXAMPLES, env="prod")
    session = Session.for_environment(spec, "prod", endpoint_url=engine_endpoint)
    session.apply(session.plan(), allowed=frozenset())
    before = inventory(engine_endpoint)
    # what prod makes: replicated tables, backups with DR copies, IAM roles, alarms
    assert sorted(before["dynamodb tables eu-west-1"]) == ["campaigns", "products", "tenants"]
    assert len(before["backup vaults eu-west-1"]) == 3
    assert len(before["backup selections af-south-1"]) == 3
    assert len(before["iam roles"]) == 3
    assert before["alarms af-south-1"]

    destroy = session.plan_destroy(lift_protection=True)
    session.apply(destroy, allowed=frozenset({HazardCode.DELETES_DATA,
                                              HazardCode.LIFTS_PROTECTION}))
    after = inventory(engine_endpoint)
    assert all(not names for names in after.values()), after
    assert not session.plan_destroy().has_changes
