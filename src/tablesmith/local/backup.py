"""AWS Backup extensions to moto 5.x: selections, UpdateBackupPlan, region settings, tag reads.

``install()`` patches moto's ``BackupBackend`` (state and behaviour) and ``BackupResponse``
(HTTP handlers) in this process, and adds the routes moto's server lacks to
``moto.backup.urls.url_paths``. It must run before the moto server's app is built (the server
reads ``url_paths`` once, when it creates the backup app). It is idempotent.

What it adds or corrects (measured against moto 5.2.5; shapes and error codes from the AWS Backup
API reference, https://docs.aws.amazon.com/aws-backup/latest/devguide/api-reference.html):

* CreateBackupSelection, GetBackupSelection, ListBackupSelections (MaxResults/NextToken),
  DeleteBackupSelection; DeleteBackupPlan refuses a plan that still has selections with
  ``InvalidRequestException`` ("Related backup plan selections must be deleted prior to backup
  plan deletion", as AWS answers).
* UpdateBackupPlan: replaces the plan document (rules get moto's defaults and new RuleIds),
  gives a new VersionId, keeps BackupPlanId, BackupPlanArn and CreationDate.
* CreateBackupPlan no longer counts deleted plans as duplicates of a new plan's name.
* CreatorRequestId (moto stored it and ignored it): CreateBackupPlan with the token of a live
  plan returns that plan, CreateBackupVault with the token of the vault of that name returns
  that vault, as AWS does, so a create retried after its answer was lost makes nothing twice
  (CreateBackupSelection honours it too, below).
* ListTags reads the ARN with or without the trailing slash (botocore sends
  ``/tags/{arn}/``; other SDKs send ``/tags/{arn}``, for which moto answered ``{"Tags": {}}``),
  and answers ResourceNotFoundException for a vault or plan of this region that does not exist.
  DeleteBackupVault drops the vault's tags, so a vault re-created with the same name starts
  with only the tags it is created with.
* DescribeRegionSettings / UpdateRegionSettings (moto: no route), defaulting to a configured
  account: every classic resource type opted in and ``ResourceTypeManagementPreference``
  ``{"DynamoDB": true, "EFS": true}`` (advanced DynamoDB backup on, which cross-Region copy of
  DynamoDB backups needs).
* DescribeBackupVault also returns NumberOfRecoveryPoints, VaultType and VaultState;
  ListRecoveryPointsByBackupVault (moto: no route) answers an empty list for an existing vault.

All extension state lives on moto's own objects (attributes of the ``BackupBackend``
instances, plain dicts and lists only), which ``local/snapshot.py`` saves and restores by name,
and moto's reset (which rebuilds each backend's ``__dict__``) clears it.
"""

from __future__ import annotations

import copy
import json
from typing import TYPE_CHECKING, Any, TypedDict, cast
from urllib.parse import parse_qs, unquote

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["install"]

_MARKER = "_tablesmith_backup_installed"

# Attribute names on a BackupBackend instance (read with getattr and a default).
_SELECTIONS_ATTR = "_ts_selections"  # {plan_id: {selection_id: _Selection}}
_REGION_SETTINGS_ATTR = "_ts_region_settings"  # {"ResourceTypeOptInPreference": {...}, ...}

# Routes the moto server lacks (regexes in moto's urls.py style; "{0}" is the url base).
# The server's Flask rules have strict_slashes=False: a rule ending in "/" also matches the
# path without it, but not the other way round, so these end as botocore's request URIs do.
_EXTRA_URL_PATHS = (
    "{0}/account-settings$",
    "{0}/backup-vaults/(?P<name>[^/]+)/recovery-points/$",
)

_MAX_RESULTS_LIMIT = 1000

# DescribeRegionSettings of an account whose Backup settings have been configured: the classic
# resource types opted in, the newer ones (opt-in by default off on AWS) not, and full Backup
# management (advanced DynamoDB backup) on. A fresh AWS account has "DynamoDB": false.
_DEFAULT_OPT_IN: dict[str, bool] = {
    "Aurora": True,
    "CloudFormation": False,
    "DocumentDB": True,
    "DynamoDB": True,
    "EBS": True,
    "EC2": True,
    "EFS": True,
    "FSx": True,
    "Neptune": True,
    "RDS": True,
    "Redshift": False,
    "S3": False,
    "SAP HANA on Amazon EC2": False,
    "Storage Gateway": True,
    "Timestream": False,
    "VirtualMachine": True,
}
_DEFAULT_MANAGEMENT: dict[str, bool] = {"DynamoDB": True, "EFS": True}
_REGION_SETTING_KEYS = (
    "ResourceTypeOptInPreference",
    "ResourceTypeManagementPreference",
    "ResourceTypeOptInIncremental",
)

_CONDITION_KINDS = ("StringEquals", "StringNotEquals", "StringLike", "StringNotLike")


class _Selection(TypedDict):
    """One backup selection as stored on the backend (a plain dict at run time)."""

    SelectionId: str
    BackupPlanId: str
    CreationDate: float
    CreatorRequestId: str | None
    BackupSelection: dict[str, Any]  # as GetBackupSelection returns it


def install() -> None:
    """Patch moto's AWS Backup service in this process (idempotent)."""
    from moto.backup import urls
    from moto.backup.models import BackupBackend
    from moto.backup.responses import BackupResponse

    if getattr(BackupResponse, _MARKER, False):
        return

    backend_methods: dict[str, Callable[..., Any]] = {
        "create_backup_plan": _backend_create_backup_plan,
        "create_backup_vault": _backend_create_backup_vault,
        "delete_backup_plan": _backend_delete_backup_plan,
        "update_backup_plan": _backend_update_backup_plan,
        "create_backup_selection": _backend_create_backup_selection,
        "get_backup_selection": _backend_get_backup_selection,
        "list_backup_selections": _backend_list_backup_selections,
        "delete_backup_selection": _backend_delete_backup_selection,
        "delete_backup_vault": _backend_delete_backup_vault,
        "describe_region_settings": _backend_describe_region_settings,
        "update_region_settings": _backend_update_region_settings,
        "list_recovery_points_by_backup_vault": _backend_list_recovery_points_by_backup_vault,
        "list_tags": _backend_list_tags,
        "iter_tagged_resources": _backend_iter_tagged_resources,
    }
    response_methods: dict[str, Callable[..., Any]] = {
        "update_backup_plan": _response_update_backup_plan,
        "create_backup_selection": _response_create_backup_selection,
        "get_backup_selection": _response_get_backup_selection,
        "list_backup_selections": _response_list_backup_selections,
        "delete_backup_selection": _response_delete_backup_selection,
        "describe_backup_vault": _response_describe_backup_vault,
        "describe_region_settings": _response_describe_region_settings,
        "update_region_settings": _response_update_region_settings,
        "list_recovery_points_by_backup_vault": _response_list_recovery_points_by_backup_vault,
        "list_tags": _response_list_tags,
    }
    for name, function in backend_methods.items():
        setattr(BackupBackend, name, function)
    for name, function in response_methods.items():
        setattr(BackupResponse, name, function)

    url_paths = cast("dict[str, Any]", urls.url_paths)
    for path in _EXTRA_URL_PATHS:
        url_paths.setdefault(path, BackupResponse.dispatch)

    setattr(BackupResponse, _MARKER, True)


# --------------------------------------------------------------------------------------------
# Errors (moto's JsonRESTError: HTTP 400, body {"__type": code, "message": ...})


def _error(code: str, message: str) -> Exception:
    from moto.core.exceptions import JsonRESTError

    return cast("Exception", JsonRESTError(code, message))


def _not_found(message: str) -> Exception:
    return _error("ResourceNotFoundException", message)


def _missing(message: str) -> Exception:
    return _error("MissingParameterValueException", message)


def _invalid_value(message: str) -> Exception:
    return _error("InvalidParameterValueException", message)


# --------------------------------------------------------------------------------------------
# Backend state


def _selection_store(backend: Any) -> dict[str, dict[str, _Selection]]:
    store = getattr(backend, _SELECTIONS_ATTR, None)
    if store is None:
        store = {}
        setattr(backend, _SELECTIONS_ATTR, store)
    return cast("dict[str, dict[str, _Selection]]", store)


def _region_settings(backend: Any) -> dict[str, dict[str, bool]]:
    settings = getattr(backend, _REGION_SETTINGS_ATTR, None)
    if settings is None:
        settings = {
            "ResourceTypeOptInPreference": dict(_DEFAULT_OPT_IN),
            "ResourceTypeManagementPreference": dict(_DEFAULT_MANAGEMENT),
        }
        setattr(backend, _REGION_SETTINGS_ATTR, settings)
    return cast("dict[str, dict[str, bool]]", settings)


def _live_plan(backend: Any, backup_plan_id: str) -> Any:
    """The plan (moto ``Plan``) if it exists and is not deleted, else ResourceNotFoundException."""
    plan = backend.plans.get(backup_plan_id)
    if plan is None or plan.deletion_date is not None:
        raise _not_found(f"Failed reading Backup plan with provided version: {backup_plan_id}")
    return plan


def _new_id() -> str:
    from moto.moto_api._internal import mock_random

    return str(mock_random.uuid4())


def _now() -> float:
    from moto.core.utils import unix_time

    return float(unix_time())


# --------------------------------------------------------------------------------------------
# Backend methods (installed on moto's BackupBackend; ``self`` is a BackupBackend)


def _backend_create_backup_plan(
    self: Any,
    backup_plan: dict[str, Any],
    backup_plan_tags: dict[str, str] | None,
    creator_request_id: str | None,
) -> Any:
    """moto's CreateBackupPlan, except that deleted plans do not block the name, and that a
    CreatorRequestId of a live plan returns that plan (moto ignored it)."""
    from moto.backup.exceptions import AlreadyExistsException
    from moto.backup.models import Plan

    _check_plan_document(backup_plan)
    # AWS: "If the request includes a CreatorRequestId that matches an existing backup plan,
    # that plan is returned" (a retried create whose first answer was lost). Deleted plans
    # do not match: a plan made again after a deletion is a new plan.
    if creator_request_id:
        for plan in self.plans.values():
            if plan.deletion_date is None and plan.creator_request_id == creator_request_id:
                return plan
    name = backup_plan["BackupPlanName"]
    if any(
        plan.deletion_date is None and plan.backup_plan.get("BackupPlanName") == name
        for plan in self.plans.values()
    ):
        raise AlreadyExistsException(msg="Backup plan with the same plan document already exists")
    # moto types the id as str but stores None when a raw request leaves it out, as before.
    plan = Plan(
        backup_plan=backup_plan, creator_request_id=cast("str", creator_request_id), backend=self
    )
    if backup_plan_tags:
        self.tag_resource(plan.backup_plan_arn, backup_plan_tags)
    self.plans[plan.backup_plan_id] = plan
    return plan


def _backend_create_backup_vault(
    self: Any,
    backup_vault_name: str,
    backup_vault_tags: dict[str, str] | None,
    encryption_key_arn: str | None,
    creator_request_id: str | None,
) -> Any:
    """moto's CreateBackupVault, except that the CreatorRequestId of the vault of that name
    returns that vault ("allows failed requests to be retried without the risk of running
    the operation twice"), where moto answered AlreadyExistsException."""
    from moto.backup.exceptions import AlreadyExistsException
    from moto.backup.models import Vault

    existing = self.vaults.get(backup_vault_name)
    if existing is not None:
        if creator_request_id and existing.creator_request_id == creator_request_id:
            return existing
        raise AlreadyExistsException(msg="Backup vault with the same name already exists")
    vault = Vault(
        backup_vault_name=backup_vault_name,
        encryption_key_arn=cast("str", encryption_key_arn),
        creator_request_id=cast("str", creator_request_id),
        backend=self,
    )
    if backup_vault_tags:
        self.tag_resource(vault.backup_vault_arn, backup_vault_tags)
    self.vaults[backup_vault_name] = vault
    return vault


def _check_plan_document(backup_plan: Any) -> None:
    if not isinstance(backup_plan, dict):
        raise _missing("BackupPlan is required")
    if not backup_plan.get("BackupPlanName"):
        raise _missing("BackupPlanName is required")
    rules = backup_plan.get("Rules")
    if not isinstance(rules, list) or not rules:
        raise _missing("Rules are required")
    for rule in rules:
        if not isinstance(rule, dict) or not rule.get("RuleName"):
            raise _missing("RuleName is required")
        if not rule.get("TargetBackupVaultName"):
            raise _missing("TargetBackupVaultName is required")


def _backend_delete_backup_plan(self: Any, backup_plan_id: str) -> tuple[str, str, float, str]:
    """moto's DeleteBackupPlan, refusing (like AWS) a plan that still has selections."""
    if backup_plan_id not in self.plans:
        raise _not_found("Failed reading Backup plan with provided version")
    if _selection_store(self).get(backup_plan_id):
        raise _error(
            "InvalidRequestException",
            "Related backup plan selections must be deleted prior to backup plan deletion",
        )
    plan = self.plans[backup_plan_id]
    plan.deletion_date = _now()
    return plan.backup_plan_id, plan.backup_plan_arn, plan.deletion_date, plan.version_id


def _backend_update_backup_plan(self: Any, backup_plan_id: str, backup_plan: Any) -> Any:
    """Replace the plan document; a new VersionId; the same id, ARN and CreationDate."""
    from moto.backup.models import Plan

    plan = _live_plan(self, backup_plan_id)
    _check_plan_document(backup_plan)
    # A throw-away Plan applies moto's rule defaults and RuleIds, and draws the new VersionId.
    version = Plan(
        backup_plan=copy.deepcopy(backup_plan),
        creator_request_id=plan.creator_request_id,
        backend=self,
    )
    plan.backup_plan = version.backup_plan
    plan.advanced_backup_settings = version.advanced_backup_settings
    plan.version_id = version.version_id
    return plan


def _normalized_selection(selection: dict[str, Any]) -> dict[str, Any]:
    """The BackupSelection as AWS returns it: every list present, Conditions with all four kinds."""
    conditions = selection.get("Conditions") or {}
    return {
        "SelectionName": selection["SelectionName"],
        "IamRoleArn": selection["IamRoleArn"],
        "Resources": list(selection.get("Resources") or []),
        "ListOfTags": copy.deepcopy(list(selection.get("ListOfTags") or [])),
        "NotResources": list(selection.get("NotResources") or []),
        "Conditions": {
            kind: copy.deepcopy(list(conditions.get(kind) or [])) for kind in _CONDITION_KINDS
        },
    }


def _backend_create_backup_selection(
    self: Any,
    backup_plan_id: str,
    backup_selection: Any,
    creator_request_id: str | None,
) -> _Selection:
    if not isinstance(backup_selection, dict):
        raise _missing("BackupSelection is required")
    for required in ("SelectionName", "IamRoleArn"):
        if not backup_selection.get(required):
            raise _missing(f"{required} is required")
    _live_plan(self, backup_plan_id)
    if not backup_selection.get("Resources") and not backup_selection.get("ListOfTags"):
        raise _invalid_value(
            "Invalid backup selection. Either 'ListOfTags' or 'Resources' section must be "
            "non-empty."
        )
    document = _normalized_selection(backup_selection)
    selections = _selection_store(self).setdefault(backup_plan_id, {})
    for existing in selections.values():
        if (
            creator_request_id is not None
            and existing["CreatorRequestId"] == creator_request_id
            and existing["BackupSelection"] == document
        ):
            return existing  # an idempotent retry
        if existing["BackupSelection"]["SelectionName"] == document["SelectionName"]:
            from moto.backup.exceptions import AlreadyExistsException

            raise AlreadyExistsException(
                msg=f"Backup selection with the same name already exists: "
                f"{document['SelectionName']}"
            )
    selection: _Selection = {
        "SelectionId": _new_id(),
        "BackupPlanId": backup_plan_id,
        "CreationDate": _now(),
        "CreatorRequestId": creator_request_id,
        "BackupSelection": document,
    }
    selections[selection["SelectionId"]] = selection
    return selection


def _backend_get_backup_selection(self: Any, backup_plan_id: str, selection_id: str) -> _Selection:
    _live_plan(self, backup_plan_id)
    selection = _selection_store(self).get(backup_plan_id, {}).get(selection_id)
    if selection is None:
        raise _not_found(f"Backup selection {selection_id} not found in plan {backup_plan_id}")
    return selection


def _backend_list_backup_selections(
    self: Any, backup_plan_id: str, max_results: int | None, next_token: str | None
) -> tuple[list[_Selection], str | None]:
    """Selections of the plan in creation order; NextToken is the next page's first SelectionId."""
    _live_plan(self, backup_plan_id)
    selections = list(_selection_store(self).get(backup_plan_id, {}).values())
    start = 0
    if next_token:
        ids = [selection["SelectionId"] for selection in selections]
        if next_token not in ids:
            raise _invalid_value(f"Invalid NextToken: {next_token}")
        start = ids.index(next_token)
    limit = max_results if max_results is not None else _MAX_RESULTS_LIMIT
    page = selections[start : start + limit]
    rest = selections[start + limit :]
    return page, (rest[0]["SelectionId"] if rest else None)


def _backend_delete_backup_selection(self: Any, backup_plan_id: str, selection_id: str) -> None:
    _live_plan(self, backup_plan_id)
    selections = _selection_store(self).get(backup_plan_id, {})
    if selection_id not in selections:
        raise _not_found(f"Backup selection {selection_id} not found in plan {backup_plan_id}")
    del selections[selection_id]
    if not selections:
        _selection_store(self).pop(backup_plan_id, None)


def _backend_delete_backup_vault(self: Any, backup_vault_name: str) -> None:
    """moto's DeleteBackupVault, also dropping the vault's tags (moto kept them for a new vault)."""
    vault = self.vaults.pop(backup_vault_name, None)
    if vault is not None:
        self.tagger.delete_all_tags_for_resource(vault.backup_vault_arn)


def _backend_describe_region_settings(self: Any) -> dict[str, dict[str, bool]]:
    return copy.deepcopy(_region_settings(self))


def _backend_update_region_settings(self: Any, updates: dict[str, Any]) -> None:
    settings = _region_settings(self)
    for key in _REGION_SETTING_KEYS:
        value = updates.get(key)
        if value is None:
            continue
        if not isinstance(value, dict) or not all(
            isinstance(name, str) and isinstance(flag, bool) for name, flag in value.items()
        ):
            raise _invalid_value(f"{key} must map resource types to booleans")
        settings.setdefault(key, {}).update(value)


def _backend_list_recovery_points_by_backup_vault(self: Any, backup_vault_name: str) -> list[Any]:
    if backup_vault_name not in self.vaults:
        raise _not_found(f"Backup vault {backup_vault_name} not found")
    return []  # moto runs no backup jobs, so no vault holds recovery points


def _backend_list_tags(self: Any, resource_arn: str) -> dict[str, str]:
    """Tags of a resource; ResourceNotFoundException for a missing vault or plan of this region."""
    parts = resource_arn.split(":", 6)
    if (
        len(parts) == 7
        and parts[2] == "backup"
        and parts[3] == self.region_name
        and parts[4] == self.account_id
    ):
        kind, name = parts[5], parts[6]
        if kind == "backup-vault" and name not in self.vaults:
            raise _not_found(f"Backup vault {name} not found")
        if kind == "backup-plan":
            plan = self.plans.get(name)
            if plan is None or plan.deletion_date is not None:
                raise _not_found(f"Backup plan {name} not found")
    return cast("dict[str, str]", self.tagger.get_tag_dict_for_resource(resource_arn))


def _backend_iter_tagged_resources(self: Any) -> Any:
    """What the tagging API's GetResources lists: vaults (as moto) and live backup plans,
    which moto leaves out and AWS lists ("GetResources supports all resource types")."""
    from moto.core.resource_tagging import TaggedResource

    for vault in self.vaults.values():
        yield TaggedResource(arn=vault.backup_vault_arn,
                             tags=self.tagger.get_tag_dict_for_resource(vault.backup_vault_arn),
                             resource_type="backup:backup-vault")
    for plan in self.plans.values():
        if plan.deletion_date is None:
            yield TaggedResource(arn=plan.backup_plan_arn,
                                 tags=self.tagger.get_tag_dict_for_resource(plan.backup_plan_arn),
                                 resource_type="backup:backup-plan")


# --------------------------------------------------------------------------------------------
# Response handlers (installed on moto's BackupResponse; ``self`` is a BackupResponse)


def _segments(self: Any) -> list[str]:
    """The request path's non-empty segments, percent-decoded."""
    return [unquote(segment) for segment in str(self.path).split("/") if segment]


def _plan_and_selection_ids(self: Any) -> tuple[str, str | None]:
    """(backupPlanId, selectionId or None) from /backup/plans/{id}[/selections/[{sid}]]."""
    segments = _segments(self)
    # ["backup", "plans", plan_id, ("selections", (selection_id))]
    plan_id = segments[2] if len(segments) > 2 else ""
    selection_id = segments[4] if len(segments) > 4 else None
    return plan_id, selection_id


def _body(self: Any) -> dict[str, Any]:
    if not self.body:
        return {}
    try:
        body = json.loads(self.body)
    except ValueError as exc:
        raise _error("SerializationException", f"Request body is not valid JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise _error("SerializationException", "Request body must be a JSON object")
    return cast("dict[str, Any]", body)


def _query(self: Any) -> dict[str, str]:
    parsed = parse_qs(self.parsed_url.query, keep_blank_values=True)
    return {name: values[0] for name, values in parsed.items() if values}


def _response_update_backup_plan(self: Any) -> str:
    plan_id, _ = _plan_and_selection_ids(self)
    plan = self.backup_backend.update_backup_plan(plan_id, _body(self).get("BackupPlan"))
    return json.dumps(plan.to_dict())


def _response_create_backup_selection(self: Any) -> str:
    plan_id, _ = _plan_and_selection_ids(self)
    body = _body(self)
    selection = self.backup_backend.create_backup_selection(
        plan_id, body.get("BackupSelection"), body.get("CreatorRequestId")
    )
    return json.dumps(
        {
            "SelectionId": selection["SelectionId"],
            "BackupPlanId": selection["BackupPlanId"],
            "CreationDate": selection["CreationDate"],
        }
    )


def _response_get_backup_selection(self: Any) -> str:
    plan_id, selection_id = _plan_and_selection_ids(self)
    selection = self.backup_backend.get_backup_selection(plan_id, selection_id or "")
    answer = {
        "BackupSelection": selection["BackupSelection"],
        "SelectionId": selection["SelectionId"],
        "BackupPlanId": selection["BackupPlanId"],
        "CreationDate": selection["CreationDate"],
    }
    if selection["CreatorRequestId"] is not None:
        answer["CreatorRequestId"] = selection["CreatorRequestId"]
    return json.dumps(answer)


def _response_list_backup_selections(self: Any) -> str:
    plan_id, _ = _plan_and_selection_ids(self)
    query = _query(self)
    max_results: int | None = None
    if "maxResults" in query:
        try:
            max_results = int(query["maxResults"])
        except ValueError:
            max_results = 0
        if not 1 <= max_results <= _MAX_RESULTS_LIMIT:
            raise _invalid_value(f"MaxResults must be between 1 and {_MAX_RESULTS_LIMIT}")
    page, next_token = self.backup_backend.list_backup_selections(
        plan_id, max_results, query.get("nextToken") or None
    )
    members = []
    for selection in page:
        member = {
            "SelectionId": selection["SelectionId"],
            "SelectionName": selection["BackupSelection"]["SelectionName"],
            "BackupPlanId": selection["BackupPlanId"],
            "CreationDate": selection["CreationDate"],
            "IamRoleArn": selection["BackupSelection"]["IamRoleArn"],
        }
        if selection["CreatorRequestId"] is not None:
            member["CreatorRequestId"] = selection["CreatorRequestId"]
        members.append(member)
    answer: dict[str, Any] = {"BackupSelectionsList": members}
    if next_token is not None:
        answer["NextToken"] = next_token
    return json.dumps(answer)


def _response_delete_backup_selection(self: Any) -> str:
    plan_id, selection_id = _plan_and_selection_ids(self)
    self.backup_backend.delete_backup_selection(plan_id, selection_id or "")
    return ""


def _response_describe_backup_vault(self: Any) -> str:
    name = _segments(self)[-1]
    vault = self.backup_backend.describe_backup_vault(name)
    answer = {k: v for k, v in vault.to_list_dict().items() if v is not None}
    answer["NumberOfRecoveryPoints"] = vault.num_of_recovery_points
    answer.setdefault("VaultType", "BACKUP_VAULT")
    answer.setdefault("VaultState", "AVAILABLE")
    return json.dumps(answer)


def _response_describe_region_settings(self: Any) -> str:
    return json.dumps(self.backup_backend.describe_region_settings())


def _response_update_region_settings(self: Any) -> str:
    self.backup_backend.update_region_settings(_body(self))
    return ""


def _response_list_recovery_points_by_backup_vault(self: Any) -> str:
    # ["backup-vaults", name, "recovery-points"]
    name = _segments(self)[1]
    points = self.backup_backend.list_recovery_points_by_backup_vault(name)
    return json.dumps({"RecoveryPoints": points})


def _response_list_tags(self: Any) -> str:
    """GET /tags/{arn}/ (botocore) or /tags/{arn} (e.g. the Go SDK), the ARN encoded or not."""
    path = str(self.path)
    marker = "/tags/"
    resource_arn = unquote(path[path.index(marker) + len(marker) :].rstrip("/"))
    tags = self.backup_backend.list_tags(resource_arn=resource_arn)
    return json.dumps({"Tags": tags})
