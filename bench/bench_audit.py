"""Benchmark: `tablesmith audit` of 10, 100 and 1,000 tables on the embedded local target.

    .venv/bin/python bench/bench_audit.py                      # N = 10, 100, 1000; both shapes
    .venv/bin/python bench/bench_audit.py --sizes 10,100 --runs 3
    .venv/bin/python bench/bench_audit.py --sizes 1000 --shapes shared --runs 1

For each account shape and N, a fresh local target (``LocalTarget`` in this process, on
127.0.0.1, in a temporary state directory; nothing can reach AWS: the local target signs
with its own key, and ``AWS_*`` variables are cleared) is filled with boto3 —
N tables in af-south-1 with tags, PITR, two alarms each (SystemErrors summed over
operations, and ReadThrottleEvents) — and audited in af-south-1 and eu-west-1 (the default regions):

* ``shared``: four AWS Backup plans selecting tables by a ``Backup`` tag (an organisation's
  way: plans per policy, not per table);
* ``per-table``: one plan with one selection per table (the Terraform module's way, and
  tablesmith's), which costs AWS Backup's floor of three reads per plan (GetBackupPlan,
  ListBackupSelections, GetBackupSelection: AWS Backup has no bulk read of them).

Measured: the library (``tablesmith.audit.run_audit``; median of ``--runs``) and the CLI once
(``tablesmith audit --local --json``, a subprocess that talks to this process's server),
wall seconds, and AWS calls per table from ``Clients.calls``. Target: <= 2.5 calls per table
at 1,000 tables. The local target serves one request at a time, so wall time here is moto's
speed, not AWS's; the call counts are what carries over to AWS.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
EXE = Path(sys.executable).with_name("tablesmith")
SIZES = (10, 100, 1000)
SHAPES = ("shared", "per-table")
PRIMARY = "af-south-1"
ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/bench-backup"
TAGS = {
    "Environment": "prod",
    "Project": "bench",
    "Owner": "platform",
    "CostCenter": "4711",
    "ManagedBy": "bench",
    "Component": "dynamodb",
}
POLICIES = ("daily", "hourly", "weekly", "monthly")


def clean_environment(scratch: Path) -> None:
    """No AWS credentials, profile or endpoint of the machine: only the local target."""
    for name in [n for n in os.environ if n.startswith("AWS_")]:
        del os.environ[name]
    os.environ["AWS_CONFIG_FILE"] = str(scratch / "no-config")
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = str(scratch / "no-credentials")
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"


def fill(clients: Any, n: int, shape: str) -> None:
    """N tables with tags, PITR and two alarms; backup plans of the shape."""
    from concurrent.futures import ThreadPoolExecutor

    ddb, backup = clients.dynamodb(PRIMARY), clients.client("backup", PRIMARY)
    cloudwatch = clients.client("cloudwatch", PRIMARY)
    backup.create_backup_vault(BackupVaultName="bench-vault")

    def plan(name: str, schedule: str) -> str:
        return str(
            backup.create_backup_plan(
                BackupPlan={
                    "BackupPlanName": name,
                    "Rules": [
                        {
                            "RuleName": f"{name}-rule",
                            "TargetBackupVaultName": "bench-vault",
                            "ScheduleExpression": schedule,
                        }
                    ],
                }
            )["BackupPlanId"]
        )

    if shape == "shared":
        schedules = {
            "daily": "cron(0 2 * * ? *)",
            "hourly": "cron(0 * * * ? *)",
            "weekly": "cron(0 3 ? * SUN *)",
            "monthly": "cron(0 4 1 * ? *)",
        }
        for policy, schedule in schedules.items():
            backup.create_backup_selection(
                BackupPlanId=plan(f"org-{policy}", schedule),
                BackupSelection={
                    "SelectionName": policy,
                    "IamRoleArn": ROLE,
                    "ListOfTags": [
                        {
                            "ConditionType": "STRINGEQUALS",
                            "ConditionKey": "Backup",
                            "ConditionValue": policy,
                        }
                    ],
                },
            )

    def one(i: int) -> None:
        name = f"bench_{i:05d}"
        tags = {**TAGS, "Backup": POLICIES[i % len(POLICIES)]}
        desc = ddb.create_table(
            TableName=name,
            BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            SSESpecification={"Enabled": True, "SSEType": "KMS"},
            DeletionProtectionEnabled=True,
            Tags=[{"Key": k, "Value": v} for k, v in tags.items()],
        )["TableDescription"]
        ddb.update_continuous_backups(
            TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
        )
        terms = [
            {
                "Id": op.lower(),
                "ReturnData": False,
                "MetricStat": {
                    "Metric": {
                        "Namespace": "AWS/DynamoDB",
                        "MetricName": "SystemErrors",
                        "Dimensions": [
                            {"Name": "TableName", "Value": name},
                            {"Name": "Operation", "Value": op},
                        ],
                    },
                    "Period": 300,
                    "Stat": "Sum",
                },
            }
            for op in ("GetItem", "PutItem", "Query")
        ]
        cloudwatch.put_metric_alarm(
            AlarmName=f"{name}-system-errors",
            EvaluationPeriods=1,
            Threshold=0,
            ComparisonOperator="GreaterThanThreshold",
            Metrics=[*terms, {"Id": "total", "Expression": "SUM(METRICS())", "ReturnData": True}],
        )
        cloudwatch.put_metric_alarm(
            AlarmName=f"{name}-read-throttle-events",
            Namespace="AWS/DynamoDB",
            MetricName="ReadThrottleEvents",
            Statistic="Sum",
            Period=300,
            EvaluationPeriods=2,
            Threshold=5,
            ComparisonOperator="GreaterThanThreshold",
            Dimensions=[{"Name": "TableName", "Value": name}],
        )
        if shape == "per-table":
            backup.create_backup_selection(
                BackupPlanId=plan(f"{name}-backup-plan", "cron(0 2 * * ? *)"),
                BackupSelection={
                    "SelectionName": f"{name}-backup-selection",
                    "IamRoleArn": ROLE,
                    "Resources": [desc["TableArn"]],
                },
            )

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(one, range(n)))


def measure(shape: str, n: int, runs: int, scratch: Path) -> dict[str, Any]:
    from tablesmith.audit import DEFAULT_REGIONS, run_audit
    from tablesmith.aws import Clients
    from tablesmith.engine import resolve_target
    from tablesmith.local.server import LocalTarget
    from tablesmith.spec.model import Environment

    state = scratch / f"{shape}-{n}"
    with LocalTarget(state) as endpoint:

        def new_clients() -> Clients:
            return Clients(
                resolve_target(
                    Environment(name="bench", region=PRIMARY),
                    endpoint_url=endpoint,
                    local=True,
                    state_dir=str(state),
                )
            )

        started = time.monotonic()
        fill(new_clients(), n, shape)
        filled = time.monotonic() - started
        walls: list[float] = []
        calls: Counter[str] = Counter()
        findings = 0
        for _ in range(runs):
            report = run_audit(new_clients(), DEFAULT_REGIONS)
            walls.append(report.seconds)
            calls, findings = report.calls, len(report.findings)
            assert len(report.inventory.tables) == n, len(report.inventory.tables)
        started = time.monotonic()
        cli = subprocess.run(
            [str(EXE), "audit", "--local", "--state-dir", str(state), "--json"],
            capture_output=True,
            text=True,
            timeout=1800,
            check=False,
        )
        cli_wall = time.monotonic() - started
        if cli.returncode != 0:
            raise SystemExit(f"tablesmith audit failed: {cli.stderr}")
        cli_calls = json.loads(cli.stdout)["summary"]["aws_calls"]
    total = sum(calls.values())
    return {
        "shape": shape,
        "n": n,
        "fill_s": filled,
        "lib_s": statistics.median(walls),
        "cli_s": cli_wall,
        "calls": total,
        "per_table": total / n,
        "cli_calls": cli_calls,
        "findings": findings,
        "by_api": dict(calls),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes",
        type=lambda s: tuple(int(x) for x in s.split(",")),
        default=SIZES,
        help="table counts, comma-separated (default 10,100,1000)",
    )
    parser.add_argument(
        "--shapes",
        type=lambda s: tuple(s.split(",")),
        default=SHAPES,
        help="shared, per-table or both (default)",
    )
    parser.add_argument("--runs", type=int, default=3, help="library audits per case")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory(prefix="tablesmith-bench-audit-") as tmp:
        scratch = Path(tmp)
        clean_environment(scratch)
        for shape in args.shapes:
            for n in args.sizes:
                result = measure(shape, n, args.runs, scratch)
                results.append(result)
                print(
                    f"{shape:9}  N={n:<5}  fill {result['fill_s']:6.1f}s  "
                    f"audit (lib) {result['lib_s']:6.2f}s  (CLI) {result['cli_s']:6.2f}s  "
                    f"calls {result['calls']:5}  per table {result['per_table']:.2f}",
                    flush=True,
                )
    print()
    print(
        "| shape | N | audit (library) s | audit (CLI) s | AWS calls | calls/table | "
        "target ≤ 2.5 at 1,000 |"
    )
    print("|---|---|---|---|---|---|---|")
    for r in results:
        verdict = ("PASS" if r["per_table"] <= 2.5 else "FAIL") if r["n"] >= 1000 else "–"
        print(
            f"| {r['shape']} | {r['n']} | {r['lib_s']:.2f} | {r['cli_s']:.2f} | "
            f"{r['calls']} | {r['per_table']:.2f} | {verdict} |"
        )
    print()
    apis = sorted({api for r in results for api in r["by_api"]})
    print("| operation | " + " | ".join(f"{r['shape']} N={r['n']}" for r in results) + " |")
    print("|---|" + "---|" * len(results))
    for api in apis:
        print(f"| {api} | " + " | ".join(str(r["by_api"].get(api, 0)) for r in results) + " |")


if __name__ == "__main__":
    main()
