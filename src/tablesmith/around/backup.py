"""AWS Backup around a table: the module's vault, plan, selection, IAM role and DR vaults.

Pipeline (``tablesmith.around`` describes the contract):

* names: everything is named from the table's physical name, as the module does
  (``<t>-backup-vault``, ``-backup-plan``, ``-backup-rule``, ``-backup-selection``,
  ``-backup-role``, and ``-backup-vault-dr`` in each replica region); the names and
  ``backup_name_problems``, which validation uses to check them against AWS's own limits
  before anything is called, are the spec's (``tablesmith.spec.names``);
* ``read_backups``: the live resources in ``resources.Backup`` (the model ``desired_backup``
  produces), ARNs and IDs beside it in ``state.LiveBackup``; resources are found by name;
* ``diff_backup`` / ``diff_backup_destroy``: pure, ordered operations with hazards;
* ``notices``: cross-Region copy of DynamoDB backups needs AWS Backup's advanced DynamoDB
  backup setting in the source Region, which tablesmith reports but does not change (it is
  account-wide for the Region, not the table's to own);
* ``HANDLERS``: one handler per operation, through the apply runner's public helpers.

Order. Creation: role -> its two policies -> DR vaults -> vault -> plan (its copy actions name
the DR vaults' ARNs, and its rule the vault) -> selection (names the plan and the role).
Removal, the reverse: selection (AWS refuses to delete a plan that still has selections) ->
plan -> DR vaults -> vault -> policies (IAM refuses to delete a role with attached policies) ->
role. AWS refuses to delete a vault that still holds recovery points.

Tags of vaults, plan and role are ``UpdateTags`` (``TagResource``/``UntagResource`` are the
table's): AWS Backup TagResource/UntagResource for a vault or the plan, IAM TagRole/UntagRole
for the role, with exactly the keys that change. A role's trust policy is
``UpdateAssumeRolePolicy``; the module's lacks the ``aws:SourceAccount`` condition, which is a
module defect (``MODULE_TRUST``). ``UpdateBackupPlan`` changes the rule only.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from tablesmith import grants as iam
from tablesmith.around.contract import (
    CfnString,
    CloudFormationAt,
    CloudFormationOut,
    CloudFormationOutputs,
    CrossRegionReference,
    FamilyBase,
    Handler,
    ReadContext,
    TerraformAt,
    TerraformOut,
    handler,
    lacks_api,
)
from tablesmith.aws import ACCESS_DENIED, aws_context, error_code
from tablesmith.errors import ApplyError, AwsError, UsageError
from tablesmith.hazards import HazardCode
from tablesmith.plan import Action, Category, Op
from tablesmith.render.values import field_changes, tag_lines
from tablesmith.resources import (
    BACKUP_POLICIES,
    BACKUP_SERVICE,
    Backup,
    BackupPlan,
    BackupRole,
    BackupRule,
    BackupSelection,
    BackupVault,
    CopyAction,
    desired_backup,
)
from tablesmith.spec.names import BackupNames
from tablesmith.spec.names import backup_name_problems as backup_name_problems
from tablesmith.spec.names import backup_names as backup_names
from tablesmith.spec.regions import partition
from tablesmith.state import FamilyState

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from tablesmith.aws import Clients
    from tablesmith.spec.model import Table
    from tablesmith.state import LiveTable
    from tablesmith.tags import BulkTags

Ops = list[Any]

MAX_READERS = 16
ADVANCED_BACKUP_COMMAND = ("aws backup update-region-settings "
                           "--resource-type-management-preference DynamoDB=true --region {region}")
# IAM is eventually consistent: a role made seconds ago may not yet be assumable by AWS
# Backup, which then refuses CreateBackupSelection with InvalidParameterValueException.
IAM_PROPAGATION_DELAYS = (2.0, 4.0, 8.0, 16.0, 30.0)
TaggedResource = Literal["backup vault", "backup plan", "IAM role"]  # UpdateTags.resource
MODULE_TRUST = ("the Terraform module's trust policy lets AWS Backup assume the role on behalf "
                "of any account (no aws:SourceAccount condition: the confused deputy)")


# --------------------------------------------------------------------------- operations
# ``table`` is the physical table the resource belongs to (plans group by it); ``region`` is
# where the call is made (a DR vault: the replica's region; IAM: global, made from the
# table's region).


class CreateBackupVault(Op):
    """CreateBackupVault (with its tags)."""

    op: Literal["CreateBackupVault"] = "CreateBackupVault"
    action: Action = Action.CREATE
    after: BackupVault


class DeleteBackupVault(Op):
    """DeleteBackupVault (AWS refuses while it holds recovery points)."""

    op: Literal["DeleteBackupVault"] = "DeleteBackupVault"
    action: Action = Action.DELETE
    before: BackupVault
    recovery_points: int = 0


class CreateBackupPlan(Op):
    """CreateBackupPlan with its one rule (and copy actions)."""

    op: Literal["CreateBackupPlan"] = "CreateBackupPlan"
    action: Action = Action.CREATE
    after: BackupPlan


class UpdateBackupPlan(Op):
    """UpdateBackupPlan: a changed schedule, retention or copy action keeps the plan."""

    op: Literal["UpdateBackupPlan"] = "UpdateBackupPlan"
    action: Action = Action.UPDATE
    before: BackupPlan
    after: BackupPlan


class DeleteBackupPlan(Op):
    """DeleteBackupPlan (its selection goes first)."""

    op: Literal["DeleteBackupPlan"] = "DeleteBackupPlan"
    action: Action = Action.DELETE
    before: BackupPlan


class CreateBackupSelection(Op):
    """CreateBackupSelection of the table, assumed through the backup role."""

    op: Literal["CreateBackupSelection"] = "CreateBackupSelection"
    action: Action = Action.CREATE
    after: BackupSelection


class DeleteBackupSelection(Op):
    """DeleteBackupSelection."""

    op: Literal["DeleteBackupSelection"] = "DeleteBackupSelection"
    action: Action = Action.DELETE
    before: BackupSelection


class CreateRole(Op):
    """IAM CreateRole trusted by backup.amazonaws.com (policies attach separately)."""

    op: Literal["CreateRole"] = "CreateRole"
    action: Action = Action.CREATE
    after: BackupRole


class UpdateAssumeRolePolicy(Op):
    """IAM UpdateAssumeRolePolicy: the role's trust policy (conditions already on it stay)."""

    op: Literal["UpdateAssumeRolePolicy"] = "UpdateAssumeRolePolicy"
    action: Action = Action.UPDATE
    before: BackupRole
    after: BackupRole


class UpdateTags(Op):
    """Tag and untag a backup vault, backup plan or IAM role (AWS Backup TagResource /
    UntagResource, IAM TagRole / UntagRole): the table's own tags are TagResource."""

    op: Literal["UpdateTags"] = "UpdateTags"
    action: Action = Action.UPDATE
    resource: Literal["backup vault", "backup plan", "IAM role"]
    name: str  # the vault, plan or role
    before: dict[str, str]  # the current values of the keys that change or go
    after: dict[str, str]  # the new values of the keys added or changed (absent: removed)


class AttachRolePolicy(Op):
    """IAM AttachRolePolicy of one managed policy."""

    op: Literal["AttachRolePolicy"] = "AttachRolePolicy"
    action: Action = Action.UPDATE
    role: str
    policy_arn: str


class DetachRolePolicy(Op):
    """IAM DetachRolePolicy of one managed policy."""

    op: Literal["DetachRolePolicy"] = "DetachRolePolicy"
    action: Action = Action.UPDATE
    role: str
    policy_arn: str


class DeleteRole(Op):
    """IAM DeleteRole (its policies are detached first)."""

    op: Literal["DeleteRole"] = "DeleteRole"
    action: Action = Action.DELETE
    before: BackupRole


# --------------------------------------------------------------------------- live state


class LiveBackup(BaseModel):
    """A table's AWS Backup resources as read: the same model as desired, plus ARNs and IDs."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    backup: Backup
    vault_arn: str | None = None
    dr_vault_arns: dict[str, str] = {}  # region -> ARN
    plan_id: str | None = None
    plan_arn: str | None = None
    plan_version: str | None = None
    selection_id: str | None = None
    role_arn: str | None = None
    recovery_points: dict[str, int] = {}  # "<region>/<vault>" -> count (DELETES_DATA)


class BackupState(FamilyState):
    """What ``read_backups`` found: per table its resources (absent: none), and per Region
    with copy actions in the spec AWS Backup's advanced DynamoDB backup setting."""

    tables: dict[str, LiveBackup] = Field(default_factory=dict)
    advanced_dynamodb_backup: dict[str, bool] = Field(default_factory=dict)

    def fingerprint(self, table: str) -> object:
        found = self.tables.get(table)
        return found.model_dump(mode="json") if found is not None else None


# --------------------------------------------------------------------------- read


def read_backups(clients: Clients, tables: Sequence[Table], *,
                 live_tables: Mapping[str, LiveTable | None] | None = None,
                 destroy: bool = False, bulk: BulkTags | None = None,
                 ) -> tuple[dict[str, LiveBackup], dict[str, bool]]:
    """The live backup resources of ``tables`` (absent: no entry), and per Region with copy
    actions in the spec, AWS Backup's advanced DynamoDB backup setting.

    ``live_tables`` (the tables just read) adds each table's live replica Regions to where DR
    vaults are looked for, so that a vault left behind by a removed replica is found; the live
    plan's copy actions add theirs too. Recovery points are counted only for vaults the plan
    would delete (every vault with ``destroy``), which is all the count decides.
    Calls: ListBackupPlans and ListBackupVaults once per Region (a vault's ARN comes from the
    listing), the roles in bulk (``_list_roles``: one IAM GetAccountAuthorizationDetails page
    per 1,000 roles of the account, or GetRole + ListAttachedRolePolicies per table where
    that is refused or not worth it); per table with a plan GetBackupPlan +
    ListBackupSelections (+ GetBackupSelection unless ``_known_selection`` proves it). Tags of
    vaults and plans come from ``bulk`` (GetResources) where they equal the spec's, else
    ListTags per resource.
    """
    if not tables:
        return {}, {}
    regions = sorted({t.region for t in tables})
    copy_regions = sorted({t.region for t in tables
                           if _copies(desired_backup(t))})
    live_tables = live_tables or {}
    # every region a vault of ours may be in: the tables', and their replicas' (spec or live)
    vault_regions = sorted(set(regions) | {r for t in tables for r in t.replicas} | {
        r for live in live_tables.values() if live is not None for r in live.table.replicas})
    workers = min(MAX_READERS, len(regions) + len(copy_regions) + len(vault_regions))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        listed = dict(zip(regions, pool.map(lambda r: _list_plans(clients, r), regions),
                          strict=True))
        settings = dict(zip(copy_regions,
                            pool.map(lambda r: _advanced_backup(clients, r), copy_regions),
                            strict=True))
        # one ListBackupVaults per region instead of a DescribeBackupVault per table for
        # vaults that do not exist (most tables of a no-change plan have nothing to find)
        vaults = dict(zip(vault_regions,
                          pool.map(lambda r: _list_vaults(clients, r), vault_regions),
                          strict=True))
    roles = _list_roles(clients, tables)

    def read(table: Table) -> LiveBackup | None:
        current = live_tables.get(table.table_name)
        replicas = tuple(current.table.replicas) if current is not None else ()
        return _read_table(clients, table, listed[table.region], replicas, destroy, vaults,
                           bulk=bulk, roles=roles,
                           table_arn=current.arn if current is not None else None)

    with ThreadPoolExecutor(max_workers=min(MAX_READERS, len(tables))) as pool:
        results = list(pool.map(read, tables))
    backups = {t.table_name: b for t, b in zip(tables, results, strict=True) if b is not None}
    return backups, settings


def _copies(backup: Backup) -> bool:
    return backup.plan is not None and bool(backup.plan.rule.copy_actions)


def _list_plans(clients: Clients, region: str) -> dict[str, dict[str, Any]]:
    """Backup plan name -> ListBackupPlans entry (deleted plans are not listed by default)."""
    plans: dict[str, dict[str, Any]] = {}
    with aws_context(f"listing backup plans in {region}"):
        for page in clients.client("backup", region).get_paginator(
                "list_backup_plans").paginate():
            for entry in page.get("BackupPlansList", []):
                if not entry.get("DeletionDate"):
                    plans[entry["BackupPlanName"]] = entry
    return plans


def _list_vaults(clients: Clients, region: str) -> dict[str, str]:
    """Name -> ARN of the backup vaults in a region."""
    names: dict[str, str] = {}
    with aws_context(f"listing backup vaults in {region}"):
        for page in clients.client("backup", region).get_paginator(
                "list_backup_vaults").paginate():
            names.update((v["BackupVaultName"], str(v["BackupVaultArn"]))
                         for v in page.get("BackupVaultList", []))
    return names


def _advanced_backup(clients: Clients, region: str) -> bool:
    """ResourceTypeManagementPreference["DynamoDB"]: absent means off."""
    from botocore.exceptions import ClientError

    with aws_context(f"describing AWS Backup settings of {region}"):
        try:
            answer = clients.client("backup", region).describe_region_settings()
        except ClientError:
            if clients.custom_endpoint:
                return True  # an emulator without the setting: nothing to report
            raise
    return bool(answer.get("ResourceTypeManagementPreference", {}).get("DynamoDB", False))


def _read_table(clients: Clients, table: Table, plans: dict[str, dict[str, Any]],
                live_replicas: tuple[str, ...], destroy: bool,
                vaults: Mapping[str, Mapping[str, str]], *, bulk: BulkTags | None = None,
                roles: Mapping[str, tuple[BackupRole, str] | None] | None = None,
                table_arn: str | None = None) -> LiveBackup | None:
    names = backup_names(table.table_name)
    region = table.region
    want = desired_backup(table)
    backup = clients.client("backup", region)
    found: dict[str, Any] = {}
    counts: dict[str, int] = {}

    listed = vaults.get(region)
    vault = _vault(backup, names.vault, region, arn=listed.get(names.vault) if listed else None,
                   bulk=bulk, wanted=want.vault.tags if want.vault else None) \
        if listed is None or names.vault in listed else None
    if vault is not None:
        found["vault"], found["vault_arn"] = vault
        if destroy or want.vault is None:
            counts[f"{region}/{names.vault}"] = _recovery_points(backup, names.vault, region)

    entry = plans.get(names.plan)
    if entry is not None:
        plan, selection, selection_id = _plan(backup, entry, table, bulk=bulk,
                                              live=want, table_arn=table_arn)
        found.update(plan=plan, plan_id=entry["BackupPlanId"], plan_arn=entry["BackupPlanArn"],
                     plan_version=entry.get("VersionId"), selection=selection,
                     selection_id=selection_id)

    # the role is looked for when backup is wanted or something of it remains; a lone role
    # left by an interrupted removal is harmless and is found again when backup comes back
    role = None
    if want.role is not None or found:
        role = roles[names.role] if roles is not None and names.role in roles else \
            _role(clients.client("iam", region), names.role)  # roles: the bulk read
    if role is not None:
        found["role"], found["role_arn"] = role

    # DR vaults: where the spec wants them, where the table has replicas now, where the live
    # plan copies to; a table with nothing of backup left in its own Region has none to find
    # beyond the spec's (they are removed before the vault and the role)
    dr_regions = {v.region for v in want.dr_vaults}
    if found:
        dr_regions |= set(live_replicas)
        live_plan: BackupPlan | None = found.get("plan")
        if live_plan is not None:
            dr_regions |= {c.destination_region for c in live_plan.rule.copy_actions}
    dr_regions.discard(region)
    wanted_dr = {v.region for v in want.dr_vaults}
    dr_vaults: list[BackupVault] = []
    dr_arns: dict[str, str] = {}
    for dr_region in sorted(dr_regions):
        dr_client = clients.client("backup", dr_region)
        listed_dr = vaults.get(dr_region)
        if listed_dr is not None and names.dr_vault not in listed_dr:
            continue
        wanted_tags = next((v.tags for v in want.dr_vaults if v.region == dr_region), None)
        dr = _vault(dr_client, names.dr_vault, dr_region,
                    arn=listed_dr.get(names.dr_vault) if listed_dr else None,
                    bulk=bulk, wanted=wanted_tags)
        if dr is None:
            continue
        dr_vaults.append(dr[0])
        dr_arns[dr_region] = dr[1]
        if destroy or dr_region not in wanted_dr:
            counts[f"{dr_region}/{names.dr_vault}"] = _recovery_points(
                dr_client, names.dr_vault, dr_region)

    if not found and not dr_vaults:
        return None
    return LiveBackup(
        backup=Backup(vault=found.get("vault"), plan=found.get("plan"),
                      selection=found.get("selection"), role=found.get("role"),
                      dr_vaults=tuple(dr_vaults)),
        vault_arn=found.get("vault_arn"), dr_vault_arns=dr_arns, plan_id=found.get("plan_id"),
        plan_arn=found.get("plan_arn"), plan_version=found.get("plan_version"),
        selection_id=found.get("selection_id"), role_arn=found.get("role_arn"),
        recovery_points=counts)


# AWS Backup answers DescribeBackupVault for a vault that does not exist with
# ResourceNotFoundException, and in some accounts with AccessDeniedException (Terraform's AWS
# provider treats both as "not found" for the same reason)
_VAULT_GONE = ("ResourceNotFoundException", "AccessDeniedException")


def _vault(client: Any, name: str, region: str, *, arn: str | None = None,
           bulk: BulkTags | None = None,
           wanted: Mapping[str, str] | None = None) -> tuple[BackupVault, str] | None:
    """The vault and its ARN (None: no such vault); ``arn`` known from ListBackupVaults saves
    the DescribeBackupVault, ``bulk`` the ListTags where it has the ``wanted`` tags."""
    from botocore.exceptions import ClientError

    with aws_context(f"describing backup vault '{name}' in {region}"):
        if arn is None:
            try:
                desc = client.describe_backup_vault(BackupVaultName=name)
            except ClientError as exc:
                if error_code(exc) in _VAULT_GONE:
                    return None
                raise
            arn = str(desc["BackupVaultArn"])
        found = arn
        tags = bulk.lookup(region, found, wanted, lambda: _backup_tags(client, found)) \
            if bulk is not None else _backup_tags(client, found)
    return BackupVault(name=name, region=region, tags=tags), found


def _backup_tags(client: Any, arn: str) -> dict[str, str]:
    """ListTags of a vault or plan (not paginated by botocore: NextToken by hand)."""
    tags: dict[str, str] = {}
    kwargs: dict[str, str] = {"ResourceArn": arn}
    while True:
        page = client.list_tags(**kwargs)
        tags.update(page.get("Tags") or {})
        token = page.get("NextToken")
        if not token:
            break
        kwargs["NextToken"] = token
    return {k: v for k, v in sorted(tags.items()) if not k.startswith("aws:")}


def _recovery_points(client: Any, name: str, region: str) -> int:
    with aws_context(f"counting recovery points in backup vault '{name}' in {region}"):
        return sum(len(page.get("RecoveryPoints", [])) for page in client.get_paginator(
            "list_recovery_points_by_backup_vault").paginate(BackupVaultName=name))


def _plan(client: Any, entry: dict[str, Any], table: Table, *, bulk: BulkTags | None = None,
          live: Backup | None = None, table_arn: str | None = None,
          ) -> tuple[BackupPlan, BackupSelection | None, str | None]:
    names = backup_names(table.table_name)
    plan_id = entry["BackupPlanId"]
    arn = str(entry["BackupPlanArn"])
    wanted = live.plan.tags if live is not None and live.plan is not None else None
    with aws_context(f"reading backup plan '{names.plan}' in {table.region}"):
        document = client.get_backup_plan(BackupPlanId=plan_id)["BackupPlan"]
        tags = bulk.lookup(table.region, arn, wanted, lambda: _backup_tags(client, arn)) \
            if bulk is not None else _backup_tags(client, arn)
        summary = None
        for page in client.get_paginator("list_backup_selections").paginate(
                BackupPlanId=plan_id):
            summary = next((s for s in page.get("BackupSelectionsList", [])
                            if s.get("SelectionName") == names.selection), summary)
        selection: BackupSelection | None = None
        if summary is not None and table_arn is not None and \
                _known_selection(summary, table_arn):
            selection = _selection({"SelectionName": summary["SelectionName"],
                                    "IamRoleArn": summary.get("IamRoleArn", ""),
                                    "Resources": [table_arn]}, names, table)
        elif summary is not None:
            body = client.get_backup_selection(BackupPlanId=plan_id,
                                               SelectionId=summary["SelectionId"])
            selection = _selection(body["BackupSelection"], names, table)
    plan = BackupPlan(name=names.plan, region=table.region, rule=_rule(document, names),
                      tags=tags)
    return plan, selection, summary["SelectionId"] if summary else None


# A backup selection cannot be changed (AWS Backup has no UpdateBackupSelection): what it
# selects is fixed when it is made. tablesmith makes it with a CreatorRequestId that carries a
# digest of what GetBackupSelection would add to ListBackupSelections' summary (its resources:
# this table's ARN alone, no tag conditions or exclusions), plus a random part so the
# idempotency token is never reused by a later re-creation. A summary whose digest matches
# proves the selection's content without GetBackupSelection; any other (made by Terraform,
# the console, an older tablesmith) is read in full.
_SELECTION_TOKEN = re.compile(r"ts1-([0-9a-f]{24})-[0-9a-f]{8}")


def _selection_digest(table_arn: str) -> str:
    body = json.dumps({"Resources": [table_arn]}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()[:24]


def selection_request_id(table_arn: str, request: str | None = None) -> str:
    """The CreatorRequestId of a selection of ``table_arn`` alone (1-50 of ``[\\w.-]``);
    with ``request`` (the whole request, with any salt) its last part is that request's
    digest instead of random, so a retried create reuses it (``_create_backup_selection``)."""
    unique = hashlib.sha256(request.encode()).hexdigest()[:8] if request is not None else \
        secrets.token_hex(4)
    return f"ts1-{_selection_digest(table_arn)}-{unique}"


def _known_selection(summary: Mapping[str, Any], table_arn: str) -> bool:
    """Does the ListBackupSelections entry prove it selects exactly ``table_arn``?"""
    found = _SELECTION_TOKEN.fullmatch(str(summary.get("CreatorRequestId") or ""))
    return found is not None and found.group(1) == _selection_digest(table_arn)


def _rule(document: dict[str, Any], names: BackupNames) -> BackupRule:
    rules = document.get("Rules") or []
    # the module's plan has one rule; a plan edited to hold more reads as its first rule
    # under a name that differs from the spec's, so the plan is rewritten to the spec's
    raw = next((r for r in rules if r.get("RuleName") == names.rule), rules[0] if rules else {})
    rule_name = str(raw.get("RuleName", ""))
    if len(rules) > 1:
        rule_name = f"{rule_name} (+{len(rules) - 1} other rules)"
    lifecycle = raw.get("Lifecycle") or {}
    copies = []
    for action in raw.get("CopyActions") or []:
        region, vault = _vault_of(action.get("DestinationBackupVaultArn", ""))
        copy_lifecycle = action.get("Lifecycle") or {}
        copies.append(CopyAction(
            destination_region=region, destination_vault=vault,
            delete_after_days=int(copy_lifecycle.get("DeleteAfterDays", 0)),
            cold_storage_after_days=_days(copy_lifecycle.get("MoveToColdStorageAfterDays"))))
    return BackupRule(
        name=rule_name, target_vault=str(raw.get("TargetBackupVaultName", "")),
        schedule=str(raw.get("ScheduleExpression", "")),
        delete_after_days=int(lifecycle.get("DeleteAfterDays", 0)),
        cold_storage_after_days=_days(lifecycle.get("MoveToColdStorageAfterDays")),
        copy_actions=tuple(sorted(copies, key=lambda c: (c.destination_region,
                                                         c.destination_vault))))


def _days(value: Any) -> int | None:
    return int(value) if value is not None else None


def _vault_of(arn: str) -> tuple[str, str]:
    """(region, vault name) of arn:aws:backup:<region>:<account>:backup-vault:<name>."""
    parts = arn.split(":", 6)
    if len(parts) == 7 and parts[5] == "backup-vault":
        return parts[3], parts[6]
    return "", arn  # not a vault ARN: compares unequal to any vault the spec names


def _selection(body: dict[str, Any], names: BackupNames, table: Table) -> BackupSelection:
    role_arn = str(body.get("IamRoleArn", ""))
    role = role_arn.rsplit("/", 1)[-1] if ":role/" in role_arn else role_arn
    resources = list(body.get("Resources") or [])
    selected = ", ".join(resources)
    own = re.compile(rf"arn:[\w-]+:dynamodb:{re.escape(table.region)}:\d+:"
                     rf"table/{re.escape(table.table_name)}")
    if len(resources) == 1 and own.fullmatch(resources[0]):
        selected = table.table_name
    conditions = body.get("Conditions") or {}
    if body.get("ListOfTags") or body.get("NotResources") or any(conditions.values()):
        # tag conditions or exclusions select something else than "this table": a difference
        selected += " (with tag conditions or exclusions)"
    return BackupSelection(name=str(body.get("SelectionName", names.selection)), plan=names.plan,
                           role=role, table=selected)


ROLES_IN_BULK = 2  # from this many roles to read, one bulk page beats 2 calls per role


def _list_roles(clients: Clients,
                tables: Sequence[Table]) -> dict[str, tuple[BackupRole, str] | None] | None:
    """Backup role name -> (role, ARN), or None where no such role exists, for every table;
    None when the roles are better read one by one.

    IAM has one bulk read of roles with their trust policy, attached policies and tags:
    GetAccountAuthorizationDetails (Filter=Role, 1,000 roles a page, every role of the
    account). It is used when at least ``ROLES_IN_BULK`` tables want backup; credentials
    without iam:GetAccountAuthorizationDetails (the least-privilege policy does not grant
    it: it shows every role's policies) fall back to GetRole + ListAttachedRolePolicies per
    role, as does an endpoint without it.
    """
    names = {backup_names(t.table_name).role for t in tables}
    wanted = sum(1 for t in tables if desired_backup(t).role is not None)
    if wanted < ROLES_IN_BULK:
        return None
    found: dict[str, tuple[BackupRole, str] | None] = dict.fromkeys(names)
    iam = clients.client("iam", tables[0].region)
    try:
        with aws_context("reading the IAM roles (GetAccountAuthorizationDetails)"):
            for page in iam.get_paginator("get_account_authorization_details").paginate(
                    Filter=["Role"], PaginationConfig={"PageSize": 1000}):
                for raw in page.get("RoleDetailList", []):
                    if raw.get("RoleName") in found:
                        policies = [p["PolicyArn"] for p in raw.get("AttachedManagedPolicies")
                                    or ()]
                        found[raw["RoleName"]] = _backup_role(raw, policies)
    except AwsError as exc:
        if clients.custom_endpoint or exc.code in ACCESS_DENIED:
            return None
        raise
    return found


def _role(iam: Any, name: str) -> tuple[BackupRole, str] | None:
    from botocore.exceptions import ClientError

    with aws_context(f"reading IAM role '{name}'"):
        try:
            role = iam.get_role(RoleName=name)["Role"]
        except ClientError as exc:
            if error_code(exc) == "NoSuchEntity":
                return None
            raise
        policies: list[str] = []
        for page in iam.get_paginator("list_attached_role_policies").paginate(RoleName=name):
            policies += [p["PolicyArn"] for p in page.get("AttachedPolicies", [])]
    return _backup_role(role, policies)


def _backup_role(role: Mapping[str, Any], policies: Sequence[str]) -> tuple[BackupRole, str]:
    """The model of a GetRole (or GetAccountAuthorizationDetails) role, and its ARN."""
    name = str(role["RoleName"])
    # GetRole returns the role's tags (IAM allows at most 50 per role): no ListRoleTags
    tags = {t["Key"]: t["Value"] for t in role.get("Tags", [])
            if not t["Key"].startswith("aws:")}
    document = role.get("AssumeRolePolicyDocument")
    return BackupRole(name=name, trusted_service=trusted_service(document),
                      limited_to_account=_limits_source(trust_conditions(document)),
                      managed_policies=tuple(sorted(policies)),
                      tags=dict(sorted(tags.items()))), str(role["Arn"])


SOURCE_KEYS = ("aws:SourceAccount", "aws:SourceArn", "aws:SourceOrgID")


def trust_policy(service: str, account: Any | None,
                 conditions: dict[str, Any] | None = None) -> dict[str, Any]:
    """The backup role's assume-role policy, written once for apply and both exporters.

    ``service`` may assume the role only on behalf of ``account`` (an ``aws:SourceAccount``
    condition: AWS's guard against the confused deputy, which the module lacked). ``account``
    is the account ID, or the exporter's reference to it; None (an endpoint without STS)
    leaves the condition out. ``conditions`` already on the role are kept: a user's stricter
    ``aws:SourceArn`` is never removed.
    """
    statement: dict[str, Any] = {"Effect": "Allow", "Principal": {"Service": service},
                                 "Action": "sts:AssumeRole"}
    merged = {op: dict(keys) for op, keys in (conditions or {}).items()
              if isinstance(keys, dict)}
    if account is not None and not _limits_source(merged):
        merged.setdefault("StringEquals", {})["aws:SourceAccount"] = account
    if merged:
        statement["Condition"] = merged
    return {"Version": "2012-10-17", "Statement": [statement]}


def _limits_source(conditions: Any) -> bool:
    """Does a Condition block tie the assumption to a source account, resource or org?"""
    if not isinstance(conditions, dict):
        return False
    return any(isinstance(keys, dict) and any(k in SOURCE_KEYS for k in keys)
               for keys in conditions.values())


def _trust_statement(document: Any) -> dict[str, Any] | None:
    """The one statement of a trust policy as the module writes it (any conditions)."""
    from urllib.parse import unquote

    if isinstance(document, str):  # the raw API returns it URL-encoded; botocore decodes it
        try:
            document = json.loads(unquote(document))
        except ValueError:
            return None
    statements = document.get("Statement", []) if isinstance(document, dict) else []
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list) or len(statements) != 1:
        return None
    s = statements[0]
    if not isinstance(s, dict) or not isinstance(s.get("Principal"), dict):
        return None
    services = s["Principal"].get("Service")
    if isinstance(services, list) and len(services) == 1:
        services = services[0]
    if (s.get("Effect") == "Allow" and s.get("Action") in ("sts:AssumeRole", ["sts:AssumeRole"])
            and isinstance(services, str) and set(s["Principal"]) == {"Service"}):
        return {**s, "Principal": {"Service": services}}
    return None


def trusted_service(document: Any) -> str:
    """The one service a trust policy lets assume the role, whatever its conditions; any
    other policy reads as its compact JSON, which differs from every service name."""
    statement = _trust_statement(document)
    if statement is not None:
        return str(statement["Principal"]["Service"])
    if isinstance(document, str):
        return document
    return json.dumps(document, sort_keys=True, separators=(",", ":"))


def trust_conditions(document: Any) -> dict[str, Any]:
    """The Condition block of a role's trust policy ({} when none, or not the module's)."""
    statement = _trust_statement(document)
    conditions = statement.get("Condition") if statement is not None else None
    return conditions if isinstance(conditions, dict) else {}


# --------------------------------------------------------------------------- diff (pure)


def diff_backup(live: LiveBackup | None, desired: Backup, table: Table) -> Ops:
    """The operations that turn ``live`` (None: nothing) into ``desired``, in apply order."""
    have = live.backup if live is not None else Backup()
    points = live.recovery_points if live is not None else {}
    name, region = table.table_name, table.region
    ops: Ops = []

    # ---- creations and changes: role -> policies -> DR vaults -> vault -> plan -> selection
    if desired.role is not None:
        ops += _role_ops(have.role, desired.role, name, region)
    have_dr = {v.region: v for v in have.dr_vaults}
    for vault in desired.dr_vaults:
        ops += _vault_ops(have_dr.get(vault.region), vault, name,
                          "DR vault for copies to " + vault.region)
    if desired.vault is not None:
        ops += _vault_ops(have.vault, desired.vault, name, "backup vault")
    if desired.plan is not None:
        ops += _plan_ops(have.plan, desired.plan, name)
    if desired.selection is not None:
        ops += _selection_ops(have.selection, desired.selection, name, region)

    # ---- removals: selection -> plan -> DR vaults -> vault -> policies -> role
    if desired.selection is None and have.selection is not None:
        ops.append(DeleteBackupSelection(
            table=name, region=region, before=have.selection, category=Category.DRIFT,
            reason="backup off" if desired.plan is None else "not in the spec").with_hazard(
            HazardCode.DISABLES_RECOVERY,
            f"table '{name}' is no longer selected for AWS Backup: no new backups are made"))
    if desired.plan is None and have.plan is not None:
        ops.append(DeleteBackupPlan(table=name, region=region, before=have.plan,
                                    reason="backup off", category=Category.DRIFT).with_hazard(
            HazardCode.DISABLES_RECOVERY,
            f"backup plan '{have.plan.name}' of '{name}' is deleted: no scheduled backups "
            "(existing recovery points stay in their vaults until they expire)"))
    wanted_dr = {v.region for v in desired.dr_vaults}
    for vault in have.dr_vaults:
        if vault.region not in wanted_dr:
            ops.append(_delete_vault(vault, name, points, "no copies to this Region"))
    if desired.vault is None and have.vault is not None:
        ops.append(_delete_vault(have.vault, name, points, "backup off"))
    if have.role is not None:
        keep = set(desired.role.managed_policies) if desired.role is not None else set()
        for policy in have.role.managed_policies:
            if policy not in keep:
                ops.append(DetachRolePolicy(
                    table=name, region=region, role=have.role.name, policy_arn=policy,
                    category=Category.DRIFT,
                    reason="role deleted" if desired.role is None else "not in the spec"))
        if desired.role is None:
            ops.append(DeleteRole(table=name, region=region, before=have.role,
                                  reason="backup off", category=Category.DRIFT))
    return ops


def diff_backup_destroy(live: LiveBackup | None, table: Table) -> Ops:
    """Every backup resource of ``table`` that exists, removed in dependency order."""
    return [op.model_copy(update={"reason": "destroy"})
            for op in diff_backup(live, Backup(), table)]


def _role_ops(have: BackupRole | None, want: BackupRole, name: str, region: str) -> Ops:
    ops: Ops = []
    if have is None:
        ops.append(CreateRole(table=name, region=region, after=want, category=Category.NEW,
                              reason=f"AWS Backup assumes it ({want.trusted_service})"))
    else:
        ops += _trust_ops(have, want, name, region)
        ops += _tag_ops("IAM role", want.name, region, name, have.tags, want.tags)
    attached = set(have.managed_policies) if have is not None else set()
    for policy in want.managed_policies:
        if policy not in attached:
            ops.append(AttachRolePolicy(
                table=name, region=region, role=want.name, policy_arn=policy,
                category=Category.NEW if have is None else Category.DRIFT))
    return ops


def _trust_ops(have: BackupRole, want: BackupRole, name: str, region: str) -> Ops:
    """UpdateAssumeRolePolicy when the trusted service or the source-account guard differs."""
    if (have.trusted_service, have.limited_to_account) == (
            want.trusted_service, want.limited_to_account):
        return []
    category, why = Category.DRIFT, "trust policy differs"
    if have.trusted_service == want.trusted_service and want.limited_to_account:
        # the module's trust policy: the right service, no aws:SourceAccount condition
        category, why = Category.MODULE_DEFECT, MODULE_TRUST
    return [UpdateAssumeRolePolicy(table=name, region=region, before=have, after=want,
                                   category=category, reason=why)]


def _tag_ops(resource: TaggedResource, resource_name: str, region: str, name: str,
             have: Mapping[str, str], want: Mapping[str, str]) -> Ops:
    """UpdateTags with the keys that change: new when keys are only added, else drift."""
    gone = sorted(k for k in have if k not in want)
    changed = {k: v for k, v in sorted(want.items()) if have.get(k) != v}
    if not gone and not changed:
        return []
    before = {k: have[k] for k in sorted({*gone, *changed}) if k in have}
    return [UpdateTags(table=name, region=region, resource=resource, name=resource_name,
                       before=before, after=changed,
                       category=Category.DRIFT if before else Category.NEW)]


def _vault_ops(have: BackupVault | None, want: BackupVault, name: str, what: str) -> Ops:
    if have is None:
        return [CreateBackupVault(table=name, region=want.region, after=want, reason=what,
                                  category=Category.NEW)]
    return _tag_ops("backup vault", want.name, want.region, name, have.tags, want.tags)


def _plan_ops(have: BackupPlan | None, want: BackupPlan, name: str) -> Ops:
    if have is None:
        return [CreateBackupPlan(table=name, region=want.region, after=want,
                                 category=Category.NEW,
                                 reason=f"{want.rule.schedule}, kept "
                                 f"{want.rule.delete_after_days} days")]
    tags = _tag_ops("backup plan", want.name, want.region, name, have.tags, want.tags)
    if (have.name, have.rule) == (want.name, want.rule):
        return tags
    # UpdateBackupPlan replaces the plan's rules in place: same plan id, a new version; its
    # tags are UpdateTags' (the same on both sides here, so its handler leaves them alone)
    op: Any = UpdateBackupPlan(table=name, region=want.region, before=have,
                               after=want.model_copy(update={"tags": have.tags}),
                               category=Category.DRIFT, reason=_rule_change(have, want))
    before, after = have.rule, want.rule
    if after.delete_after_days < before.delete_after_days:
        op = op.with_hazard(
            HazardCode.SHORTENS_RETENTION,
            f"backups of '{name}' are kept {after.delete_after_days} days instead of "
            f"{before.delete_after_days} (recovery points already made keep their lifecycle)",
            "keep the retention, or accept that new backups expire sooner")
    have_copies = {c.destination_region: c for c in before.copy_actions}
    want_copies = {c.destination_region: c for c in after.copy_actions}
    for region, copy in sorted(have_copies.items()):
        target = want_copies.get(region)
        if target is None:
            op = op.with_hazard(
                HazardCode.DISABLES_RECOVERY,
                f"backups of '{name}' are no longer copied to {region}: no new recovery "
                f"points there")
        elif target.delete_after_days < copy.delete_after_days:
            op = op.with_hazard(
                HazardCode.SHORTENS_RETENTION,
                f"copies of '{name}' in {region} are kept {target.delete_after_days} days "
                f"instead of {copy.delete_after_days}")
    return [op, *tags]


def _rule_change(have: BackupPlan, want: BackupPlan) -> str:
    from tablesmith.render.values import show

    before, after = have.rule, want.rule
    parts = []
    if before.schedule != after.schedule:
        parts.append(f"schedule {show(before.schedule)} -> {show(after.schedule)}")
    if before.delete_after_days != after.delete_after_days:
        parts.append(f"retention {before.delete_after_days} -> {after.delete_after_days} days")
    if before.cold_storage_after_days != after.cold_storage_after_days:
        parts.append(f"cold storage after {show(before.cold_storage_after_days)} -> "
                     f"{show(after.cold_storage_after_days)} days")
    old = [c.destination_region for c in before.copy_actions]
    new = [c.destination_region for c in after.copy_actions]
    if old != new:
        parts.append(f"copies to {', '.join(old) or 'none'} -> {', '.join(new) or 'none'}")
    elif before.copy_actions != after.copy_actions:
        parts.append("copy lifecycle")
    if (before.name, before.target_vault) != (after.name, after.target_vault):
        parts.append("rule")
    return "; ".join(parts)


def _selection_ops(have: BackupSelection | None, want: BackupSelection, name: str,
                   region: str) -> Ops:
    if have == want:
        return []
    create = CreateBackupSelection(table=name, region=region, after=want,
                                   category=Category.NEW if have is None else Category.DRIFT,
                                   reason="selects the table" if have is None else "recreated")
    if have is None:
        return [create]
    # AWS Backup has no UpdateBackupSelection: a selection is deleted and made again
    return [DeleteBackupSelection(table=name, region=region, before=have,
                                  category=Category.DRIFT,
                                  reason="role or resources differ (no UpdateBackupSelection)"),
            create]


def _delete_vault(vault: BackupVault, name: str, points: Mapping[str, int], why: str) -> Any:
    count = points.get(f"{vault.region}/{vault.name}", 0)
    op: Any = DeleteBackupVault(table=name, region=vault.region, before=vault,
                                recovery_points=count, reason=why, category=Category.DRIFT)
    if count > 0:
        op = op.with_hazard(
            HazardCode.DELETES_DATA,
            f"backup vault '{vault.name}' in {vault.region} holds {count} recovery point(s) "
            f"of '{name}': AWS refuses to delete a vault that is not empty, so they must be "
            "deleted (or expire) first, and they are lost with it",
            f"aws backup list-recovery-points-by-backup-vault --backup-vault-name "
            f"{vault.name} --region {vault.region}; delete them with "
            "aws backup delete-recovery-point, or keep backup on until they expire")
    return op


# --------------------------------------------------------------------------- notices


def notices(advanced_dynamodb_backup: Mapping[str, bool], tables: Sequence[Table]) -> list[str]:
    """Cross-Region copies that AWS Backup will not make with the Region's current settings.

    Copying DynamoDB backups to another Region is one of AWS Backup's advanced DynamoDB backup
    features; with it off, the copy jobs fail. The setting is the account's, per Region: it is
    reported with the command that turns it on, never changed by tablesmith.
    """
    off: dict[str, list[str]] = {}
    for table in sorted(tables, key=lambda t: t.table_name):
        if _copies(desired_backup(table)) and advanced_dynamodb_backup.get(table.region) is False:
            off.setdefault(table.region, []).append(table.table_name)
    return [f"{', '.join(names)} copy AWS Backup backups across Regions, which for DynamoDB "
            f"needs AWS Backup's advanced DynamoDB backup setting in {region} (it is off there): "
            f"{ADVANCED_BACKUP_COMMAND.format(region=region)}"
            for region, names in sorted(off.items())]


# --------------------------------------------------------------------------- apply


def _tag_list(tags: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in sorted(tags.items())]


def _vault_arn(runner: Any, name: str, region: str) -> str:
    answer = runner.call("backup", region, f"describing backup vault '{name}' in {region}",
                         "describe_backup_vault", BackupVaultName=name)
    return str(answer["BackupVaultArn"])


def _plan_entry(runner: Any, name: str, region: str) -> dict[str, Any] | None:
    """The ListBackupPlans entry of the plan called ``name`` (plans are found by name), or
    the plan's id and ARN from its CreateBackupPlan answer when this apply made it."""
    made: dict[str, Any] | None = runner.known.get(("backup-plan", region, name))
    if made is not None:
        return made
    kwargs: dict[str, Any] = {}
    while True:
        page = runner.call("backup", region, f"listing backup plans in {region}",
                           "list_backup_plans", **kwargs)
        for entry in page.get("BackupPlansList", []):
            if entry.get("BackupPlanName") == name and not entry.get("DeletionDate"):
                return entry  # type: ignore[no-any-return]
        token = page.get("NextToken")
        if not token:
            return None
        kwargs["NextToken"] = token


def _need_plan(runner: Any, name: str, region: str) -> dict[str, Any]:
    entry = _plan_entry(runner, name, region)
    if entry is None:
        raise ApplyError(f"backup plan '{name}' does not exist in {region}; re-run plan/apply")
    return entry


def _retag_backup(runner: Any, arn: str, region: str, what: str,
                  want: Mapping[str, str]) -> None:
    current = runner.call("backup", region, f"reading tags of {what}", "list_tags",
                          ResourceArn=arn).get("Tags") or {}
    gone = sorted(k for k in current if k not in want and not k.startswith("aws:"))
    changed = {k: v for k, v in want.items() if current.get(k) != v}
    if gone:
        runner.call("backup", region, f"untagging {what}", "untag_resource",
                    ResourceArn=arn, TagKeyList=gone)
    if changed:
        runner.call("backup", region, f"tagging {what}", "tag_resource",
                    ResourceArn=arn, Tags=dict(sorted(changed.items())))


def _lifecycle(delete_after: int, cold_after: int | None) -> dict[str, int]:
    lifecycle = {"DeleteAfterDays": delete_after}
    if cold_after is not None:  # absent: recovery points never move to cold storage
        lifecycle["MoveToColdStorageAfterDays"] = cold_after
    return lifecycle


def plan_document(plan: BackupPlan, copy_vault_arns: Mapping[str, Any],
                  target_vault: Any | None = None) -> dict[str, Any]:
    """The BackupPlanInput (pure): one rule, its copy actions naming the DR vaults by ARN.

    Written once for apply and both exporters. ``copy_vault_arns``: the ARN of the DR vault
    per destination Region (apply reads them; an exporter passes its references);
    ``target_vault``: the rule's vault name, or an exporter's reference to it.
    """
    rule = plan.rule
    body: dict[str, Any] = {
        "RuleName": rule.name,
        "TargetBackupVaultName": rule.target_vault if target_vault is None else target_vault,
        "ScheduleExpression": rule.schedule,
        "Lifecycle": _lifecycle(rule.delete_after_days, rule.cold_storage_after_days),
    }
    if rule.copy_actions:
        # CopyAction takes the destination vault's ARN (not its name): vaults are regional
        body["CopyActions"] = [{
            "DestinationBackupVaultArn": copy_vault_arns[c.destination_region],
            "Lifecycle": _lifecycle(c.delete_after_days, c.cold_storage_after_days),
        } for c in rule.copy_actions]
    return {"BackupPlanName": plan.name, "Rules": [body]}


def _plan_document(runner: Any, plan: BackupPlan) -> dict[str, Any]:
    """:func:`plan_document` with the DR vaults' ARNs read from their Regions."""
    # only the destination Region knows its vault's ARN
    arns = {c.destination_region: _vault_arn(runner, c.destination_vault, c.destination_region)
            for c in plan.rule.copy_actions}
    return plan_document(plan, arns)


# Idempotency. A create whose answer is lost (a dropped connection, a 500 after the call took
# effect) is retried by botocore, and perhaps by the user re-running apply; AWS Backup's
# CreatorRequestId "allows failed requests to be retried without the risk of running the
# operation twice": the same token answers with the resource it made. botocore fills in a
# random token per call, which covers its own retries only; ours is a digest of the request,
# the same for every attempt to make the same intended resource. AWS does not document how
# long a token is remembered, nor whether a deleted resource's token still matches: an answer
# for a resource made long before the call (its CreationDate) is such a stale match, and the
# create is made again with a token salted with that date (deterministic too).
STALE_TOKEN_SECONDS = 900.0  # far beyond the 5 minutes of clock skew SigV4 allows


def request_token(kind: str, request: Mapping[str, Any], salt: str = "") -> str:
    """A CreatorRequestId (1-50 of ``[\\w.-]``) for ``request``: its digest, with ``salt``."""
    return "ts1-" + hashlib.sha256(_canonical(kind, request, salt).encode()).hexdigest()[:40]


def _canonical(kind: str, request: Mapping[str, Any], salt: str) -> str:
    return json.dumps([kind, request, salt], sort_keys=True, separators=(",", ":"), default=str)


def _create_idempotently(runner: Any, op: Any, context: str, method: str,
                         request: Mapping[str, Any],
                         token: Callable[[str], str]) -> dict[str, Any]:
    """``method`` with the CreatorRequestId ``token(salt)``; made again with the answer's
    CreationDate as the salt when the token matched a resource made long before."""
    started = time.time()
    answer: dict[str, Any] = runner.call("backup", op.region, context, method, **request,
                                         CreatorRequestId=token(""))
    created = answer.get("CreationDate")  # a datetime, as botocore parses a timestamp
    made_at: float | None = created.timestamp() if isinstance(created, datetime) else None
    if made_at is not None and made_at < started - STALE_TOKEN_SECONDS:
        runner.report(op.table, f"{context}: AWS answered with a resource made at "
                      f"{created}, not now (a stale idempotency token): creating again")
        answer = runner.call("backup", op.region, context, method, **request,
                             CreatorRequestId=token(str(made_at)))
    return answer


def _create_backup_vault(runner: Any, op: Any, desired: Table | None) -> None:
    vault: BackupVault = op.after
    what = f"backup vault '{vault.name}' in {op.region}"
    if op.action == Action.CREATE:
        # no EncryptionKeyArn: AWS Backup's default key, as the module's kms_key_arn = null
        request = {"BackupVaultName": vault.name, "BackupVaultTags": dict(vault.tags)}
        try:
            _create_idempotently(runner, op, f"creating {what}", "create_backup_vault",
                                 request, lambda salt: request_token("vault", request, salt))
            return
        except AwsError as exc:
            if exc.code != "AlreadyExistsException":
                raise
            runner.report(op.table, f"{what} already exists: converging its tags")
    _retag_backup(runner, _vault_arn(runner, vault.name, op.region), op.region, what,
                  vault.tags)


def _delete_backup_vault(runner: Any, op: Any, desired: Table | None) -> None:
    vault: BackupVault = op.before
    what = f"backup vault '{vault.name}' in {op.region}"
    try:
        runner.call("backup", op.region, f"deleting {what}", "delete_backup_vault",
                    BackupVaultName=vault.name)
    except AwsError as exc:
        if exc.code == "ResourceNotFoundException":  # (AccessDenied here is a real refusal)
            return
        if exc.code == "InvalidRequestException":
            # AWS refuses to delete a vault that still holds recovery points
            raise ApplyError(
                f"AWS refuses to delete {what}: {exc.aws_message}. Its recovery points must "
                "be deleted (aws backup delete-recovery-point) or expire first") from exc
        raise


def _create_backup_plan(runner: Any, op: Any, desired: Table | None) -> None:
    plan: BackupPlan = op.after
    request = {"BackupPlan": _plan_document(runner, plan), "BackupPlanTags": dict(plan.tags)}
    # plans are known by id, their names by tablesmith's convention: the token makes a retry
    # answer with the plan the lost attempt made, not a second plan or AlreadyExistsException
    answer = _create_idempotently(runner, op, f"creating backup plan '{plan.name}' in "
                                  f"{op.region}", "create_backup_plan", request,
                                  lambda salt: request_token("plan", request, salt))
    if answer.get("BackupPlanId") and answer.get("BackupPlanArn"):  # for its selection
        runner.known[("backup-plan", op.region, plan.name)] = {
            "BackupPlanName": plan.name, "BackupPlanId": answer["BackupPlanId"],
            "BackupPlanArn": answer["BackupPlanArn"]}


def _update_backup_plan(runner: Any, op: Any, desired: Table | None) -> None:
    before: BackupPlan = op.before
    after: BackupPlan = op.after
    entry = _need_plan(runner, after.name, op.region)
    what = f"backup plan '{after.name}' in {op.region}"
    if (before.name, before.rule) != (after.name, after.rule):
        runner.call("backup", op.region, f"updating {what}", "update_backup_plan",
                    BackupPlanId=entry["BackupPlanId"],
                    BackupPlan=_plan_document(runner, after))
    if before.tags != after.tags:
        _retag_backup(runner, entry["BackupPlanArn"], op.region, what, after.tags)


def _delete_backup_plan(runner: Any, op: Any, desired: Table | None) -> None:
    entry = _plan_entry(runner, op.before.name, op.region)
    runner.known.pop(("backup-plan", op.region, op.before.name), None)
    if entry is None:
        return
    runner.call("backup", op.region, f"deleting backup plan '{op.before.name}' in {op.region}",
                "delete_backup_plan", BackupPlanId=entry["BackupPlanId"])


def _create_backup_selection(runner: Any, op: Any, desired: Table | None) -> None:
    selection: BackupSelection = op.after
    plan = _need_plan(runner, selection.plan, op.region)
    role_arn = runner.known.get(("iam-role", selection.role)) or runner.call(
        "iam", op.region, f"reading IAM role '{selection.role}'", "get_role",
        RoleName=selection.role)["Role"]["Arn"]
    table_arn = runner.table_arn(selection.table, op.region)
    context = f"selecting '{selection.table}' for backup plan '{selection.plan}'"
    request = {"BackupPlanId": plan["BackupPlanId"], "BackupSelection": {
        "SelectionName": selection.name, "IamRoleArn": role_arn, "Resources": [table_arn]}}

    def token(salt: str) -> str:
        # the plan id is in the request: a selection of a plan made again gets a new token;
        # the digest of the table ARN lets plans skip GetBackupSelection (_known_selection)
        return selection_request_id(table_arn, _canonical("selection", request, salt))

    for delay in (*IAM_PROPAGATION_DELAYS, None):
        try:
            _create_idempotently(runner, op, context, "create_backup_selection",
                                 request, token)
            return
        except AwsError as exc:
            # a role created moments ago is not yet visible to AWS Backup everywhere (IAM is
            # eventually consistent): it answers that the role cannot be assumed; wait
            if delay is None or exc.code != "InvalidParameterValueException" or \
                    "role" not in exc.aws_message.lower():
                raise
            runner.report(op.table, f"IAM role '{selection.role}' not assumable yet (IAM "
                          f"propagation): retrying in {delay:.0f}s")
            time.sleep(delay)


def _delete_backup_selection(runner: Any, op: Any, desired: Table | None) -> None:
    selection: BackupSelection = op.before
    plan = _plan_entry(runner, selection.plan, op.region)
    if plan is None:
        return
    kwargs: dict[str, Any] = {"BackupPlanId": plan["BackupPlanId"]}
    while True:
        page = runner.call("backup", op.region, f"listing selections of '{selection.plan}'",
                           "list_backup_selections", **kwargs)
        for item in page.get("BackupSelectionsList", []):
            if item.get("SelectionName") == selection.name:
                runner.call("backup", op.region, f"deleting backup selection "
                            f"'{selection.name}'", "delete_backup_selection",
                            BackupPlanId=plan["BackupPlanId"], SelectionId=item["SelectionId"])
                return
        token = page.get("NextToken")
        if not token:
            return
        kwargs["NextToken"] = token


def _create_role(runner: Any, op: Any, desired: Table | None) -> None:
    role: BackupRole = op.after
    account = runner.clients.account_id() if role.limited_to_account else None
    if op.action == Action.CREATE:
        try:
            made = runner.call(
                "iam", op.region, f"creating IAM role '{role.name}'", "create_role",
                RoleName=role.name,
                AssumeRolePolicyDocument=json.dumps(trust_policy(role.trusted_service, account)),
                Description="AWS Backup service role for the table's backup plan",
                Tags=_tag_list(role.tags))
            if made and made.get("Role", {}).get("Arn"):  # for the selection that names it
                runner.known[("iam-role", role.name)] = made["Role"]["Arn"]
            return
        except AwsError as exc:
            if exc.code != "EntityAlreadyExists":
                raise
            runner.report(op.table, f"IAM role '{role.name}' already exists: converging it")
    current = runner.call("iam", op.region, f"reading IAM role '{role.name}'", "get_role",
                          RoleName=role.name)["Role"]
    document = current.get("AssumeRolePolicyDocument")
    if trusted_service(document) != role.trusted_service or (
            account is not None and not _limits_source(trust_conditions(document))):
        # the user's own conditions stay (trust_conditions is {} for a foreign principal)
        policy = trust_policy(role.trusted_service, account, trust_conditions(document))
        runner.call("iam", op.region, f"updating the trust policy of IAM role '{role.name}'",
                    "update_assume_role_policy", RoleName=role.name,
                    PolicyDocument=json.dumps(policy))
    tags = {t["Key"]: t["Value"] for t in current.get("Tags", [])}
    gone = sorted(k for k in tags if k not in role.tags and not k.startswith("aws:"))
    changed = {k: v for k, v in role.tags.items() if tags.get(k) != v}
    if gone:
        runner.call("iam", op.region, f"untagging IAM role '{role.name}'", "untag_role",
                    RoleName=role.name, TagKeys=gone)
    if changed:
        runner.call("iam", op.region, f"tagging IAM role '{role.name}'", "tag_role",
                    RoleName=role.name, Tags=_tag_list(changed))


def _update_assume_role_policy(runner: Any, op: Any, desired: Table | None) -> None:
    role: BackupRole = op.after
    account = runner.clients.account_id() if role.limited_to_account else None
    current = runner.call("iam", op.region, f"reading IAM role '{role.name}'", "get_role",
                          RoleName=role.name)["Role"]
    # the user's own conditions stay (trust_conditions is {} for a foreign principal)
    policy = trust_policy(role.trusted_service, account,
                          trust_conditions(current.get("AssumeRolePolicyDocument")))
    runner.call("iam", op.region, f"updating the trust policy of IAM role '{role.name}'",
                "update_assume_role_policy", RoleName=role.name,
                PolicyDocument=json.dumps(policy))


def _update_tags(runner: Any, op: Any, desired: Table | None) -> None:
    """Exactly the plan's keys: untag those that go, tag those added or changed."""
    what = f"{op.resource} '{op.name}' in {op.region}"
    gone = sorted(k for k in op.before if k not in op.after)
    if op.resource == "IAM role":
        if gone:
            runner.call("iam", op.region, f"untagging {what}", "untag_role",
                        RoleName=op.name, TagKeys=gone)
        if op.after:
            runner.call("iam", op.region, f"tagging {what}", "tag_role", RoleName=op.name,
                        Tags=_tag_list(op.after))
        return
    arn = _vault_arn(runner, op.name, op.region) if op.resource == "backup vault" else \
        _need_plan(runner, op.name, op.region)["BackupPlanArn"]
    if gone:
        runner.call("backup", op.region, f"untagging {what}", "untag_resource",
                    ResourceArn=arn, TagKeyList=gone)
    if op.after:
        runner.call("backup", op.region, f"tagging {what}", "tag_resource",
                    ResourceArn=arn, Tags=dict(sorted(op.after.items())))


def _attach_role_policy(runner: Any, op: Any, desired: Table | None) -> None:
    # AttachRolePolicy of a policy already attached succeeds: nothing to tolerate
    runner.call("iam", op.region, f"attaching {op.policy_arn} to IAM role '{op.role}'",
                "attach_role_policy", RoleName=op.role, PolicyArn=op.policy_arn)


def _detach_role_policy(runner: Any, op: Any, desired: Table | None) -> None:
    try:
        runner.call("iam", op.region, f"detaching {op.policy_arn} from IAM role '{op.role}'",
                    "detach_role_policy", RoleName=op.role, PolicyArn=op.policy_arn)
    except AwsError as exc:
        if exc.code != "NoSuchEntity":
            raise


def _delete_role(runner: Any, op: Any, desired: Table | None) -> None:
    runner.known.pop(("iam-role", op.before.name), None)
    try:
        # IAM refuses (DeleteConflict) while policies are attached: they were detached first
        runner.call("iam", op.region, f"deleting IAM role '{op.before.name}'", "delete_role",
                    RoleName=op.before.name)
    except AwsError as exc:
        if exc.code != "NoSuchEntity":
            raise


# --------------------------------------------------------------------------- the family


def _copy_text(actions: Sequence[CopyAction]) -> str:
    return ", ".join(f"{c.destination_region} ({c.delete_after_days} days)"
                     for c in actions) or "none"


def _trust_text(role: BackupRole) -> str:
    scope = (" for this account only (aws:SourceAccount)" if role.limited_to_account
             else " for any account")
    return f"{role.trusted_service}{scope}"


class BackupFamily(FamilyBase):
    """AWS Backup around a table (the contract: ``tablesmith.around.contract``)."""

    name: ClassVar[str] = "backup"
    spec_fields: ClassVar[tuple[str, ...]] = ("backup",)
    title: ClassVar[str] = "AWS Backup"
    state_type: ClassVar[type[FamilyState]] = BackupState
    handlers: ClassVar[Mapping[type[Op], Handler]] = dict([
        handler(CreateBackupVault, _create_backup_vault),
        handler(DeleteBackupVault, _delete_backup_vault),
        handler(CreateBackupPlan, _create_backup_plan),
        handler(UpdateBackupPlan, _update_backup_plan),
        handler(DeleteBackupPlan, _delete_backup_plan),
        handler(CreateBackupSelection, _create_backup_selection),
        handler(DeleteBackupSelection, _delete_backup_selection),
        handler(CreateRole, _create_role),
        handler(UpdateAssumeRolePolicy, _update_assume_role_policy),
        handler(UpdateTags, _update_tags),
        handler(AttachRolePolicy, _attach_role_policy),
        handler(DetachRolePolicy, _detach_role_policy),
        handler(DeleteRole, _delete_role),
    ])

    def lacks(self, clients: Clients, region: str) -> bool:
        # an endpoint that serves only DynamoDB (DynamoDB Local) has no AWS Backup: asking
        # tells, whatever the error looks like
        return lacks_api(lambda: clients.client("backup", region).list_backup_vaults(
            MaxResults=1))

    def read(self, clients: Clients, tables: Sequence[Table],
             context: ReadContext) -> BackupState:
        found, advanced = read_backups(clients, tables, live_tables=context.live_tables,
                                       destroy=context.destroy, bulk=context.bulk)
        return BackupState(tables=found, advanced_dynamodb_backup=advanced)

    def diff(self, state: BackupState, table: Table) -> list[Op]:
        return diff_backup(state.tables.get(table.table_name), desired_backup(table), table)

    def diff_destroy(self, state: BackupState, table: Table) -> list[Op]:
        return diff_backup_destroy(state.tables.get(table.table_name), table)

    def notices(self, state: BackupState, tables: Sequence[Table]) -> list[str]:
        return notices(state.advanced_dynamodb_backup, tables)

    def describe(self, op: Op) -> tuple[str, list[str]]:
        if isinstance(op, UpdateTags):
            return (f"UpdateTags {op.resource} {op.name} [{op.region}]",
                    tag_lines(op.before, op.after))
        if isinstance(op, UpdateBackupPlan):
            b, a = op.before.rule, op.after.rule
            changes = field_changes(b.model_copy(update={"copy_actions": ()}),
                                    a.model_copy(update={"copy_actions": ()}))
            if b.copy_actions != a.copy_actions:
                changes.append(f"copy to: {_copy_text(b.copy_actions)} -> "
                               f"{_copy_text(a.copy_actions)}")
            return f"UpdateBackupPlan {op.after.name}", changes
        if isinstance(op, CreateRole):
            # who may assume the role is the point of the line: always shown
            return f"CreateRole {op.after.name} (trusts {_trust_text(op.after)})", []
        if isinstance(op, UpdateAssumeRolePolicy):
            return (f"UpdateAssumeRolePolicy {op.after.name}",
                    [f"trusts: {_trust_text(op.before)} -> {_trust_text(op.after)}"])
        if isinstance(op, AttachRolePolicy | DetachRolePolicy):
            return f"{op.op} {op.role} {op.policy_arn.rsplit('/', 1)[-1]}", []
        resource = getattr(op, "after", None) or getattr(op, "before", None)
        return f"{op.op} {getattr(resource, 'name', '')} [{op.region}]", []

    def outputs(self, state: BackupState | None, table: Table) -> dict[str, Any]:
        backup = state.tables.get(table.table_name) if state is not None else None
        vault = backup.backup.vault if backup else None
        dr_vaults = dict(sorted((backup.dr_vault_arns if backup else {}).items()))
        return {
            "backup_plan_id": backup.plan_id if backup and backup.plan_id else None,
            "backup_vault_name": vault.name if vault else None,
            "backup_vault_arn": backup.vault_arn if backup and vault else None,
            "replica_backup_vault_arn": next(iter(dr_vaults.values()), None),
            "replica_backup_vault_arns": dr_vaults,
            "table_info": {"backup_enabled": bool(backup and backup.plan_id)},
        }


    def export_terraform(self, table: Table, at: TerraformAt,
                         out: TerraformOut) -> dict[str, Any]:
        """The module's vault, DR vaults, plan, role, its two policy attachments and the
        selection, translated from what apply sends (``plan_document``, ``trust_policy``)."""
        backup = desired_backup(table)
        vault, plan, selection, role = backup.vault, backup.plan, backup.selection, backup.role
        enabled = {"table_info": {"backup_enabled": bool(table.backup and table.backup.enabled)}}
        if vault is None or plan is None or selection is None or role is None:
            # desired_backup makes all four (backup on) or none (off)
            return {"backup_plan_id": None, "backup_vault_name": None, "backup_vault_arn": None,
                    "replica_backup_vault_arn": None, "replica_backup_vault_arns": {},
                    **enabled}
        file, ident, owner = at.file, at.ident, at.owner
        vault_address = out.add(file, "aws_backup_vault", ident, _terraform_vault(vault),
                                vault.region, owner)
        dr_addresses = {
            v.region: out.add(file, "aws_backup_vault",
                              f"{ident}_dr_{out.identifier(v.region)}", _terraform_vault(v),
                              v.region, f"{owner} (DR vault in {v.region})")
            for v in backup.dr_vaults}
        plan_address = out.add(file, "aws_backup_plan", ident,
                               _terraform_plan(out, backup, vault_address, dr_addresses, owner),
                               plan.region, owner)
        role_address = out.add(file, "aws_iam_role", f"{ident}_backup", {
            "name": role.name,
            "assume_role_policy": _terraform_trust(out, role),
            "tags": role.tags,
        }, out.region, owner)  # IAM is global: the default provider will do
        for policy in role.managed_policies:
            suffix = _POLICY_ROLES.get(policy) or out.identifier(
                policy.rsplit("/", 1)[-1]).lower()
            out.add(file, "aws_iam_role_policy_attachment", f"{ident}_{suffix}", {
                "role": out.ref(role_address, "name"),
                "policy_arn": policy,
            }, out.region, owner)
        out.add(file, "aws_backup_selection", ident, {
            "name": selection.name,
            "plan_id": out.ref(plan_address, "id"),
            "iam_role_arn": out.ref(role_address, "arn"),
            "resources": [out.ref(at.address, "arn")],
        }, plan.region, owner)
        dr_arns = {region: out.ref(a, "arn") for region, a in sorted(dr_addresses.items())}
        return {
            "backup_plan_id": out.ref(plan_address, "id"),
            "backup_vault_name": out.ref(vault_address, "name"),
            "backup_vault_arn": out.ref(vault_address, "arn"),
            "replica_backup_vault_arn": next(iter(dr_arns.values()), None),
            "replica_backup_vault_arns": dr_arns,
            **enabled,
        }

    def export_cloudformation(self, table: Table, at: CloudFormationAt,
                              out: CloudFormationOut) -> CloudFormationOutputs:
        """The vault, plan (one rule; a copy action per DR vault), role and selection in the
        main stack; each DR vault in its Region's stack, its ARN a main stack parameter
        (``Fn::ImportValue`` does not cross Regions). Translated from what apply sends."""
        backup = desired_backup(table)
        links = [_cloudformation_dr_link(out, table, at, vault) for vault in backup.dr_vaults]
        _cloudformation_resources(out, at, backup, links)
        outputs: list[tuple[str, str, Any]] = []
        if backup.plan is not None:
            outputs += [
                ("backup_plan_id", "ID of the AWS Backup plan", out.ref(f"{at.pascal}BackupPlan")),
                ("backup_vault_name", "Name of the AWS Backup vault",
                 out.ref(f"{at.pascal}BackupVault")),
                ("backup_vault_arn", "ARN of the AWS Backup vault",
                 out.get_att(f"{at.pascal}BackupVault", "BackupVaultArn")),
            ]
        if links:
            outputs += [
                ("replica_backup_vault_arn",
                 f"ARN of the DR backup vault in {links[0].vault.region}", links[0].arn),
                ("replica_backup_vault_arns", "Replica region to DR vault ARN (JSON map)",
                 out.json_sub({link.vault.region: CfnString((link.arn,)) for link in links})),
            ]
        return CloudFormationOutputs(outputs, {"backup_enabled": backup.plan is not None})

    def iam_statements(self, tables: Sequence[Table], account: str,
                       read_only: bool) -> list[dict[str, Any]]:
        """The vaults by ARN (names), the plans on ``backup-plan:*`` (their ARNs end in IDs
        AWS generates), the roles by ARN; reads and removals for every table (a table whose
        backup was turned off still has its resources read and removed), creation only where
        backup is on; AttachRolePolicy of AWS Backup's two managed policies only, PassRole
        only to AWS Backup."""
        vaults = [arn for t in tables for arn in _iam_vault_arns(t, account)]
        plans = _iam_plan_arns(tables, account)
        roles = [_iam_role_arn(t, account) for t in tables]
        out = [
            iam.statement("ReadTheBackupVaults", VAULT_READS, vaults),
            iam.statement("ReadTheBackupPlansWhoseArnsEndInGeneratedIds", PLAN_READS, plans),
            iam.statement("ReadTheBackupRoles", ROLE_READS, roles),
        ]
        if read_only:
            return out
        out += [
            iam.statement("RemoveTheBackupVaults", VAULT_REMOVES, vaults),
            iam.statement("RemoveTheBackupPlansAndSelections", PLAN_REMOVES, plans),
            iam.statement("RemoveTheBackupRoles", ROLE_REMOVES, roles),
        ]
        desired = {t.table_name: desired_backup(t) for t in tables}
        wanted = [t for t in tables if desired[t.table_name].vault is not None]
        if not wanted:
            return out
        wanted_roles = [_iam_role_arn(t, account) for t in wanted]
        regions = sorted(
            {
                v.region
                for t in wanted
                for v in (desired[t.table_name].vault, *desired[t.table_name].dr_vaults)
                if v
            }
        )
        out += [
            iam.statement(
                "CreateTheBackupVaults",
                VAULT_WRITES,
                [arn for t in wanted for arn in _iam_vault_arns(t, account)],
            ),
            # CreateBackupVault mounts AWS Backup's storage and encrypts with its default key
            iam.statement(
                "CreateBackupVaultMountsStorageWhichHasNoResource",
                ("backup-storage:MountCapsule",),
                "*",
            ),
            iam.statement(
                "CreateBackupVaultUsesTheAwsBackupKeyWhoseArnDiffersPerAccount",
                (
                    "kms:CreateGrant",
                    "kms:Decrypt",
                    "kms:DescribeKey",
                    "kms:GenerateDataKey",
                    "kms:RetireGrant",
                ),
                "*",
                {"StringEquals": {"kms:ViaService": [f"backup.{r}.amazonaws.com"
                                                     for r in regions]}},
            ),
            iam.statement("CreateAndUpdateTheBackupPlans", PLAN_WRITES,
                          _iam_plan_arns(wanted, account)),
            iam.statement("CreateTheBackupRoles", ROLE_WRITES, wanted_roles),
            iam.statement(
                "AttachOnlyTheAwsBackupManagedPolicies",
                ("iam:AttachRolePolicy",),
                wanted_roles,
                {"ArnEquals": {"iam:PolicyARN": list(BACKUP_POLICIES)}},
            ),
            iam.statement(
                "PassTheBackupRolesOnlyToAwsBackup",
                ("iam:PassRole",),
                wanted_roles,
                {"StringEquals": {"iam:PassedToService": BACKUP_SERVICE}},
            ),
        ]
        return out


# --------------------------------------------------------------------------- export


# the two managed policies of the module's role, under the module's resource names
_POLICY_ROLES = {BACKUP_POLICIES[0]: "backup", BACKUP_POLICIES[1]: "restore"}


def _terraform_vault(vault: BackupVault) -> dict[str, Any]:
    return {"name": vault.name, "tags": vault.tags}  # AWS-managed key: no kms_key_arn


def _terraform_lifecycle(lifecycle: dict[str, int]) -> dict[str, Any]:
    """A Lifecycle of the BackupPlanInput as the provider's ``lifecycle`` block."""
    block: dict[str, Any] = {"delete_after": lifecycle["DeleteAfterDays"]}
    if "MoveToColdStorageAfterDays" in lifecycle:
        block["cold_storage_after"] = lifecycle["MoveToColdStorageAfterDays"]
    return block


def _terraform_plan(out: TerraformOut, backup: Backup, vault_address: str,
                    dr_addresses: dict[str, str], owner: str) -> dict[str, Any]:
    """``aws_backup_plan``, translated from the BackupPlanInput apply sends."""
    assert backup.plan is not None
    for copy in backup.plan.rule.copy_actions:
        if copy.destination_region not in dr_addresses:
            raise UsageError(f"cannot export {owner}: its backup copies to "
                             f"{copy.destination_region}, where it has no DR vault")
    document = plan_document(
        backup.plan, {region: out.ref(a, "arn") for region, a in dr_addresses.items()},
        target_vault=out.ref(vault_address, "name"))
    (rule,) = document["Rules"]  # tablesmith's plans have one rule
    body: dict[str, Any] = {
        "rule_name": rule["RuleName"],
        "target_vault_name": rule["TargetBackupVaultName"],
        "schedule": rule["ScheduleExpression"],
        "lifecycle": [_terraform_lifecycle(rule["Lifecycle"])],
    }
    if rule.get("CopyActions"):
        body["copy_action"] = [{"destination_vault_arn": c["DestinationBackupVaultArn"],
                                "lifecycle": [_terraform_lifecycle(c["Lifecycle"])]}
                               for c in rule["CopyActions"]]
    return {"name": document["BackupPlanName"], "rule": [body], "tags": backup.plan.tags}


def _terraform_trust(out: TerraformOut, role: BackupRole) -> str:
    """The trust policy apply writes, with the account the export reads."""
    if not role.limited_to_account:
        return json.dumps(trust_policy(role.trusted_service, None), sort_keys=True,
                          separators=(",", ":"))
    # an expression: the "${...}" reference must reach Terraform unescaped (the rest of the
    # document is fixed text without "${" or "%{")
    return out.expression(json.dumps(trust_policy(role.trusted_service, out.account_id()),
                                     sort_keys=True, separators=(",", ":")))


# the ARN a DR vault parameter takes: empty (derive it), or a backup vault's
VAULT_ARN_PATTERN = r"^$|^arn:[a-z-]+:backup:[a-z0-9-]+:\d{12}:backup-vault:[A-Za-z0-9_.-]+$"


@dataclass(frozen=True)
class _CloudFormationDrLink:
    """A copy action's destination: a DR vault in another Region, a main stack parameter."""

    vault: BackupVault
    arn: dict[str, Any]  # what the main stack uses: the parameter, or the derived ARN


def _cloudformation_vault(vault: BackupVault) -> dict[str, Any]:
    # Retained: recovery points outlive the stack (each expires by its own lifecycle), and
    # AWS Backup refuses to delete a vault that holds any, which would fail a stack deletion
    return {"Type": "AWS::Backup::BackupVault", "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {"BackupVaultName": vault.name,
                           "BackupVaultTags": dict(sorted(vault.tags.items()))}}


def _cloudformation_dr_link(out: CloudFormationOut, table: Table, at: CloudFormationAt,
                            vault: BackupVault) -> _CloudFormationDrLink:
    """The DR vault in its Region's stack, and the main stack's parameter for its ARN: an ARN
    is deterministic, but a parameter's Default must be a literal, so it defaults to "" and a
    condition substitutes the ARN derived with the partition and account."""
    parameter = f"{at.pascal}DrBackupVaultArn{out.pascal(vault.region)}"
    condition = f"{parameter}Derived"  # true when the parameter is empty
    derived = out.arn("backup", vault.region, f"backup-vault:{vault.name}")
    stack = out.dr_stack(vault.region)
    arn_output = out.output_id(table, "replica_backup_vault_arn")
    out.add_parameter(parameter, at.owner, {
        "Type": "String",
        "Default": "",
        "AllowedPattern": VAULT_ARN_PATTERN,
        "Description": (
            f"ARN of backup vault {vault.name} in {vault.region} (output {arn_output} of "
            f"stack {stack.name}). Empty: {out.display(derived)}. A parameter because "
            "Fn::ImportValue does not cross regions."),
    })
    out.add_condition(condition, at.owner, {"Fn::Equals": [out.ref(parameter), ""]})
    out.cross_region_reference(CrossRegionReference(
        parameter=parameter, table=table.name, region=vault.region,
        target={"backupVault": vault.name}, from_stack=stack.name, from_output=arn_output,
        when_empty=derived))
    dr_id = f"{at.pascal}DrBackupVault"
    stack.add_resource(dr_id, at.owner, _cloudformation_vault(vault))
    stack.add_output(arn_output, at.owner,
                     f"ARN of DR backup vault {vault.name} of table {table.table_name} in "
                     f"{vault.region}: the main stack's copy destination",
                     out.get_att(dr_id, "BackupVaultArn"))
    stack.add_output(out.output_id(table, "replica_backup_vault_name"), at.owner,
                     f"Name of DR backup vault of table {table.table_name} in {vault.region}",
                     out.ref(dr_id))
    return _CloudFormationDrLink(vault=vault, arn={
        "Fn::If": [condition, out.sub(*derived), out.ref(parameter)]})


def _cloudformation_resources(out: CloudFormationOut, at: CloudFormationAt, backup: Backup,
                              links: Sequence[_CloudFormationDrLink]) -> None:
    t, owner = at.pascal, at.owner
    vault, plan, selection, role = backup.vault, backup.plan, backup.selection, backup.role
    if vault is None or plan is None or selection is None or role is None:
        return
    out.add_resource(f"{t}BackupVault", owner, _cloudformation_vault(vault))
    document = plan_document(plan, {link.vault.region: link.arn for link in links},
                             target_vault=out.ref(f"{t}BackupVault"))  # Ref: the vault's name
    out.add_resource(f"{t}BackupPlan", owner, {
        "Type": "AWS::Backup::BackupPlan",
        "Properties": {"BackupPlan": _cloudformation_plan(document),
                       "BackupPlanTags": dict(sorted(plan.tags.items()))}})
    out.add_resource(f"{t}BackupRole", owner, {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "RoleName": role.name,
            "AssumeRolePolicyDocument": trust_policy(
                role.trusted_service,
                out.ref("AWS::AccountId") if role.limited_to_account else None),
            "ManagedPolicyArns": [out.managed_policy_arn(a) for a in role.managed_policies],
            "Tags": _tag_list(role.tags)}})
    out.add_resource(f"{t}BackupSelection", owner, {
        "Type": "AWS::Backup::BackupSelection",
        "Properties": {
            "BackupPlanId": out.ref(f"{t}BackupPlan"),  # Ref: the plan's ID
            "BackupSelection": {"SelectionName": selection.name,
                                "IamRoleArn": out.get_att(f"{t}BackupRole", "Arn"),
                                "Resources": [out.get_att(at.logical_id, "Arn")]}}})


def _cloudformation_plan(document: dict[str, Any]) -> dict[str, Any]:
    """The BackupPlanInput apply sends, in CloudFormation's names (``BackupPlanRule``,
    ``TargetBackupVault``); copy actions and lifecycles keep the API's."""
    rules = []
    for rule in document["Rules"]:
        cfn: dict[str, Any] = {"RuleName": rule["RuleName"],
                               "TargetBackupVault": rule["TargetBackupVaultName"],
                               "ScheduleExpression": rule["ScheduleExpression"],
                               "Lifecycle": rule["Lifecycle"]}
        if rule.get("CopyActions"):
            cfn["CopyActions"] = rule["CopyActions"]
        rules.append(cfn)
    return {"BackupPlanName": document["BackupPlanName"], "BackupPlanRule": rules}


# --------------------------------------------------------------------------- IAM
# what the reads and handlers call (iam_statements; tablesmith iam-policy)

VAULT_READS = (
    "backup:DescribeBackupVault",
    "backup:ListRecoveryPointsByBackupVault",
    "backup:ListTags",
)
VAULT_REMOVES = ("backup:DeleteBackupVault",)
VAULT_WRITES = ("backup:CreateBackupVault", "backup:TagResource", "backup:UntagResource")
PLAN_READS = (
    "backup:GetBackupPlan",
    "backup:GetBackupSelection",
    "backup:ListBackupSelections",
    "backup:ListTags",
)
PLAN_REMOVES = ("backup:DeleteBackupPlan", "backup:DeleteBackupSelection")
PLAN_WRITES = (
    "backup:CreateBackupPlan",
    "backup:CreateBackupSelection",
    "backup:TagResource",
    "backup:UntagResource",
    "backup:UpdateBackupPlan",
)

ROLE_READS = ("iam:GetRole", "iam:ListAttachedRolePolicies")

ROLE_REMOVES = ("iam:DeleteRole", "iam:DetachRolePolicy")
ROLE_WRITES = ("iam:CreateRole", "iam:TagRole", "iam:UntagRole", "iam:UpdateAssumeRolePolicy")


def _iam_role_arn(table: Table, account: str) -> str:
    role = backup_names(table.table_name).role
    return f"arn:{partition(table.region)}:iam::{account}:role/{role}"


def _iam_vault_arns(table: Table, account: str) -> list[str]:
    names = backup_names(table.table_name)
    arns = [iam.arn("backup", table.region, account, f"backup-vault:{names.vault}")]
    arns += [
        iam.arn("backup", region, account, f"backup-vault:{names.dr_vault}")
        for region in sorted(table.replicas)
        if region != table.region
    ]
    return arns


def _iam_plan_arns(tables: Sequence[Table], account: str) -> list[str]:
    # the ARN ends in the plan's ID, which AWS generates: no name to scope to
    return [
        iam.arn("backup", region, account, "backup-plan:*")
        for region in sorted({t.region for t in tables})
    ]


BACKUP = BackupFamily()
