"""The Terraform JSON export, checked as data: no terraform, no AWS.

The examples' three environments (``examples/bbws.yaml``: dev, sit, prod) are rendered and
the JSON is compared with what tablesmith itself would do: the CreateTable request
(``shapes.create_table_request``), the backup resources (``resources.desired_backup``) and the
alarms (``around.alarms.desired_alarms``). ``tests/acceptance/test_terraform_validate.py``
has terraform itself validate the same files.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

import tablesmith
from tablesmith.around.alarms import desired_alarms
from tablesmith.errors import UsageError
from tablesmith.export.terraform import (
    OUTPUTS_FILE,
    TERRAFORM_FILE,
    escape,
    identifier,
    key_attributes,
    provider_alias,
    render_terraform,
)
from tablesmith.outputs import MODULE_OUTPUTS
from tablesmith.resources import BACKUP_POLICIES, desired_backup
from tablesmith.shapes import create_table_request
from tablesmith.spec.model import Environment, Table

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "bbws.yaml"
HCL_EXAMPLES = REPO / "examples" / "terraform"
ENVS = ["dev", "sit", "prod"]
REFERENCE = re.compile(r"\$\{([a-z0-9_]+)\.([A-Za-z0-9_-]+)\.")

Documents = dict[str, dict[str, Any]]


@pytest.fixture(scope="module")
def spec() -> tablesmith.Spec:
    return tablesmith.load(EXAMPLES)


def render(spec: tablesmith.Spec, env: str) -> Documents:
    files = render_terraform(spec.environment(env), spec.tables(env))
    return {name: json.loads(text) for name, text in files.items()}


def resources(docs: Documents) -> dict[str, dict[str, Any]]:
    """``{"type.name": body}`` over every file (data sources as ``data.type``)."""
    found: dict[str, dict[str, Any]] = {}
    for doc in docs.values():
        for rtype in doc.get("data", {}):
            found[f"data.{rtype}"] = doc["data"][rtype]
        for rtype, by_name in doc.get("resource", {}).items():
            for name, body in by_name.items():
                address = f"{rtype}.{name}"
                assert address not in found, f"{address} defined twice"
                found[address] = body
    return found


def strings(value: Any) -> list[str]:
    """Every string in a JSON value, keys included."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in [k, *strings(v)]]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return []


def table_resource(docs: Documents, table: Table) -> dict[str, Any]:
    body: dict[str, Any] = resources(docs)[f"aws_dynamodb_table.{identifier(table.name)}"]
    return body


def replica_resources(docs: Documents, table: Table) -> dict[str, dict[str, Any]]:
    """The table's ``aws_dynamodb_table_replica`` resources, by the Region their name says."""
    found = resources(docs)
    return {region: found[f"aws_dynamodb_table_replica.{identifier(table.name)}_"
                          f"{identifier(region)}"]
            for region in table.replicas}


# ------------------------------------------------------------------ files and determinism


@pytest.mark.parametrize("env", ENVS)
def test_rendering_is_deterministic(spec: tablesmith.Spec, env: str) -> None:
    first = render_terraform(spec.environment(env), spec.tables(env))
    again = render_terraform(spec.environment(env), spec.tables(env))
    reloaded = tablesmith.load(EXAMPLES)
    shuffled = render_terraform(reloaded.environment(env), tuple(reversed(reloaded.tables(env))))
    assert first == again == shuffled


@pytest.mark.parametrize("env", ENVS)
def test_files_are_sorted_json_one_per_table(spec: tablesmith.Spec, env: str) -> None:
    files = render_terraform(spec.environment(env), spec.tables(env))
    tables = {f"table_{t.name}.tf.json" for t in spec.tables(env)}
    assert set(files) == {TERRAFORM_FILE, OUTPUTS_FILE, *tables}
    assert list(files) == sorted(files)
    for text in files.values():
        assert text == json.dumps(json.loads(text), indent=2, sort_keys=True) + "\n"


@pytest.mark.parametrize("env", ENVS)
def test_required_provider_and_default_region(spec: tablesmith.Spec, env: str) -> None:
    doc = render(spec, env)[TERRAFORM_FILE]
    aws = doc["terraform"]["required_providers"]["aws"]
    assert aws["source"] == "hashicorp/aws"
    assert aws["version"].startswith(">= 5.")
    defaults = [p for p in doc["provider"]["aws"] if "alias" not in p]
    assert defaults == [{"region": spec.environment(env).region}]


# ------------------------------------------------------------------ providers


@pytest.mark.parametrize("env", ENVS)
def test_every_provider_reference_is_declared(spec: tablesmith.Spec, env: str) -> None:
    docs = render(spec, env)
    declared = {p["alias"]: p["region"] for p in docs[TERRAFORM_FILE]["provider"]["aws"]
                if "alias" in p}
    for address, body in resources(docs).items():
        if "provider" in body:
            kind, _, alias = body["provider"].partition(".")
            assert kind == "aws" and alias in declared, f"{address}: {body['provider']}"
    replica_regions = {r for t in spec.tables(env) for r in t.replicas}
    assert set(declared.values()) == replica_regions
    assert all(alias == provider_alias(region) for alias, region in declared.items())


def test_dr_vaults_live_in_their_region(spec: tablesmith.Spec) -> None:
    docs = render(spec, "prod")
    declared = {f"aws.{p['alias']}": p["region"]
                for p in docs[TERRAFORM_FILE]["provider"]["aws"] if "alias" in p}
    dr_vaults = {a: b for a, b in resources(docs).items()
                 if a.startswith("aws_backup_vault.") and "_dr_" in a}
    assert len(dr_vaults) == len(spec.tables("prod"))
    for body in dr_vaults.values():
        assert declared[body["provider"]] == body["tags"]["Region"] == "eu-west-1"


# ------------------------------------------------------------------ the table


@pytest.mark.parametrize("env", ENVS)
def test_attribute_blocks_are_the_key_attributes_once(spec: tablesmith.Spec, env: str) -> None:
    docs = render(spec, env)
    for table in spec.tables(env):
        attributes = table_resource(docs, table)["attribute"]
        names = [a["name"] for a in attributes]
        assert len(names) == len(set(names))
        request = create_table_request(table)
        assert attributes == [{"name": a["AttributeName"], "type": a["AttributeType"]}
                              for a in request["AttributeDefinitions"]]


@pytest.mark.parametrize("env", ENVS)
def test_hcl_example_attributes_that_no_key_uses_are_not_exported(env: str) -> None:
    # tenants_dev.tf lists email and entityType in `attributes` but no key uses them
    hcl = tablesmith.load(HCL_EXAMPLES)
    docs = render(hcl, env)
    for table in hcl.tables(env):
        names = {a["name"] for a in table_resource(docs, table)["attribute"]}
        assert names == {k.name for k in key_attributes(table)}
        assert not names & {"email", "entityType"}


@pytest.mark.parametrize("env", ENVS)
def test_table_matches_the_create_table_request(spec: tablesmith.Spec, env: str) -> None:
    docs = render(spec, env)
    for table in spec.tables(env):
        body, request = table_resource(docs, table), create_table_request(table)
        keys = {k["KeyType"]: k["AttributeName"] for k in request["KeySchema"]}
        assert (body["name"], body["hash_key"], body.get("range_key")) == (
            request["TableName"], keys["HASH"], keys.get("RANGE"))
        assert body["billing_mode"] == request["BillingMode"]
        assert body["deletion_protection_enabled"] is request["DeletionProtectionEnabled"]
        assert body["tags"] == {t["Key"]: t["Value"] for t in request["Tags"]}
        assert body["table_class"] == request.get("TableClass", "STANDARD")
        gsis = [{"name": g["IndexName"],
                 **{("hash_key" if k["KeyType"] == "HASH" else "range_key"): k["AttributeName"]
                    for k in g["KeySchema"]},
                 "projection_type": g["Projection"]["ProjectionType"]}
                for g in request.get("GlobalSecondaryIndexes", [])]
        assert body.get("global_secondary_index", []) == gsis
        stream = request["StreamSpecification"]
        assert (body["stream_enabled"], body["stream_view_type"]) == (
            stream["StreamEnabled"], stream["StreamViewType"])
        assert body["server_side_encryption"] == [{"enabled": True}]  # AWS_MANAGED
        assert body["point_in_time_recovery"] == [{"enabled": True,
                                                   "recovery_period_in_days": 35}]
        assert body["ttl"] == [{"enabled": False}]


@pytest.mark.parametrize("env", ENVS)
def test_replicas_only_in_prod(spec: tablesmith.Spec, env: str) -> None:
    docs = render(spec, env)
    every = {a: b for a, b in resources(docs).items()
             if a.startswith("aws_dynamodb_table_replica.")}
    expected_count = 0
    for table in spec.tables(env):
        t = identifier(table.name)
        body = table_resource(docs, table)
        assert "replica" not in body  # never inline blocks: the replica resources only
        replicas = replica_resources(docs, table)
        expected_count += len(replicas)
        for region, replica in replicas.items():
            assert replica == {
                "provider": f"aws.{provider_alias(region)}",
                "global_table_arn": f"${{aws_dynamodb_table.{t}.arn}}",
                "point_in_time_recovery": True,
                "deletion_protection_enabled": True,
                "tags": table.tags,  # the resource does not propagate the table's tags
            }
        # the provider requires the table to ignore its replica set once the resource has it
        assert body.get("lifecycle") == (
            {"ignore_changes": ["replica"]} if replicas else None)
        assert bool(replicas) is (env == "prod")
    assert len(every) == expected_count


@pytest.mark.parametrize("env", ENVS)
@pytest.mark.parametrize("protected", [True, False])
def test_replicas_are_protected_like_their_table(spec: tablesmith.Spec, env: str,
                                                 protected: bool) -> None:
    # DynamoDB does not copy deletion protection to a replica: each replica must say it, in
    # its own Region, through a provider the configuration declares
    tables = [t.model_copy(update={"deletion_protection": protected})
              for t in spec.tables(env)]
    files = render_terraform(spec.environment(env), tables)
    docs = {name: json.loads(text) for name, text in files.items()}
    declared = {p["alias"]: p["region"] for p in docs[TERRAFORM_FILE]["provider"]["aws"]
                if "alias" in p}
    for table in tables:
        body = table_resource(docs, table)
        assert body["deletion_protection_enabled"] is protected
        for region, replica in replica_resources(docs, table).items():
            assert replica["deletion_protection_enabled"] is protected, region
            kind, _, alias = replica["provider"].partition(".")
            assert kind == "aws" and declared.get(alias) == region, replica["provider"]


def _example_table(spec: tablesmith.Spec, **update: Any) -> Table:
    return spec.table("prod", "products").model_copy(update=update)


def test_encryption_ttl_pitr_stream_variants(spec: tablesmith.Spec) -> None:
    base = _example_table(spec)
    cmk = base.encryption.model_copy(update={
        "type": "CUSTOMER_MANAGED", "kms_key_arn": "arn:aws:kms:af-south-1:1:key/a",
        "replica_kms_key_arns": {"eu-west-1": "arn:aws:kms:eu-west-1:1:key/b"}})
    table = base.model_copy(update={
        "encryption": cmk,
        "ttl": base.ttl.model_copy(update={"enabled": True, "attribute_name": "expiresAt"}),
        "point_in_time_recovery": base.point_in_time_recovery.model_copy(
            update={"recovery_period_days": 7}),
        # the replica resource has no period: its replica keeps AWS's 35 days, said so
        "replica_point_in_time_recovery": {"eu-west-1": base.point_in_time_recovery.model_copy(
            update={"recovery_period_days": 35})},
        "on_demand_throughput": tablesmith.OnDemandThroughput(max_read_request_units=100)})
    body = table_resource(render_docs(spec, table), table)
    assert body["server_side_encryption"] == [{"enabled": True,
                                               "kms_key_arn": "arn:aws:kms:af-south-1:1:key/a"}]
    assert replica_resources(render_docs(spec, table), table)["eu-west-1"]["kms_key_arn"] == (
        "arn:aws:kms:eu-west-1:1:key/b")
    assert body["ttl"] == [{"enabled": True, "attribute_name": "expiresAt"}]
    assert body["point_in_time_recovery"] == [{"enabled": True, "recovery_period_in_days": 7}]
    assert body["on_demand_throughput"] == [{"max_read_request_units": 100,
                                             "max_write_request_units": -1}]

    off = base.model_copy(update={
        "replicas": (),
        "encryption": base.encryption.model_copy(update={"type": "AWS_OWNED"}),
        "point_in_time_recovery": base.point_in_time_recovery.model_copy(
            update={"enabled": False}),
        "stream": base.stream.model_copy(update={"enabled": False})})
    body = table_resource(render_docs(spec, off), off)
    assert body["server_side_encryption"] == [{"enabled": False}]
    assert body["point_in_time_recovery"] == [{"enabled": False}]
    assert body["stream_enabled"] is False and "stream_view_type" not in body
    assert "replica" not in body and "on_demand_throughput" not in body
    assert "lifecycle" not in body  # nothing to ignore without replica resources
    assert not [a for a in resources(render_docs(spec, off))
                if a.startswith("aws_dynamodb_table_replica.")]


def render_docs(spec: tablesmith.Spec, *tables: Table) -> Documents:
    files = render_terraform(spec.environment("prod"), tables)
    return {name: json.loads(text) for name, text in files.items()}


# ------------------------------------------------------------------ AWS Backup


@pytest.mark.parametrize("env", ENVS)
def test_backup_resources_are_desired_backup(spec: tablesmith.Spec, env: str) -> None:
    found = resources(render(spec, env))
    for table in spec.tables(env):
        t, backup = identifier(table.name), desired_backup(table)
        assert backup.vault and backup.plan and backup.selection and backup.role
        assert found[f"aws_backup_vault.{t}"] == {"name": backup.vault.name,
                                                  "tags": backup.vault.tags}
        plan = found[f"aws_backup_plan.{t}"]
        (rule,) = plan["rule"]
        assert (plan["name"], rule["rule_name"], rule["schedule"]) == (
            backup.plan.name, backup.plan.rule.name, backup.plan.rule.schedule)
        assert rule["target_vault_name"] == f"${{aws_backup_vault.{t}.name}}"
        assert rule["lifecycle"] == [{"delete_after": backup.plan.rule.delete_after_days}]
        selection = found[f"aws_backup_selection.{t}"]
        assert selection == {"name": backup.selection.name,
                             "plan_id": f"${{aws_backup_plan.{t}.id}}",
                             "iam_role_arn": f"${{aws_iam_role.{t}_backup.arn}}",
                             "resources": [f"${{aws_dynamodb_table.{t}.arn}}"]}
        role = found[f"aws_iam_role.{t}_backup"]
        assert role["name"] == backup.role.name
        trust = json.loads(role["assume_role_policy"])["Statement"]
        # AWS Backup may assume it only for this account (the confused-deputy guard)
        assert trust == [{"Action": "sts:AssumeRole", "Effect": "Allow",
                          "Principal": {"Service": "backup.amazonaws.com"},
                          "Condition": {"StringEquals": {"aws:SourceAccount":
                                        "${data.aws_caller_identity.current.account_id}"}}}]
        attached = {found[f"aws_iam_role_policy_attachment.{t}_{suffix}"]["policy_arn"]
                    for suffix in ("backup", "restore")}
        assert attached == set(BACKUP_POLICIES)


@pytest.mark.parametrize("env", ENVS)
def test_copy_action_only_when_replicated(spec: tablesmith.Spec, env: str) -> None:
    found = resources(render(spec, env))
    for table in spec.tables(env):
        t = identifier(table.name)
        (rule,) = found[f"aws_backup_plan.{t}"]["rule"]
        copies = rule.get("copy_action", [])
        assert [c["destination_vault_arn"] for c in copies] == [
            f"${{aws_backup_vault.{t}_dr_{identifier(r)}.arn}}" for r in table.replicas]
        for region in table.replicas:
            assert f"aws_backup_vault.{t}_dr_{identifier(region)}" in found
        assert bool(copies) is bool(table.replicas) is (env == "prod")


def test_no_backup_resources_when_backup_is_off(spec: tablesmith.Spec) -> None:
    base = _example_table(spec)
    table = base.model_copy(update={"backup": None})
    docs = render_docs(spec, table)
    assert not [a for a in resources(docs) if "backup" in a.split(".")[0]]
    outputs = docs[OUTPUTS_FILE]["output"]
    for name in ("backup_plan_id", "backup_vault_name", "backup_vault_arn",
                 "replica_backup_vault_arn"):
        assert outputs[name]["value"] == {"products": None}


# ------------------------------------------------------------------ alarms


@pytest.mark.parametrize("env", ENVS)
def test_alarms_are_desired_alarms(spec: tablesmith.Spec, env: str) -> None:
    found = resources(render(spec, env))
    alarms = {b["alarm_name"]: b for a, b in found.items()
              if a.startswith("aws_cloudwatch_metric_alarm.")}
    wanted = {a.name: a for t in spec.tables(env) for a in desired_alarms(t)}
    assert set(alarms) == set(wanted)
    for name, body in alarms.items():
        alarm = wanted[name]
        assert (body["threshold"], body["evaluation_periods"], body["comparison_operator"]) == (
            alarm.threshold, alarm.evaluation_periods, alarm.comparison_operator)
        if alarm.metrics:
            assert "metric_name" not in body
            queries = {q["id"]: q for q in body["metric_query"]}
            assert set(queries) == {q.id for q in alarm.metrics}
            returning = [q for q in body["metric_query"] if q["return_data"]]
            assert len(returning) == 1 and "expression" in returning[0]
            for query in alarm.metrics:
                if query.metric_name:
                    (metric,) = queries[query.id]["metric"]
                    assert (metric["metric_name"], metric["stat"], metric["period"]) == (
                        query.metric_name, query.stat, query.period)
        else:
            assert (body["metric_name"], body["statistic"], body["period"]) == (
                alarm.metric_name, alarm.statistic, alarm.period)
            assert set(body.get("dimensions", {})) == set(alarm.dimensions)


def test_shared_user_errors_alarm_is_rendered_once(spec: tablesmith.Spec) -> None:
    tables = []
    for table in spec.tables("prod"):
        assert table.alarms is not None
        user_errors = table.alarms.user_errors.model_copy(update={"enabled": True})
        tables.append(table.model_copy(update={
            "alarms": table.alarms.model_copy(update={"user_errors": user_errors})}))
    docs = render_docs(spec, *tables)
    shared = docs["alarms.tf.json"]["resource"]["aws_cloudwatch_metric_alarm"]
    assert list(shared) == ["dynamodb_user_errors_prod_af_south_1"]
    (body,) = shared.values()
    assert "dimensions" not in body  # UserErrors has no TableName dimension
    arns = docs[OUTPUTS_FILE]["output"]["user_errors_alarm_arn"]["value"]
    ref = "${aws_cloudwatch_metric_alarm.dynamodb_user_errors_prod_af_south_1.arn}"
    assert arns == {t.name: ref for t in tables}


# ------------------------------------------------------------------ outputs and references


@pytest.mark.parametrize("env", ENVS)
def test_outputs_have_every_module_name(spec: tablesmith.Spec, env: str) -> None:
    outputs = render(spec, env)[OUTPUTS_FILE]["output"]
    assert set(MODULE_OUTPUTS) <= set(outputs)
    names = {t.name for t in spec.tables(env)}
    for name, output in outputs.items():
        assert set(output["value"]) == names, name
        assert output["description"]
    for table in spec.tables(env):
        t = identifier(table.name)

        def value(name: str, table: Table = table) -> Any:
            return outputs[name]["value"][table.name]

        assert value("table_arn") == f"${{aws_dynamodb_table.{t}.arn}}"
        assert value("table_stream_arn") == f"${{aws_dynamodb_table.{t}.stream_arn}}"
        assert value("backup_plan_id") == f"${{aws_backup_plan.{t}.id}}"
        assert value("system_errors_alarm_arn") == (
            f"${{aws_cloudwatch_metric_alarm.{t}_system_errors.arn}}")
        assert value("user_errors_alarm_arn") is None  # opt-in, off in the examples
        assert set(value("gsi_arns")) == {g.name for g in table.global_secondary_indexes}
        replicated = env == "prod"
        assert value("replica_region") == ("eu-west-1" if replicated else None)
        replicas = {r: f"${{aws_dynamodb_table_replica.{t}_{identifier(r)}.arn}}"
                    for r in table.replicas}
        assert value("replica_table_arns") == replicas
        assert value("replica_table_arn") == (replicas["eu-west-1"] if replicated else None)
        assert (value("replica_backup_vault_arn") is None) is not replicated
        assert value("table_info")["replication_enabled"] is replicated


@pytest.mark.parametrize("env", ENVS)
def test_every_reference_names_a_rendered_resource(spec: tablesmith.Spec, env: str) -> None:
    docs = render(spec, env)
    found = resources(docs)
    referenced = {f"{m[0]}.{m[1]}" for doc in docs.values() for s in strings(doc)
                  for m in REFERENCE.findall(s)}
    assert referenced
    assert referenced <= set(found), referenced - set(found)


# ------------------------------------------------------------------ names and literals


def test_literal_strings_are_escaped(spec: tablesmith.Spec) -> None:
    table = _example_table(spec, tags={"Note": "${var.x} and %{if}", "${k}": "v"})
    body = table_resource(render_docs(spec, table), table)
    assert body["tags"] == {"Note": "$${var.x} and %%{if}", "$${k}": "v"}
    assert escape("plain") == "plain"


def test_names_are_sanitised_and_collisions_refused(spec: tablesmith.Spec) -> None:
    assert identifier("my-table.v2") == "my_table_v2"
    assert identifier("9lives") == "_9lives"
    table = _example_table(spec, name="my-table.v2", table_name="my-table.v2")
    docs = render_docs(spec, table)
    assert "table_my_table_v2.tf.json" in docs
    assert "aws_dynamodb_table.my_table_v2" in resources(docs)
    assert docs[OUTPUTS_FILE]["output"]["table_name"]["value"] == {
        "my-table.v2": "${aws_dynamodb_table.my_table_v2.name}"}
    twin = _example_table(spec, name="my_table_v2", table_name="my_table_v2")
    with pytest.raises(UsageError, match=re.escape("both become aws_dynamodb_table.my_table_v2")):
        render_terraform(spec.environment("prod"), (table, twin))


def test_other_region_resources_get_an_aliased_provider() -> None:
    env = Environment(name="x", region="eu-central-1")
    spec = tablesmith.load(EXAMPLES)
    table = spec.table("prod", "tenants")  # af-south-1, replicated to eu-west-1
    docs = {n: json.loads(t) for n, t in render_terraform(env, (table,)).items()}
    aliases = {p.get("alias") for p in docs[TERRAFORM_FILE]["provider"]["aws"]}
    assert aliases == {None, "replica_af_south_1", "replica_eu_west_1"}
    assert table_resource(docs, table)["provider"] == "aws.replica_af_south_1"
