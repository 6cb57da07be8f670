"""Contributor Insights in both exports: the same targets apply enables, validated by
``terraform validate`` (when terraform and the provider mirror are here) and cfn-lint."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest
from cfnlint.api import lint

import tablesmith
from tablesmith.around.contributor_insights import desired_insights
from tablesmith.errors import UsageError
from tablesmith.export.cloudformation import render_cloudformation
from tablesmith.export.terraform import render_terraform
from terraform_support import Terraform, find_plugin_dir, find_terraform, format_diagnostics

if TYPE_CHECKING:
    from pathlib import Path

SPEC = """\
version: 1
defaults:
  tags: {Project: corpus, Owner: qa, CostCenter: cc-1, ManagedBy: tablesmith, Component: dynamodb}
environments:
  dev: {}
  prod: {}
tables:
  orders:
    partition_key: {name: PK, type: S}
    environments:
      prod: {replicas: [eu-west-1]}
    contributor_insights: {enabled: true, mode: %(mode)s}
    global_secondary_indexes:
      - name: ByStatus
        hash_key: {name: status, type: S}
        contributor_insights: {enabled: true}
      - name: ByOwner
        hash_key: {name: owner, type: S}
        contributor_insights: {enabled: false}
      - name: ByDay
        hash_key: {name: day, type: S}
"""


def load(tmp_path: Path, mode: str = "ACCESSED_AND_THROTTLED_KEYS") -> tablesmith.Spec:
    path = tmp_path / "spec.yaml"
    path.write_text(SPEC % {"mode": mode}, encoding="utf-8")
    return tablesmith.load(path)


def terraform_resources(files: dict[str, str]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for text in files.values():
        for rtype, bodies in json.loads(text).get("resource", {}).items():
            for name, body in bodies.items():
                found[f"{rtype}.{name}"] = body
    return found


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_terraform_has_one_resource_per_target_that_is_on(tmp_path: Path, env: str) -> None:
    spec = load(tmp_path)
    (table,) = spec.tables(env)
    files = render_terraform(spec.environment(env), spec.tables(env))
    found = {a: b for a, b in terraform_resources(files).items()
             if a.startswith("aws_dynamodb_contributor_insights.")}
    on = [(r, i) for r, i, s in desired_insights(table) if s.enabled]
    assert len(found) == len(on) == (2 if env == "dev" else 4)
    primary = found["aws_dynamodb_contributor_insights.orders"]
    assert primary == {"table_name": "${aws_dynamodb_table.orders.name}"}
    assert found["aws_dynamodb_contributor_insights.orders_ByStatus"]["index_name"] == "ByStatus"
    if env == "prod":
        replica = found["aws_dynamodb_contributor_insights.orders_ByStatus_eu_west_1"]
        assert replica["provider"].startswith("aws.")
        assert replica["depends_on"] == ["aws_dynamodb_table_replica.orders_eu_west_1"]
        assert "aws_dynamodb_table_replica.orders_eu_west_1" in terraform_resources(files)


def test_terraform_refuses_a_mode_the_provider_cannot_set(tmp_path: Path) -> None:
    spec = load(tmp_path, "THROTTLED_KEYS")
    with pytest.raises(UsageError, match="THROTTLED_KEYS"):
        render_terraform(spec.environment("dev"), spec.tables("dev"))


def test_terraform_validates(tmp_path: Path) -> None:
    executable = find_terraform()
    plugin_dir, why = find_plugin_dir()
    if executable is None or plugin_dir is None:
        pytest.skip(why or "terraform is not on PATH")
    spec = load(tmp_path)
    tf = Terraform(executable, plugin_dir, tmp_path / "work")
    tf.write(render_terraform(spec.environment("prod"), spec.tables("prod")))
    tf.init()
    report = tf.validate()
    message = format_diagnostics(report)
    assert report["valid"] is True and report["warning_count"] == 0, message


def main_resource(files: dict[str, str], env: str) -> dict[str, Any]:
    template = json.loads(files[f"tablesmith-{env}.template.json"])
    resource: dict[str, Any] = template["Resources"]["OrdersTable"]
    return resource


def test_cloudformation_table_and_its_indexes(tmp_path: Path) -> None:
    spec = load(tmp_path, "THROTTLED_KEYS")
    files = render_cloudformation(spec.environment("dev"), spec.tables("dev"))
    properties = main_resource(files, "dev")["Properties"]
    assert properties["ContributorInsightsSpecification"] == {
        "Enabled": True, "Mode": "THROTTLED_KEYS"}
    by_name = {g["IndexName"]: g.get("ContributorInsightsSpecification")
               for g in properties["GlobalSecondaryIndexes"]}
    assert by_name == {"ByStatus": {"Enabled": True, "Mode": "ACCESSED_AND_THROTTLED_KEYS"},
                       "ByOwner": {"Enabled": False}, "ByDay": None}  # ByDay: not managed
    assert lint_problems(files) == []


def test_cloudformation_global_table_sets_it_per_replica(tmp_path: Path) -> None:
    spec = load(tmp_path, "THROTTLED_KEYS")
    files = render_cloudformation(spec.environment("prod"), spec.tables("prod"))
    resource = main_resource(files, "prod")
    assert resource["Type"] == "AWS::DynamoDB::GlobalTable"
    for replica in resource["Properties"]["Replicas"]:
        assert replica["ContributorInsightsSpecification"] == {
            "Enabled": True, "Mode": "THROTTLED_KEYS"}, replica["Region"]
        assert replica["GlobalSecondaryIndexes"] == [
            {"IndexName": "ByOwner", "ContributorInsightsSpecification": {"Enabled": False}},
            {"IndexName": "ByStatus", "ContributorInsightsSpecification": {
                "Enabled": True, "Mode": "ACCESSED_AND_THROTTLED_KEYS"}}]
    assert lint_problems(files) == []


def test_no_field_no_specification(tmp_path: Path) -> None:
    path = tmp_path / "plain.yaml"
    path.write_text(SPEC.split("    contributor_insights")[0], encoding="utf-8")
    spec = tablesmith.load(path)
    files = render_cloudformation(spec.environment("dev"), spec.tables("dev"))
    assert "ContributorInsights" not in files["tablesmith-dev.template.json"]
    tf = render_terraform(spec.environment("dev"), spec.tables("dev"))
    assert not [a for a in terraform_resources(tf) if "contributor_insights" in a]


def lint_problems(files: dict[str, str]) -> list[str]:
    problems = []
    for name, text in files.items():
        if name.endswith(".template.json"):
            region = json.loads(text)["Metadata"]["tablesmith"]["region"]
            problems += [f"{name}:{m.linenumber}: {m.rule.id} {m.message}"
                         for m in lint(text, regions=[region]) if m.rule.id[0] in "EW"]
    return problems
