"""Export one environment's effective spec as Terraform JSON (``*.tf.json``).

``render_terraform(env, tables)`` returns ``{file name: contents}``; the same spec gives
byte-identical files (keys sorted, lists in the model's sorted order, one trailing newline):

    terraform.tf.json      ``terraform.required_providers.aws``; the default ``provider "aws"``
                           in the environment's region and one aliased provider per other
                           region a table uses (``replica_eu_west_1``, …)
    table_<name>.tf.json   one per table: ``aws_dynamodb_table``, one
                           ``aws_dynamodb_table_replica`` per replica region, its AWS Backup
                           resources (vault, plan, selection, IAM role with two policy
                           attachments, a DR vault per replica region) and its CloudWatch alarms
    alarms.tf.json         only with ``alarms.user_errors`` on: the UserErrors alarm per
                           region, which the environment's tables share (no TableName exists)
    outputs.tf.json        the module's outputs (``outputs.MODULE_OUTPUTS``) plus tablesmith's
                           three extra maps (``replica_table_arns``, …)

The resources are the ones ``apply`` manages, from the same derivations
(``resources.desired_backup``, ``around.alarms.desired_alarms``) and with the same names.

Outputs: the module made one table per module instance (``module.tenants_table.table_arn``);
this root holds every table of the environment, so each module output becomes one map keyed
by logical table name: ``output.table_arn.value["tenants"]``. Maps rather than prefixed names
(``tenants_table_arn``): the names stay exactly the module's, the set of outputs does not grow
with the tables, and prefixed names can collide (table ``x_replica``'s ``table_arn`` and table
``x``'s ``replica_table_arn``). Values are what ``tablesmith output`` reads from AWS (see
``outputs.table_outputs``): references to the resources, null where a feature is off.

Addresses: ``<type>.<name>`` with the logical table name made a Terraform identifier
(``[A-Za-z0-9_]``, not starting with a digit) plus a suffix per role (``<t>_backup`` role,
``<t>_dr_eu_west_1`` vault, ``<t>_eu_west_1`` replica, ``<t>_system_errors`` alarm). Two names
that come out alike are an error, never a silent merge.

Replicas: separate ``aws_dynamodb_table_replica`` resources, never the table's inline
``replica`` blocks. The inline block (hashicorp/aws 5.100.0: ``kms_key_arn``,
``point_in_time_recovery``, ``propagate_tags``, ``region_name``) cannot set deletion protection
and DynamoDB does not copy it to a replica, so a protected table's replicas would stay
unprotected where ``apply`` protects them. The replica resource sets it, in the replica's
Region through that Region's aliased provider. As the provider documents for this resource, the
table then ignores changes to its ``replica`` attribute (``lifecycle.ignore_changes``); the two
forms are never mixed. The replica resource does not propagate the table's tags, so it carries
them itself.

Strings: every string in a Terraform JSON expression position is a template, object keys
included, so literals have ``${`` and ``%{`` escaped; references are built as ``Expr`` and are
written as they are.

The reference module's defects are not carried over: every aliased provider a resource names
is declared (the module used ``aws.replica`` without declaring it, so ``terraform validate``
failed); ``attribute`` blocks are the key attributes only, once each (DynamoDB rejects
definitions no key uses; the module defined its keys twice); the alarms are tablesmith's, on
series DynamoDB publishes.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from tablesmith.around.contract import TerraformAt
from tablesmith.around.registry import FAMILIES
from tablesmith.errors import UsageError
from tablesmith.outputs import MODULE_OUTPUTS
from tablesmith.shapes import (
    DEFAULT_TABLE_CLASS,
    create_table_request,
    pitr_specification,
    replica_create,
    ttl_specification,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from tablesmith.spec.model import Environment, Key, Table

PROVIDER_SOURCE = "hashicorp/aws"
# point_in_time_recovery.recovery_period_in_days first shipped in 5.97.0 (provider PR #41484);
# older 5.x providers reject it as an unsupported argument.
PROVIDER_VERSION = ">= 5.97.0"
TERRAFORM_VERSION = ">= 1.5.0"  # the module's documented prerequisite

TERRAFORM_FILE = "terraform.tf.json"
OUTPUTS_FILE = "outputs.tf.json"
SHARED_FILE = "alarms.tf.json"  # resources no single table owns (UserErrors alarms per region)
EXTRA_OUTPUTS = ("replica_table_arns", "replica_backup_vault_arns", "alarm_arns")

OUTPUT_DESCRIPTIONS = {
    "table_name": "Name of each DynamoDB table",
    "table_id": "ID of each DynamoDB table (same as name)",
    "table_arn": "ARN of each DynamoDB table",
    "table_stream_arn": "ARN of each table's stream (null if streams disabled)",
    "table_stream_label": "Stream label of each table (null if streams disabled)",
    "global_secondary_indexes": "Global secondary indexes of each table",
    "gsi_arns": "Map of GSI names to ARNs, per table",
    "backup_plan_id": "ID of each table's AWS Backup plan (null if backups disabled)",
    "backup_vault_name": "Name of each table's backup vault (null if backups disabled)",
    "backup_vault_arn": "ARN of each table's backup vault (null if backups disabled)",
    "replica_table_arn": "ARN of each table's first replica (null if not replicated)",
    "replica_region": "Region of each table's first replica (null if not replicated)",
    "replica_backup_vault_arn": "ARN of each table's first DR backup vault (null if none)",
    "user_errors_alarm_arn": "ARN of the UserErrors alarm (null if not created)",
    "system_errors_alarm_arn": "ARN of each table's SystemErrors alarm (null if disabled)",
    "throttled_requests_alarm_arn": "ARN of each table's ThrottledRequests alarm (null if "
                                    "disabled)",
    "table_info": "Summary of each table",
    "replica_table_arns": "Replica table ARNs by region, per table",
    "replica_backup_vault_arns": "DR backup vault ARNs by region, per table",
    "alarm_arns": "CloudWatch alarm ARNs by alarm name, per table",
}
_NOT_IDENT = re.compile(r"[^A-Za-z0-9_]")


class Expr(str):
    """A Terraform expression in template form (``${…}``): written verbatim, never escaped."""

    __slots__ = ()


def escape(text: str) -> str:
    """``text`` as a literal in a Terraform template: ``${`` and ``%{`` doubled."""
    return text.replace("${", "$${").replace("%{", "%%{")


def identifier(text: str) -> str:
    """``text`` as a Terraform identifier: other characters become ``_``; no leading digit."""
    ident = _NOT_IDENT.sub("_", text)
    return ident if re.match(r"[A-Za-z_]", ident) else f"_{ident}"


def provider_alias(region: str) -> str:
    """The alias of the provider for ``region`` (any region but the environment's own)."""
    return f"replica_{identifier(region)}"


def key_attributes(table: Table) -> tuple[Key, ...]:
    """Every attribute a key of the table or of an index uses, once each, sorted by name.

    DynamoDB rejects attribute definitions that no key uses, so nothing else is defined.
    """
    keys = [table.partition_key, table.sort_key]
    for gsi in table.global_secondary_indexes:
        keys += [gsi.hash_key, gsi.range_key]
    keys += [lsi.range_key for lsi in table.local_secondary_indexes]
    by_name: dict[str, Key] = {}
    for key in keys:
        if key is not None:
            by_name.setdefault(key.name, key)
    return tuple(by_name[name] for name in sorted(by_name))


def render_terraform(env: Environment, tables: Sequence[Table]) -> dict[str, str]:
    """Terraform JSON for ``tables`` of ``env``: ``{file name: contents}``, deterministic."""
    builder = _Builder(env)
    # by physical name: the first table defines a shared alarm, as in apply
    outputs = {t.name: builder.add_table(t) for t in sorted(tables, key=lambda t: t.table_name)}
    documents = dict(builder.files)
    documents[TERRAFORM_FILE] = builder.terraform_document()
    documents[OUTPUTS_FILE] = _outputs_document(outputs)
    return {name: _dump(doc) for name, doc in sorted(documents.items())}


def _dump(document: dict[str, Any]) -> str:
    return json.dumps(_literal(document), indent=2, sort_keys=True) + "\n"


def _literal(value: Any) -> Any:
    # every plain string is a literal; structural keys (names of arguments, blocks, resource
    # types, identifiers) hold no "${" or "%{", so escaping them changes nothing
    if isinstance(value, Expr):
        return str(value)
    if isinstance(value, str):
        return escape(value)
    if isinstance(value, dict):
        return {escape(k): _literal(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_literal(v) for v in value]
    return value


_ACCOUNT_ID = "${data.aws_caller_identity.current.account_id}"


def _ref(address: str, attribute: str) -> Expr:
    return Expr(f"${{{address}.{attribute}}}")


class _Builder:
    """Collects resources per file, the regions that need a provider, and every address."""

    def __init__(self, env: Environment) -> None:
        self.env = env
        self.files: dict[str, dict[str, Any]] = {}
        self.regions: set[str] = set()  # regions other than env.region
        self.owners: dict[str, str] = {}  # address -> what it was made for (collisions)
        self.memos: dict[str, dict[Any, Any]] = {}  # family name -> its notes (memo)
        self.needs_account = False  # a trust policy names the account: data source needed

    # ---------------------------------------------------------------- plumbing

    def add(self, file: str, rtype: str, name: str, body: dict[str, Any], region: str,
            owner: str) -> str:
        """Add one resource in ``region``; its address. Addresses must be unique."""
        address = f"{rtype}.{name}"
        if address in self.owners:
            raise UsageError(
                f"cannot export to Terraform: {owner} and {self.owners[address]} both become "
                f"{address}; rename one of them")
        self.owners[address] = owner
        if region != self.env.region:
            self.regions.add(region)
            body = {**body, "provider": f"aws.{provider_alias(region)}"}
        resources = self.files.setdefault(file, {"resource": {}})["resource"]
        resources.setdefault(rtype, {})[name] = body
        return address

    def terraform_document(self) -> dict[str, Any]:
        """The ``terraform`` block, the providers every resource names, and data sources."""
        aliased = [{"alias": provider_alias(r), "region": r} for r in sorted(self.regions)]
        data: dict[str, Any] = {"data": {"aws_caller_identity": {"current": {}}}} \
            if self.needs_account else {}
        return {**data,
            "terraform": {
                "required_version": TERRAFORM_VERSION,
                "required_providers": {
                    "aws": {"source": PROVIDER_SOURCE, "version": PROVIDER_VERSION}},
            },
            "provider": {"aws": [{"region": self.env.region}, *aliased]},
        }

    # ---------------------------------------------------------------- one table

    def add_table(self, table: Table) -> dict[str, Any]:
        """Add a table and the resources around it; its outputs, by module output name."""
        ident = identifier(table.name)
        file = f"table_{ident}.tf.json"
        owner = f"table '{table.name}'"
        address = self.add(file, "aws_dynamodb_table", ident, _table_body(table),
                           table.region, owner)
        # one replica resource per Region, through that Region's aliased provider (add)
        replicas = {
            region: self.add(file, "aws_dynamodb_table_replica", f"{ident}_{identifier(region)}",
                             _replica_body(table, region, address), region,
                             f"{owner} (replica in {region})")
            for region in sorted(table.replicas)}
        outputs = _table_outputs(table, address, replicas)
        # the resources around the table: each family adds its own (tablesmith.around)
        at = TerraformAt(file=file, ident=ident, owner=owner, address=address)
        for family in FAMILIES:
            answer = family.export_terraform(table, at, self)
            outputs["table_info"].update(answer.pop("table_info", {}))
            outputs |= answer
        return outputs

    # ---------------------------------------------------------------- for the families
    # (tablesmith.around.contract.TerraformOut)

    @property
    def shared_file(self) -> str:
        return SHARED_FILE

    @property
    def region(self) -> str:
        return self.env.region

    def ref(self, address: str, attribute: str) -> str:
        return _ref(address, attribute)

    def expression(self, text: str) -> str:
        return Expr(text)

    def account_id(self) -> str:
        self.needs_account = True
        return _ACCOUNT_ID

    def identifier(self, text: str) -> str:
        return identifier(text)

    def memo(self, family: str) -> dict[Any, Any]:
        return self.memos.setdefault(family, {})

# -------------------------------------------------------------------- the table


def _table_body(t: Table) -> dict[str, Any]:
    """``aws_dynamodb_table``'s arguments, translated from the requests apply sends."""
    if t.billing_mode != "PAY_PER_REQUEST":
        # the spec only allows on-demand; a provisioned table has no capacities to export
        raise UsageError(f"cannot export table '{t.name}': billing mode {t.billing_mode}")
    request = create_table_request(t)
    _refuse_warm_throughput(t, request)
    _refuse_strong_consistency(t)
    _refuse_multi_attribute_keys(t, request)
    keys = _keys(request["KeySchema"])
    stream = request.get("StreamSpecification", {"StreamEnabled": False})
    ttl = ttl_specification(t.ttl)
    body: dict[str, Any] = {
        "name": request["TableName"],
        "billing_mode": request["BillingMode"],
        "hash_key": keys["HASH"],
        "attribute": [{"name": a["AttributeName"], "type": a["AttributeType"]}
                      for a in request["AttributeDefinitions"]],
        "point_in_time_recovery": [_pitr(pitr_specification(t.point_in_time_recovery))],
        "stream_enabled": stream["StreamEnabled"],
        # written out even when off: an absent block would leave TTL / SSE as they are
        "ttl": [{"enabled": True, "attribute_name": ttl["AttributeName"]}
                if ttl["Enabled"] else {"enabled": False}],
        "server_side_encryption": [_sse(request.get("SSESpecification", {"Enabled": False}))],
        "deletion_protection_enabled": request["DeletionProtectionEnabled"],
        "table_class": request.get("TableClass", DEFAULT_TABLE_CLASS),
        "tags": {tag["Key"]: tag["Value"] for tag in request["Tags"]},
    }
    if "RANGE" in keys:
        body["range_key"] = keys["RANGE"]
    if stream["StreamEnabled"]:  # the provider refuses a view type on a disabled stream
        body["stream_view_type"] = stream["StreamViewType"]
    if "GlobalSecondaryIndexes" in request:
        body["global_secondary_index"] = [
            {"name": g["IndexName"], "hash_key": _keys(g["KeySchema"])["HASH"],
             **({"range_key": _keys(g["KeySchema"])["RANGE"]}
                if "RANGE" in _keys(g["KeySchema"]) else {}),
             **_projection(g["Projection"])}
            for g in request["GlobalSecondaryIndexes"]]
    if "LocalSecondaryIndexes" in request:
        body["local_secondary_index"] = [
            {"name": i["IndexName"], "range_key": _keys(i["KeySchema"])["RANGE"],
             **_projection(i["Projection"])}
            for i in request["LocalSecondaryIndexes"]]
    if "OnDemandThroughput" in request:
        cap = request["OnDemandThroughput"]  # the provider takes DynamoDB's -1 (NO_CAP) as is
        body["on_demand_throughput"] = [{
            "max_read_request_units": cap["MaxReadRequestUnits"],
            "max_write_request_units": cap["MaxWriteRequestUnits"]}]
    if t.replicas:
        # the replicas are aws_dynamodb_table_replica resources (_replica_body), which the
        # provider requires the table to leave alone: its replica set is theirs to change
        body["lifecycle"] = {"ignore_changes": ["replica"]}
    return body


def _keys(schema: Sequence[dict[str, str]]) -> dict[str, str]:
    """A KeySchema as ``{"HASH": name, "RANGE": name}``."""
    return {k["KeyType"]: k["AttributeName"] for k in schema}


def _pitr(spec: dict[str, Any]) -> dict[str, Any]:
    """A PointInTimeRecoverySpecification as the ``point_in_time_recovery`` block."""
    if not spec["PointInTimeRecoveryEnabled"]:  # a recovery period only exists while PITR is on
        return {"enabled": False}
    return {"enabled": True, "recovery_period_in_days": spec["RecoveryPeriodInDays"]}


def _sse(spec: dict[str, Any]) -> dict[str, Any]:
    """An SSESpecification as the ``server_side_encryption`` block."""
    # enabled=false is DynamoDB's AWS-owned key; enabled=true without a key is aws/dynamodb
    block: dict[str, Any] = {"enabled": spec["Enabled"]}
    if "KMSMasterKeyId" in spec:
        block["kms_key_arn"] = spec["KMSMasterKeyId"]
    return block


def _projection(projection: dict[str, Any]) -> dict[str, Any]:
    """A Projection as an index block's ``projection_type`` / ``non_key_attributes``."""
    attributes = sorted(projection.get("NonKeyAttributes", ()))
    return {"projection_type": projection["ProjectionType"],
            **({"non_key_attributes": attributes} if attributes else {})}


def _replica_body(t: Table, region: str, table_address: str) -> dict[str, Any]:
    """The ``aws_dynamodb_table_replica`` of ``t`` in ``region`` (its provider: ``add``)."""
    create = replica_create(t, region)
    replica: dict[str, Any] = {
        "global_table_arn": _ref(table_address, "arn"),
        "point_in_time_recovery": _replica_pitr(t, region),
        # DynamoDB does not copy deletion protection to a replica: apply sets it on each
        "deletion_protection_enabled": t.deletion_protection,
        # nor does this resource propagate tags: tablesmith tags replicas like their table
        "tags": t.tags,
    }
    if "KMSMasterKeyId" in create:  # KMS keys are regional: one per replica
        replica["kms_key_arn"] = create["KMSMasterKeyId"]
    # no table_class_override: a replica takes its table's class, and the spec has no
    # per-replica class for it to differ from
    return replica


def _refuse_warm_throughput(t: Table, request: dict[str, Any]) -> None:
    """Warm throughput has no Terraform form at the provider versions this export targets
    (hashicorp/aws 5.100.0: no ``warm_throughput`` block on the table or its indexes): said,
    rather than exporting a table that would not be pre-warmed."""
    warm = ["the table"] if "WarmThroughput" in request else []
    warm += [f"index '{g['IndexName']}'" for g in request.get("GlobalSecondaryIndexes", [])
             if "WarmThroughput" in g]
    if warm:
        raise UsageError(
            f"cannot export table '{t.name}' to Terraform: warm_throughput (on "
            f"{', '.join(warm)}) has no argument in hashicorp/aws {PROVIDER_VERSION} "
            "(5.x has no warm_throughput block); remove it from the spec for the export, "
            "or export to CloudFormation, which has WarmThroughput")


def _refuse_strong_consistency(t: Table) -> None:
    """MRSC has no Terraform form at the provider version this export targets (hashicorp/aws
    5.100.0: ``aws_dynamodb_table_replica`` has no consistency mode and no witness, provider
    issue #48672; the inline ``replica`` block is not used, see the module docstring): said,
    rather than exporting an eventually consistent global table in its place."""
    if t.consistency == "strong":
        witness = " and witness_region" if t.witness_region else ""
        raise UsageError(
            f"cannot export table '{t.name}' to Terraform: consistency: strong{witness} (a "
            f"multi-Region strongly consistent global table) has no argument in "
            f"aws_dynamodb_table_replica of hashicorp/aws {PROVIDER_VERSION} (provider issue "
            "#48672); export to CloudFormation, whose AWS::DynamoDB::GlobalTable has "
            "MultiRegionConsistency and GlobalTableWitnesses, or manage it with tablesmith")


def _refuse_multi_attribute_keys(t: Table, request: dict[str, Any]) -> None:
    """A GSI key of several attributes has no Terraform form at the provider version this
    export targets (hashicorp/aws 5.100.0: ``global_secondary_index`` takes one ``hash_key``
    and one ``range_key``): said, rather than exporting an index on its first attributes."""
    multi = [g["IndexName"] for g in request.get("GlobalSecondaryIndexes", [])
             if len(g["KeySchema"]) > len({k["KeyType"] for k in g["KeySchema"]})]
    if multi:
        raise UsageError(
            f"cannot export table '{t.name}' to Terraform: index {', '.join(multi)} has a "
            f"multi-attribute key, and global_secondary_index in hashicorp/aws "
            f"{PROVIDER_VERSION} takes one hash_key and one range_key; export to "
            "CloudFormation, or manage it with tablesmith")


def _replica_pitr(t: Table, region: str) -> bool:
    """The replica resource's ``point_in_time_recovery`` (a bool: it has no period, and the
    replica keeps AWS's default, 35 days). Apply gives each replica its own period, or the
    table's: another period cannot be exported, and saying so beats a replica that keeps 35."""
    spec = pitr_specification(t.pitr_in(region))
    if spec.get("RecoveryPeriodInDays", 35) != 35:  # AWS's default period, the only one
        whose = ("its own" if region in t.replica_point_in_time_recovery
                 else "the table's")
        raise UsageError(
            f"cannot export table '{t.name}' to Terraform: its replica in {region} keeps "
            f"{spec['RecoveryPeriodInDays']} days of PITR ({whose} setting), and "
            "aws_dynamodb_table_replica has no "
            "recovery period (its replicas keep AWS's default, 35 days); export to "
            "CloudFormation, whose replicas take RecoveryPeriodInDays")
    return bool(spec["PointInTimeRecoveryEnabled"])


# -------------------------------------------------------------------- outputs


def _table_outputs(t: Table, address: str, replicas: dict[str, str]) -> dict[str, Any]:
    """The table's outputs; ``replicas``: the address of its replica resource per Region."""
    stream = t.stream.enabled
    first_replica = min(replicas) if replicas else None
    return {
        "table_name": _ref(address, "name"),
        "table_id": _ref(address, "id"),
        "table_arn": _ref(address, "arn"),
        "table_stream_arn": _ref(address, "stream_arn") if stream else None,
        "table_stream_label": _ref(address, "stream_label") if stream else None,
        "global_secondary_indexes": [g.outline() for g in t.global_secondary_indexes],
        "gsi_arns": {g.name: Expr(f"${{{address}.arn}}/index/{escape(g.name)}")
                     for g in t.global_secondary_indexes},
        "replica_table_arn": _ref(replicas[first_replica], "arn") if first_replica else None,
        "replica_region": first_replica,
        "table_info": {
            "name": _ref(address, "name"),
            "arn": _ref(address, "arn"),
            "partition_key": t.partition_key.name,
            "sort_key": t.sort_key.name if t.sort_key else None,
            "billing_mode": t.billing_mode,
            "stream_enabled": stream,
            "stream_arn": _ref(address, "stream_arn") if stream else None,
            "pitr_enabled": t.point_in_time_recovery.enabled,
            "replication_enabled": bool(t.replicas),
        },
        "replica_table_arns": {region: _ref(replicas[region], "arn")
                               for region in sorted(replicas)},
    }


def _outputs_document(per_table: dict[str, dict[str, Any]]) -> dict[str, Any]:
    names = (*MODULE_OUTPUTS, *EXTRA_OUTPUTS)
    return {"output": {
        name: {"description": OUTPUT_DESCRIPTIONS[name],
               "value": {table: outputs[name] for table, outputs in per_table.items()}}
        for name in names}}
