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

from tablesmith.around.alarms import desired_alarms, is_shared, put_request
from tablesmith.around.backup import plan_document, trust_policy
from tablesmith.errors import UsageError
from tablesmith.outputs import MODULE_OUTPUTS
from tablesmith.resources import BACKUP_POLICIES, desired_backup
from tablesmith.shapes import (
    DEFAULT_TABLE_CLASS,
    create_table_request,
    pitr_specification,
    replica_create,
    ttl_specification,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from tablesmith.resources import Backup, BackupRole, BackupVault, MetricAlarm
    from tablesmith.spec.model import Environment, Key, Table

PROVIDER_SOURCE = "hashicorp/aws"
# point_in_time_recovery.recovery_period_in_days first shipped in 5.97.0 (provider PR #41484);
# older 5.x providers reject it as an unsupported argument.
PROVIDER_VERSION = ">= 5.97.0"
TERRAFORM_VERSION = ">= 1.5.0"  # the module's documented prerequisite

TERRAFORM_FILE = "terraform.tf.json"
OUTPUTS_FILE = "outputs.tf.json"
SHARED_ALARMS_FILE = "alarms.tf.json"  # alarms no single table owns (UserErrors per region)
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
# the two managed policies of the module's role, under the module's resource names
_POLICY_ROLES = {BACKUP_POLICIES[0]: "backup", BACKUP_POLICIES[1]: "restore"}
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


def _ref(address: str, attribute: str) -> Expr:
    return Expr(f"${{{address}.{attribute}}}")


class _Builder:
    """Collects resources per file, the regions that need a provider, and every address."""

    def __init__(self, env: Environment) -> None:
        self.env = env
        self.files: dict[str, dict[str, Any]] = {}
        self.regions: set[str] = set()  # regions other than env.region
        self.owners: dict[str, str] = {}  # address -> what it was made for (collisions)
        self.alarms: dict[tuple[str, str], str] = {}  # (region, alarm name) -> address
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

    def _assume_role_policy(self, role: BackupRole) -> Expr | str:
        """The trust policy apply writes, with the account from ``aws_caller_identity``."""
        if not role.limited_to_account:
            return json.dumps(trust_policy(role.trusted_service, None), sort_keys=True,
                              separators=(",", ":"))
        self.needs_account = True
        # an expression: the "${...}" reference must reach Terraform unescaped (the rest of
        # the document is fixed text without "${" or "%{")
        return Expr(json.dumps(trust_policy(role.trusted_service, _ACCOUNT_ID),
                               sort_keys=True, separators=(",", ":")))

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
        outputs |= self._add_backup(file, ident, owner, table, address)
        outputs |= self._add_alarms(file, ident, owner, table, address)
        return outputs

    def _add_backup(self, file: str, ident: str, owner: str, table: Table,
                    table_address: str) -> dict[str, Any]:
        backup = desired_backup(table)
        vault, plan, selection, role = backup.vault, backup.plan, backup.selection, backup.role
        if vault is None or plan is None or selection is None or role is None:
            # desired_backup makes all four (backup on) or none (off)
            return {"backup_plan_id": None, "backup_vault_name": None, "backup_vault_arn": None,
                    "replica_backup_vault_arn": None, "replica_backup_vault_arns": {}}
        vault_address = self.add(file, "aws_backup_vault", ident, _vault_body(vault),
                                 vault.region, owner)
        dr_addresses = {
            v.region: self.add(file, "aws_backup_vault", f"{ident}_dr_{identifier(v.region)}",
                               _vault_body(v), v.region, f"{owner} (DR vault in {v.region})")
            for v in backup.dr_vaults}
        plan_address = self.add(file, "aws_backup_plan", ident,
                                _plan_body(backup, vault_address, dr_addresses, owner),
                                plan.region, owner)
        role_address = self.add(file, "aws_iam_role", f"{ident}_backup", {
            "name": role.name,
            "assume_role_policy": self._assume_role_policy(role),
            "tags": role.tags,
        }, self.env.region, owner)  # IAM is global: the default provider will do
        for policy in role.managed_policies:
            suffix = _POLICY_ROLES.get(policy) or identifier(policy.rsplit("/", 1)[-1]).lower()
            self.add(file, "aws_iam_role_policy_attachment", f"{ident}_{suffix}", {
                "role": _ref(role_address, "name"),
                "policy_arn": policy,
            }, self.env.region, owner)
        self.add(file, "aws_backup_selection", ident, {
            "name": selection.name,
            "plan_id": _ref(plan_address, "id"),
            "iam_role_arn": _ref(role_address, "arn"),
            "resources": [_ref(table_address, "arn")],
        }, plan.region, owner)
        dr_arns = {region: _ref(a, "arn") for region, a in sorted(dr_addresses.items())}
        return {
            "backup_plan_id": _ref(plan_address, "id"),
            "backup_vault_name": _ref(vault_address, "name"),
            "backup_vault_arn": _ref(vault_address, "arn"),
            "replica_backup_vault_arn": next(iter(dr_arns.values()), None),
            "replica_backup_vault_arns": dr_arns,
        }

    def _add_alarms(self, file: str, ident: str, owner: str, table: Table,
                    table_address: str) -> dict[str, Any]:
        arns: dict[str, Expr] = {}
        for alarm in desired_alarms(table):
            key = (alarm.region, alarm.name)
            if key in self.alarms:
                # a shared alarm (UserErrors, one per environment and region): as in apply
                # (alarms.dedupe_alarm_ops), the first table by physical name defines it
                address = self.alarms[key]
            elif is_shared(alarm.name):
                address = self.add(SHARED_ALARMS_FILE, "aws_cloudwatch_metric_alarm",
                                   identifier(alarm.name), _alarm_body(alarm, None, ""),
                                   alarm.region, f"shared alarm '{alarm.name}'")
            else:
                address = self.add(file, "aws_cloudwatch_metric_alarm",
                                   _alarm_resource_name(ident, table, alarm),
                                   _alarm_body(alarm, table, table_address), alarm.region,
                                   f"{owner} (alarm '{alarm.name}')")
            self.alarms[key] = address
            arns[alarm.name] = _ref(address, "arn")
        base = table.table_name
        return {
            "user_errors_alarm_arn": next(
                (arn for name, arn in arns.items() if is_shared(name)), None),
            "system_errors_alarm_arn": arns.get(f"{base}-system-errors"),
            "throttled_requests_alarm_arn": arns.get(f"{base}-throttled-requests"),
            "alarm_arns": arns,
        }


def _alarm_resource_name(ident: str, table: Table, alarm: MetricAlarm) -> str:
    # "<table name>-system-errors" -> "<ident>_system_errors"; other names as they are
    prefix = f"{table.table_name}-"
    if alarm.name.startswith(prefix):
        return f"{ident}_{identifier(alarm.name[len(prefix):])}"
    return identifier(alarm.name)


# -------------------------------------------------------------------- the table


def _table_body(t: Table) -> dict[str, Any]:
    """``aws_dynamodb_table``'s arguments, translated from the requests apply sends."""
    if t.billing_mode != "PAY_PER_REQUEST":
        # the spec only allows on-demand; a provisioned table has no capacities to export
        raise UsageError(f"cannot export table '{t.name}': billing mode {t.billing_mode}")
    request = create_table_request(t)
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
        "point_in_time_recovery": pitr_specification(
            t.point_in_time_recovery)["PointInTimeRecoveryEnabled"],
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


# -------------------------------------------------------------------- AWS Backup


def _vault_body(vault: BackupVault) -> dict[str, Any]:
    return {"name": vault.name, "tags": vault.tags}  # AWS-managed key: no kms_key_arn


def _lifecycle(lifecycle: dict[str, int]) -> dict[str, Any]:
    """A Lifecycle of the BackupPlanInput as the provider's ``lifecycle`` block."""
    block: dict[str, Any] = {"delete_after": lifecycle["DeleteAfterDays"]}
    if "MoveToColdStorageAfterDays" in lifecycle:
        block["cold_storage_after"] = lifecycle["MoveToColdStorageAfterDays"]
    return block


def _plan_body(backup: Backup, vault_address: str, dr_addresses: dict[str, str],
               owner: str) -> dict[str, Any]:
    """``aws_backup_plan``, translated from the BackupPlanInput apply sends."""
    assert backup.plan is not None
    for copy in backup.plan.rule.copy_actions:
        if copy.destination_region not in dr_addresses:
            raise UsageError(f"cannot export {owner}: its backup copies to "
                             f"{copy.destination_region}, where it has no DR vault")
    document = plan_document(
        backup.plan, {region: _ref(a, "arn") for region, a in dr_addresses.items()},
        target_vault=_ref(vault_address, "name"))
    (rule,) = document["Rules"]  # tablesmith's plans have one rule
    body: dict[str, Any] = {
        "rule_name": rule["RuleName"],
        "target_vault_name": rule["TargetBackupVaultName"],
        "schedule": rule["ScheduleExpression"],
        "lifecycle": [_lifecycle(rule["Lifecycle"])],
    }
    if rule.get("CopyActions"):
        body["copy_action"] = [{"destination_vault_arn": c["DestinationBackupVaultArn"],
                                "lifecycle": [_lifecycle(c["Lifecycle"])]}
                               for c in rule["CopyActions"]]
    return {"name": document["BackupPlanName"], "rule": [body], "tags": backup.plan.tags}


_ACCOUNT_ID = "${data.aws_caller_identity.current.account_id}"


# -------------------------------------------------------------------- CloudWatch


def _dimensions(dimensions: Sequence[dict[str, str]], table: Table | None,
                table_address: str) -> dict[str, Any]:
    """A request's Dimensions list as the provider's map, sorted by name."""
    # naming the table through its resource orders the alarm after the table, as the module did
    def value(key: str, value: str) -> str:
        if table is not None and key == "TableName" and value == table.table_name:
            return _ref(table_address, "name")
        return value
    return {d["Name"]: value(d["Name"], d["Value"])
            for d in sorted(dimensions, key=lambda d: d["Name"])}


def _alarm_body(alarm: MetricAlarm, table: Table | None, table_address: str) -> dict[str, Any]:
    """The alarm, translated from the PutMetricAlarm request apply sends; ``table`` (None for a
    shared alarm) is named by reference in dimensions."""
    request = put_request(alarm, with_tags=True)
    body: dict[str, Any] = {
        "alarm_name": request["AlarmName"],
        "comparison_operator": request["ComparisonOperator"],
        "evaluation_periods": request["EvaluationPeriods"],
        "threshold": request["Threshold"],
        "treat_missing_data": request["TreatMissingData"],
        "alarm_actions": request["AlarmActions"],
        "ok_actions": request["OKActions"],
        "tags": {t["Key"]: t["Value"] for t in request.get("Tags", [])},
    }
    if request.get("AlarmDescription"):
        body["alarm_description"] = request["AlarmDescription"]
    if "Metrics" in request:
        body["metric_query"] = [_metric_query(q, alarm, table, table_address)
                                for q in request["Metrics"]]
        return body
    single = {
        "namespace": request["Namespace"],
        "metric_name": request["MetricName"],
        "statistic": request["Statistic"],
        "period": request["Period"],
        "dimensions": _dimensions(request["Dimensions"], table, table_address),
    }
    return body | {k: v for k, v in single.items() if v is not None and v != {}}


def _metric_query(q: dict[str, Any], alarm: MetricAlarm, table: Table | None,
                  table_address: str) -> dict[str, Any]:
    """A MetricDataQuery of the request as a ``metric_query`` block."""
    query: dict[str, Any] = {"id": q["Id"], "return_data": q["ReturnData"]}
    if "Label" in q:
        query["label"] = q["Label"]
    if "Expression" in q:
        # no period: PutMetricAlarm takes a Period on metric terms only
        query["expression"] = q["Expression"]
        return query
    stat = q["MetricStat"]
    metric_name = stat["Metric"]["MetricName"]
    if metric_name is None:
        raise UsageError(f"cannot export alarm '{alarm.name}': query '{q['Id']}' has neither an "
                         "expression nor a metric")
    if stat["Stat"] is None or stat["Period"] is None:
        raise UsageError(f"cannot export alarm '{alarm.name}': metric '{q['Id']}' has no stat or "
                         "period")
    metric: dict[str, Any] = {"metric_name": metric_name, "stat": stat["Stat"],
                              "period": stat["Period"]}
    if stat["Metric"]["Namespace"] is not None:
        metric["namespace"] = stat["Metric"]["Namespace"]
    if stat["Metric"]["Dimensions"]:
        metric["dimensions"] = _dimensions(stat["Metric"]["Dimensions"], table, table_address)
    query["metric"] = [metric]
    return query


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
        "global_secondary_indexes": [
            {"name": g.name, "hash_key": g.hash_key.name,
             "range_key": g.range_key.name if g.range_key else None}
            for g in t.global_secondary_indexes],
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
            "backup_enabled": bool(t.backup and t.backup.enabled),
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
