"""The CloudFormation exporter: cfn-lint clean templates, and their structure, without AWS.

Every example environment (``examples/bbws.yaml`` and ``examples/terraform``, dev/sit/prod)
is rendered and each template linted with cfn-lint's Python API against the schemas of the
stack's own region; variants of the example tables (replicas, encryption, TTL, indexes,
backup off, shared alarms) cover what the examples do not.
"""

from __future__ import annotations

import ast
import json
import re
from functools import cache
from pathlib import Path
from typing import Any, ClassVar

import pytest
from cfnlint.api import lint

import tablesmith
from tablesmith.around.alarms import desired_alarms
from tablesmith.around.contract import (
    CloudFormationAt,
    CloudFormationOut,
    CloudFormationOutputs,
    FamilyBase,
)
from tablesmith.around.registry import FAMILIES
from tablesmith.errors import UsageError
from tablesmith.export import cloudformation
from tablesmith.export.cloudformation import (
    README_FILE,
    build_stacks,
    pascal,
    render_cloudformation,
)
from tablesmith.outputs import EXTRA_OUTPUTS, MODULE_OUTPUTS
from tablesmith.shapes import create_table_request
from tablesmith.spec.model import (
    Encryption,
    Environment,
    GlobalSecondaryIndex,
    Key,
    LocalSecondaryIndex,
    OnDemandThroughput,
    Table,
    TimeToLive,
)

REPO = Path(__file__).resolve().parents[2]
SOURCES = {"bbws": REPO / "examples" / "bbws.yaml", "terraform": REPO / "examples" / "terraform"}
EXAMPLES = [(source, env) for source in SOURCES for env in ("dev", "sit", "prod")]
IDS = [f"{source}-{env}" for source, env in EXAMPLES]
LOGICAL_ID = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")
KEY = "arn:aws:kms:{region}:111122223333:key/00000000-0000-0000-0000-00000000000{n}"


@cache
def example(source: str, env: str) -> tuple[Environment, tuple[Table, ...]]:
    """An example environment and its effective tables."""
    spec = tablesmith.load(SOURCES[source])
    return spec.environment(env), spec.tables(env)


def render(env: Environment, tables: tuple[Table, ...]) -> dict[str, Any]:
    """The rendered files, templates parsed (the README left as text)."""
    files = render_cloudformation(env, tables)
    return {name: text if name.endswith(".md") else json.loads(text)
            for name, text in files.items()}


def templates(files: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: body for name, body in files.items() if name.endswith(".template.json")}


def main_template(files: dict[str, Any], env: Environment) -> dict[str, Any]:
    body: dict[str, Any] = files[f"tablesmith-{env.name}.template.json"]
    return body


def of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {lid: r for lid, r in template.get("Resources", {}).items() if r["Type"] == kind}


def lint_problems(files: dict[str, str], env: Environment) -> list[str]:
    """cfn-lint errors and warnings of every template, each against its stack's region."""
    problems = []
    for name, text in files.items():
        if not name.endswith(".template.json"):
            continue
        region = json.loads(text)["Metadata"]["tablesmith"]["region"]
        problems += [f"{name}:{m.linenumber}: {m.rule.id} {m.message}"
                     for m in lint(text, regions=[region]) if m.rule.id[0] in "EW"]
    return problems


def prod_table(name: str = "campaigns") -> tuple[Environment, Table]:
    env, tables = example("bbws", "prod")
    return env, next(t for t in tables if t.name == name)


def variant(table: Table, **changes: Any) -> Table:
    """A copy of ``table`` with ``changes`` (validated again, as the loader would)."""
    return Table.model_validate({**table.model_dump(), **changes})


# --------------------------------------------------------------------------- cfn-lint


@pytest.mark.parametrize(("source", "env_name"), EXAMPLES, ids=IDS)
def test_example_templates_are_cfn_lint_clean(source: str, env_name: str) -> None:
    env, tables = example(source, env_name)
    assert lint_problems(render_cloudformation(env, tables), env) == []


def test_variants_are_cfn_lint_clean() -> None:
    env, campaigns = prod_table()
    _, tenants = prod_table("tenants")
    tables = (
        # global table, customer-managed keys in both regions, TTL, caps, two replicas
        variant(campaigns, replicas=("eu-west-1", "us-east-1"),
                encryption=Encryption(type="CUSTOMER_MANAGED",
                                      kms_key_arn=KEY.format(region="af-south-1", n=1),
                                      replica_kms_key_arns={
                                          "eu-west-1": KEY.format(region="eu-west-1", n=2),
                                          "us-east-1": KEY.format(region="us-east-1", n=3)}),
                ttl=TimeToLive(enabled=True, attribute_name="expiresAt"),
                table_class="STANDARD_INFREQUENT_ACCESS",
                on_demand_throughput=OnDemandThroughput(max_read_request_units=100,
                                                        max_write_request_units=50)),
        # plain table: AWS-owned key, no stream, an LSI, an INCLUDE GSI, a read cap only
        variant(tenants, name="user_events", table_name="user-events", replicas=(),
                encryption=Encryption(type="AWS_OWNED"),
                stream={"enabled": False, "view_type": "NEW_AND_OLD_IMAGES"},
                attribute_definitions=[Key(name="PK", type="S"), Key(name="SK", type="S"),
                                       Key(name="at", type="N"), Key(name="kind", type="S")],
                local_secondary_indexes=[LocalSecondaryIndex(
                    name="ByTime", range_key=Key(name="at", type="N"),
                    projection_type="KEYS_ONLY")],
                global_secondary_indexes=[GlobalSecondaryIndex(
                    name="ByKind", hash_key=Key(name="kind", type="S"),
                    projection_type="INCLUDE", non_key_attributes=("a", "b"))],
                on_demand_throughput=OnDemandThroughput(max_read_request_units=10),
                backup={"enabled": True, "schedule": "cron(0 2 * * ? *)",
                        "retention_days": 120, "cold_storage_after_days": 10}),
    )
    files = render_cloudformation(env, tables)
    assert lint_problems(files, env) == []
    assert sorted(files) == [README_FILE, "tablesmith-prod-dr-eu-west-1.template.json",
                             "tablesmith-prod-dr-us-east-1.template.json",
                             "tablesmith-prod.template.json"]


# --------------------------------------------------------------------------- layout


@pytest.mark.parametrize(("source", "env_name"), EXAMPLES, ids=IDS)
def test_rendering_is_deterministic(source: str, env_name: str) -> None:
    env, tables = example(source, env_name)
    first = render_cloudformation(env, tables)
    assert render_cloudformation(env, tables) == first
    # the order tables are passed in does not matter either
    assert render_cloudformation(env, tuple(reversed(tables))) == first
    # and a fresh load of the spec gives the same bytes
    fresh = tablesmith.load(SOURCES[source])
    assert render_cloudformation(fresh.environment(env_name), fresh.tables(env_name)) == first


@pytest.mark.parametrize(("source", "env_name"), EXAMPLES, ids=IDS)
def test_a_dr_stack_per_replica_region_and_a_readme(source: str, env_name: str) -> None:
    env, tables = example(source, env_name)
    files = render(env, tables)
    regions = sorted({r for t in tables for r in t.replicas})
    assert sorted(files) == sorted(
        [README_FILE, f"tablesmith-{env_name}.template.json",
         *(f"tablesmith-{env_name}-dr-{r}.template.json" for r in regions)])
    for region in regions:
        dr = files[f"tablesmith-{env_name}-dr-{region}.template.json"]
        assert dr["Metadata"]["tablesmith"]["region"] == region
        vaults = of_type(dr, "AWS::Backup::BackupVault")
        assert sorted(v["Properties"]["BackupVaultName"] for v in vaults.values()) == sorted(
            f"{t.table_name}-backup-vault-dr" for t in tables if region in t.replicas)
        for table in tables:
            output = dr["Outputs"][f"{pascal(table.name)}ReplicaBackupVaultArn"]
            assert output["Value"] == {"Fn::GetAtt": [f"{pascal(table.name)}DrBackupVault",
                                                      "BackupVaultArn"]}
            assert output["Export"]["Name"] == {
                "Fn::Sub": f"${{AWS::StackName}}-{pascal(table.name)}ReplicaBackupVaultArn"}


def test_all_logical_ids_are_alphanumeric() -> None:
    for source, env_name in EXAMPLES:
        env, tables = example(source, env_name)
        for body in templates(render(env, tables)).values():
            for section in ("Parameters", "Conditions", "Resources", "Outputs"):
                for logical_id in body.get(section, {}):
                    assert LOGICAL_ID.match(logical_id), logical_id


def test_pascal_case_names() -> None:
    assert pascal("user_events") == "UserEvents"
    assert pascal("orders-v2.archive") == "OrdersV2Archive"
    assert pascal("eu-west-1") == "EuWest1"
    assert pascal("dateCreated") == "DateCreated"
    assert pascal("2024_orders") == "T2024Orders"


# --------------------------------------------------------------------------- tables


def test_replicated_tables_are_global_tables_with_the_stack_region_as_a_replica() -> None:
    env, tables = example("bbws", "prod")
    main = main_template(render(env, tables), env)
    globals_ = of_type(main, "AWS::DynamoDB::GlobalTable")
    assert sorted(globals_) == ["CampaignsTable", "ProductsTable", "TenantsTable"]
    assert of_type(main, "AWS::DynamoDB::Table") == {}
    for table in tables:
        props = globals_[f"{pascal(table.name)}Table"]["Properties"]
        regions = [r["Region"] for r in props["Replicas"]]
        assert env.region in regions
        assert regions == sorted({env.region, *table.replicas})
        assert props["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
        assert props["BillingMode"] == "PAY_PER_REQUEST"
        assert props["SSESpecification"] == {"SSEEnabled": True, "SSEType": "KMS"}
        for replica in props["Replicas"]:
            assert replica["PointInTimeRecoverySpecification"] == {
                "PointInTimeRecoveryEnabled": True, "RecoveryPeriodInDays": 35}
            assert replica["DeletionProtectionEnabled"] is True
            assert replica["TableClass"] == "STANDARD"
            assert {t["Key"]: t["Value"] for t in replica["Tags"]} == table.tags
            assert "SSESpecification" not in replica  # AWS-managed key: none per replica


def test_plain_tables_carry_every_setting() -> None:
    env, tables = example("bbws", "dev")
    main = main_template(render(env, tables), env)
    assert of_type(main, "AWS::DynamoDB::GlobalTable") == {}
    resources = of_type(main, "AWS::DynamoDB::Table")
    for table in tables:
        resource = resources[f"{pascal(table.name)}Table"]
        assert resource["DeletionPolicy"] == resource["UpdateReplacePolicy"] == "Delete"
        props = resource["Properties"]
        request = create_table_request(table)
        for key in ("TableName", "KeySchema", "AttributeDefinitions", "BillingMode"):
            assert props[key] == request[key]
        assert props.get("GlobalSecondaryIndexes") == request.get("GlobalSecondaryIndexes")
        assert props["PointInTimeRecoverySpecification"] == {
            "PointInTimeRecoveryEnabled": True, "RecoveryPeriodInDays": 35}
        assert props["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
        assert props["TimeToLiveSpecification"] == {"AttributeName": "expiryTime",
                                                    "Enabled": False}
        assert props["SSESpecification"] == {"SSEEnabled": True, "SSEType": "KMS"}
        assert props["DeletionProtectionEnabled"] is False
        assert props["TableClass"] == "STANDARD"
        assert "OnDemandThroughput" not in props
        assert props["Tags"] == [{"Key": k, "Value": v} for k, v in sorted(table.tags.items())]


@pytest.mark.parametrize(("source", "env_name"), EXAMPLES, ids=IDS)
def test_only_key_attributes_are_defined(source: str, env_name: str) -> None:
    env, tables = example(source, env_name)
    main = main_template(render(env, tables), env)
    for lid, resource in main["Resources"].items():
        if not resource["Type"].startswith("AWS::DynamoDB::"):
            continue
        props = resource["Properties"]
        schemas = [props["KeySchema"]] + [i["KeySchema"] for kind in (
            "GlobalSecondaryIndexes", "LocalSecondaryIndexes") for i in props.get(kind, [])]
        keys = {k["AttributeName"] for schema in schemas for k in schema}
        defined = [a["AttributeName"] for a in props["AttributeDefinitions"]]
        assert sorted(defined) == sorted(keys), lid


def test_encryption_and_table_settings_of_variants() -> None:
    env, campaigns = prod_table()
    _, tenants = prod_table("tenants")
    cmk = Encryption(type="CUSTOMER_MANAGED", kms_key_arn=KEY.format(region="af-south-1", n=1),
                     replica_kms_key_arns={"eu-west-1": KEY.format(region="eu-west-1", n=2)})
    global_cmk = variant(campaigns, encryption=cmk, ttl=TimeToLive(enabled=True,
                                                                  attribute_name="exp"),
                         on_demand_throughput=OnDemandThroughput(max_read_request_units=100,
                                                                 max_write_request_units=50))
    plain_cmk = variant(tenants, replicas=(), deletion_protection=False,
                        encryption=cmk.model_copy(update={"replica_kms_key_arns": {}}))
    owned = variant(tenants, name="owned", table_name="owned", replicas=(),
                    encryption=Encryption(type="AWS_OWNED"),
                    on_demand_throughput=OnDemandThroughput(max_write_request_units=7))
    main = main_template(render(env, (global_cmk, plain_cmk, owned)), env)
    resources = main["Resources"]
    props = resources["CampaignsTable"]["Properties"]
    assert props["SSESpecification"] == {"SSEEnabled": True, "SSEType": "KMS"}
    assert {r["Region"]: r["SSESpecification"] for r in props["Replicas"]} == {
        "af-south-1": {"KMSMasterKeyId": cmk.kms_key_arn},
        "eu-west-1": {"KMSMasterKeyId": cmk.replica_kms_key_arns["eu-west-1"]}}
    assert props["TimeToLiveSpecification"] == {"AttributeName": "exp", "Enabled": True}
    assert props["WriteOnDemandThroughputSettings"] == {"MaxWriteRequestUnits": 50}
    assert all(r["ReadOnDemandThroughputSettings"] == {"MaxReadRequestUnits": 100}
               for r in props["Replicas"])
    assert resources["CampaignsTable"]["DeletionPolicy"] == "Retain"
    tenants_props = resources["TenantsTable"]["Properties"]
    assert tenants_props["SSESpecification"] == {
        "SSEEnabled": True, "SSEType": "KMS", "KMSMasterKeyId": cmk.kms_key_arn}
    owned_props = resources["OwnedTable"]["Properties"]
    assert owned_props["SSESpecification"] == {"SSEEnabled": False}
    assert owned_props["OnDemandThroughput"] == {"MaxWriteRequestUnits": 7}


# --------------------------------------------------------------------------- backup


@pytest.mark.parametrize(("source", "env_name"), EXAMPLES, ids=IDS)
def test_backup_resources_and_copy_actions_only_when_replicated(source: str,
                                                                env_name: str) -> None:
    env, tables = example(source, env_name)
    main = main_template(render(env, tables), env)
    for table in tables:
        t = pascal(table.name)
        resources = main["Resources"]
        vault = resources[f"{t}BackupVault"]["Properties"]
        assert vault["BackupVaultName"] == f"{table.table_name}-backup-vault"
        plan = resources[f"{t}BackupPlan"]["Properties"]["BackupPlan"]
        (rule,) = plan["BackupPlanRule"]
        assert rule["TargetBackupVault"] == {"Ref": f"{t}BackupVault"}
        assert table.backup is not None
        assert rule["ScheduleExpression"] == table.backup.schedule
        assert rule["Lifecycle"] == {"DeleteAfterDays": table.backup.retention_days}
        selection = resources[f"{t}BackupSelection"]["Properties"]
        assert selection["BackupPlanId"] == {"Ref": f"{t}BackupPlan"}
        assert selection["BackupSelection"]["Resources"] == [{"Fn::GetAtt": [f"{t}Table",
                                                                             "Arn"]}]
        assert selection["BackupSelection"]["IamRoleArn"] == {"Fn::GetAtt": [f"{t}BackupRole",
                                                                             "Arn"]}
        role = resources[f"{t}BackupRole"]["Properties"]
        assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
            "Service": "backup.amazonaws.com"}
        assert [p["Fn::Sub"] for p in role["ManagedPolicyArns"]] == [
            "arn:${AWS::Partition}:iam::aws:policy/service-role/"
            "AWSBackupServiceRolePolicyForBackup",
            "arn:${AWS::Partition}:iam::aws:policy/service-role/"
            "AWSBackupServiceRolePolicyForRestores"]
        if not table.replicas:
            assert "CopyActions" not in rule
            continue
        parameters = main["Parameters"]
        assert [c["DestinationBackupVaultArn"] for c in rule["CopyActions"]] == [{
            "Fn::If": [f"{t}DrBackupVaultArn{pascal(r)}Derived",
                       {"Fn::Sub": f"arn:${{AWS::Partition}}:backup:{r}:${{AWS::AccountId}}:"
                                   f"backup-vault:{table.table_name}-backup-vault-dr"},
                       {"Ref": f"{t}DrBackupVaultArn{pascal(r)}"}]} for r in table.replicas]
        for region in table.replicas:
            parameter = parameters[f"{t}DrBackupVaultArn{pascal(region)}"]
            assert parameter["Default"] == ""
            assert re.match(parameter["AllowedPattern"],
                            f"arn:aws:backup:{region}:111122223333:backup-vault:x-dr")
            assert main["Conditions"][f"{t}DrBackupVaultArn{pascal(region)}Derived"] == {
                "Fn::Equals": [{"Ref": f"{t}DrBackupVaultArn{pascal(region)}"}, ""]}


def test_backup_off_means_no_backup_resources_outputs_or_dr_stack() -> None:
    env, campaigns = prod_table()
    table = variant(campaigns, backup={"enabled": False, "schedule": "cron(0 2 * * ? *)",
                                       "retention_days": 7})
    files = render(env, (table,))
    assert sorted(files) == [README_FILE, "tablesmith-prod.template.json"]
    main = main_template(files, env)
    assert [r["Type"] for r in main["Resources"].values()
            if r["Type"].startswith(("AWS::Backup", "AWS::IAM"))] == []
    assert "Parameters" not in main
    assert not any("Backup" in name for name in main["Outputs"])


def test_copy_to_replica_regions_off_keeps_the_plan_without_copies() -> None:
    env, campaigns = prod_table()
    assert campaigns.backup is not None
    table = variant(campaigns, backup={**campaigns.backup.model_dump(),
                                       "copy_to_replica_regions": False})
    files = render(env, (table,))
    assert sorted(files) == [README_FILE, "tablesmith-prod.template.json"]
    (rule,) = main_template(files, env)["Resources"]["CampaignsBackupPlan"]["Properties"][
        "BackupPlan"]["BackupPlanRule"]
    assert "CopyActions" not in rule


# --------------------------------------------------------------------------- alarms


@pytest.mark.parametrize(("source", "env_name"), EXAMPLES, ids=IDS)
def test_every_desired_alarm_is_a_cloudwatch_alarm(source: str, env_name: str) -> None:
    env, tables = example(source, env_name)
    main = main_template(render(env, tables), env)
    alarms = {r["Properties"]["AlarmName"]: r["Properties"]
              for r in of_type(main, "AWS::CloudWatch::Alarm").values()}
    wanted = {a.name: a for t in tables for a in desired_alarms(t)}
    assert sorted(alarms) == sorted(wanted)
    for name, props in alarms.items():
        alarm = wanted[name]
        assert props["Threshold"] == alarm.threshold
        assert props["EvaluationPeriods"] == alarm.evaluation_periods
        assert props["TreatMissingData"] == "notBreaching"
        if alarm.metrics:
            assert "MetricName" not in props
            assert [q["Id"] for q in props["Metrics"]] == [q.id for q in alarm.metrics]
            assert sum(q["ReturnData"] for q in props["Metrics"]) == 1
        else:
            assert props["MetricName"] == alarm.metric_name
            assert props["Dimensions"] == [{"Name": k, "Value": v}
                                           for k, v in alarm.dimensions.items()]


def test_the_shared_user_errors_alarm_is_made_once() -> None:
    env, tables = example("bbws", "dev")
    on = [variant(t, alarms={**t.alarms.model_dump(),
                             "user_errors": {**t.alarms.user_errors.model_dump(),
                                             "enabled": True},
                             "alarm_actions": ["arn:aws:sns:af-south-1:111122223333:ops"]})
          for t in tables if t.alarms is not None]
    files = render_cloudformation(env, tuple(on))
    assert lint_problems(files, env) == []
    main = json.loads(files["tablesmith-dev.template.json"])
    shared = [lid for lid, r in of_type(main, "AWS::CloudWatch::Alarm").items()
              if r["Properties"]["AlarmName"] == "dynamodb-user-errors-dev-af-south-1"]
    assert shared == ["DynamodbUserErrorsDevAfSouth1Alarm"]
    props = main["Resources"][shared[0]]["Properties"]
    assert props["Dimensions"] == []
    assert props["AlarmActions"] == ["arn:aws:sns:af-south-1:111122223333:ops"]
    for table in on:
        assert main["Outputs"][f"{pascal(table.name)}UserErrorsAlarmArn"]["Value"] == {
            "Fn::GetAtt": [shared[0], "Arn"]}


# --------------------------------------------------------------------------- outputs


@pytest.mark.parametrize(("source", "env_name"), EXAMPLES, ids=IDS)
def test_outputs_carry_the_module_names(source: str, env_name: str) -> None:
    env, tables = example(source, env_name)
    main = main_template(render(env, tables), env)
    mapping = main["Metadata"]["tablesmith"]["outputNames"]
    # the module's user_errors alarm is off by default (UserErrors has no TableName)
    absent = {"user_errors_alarm_arn"}
    if env_name != "prod":
        absent |= {"replica_table_arn", "replica_region", "replica_backup_vault_arn"}
    extras = {"alarm_arns"} | ({"replica_table_arns", "replica_backup_vault_arns"}
                               if env_name == "prod" else set())
    assert sorted(mapping) == sorted(t.name for t in tables)
    outputs = main["Outputs"]
    for table in tables:
        names = mapping[table.name]
        assert set(names) == (set(MODULE_OUTPUTS) - absent) | extras
        for module_name, cfn_name in names.items():
            assert cfn_name == pascal(table.name) + pascal(module_name)
            assert outputs[cfn_name]["Export"] == {
                "Name": {"Fn::Sub": f"${{AWS::StackName}}-{cfn_name}"}}
            assert f"module output {module_name}" in outputs[cfn_name]["Description"]
    assert sorted(outputs) == sorted(n for names in mapping.values() for n in names.values())
    t = pascal(tables[0].name)
    assert outputs[f"{t}TableArn"]["Value"] == {"Fn::GetAtt": [f"{t}Table", "Arn"]}
    assert outputs[f"{t}TableName"]["Value"] == {"Ref": f"{t}Table"}
    assert outputs[f"{t}SystemErrorsAlarmArn"]["Value"] == {
        "Fn::GetAtt": [f"{t}SystemErrorsAlarm", "Arn"]}


def test_json_outputs_substitute_to_the_module_shapes() -> None:
    env, campaigns = prod_table()
    outputs = main_template(render(env, (campaigns,)), env)["Outputs"]
    # resolve Fn::Sub by hand, as CloudFormation would
    values = {"CampaignsTable.Arn": "arn:aws:dynamodb:af-south-1:1:table/campaigns",
              "CampaignsTable.StreamArn": "arn:aws:dynamodb:af-south-1:1:table/campaigns/"
                                          "stream/2025-01-01T00:00:00.000",
              "AWS::Partition": "aws", "AWS::AccountId": "1"}

    def resolve(value: Any) -> Any:
        if isinstance(value, str):
            return value
        text = value["Fn::Sub"]
        return re.sub(r"\$\{([^}!]+)\}", lambda m: values[m.group(1)], text)

    assert json.loads(resolve(outputs["CampaignsGsiArns"]["Value"])) == {
        g.name: f"{values['CampaignsTable.Arn']}/index/{g.name}"
        for g in campaigns.global_secondary_indexes}
    assert json.loads(resolve(outputs["CampaignsGlobalSecondaryIndexes"]["Value"])) == [
        {"name": "CampaignActiveIndex", "hash_key": "active", "range_key": "fromDate"},
        {"name": "CampaignProductIndex", "hash_key": "productId", "range_key": "fromDate"}]
    info = json.loads(resolve(outputs["CampaignsTableInfo"]["Value"]))
    assert info == {"name": "campaigns", "arn": values["CampaignsTable.Arn"],
                    "partition_key": "PK", "sort_key": "SK", "billing_mode": "PAY_PER_REQUEST",
                    "stream_enabled": True, "stream_arn": values["CampaignsTable.StreamArn"],
                    "pitr_enabled": True, "backup_enabled": True, "replication_enabled": True}
    assert json.loads(resolve(outputs["CampaignsReplicaTableArns"]["Value"])) == {
        "eu-west-1": "arn:aws:dynamodb:eu-west-1:1:table/campaigns"}
    assert outputs["CampaignsReplicaRegion"]["Value"] == "eu-west-1"
    stream_label = outputs["CampaignsTableStreamLabel"]["Value"]["Fn::Select"]
    assert values["CampaignsTable.StreamArn"].split("/")[stream_label[0]] == (
        "2025-01-01T00:00:00.000")


def test_literal_dollar_braces_are_escaped_in_json_outputs() -> None:
    env, tenants = prod_table("tenants")
    table = variant(tenants, partition_key=Key(name="${x}", type="S"),
                    attribute_definitions=[Key(name="${x}", type="S"), Key(name="SK", type="S")])
    outputs = main_template(render(env, (table,)), env)["Outputs"]
    assert '\\"partition_key\\":\\"${!x}\\"' in json.dumps(outputs["TenantsTableInfo"]["Value"])


# --------------------------------------------------------------------------- docs, errors


def test_main_stack_and_readme_document_the_order_and_the_cross_region_reference() -> None:
    env, tables = example("bbws", "prod")
    files = render(env, tables)
    main = main_template(files, env)
    assert "Deploy the DR stacks first" in main["Description"]
    assert "Fn::ImportValue does not cross regions" in main["Description"]
    assert len(main["Description"]) <= 1024
    meta = main["Metadata"]["tablesmith"]
    assert [step["stack"] for step in meta["deploymentOrder"]] == [
        "tablesmith-prod-dr-eu-west-1", "tablesmith-prod"]
    assert {ref["parameter"] for ref in meta["crossRegionReferences"]} == set(main["Parameters"])
    readme = files[README_FILE]
    dr_deploy = readme.index("--stack-name tablesmith-prod-dr-eu-west-1")
    main_deploy = readme.index("--stack-name tablesmith-prod ")
    assert dr_deploy < main_deploy
    assert "CAPABILITY_NAMED_IAM" in readme
    assert "`Fn::ImportValue` only reads exports of the stack's own region" in readme
    for parameter in main["Parameters"]:
        assert f"`{parameter}`" in readme
    assert "arn:${AWS::Partition}:backup:eu-west-1:${AWS::AccountId}:backup-vault:" \
           "campaigns-backup-vault-dr" in readme
    assert "| campaigns | `table_arn` | `CampaignsTableArn` |" in readme


def test_no_tables_is_a_usage_error() -> None:
    env, _ = example("bbws", "dev")
    with pytest.raises(UsageError, match="no tables"):
        render_cloudformation(env, ())


def test_more_outputs_than_cloudformation_allows_is_a_usage_error() -> None:
    env, tables = example("bbws", "dev")
    many = tuple(variant(tables[0], name=f"t{i:02d}", table_name=f"t{i:02d}")
                 for i in range(15))  # 15 outputs each: over 200
    with pytest.raises(UsageError, match="200 per template"):
        render_cloudformation(env, many)


def test_colliding_logical_ids_are_a_usage_error() -> None:
    env, tables = example("bbws", "dev")
    twin = variant(tables[0], name=f"{tables[0].name}_", table_name=f"{tables[0].name}2")
    with pytest.raises(UsageError, match="logical ID"):
        build_stacks(env, (tables[0], twin))


# --------------------------------------------------------------------------- families


class _Fake(FamilyBase):
    """A family the registry does not have: a resource in the main stack, one in a stack of
    another region, and an output of neither the module nor tablesmith."""

    name: ClassVar[str] = "fake"

    def export_cloudformation(self, table: Table, at: CloudFormationAt,
                              out: CloudFormationOut) -> CloudFormationOutputs:
        out.add_resource(f"{at.pascal}Fake", at.owner, {
            "Type": "AWS::SNS::Topic", "Properties": {"TopicName": table.table_name}})
        other = out.dr_stack("eu-central-1")
        other.add_resource(f"{at.pascal}Fake", at.owner, {
            "Type": "AWS::SNS::Topic", "Properties": {"TopicName": table.table_name}})
        return CloudFormationOutputs(
            [("fake_topic_arn", "ARN of the fake topic", out.ref(f"{at.pascal}Fake"))],
            {"fake_enabled": True})


def test_the_exporter_asks_every_registered_family(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cloudformation, "FAMILIES", (*FAMILIES, _Fake()))
    env, campaigns = prod_table()
    files = render(env, (campaigns,))
    main = main_template(files, env)
    # after the families before it (the registry's order), in the main stack
    assert list(main["Resources"]).index("CampaignsFake") == len(main["Resources"]) - 1
    assert "CampaignsFake" in templates(files)[
        "tablesmith-prod-dr-eu-central-1.template.json"]["Resources"]
    # a family's outputs take the module's order, then tablesmith's; others come last
    names = list(main["Metadata"]["tablesmith"]["outputNames"]["campaigns"])
    order = [*MODULE_OUTPUTS, *EXTRA_OUTPUTS]
    known = sorted((n for n in names if n in order), key=order.index)
    assert names == [*known, "fake_topic_arn"]
    assert list(main["Outputs"]) == [pascal("campaigns") + pascal(n) for n in names]
    # its table_info entries join the table's before replication_enabled (tablesmith output)
    info = main["Outputs"]["CampaignsTableInfo"]["Value"]["Fn::Sub"]
    keys = re.findall(r'"([a-z_]+)":', info)
    assert keys[-4:] == ["pitr_enabled", "backup_enabled", "fake_enabled",
                         "replication_enabled"]


def test_the_exporter_names_no_family() -> None:
    source = Path(cloudformation.__file__).read_text()
    imported = {node.module for node in ast.walk(ast.parse(source))
                if isinstance(node, ast.ImportFrom) and node.module}
    assert {m for m in imported if m.startswith("tablesmith.around")} == {
        "tablesmith.around.contract", "tablesmith.around.registry"}
    assert "desired_backup" not in source and "desired_alarms" not in source
