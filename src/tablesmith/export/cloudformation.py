"""CloudFormation export: an environment's effective spec as deployable templates.

``render_cloudformation(env, tables)`` returns ``{file name: text}``, deterministic (the same
spec gives byte-identical files):

``tablesmith-<env>.template.json``
    The main stack, deployed in the environment's region. Per table: the table
    (``AWS::DynamoDB::Table``, or ``AWS::DynamoDB::GlobalTable`` when it has replicas), its
    AWS Backup vault, plan (one rule; a copy action per DR vault), selection and IAM role,
    its CloudWatch alarms, and the module's outputs, each exported.
``tablesmith-<env>-dr-<region>.template.json``
    One stack per replica region, for what must live there: the DR backup vault
    (``<table>-backup-vault-dr``) the main stack's copy actions write to, its ARN exported.
``tablesmith-cloudformation-README.md`` (:data:`README_FILE`)
    Deployment order, the cross-region reference, and the output names. Prefixed, so that an
    export into a project's own directory never collides with its ``README.md``.

The table is the exporter's; the resources around it are its families' (each family of
``tablesmith.around.registry.FAMILIES`` adds its own through ``export_cloudformation``, with
what ``_Builder`` offers: ``tablesmith.around.contract.CloudFormationOut``), and the outputs
they answer join the table's in the module's order.

Why the main stack takes the DR vault ARNs as parameters: ``Fn::ImportValue`` only reads
exports of the stack's own region, and the copy action needs the ARN of a vault in another
region. That ARN is deterministic (``arn:<partition>:backup:<region>:<account>:backup-vault:
<name>``), but a parameter's ``Default`` must be a literal, so each parameter defaults to ""
and a condition substitutes the ARN built with ``${AWS::Partition}`` / ``${AWS::AccountId}``;
an operator can still pass the DR stack's exported ARN explicitly.

Names: every logical ID is PascalCase of a logical name (``user_events`` -> ``UserEvents``):
``<T>Table``, ``<T>BackupVault``, ``<T>BackupPlan``, ``<T>BackupSelection``, ``<T>BackupRole``,
``<T>DrBackupVault``, ``<T><alarm name after the table's>Alarm`` (the environment's shared
UserErrors alarm: ``<PascalCase of its name>Alarm``, made once); outputs are ``<T>`` +
PascalCase of the module's output name (``table_arn`` -> ``<T>TableArn``), exported as
``${AWS::StackName}-<output>``. Outputs the module would set to null (a feature that is off)
are left out: CloudFormation outputs cannot be null. List and map outputs are JSON strings.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tablesmith.around.contract import (
    CfnPart,
    CfnString,
    CfnSub,
    CloudFormationAt,
    CloudFormationOutputs,
    CrossRegionReference,
)
from tablesmith.around.registry import FAMILIES
from tablesmith.errors import UsageError
from tablesmith.outputs import EXTRA_OUTPUTS, MODULE_OUTPUTS
from tablesmith.shapes import (
    DEFAULT_TABLE_CLASS,
    NO_CAP,
    create_table_request,
    pitr_specification,
    replica_kms_key,
    strong_global_table_create,
    ttl_specification,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from tablesmith.spec.model import Environment, Table

FORMAT_VERSION = "2010-09-09"
# prefixed: exported into a project's own directory, it must not collide with its README.md
README_FILE = "tablesmith-cloudformation-README.md"
# Hard CloudFormation quotas per template ("CloudFormation quotas" in the user guide)
MAX_RESOURCES = 500
MAX_OUTPUTS = 200
MAX_PARAMETERS = 200
MAX_DESCRIPTION = 1024
DIRECT_UPLOAD_BYTES = 51_200  # larger template bodies must be uploaded to S3 first
MAX_TEMPLATE_BYTES = 1_000_000  # "1 MB", the limit of a template uploaded to S3


# --------------------------------------------------------------------------- names


def pascal(name: str) -> str:
    """An alphanumeric logical ID from a name: ``user_events-v2`` -> ``UserEventsV2``."""
    parts = [p for p in re.split(r"[^0-9A-Za-z]+", name) if p]
    text = "".join(p[0].upper() + p[1:] for p in parts)
    # a logical ID must start with a letter
    return text if text[:1].isalpha() else f"T{text}"


def main_stack_name(env: Environment) -> str:
    """The stack name the README suggests for the main stack (also its file's stem)."""
    return f"tablesmith-{env.name}"


def dr_stack_name(env: Environment, region: str) -> str:
    """The stack name the README suggests for the DR stack in ``region``."""
    return f"tablesmith-{env.name}-dr-{region}"


def template_file(stack_name: str) -> str:
    """The file a stack's template is written to."""
    return f"{stack_name}.template.json"


def output_id(table: Table, output: str) -> str:
    """The CloudFormation output name of a module output: ``<Table><OutputName>``."""
    return pascal(table.name) + pascal(output)


# --------------------------------------------------------------------------- intrinsics


def _ref(logical_id: str) -> dict[str, str]:
    return {"Ref": logical_id}


def _att(logical_id: str, attribute: str) -> dict[str, list[str]]:
    return {"Fn::GetAtt": [logical_id, attribute]}


# A string value is made of parts (tablesmith.around.contract.CfnPart): literals, ``${...}``
# references (CfnSub), and intrinsic functions (dicts such as ``Fn::If``), which become
# variables of ``Fn::Sub``'s second argument.


def _sub(*parts: CfnPart) -> Any:
    """The string of ``parts``: a literal if it has no references, else ``Fn::Sub``.

    A literal ``${`` is escaped as ``${!`` (Fn::Sub's escape).
    """
    if all(isinstance(p, str) for p in parts):
        return "".join(str(p) for p in parts)
    text: list[str] = []
    variables: dict[str, Any] = {}
    for part in parts:
        if isinstance(part, CfnSub):
            text.append(f"${{{part.expr}}}")
        elif isinstance(part, dict):
            name = f"V{len(variables)}"
            variables[name] = part
            text.append(f"${{{name}}}")
        else:
            text.append(part.replace("${", "${!"))
    if variables:
        return {"Fn::Sub": ["".join(text), variables]}
    return {"Fn::Sub": "".join(text)}


def _json_sub(value: Any) -> Any:
    """A JSON document as one string value, with ``CfnString`` / ``CfnSub`` / intrinsic
    leaves."""
    parts: list[CfnPart] = []

    def emit(v: Any) -> None:
        if isinstance(v, CfnSub):
            emit(CfnString((v,)))
        elif isinstance(v, CfnString):
            parts.append('"')
            # a literal inside a JSON string: escaped as JSON would escape it
            parts.extend(json.dumps(p)[1:-1] if isinstance(p, str) else p for p in v.parts)
            parts.append('"')
        elif isinstance(v, dict):
            parts.append("{")
            for i, (k, item) in enumerate(v.items()):
                parts.append(("," if i else "") + json.dumps(k) + ":")
                emit(item)
            parts.append("}")
        elif isinstance(v, list):
            parts.append("[")
            for i, item in enumerate(v):
                if i:
                    parts.append(",")
                emit(item)
            parts.append("]")
        else:
            parts.append(json.dumps(v))

    emit(value)
    return _sub(*parts)


def _arn(service: str, region: str, resource: CfnPart) -> tuple[CfnPart, ...]:
    return ("arn:", CfnSub("AWS::Partition"), f":{service}:", region, ":",
            CfnSub("AWS::AccountId"), ":", resource)


def _partition_arn(arn: str) -> tuple[CfnPart, ...]:
    # AWS-managed policies live in every partition (aws, aws-cn, aws-us-gov)
    _, _, rest = arn.split(":", 2)
    return ("arn:", CfnSub("AWS::Partition"), f":{rest}")


_PLACEHOLDERS = {"AWS::Partition": "<partition>", "AWS::AccountId": "<account-id>"}


def _display(parts: Sequence[CfnPart], *, in_template: bool = True) -> str:
    """Parts for a reader: as Fn::Sub writes them in the README; in a template's descriptions
    and metadata with ``<placeholders>`` (a ``${...}`` outside Fn::Sub is cfn-lint's E1029)."""
    def one(p: CfnPart) -> str:
        if isinstance(p, str):
            return p
        if isinstance(p, CfnSub):
            return _PLACEHOLDERS.get(p.expr, p.expr) if in_template else f"${{{p.expr}}}"
        return json.dumps(p)
    return "".join(one(p) for p in parts)


# --------------------------------------------------------------------------- stacks


@dataclass
class _Stack:
    """One template being built; every logical ID is checked for collisions."""

    name: str
    region: str
    parameters: dict[str, Any] = field(default_factory=dict)
    conditions: dict[str, Any] = field(default_factory=dict)
    resources: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    owners: dict[str, str] = field(default_factory=dict)  # logical ID -> what made it

    def _claim(self, logical_id: str, owner: str) -> None:
        if logical_id in self.owners:
            raise UsageError(
                f"CloudFormation logical ID '{logical_id}' of {owner} is also that of "
                f"{self.owners[logical_id]} in stack {self.name}; logical IDs are the "
                "alphanumeric PascalCase of names, so rename one of the tables or indexes")
        self.owners[logical_id] = owner

    def add_resource(self, logical_id: str, owner: str, body: dict[str, Any]) -> None:
        self._claim(logical_id, owner)
        self.resources[logical_id] = body

    def add_parameter(self, logical_id: str, owner: str, body: dict[str, Any]) -> None:
        self._claim(logical_id, owner)
        self.parameters[logical_id] = body

    def add_condition(self, logical_id: str, owner: str, body: Any) -> None:
        self._claim(logical_id, owner)
        self.conditions[logical_id] = body

    def add_output(self, logical_id: str, owner: str, description: str, value: Any) -> None:
        # outputs have a namespace of their own
        self._claim(f"Outputs.{logical_id}", owner)
        self.outputs[logical_id] = {
            "Description": description,
            "Value": value,
            "Export": {"Name": _sub(CfnSub("AWS::StackName"), f"-{logical_id}")},
        }

    def check_quotas(self) -> None:
        for what, count, limit in (("resources", len(self.resources), MAX_RESOURCES),
                                   ("outputs", len(self.outputs), MAX_OUTPUTS),
                                   ("parameters", len(self.parameters), MAX_PARAMETERS)):
            if count > limit:
                raise UsageError(
                    f"stack {self.name} would have {count} {what}; CloudFormation allows "
                    f"{limit} per template: export fewer tables at once")


class _Builder:
    """The stacks of one export as they are built: what the families add their resources
    through (``tablesmith.around.contract.CloudFormationOut``)."""

    def __init__(self, env: Environment) -> None:
        self.env = env
        self.main = _Stack(main_stack_name(env), env.region)
        self.dr: dict[str, _Stack] = {}  # by region
        self.references: list[CrossRegionReference] = []
        self.memos: dict[str, dict[Any, Any]] = {}  # family name -> its notes

    @property
    def region(self) -> str:
        return self.main.region

    def add_resource(self, logical_id: str, owner: str, body: dict[str, Any]) -> None:
        self.main.add_resource(logical_id, owner, body)

    def add_parameter(self, logical_id: str, owner: str, body: dict[str, Any]) -> None:
        self.main.add_parameter(logical_id, owner, body)

    def add_condition(self, logical_id: str, owner: str, body: Any) -> None:
        self.main.add_condition(logical_id, owner, body)

    def resource(self, logical_id: str) -> dict[str, Any]:
        body: dict[str, Any] = self.main.resources[logical_id]
        return body

    def dr_stack(self, region: str) -> _Stack:
        return self.dr.setdefault(region, _Stack(dr_stack_name(self.env, region), region))

    def cross_region_reference(self, reference: CrossRegionReference) -> None:
        self.references.append(reference)

    def ref(self, logical_id: str) -> dict[str, Any]:
        return _ref(logical_id)

    def get_att(self, logical_id: str, attribute: str) -> dict[str, Any]:
        return _att(logical_id, attribute)

    def sub(self, *parts: CfnPart) -> Any:
        return _sub(*parts)

    def arn(self, service: str, region: str, resource: CfnPart) -> tuple[CfnPart, ...]:
        return _arn(service, region, resource)

    def managed_policy_arn(self, arn: str) -> Any:
        return _sub(*_partition_arn(arn))

    def json_sub(self, value: Any) -> Any:
        return _json_sub(value)

    def display(self, parts: Sequence[CfnPart]) -> str:
        return _display(parts)

    def pascal(self, name: str) -> str:
        return pascal(name)

    def output_id(self, table: Table, output: str) -> str:
        return output_id(table, output)

    def memo(self, family: str) -> dict[Any, Any]:
        return self.memos.setdefault(family, {})


# --------------------------------------------------------------------------- table


def _pitr(table: Table) -> dict[str, Any]:
    # CloudFormation's PointInTimeRecoverySpecification has UpdateContinuousBackups' names
    return pitr_specification(table.point_in_time_recovery)


def _replica_pitr(table: Table, region: str) -> dict[str, Any]:
    """A replica's PITR: its own period where the spec gives one, else the table's."""
    return pitr_specification(table.pitr_in(region))


def _ttl(table: Table) -> dict[str, Any]:
    # written even when off, so that a stack update turns an enabled TTL off; the attribute
    # name always, as CloudFormation needs it to disable a TTL that is on
    spec = ttl_specification(table.ttl)
    return {"AttributeName": spec["AttributeName"], "Enabled": spec["Enabled"]}


def _sse(request: dict[str, Any], *, with_key: bool) -> dict[str, Any]:
    """The CreateTable request's SSESpecification in CloudFormation's names (``SSEEnabled``)."""
    # no SSESpecification in CreateTable: DynamoDB's default, the AWS-owned key
    spec = request.get("SSESpecification", {"Enabled": False})
    sse: dict[str, Any] = {"SSEEnabled": spec["Enabled"]}
    if "SSEType" in spec:
        sse["SSEType"] = spec["SSEType"]  # KMS with no key given: aws/dynamodb
    if with_key and "KMSMasterKeyId" in spec:
        sse["KMSMasterKeyId"] = spec["KMSMasterKeyId"]
    return sse


def _caps(request: dict[str, Any]) -> dict[str, int]:
    """The request's on-demand maxima that are caps: CloudFormation's minimum is 1, so its
    "no cap" is an absent property where DynamoDB's is -1 (``NO_CAP``)."""
    return {k: v for k, v in request.get("OnDemandThroughput", {}).items() if v != NO_CAP}


def _tags(request: dict[str, Any]) -> list[dict[str, str]]:
    return sorted(request["Tags"], key=lambda tag: tag["Key"])


def _deletion_policy(table: Table) -> str:
    # a protected table outlives its stack (and a replacement), as DeletionProtection intends
    return "Retain" if table.deletion_protection else "Delete"


def _common_table_properties(request: dict[str, Any]) -> dict[str, Any]:
    """What Table and GlobalTable write alike, from the CreateTable request ``apply`` sends."""
    properties: dict[str, Any] = {
        "TableName": request["TableName"],
        "BillingMode": request["BillingMode"],
        "KeySchema": request["KeySchema"],
        # only key attributes (table and index keys): DynamoDB rejects any other definition
        "AttributeDefinitions": request["AttributeDefinitions"],
    }
    # WarmThroughput: CloudFormation takes the request's own names (and the GSIs' with them)
    for key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes", "WarmThroughput"):
        if key in request:
            properties[key] = request[key]
    return properties


def _table_resource(table: Table) -> dict[str, Any]:
    request = create_table_request(table)
    properties = _common_table_properties(request)
    if "StreamSpecification" in request:  # CloudFormation: a view type means enabled
        properties["StreamSpecification"] = {
            "StreamViewType": request["StreamSpecification"]["StreamViewType"]}
    properties["PointInTimeRecoverySpecification"] = _pitr(table)
    properties["TimeToLiveSpecification"] = _ttl(table)
    properties["SSESpecification"] = _sse(request, with_key=True)
    properties["DeletionProtectionEnabled"] = request["DeletionProtectionEnabled"]
    properties["TableClass"] = request.get("TableClass", DEFAULT_TABLE_CLASS)
    caps = _caps(request)
    if caps:
        properties["OnDemandThroughput"] = caps
    properties["Tags"] = _tags(request)
    policy = _deletion_policy(table)
    return {"Type": "AWS::DynamoDB::Table", "DeletionPolicy": policy,
            "UpdateReplacePolicy": policy, "Properties": properties}


def _replica(table: Table, request: dict[str, Any], region: str) -> dict[str, Any]:
    replica: dict[str, Any] = {
        "Region": region,
        "PointInTimeRecoverySpecification": _replica_pitr(table, region),
        # DynamoDB does not copy deletion protection to a replica: each sets its own
        "DeletionProtectionEnabled": request["DeletionProtectionEnabled"],
        "TableClass": request.get("TableClass", DEFAULT_TABLE_CLASS),
    }
    key = replica_kms_key(table, region)  # the stack's region is a replica too
    if key is not None:
        replica["SSESpecification"] = {"KMSMasterKeyId": key}
    read_cap = _caps(request).get("MaxReadRequestUnits")
    if read_cap is not None:
        replica["ReadOnDemandThroughputSettings"] = {"MaxReadRequestUnits": read_cap}
    replica["Tags"] = _tags(request)
    return replica


def _global_table_resource(table: Table) -> dict[str, Any]:
    request = create_table_request(table)
    properties = _common_table_properties(request)
    # replication needs the stream, with both images: forced on whatever the spec says
    properties["StreamSpecification"] = {"StreamViewType": "NEW_AND_OLD_IMAGES"}
    properties["TimeToLiveSpecification"] = _ttl(table)
    # the key itself is per replica (ReplicaSSESpecification); none: aws/dynamodb
    properties["SSESpecification"] = _sse(request, with_key=False)
    write_cap = _caps(request).get("MaxWriteRequestUnits")
    if write_cap is not None:
        # writes are replicated, so their cap is global; reads are capped per replica
        properties["WriteOnDemandThroughputSettings"] = {"MaxWriteRequestUnits": write_cap}
    # the stack's own region is a replica too: GlobalTable manages the whole set
    properties["Replicas"] = [_replica(table, request, r)
                              for r in sorted({table.region, *table.replicas})]
    properties.update(_strong_consistency(table))
    policy = _deletion_policy(table)
    return {"Type": "AWS::DynamoDB::GlobalTable", "DeletionPolicy": policy,
            "UpdateReplacePolicy": policy, "Properties": properties}


def _strong_consistency(table: Table) -> dict[str, Any]:
    """GlobalTable's MRSC properties (none for MREC, CloudFormation's default EVENTUAL)."""
    if table.consistency != "strong":
        return {}
    # translated from the UpdateTable apply sends to make it (one request: all of them)
    request = strong_global_table_create(table, table.replicas, table.witness_region)
    mrsc: dict[str, Any] = {"MultiRegionConsistency": request["MultiRegionConsistency"]}
    witnesses = request.get("GlobalTableWitnessUpdates", [])
    if witnesses:
        mrsc["GlobalTableWitnesses"] = [{"Region": w["Create"]["RegionName"]}
                                        for w in witnesses]
    return mrsc


# --------------------------------------------------------------------------- outputs


def _table_outputs(stack: _Stack, table: Table,
                   around: Sequence[CloudFormationOutputs]) -> dict[str, str]:
    """Add the module's outputs of one table (those it would not set to null) and the maps,
    the table's own and its families' (``around``), in the order of ``tablesmith output``;
    return ``{module output name: CloudFormation output name}``."""
    t = pascal(table.name)
    tid = f"{t}Table"
    name = table.table_name
    # replication forces the stream on (see _global_table_resource)
    stream_on = table.stream.enabled or bool(table.replicas)
    arn = CfnSub(f"{tid}.Arn")
    indexes = table.global_secondary_indexes
    replicas = sorted(table.replicas)
    replica_arns = {r: _arn("dynamodb", r, f"table/{name}") for r in replicas}
    values: list[tuple[str, str, Any]] = [
        ("table_name", "Name of the DynamoDB table", _ref(tid)),
        ("table_id", "ID of the DynamoDB table (same as name)", _ref(tid)),
        ("table_arn", "ARN of the DynamoDB table", _att(tid, "Arn")),
    ]
    if stream_on:
        values += [
            ("table_stream_arn", "ARN of the table's stream", _att(tid, "StreamArn")),
            # a stream ARN is arn:...:table/<name>/stream/<label>; table names have no "/"
            ("table_stream_label", "Stream label of the table",
             {"Fn::Select": [3, {"Fn::Split": ["/", _att(tid, "StreamArn")]}]}),
        ]
    values += [
        ("global_secondary_indexes", "GSIs (JSON list of name, hash_key, range_key)",
         _json_sub([g.outline() for g in indexes])),
        ("gsi_arns", "GSI name to ARN (JSON map)",
         _json_sub({g.name: CfnString((arn, f"/index/{g.name}")) for g in indexes})),
    ]
    if replicas:
        values += [
            ("replica_table_arn", f"ARN of the replica table in {replicas[0]}",
             _sub(*replica_arns[replicas[0]])),
            ("replica_region", "Region of the replica (the first, by name)", replicas[0]),
        ]
    info: dict[str, Any] = {
        "name": name,
        "arn": arn,
        "partition_key": table.partition_key.name,
        "sort_key": table.sort_key.name if table.sort_key else None,
        "billing_mode": table.billing_mode,
        "stream_enabled": stream_on,
        "stream_arn": CfnSub(f"{tid}.StreamArn") if stream_on else None,
        "pitr_enabled": table.point_in_time_recovery.enabled,
    }
    for answer in around:
        values += answer.outputs
        info.update(answer.table_info)  # before replication_enabled, as tablesmith output
    info["replication_enabled"] = bool(replicas)
    values.append(("table_info", "Table information (JSON object)", _json_sub(info)))
    # beyond the module, as ``tablesmith output``: the maps it could not have
    if replicas:
        values.append(("replica_table_arns", "Replica region to table ARN (JSON map)",
                       _json_sub({r: CfnString(replica_arns[r]) for r in replicas})))
    # the module's order, then tablesmith's (an output of neither: last, as it came)
    order = (*MODULE_OUTPUTS, *EXTRA_OUTPUTS)
    values.sort(key=lambda v: order.index(v[0]) if v[0] in order else len(order))
    names = {}
    for output, description, value in values:
        names[output] = output_id(table, output)
        stack.add_output(names[output], f"table '{table.name}'",
                         f"{description}: table {name} (module output {output})", value)
    return names


# --------------------------------------------------------------------------- assembly


@dataclass
class _Export:
    """Everything rendered for one environment, before it is serialised."""

    env: Environment
    main: _Stack
    dr: dict[str, _Stack]  # by region, sorted
    references: list[CrossRegionReference]  # the main stack's parameters for other regions
    output_names: dict[str, dict[str, str]]  # logical table -> module output -> output ID


def build_stacks(env: Environment, tables: Sequence[Table]) -> _Export:
    """The stacks of ``env`` (main and one per DR region), as data."""
    if not tables:
        raise UsageError(f"environment '{env.name}' has no tables to export")
    out = _Builder(env)
    output_names: dict[str, dict[str, str]] = {}
    for table in sorted(tables, key=lambda t: t.name):
        if table.region != env.region:
            raise UsageError(f"table '{table.name}' is in {table.region}, not in environment "
                             f"'{env.name}''s region {env.region}")
        t = pascal(table.name)
        owner = f"table '{table.name}'"
        out.add_resource(f"{t}Table", owner, _global_table_resource(table) if table.replicas
                         else _table_resource(table))
        # the resources around the table: each family adds its own (tablesmith.around)
        at = CloudFormationAt(pascal=t, logical_id=f"{t}Table", owner=owner)
        around = [family.export_cloudformation(table, at, out) for family in FAMILIES]
        output_names[table.name] = _table_outputs(out.main, table, around)
    for stack in (out.main, *out.dr.values()):
        stack.check_quotas()
    return _Export(env, out.main, dict(sorted(out.dr.items())), out.references, output_names)


def _template(stack: _Stack, description: str, metadata: dict[str, Any]) -> dict[str, Any]:
    template: dict[str, Any] = {
        "AWSTemplateFormatVersion": FORMAT_VERSION,
        "Description": description,
        "Metadata": metadata,
    }
    for key, section in (("Parameters", stack.parameters), ("Conditions", stack.conditions),
                         ("Resources", stack.resources), ("Outputs", stack.outputs)):
        if section:
            template[key] = section
    return template


def _main_description(export: _Export) -> str:
    env = export.env
    # not derived from the families' titles: every family would then be named in every
    # export, whatever its tables use, and the text of existing exports would change
    text = (f"tablesmith: DynamoDB tables of environment '{env.name}' in {env.region}, with "
            "their AWS Backup resources and CloudWatch alarms.")
    if export.dr:
        regions = ", ".join(f"{s.name} in {r}" for r, s in export.dr.items())
        text += (f" Deploy the DR stacks first ({regions}): backup copy actions write to "
                 "their vaults. Each DR vault ARN is a parameter (empty: the ARN derived from "
                 "the vault's name), since Fn::ImportValue does not cross regions. "
                 f"See {README_FILE}.")
    if len(text) > MAX_DESCRIPTION:
        tail = f" … See {README_FILE}."
        text = text[:MAX_DESCRIPTION - len(tail)].rsplit(" ", 1)[0] + tail
    return text


def _main_metadata(export: _Export) -> dict[str, Any]:
    env = export.env
    order = [{"stack": s.name, "region": r, "template": template_file(s.name)}
             for r, s in export.dr.items()]
    order.append({"stack": export.main.name, "region": env.region,
                  "template": template_file(export.main.name)})
    return {"tablesmith": {
        "environment": env.name,
        "region": env.region,
        "deploymentOrder": order,
        "crossRegionReferences": [{
            "parameter": ref.parameter,
            "table": ref.table,
            "region": ref.region,
            **ref.target,
            "fromStack": ref.from_stack,
            "fromOutput": ref.from_output,
            "exportName": f"{ref.from_stack}-{ref.from_output}",
            "whenEmpty": _display(ref.when_empty),
        } for ref in export.references],
        "outputNames": export.output_names,
    }}


def _dr_template(export: _Export, region: str, stack: _Stack) -> dict[str, Any]:
    env = export.env
    description = (f"tablesmith: DR resources of environment '{env.name}' in {region} (the "
                   f"backup vaults that {export.main.name} in {env.region} copies to). Deploy "
                   f"before {export.main.name}. See {README_FILE}.")
    metadata = {"tablesmith": {"environment": env.name, "region": region,
                               "mainStack": export.main.name, "mainRegion": env.region}}
    return _template(stack, description, metadata)


def _dump(template: dict[str, Any]) -> str:
    return json.dumps(template, indent=2, ensure_ascii=False) + "\n"


def render_cloudformation(env: Environment, tables: Sequence[Table]) -> dict[str, str]:
    """``{file name: text}``: the main template, one per DR region, and the README.

    Deterministic: the same environment and tables give byte-identical files.
    """
    export = build_stacks(env, tables)
    files = {template_file(export.main.name): _dump(_template(
        export.main, _main_description(export), _main_metadata(export)))}
    for region, stack in export.dr.items():
        files[template_file(stack.name)] = _dump(_dr_template(export, region, stack))
    for name, text in files.items():
        if len(text.encode()) > MAX_TEMPLATE_BYTES:
            raise UsageError(f"{name} would be {len(text.encode()):,} bytes; CloudFormation "
                             f"takes at most {MAX_TEMPLATE_BYTES:,}: export fewer tables at once")
    files[README_FILE] = _readme(export, files)
    return dict(sorted(files.items()))


# --------------------------------------------------------------------------- README


def _readme(export: _Export, files: dict[str, str]) -> str:
    env = export.env
    main_file = template_file(export.main.name)
    lines = [
        f"# CloudFormation for environment `{env.name}`",
        "",
        f"Generated by `tablesmith export cloudformation` from the effective spec of "
        f"`{env.name}`. Do not edit: change the spec and export again (the same spec gives "
        "byte-identical files).",
        "",
        "| File | Stack name (suggested) | Region | Holds |",
        "| --- | --- | --- | --- |",
    ]
    for region, stack in export.dr.items():
        lines.append(f"| `{template_file(stack.name)}` | `{stack.name}` | {region} | "
                     "DR backup vaults (`<table>-backup-vault-dr`) |")
    lines += [
        f"| `{main_file}` | `{export.main.name}` | {env.region} | tables, AWS Backup vault, "
        "plan, selection and IAM role, CloudWatch alarms, outputs |",
        "",
        "## Deployment order",
        "",
    ]
    step = 1
    if export.dr:
        lines += ["The DR stacks come first: the main stack's backup plan copies every "
                  "recovery point to their vaults, and a copy to a vault that does not exist "
                  "fails.", ""]
    lines.append("```sh")
    for region, stack in export.dr.items():
        lines += [f"# {step}. DR stack in {region}",
                  f"aws cloudformation deploy --region {region} --stack-name {stack.name} \\",
                  f"    --template-file {template_file(stack.name)}"]
        step += 1
    lines += [f"# {step}. main stack in {env.region} (it names IAM roles: CAPABILITY_NAMED_IAM)",
              f"aws cloudformation deploy --region {env.region} "
              f"--stack-name {export.main.name} \\",
              f"    --template-file {main_file} --capabilities CAPABILITY_NAMED_IAM",
              "```", ""]
    too_big = sorted(n for n, text in files.items()
                     if len(text.encode()) > DIRECT_UPLOAD_BYTES)
    if too_big:
        lines += [f"Larger than the {DIRECT_UPLOAD_BYTES:,} bytes CloudFormation takes in a "
                  f"template body sent directly, so deploy with `--s3-bucket <bucket>`: "
                  f"{', '.join(f'`{n}`' for n in too_big)}.", ""]
    lines += ["Delete in the reverse order (the main stack first).", ""]
    if export.references:
        lines += [
            "## Cross-region reference: the DR vault ARNs",
            "",
            "Each backup plan's copy action needs the ARN of a vault in another region. "
            "`Fn::ImportValue` only reads exports of the stack's own region, so the main stack "
            "cannot import the DR stack's export. It takes one parameter per DR vault instead. "
            "A parameter's `Default` must be a literal (no `${AWS::AccountId}`), so each "
            "defaults to the empty string, and a condition then uses the ARN built from the "
            "vault's known name, which is deterministic:",
            "",
            "`arn:${AWS::Partition}:backup:<region>:${AWS::AccountId}:backup-vault:<name>`",
            "",
            "Leave the parameters empty, or pass the DR stack's exported ARN to be explicit "
            "(an ARN that is wrong makes every copy job fail):",
            "",
            "| Main stack parameter | DR stack | Its output (export `<stack>-<output>`) | "
            "Empty means |",
            "| --- | --- | --- | --- |",
        ]
        lines += [f"| `{ref.parameter}` | `{ref.from_stack}` ({ref.region}) | "
                  f"`{ref.from_output}` | `{_display(ref.when_empty, in_template=False)}` |"
                  for ref in export.references]
        first = export.references[0]
        lines += [
            "",
            "```sh",
            f"aws cloudformation describe-stacks --region {first.region} "
            f"--stack-name {first.from_stack} \\",
            f"    --query \"Stacks[0].Outputs[?OutputKey=='{first.from_output}']"
            ".OutputValue\" --output text",
            "```",
            "",
        ]
    lines += [
        "## Outputs",
        "",
        "Every output of the reference module, per table, named `<Table><OutputName>` "
        "(PascalCase of the table's logical name and of the module's output name; "
        "CloudFormation output names are alphanumeric) and exported as "
        "`<stack name>-<output>` for `Fn::ImportValue` in the same region. An output the "
        "module would set to null (backup off, no replica, an alarm rule off) is absent. "
        "Lists and maps (`global_secondary_indexes`, `gsi_arns`, `table_info`, "
        "`replica_table_arns`, `replica_backup_vault_arns`, `alarm_arns`) are JSON strings. "
        "The DR stacks export `<Table>ReplicaBackupVaultArn` and "
        "`<Table>ReplicaBackupVaultName` of their vaults.",
        "",
        "| Table | Module output | CloudFormation output |",
        "| --- | --- | --- |",
    ]
    for table, names in export.output_names.items():
        lines += [f"| {table} | `{output}` | `{cfn}` |" for output, cfn in names.items()]
    lines += [
        "",
        "## Notes",
        "",
        "- Tables with replicas are `AWS::DynamoDB::GlobalTable` (the stack's region is one of "
        "its replicas); others are `AWS::DynamoDB::Table`. CloudFormation cannot change a "
        "resource's type in place: adding the first replica to a table made by this stack "
        "means retaining the table, removing it from the stack, and importing it as a "
        "`GlobalTable` (resource import) once its replicas exist.",
        "- Tables with deletion protection have `DeletionPolicy` and `UpdateReplacePolicy` "
        "`Retain`; the others `Delete`. Backup vaults are always retained: their recovery "
        "points outlive the stack (each expires by its lifecycle), and AWS Backup refuses to "
        "delete a vault that holds any.",
        "- Manage an environment with either CloudFormation or `tablesmith apply`, not both.",
        "",
    ]
    return "\n".join(lines)
