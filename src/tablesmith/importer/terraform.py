"""Terraform state -> the spec's model, and the ``removed`` blocks that hand it over.

Input: ``terraform show -json`` output or a ``terraform.tfstate`` (format version 4). Both are
JSON; the file may be hostile, so it is read with a size bound, parsed with ``json`` (no
``NaN``/``Infinity``, nesting bounded by the parser's recursion limit) and checked with pydantic
models that keep only what is read here. Nothing in it is ever evaluated.

Algorithm (``import_state``):

1. Flatten the state into managed resource instances, each with its module instance address.
2. Recognise, per module instance, the reference module (``../shared/reference``): a module
   instance holding ``aws_dynamodb_table.this`` is one, and every resource of it must be one
   of the module's (``MODULE_RESOURCES``), or the module is not handed over (a ``removed``
   block for ``module.X`` would make Terraform forget the others too). Root-level
   ``aws_dynamodb_table`` and ``aws_dynamodb_table_replica`` resources are recognised too.
   Everything else is listed with the reason it stays Terraform's; nothing is dropped silently.
3. Translate each table into the spec's model. The table's own attributes map onto ``Table``
   directly (Terraform's attribute names are its schema, not an AWS response); the resources
   around it are first put in the shape of the AWS responses the live readers parse (a
   ``GetBackupPlan`` document, a ``GetRole`` role, a ``DescribeAlarms`` alarm), so that the
   readers of ``around.backup`` / ``around.alarms`` and the settings derivation of
   ``importer.aws`` are the one mapping from those resources to the spec.
4. A module instance is written as tablesmith reads the module block itself
   (``spec.hcl_source``): ``Name`` and ``Type`` are ``table_tags`` (on the table alone), its
   backup rule becomes ``backup``, and its alarms keep their thresholds but watch the series
   DynamoDB publishes, with the module's other rules at their built-in defaults (``plan`` then
   corrects the module's defects, each with its category). A plain table is written exactly
   as it stands, backup and alarms off (Terraform's resources around it are not its).
5. Each environment's spec is checked as ``import aws`` checks it: written, loaded back through
   the real loader, and required to give the same tables. A table failing any step is skipped
   with the reason, and so is everything one ``removed`` block covers with it (``from`` names a
   module or a resource without instance keys: all its instances go, or none).
"""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from tablesmith.errors import UsageError
from tablesmith.spec.defaults import MODULE_DEFAULTS
from tablesmith.spec.model import (
    OWNERSHIP_TAG,
    AlarmRule,
    Alarms,
    AttributeType,
    Encryption,
    Environment,
    GlobalSecondaryIndex,
    Key,
    LocalSecondaryIndex,
    OnDemandThroughput,
    PointInTimeRecovery,
    ProjectionType,
    Stream,
    Table,
    TimeToLive,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from pathlib import Path

    from tablesmith.spec.model import Backup as BackupSettings
    from tablesmith.spec.model import Conventions

MAX_STATE_BYTES = 128 * 1024 * 1024  # a state of thousands of resources is a few MB
TABLE = "aws_dynamodb_table"
REPLICA = "aws_dynamodb_table_replica"
# the reference module's resources (main.tf), by type and name
MODULE_RESOURCES = frozenset(
    {
        (TABLE, "this"),
        ("aws_backup_vault", "this"),
        ("aws_backup_vault", "replica"),
        ("aws_backup_plan", "this"),
        ("aws_backup_selection", "this"),
        ("aws_iam_role", "backup"),
        ("aws_iam_role_policy_attachment", "backup"),
        ("aws_iam_role_policy_attachment", "restore"),
        ("aws_cloudwatch_metric_alarm", "user_errors"),
        ("aws_cloudwatch_metric_alarm", "system_errors"),
        ("aws_cloudwatch_metric_alarm", "throttled_requests"),
    }
)
# the module's alarms whose trigger a tablesmith alarm rule keeps (on the published series)
MODULE_ALARM_RULES = {"system_errors": "system_errors", "throttled_requests": "throttled_requests"}
MODULE_TABLE_TAGS = ("Name", "Type")  # main.tf merges them over var.tags on the table alone
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_MODULE_STEP = re.compile(r'module\.([A-Za-z_][A-Za-z0-9_-]*)(\[(?:\d+|"(?:[^"\\]|\\.)*")\])?')
ALARM_RULE_NAMES = (
    "system_errors",
    "throttled_requests",
    "read_throttle_events",
    "write_throttle_events",
    "replication_latency",
    "user_errors",
)


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Resource:
    """One managed (or data) resource instance of the state."""

    module: str  # the module instance address ("" at the root), e.g. module.orders["eu"]
    mode: str  # "managed" or "data"
    type: str
    name: str
    index: int | str | None  # count / for_each key (None without either)
    values: dict[str, Any]

    @property
    def address(self) -> str:
        """The instance address, as ``terraform state list`` prints it."""
        key = "" if self.index is None else f"[{json.dumps(self.index)}]"
        data = "data." if self.mode == "data" else ""
        return f"{self.module + '.' if self.module else ''}{data}{self.type}.{self.name}{key}"

    @property
    def resource(self) -> str:
        """The resource address without instance keys (what a ``removed`` block names)."""
        return f"{self.module + '.' if self.module else ''}{self.type}.{self.name}"


@dataclass(frozen=True)
class Handover:
    """One ``removed`` block: what Terraform forgets, and the tables that come with it."""

    address: str  # the block's ``from``: module.X or TYPE.NAME, without instance keys
    resources: tuple[str, ...]  # the instance addresses it covers
    tables: tuple[str, ...]  # physical names of the tables handed over with it


@dataclass(frozen=True)
class Skipped:
    """A resource instance that stays Terraform's, and why."""

    address: str
    reason: str
    table: bool = True  # a table (or part of one) that could not be handed over


@dataclass(frozen=True)
class EnvironmentSpec:
    """The spec written for one environment."""

    environment: Environment
    tables: tuple[Table, ...]
    text: str


@dataclass(frozen=True)
class TerraformImport:
    """What ``import terraform`` writes, and what it leaves to Terraform."""

    specs: tuple[EnvironmentSpec, ...]
    handovers: tuple[Handover, ...]
    skipped: tuple[Skipped, ...]
    notices: tuple[str, ...] = field(default=())

    @property
    def removed_text(self) -> str:
        """``removed.tf``: one block per handed-over module or resource ("" if none)."""
        return render_removed(self.handovers)


# --------------------------------------------------------------------------- reading


class _Lenient(BaseModel):
    """Only the fields read here; unknown ones ignored, nulls as absent."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _no_nulls(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if v is not None}
        return data


class _Instance(_Lenient):
    index_key: int | str | None = None
    attributes: dict[str, Any] = {}


class _V4Resource(_Lenient):
    module: str = ""
    mode: str
    type: str
    name: str
    instances: list[_Instance] = []


class _V4State(_Lenient):
    version: int
    resources: list[_V4Resource] = []


class _ShowResource(_Lenient):
    mode: str
    type: str
    name: str
    index: int | str | None = None
    values: dict[str, Any] = {}


class _ShowModule(_Lenient):
    address: str = ""
    resources: list[_ShowResource] = []
    child_modules: list[_ShowModule] = []


class _ShowValues(_Lenient):
    root_module: _ShowModule = _ShowModule()


class _Show(_Lenient):
    format_version: str
    values: _ShowValues = _ShowValues()


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def read_state(path: Path) -> list[Resource]:
    """The resource instances of a ``terraform show -json`` output or a v4 state file."""
    try:
        with path.open("rb") as stream:
            raw = stream.read(MAX_STATE_BYTES + 1)
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    if len(raw) > MAX_STATE_BYTES:
        raise UsageError(f"{path} is larger than {MAX_STATE_BYTES // 2**20} MB: not a state")
    try:
        document = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError) as exc:
        raise UsageError(f"{path} is not JSON: {str(exc)[:200]}") from None
    except RecursionError:
        raise UsageError(f"{path} is nested too deeply to be a Terraform state") from None
    return parse_state(document, str(path))


def parse_state(document: Any, where: str = "the state") -> list[Resource]:
    """Flatten a parsed state document (either format) into resource instances."""
    if not isinstance(document, dict):
        raise UsageError(f"{where} is not a Terraform state: its JSON is not an object")
    try:
        if "format_version" in document:  # terraform show -json
            show = _Show.model_validate(document)
            return list(_show_resources(show.values.root_module, depth=0))
        if "version" in document:
            state = _V4State.model_validate(document)
            if state.version != 4:
                raise UsageError(
                    f"{where} is a version {state.version} state: run "
                    "`terraform show -json` (any Terraform >= 0.12) and import that"
                )
            return [
                Resource(
                    module=r.module,
                    mode=r.mode,
                    type=r.type,
                    name=r.name,
                    index=i.index_key,
                    values=i.attributes,
                )
                for r in state.resources
                for i in r.instances
            ]
    except ValidationError as exc:
        first = exc.errors()[0]
        where_in = ".".join(str(p) for p in first["loc"])
        raise UsageError(f"{where} is not a Terraform state: {where_in}: {first['msg']}") from None
    except RecursionError:
        raise UsageError(f"{where} is nested too deeply to be a Terraform state") from None
    raise UsageError(
        f"{where} is neither `terraform show -json` output (format_version) nor a "
        "terraform.tfstate (version)"
    )


def _show_resources(module: _ShowModule, depth: int) -> Iterable[Resource]:
    if depth > 32:  # module calls nest a few levels; this is not a real configuration
        raise UsageError("the state nests modules more than 32 levels deep")
    for r in module.resources:
        yield Resource(
            module=module.address,
            mode=r.mode,
            type=r.type,
            name=r.name,
            index=r.index,
            values=r.values,
        )
    for child in module.child_modules:
        yield from _show_resources(child, depth + 1)


def module_call(module: str) -> str | None:
    """``module.a["x"].module.b[0]`` -> ``module.a.module.b``; None if not an address."""
    calls, at = [], 0
    while at < len(module):
        step = _MODULE_STEP.match(module, at)
        if step is None:
            return None
        calls.append(f"module.{step.group(1)}")
        at = step.end()
        if at < len(module):
            if module[at] != ".":
                return None
            at += 1
    return ".".join(calls)


# --------------------------------------------------------------------------- tables


class _Attribute(_Lenient):
    name: str
    type: AttributeType


class _Gsi(_Lenient):
    name: str
    hash_key: str
    range_key: str = ""
    projection_type: ProjectionType = "ALL"
    non_key_attributes: list[str] = []


class _Lsi(_Lenient):
    name: str
    range_key: str
    projection_type: ProjectionType = "ALL"
    non_key_attributes: list[str] = []


class _Pitr(_Lenient):
    enabled: bool = False
    recovery_period_in_days: int = 0


class _Ttl(_Lenient):
    enabled: bool = False
    attribute_name: str = ""


class _Sse(_Lenient):
    enabled: bool = False
    kms_key_arn: str = ""


class _Caps(_Lenient):
    max_read_request_units: int = 0
    max_write_request_units: int = 0


class _InlineReplica(_Lenient):
    region_name: str
    kms_key_arn: str = ""


class _TableValues(_Lenient):
    arn: str
    name: str
    hash_key: str
    range_key: str = ""
    attribute: list[_Attribute] = []
    global_secondary_index: list[_Gsi] = []
    local_secondary_index: list[_Lsi] = []
    billing_mode: str = "PROVISIONED"  # the provider's default
    on_demand_throughput: list[_Caps] = []
    point_in_time_recovery: list[_Pitr] = []
    ttl: list[_Ttl] = []
    stream_enabled: bool = False
    stream_view_type: str = ""
    server_side_encryption: list[_Sse] = []
    deletion_protection_enabled: bool = False
    table_class: str = ""
    replica: list[_InlineReplica] = []
    tags_all: dict[str, str] = {}
    tags: dict[str, str] = {}


class _ReplicaValues(_Lenient):
    arn: str = ""  # its region is the one in its ARN (the provider's, not an attribute)
    global_table_arn: str
    kms_key_arn: str = ""


def _arn_region(arn: str) -> str:
    parts = arn.split(":")
    return parts[3] if len(parts) > 5 and parts[0] == "arn" else ""


def _first(items: Sequence[Any], default: Any) -> Any:
    return items[0] if items else default


def table_model(
    values: dict[str, Any], *, module: bool, replicas: Sequence[_ReplicaValues] = ()
) -> tuple[Table, list[str]] | str:
    """The table of an ``aws_dynamodb_table`` resource, as ``live`` would read it (with the
    notices it needs), or why the spec cannot hold it."""
    try:
        v = _TableValues.model_validate(values)
    except ValidationError as exc:
        first = exc.errors()[0]
        return (
            f"its attributes are not those of {TABLE}: "
            f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
        )
    if v.billing_mode != "PAY_PER_REQUEST":
        return (
            f"billing mode is {v.billing_mode}: the spec holds on-demand tables only "
            "(switch it to PAY_PER_REQUEST first, then import it)"
        )
    region = _arn_region(v.arn)
    if not region:
        return f"its arn {v.arn[:80]!r} names no region"
    notices: list[str] = []
    types = {a.name: a.type for a in v.attribute}

    def key(name: str) -> Key:
        if name not in types:
            raise KeyError(name)
        return Key(name=name, type=types[name])

    try:
        partition = key(v.hash_key)
        sort = key(v.range_key) if v.range_key else None
        gsis = [
            GlobalSecondaryIndex(
                name=g.name,
                hash_key=key(g.hash_key),
                range_key=key(g.range_key) if g.range_key else None,
                projection_type=g.projection_type,
                non_key_attributes=tuple(sorted(g.non_key_attributes)),
            )
            for g in v.global_secondary_index
        ]
        lsis = [
            LocalSecondaryIndex(
                name=i.name,
                range_key=key(i.range_key),
                projection_type=i.projection_type,
                non_key_attributes=tuple(sorted(i.non_key_attributes)),
            )
            for i in v.local_secondary_index
        ]
    except KeyError as exc:
        return f"key attribute {exc.args[0]!r} has no attribute block (no type)"
    definitions = {
        k.name: k
        for k in (
            partition,
            sort,
            *(g.hash_key for g in gsis),
            *(g.range_key for g in gsis),
            *(i.range_key for i in lsis),
        )
        if k is not None
    }
    pitr = _first(v.point_in_time_recovery, _Pitr())
    ttl = _first(v.ttl, _Ttl())
    caps = _first(v.on_demand_throughput, _Caps())
    regions = {r.region_name: r.kms_key_arn for r in v.replica}
    regions.update({_arn_region(r.arn): r.kms_key_arn for r in replicas if r.arn})
    encryption = _encryption(
        _first(v.server_side_encryption, _Sse()), regions, module, notices, v.name
    )
    tags = {k: val for k, val in sorted((v.tags_all or v.tags).items()) if not k.startswith("aws:")}
    try:
        table = Table(
            name=v.name,
            table_name=v.name,
            environment="",
            region=region,
            partition_key=partition,
            sort_key=sort,
            attribute_definitions=tuple(sorted(definitions.values(), key=lambda k: k.name)),
            global_secondary_indexes=tuple(sorted(gsis, key=lambda g: g.name)),
            local_secondary_indexes=tuple(sorted(lsis, key=lambda i: i.name)),
            billing_mode="PAY_PER_REQUEST",
            on_demand_throughput=_caps(caps),
            point_in_time_recovery=PointInTimeRecovery(
                enabled=pitr.enabled, recovery_period_days=pitr.recovery_period_in_days or 35
            ),
            ttl=TimeToLive(enabled=ttl.enabled, attribute_name=ttl.attribute_name or "expiryTime"),
            stream=Stream.model_validate(
                {
                    "enabled": v.stream_enabled,
                    "view_type": v.stream_view_type or "NEW_AND_OLD_IMAGES",
                }
            ),
            encryption=encryption,
            deletion_protection=v.deletion_protection_enabled,
            table_class=v.table_class or "STANDARD",
            replicas=tuple(sorted(regions)),
            tags=tags,
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        return f"the spec cannot hold its {'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
    if module:
        table = with_module_tags(table)
    return table, notices


def _caps(caps: _Caps) -> OnDemandThroughput | None:
    read = caps.max_read_request_units if caps.max_read_request_units > 0 else None
    write = caps.max_write_request_units if caps.max_write_request_units > 0 else None
    if read is None and write is None:
        return None  # -1 or 0: no cap
    return OnDemandThroughput(max_read_request_units=read, max_write_request_units=write)


def _encryption(
    sse: _Sse, replicas: dict[str, str], module: bool, notices: list[str], name: str
) -> Encryption:
    if not sse.enabled:
        return Encryption(type="AWS_OWNED")
    if module or not sse.kms_key_arn or sse.kms_key_arn.endswith(":alias/aws/dynamodb"):
        # main.tf: server_side_encryption { enabled = true, kms_key_arn = null }, the
        # AWS-managed key (the state names that key's ARN, which only KMS can tell apart)
        return Encryption(type="AWS_MANAGED")
    notices.append(
        f"{name}: encryption written as CUSTOMER_MANAGED with {sse.kms_key_arn}; "
        "if that is the AWS-managed key aws/dynamodb, write encryption: "
        "{type: AWS_MANAGED} (a state does not say who manages a key)"
    )
    keys = {r: k for r, k in sorted(replicas.items()) if k}
    return Encryption(
        type="CUSTOMER_MANAGED", kms_key_arn=sse.kms_key_arn, replica_kms_key_arns=keys
    )


def with_module_tags(table: Table) -> Table:
    """``table`` with the module's ``Name`` and ``Type`` as the table's own tags (the resources
    around it start from the others), as ``spec.hcl_source`` reads a module block."""
    own = {k: table.tags[k] for k in MODULE_TABLE_TAGS if k in table.tags}
    if not own:
        return table
    base = {k: v for k, v in table.tags.items() if k not in own}
    return table.model_copy(update={"resource_tags": dict(sorted(base.items()))})


# --------------------------------------------------------------------------- around


def _api_tags(values: dict[str, Any]) -> dict[str, str]:
    tags = values.get("tags_all") or values.get("tags") or {}
    if not isinstance(tags, dict):
        return {}
    return {str(k): str(v) for k, v in sorted(tags.items()) if not str(k).startswith("aws:")}


def _lifecycle(blocks: Any) -> dict[str, Any]:
    block = blocks[0] if isinstance(blocks, list) and blocks and isinstance(blocks[0], dict) else {}
    out: dict[str, Any] = {}
    if block.get("delete_after"):
        out["DeleteAfterDays"] = block["delete_after"]
    if block.get("cold_storage_after"):
        out["MoveToColdStorageAfterDays"] = block["cold_storage_after"]
    return out


def plan_document(values: dict[str, Any]) -> dict[str, Any]:
    """An ``aws_backup_plan``'s rules in the shape of GetBackupPlan's ``BackupPlan``."""
    rules = []
    for rule in values.get("rule") or []:
        if not isinstance(rule, dict):
            continue
        rules.append(
            {
                "RuleName": rule.get("rule_name", ""),
                "TargetBackupVaultName": rule.get("target_vault_name", ""),
                "ScheduleExpression": rule.get("schedule", ""),
                "Lifecycle": _lifecycle(rule.get("lifecycle")),
                "CopyActions": [
                    {
                        "DestinationBackupVaultArn": c.get("destination_vault_arn", ""),
                        "Lifecycle": _lifecycle(c.get("lifecycle")),
                    }
                    for c in rule.get("copy_action") or []
                    if isinstance(c, dict)
                ],
            }
        )
    return {"BackupPlanName": values.get("name", ""), "Rules": rules}


def role_description(values: dict[str, Any]) -> dict[str, Any]:
    """An ``aws_iam_role`` in the shape of GetRole's ``Role``."""
    document: Any = values.get("assume_role_policy", "")
    if isinstance(document, str):
        # unparsable text is kept raw: it then differs from the module's trust policy
        with contextlib.suppress(ValueError):
            document = json.loads(document)
    return {
        "RoleName": values.get("name", ""),
        "Arn": values.get("arn", ""),
        "AssumeRolePolicyDocument": document,
        "Tags": [{"Key": k, "Value": v} for k, v in _api_tags(values).items()],
    }


def alarm_description(values: dict[str, Any]) -> dict[str, Any]:
    """An ``aws_cloudwatch_metric_alarm`` in the shape of DescribeAlarms' ``MetricAlarms``."""
    raw: dict[str, Any] = {
        "AlarmName": values.get("alarm_name", ""),
        "AlarmDescription": values.get("alarm_description", ""),
        "Namespace": values.get("namespace"),
        "MetricName": values.get("metric_name"),
        "Dimensions": [
            {"Name": k, "Value": v} for k, v in sorted((values.get("dimensions") or {}).items())
        ],
        "Statistic": values.get("statistic"),
        "Period": values.get("period"),
        "Threshold": values.get("threshold", 0.0),
        "ComparisonOperator": values.get("comparison_operator", ""),
        "EvaluationPeriods": values.get("evaluation_periods", 1),
        "TreatMissingData": values.get("treat_missing_data", "missing"),
        "AlarmActions": sorted(values.get("alarm_actions") or []),
        "OKActions": sorted(values.get("ok_actions") or []),
    }
    metrics = []
    for q in values.get("metric_query") or []:
        term: dict[str, Any] = {"Id": q.get("id", ""), "ReturnData": bool(q.get("return_data"))}
        if q.get("expression"):
            term["Expression"] = q["expression"]
        if q.get("label"):
            term["Label"] = q["label"]
        for m in q.get("metric") or []:
            term["MetricStat"] = {
                "Metric": {
                    "Namespace": m.get("namespace"),
                    "MetricName": m.get("metric_name"),
                    "Dimensions": [
                        {"Name": k, "Value": v}
                        for k, v in sorted((m.get("dimensions") or {}).items())
                    ],
                },
                "Period": m.get("period"),
                "Stat": m.get("stat"),
            }
        metrics.append(term)
    if metrics:
        raw["Metrics"] = metrics
    return {k: v for k, v in raw.items() if v is not None}


def module_backup(table: Table, members: dict[tuple[str, str], Resource]) -> BackupSettings | str:
    """The ``backup`` setting of a module instance's vault, plan, selection and role."""
    from tablesmith.around import backup as around
    from tablesmith.around.backup import LiveBackup
    from tablesmith.importer.aws import _backup
    from tablesmith.resources import Backup, BackupPlan, BackupSelection, BackupVault

    names = around.backup_names(table.table_name)
    vault = members.get(("aws_backup_vault", "this"))
    dr = members.get(("aws_backup_vault", "replica"))
    plan = members.get(("aws_backup_plan", "this"))
    selection = members.get(("aws_backup_selection", "this"))
    role = members.get(("aws_iam_role", "backup"))
    policies = sorted(
        str(r.values.get("policy_arn", ""))
        for (kind, _), r in members.items()
        if kind == "aws_iam_role_policy_attachment"
    )
    live = Backup(
        vault=BackupVault(
            name=str(vault.values.get("name", "")),
            region=table.region,
            tags=_api_tags(vault.values),
        )
        if vault
        else None,
        plan=BackupPlan(
            name=str(plan.values.get("name", "")),
            region=table.region,
            rule=around._rule(plan_document(plan.values), names),
            tags=_api_tags(plan.values),
        )
        if plan
        else None,
        selection=BackupSelection(
            name=str(selection.values.get("name", "")),
            plan=names.plan,
            role=str(selection.values.get("iam_role_arn", "")).rsplit("/", 1)[-1],
            table=table.table_name,
        )
        if selection
        else None,
        role=around._backup_role(role_description(role.values), policies)[0] if role else None,
        dr_vaults=(
            BackupVault(
                name=str(dr.values.get("name", "")),
                region=_arn_region(str(dr.values.get("arn", ""))),
                tags=_api_tags(dr.values),
            ),
        )
        if dr
        else (),
    )
    return _backup(LiveBackup(backup=live), table)


def module_alarms(table: Table, members: dict[tuple[str, str], Resource]) -> Alarms | str:
    """The ``alarms`` setting of a module instance: the triggers of its SystemErrors and
    ThrottledRequests alarms on the series DynamoDB publishes, the other rules as the
    module's defaults (``spec.defaults``), as a module block loads."""
    from tablesmith.around.alarms import parse_alarm
    from tablesmith.importer.aws import _rule

    rules = {
        name: AlarmRule.model_validate(MODULE_DEFAULTS["alarms"][name]) for name in ALARM_RULE_NAMES
    }
    actions: tuple[tuple[str, ...], tuple[str, ...]] | None = None
    for setting, resource_name in MODULE_ALARM_RULES.items():
        found = members.get(("aws_cloudwatch_metric_alarm", resource_name))
        if found is None:
            rules[setting] = rules[setting].model_copy(update={"enabled": False})
            continue
        alarm = parse_alarm(alarm_description(found.values), table.region)
        rule = _rule(alarm)
        if isinstance(rule, str):
            return rule
        rules[setting] = rule
        actions = actions or (alarm.alarm_actions, alarm.ok_actions)
    alarm_actions, ok_actions = actions or ((), ())
    return Alarms(
        enabled=True,
        alarm_actions=tuple(sorted(alarm_actions)),
        ok_actions=tuple(sorted(ok_actions)),
        **rules,
    )


def _disabled_around(table: Table) -> Table:
    from tablesmith.importer.aws import _disabled_alarms, _disabled_backup

    return table.model_copy(update={"backup": _disabled_backup(), "alarms": _disabled_alarms()})


# --------------------------------------------------------------------------- import


@dataclass
class _Group:
    """What one ``removed`` block covers: its instances and the tables they make."""

    address: str
    resources: list[Resource] = field(default_factory=list)
    tables: dict[str, Table] = field(default_factory=dict)  # physical name -> candidate
    problem: str = ""  # why the group stays Terraform's ("" if it can be handed over)
    needs: set[str] = field(default_factory=set)  # other groups it goes with (replicas)
    notices: list[str] = field(default_factory=list)


def import_state(
    resources: Sequence[Resource],
    *,
    env_name: str | None = None,
    claim: bool = False,
    header: Sequence[str] = (),
) -> TerraformImport:
    """The specs and ``removed`` blocks that hand ``resources``' tables over to tablesmith."""
    skipped: list[Skipped] = []
    groups: dict[str, _Group] = {}
    by_module: dict[str, list[Resource]] = {}
    for r in resources:
        if r.mode != "managed":
            skipped.append(Skipped(r.address, "a data source: Terraform only reads it", False))
        elif r.module:
            by_module.setdefault(r.module, []).append(r)
        elif r.type in (TABLE, REPLICA):
            groups.setdefault(r.resource, _Group(r.resource)).resources.append(r)
        else:
            skipped.append(Skipped(r.address, _not_ours(r), False))
    for module, members in by_module.items():
        _module_group(module, members, groups, skipped)
    _plain_tables(groups)
    _assign_environments(groups, env_name)
    specs = _verify(groups, claim=claim, header=header)
    _settle(groups)
    handovers = []
    for group in sorted(groups.values(), key=lambda g: g.address):
        if group.problem:
            skipped += [Skipped(r.address, group.problem) for r in group.resources]
        else:
            handovers.append(
                Handover(
                    address=group.address,
                    resources=tuple(sorted(r.address for r in group.resources)),
                    tables=tuple(sorted(group.tables)),
                )
            )
    kept = {t for h in handovers for t in h.tables}
    final = []
    for spec in specs:
        tables = tuple(t for t in spec.tables if t.table_name in kept)
        if tables:
            final.append(
                _render(
                    spec.environment,
                    tables,
                    claim=claim,
                    header=header,
                    conventions_of=[t for s in specs for t in s.tables if t.table_name in kept],
                )
            )
    notices = [n for g in groups.values() if not g.problem for n in g.notices]
    return TerraformImport(
        specs=tuple(final),
        handovers=tuple(handovers),
        skipped=tuple(sorted(skipped, key=lambda s: s.address)),
        notices=tuple(notices),
    )


def _not_ours(r: Resource) -> str:
    if r.type.startswith(("aws_backup_", "aws_iam_", "aws_cloudwatch_")):
        return (
            "not part of a dynamodb_table module instance: tablesmith makes the backup "
            "resources and alarms of a table itself, from its backup and alarms settings"
        )
    return f"tablesmith does not manage {r.type} resources"


def _module_group(
    module: str, members: list[Resource], groups: dict[str, _Group], skipped: list[Skipped]
) -> None:
    """One module instance: the reference module's (handed over as module.X), or not."""
    call = module_call(module)
    tables = [r for r in members if (r.type, r.name) == (TABLE, "this")]
    if not tables:  # not the reference module: its tables are declared in another module
        for r in members:
            reason = (
                f"declared in {module}, which is not the dynamodb_table module: hand it "
                "over from that module's configuration, or move it to the root first"
                if r.type in (TABLE, REPLICA)
                else _not_ours(r)
            )
            skipped.append(Skipped(r.address, reason, r.type in (TABLE, REPLICA)))
        return
    address = call or module
    group = groups.setdefault(address, _Group(address))
    group.resources += members
    if call is None or call.count("module.") != 1:
        group.problem = (
            f"{module} is called from another module: a removed block for it "
            "belongs in that module's configuration"
        )
        return
    strangers = sorted(r.address for r in members if (r.type, r.name) not in MODULE_RESOURCES)
    if strangers:
        group.problem = (
            f"{module} also holds {', '.join(strangers[:3])}"
            f"{' and more' if len(strangers) > 3 else ''}, which tablesmith does "
            f"not take over: a removed block for {call} would make Terraform "
            "forget them too"
        )
        return
    by_key = {(r.type, r.name): r for r in members}
    outcome = table_model(tables[0].values, module=True)
    if isinstance(outcome, str):
        group.problem = f"{tables[0].address}: {outcome}"
        return
    table, notices = outcome
    backup = module_backup(table, by_key)
    alarms = module_alarms(table, by_key)
    for problem in (backup, alarms):
        if isinstance(problem, str):
            group.problem = f"{tables[0].address}: {problem}"
            return
    group.notices += notices
    group.tables[table.table_name] = table.model_copy(update={"backup": backup, "alarms": alarms})


def _plain_tables(groups: dict[str, _Group]) -> None:
    """Root-level tables and their replica resources (joined by the table's ARN)."""
    replicas: dict[str, list[tuple[str, _ReplicaValues]]] = {}  # table ARN -> (group, replica)
    for group in groups.values():
        for r in group.resources:
            if r.type != REPLICA or r.module:
                continue
            try:
                replica = _ReplicaValues.model_validate(r.values)
            except ValidationError:
                group.problem = _problem(group, r, f"its attributes are not those of {REPLICA}")
                continue
            if not _arn_region(replica.arn):  # its table goes with it: both stay
                group.problem = _problem(group, r, "its arn names no region")
            replicas.setdefault(replica.global_table_arn, []).append((group.address, replica))
    tables_arns = set()
    for group in groups.values():
        for r in group.resources:
            if r.type != TABLE or r.module:
                continue
            arn = str(r.values.get("arn", ""))
            tables_arns.add(arn)
            joined = replicas.get(arn, [])
            outcome = table_model(r.values, module=False, replicas=[rep for _, rep in joined])
            if isinstance(outcome, str):
                group.problem = group.problem or _problem(group, r, outcome)
                continue
            table, notices = outcome
            group.notices += notices
            group.tables[table.table_name] = _disabled_around(table)
            group.needs |= {g for g, _ in joined}
            for g, _ in joined:
                groups[g].needs.add(group.address)
    for arn, joined in replicas.items():
        if arn not in tables_arns:
            for g, _ in joined:
                groups[g].problem = groups[g].problem or (
                    f"replicates {arn[:100]}, which is not a table of this state"
                )


def _problem(group: _Group, culprit: Resource, reason: str) -> str:
    """``reason``, naming the instance it is about when the group holds others too."""
    return reason if len(group.resources) == 1 else f"{culprit.address}: {reason}"


def _assign_environments(groups: dict[str, _Group], env_name: str | None) -> None:
    """Each table's environment: its ``Environment`` tag, or ``--env`` for one without."""
    for group in groups.values():
        for name, table in list(group.tables.items()):
            tag = table.tags.get("Environment")
            env = tag or env_name
            if env is None:
                group.problem = group.problem or (
                    f"table {name} has no Environment tag: pass --env ENV to name its environment"
                )
            elif env_name is not None and tag is not None and tag != env_name:
                group.problem = group.problem or (
                    f"table {name} is in environment {tag} (its Environment tag), not "
                    f"{env_name}: import it without --env, or with --env {tag}"
                )
            elif not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", env):
                group.problem = group.problem or (
                    f"table {name}'s environment {env!r} cannot be a spec file name"
                )
            else:
                group.tables[name] = table.model_copy(update={"environment": env})


def _settle(groups: dict[str, _Group]) -> None:
    """A group goes with the groups it needs (a table with its replica resources): one
    that cannot be handed over keeps the others with Terraform."""
    changed = True
    while changed:
        changed = False
        for group in groups.values():
            if group.problem:
                continue
            blocked = sorted(g for g in group.needs if groups[g].problem)
            if blocked:
                group.problem = f"goes with {blocked[0]}, which stays Terraform's"
                changed = True


def _verify(
    groups: dict[str, _Group], *, claim: bool, header: Sequence[str]
) -> list[EnvironmentSpec]:
    """Each environment's spec, written and loaded back; a table that does not read back
    the same keeps its group with Terraform. Repeats until nothing more is dropped."""
    from tablesmith.importer.aws import _reads_back, conventions_for

    for _ in range(len(groups) + 1):
        _settle(groups)
        candidates = [t for g in groups.values() if not g.problem for t in g.tables.values()]
        conventions = conventions_for(candidates)
        environments = _environments(candidates, groups)
        dropped = False
        for group in groups.values():
            if group.problem:
                continue
            for table in group.tables.values():
                env = environments.get(table.environment)
                problem = (
                    f"environment {table.environment}'s tables are in "
                    f"{env.region if env else '?'}, this one in {table.region}"
                    if env is None or env.region != table.region
                    else _reads_back(table, env, conventions)
                )
                if problem:
                    group.problem = f"table {table.table_name}: {problem}"
                    dropped = True
                    break
        if not dropped:
            return [
                _render(
                    env,
                    tuple(t for t in candidates if t.environment == name),
                    claim=claim,
                    header=header,
                    conventions_of=candidates,
                )
                for name, env in sorted(environments.items())
            ]
    return []  # pragma: no cover - each round drops a group or returns


def _environments(tables: Sequence[Table], groups: dict[str, _Group]) -> dict[str, Environment]:
    """One environment per name, in the region of its first table (by name)."""
    found: dict[str, Environment] = {}
    names: dict[str, str] = {}  # logical name -> environment that has it
    for table in sorted(tables, key=lambda t: t.table_name):
        found.setdefault(
            table.environment, Environment(name=table.environment, region=table.region)
        )
        other = names.setdefault(table.name, table.environment)
        if other != table.environment:  # one spec directory holds one table per name
            for group in groups.values():
                if table.table_name in group.tables and not group.problem:
                    group.problem = (
                        f"table {table.table_name} is also a table of "
                        f"environment {other}: import each environment into "
                        "its own directory (--env)"
                    )
    return found


def _render(
    env: Environment,
    tables: Sequence[Table],
    *,
    claim: bool,
    header: Sequence[str],
    conventions_of: Sequence[Table],
) -> EnvironmentSpec:
    from tablesmith.importer.aws import conventions_for
    from tablesmith.importer.yaml_writer import render_spec

    conventions: Conventions = conventions_for(conventions_of)
    owned = [t.table_name for t in tables] if claim else []
    text = render_spec(env, conventions, list(tables), claimed=owned, header=header)
    return EnvironmentSpec(
        environment=env, tables=tuple(sorted(tables, key=lambda t: t.name)), text=text
    )


# --------------------------------------------------------------------------- removed.tf


def render_removed(handovers: Sequence[Handover]) -> str:
    """One ``removed`` block per handover (Terraform >= 1.7): Terraform forgets, destroys
    nothing. Addresses are checked identifiers, so nothing from the state is copied raw."""
    if not handovers:
        return ""
    lines = [
        "# Written by `tablesmith import terraform`: Terraform forgets these resources and",
        "# destroys nothing (Terraform >= 1.7). Put this file where the blocks it names were,",
        '# remove those blocks, then `terraform plan` must show only "will no longer be',
        '# managed by Terraform" and 0 to destroy. See docs/migrating-from-terraform.md.',
        "",
    ]
    for handover in handovers:
        if not all(_IDENTIFIER.fullmatch(part) for part in handover.address.split(".")):
            raise UsageError(f"{handover.address!r} is not a Terraform address")
        what = ", ".join(handover.tables) or "replicas"
        lines += [
            f"# {what}: {len(handover.resources)} resource instance(s)",
            "removed {",
            f"  from = {handover.address}",
            "",
            "  lifecycle {",
            "    destroy = false",
            "  }",
            "}",
            "",
        ]
    return "\n".join(lines)


def describe_source(path: str, resources: Sequence[Resource]) -> list[str]:
    """The header comment of the written spec."""
    return [
        f"Imported by `tablesmith import terraform` from {path}",
        f"({len(resources)} resource instances read). Every setting is written out; a module",
        "instance reads as tablesmith reads its module block. `tablesmith plan` shows what",
        "differs, each change with its category (module-defect: a known defect of the module).",
        f"`{OWNERSHIP_TAG}: null`: the table is not claimed (--prune never deletes it).",
    ]


# --------------------------------------------------------------------------- handover

_HELD_TYPES = ("aws_dynamodb_table", "aws_dynamodb_table_replica")
_HELD_ARN = re.compile(r"^arn:[\w-]+:dynamodb:[\w-]+:\d*:table/(?P<name>[\w.-]+)$")


def held_tables(path: Path) -> dict[str, tuple[str, ...]]:
    """Physical table name -> the addresses its ``removed`` blocks name, from a state file.

    For ``plan --terraform-state`` (``handover.state_notices``): the file is read by
    ``read_state`` (bounded, JSON only, either format); a file that is not a Terraform state
    is a UsageError.
    """
    held: dict[str, list[str]] = {}
    for resource in read_state(path):
        if resource.mode != "managed" or resource.type not in _HELD_TYPES:
            continue
        name = _held_table_name(resource.values)
        if name is None:
            continue
        # ``from`` names the module call (no instance keys), or the resource at the root
        block = (module_call(resource.module) or resource.module) if resource.module \
            else resource.resource
        addresses = held.setdefault(name, [])
        if block not in addresses:
            addresses.append(block)
    return {name: tuple(addresses) for name, addresses in sorted(held.items())}


def _held_table_name(values: Any) -> str | None:
    """The physical table name of a table (``name``) or replica (``global_table_arn``)."""
    if not isinstance(values, dict):
        return None
    name = values.get("name")
    if isinstance(name, str) and name:
        return name
    match = _HELD_ARN.match(str(values.get("global_table_arn") or ""))
    return match.group("name") if match else None
