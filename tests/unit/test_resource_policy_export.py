"""Resource-based policies in the exports: Terraform's aws_dynamodb_resource_policy and
CloudFormation's ResourcePolicy / StreamSpecification.ResourcePolicy carry the document apply
sends (parsed, for CloudFormation), and the templates are cfn-lint clean."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest
from cfnlint.api import lint

import tablesmith
from tablesmith.export.cloudformation import render_cloudformation
from tablesmith.export.terraform import render_terraform

if TYPE_CHECKING:
    from pathlib import Path

POLICY = {"Version": "2012-10-17", "Statement": [{
    "Sid": "ReadFromAnalytics", "Effect": "Allow",
    "Principal": {"AWS": "arn:aws:iam::210987654321:root"},
    "Action": ["dynamodb:GetItem", "dynamodb:Query"],
    "Resource": "*"}]}
STREAM_POLICY = {"Version": "2012-10-17", "Statement": [{
    "Sid": "ReadStream", "Effect": "Allow",
    "Principal": {"AWS": "arn:aws:iam::210987654321:root"},
    "Action": ["dynamodb:GetRecords", "dynamodb:GetShardIterator",
               "dynamodb:DescribeStream"],
    "Resource": "*"}]}
SPEC = f"""\
version: 1
defaults:
  tags: {{Project: corpus, Owner: qa, CostCenter: cc-1, ManagedBy: tablesmith, Component: dynamodb}}
  alarms: {{enabled: false}}
tables:
  orders:
    partition_key: {{name: PK, type: S}}
    stream: {{enabled: true, view_type: NEW_AND_OLD_IMAGES,
              resource_policy: {json.dumps(STREAM_POLICY)}}}
    resource_policy: {json.dumps(POLICY)}
  global:
    partition_key: {{name: PK, type: S}}
    replicas: [eu-west-1]
    stream: {{enabled: true, view_type: NEW_AND_OLD_IMAGES}}
    resource_policy: {json.dumps(POLICY)}
  plain:
    partition_key: {{name: PK, type: S}}
    resource_policy: none
"""


@pytest.fixture
def spec(tmp_path: Path) -> tablesmith.Spec:
    path = tmp_path / "spec.yaml"
    path.write_text(SPEC, encoding="utf-8")
    return tablesmith.load(path)


def _env(spec: tablesmith.Spec) -> tuple[Any, list[Any]]:
    name = next(iter(spec.environments))
    return spec.environment(name), spec.tables(name)


def test_terraform_has_one_resource_per_policy(spec: tablesmith.Spec) -> None:
    env, tables = _env(spec)
    found: dict[str, Any] = {}
    for name, text in render_terraform(env, tables).items():
        if name.endswith(".tf.json"):
            found.update(json.loads(text).get("resource", {}).get(
                "aws_dynamodb_resource_policy", {}))
    assert sorted(found) == ["global_table_policy", "orders_stream_policy",
                             "orders_table_policy"]
    assert json.loads(found["orders_table_policy"]["policy"]) == POLICY
    assert found["orders_stream_policy"]["resource_arn"] == (
        "${aws_dynamodb_table.orders.stream_arn}")


def test_cloudformation_carries_the_documents(spec: tablesmith.Spec) -> None:
    env, tables = _env(spec)
    files = render_cloudformation(env, tables)
    name = next(n for n in files if n.endswith(".template.json") and "-dr-" not in n)
    template = json.loads(files[name])
    resources = template["Resources"]
    orders = resources["OrdersTable"]["Properties"]
    assert orders["ResourcePolicy"] == {"PolicyDocument": POLICY}
    assert orders["StreamSpecification"]["ResourcePolicy"] == {"PolicyDocument": STREAM_POLICY}
    assert "ResourcePolicy" not in resources["PlainTable"]["Properties"]
    replicas = {r["Region"]: r for r in resources["GlobalTable"]["Properties"]["Replicas"]}
    assert replicas[env.region]["ResourcePolicy"] == {"PolicyDocument": POLICY}
    assert "ResourcePolicy" not in replicas["eu-west-1"]
    problems = [f"{m.rule.id} {m.message}" for m in lint(files[name], regions=[env.region])
                if m.rule.id[0] in "EW"]
    assert problems == []
