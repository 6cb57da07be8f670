"""Faults at the API (issue 14, item 3): apply converges through a proxy that throttles,
fails, answers late and loses answers after the call took effect, and makes nothing twice.

The proxy (``tests/fault_proxy.py``) sits in front of this worker's embedded local target;
the live state is checked straight at the target, past the proxy. botocore retries the
throttling, the 5xx and the dropped connections (``aws.RETRY_CONFIG``); what these tests prove
is what happens when a retried call already took effect: AWS Backup's creates carry a
deterministic CreatorRequestId, and CreateTable / UpdateTable (no token) are found before they
are made again.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from typing import Any

import boto3
import pytest

import tablesmith
from fault_proxy import FaultProxy, is_mutating
from tablesmith.engine import Session
from tablesmith.errors import TablesmithError

EXAMPLES = "examples/bbws.yaml"
RATE = 0.2
SEEDS = {"dev": 1401, "sit": 1402, "prod": 1403}  # one per environment, fixed: reproducible
# make soak: TABLESMITH_FAULT_SEEDS=N makes N more seeds per environment (printed per run)
MORE = int(os.environ.get("TABLESMITH_FAULT_SEEDS", "0"))
RUNS = [(env, seed) for env, seed in SEEDS.items()] + [
    (env, 5000 + 10 * k + i) for k in range(MORE) for i, env in enumerate(SEEDS)]
MAX_APPLIES = 3  # a user re-runs apply when an error surfaces; it must converge by then


def duplicates(endpoint: str, session: Session) -> dict[str, list[str]]:
    """Every name that exists more than once, per kind of resource, read at the target."""
    regions = sorted(
        {t.region for t in session.tables} | {r for t in session.tables for r in t.replicas}
    )
    seen: dict[str, Counter[str]] = {}

    def client(service: str, region: str) -> Any:
        # a service by name: no boto3-stubs overload for a plain str
        return boto3.client(service, endpoint_url=endpoint, region_name=region)  # type: ignore[call-overload]

    for region in regions:
        dynamodb, backup = client("dynamodb", region), client("backup", region)
        for name in dynamodb.list_tables()["TableNames"]:
            table = dynamodb.describe_table(TableName=name)["Table"]
            seen[f"indexes of {name} in {region}"] = Counter(
                g["IndexName"] for g in table.get("GlobalSecondaryIndexes", [])
            )
            seen[f"replicas of {name} in {region}"] = Counter(
                r["RegionName"] for r in table.get("Replicas", [])
            )
        plans = backup.list_backup_plans()["BackupPlansList"]
        seen[f"backup plans in {region}"] = Counter(p["BackupPlanName"] for p in plans)
        for plan in plans:
            seen[f"selections of {plan['BackupPlanName']}"] = Counter(
                s["SelectionName"]
                for s in backup.list_backup_selections(BackupPlanId=plan["BackupPlanId"])[
                    "BackupSelectionsList"
                ]
            )
        seen[f"backup vaults in {region}"] = Counter(
            v["BackupVaultName"] for v in backup.list_backup_vaults()["BackupVaultList"]
        )
        seen[f"alarms in {region}"] = Counter(
            a["AlarmName"] for a in client("cloudwatch", region).describe_alarms()["MetricAlarms"]
        )
    seen["IAM roles"] = Counter(
        r["RoleName"] for r in client("iam", regions[0]).list_roles()["Roles"]
    )
    assert seen["backup plans in af-south-1"], "the example makes backup plans"
    return {
        kind: sorted(n for n, c in names.items() if c > 1)
        for kind, names in seen.items()
        if any(c > 1 for c in names.values())
    }


def report(env: str, proxy: FaultProxy, applies: int, seconds: float) -> None:
    """The counts the issue asks for (shown with -s or on failure)."""
    print(
        f"\n{env}: seed {proxy.seed}, {proxy.requests} requests, {proxy.total_injected} "
        f"faults injected {dict(sorted(proxy.injected.items()))}, {applies} apply run(s), "
        f"{seconds:.1f}s"
    )


@pytest.mark.parametrize(("env", "seed"), RUNS)
def test_apply_converges_at_a_20_percent_fault_rate(env: str, seed: int, local_fresh: str) -> None:
    spec = tablesmith.load(EXAMPLES, env=env)
    started = time.monotonic()
    errors: list[str] = []
    with FaultProxy(local_fresh, rate=RATE, seed=seed) as proxy:
        for _ in range(MAX_APPLIES):
            session = Session.for_environment(spec, env, endpoint_url=proxy.url)
            try:
                session.apply(session.plan(), allowed=frozenset())
                break
            except TablesmithError as exc:  # what a user would see, and re-run after
                errors.append(str(exc))
        else:
            pytest.fail(f"{env}: still failing after {MAX_APPLIES} applies:\n" + "\n".join(errors))
    report(env, proxy, len(errors) + 1, time.monotonic() - started)
    # the faults were real: about one request in five, of every kind over the run
    assert proxy.total_injected >= RATE / 2 * proxy.requests
    assert proxy.injected["lost_drop"] + proxy.injected["lost_500"] > 0

    direct = Session.for_environment(spec, env, endpoint_url=local_fresh)
    again = direct.plan()
    assert not again.operations, [(op.op, op.table, op.reason) for op in again.operations]
    assert duplicates(local_fresh, direct) == {}


def test_nothing_is_made_twice_when_every_create_loses_its_answer(local_fresh: str) -> None:
    """prod (replicas, DR vaults, backup, roles, alarms): the first answer of every mutating
    call is lost after the call took effect; one apply must still succeed."""
    spec = tablesmith.load(EXAMPLES, env="prod")
    started = time.monotonic()
    with FaultProxy(local_fresh, seed=SEEDS["prod"], lose_first=is_mutating) as proxy:
        session = Session.for_environment(spec, "prod", endpoint_url=proxy.url)
        session.apply(session.plan(), allowed=frozenset())
    report("prod, every first answer lost", proxy, 1, time.monotonic() - started)
    lost = {op.split(" ", 1)[1] for op in proxy.faulted_operations}
    for create in (
        "DynamoDB.CreateTable",
        "DynamoDB.UpdateTable",
        "CreateRole",
        "PUT /backup/plans/",
    ):
        assert create in lost, sorted(lost)
    assert any(op.startswith("PUT /backup-vaults/") for op in lost)
    assert any(op.endswith("/selections/") for op in lost)

    direct = Session.for_environment(spec, "prod", endpoint_url=local_fresh)
    again = direct.plan()
    assert not again.operations, [(op.op, op.table, op.reason) for op in again.operations]
    assert duplicates(local_fresh, direct) == {}
