"""The floor of a no-change plan: a bare boto3 process that makes only the reads no tool avoids.

    python bench/floor_plan.py ENDPOINT REGION NAMES_FILE [--whole] [--json]

NAMES_FILE holds one physical table name a line. Per table, on 16 threads (as tablesmith
reads): DescribeTable, DescribeContinuousBackups, DescribeTimeToLive, ListTagsOfResource;
then one paginated DescribeAlarms of the region (100 a page). With ``--whole`` (whole
environments: AWS Backup and alarms on) also ListBackupPlans and ListBackupVaults once, and
per table GetBackupPlan, ListBackupSelections and GetBackupSelection of its plan and GetRole
of its backup role (``<table>-backup-plan`` / ``-backup-role``, the module's names).

Nothing is compared or modelled: this is what any tool must at least wait for, in its own
process (Python start-up and the boto3 import included, as for a CLI), against the same
endpoint. Credentials come from the environment (the bench sets the local target's key).
"""

from __future__ import annotations

import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

STARTED = time.perf_counter()

import boto3  # noqa: E402  (timed: the floor pays the import as a CLI does)
from botocore.config import Config  # noqa: E402

THREADS = 16


def main() -> None:
    endpoint, region, names_file = sys.argv[1:4]
    whole = "--whole" in sys.argv
    names = [n for n in Path(names_file).read_text().split() if n]
    session = boto3.session.Session()
    config = Config(retries={"mode": "adaptive", "max_attempts": 10}, max_pool_connections=THREADS)

    def client(service: str) -> Any:
        return session.client(
            service,
            region_name=region,
            endpoint_url=endpoint,  # type: ignore[call-overload]
            config=config,
        )

    ddb = client("dynamodb")
    backup = client("backup") if whole else None
    iam = client("iam") if whole else None
    calls = 0
    plans: dict[str, str] = {}
    if backup is not None:
        for page in backup.get_paginator("list_backup_plans").paginate():
            plans.update(
                (p["BackupPlanName"], p["BackupPlanId"]) for p in page.get("BackupPlansList", [])
            )
            calls += 1
        for _ in backup.get_paginator("list_backup_vaults").paginate():
            calls += 1

    def read(name: str) -> int:
        made = 4
        arn = ddb.describe_table(TableName=name)["Table"]["TableArn"]
        ddb.describe_continuous_backups(TableName=name)
        ddb.describe_time_to_live(TableName=name)
        ddb.list_tags_of_resource(ResourceArn=arn)
        if backup is not None and iam is not None:
            plan_id = plans.get(f"{name}-backup-plan")
            if plan_id is not None:
                backup.get_backup_plan(BackupPlanId=plan_id)
                selections = backup.list_backup_selections(BackupPlanId=plan_id)
                made += 2
                for summary in selections.get("BackupSelectionsList", []):
                    backup.get_backup_selection(
                        BackupPlanId=plan_id, SelectionId=summary["SelectionId"]
                    )
                    made += 1
            iam.get_role(RoleName=f"{name}-backup-role")
            made += 1
        return made

    with ThreadPoolExecutor(max_workers=min(THREADS, max(1, len(names)))) as pool:
        calls += sum(pool.map(read, names))
    cloudwatch = client("cloudwatch")
    for _ in cloudwatch.get_paginator("describe_alarms").paginate(
        PaginationConfig={"PageSize": 100}
    ):
        calls += 1
    elapsed = time.perf_counter() - STARTED
    if "--json" in sys.argv:
        print(json.dumps({"tables": len(names), "calls": calls, "seconds": elapsed}))
    else:
        print(f"{len(names)} tables, {calls} calls, {elapsed:.3f} s")


if __name__ == "__main__":
    main()
