"""Multi-attribute GSI keys (up to 4 partition and 4 sort attributes): the spec, the request,
the live read, the diff and the exporters, on literal values (no AWS)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest
import yaml

import tablesmith
from tablesmith import live as live_reader
from tablesmith.diff import diff_table
from tablesmith.errors import UsageError
from tablesmith.export import cloudformation, terraform
from tablesmith.render.plan import describe_lines
from tablesmith.shapes import create_table_request
from tablesmith.state import LiveTable

if TYPE_CHECKING:
    from pathlib import Path

    from tablesmith.spec.model import Table

TAGS = {"Project": "corpus", "Owner": "qa", "CostCenter": "cc-1", "ManagedBy": "tablesmith",
        "Component": "dynamodb"}
BY_PLACE = {"name": "ByPlace",
            "hash_key": [{"name": "country", "type": "S"}, {"name": "region", "type": "S"}],
            "range_key": [{"name": "city", "type": "S"}, {"name": "zip", "type": "N"}]}


def load(tmp_path: Path, *indexes: dict[str, Any]) -> tuple[Any, Table]:
    doc = {"version": 1, "defaults": {"tags": TAGS},
           "tables": {"orders": {"partition_key": {"name": "PK", "type": "S"},
                                 "global_secondary_indexes": list(indexes)}}}
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    spec = tablesmith.load(path)
    tables = list(spec.tables("dev"))
    return spec.environment("dev"), tables[0]


def test_a_multi_attribute_key_resolves_in_the_order_written(tmp_path: Path) -> None:
    _, t = load(tmp_path, BY_PLACE)
    g = t.global_secondary_indexes[0]
    assert [k.name for k in g.hash_keys()] == ["country", "region"]
    assert [(k.name, k.type) for k in g.range_keys()] == [("city", "S"), ("zip", "N")]
    assert [a.name for a in t.attribute_definitions] == ["PK", "city", "country", "region", "zip"]


def test_the_gsi_request_lists_hash_elements_then_range_elements(tmp_path: Path) -> None:
    _, t = load(tmp_path, BY_PLACE)
    (gsi,) = create_table_request(t)["GlobalSecondaryIndexes"]
    assert gsi["KeySchema"] == [
        {"AttributeName": "country", "KeyType": "HASH"},
        {"AttributeName": "region", "KeyType": "HASH"},
        {"AttributeName": "city", "KeyType": "RANGE"},
        {"AttributeName": "zip", "KeyType": "RANGE"},
    ]


def test_a_single_attribute_written_as_a_list_is_the_same_index(tmp_path: Path) -> None:
    _, listed = load(tmp_path, {"name": "ByX", "hash_key": [{"name": "x", "type": "S"}]})
    _, alone = load(tmp_path, {"name": "ByX", "hash_key": {"name": "x", "type": "S"}})
    assert listed.global_secondary_indexes == alone.global_secondary_indexes


def _describe(t: Table) -> dict[str, Any]:
    request = create_table_request(t)
    return {**request, "Replicas": [],
            "BillingModeSummary": {"BillingMode": "PAY_PER_REQUEST"},
            "GlobalSecondaryIndexes": [{**g, "IndexStatus": "ACTIVE"}
                                       for g in request["GlobalSecondaryIndexes"]]}


def test_the_live_read_of_a_multi_attribute_key_equals_the_spec(tmp_path: Path) -> None:
    _, t = load(tmp_path, BY_PLACE)
    no_clients: Any = None
    read = live_reader._table(no_clients, _describe(t), t.region, t, t.point_in_time_recovery,
                              {"TimeToLiveStatus": "DISABLED"}, dict(t.tags))
    assert read.global_secondary_indexes == t.global_secondary_indexes
    assert read.attribute_definitions == t.attribute_definitions


def test_changing_one_attribute_of_a_key_recreates_the_index(tmp_path: Path) -> None:
    _, t = load(tmp_path, BY_PLACE)
    other = {**BY_PLACE, "range_key": [{"name": "city", "type": "S"}]}
    _, changed = load(tmp_path, other)
    live = LiveTable(table=t.model_copy(update={"backup": None, "alarms": None}), arn="a")
    ops = diff_table(live, changed.model_copy(update={"backup": None, "alarms": None}))
    assert [op.op for op in ops if op.op.endswith("Gsi")] == ["DeleteGsi", "CreateGsi"]
    create = next(op for op in ops if op.op == "CreateGsi")
    assert describe_lines(create)[0] == "CreateGsi ByPlace (country+region, city; ALL)"


def test_terraform_export_refuses_a_multi_attribute_key(tmp_path: Path) -> None:
    env, t = load(tmp_path, BY_PLACE)
    with pytest.raises(UsageError, match="index ByPlace has a multi-attribute key"):
        terraform.render_terraform(env, [t])
    env, single = load(tmp_path, {"name": "ByX", "hash_key": {"name": "x", "type": "S"}})
    terraform.render_terraform(env, [single])  # one attribute per key: exported as before


def test_cloudformation_export_carries_the_whole_key_schema(tmp_path: Path) -> None:
    from cfnlint.api import lint

    env, t = load(tmp_path, BY_PLACE)
    files = cloudformation.render_cloudformation(env, [t])
    (name,) = [n for n in files if n.endswith(".template.json")]
    template = json.loads(files[name])
    table = next(r for r in template["Resources"].values() if r["Type"] == "AWS::DynamoDB::Table")
    (gsi,) = table["Properties"]["GlobalSecondaryIndexes"]
    assert [k["KeyType"] for k in gsi["KeySchema"]] == ["HASH", "HASH", "RANGE", "RANGE"]
    problems = [f"{m.rule.id} {m.message}" for m in lint(files[name], regions=[env.region])
                if m.rule.id[0] in "EW"]
    assert problems == []
