"""Send nothing AWS would refuse: the requests built for every valid spec, against botocore's
service model.

For every table of every environment of the valid corpus and the examples, the requests
tablesmith builds without I/O (CreateTable, UpdateTimeToLive, PutMetricAlarm for each derived
alarm) are checked twice:

* by botocore's own ``ParamValidator`` (what a client does before sending, when parameter
  validation is on: required members, types, ``min``);
* by walking the shape model for what botocore does not check itself: ``max`` lengths of
  strings and lists, ``max`` values of numbers, ``enum`` values and ``pattern``.

And the clients tablesmith makes keep botocore's parameter validation on.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import botocore.session
import pytest
from botocore.validate import ParamValidator

import tablesmith
from tablesmith.around.alarms import desired_alarms, put_request
from tablesmith.aws import Clients, Target
from tablesmith.shapes import create_table_request

if TYPE_CHECKING:
    from botocore.model import Shape

    from tablesmith.spec.model import Table

ROOT = Path(__file__).resolve().parents[2]
SPECS = [
    *sorted((ROOT / "tests" / "corpus" / "valid").glob("*.yaml")),
    *sorted((ROOT / "tests" / "corpus" / "valid").glob("*.tf")),
    ROOT / "examples",
]
_SESSION = botocore.session.get_session()


def _input_shape(service: str, operation: str) -> Shape:
    shape = _SESSION.get_service_model(service).operation_model(operation).input_shape
    assert shape is not None
    return shape


def model_problems(value: Any, shape: Shape, path: str = "") -> list[str]:
    """What ``value`` breaks of ``shape``'s constraints that ParamValidator does not check."""
    meta = shape.metadata
    kind = shape.type_name
    problems: list[str] = []
    if kind == "structure":
        for name, member in value.items():
            members: dict[str, Shape] = shape.members  # type: ignore[attr-defined]
            problems += model_problems(member, members[name], f"{path}.{name}".lstrip("."))
    elif kind == "list":
        if "max" in meta and len(value) > meta["max"]:
            problems.append(f"{path}: {len(value)} items, at most {meta['max']}")
        for i, item in enumerate(value):
            problems += model_problems(item, shape.member, f"{path}[{i}]")  # type: ignore[attr-defined]
    elif kind == "map":
        if "max" in meta and len(value) > meta["max"]:
            problems.append(f"{path}: {len(value)} entries, at most {meta['max']}")
        for key, item in value.items():
            problems += model_problems(key, shape.key, f"{path} key")  # type: ignore[attr-defined]
            problems += model_problems(item, shape.value, f"{path}.{key}")  # type: ignore[attr-defined]
    elif kind == "string":
        if "max" in meta and len(value) > meta["max"]:
            problems.append(f"{path}: {len(value)} characters, at most {meta['max']}")
        enum = getattr(shape, "enum", None)  # StringShape's
        if enum and value not in enum:
            problems.append(f"{path}: {value!r} is not one of {enum}")
        compiled = _compiled(meta.get("pattern", ""))
        if compiled is not None and not compiled.fullmatch(value):
            problems.append(f"{path}: {value!r} does not match {compiled.pattern}")
    elif kind in ("integer", "long", "double", "float") and value > meta.get("max", value):
        problems.append(f"{path}: {value} is above {meta['max']}")
    return problems


def _compiled(pattern: str) -> re.Pattern[str] | None:
    """The model's (Java) pattern in Python; None for none, or where Python cannot read it."""
    if not pattern:
        return None
    try:
        return re.compile(pattern, re.DOTALL)
    except re.error:
        return None


def check(service: str, operation: str, request: dict[str, Any]) -> list[str]:
    """Every problem botocore's validator and the shape walk find in ``request``."""
    shape = _input_shape(service, operation)
    report = ParamValidator().validate(request, shape)
    problems = [report.generate_report()] if report.has_errors() else []
    return problems + model_problems(request, shape)


def _tables() -> list[Any]:
    params = []
    for path in SPECS:
        spec = tablesmith.load(path)
        for env in sorted(spec.environments):
            params += [
                pytest.param(table, id=f"{path.name}-{env}-{table.name}")
                for table in spec.tables(env)
            ]
    return params


@pytest.mark.parametrize("table", _tables())
def test_requests_for_valid_specs_meet_the_service_model(table: Table) -> None:
    problems = check("dynamodb", "CreateTable", create_table_request(table))
    if table.ttl.enabled:
        problems += check(
            "dynamodb",
            "UpdateTimeToLive",
            {
                "TableName": table.table_name,
                "TimeToLiveSpecification": {
                    "Enabled": True,
                    "AttributeName": table.ttl.attribute_name,
                },
            },
        )
    for alarm in desired_alarms(table):
        problems += check("cloudwatch", "PutMetricAlarm", put_request(alarm, with_tags=True))
    assert problems == []


def test_the_shape_walk_finds_what_botocore_lets_through() -> None:
    request = {
        "TableName": "orders",
        "BillingMode": "PAY_PER_REQUEST",
        "KeySchema": [{"AttributeName": "PK", "KeyType": "HASH"}],
        "AttributeDefinitions": [
            {"AttributeName": "PK", "AttributeType": "S"},
            {"AttributeName": "a", "AttributeType": "S"},
        ],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": "By A",
                "KeySchema": [{"AttributeName": "a", "KeyType": "HASH"}],
                "Projection": {
                    "ProjectionType": "INCLUDE",
                    "NonKeyAttributes": [f"n{i}" for i in range(21)],
                },
            }
        ],
        "TableClass": "BOGUS",
        "Tags": [{"Key": "k", "Value": "v" * 257}],
    }
    shape = _input_shape("dynamodb", "CreateTable")
    assert not ParamValidator().validate(request, shape).has_errors()  # botocore: fine
    assert model_problems(request, shape) == [
        "GlobalSecondaryIndexes[0].IndexName: 'By A' does not match [a-zA-Z0-9_.-]+",
        "GlobalSecondaryIndexes[0].Projection.NonKeyAttributes: 21 items, at most 20",
        "TableClass: 'BOGUS' is not one of ['STANDARD', 'STANDARD_INFREQUENT_ACCESS']",
        "Tags[0].Value: 257 characters, at most 256",
    ]


def test_clients_keep_botocore_parameter_validation_on() -> None:
    clients = Clients(Target(region="af-south-1", endpoint_url="http://127.0.0.1:9"))
    for service in ("dynamodb", "cloudwatch", "backup", "iam"):
        assert clients.client(service).meta.config.parameter_validation is True
