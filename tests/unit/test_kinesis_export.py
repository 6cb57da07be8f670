"""Kinesis streaming destinations in the exports: the Terraform resources and CloudFormation's
KinesisStreamSpecification carry what apply sends (``around.kinesis.enable_request``), the
templates are cfn-lint clean, and the Terraform files pass ``terraform validate``."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest
from cfnlint.api import lint

import tablesmith
from tablesmith.around.kinesis import enable_request
from tablesmith.errors import UsageError
from tablesmith.export.cloudformation import render_cloudformation
from tablesmith.export.terraform import render_terraform
from terraform_support import Terraform, find_plugin_dir, find_terraform, format_diagnostics

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from tablesmith.spec.model import Table

CHANGES = "arn:aws:kinesis:af-south-1:123456789012:stream/orders-changes"
AUDIT = "arn:aws:kinesis:af-south-1:123456789012:stream/orders-audit"
SPEC = f"""\
version: 1
defaults:
  tags: {{Project: corpus, Owner: qa, CostCenter: cc-1, ManagedBy: tablesmith, Component: dynamodb}}
  alarms: {{enabled: false}}
tables:
  orders:
    partition_key: {{name: PK, type: S}}
    kinesis_streaming_destinations:
      - stream_arn: {CHANGES}
        timestamp_precision: MICROSECOND
  audited:
    partition_key: {{name: PK, type: S}}
    kinesis_streaming_destinations:
      - stream_arn: {CHANGES}
      - stream_arn: {AUDIT}
        timestamp_precision: MICROSECOND
  global:
    partition_key: {{name: PK, type: S}}
    replicas: [eu-west-1]
    stream: {{enabled: true, view_type: NEW_AND_OLD_IMAGES}}
    kinesis_streaming_destinations:
      - stream_arn: {AUDIT}
  quiet:
    partition_key: {{name: PK, type: S}}
    kinesis_streaming_destinations: []
"""


@pytest.fixture
def spec(tmp_path: Path) -> tablesmith.Spec:
    path = tmp_path / "spec.yaml"
    path.write_text(SPEC, encoding="utf-8")
    return tablesmith.load(path)


def tables(spec: tablesmith.Spec, *names: str) -> list[Table]:
    env = next(iter(spec.environments))
    return [t for t in spec.tables(env) if t.name in names]


def environment(spec: tablesmith.Spec) -> Any:
    return spec.environment(next(iter(spec.environments)))


def destinations_of(files: dict[str, str]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for name, text in files.items():
        if name.endswith(".tf.json"):
            resources = json.loads(text).get("resource", {})
            out.update(resources.get("aws_dynamodb_kinesis_streaming_destination", {}))
    return out


def test_terraform_has_one_resource_per_wanted_destination(spec: tablesmith.Spec) -> None:
    chosen = tables(spec, "orders", "audited", "quiet")
    files = render_terraform(environment(spec), chosen)
    found = destinations_of(files)
    assert sorted(found) == ["audited_orders_audit", "audited_orders_changes",
                             "orders_orders_changes"]
    for table in chosen:
        for destination in table.kinesis_streaming_destinations or ():
            request = enable_request(table.table_name, destination)
            body = found[f"{table.name}_{destination.stream_arn.rsplit('/', 1)[-1]}"
                         .replace("-", "_")]
            assert body == {
                "table_name": f"${{aws_dynamodb_table.{table.name}.name}}",
                "stream_arn": request["StreamArn"],
                "approximate_creation_date_time_precision": request[
                    "EnableKinesisStreamingConfiguration"]["ApproximateCreationDateTimePrecision"],
            }


def _template(files: dict[str, str]) -> tuple[str, dict[str, Any]]:
    name = next(n for n in files if n.endswith(".template.json") and "-dr-" not in n)
    return files[name], json.loads(files[name])


def test_cloudformation_table_and_global_table_carry_the_specification(
        spec: tablesmith.Spec) -> None:
    files = render_cloudformation(environment(spec), tables(spec, "orders", "global", "quiet"))
    text, template = _template(files)
    resources = template["Resources"]
    assert resources["OrdersTable"]["Properties"]["KinesisStreamSpecification"] == {
        "StreamArn": CHANGES, "ApproximateCreationDateTimePrecision": "MICROSECOND"}
    assert "KinesisStreamSpecification" not in resources["QuietTable"]["Properties"]
    replicas = {r["Region"]: r for r in resources["GlobalTable"]["Properties"]["Replicas"]}
    assert replicas["af-south-1"]["KinesisStreamSpecification"] == {
        "StreamArn": AUDIT, "ApproximateCreationDateTimePrecision": "MILLISECOND"}
    assert "KinesisStreamSpecification" not in replicas["eu-west-1"]
    region = template["Metadata"]["tablesmith"]["region"]
    problems = [f"{m.rule.id} {m.message}" for m in lint(text, regions=[region])
                if m.rule.id[0] in "EW"]
    assert problems == []


def test_cloudformation_refuses_more_destinations_than_it_holds(spec: tablesmith.Spec) -> None:
    with pytest.raises(UsageError, match="KinesisStreamSpecification holds one"):
        render_cloudformation(environment(spec), tables(spec, "audited"))


@pytest.fixture(scope="module")
def terraform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Terraform]:
    executable = find_terraform()
    if executable is None:
        pytest.skip("terraform is not on PATH")
    plugin_dir, why = find_plugin_dir()
    if plugin_dir is None:
        pytest.skip(why)
    yield Terraform(executable, plugin_dir, tmp_path_factory.mktemp("terraform") / "work")


@pytest.mark.terraform
def test_terraform_validates(terraform: Terraform, spec: tablesmith.Spec) -> None:
    env = next(iter(spec.environments))
    terraform.write(render_terraform(spec.environment(env), spec.tables(env)))
    terraform.init()
    report = terraform.validate()
    message = format_diagnostics(report)
    assert report["valid"] is True, message
    assert (report["error_count"], report["warning_count"]) == (0, 0), message
