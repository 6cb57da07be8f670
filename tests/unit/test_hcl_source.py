"""Unit tests for reading the dynamodb_table module's HCL (``spec/hcl_source.py``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tablesmith.errors import Diagnostic
from tablesmith.spec.hcl_source import HclTable, is_module_source, load_hcl
from tablesmith.spec.source import Layer, Origin

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "terraform"

TAGS = {
    "Project": "BBWS WP Containers",
    "Owner": "Tebogo",
    "CostCenter": "AWS",
    "ManagedBy": "Terraform",
    "Component": "dynamodb",
}

TENANTS_DEV: dict[str, Any] = {
    "partition_key": {"name": "PK", "type": "S"},
    "sort_key": {"name": "SK", "type": "S"},
    "attributes": {"PK": "S", "SK": "S", "email": "S", "entityType": "S"},
    "global_secondary_indexes": [],
    "backup": {"enabled": True, "retention_days": 7},
    "deletion_protection": False,
    "tags": {"Environment": "dev", **TAGS},
    "table_tags": {"Name": "tenants", "Type": "DynamoDB"},  # main.tf merges them in
}

PRODUCTS_SIT: dict[str, Any] = {
    "partition_key": {"name": "PK", "type": "S"},
    "sort_key": {"name": "SK", "type": "S"},
    "attributes": {"PK": "S", "SK": "S", "active": "S", "dateCreated": "S"},
    "global_secondary_indexes": [
        {
            "name": "ProductActiveIndex",
            "hash_key": "active",
            "range_key": "dateCreated",
            "projection_type": "ALL",
            "non_key_attributes": [],
        },
        {
            "name": "ActiveIndex",
            "hash_key": "active",
            "range_key": "dateCreated",
            "projection_type": "KEYS_ONLY",
            "non_key_attributes": [],
        },
    ],
    "backup": {"enabled": True, "retention_days": 14, "schedule": "cron(0 2 * * ? *)"},
    "deletion_protection": False,
    "tags": {"Environment": "sit", **TAGS},
    "table_tags": {"Name": "products", "Type": "DynamoDB"},  # main.tf merges them in
}

CAMPAIGNS_PROD: dict[str, Any] = {
    "partition_key": {"name": "PK", "type": "S"},
    "sort_key": {"name": "SK", "type": "S"},
    "attributes": {"PK": "S", "SK": "S", "active": "S", "fromDate": "S", "productId": "S"},
    "global_secondary_indexes": [
        {
            "name": "CampaignActiveIndex",
            "hash_key": "active",
            "range_key": "fromDate",
            "projection_type": "ALL",
            "non_key_attributes": [],
        },
        {
            "name": "CampaignProductIndex",
            "hash_key": "productId",
            "range_key": "fromDate",
            "projection_type": "ALL",
            "non_key_attributes": [],
        },
    ],
    "backup": {"enabled": True, "retention_days": 90, "schedule": "cron(0 */1 * * ? *)"},
    "deletion_protection": True,
    "replicas": ["eu-west-1"],
    "tags": {"Environment": "prod", **TAGS, "DR": "enabled", "BackupPolicy": "hourly"},
    "table_tags": {"Name": "campaigns", "Type": "DynamoDB"},  # main.tf merges them in
}


def load_one(path: Path) -> HclTable:
    tables, problems = load_hcl(path, path.name)
    assert problems == []
    assert len(tables) == 1
    return tables[0]


def load_text(
    tmp_path: Path, text: str, name: str = "main.tf"
) -> tuple[list[HclTable], list[Diagnostic]]:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return load_hcl(path, name)


def module(body: str, name: str = "t") -> str:
    """A module block calling the dynamodb_table module; ``body`` starts on line 3."""
    return f'module "{name}" {{\n  source = "./modules/dynamodb_table"\n{body}}}\n'


def origin(layer: Layer, *path: str | int) -> tuple[int, str]:
    found = layer.origins[path]
    return found.line, found.path


# --------------------------------------------------------------------------- the README examples


@pytest.mark.parametrize(
    ("file", "name", "environment", "expected"),
    [
        ("tenants_dev.tf", "tenants", "dev", TENANTS_DEV),
        ("products_sit.tf", "products", "sit", PRODUCTS_SIT),
        ("campaigns_prod.tf", "campaigns", "prod", CAMPAIGNS_PROD),
    ],
)
def test_readme_examples_load_into_native_data(
    file: str, name: str, environment: str, expected: dict[str, Any]
) -> None:
    table = load_one(EXAMPLES / file)
    assert table.name == name
    assert table.environment == environment
    assert table.layer.data == expected


def test_tenants_example_origins() -> None:
    layer = load_one(EXAMPLES / "tenants_dev.tf").layer
    assert layer.anchor == Origin("tenants_dev.tf", 1, "module.tenants_table")
    assert origin(layer, "partition_key") == (6, "partition_key")
    assert origin(layer, "partition_key", "name") == (6, "partition_key")
    assert origin(layer, "partition_key", "type") == (7, "partition_key_type")
    assert origin(layer, "sort_key", "type") == (9, "sort_key_type")
    assert origin(layer, "attributes") == (12, "attributes")
    assert origin(layer, "attributes", "PK") == (13, "attributes[0]")
    assert origin(layer, "attributes", "email") == (15, "attributes[2]")
    assert origin(layer, "global_secondary_indexes") == (20, "global_secondary_indexes")
    assert origin(layer, "backup", "enabled") == (23, "enable_backup")
    assert origin(layer, "backup", "retention_days") == (24, "backup_retention_days")
    assert origin(layer, "deletion_protection") == (25, "enable_deletion_protection")
    assert origin(layer, "tags") == (29, "tags")
    assert origin(layer, "tags", "Owner") == (32, "tags.Owner")


def test_campaigns_example_origins() -> None:
    table = load_one(EXAMPLES / "campaigns_prod.tf")
    layer = table.layer
    assert table.name_origin == Origin("campaigns_prod.tf", 4, "table_name")
    assert origin(layer, "global_secondary_indexes", 1) == (26, "global_secondary_indexes[1]")
    assert origin(layer, "global_secondary_indexes", 1, "projection_type") == (
        30,
        "global_secondary_indexes[1].projection_type",
    )
    assert origin(layer, "global_secondary_indexes", 0, "non_key_attributes") == (
        24,
        "global_secondary_indexes[0].non_key_attributes",
    )
    assert origin(layer, "backup", "schedule") == (38, "backup_schedule")
    assert origin(layer, "replicas") == (40, "enable_replication")
    assert origin(layer, "replicas", 0) == (41, "replica_region")
    assert origin(layer, "tags", "BackupPolicy") == (51, "tags.BackupPolicy")


# --------------------------------------------------------------------------- mapping rules


def test_all_variables_map_to_native_paths(tmp_path: Path) -> None:
    tables, problems = load_text(
        tmp_path,
        module(
            '  table_name = "orders"\n'  # 3
            '  partition_key = "id"\n'  # 4
            '  partition_key_type = "N"\n'  # 5
            '  billing_mode = "PAY_PER_REQUEST"\n'  # 6
            "  point_in_time_recovery = false\n"  # 7
            "  stream_enabled = true\n"  # 8
            '  stream_view_type = "KEYS_ONLY"\n'  # 9
            "  ttl_enabled = true\n"  # 10
            '  ttl_attribute_name = "expires"\n'  # 11
            "  enable_replication = true\n"  # 12
            "  global_secondary_indexes = [\n"  # 13
            '    { name = "ByA", hash_key = "a", range_key = null, projection_type = "INCLUDE",\n'
            '      non_key_attributes = ["x", "y"] },\n'  # 15
            '    { name = "ByB", hash_key = "b", range_key = "" },\n'  # 16
            "  ]\n"
        ),
    )
    assert problems == []
    [table] = tables
    assert table.name == "orders"
    assert table.environment is None
    assert table.layer.data == {
        "partition_key": {"name": "id", "type": "N"},
        "billing_mode": "PAY_PER_REQUEST",
        "point_in_time_recovery": {"enabled": False},
        "stream": {"enabled": True, "view_type": "KEYS_ONLY"},
        "ttl": {"enabled": True, "attribute_name": "expires"},
        "replicas": ["eu-west-1"],  # replica_region's default
        "global_secondary_indexes": [
            {
                "name": "ByA",
                "hash_key": "a",
                "projection_type": "INCLUDE",
                "non_key_attributes": ["x", "y"],
            },
            {"name": "ByB", "hash_key": "b"},
        ],
        "table_tags": {"Name": "orders", "Type": "DynamoDB"},  # what main.tf merges in
    }
    layer = table.layer
    assert origin(layer, "stream", "view_type") == (9, "stream_view_type")
    assert origin(layer, "stream") == (8, "stream_enabled")
    assert origin(layer, "point_in_time_recovery", "enabled") == (7, "point_in_time_recovery")
    assert origin(layer, "ttl", "attribute_name") == (11, "ttl_attribute_name")
    assert origin(layer, "replicas") == (12, "enable_replication")
    assert ("replicas", 0) not in layer.origins  # a default: reported at the container
    assert origin(layer, "global_secondary_indexes", 0, "non_key_attributes", 1) == (
        15,
        "global_secondary_indexes[0].non_key_attributes[1]",
    )
    assert ("global_secondary_indexes", 0, "range_key") not in layer.origins


def test_key_types_default_to_s_and_a_null_sort_key_is_no_sort_key(tmp_path: Path) -> None:
    tables, problems = load_text(
        tmp_path, module('  partition_key = "PK"\n  sort_key = null\n  sort_key_type = "N"\n')
    )
    assert problems == []
    assert tables[0].layer.data == {"partition_key": {"name": "PK", "type": "S"}}
    # the default type has no origin of its own: the key's is used
    assert tables[0].layer.origin_of(("partition_key", "type")) == Origin(
        "main.tf", 3, "partition_key"
    )


def test_replication_off_or_absent_means_no_replicas(tmp_path: Path) -> None:
    tables, problems = load_text(
        tmp_path,
        module('  enable_replication = false\n  replica_region = "us-east-1"\n', "a")
        + module('  replica_region = "us-east-1"\n', "b"),
    )
    assert problems == []
    assert [t.layer.data for t in tables] == [{}, {}]


def test_replica_region_is_carried_as_written(tmp_path: Path) -> None:
    tables, problems = load_text(
        tmp_path, module('  enable_replication = true\n  replica_region = "Ireland"\n')
    )
    assert problems == []
    assert tables[0].layer.data == {"replicas": ["Ireland"]}
    assert origin(tables[0].layer, "replicas", 0) == (4, "replica_region")


def test_wrong_types_pass_through_for_the_settings_validation(tmp_path: Path) -> None:
    tables, problems = load_text(
        tmp_path,
        module('  enable_backup = "yes"\n  backup_retention_days = -7\n  tags = { Cost = 1.5 }\n'),
    )
    assert problems == []
    assert tables[0].layer.data == {
        "backup": {"enabled": "yes", "retention_days": -7},
        "tags": {"Cost": 1.5},
    }
    assert origin(tables[0].layer, "backup", "enabled") == (3, "enable_backup")


def test_strings_are_unquoted_and_unescaped(tmp_path: Path) -> None:
    tables, problems = load_text(
        tmp_path,
        module(
            "  tags = {\n"
            '    "Cost Center" = "a \\"b\\" \\\\ c"\n'
            '    Literal = "$${not_interpolated}"\n'
            "  }\n"
            "  backup_schedule = <<-EOT\n"
            "    cron(0 2 * * ? *)\n"
            "    EOT\n"
        ),
    )
    assert problems == []
    assert tables[0].layer.data == {
        "tags": {"Cost Center": 'a "b" \\ c', "Literal": "${not_interpolated}"},
        "backup": {"schedule": "cron(0 2 * * ? *)"},
    }
    assert origin(tables[0].layer, "tags", "Cost Center") == (4, "tags.Cost Center")


def test_meta_arguments_are_ignored(tmp_path: Path) -> None:
    tables, problems = load_text(
        tmp_path,
        module(
            '  version    = "1.0.0"\n'
            "  count      = 1\n"
            '  for_each   = toset(["a"])\n'
            "  providers  = { aws = aws.replica }\n"
            "  depends_on = [module.vpc]\n"
            '  table_name = "t"\n'
        ),
    )
    assert problems == []
    assert tables[0].name == "t"
    assert tables[0].layer.data == {"table_tags": {"Name": "t", "Type": "DynamoDB"}}


# --------------------------------------------------------------------------- problems


def test_unknown_variable_has_a_did_you_mean_hint(tmp_path: Path) -> None:
    tables, problems = load_text(tmp_path, module("  enable_backups = true\n"))
    assert problems == [
        Diagnostic(
            "main.tf",
            3,
            "enable_backups",
            "unknown variable 'enable_backups'",
            "did you mean 'enable_backup'?",
        )
    ]
    assert tables[0].layer.data == {}


def test_attribute_declared_with_two_types(tmp_path: Path) -> None:
    tables, problems = load_text(
        tmp_path,
        module(
            "  attributes = [\n"
            '    { name = "PK", type = "S" },\n'
            '    { name = "PK", type = "S" },\n'
            '    { name = "PK", type = "N" },\n'
            "  ]\n"
        ),
    )
    assert problems == [
        Diagnostic(
            "main.tf",
            6,
            "attributes[2]",
            "attribute 'PK' is declared with two types: 'S' and 'N'",
            "declare each attribute once, with the type its key uses",
        )
    ]
    assert tables[0].layer.data == {"attributes": {"PK": "S"}}
    assert origin(tables[0].layer, "attributes", "PK") == (4, "attributes[0]")


def test_malformed_attributes_are_reported(tmp_path: Path) -> None:
    _, problems = load_text(tmp_path, module('  attributes = ["PK", { name = "a", typ = "S" }]\n'))
    assert [(p.line, p.path, p.message) for p in problems] == [
        (3, "attributes[0]", "an attribute must be an object { name = …, type = … }"),
        (3, "attributes[1].typ", "unknown field 'typ' in an attribute"),
        (3, "attributes[1]", "attribute 'a' has no 'type'"),
    ]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("  replica_region = var.region\n", "'var.region' is a reference"),
        ('  billing_mode = local.billing["x"]\n', "'local.billing[\"x\"]' is a reference"),
        ('  table_name = "${var.prefix}-orders"\n', '"${var.prefix}-orders" is an interpolation'),
        ('  ttl_attribute_name = lower("X")\n', "'lower(\"X\")' is a function call"),
        ('  enable_backup = var.env == "prod"\n', "'var.env == \"prod\"' is an operation"),
        (
            "  ttl_enabled = var.on ? true : false\n",
            "'var.on ? true : false' is a conditional expression",
        ),
    ],
)
def test_expressions_are_reported_and_left_out(tmp_path: Path, line: str, message: str) -> None:
    tables, problems = load_text(tmp_path, module(line + "  enable_replication = true\n"))
    [problem] = problems
    assert (problem.line, problem.message) == (
        3,
        f"{message}: tablesmith reads literal values only",
    )
    assert problem.path == line.split("=")[0].strip()
    assert "does not evaluate" in problem.hint
    data = tables[0].layer.data
    assert tables[0].name is None
    # the variable is left out; replication without a readable region is left out too
    assert data in ({"replicas": ["eu-west-1"]}, {})
    if "replica_region" in line:
        assert data == {}


def test_an_expression_inside_tags_is_reported_at_its_field(tmp_path: Path) -> None:
    tables, problems = load_text(
        tmp_path, module('  tags = {\n    Environment = "dev"\n    Owner = local.owner\n  }\n')
    )
    assert [(p.line, p.path) for p in problems] == [(5, "tags.Owner")]
    assert tables[0].layer.data == {}
    assert tables[0].environment == "dev"


def test_syntax_error_is_one_diagnostic_with_a_line(tmp_path: Path) -> None:
    tables, problems = load_text(tmp_path, module('  table_name = "x"\n  tags = \n'))
    assert tables == []
    assert problems == [
        Diagnostic(
            "main.tf",
            4,
            "(syntax)",
            "invalid HCL: unexpected '}'",
            "fix the HCL syntax at this line",
        )
    ]


def test_unterminated_block_is_reported_at_the_end_of_the_file(tmp_path: Path) -> None:
    tables, problems = load_text(tmp_path, 'module "t" {\n  source = "./dynamodb_table"\n')
    assert tables == []
    assert [(p.line, p.message) for p in problems] == [(2, "invalid HCL: unexpected end of file")]


def test_unreadable_file_is_a_diagnostic(tmp_path: Path) -> None:
    tables, problems = load_hcl(tmp_path / "missing.tf", "missing.tf")
    assert tables == []
    assert [(p.line, p.path) for p in problems] == [(0, "(file)")]


def test_duplicates_are_reported(tmp_path: Path) -> None:
    tables, problems = load_text(
        tmp_path,
        module('  ttl_enabled = true\n  ttl_enabled = false\n  tags = { A = "1", A = "2" }\n'),
    )
    assert [(p.line, p.path, p.message) for p in problems] == [
        (4, "ttl_enabled", "duplicate variable 'ttl_enabled'"),
        (5, "tags.A", "duplicate key 'A'"),
    ]
    assert tables[0].layer.data == {"ttl": {"enabled": True}, "tags": {"A": "1"}}


# --------------------------------------------------------------------------- files


def test_tfvars_file_is_one_table(tmp_path: Path) -> None:
    tables, problems = load_text(
        tmp_path,
        'table_name    = "orders"\n'
        'partition_key = "id"\n'
        "tags = {\n"
        '  Environment = "qa"\n'
        "}\n"
        "enable_deletion_protection = true\n",
        name="orders.tfvars",
    )
    assert problems == []
    [table] = tables
    assert table.name == "orders"
    assert table.environment == "qa"
    assert table.name_origin == Origin("orders.tfvars", 1, "table_name")
    assert table.layer.anchor == Origin("orders.tfvars", 1, "")
    assert table.layer.data == {
        "partition_key": {"name": "id", "type": "S"},
        "tags": {"Environment": "qa"},
        "deletion_protection": True,
        "table_tags": {"Name": "orders", "Type": "DynamoDB"},
    }
    assert origin(table.layer, "tags", "Environment") == (4, "tags.Environment")
    assert origin(table.layer, "deletion_protection") == (6, "enable_deletion_protection")


def test_other_blocks_yield_nothing(tmp_path: Path) -> None:
    tables, problems = load_text(
        tmp_path,
        'provider "aws" {\n  region = "af-south-1"\n}\n'
        'module "vpc" {\n  source = "./modules/vpc"\n  table_name = var.nope\n}\n'
        'resource "aws_dynamodb_table" "x" {\n  name = "x"\n}\n',
    )
    assert (tables, problems) == ([], [])


def test_a_table_without_table_name_is_anchored_at_its_block(tmp_path: Path) -> None:
    tables, problems = load_text(tmp_path, "\n" + module("  table_name = 7\n", "orders"))
    assert problems == []
    assert tables[0].name is None
    assert tables[0].name_origin == Origin("main.tf", 4, "table_name")
    tables, _ = load_text(tmp_path, "\n" + module("", "orders"))
    assert tables[0].name_origin == Origin("main.tf", 2, "module.orders")


@pytest.mark.parametrize(
    ("source", "matches"),
    [
        ("./modules/dynamodb_table", True),
        ("../dynamodb_table/", True),
        ("git::https://example.com/infra.git//modules/dynamodb_table?ref=v1.2.0", True),
        ("git::https://example.com/dynamodb_table.git?ref=v1", True),
        ("github.com/org/dynamodb_table//examples", True),
        ("./modules/dynamodb_tables", False),
        ("terraform-aws-modules/dynamodb-table/aws", False),
        ("git::https://example.com/dynamodb_table.git//modules/vpc", True),
    ],
)
def test_module_source_matching(source: str, matches: bool) -> None:
    assert is_module_source(source) is matches
