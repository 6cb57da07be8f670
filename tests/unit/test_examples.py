"""The shipped examples, through the CLI and without AWS.

``examples/bbws.yaml`` and ``examples/terraform/*.tf`` describe the same three tables, one
per environment in the HCL: ``show --json`` must give the same effective table for both.
The CLI runs in-process through click's ``CliRunner``, and once as the installed console
script, to check the entry point itself.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tablesmith.cli import cli

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
TERRAFORM = EXAMPLES / "terraform"
YAML_SPEC = EXAMPLES / "bbws.yaml"
TABLESMITH = Path(sys.executable).parent / "tablesmith"
PAIRS = [("dev", "tenants", "tenants_dev.tf"), ("sit", "products", "products_sit.tf"),
         ("prod", "campaigns", "campaigns_prod.tf")]
COMMANDS = ["validate", "show", "plan", "apply", "destroy"]
DIAGNOSTIC_KEYS = {"severity", "file", "line", "path", "message", "hint"}


def invoke(*args: str | Path) -> Any:
    """Run the CLI in-process; stdout and stderr are kept apart."""
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def show_tables(*args: str | Path) -> list[dict[str, Any]]:
    """The ``tables`` entry of ``show … --json``."""
    result = invoke("show", *args, "--json")
    assert result.exit_code == 0, result.stderr
    tables: list[dict[str, Any]] = json.loads(result.stdout)["tables"]
    return tables


@pytest.mark.parametrize(("env", "table", "tf_file"), PAIRS, ids=[p[2] for p in PAIRS])
def test_yaml_and_hcl_examples_give_the_same_effective_table(env: str, table: str,
                                                             tf_file: str) -> None:
    from_yaml = show_tables(YAML_SPEC, "--env", env, "--table", table)
    from_hcl = show_tables(TERRAFORM / tf_file, "--env", env)
    assert len(from_hcl) == 1
    assert from_hcl[0]["name"] == table
    assert from_yaml == from_hcl


def test_show_through_the_console_script_matches_the_yaml() -> None:
    result = subprocess.run(
        [str(TABLESMITH), "show", str(TERRAFORM / "tenants_dev.tf"), "--env", "dev", "--json"],
        capture_output=True, text=True, timeout=60, check=False, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["tables"] == show_tables(YAML_SPEC, "--env", "dev",
                                                              "--table", "tenants")


def test_dev_hcl_example_warns_about_exactly_the_two_unused_attributes() -> None:
    result = invoke("validate", TERRAFORM / "tenants_dev.tf", "--json")
    assert result.exit_code == 0, result.stderr
    diagnostics = json.loads(result.stdout)["diagnostics"]
    assert [(d["severity"], d["path"]) for d in diagnostics] == [
        ("warning", "attributes[2]"), ("warning", "attributes[3]")]
    assert "'email'" in diagnostics[0]["message"]
    assert "'entityType'" in diagnostics[1]["message"]
    assert all(d["line"] > 0 and d["hint"] for d in diagnostics)


def test_strict_turns_the_dev_hcl_warnings_into_errors() -> None:
    path = TERRAFORM / "tenants_dev.tf"
    assert invoke("validate", path).exit_code == 0
    strict = invoke("validate", "--strict", path)
    assert strict.exit_code == 1
    assert "Error: the spec has 2 error(s)" in strict.stderr
    assert "email" in strict.stderr and "entityType" in strict.stderr

    as_json = invoke("validate", "--strict", "--json", path)
    assert as_json.exit_code == 1
    doc = json.loads(as_json.stdout)
    assert doc["valid"] is False
    assert [d["severity"] for d in doc["diagnostics"]] == ["error", "error"]


@pytest.mark.parametrize("path", [EXAMPLES, TERRAFORM], ids=["examples", "terraform"])
def test_example_directories_are_valid(path: Path) -> None:
    result = invoke("validate", path)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("Valid: ")


def test_validate_json_shape() -> None:
    yaml_doc = json.loads(invoke("validate", EXAMPLES, "--json").stdout)
    assert set(yaml_doc) == {"valid", "environments", "diagnostics"}
    assert yaml_doc["valid"] is True
    assert yaml_doc["diagnostics"] == []
    assert yaml_doc["environments"] == {e: ["campaigns", "products", "tenants"]
                                        for e in ("dev", "prod", "sit")}

    hcl_doc = json.loads(invoke("validate", TERRAFORM, "--json").stdout)
    assert hcl_doc["environments"] == {"dev": ["tenants"], "prod": ["campaigns"],
                                       "sit": ["products"]}
    assert len(hcl_doc["diagnostics"]) == 2  # only tenants_dev.tf warns
    for diagnostic in hcl_doc["diagnostics"]:
        assert set(diagnostic) == DIAGNOSTIC_KEYS
        assert diagnostic["file"].endswith("tenants_dev.tf")

    one_env = json.loads(invoke("validate", EXAMPLES, "--env", "sit", "--json").stdout)
    assert list(one_env["environments"]) == ["sit"]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_subcommand_help_has_an_example(command: str) -> None:
    result = invoke(command, "--help")
    assert result.exit_code == 0
    assert "Example" in result.stdout
    assert f"tablesmith {command}" in result.stdout


def test_top_level_help_has_an_example_section() -> None:
    result = invoke("--help")
    assert result.exit_code == 0
    assert "Example" in result.stdout


def test_top_level_help_lists_every_command() -> None:
    result = invoke("--help")
    assert result.exit_code == 0
    for command in COMMANDS:
        assert command in result.stdout
