"""The AWS calls of a no-change plan of a whole environment (tables, AWS Backup, alarms).

Counted, not timed: a plan of ``N`` tables on the embedded local target, right after they
were applied, makes per table at most the documented number of calls (docs/benchmarks.md,
"Calls per table"), every other call being a fixed cost of the run (endpoint probes, the
region's bulk reads). The breakdown is asserted per API, so a reader that starts reading
per table again fails here with its name.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

import yaml

import tablesmith
from tablesmith.engine import Session

if TYPE_CHECKING:
    from pathlib import Path

N = 4
CALLS_PER_TABLE = 5  # the documented number (docs/benchmarks.md)
# the APIs with no bulk form, called once per table of a no-change plan
PER_TABLE = {
    "dynamodb.DescribeTable": 1,
    "dynamodb.DescribeContinuousBackups": 1,
    "dynamodb.DescribeTimeToLive": 1,
    "backup.GetBackupPlan": 1,
    "backup.ListBackupSelections": 1,
}
# per run, whatever N (the pages of the bulk reads grow by one per 100 tables)
FIXED = {
    "dynamodb.ListTagsOfResource": 1,  # endpoint probes (a custom endpoint only)
    "dynamodb.DescribeContinuousBackups": 1,
    "backup.ListBackupVaults": 2,  # probe + listing
    "cloudwatch.DescribeAlarms": 3,  # probe + the prefix scan + the shared UserErrors alarm
    "backup.ListBackupPlans": 1,
    "resourcegroupstaggingapi.GetResources": 1,
    "iam.GetAccountAuthorizationDetails": 1,
    "kms.DescribeKey": 1,
    "sts.GetCallerIdentity": 1,  # the account the plan records
}


def spec(directory: Path) -> Path:
    tables = {
        f"calls_{i}": {
            "partition_key": {"name": "PK", "type": "S"},
            "sort_key": {"name": "SK", "type": "S"},
            "global_secondary_indexes": [
                {"name": "ByA", "hash_key": {"name": "a", "type": "S"}, "projection_type": "ALL"},
                {
                    "name": "ByB",
                    "hash_key": {"name": "b", "type": "S"},
                    "range_key": {"name": "c", "type": "N"},
                    "projection_type": "KEYS_ONLY",
                },
            ],
        }
        for i in range(N)
    }
    doc = {
        "version": 1,
        "defaults": {
            "tags": {
                "Project": "Calls",
                "Owner": "perf",
                "CostCenter": "CC-1",
                "ManagedBy": "tablesmith",
                "Component": "dynamodb",
            }
        },
        "environments": {"dev": {}},
        "tables": tables,
    }
    path = directory / "spec.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def session(path: Path, endpoint: str) -> Session:
    return Session.for_environment(tablesmith.load(path, env="dev"), "dev", endpoint_url=endpoint)


def test_no_change_plan_calls_per_table(local_fresh: str, tmp_path: Path) -> None:
    path = spec(tmp_path)
    first = session(path, local_fresh)
    plan = first.plan()
    assert {op.op for op in plan.operations} >= {
        "CreateTable",
        "CreateBackupPlan",
        "PutMetricAlarm",
        "CreateRole",
    }
    first.apply(plan, allowed=frozenset())

    again = session(path, local_fresh)
    assert not again.plan().operations
    calls = Counter(again.clients.calls)
    allowed = Counter({op: n * N for op, n in PER_TABLE.items()}) + Counter(FIXED)
    over = {op: (count, allowed[op]) for op, count in calls.items() if count > allowed[op]}
    assert not over, f"calls above the documented breakdown (made, allowed): {over}"
    assert sum(PER_TABLE.values()) <= CALLS_PER_TABLE
    assert calls.total() <= CALLS_PER_TABLE * N + sum(FIXED.values())


# what reading back costs during an apply, and the apply reads none of it here
READ_BACK = ("dynamodb.DescribeTable", "iam.GetRole", "backup.ListBackupPlans")


def test_apply_from_empty_makes_one_call_per_operation(local_fresh: str, tmp_path: Path) -> None:
    """The local target answers CreateTable with an ACTIVE table (AWS: CREATING, then one
    DescribeTable per wait), so an apply from empty makes each operation's own call and
    nothing else: a table seen settled is not described again before its next operations,
    and a backup selection takes its plan's id and role's ARN from their creation."""
    first = session(spec(tmp_path), local_fresh)
    plan = first.plan()
    read = Counter(first.clients.calls)
    first.apply(plan, allowed=frozenset())
    made = Counter(first.clients.calls) - read
    assert not {op: made[op] for op in READ_BACK if made[op]}
    assert made.total() == len(plan.operations), made
