"""`tablesmith output --json` for the module README's three examples on the local target:
every output the module defines, with the right value shape (ARNs that parse, nulls where a
feature is off)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tablesmith.outputs import MODULE_OUTPUTS

ROOT = Path(__file__).resolve().parents[2]
TABLESMITH = str(Path(sys.executable).with_name("tablesmith"))
ARN = re.compile(r"^arn:aws:(?P<service>[a-z0-9-]+):(?P<region>[a-z0-9-]*):(?P<account>\d{12}|):"
                 r"(?P<resource>.+)$")

EXAMPLES = [
    ("tenants_dev.tf", "dev", "tenants", {"backup": True, "replica": False}),
    ("products_sit.tf", "sit", "products", {"backup": True, "replica": False}),
    ("campaigns_prod.tf", "prod", "campaigns", {"backup": True, "replica": True}),
]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TABLESMITH_POLL_INTERVAL": "0.2",
           "TABLESMITH_LOCAL_REPLICA_SECONDS": "0.3"}
    return subprocess.run([TABLESMITH, *args], capture_output=True, text=True, env=env,
                          timeout=300, check=False)


def arn(value: Any, service: str, region: str | None = None) -> dict[str, str]:
    assert isinstance(value, str), value
    match = ARN.match(value)
    assert match, f"not an ARN: {value}"
    assert match["service"] == service, value
    if region is not None:
        assert match["region"] == region, value
    return match.groupdict()


@pytest.mark.parametrize(("file", "env", "table", "features"), EXAMPLES,
                         ids=[e[0] for e in EXAMPLES])
def test_module_outputs_on_the_local_target(file: str, env: str, table: str,
                                            features: dict[str, bool], tmp_path: Path) -> None:
    spec = str(ROOT / "examples" / "terraform" / file)
    state = ["--local", "--state-dir", str(tmp_path / "state")]
    applied = run("apply", spec, "--env", env, *state, "--auto-approve")
    assert applied.returncode == 0, applied.stderr
    result = run("output", spec, "--env", env, *state, "--json")
    assert result.returncode == 0, result.stderr
    outputs = json.loads(result.stdout)[table]
    assert set(MODULE_OUTPUTS) <= set(outputs)

    assert outputs["table_name"] == outputs["table_id"] == table
    arn(outputs["table_arn"], "dynamodb", "af-south-1")
    assert outputs["table_arn"].endswith(f":table/{table}")
    stream = arn(outputs["table_stream_arn"], "dynamodb", "af-south-1")
    assert stream["resource"].startswith(f"table/{table}/stream/")
    assert stream["resource"].endswith(outputs["table_stream_label"])
    for gsi in outputs["global_secondary_indexes"]:
        assert set(gsi) == {"name", "hash_key", "range_key"}
        assert outputs["gsi_arns"][gsi["name"]] == f"{outputs['table_arn']}/index/{gsi['name']}"

    if features["backup"]:
        assert outputs["backup_vault_name"] == f"{table}-backup-vault"
        arn(outputs["backup_vault_arn"], "backup", "af-south-1")
        assert isinstance(outputs["backup_plan_id"], str) and outputs["backup_plan_id"]
    if features["replica"]:
        assert outputs["replica_region"] == "eu-west-1"
        arn(outputs["replica_table_arn"], "dynamodb", "eu-west-1")
        arn(outputs["replica_backup_vault_arn"], "backup", "eu-west-1")
    else:
        assert outputs["replica_region"] is None
        assert outputs["replica_table_arn"] is None
        assert outputs["replica_backup_vault_arn"] is None

    # the module made these three; UserErrors is account-wide and opt-in, hence null here
    assert outputs["user_errors_alarm_arn"] is None
    arn(outputs["system_errors_alarm_arn"], "cloudwatch", "af-south-1")
    arn(outputs["throttled_requests_alarm_arn"], "cloudwatch", "af-south-1")
    assert outputs["system_errors_alarm_arn"].endswith(f":alarm:{table}-system-errors")

    info = outputs["table_info"]
    assert info["name"] == table and info["arn"] == outputs["table_arn"]
    assert (info["partition_key"], info["sort_key"]) == ("PK", "SK")
    assert info["billing_mode"] == "PAY_PER_REQUEST"
    assert info["stream_enabled"] is True and info["pitr_enabled"] is True
    assert info["backup_enabled"] is features["backup"]
    assert info["replication_enabled"] is features["replica"]

    again = run("plan", spec, "--env", env, *state, "--detailed-exitcode")
    assert again.returncode == 0, again.stdout + again.stderr
