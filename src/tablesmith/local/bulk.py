"""The bulk reads ``tablesmith audit`` relies on, added to moto 5.x where it lacks them.

``install()`` patches moto in this process; it must run after ``local.backup.install()`` and
before the moto server's app is built (the server reads ``url_paths`` once). It is idempotent.
What moto 5.2.5 already does right is left alone: the Resource Groups Tagging API's
``GetResources`` covers DynamoDB tables (``DynamoDBBackend`` is a ``TaggableResourcesMixin``,
replica tables included, as they live in their Region's backend), so tags need nothing here.

What it adds (shapes and error codes from the AWS Backup and CloudWatch API references):

* **AWS Backup recovery points**: ``StartBackupJob`` (moto: no route) completes at once and
  leaves one recovery point in the vault (``CreationDate`` = now, status ``COMPLETED``);
  ``ListRecoveryPointsByBackupVault`` lists them (``local.backup`` answered an empty list);
  ``ListProtectedResources`` (moto: no route) lists every resource with a recovery point, with
  its newest ``LastBackupTime``, ``LastBackupVaultArn`` and ``LastRecoveryPointArn``
  (``MaxResults`` up to 1000, ``NextToken``), as AWS does for "resources successfully backed
  up". Deleting a vault drops its recovery points (AWS refuses while any remain; tablesmith
  counts them first and names the hazard).
* **CloudWatch DescribeAlarms paging**: moto answers every alarm in one page; AWS answers at
  most ``MaxRecords`` (1-100, default 50) with a ``NextToken``. Paging as AWS does keeps the
  call counts the benchmarks report honest.

State lives on moto's own objects (``_ts_recovery_points`` on each ``BackupBackend``: plain
dicts), so it is saved and restored with the ``backup`` service: no new entry in
``store.SERVICES`` is needed.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import TYPE_CHECKING, Any, TypedDict, cast

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["install"]

_MARKER = "_tablesmith_bulk_installed"
_POINTS_ATTR = "_ts_recovery_points"  # {recovery point ARN: _RecoveryPoint}
_EXTRA_URL_PATHS = ("{0}/backup-jobs/?$", "{0}/resources/?$")
MAX_PROTECTED_RESULTS = 1000  # ListProtectedResources MaxResults
MAX_ALARM_RECORDS = 100  # DescribeAlarms MaxRecords
DEFAULT_ALARM_RECORDS = 50


class _RecoveryPoint(TypedDict):
    """One completed recovery point, as stored on the backend."""

    RecoveryPointArn: str
    BackupVaultName: str
    BackupVaultArn: str
    ResourceArn: str
    ResourceType: str
    IamRoleArn: str
    CreationDate: float
    BackupJobId: str


def install() -> None:
    """Patch moto's AWS Backup and CloudWatch responses in this process (idempotent)."""
    from moto.backup import urls
    from moto.backup.models import BackupBackend
    from moto.backup.responses import BackupResponse
    from moto.cloudwatch.responses import CloudWatchResponse

    if getattr(BackupResponse, _MARKER, False):
        return
    BackupBackend.start_backup_job = _backend_start_backup_job  # type: ignore[attr-defined]
    BackupBackend.list_protected_resources = _backend_list_protected  # type: ignore[attr-defined]
    BackupBackend.list_recovery_points_by_backup_vault = _backend_list_points  # type: ignore[attr-defined]
    _wrap(BackupBackend, "delete_backup_vault", _deleting_vault)
    BackupResponse.start_backup_job = _response_start_backup_job  # type: ignore[attr-defined]
    BackupResponse.list_protected_resources = _response_list_protected  # type: ignore[attr-defined]
    _wrap(CloudWatchResponse, "describe_alarms", _paged_alarms)
    url_paths = cast("dict[str, Any]", urls.url_paths)
    for path in _EXTRA_URL_PATHS:
        url_paths.setdefault(path, BackupResponse.dispatch)
    setattr(BackupResponse, _MARKER, True)


def _wrap(cls: type, name: str, make: Callable[[Callable[..., Any]], Callable[..., Any]]) -> None:
    import functools

    original = getattr(cls, name)
    setattr(cls, name, functools.wraps(original)(make(original)))


def _error(code: str, message: str) -> Exception:
    from moto.core.exceptions import JsonRESTError

    return cast("Exception", JsonRESTError(code, message))


def _points(backend: Any) -> dict[str, _RecoveryPoint]:
    points: dict[str, _RecoveryPoint] | None = getattr(backend, _POINTS_ATTR, None)
    if points is None:
        points = {}
        setattr(backend, _POINTS_ATTR, points)
    return points


# --------------------------------------------------------------------------- AWS Backup


def _resource_type(arn: str) -> str:
    # arn:aws:dynamodb:... -> DynamoDB (the value AWS Backup reports for tables)
    service = arn.split(":")[2] if arn.count(":") >= 5 else ""
    return {
        "dynamodb": "DynamoDB",
        "ec2": "EC2",
        "rds": "RDS",
        "s3": "S3",
        "elasticfilesystem": "EFS",
    }.get(service, service or "Unknown")


def _backend_start_backup_job(
    self: Any, vault_name: str, resource_arn: str, role_arn: str
) -> _RecoveryPoint:
    if not vault_name or not resource_arn or not role_arn:
        raise _error(
            "MissingParameterValueException",
            "BackupVaultName, ResourceArn and IamRoleArn are required",
        )
    vault = self.vaults.get(vault_name)
    if vault is None:
        raise _error("ResourceNotFoundException", f"Backup vault {vault_name} not found")
    point_id = str(uuid.uuid4())
    point: _RecoveryPoint = {
        "RecoveryPointArn": f"arn:aws:backup:{self.region_name}:{self.account_id}:"
        f"recovery-point:{point_id}",
        "BackupVaultName": vault_name,
        "BackupVaultArn": vault.backup_vault_arn,
        "ResourceArn": resource_arn,
        "ResourceType": _resource_type(resource_arn),
        "IamRoleArn": role_arn,
        "CreationDate": time.time(),
        "BackupJobId": str(uuid.uuid4()).upper(),
    }
    _points(self)[point["RecoveryPointArn"]] = point
    return point


def _backend_list_points(self: Any, backup_vault_name: str) -> list[dict[str, Any]]:
    if backup_vault_name not in self.vaults:
        raise _error("ResourceNotFoundException", f"Backup vault {backup_vault_name} not found")
    return [
        {**point, "Status": "COMPLETED", "CompletionDate": point["CreationDate"]}
        for point in _points(self).values()
        if point["BackupVaultName"] == backup_vault_name
    ]


def _backend_list_protected(self: Any) -> list[dict[str, Any]]:
    """One entry per resource: its newest recovery point (sorted by ARN for stable paging)."""
    newest: dict[str, _RecoveryPoint] = {}
    for point in _points(self).values():
        current = newest.get(point["ResourceArn"])
        if current is None or point["CreationDate"] > current["CreationDate"]:
            newest[point["ResourceArn"]] = point
    return [
        {
            "ResourceArn": arn,
            "ResourceType": p["ResourceType"],
            "ResourceName": arn.rsplit("/", 1)[-1],
            "LastBackupTime": p["CreationDate"],
            "LastBackupVaultArn": p["BackupVaultArn"],
            "LastRecoveryPointArn": p["RecoveryPointArn"],
        }
        for arn, p in sorted(newest.items())
    ]


def _deleting_vault(original: Callable[..., Any]) -> Callable[..., Any]:
    def delete_backup_vault(self: Any, backup_vault_name: str) -> Any:
        result = original(self, backup_vault_name)
        points = _points(self)
        for arn in [a for a, p in points.items() if p["BackupVaultName"] == backup_vault_name]:
            del points[arn]
        return result

    return delete_backup_vault


def _response_start_backup_job(self: Any) -> str:
    body = json.loads(self.body or "{}")
    point = self.backup_backend.start_backup_job(
        str(body.get("BackupVaultName", "")),
        str(body.get("ResourceArn", "")),
        str(body.get("IamRoleArn", "")),
    )
    return json.dumps(
        {
            "BackupJobId": point["BackupJobId"],
            "RecoveryPointArn": point["RecoveryPointArn"],
            "CreationDate": point["CreationDate"],
            "IsParent": False,
        }
    )


def _response_list_protected(self: Any) -> str:
    query = {k: (v[0] if isinstance(v, list) else v) for k, v in self.querystring.items()}
    limit = int(query.get("maxResults", MAX_PROTECTED_RESULTS))
    if not 1 <= limit <= MAX_PROTECTED_RESULTS:
        raise _error(
            "InvalidParameterValueException",
            f"maxResults must be between 1 and {MAX_PROTECTED_RESULTS}",
        )
    start = int(query.get("nextToken", "0") or 0)
    results = self.backup_backend.list_protected_resources()
    page = results[start : start + limit]
    answer: dict[str, Any] = {"Results": page}
    if start + limit < len(results):
        answer["NextToken"] = str(start + limit)
    return json.dumps(answer)


# --------------------------------------------------------------------------- CloudWatch


def _paged_alarms(original: Callable[..., Any]) -> Callable[..., Any]:
    def describe_alarms(self: Any) -> Any:
        limit = int(self._get_param("MaxRecords") or DEFAULT_ALARM_RECORDS)
        if not 1 <= limit <= MAX_ALARM_RECORDS:
            raise _error(
                "InvalidParameterValue", f"MaxRecords must be between 1 and {MAX_ALARM_RECORDS}"
            )
        token = self._get_param("NextToken")
        start = int(token) if token and str(token).isdigit() else 0
        answer = original(self)
        result = answer.result
        alarms = sorted(result["MetricAlarms"], key=lambda a: a.name)  # AWS: by name
        result["MetricAlarms"] = alarms[start : start + limit]
        if start + limit < len(alarms):
            result["NextToken"] = str(start + limit)
        return answer

    return describe_alarms
