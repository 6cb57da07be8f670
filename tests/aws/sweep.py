"""Delete everything whose name starts with the tier's prefix, in the Regions it used.

The tier's last line of defence, run even when a step failed: tables (replicas first, with
deletion protection lifted), the lock table, alarms, AWS Backup selections, plans, recovery
points and vaults, and IAM roles. It deletes only what carries the run's unique prefix
(``ts_<8 hex>_``), so it cannot reach anything else in the account. ``leftovers`` lists what
is still there; in local mode the tier asserts it is empty, so the sweep itself is tested.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from tier import Account

Client = Callable[[str, str], Any]
GONE = {"ResourceNotFoundException", "NoSuchEntity", "NoSuchEntityException"}


@contextmanager
def clients(account: Account) -> Iterator[Client]:
    """``client(service, region)`` for the tier's account, cached."""
    cache: dict[tuple[str, str], Any] = {}
    if account.mode == "aws":
        import boto3
        from tier import ORIGINAL_ENV

        # the session fixture replaced the credential chain with fake keys and missing
        # config files: the sweep reads the user's, as the command line did
        saved = dict(os.environ)
        os.environ.clear()
        os.environ.update(ORIGINAL_ENV)
        try:
            session = boto3.Session(profile_name=account.profile)

            def client(service: str, region: str) -> Any:
                if (service, region) not in cache:
                    cache[service, region] = session.client(  # type: ignore[call-overload]
                        service, region_name=region
                    )
                return cache[service, region]

            yield client
        finally:
            os.environ.clear()
            os.environ.update(saved)
        return
    from tablesmith.aws import Clients
    from tablesmith.engine import resolve_target
    from tablesmith.local.server import LocalTarget
    from tablesmith.spec.model import Environment

    assert account.state_dir is not None
    with LocalTarget(account.state_dir) as endpoint:
        local = Clients(
            resolve_target(
                Environment(name="sweep", region=account.region),
                endpoint_url=endpoint,
                local=True,
                state_dir=str(account.state_dir),
            )
        )
        yield lambda service, region: local.client(service, region)


def leftovers(client: Client, prefix: str, regions: tuple[str, ...]) -> list[str]:
    """Every resource named with ``prefix`` that still exists (``service:name``)."""
    found: list[str] = []
    for region in regions:
        ddb = client("dynamodb", region)
        found += [f"dynamodb:{region}:{n}" for n in _tables(ddb, prefix)]
        cw = client("cloudwatch", region)
        found += [f"cloudwatch:{region}:{a['AlarmName']}" for a in _alarms(cw, prefix)]
        backup = client("backup", region)
        found += [f"backup-plan:{region}:{p['BackupPlanName']}" for p in _plans(backup, prefix)]
        found += [f"backup-vault:{region}:{v}" for v in _vaults(backup, prefix)]
    found += [f"iam-role:{r}" for r in _roles(client("iam", regions[0]), prefix)]
    return found


def sweep(client: Client, prefix: str, regions: tuple[str, ...]) -> list[str]:
    """Delete every resource named with ``prefix``; what it deleted."""
    if not prefix.startswith("ts_") or len(prefix) < 8:
        raise ValueError(f"refusing to sweep with a prefix that is not the tier's: {prefix!r}")
    deleted: list[str] = []
    for region in regions:
        deleted += _sweep_tables(client("dynamodb", region), prefix, region)
        cw = client("cloudwatch", region)
        names = [a["AlarmName"] for a in _alarms(cw, prefix)]
        for start in range(0, len(names), 100):
            cw.delete_alarms(AlarmNames=names[start : start + 100])
        deleted += [f"cloudwatch:{region}:{n}" for n in names]
        deleted += _sweep_backup(client("backup", region), prefix, region)
    deleted += _sweep_roles(client("iam", regions[0]), prefix)
    return deleted


def _tables(ddb: Any, prefix: str) -> list[str]:
    names: list[str] = []
    for page in ddb.get_paginator("list_tables").paginate():
        names += [n for n in page["TableNames"] if n.startswith(prefix)]
    return names


def _sweep_tables(ddb: Any, prefix: str, region: str) -> list[str]:
    deleted = []
    for name in _tables(ddb, prefix):
        try:
            table = ddb.describe_table(TableName=name)["Table"]
            if table.get("DeletionProtectionEnabled"):
                ddb.update_table(TableName=name, DeletionProtectionEnabled=False)
            for replica in table.get("Replicas", []):
                ddb.update_table(
                    TableName=name,
                    ReplicaUpdates=[{"Delete": {"RegionName": replica["RegionName"]}}],
                )
                _wait_replicas_gone(ddb, name)
            ddb.delete_table(TableName=name)
            ddb.get_waiter("table_not_exists").wait(
                TableName=name, WaiterConfig={"Delay": 2, "MaxAttempts": 150}
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] not in GONE:
                raise
        deleted.append(f"dynamodb:{region}:{name}")
    return deleted


def _wait_replicas_gone(ddb: Any, name: str, timeout: float = 900) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        table = ddb.describe_table(TableName=name)["Table"]
        if not table.get("Replicas") and table["TableStatus"] == "ACTIVE":
            return
        time.sleep(1)
    raise TimeoutError(f"the replicas of {name} were not gone after {timeout:.0f} s")


def _alarms(cw: Any, prefix: str) -> list[dict[str, Any]]:
    alarms: list[dict[str, Any]] = []
    for page in cw.get_paginator("describe_alarms").paginate(AlarmNamePrefix=prefix):
        alarms += page.get("MetricAlarms", []) + page.get("CompositeAlarms", [])
    return alarms


def _plans(backup: Any, prefix: str) -> list[dict[str, Any]]:
    plans: list[dict[str, Any]] = []
    for page in backup.get_paginator("list_backup_plans").paginate():
        plans += [p for p in page["BackupPlansList"] if p["BackupPlanName"].startswith(prefix)]
    return plans


def _vaults(backup: Any, prefix: str) -> list[str]:
    names: list[str] = []
    for page in backup.get_paginator("list_backup_vaults").paginate():
        names += [
            v["BackupVaultName"]
            for v in page["BackupVaultList"]
            if v["BackupVaultName"].startswith(prefix)
        ]
    return names


def _sweep_backup(backup: Any, prefix: str, region: str) -> list[str]:
    deleted = []
    for plan in _plans(backup, prefix):
        plan_id = plan["BackupPlanId"]
        for page in backup.get_paginator("list_backup_selections").paginate(BackupPlanId=plan_id):
            for selection in page["BackupSelectionsList"]:
                backup.delete_backup_selection(
                    BackupPlanId=plan_id, SelectionId=selection["SelectionId"]
                )
        backup.delete_backup_plan(BackupPlanId=plan_id)
        deleted.append(f"backup-plan:{region}:{plan['BackupPlanName']}")
    for vault in _vaults(backup, prefix):
        pages = backup.get_paginator("list_recovery_points_by_backup_vault").paginate(
            BackupVaultName=vault
        )
        for page in pages:
            for point in page["RecoveryPoints"]:
                backup.delete_recovery_point(
                    BackupVaultName=vault, RecoveryPointArn=point["RecoveryPointArn"]
                )
        backup.delete_backup_vault(BackupVaultName=vault)
        deleted.append(f"backup-vault:{region}:{vault}")
    return deleted


def _roles(iam: Any, prefix: str) -> list[str]:
    names: list[str] = []
    for page in iam.get_paginator("list_roles").paginate():
        names += [r["RoleName"] for r in page["Roles"] if r["RoleName"].startswith(prefix)]
    return names


def _sweep_roles(iam: Any, prefix: str) -> list[str]:
    deleted = []
    for role in _roles(iam, prefix):
        for page in iam.get_paginator("list_attached_role_policies").paginate(RoleName=role):
            for policy in page["AttachedPolicies"]:
                iam.detach_role_policy(RoleName=role, PolicyArn=policy["PolicyArn"])
        for page in iam.get_paginator("list_role_policies").paginate(RoleName=role):
            for policy_name in page["PolicyNames"]:
                iam.delete_role_policy(RoleName=role, PolicyName=policy_name)
        iam.delete_role(RoleName=role)
        deleted.append(f"iam-role:{role}")
    return deleted
