"""The least-privilege IAM policy for one environment: what ``plan`` or ``apply``/``destroy``
calls, on exactly the resources the environment's tables name.

``iam_policy(tables, account=..., environment=..., read_only=...)`` is a pure function of the
effective tables (no I/O): the CLI's ``tablesmith iam-policy`` prints it. Every call that
``live``, ``apply`` and ``aws`` make is granted here; each resource family grants its own
(``ResourceFamily.iam_statements``, built with ``tablesmith.grants``: AWS Backup's and the
alarms' scoping is described below), and
the acceptance test ``tests/acceptance/test_least_privilege.py`` proves the set against an
IAM-enforcing moto by counting the calls (``Clients.calls``).

Scoping, by family:

* DynamoDB: changes on the tables' ARNs in their region and each replica region, with their
  indexes (``/index/*``) and streams (``/stream/*``). A live replica the spec no longer lists
  is in a region the spec cannot name: reads, and the removal of a replica, are granted on the
  table's name in any region. Tables that left the spec (``--prune``) are found by their
  ownership tag, so their reads and the prune's delete are granted on ``table/*`` only with
  ``aws:ResourceTag/tablesmith:managed = <environment>``, the same rule tablesmith applies.
* AWS Backup: vault ARNs by name (``<t>-backup-vault``, ``-backup-vault-dr``); a backup plan's
  ARN ends in an ID AWS generates, so plans are granted on ``backup-plan:*`` in the tables'
  regions. Reads and removals are granted for every table (a table whose backup was turned
  off still has its resources read and removed); creation only where backup is on.
* IAM: the backup roles by ARN; ``AttachRolePolicy`` only of AWS Backup's two managed
  policies; ``iam:PassRole`` only to ``backup.amazonaws.com``.
* CloudWatch: ``PutMetricAlarm`` on exactly the alarm names the spec derives; ``DeleteAlarms``
  on the table's own prefix (``<table>-*``, the names ``is_table_alarm`` recognises), since an
  alarm of a removed index or replica has a name the spec no longer derives.
* Actions AWS does not scope to a resource get ``Resource: "*"``, one statement each, whose
  ``Sid`` says why (IAM Sids take only letters and digits).

The account: a 12-digit ID, or the IAM policy variable ``${aws:PrincipalAccount}``, which IAM
replaces with the account of the principal the policy is attached to (the CLI asks STS first).
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from tablesmith import grants
from tablesmith.around.registry import FAMILIES
from tablesmith.grants import table_arns
from tablesmith.spec.model import OWNERSHIP_TAG, LockSettings
from tablesmith.spec.regions import partition

if TYPE_CHECKING:
    from collections.abc import Sequence

    from tablesmith.spec.model import Table

PRINCIPAL_ACCOUNT = "${aws:PrincipalAccount}"
VERSION = "2012-10-17"

# --------------------------------------------------------------------------- actions

TABLE_READS = (
    "dynamodb:DescribeContinuousBackups",
    "dynamodb:DescribeTable",
    "dynamodb:DescribeTimeToLive",
    "dynamodb:ListTagsOfResource",
)
TABLE_WRITES = (
    "dynamodb:CreateTable",
    "dynamodb:DeleteTable",
    "dynamodb:TagResource",
    "dynamodb:UntagResource",
    "dynamodb:UpdateContinuousBackups",
    "dynamodb:UpdateTable",
    "dynamodb:UpdateTimeToLive",
)
# global tables (version 2019.11.21): adding a replica is an UpdateTable that DynamoDB carries
# out as the caller, in the source and the replica Region, with these (Developer Guide,
# "Using IAM with global tables"); removing one needs DeleteTableReplica and DeleteTable
REPLICA_WRITES = (
    "dynamodb:BatchWriteItem",
    "dynamodb:CreateTable",
    "dynamodb:CreateTableReplica",
    "dynamodb:DeleteItem",
    "dynamodb:DeleteTable",
    "dynamodb:DeleteTableReplica",
    "dynamodb:DescribeTable",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:Query",
    "dynamodb:Scan",
    "dynamodb:UpdateItem",
    "dynamodb:UpdateTable",
)
REPLICATION_ROLE = "replication.dynamodb.amazonaws.com"
# Called when allowed, never granted here: one GetAccountAuthorizationDetails page reads every
# backup role at once (around.backup), but it would let the plan read every role and policy of
# the account. Denied, each role is read with around.backup.ROLE_READS instead (2 calls per
# table more).
USED_IF_ALLOWED = frozenset({"iam:GetAccountAuthorizationDetails"})
# (Sid, action, why) of the actions that AWS does not scope to a resource: Resource "*"
UNSCOPED_READS: tuple[tuple[str, str], ...] = (
    ("ListTablesHasNoResourceFindsOrphansWhereTheTaggingApiIsMissing", "dynamodb:ListTables"),
    ("GetResourcesHasNoResourceFindsTablesCarryingTheOwnershipTag", "tag:GetResources"),
    ("GetCallerIdentityHasNoResourceNamesTheAccountInPlans", "sts:GetCallerIdentity"),
    ("DescribeAlarmsIsReadByNamePrefixNotByAlarmArn", "cloudwatch:DescribeAlarms"),
    ("ListBackupVaultsHasNoResourceFindsTheVaultsByName", "backup:ListBackupVaults"),
    ("ListBackupPlansHasNoResourcePlansAreFoundByName", "backup:ListBackupPlans"),
    (
        "DescribeRegionSettingsHasNoResourceChecksAdvancedDynamodbBackup",
        "backup:DescribeRegionSettings",
    ),
    ("DescribeKeyOfAliasAwsDynamodbWhoseKeyArnDiffersPerAccount", "kms:DescribeKey"),
)


# --------------------------------------------------------------------------- ARNs


_arn = grants.arn


def _regions(table: Table) -> list[str]:
    return sorted({table.region, *table.replicas})


# --------------------------------------------------------------------------- policy


_statement = grants.statement


def _owned(environment: str) -> dict[str, Any]:
    return {"StringEquals": {f"aws:ResourceTag/{OWNERSHIP_TAG}": environment}}


def iam_policy(
    tables: Sequence[Table], *, account: str, environment: str, read_only: bool = False,
    lock: LockSettings | None = None,
) -> dict[str, Any]:
    """The IAM policy document that ``plan`` (``read_only``) or ``apply``/``destroy`` of
    ``tables`` (one environment's effective tables) needs, and nothing more.

    ``lock``: the spec's ``conventions.lock``; on AWS apply and destroy hold a lease in its
    table (tablesmith.lock), so they need that table too.
    """
    tables = sorted(tables, key=lambda t: (t.region, t.table_name))
    statements: list[dict[str, Any]] = [
        _statement(sid, [action], "*") for sid, action in UNSCOPED_READS
    ]
    if tables:
        scoped = _table_statements(tables, account, environment, read_only)
        for family in FAMILIES:  # each family grants what it calls (resource policies, ...)
            scoped += family.iam_statements(tables, account, read_only)
        scoped += _lock_statements(tables, account, read_only, lock or LockSettings())
        statements += merge_statements(scoped)
    return {"Version": VERSION, "Statement": statements}


def _lock_statements(tables: Sequence[Table], account: str, read_only: bool,
                     lock: LockSettings) -> list[dict[str, Any]]:
    """The lease table apply/destroy write (created on first use: PITR and TTL on)."""
    if read_only or lock.mode in ("off", "file"):
        return []
    regions = sorted({t.region for t in tables})
    return [_statement("LockLeaseTable", [
        "dynamodb:DescribeTable", "dynamodb:CreateTable", "dynamodb:TagResource",
        "dynamodb:UpdateContinuousBackups", "dynamodb:UpdateTimeToLive",
        "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:GetItem",
        "dynamodb:Scan"],  # Scan: force-unlock finds a lease by its id
        [_arn("dynamodb", region, account, f"table/{lock.table}") for region in regions])]


def merge_statements(statements: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One statement per (Resource, Condition): the union of their actions, their Sids joined
    with "Also". Lossless (each action keeps exactly its resources and condition), and it
    keeps a policy within IAM's size limits (a managed policy holds 6,144 characters)."""
    merged: dict[str, dict[str, Any]] = {}
    for statement in statements:
        key = json.dumps([statement["Resource"], statement.get("Condition")], sort_keys=True)
        same = merged.get(key)
        if same is None:
            merged[key] = dict(statement)
            continue
        same["Sid"] = f"{same['Sid']}Also{statement['Sid']}"
        same["Action"] = sorted({*same["Action"], *statement["Action"]})
    return list(merged.values())


# IAM's quotas on a policy's characters, whitespace not counted
MANAGED_POLICY_LIMIT = 6144
ROLE_INLINE_LIMIT = 10240


def policy_size(policy: dict[str, Any]) -> int:
    """The characters IAM counts against its size quotas (no whitespace)."""
    return len(re.sub(r"\s", "", json.dumps(policy)))


def _table_statements(
    tables: Sequence[Table], account: str, environment: str, read_only: bool
) -> list[dict[str, Any]]:
    arns = [
        arn
        for t in tables
        for region in _regions(t)
        for arn in table_arns(t.table_name, region, account)
    ]
    # by name in any region: a live replica the spec no longer lists is still read (and
    # removed), in a region the spec cannot name
    anywhere = [
        f"arn:{partition(t.region)}:dynamodb:*:{account}:table/{t.table_name}" for t in tables
    ]
    owned = sorted({_arn("dynamodb", t.region, account, "table/*") for t in tables})
    out = [
        _statement("ReadTheTablesAndTheirReplicasWhereverTheyAre", TABLE_READS, anywhere),
        _statement(
            "ReadTablesThatLeftTheSpecByTheirOwnershipTag", TABLE_READS, owned, _owned(environment)
        ),
    ]
    if read_only:
        return out
    out.append(_statement("ChangeTheTables", TABLE_WRITES, arns))
    out.append(
        _statement(
            "RemoveReplicasInRegionsTheSpecNoLongerLists",
            ("dynamodb:DeleteTable", "dynamodb:DeleteTableReplica"),
            anywhere,
        )
    )
    out.append(
        _statement(
            "PruneOnlyTablesThisEnvironmentOwns",
            ("dynamodb:DeleteTable",),
            owned,
            _owned(environment),
        )
    )
    replicated = [t for t in tables if t.replicas]
    if replicated:
        out.append(
            _statement(
                "CreateReplicasGlobalTablesActAsTheCaller",
                REPLICA_WRITES,
                [
                    arn
                    for t in replicated
                    for region in _regions(t)
                    for arn in table_arns(t.table_name, region, account)
                ],
            )
        )
        first = replicated[0]
        out.append(
            _statement(
                "CreateTheReplicationServiceLinkedRoleOnce",
                ("iam:CreateServiceLinkedRole",),
                f"arn:{partition(first.region)}:iam::{account}:role/aws-service-role/"
                f"{REPLICATION_ROLE}/AWSServiceRoleForDynamoDBReplication",
                {"StringEquals": {"iam:AWSServiceName": REPLICATION_ROLE}},
            )
        )
    keys = sorted(
        {
            key
            for t in tables
            if t.encryption.type == "CUSTOMER_MANAGED"
            for key in (t.encryption.kms_key_arn, *t.encryption.replica_kms_key_arns.values())
            if key
        }
    )
    if keys:
        regions = sorted({r for t in tables for r in _regions(t)})
        out.append(
            _statement(
                "UseTheCustomerKeysOnlyThroughDynamodb",
                ("kms:CreateGrant", "kms:DescribeKey"),
                keys,
                {
                    "StringEquals": {
                        "kms:ViaService": [f"dynamodb.{r}.amazonaws.com" for r in regions]
                    }
                },
            )
        )
    return out


def policy_json(policy: dict[str, Any]) -> str:
    """The policy as IAM takes it (indented, keys in a stable order)."""
    return json.dumps(policy, indent=2)


def actions(policy: dict[str, Any]) -> list[str]:
    """Every action a policy grants, sorted (each once)."""
    return sorted({a for s in policy["Statement"] for a in s["Action"]})
