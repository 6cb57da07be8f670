"""Differential test: the Terraform export and ``tablesmith apply`` build the same account.

For each environment of ``examples/bbws.yaml`` (dev, sit, prod), two fresh embedded local
targets (``tablesmith local serve``, separate state directories) are started:

* A: ``tablesmith export terraform`` of the environment, plus a provider override file
  (``zz_local_override.tf.json``: Terraform merges ``*_override.tf.json`` into the providers)
  that points the default provider and every alias at A with the local target's fake keys;
  ``terraform init`` offline through the filesystem mirror (``terraform_support``), then
  ``terraform apply -auto-approve``;
* B: ``tablesmith apply --endpoint-url B --auto-approve``.

Both are then read with the library (``Session.read``) and compared, aspect by aspect, each
aspect one test so that a divergence in one does not hide the others:

* tables: every field of the ``LiveTable.table`` model (``TABLE_FIELDS``, printed);
* replicas: each replica Region's own status, PITR, tags and deletion protection;
* backups: the ``LiveBackup.backup`` model (vault, plan rule with copy actions, selection, IAM
  role with its trust and managed policies, DR vaults, and all their tags);
* alarms: names and definitions (``MetricAlarm``; metric-math terms compared as a set: the
  provider's ``metric_query`` is a set, so Terraform sends them in its hash order, and
  CloudWatch keeps the order it is given), and their tags read directly (``parse_alarm`` does
  not read alarm tags);
* Terraform's own ``terraform plan -detailed-exitcode`` against A is empty (the emulator
  round-trips everything the provider wrote: no emulator gap the provider would notice);
* ``tablesmith plan --detailed-exitcode`` against A (built by Terraform) exits 0.

No divergence is known (hashicorp/aws 5.100.0, Terraform 1.11): every aspect must match
outright. Two were found here and fixed, and would come back as failures:

* metric-math term order: ``tablesmith plan`` on a Terraform-built account proposed
  ``PutMetricAlarm ... metrics changed`` for every metric-math alarm, forever, because it
  compared the terms in order; it now compares them in id order (``around.alarms``).
* replica deletion protection (prod): the export used the table's inline ``replica`` blocks,
  which cannot say ``deletion_protection_enabled`` (5.100.0's schema: ``kms_key_arn``,
  ``point_in_time_recovery``, ``propagate_tags``, ``region_name``), and DynamoDB does not copy
  deletion protection to a replica, so Terraform left replicas unprotected where
  ``tablesmith apply`` protects them. The export now makes ``aws_dynamodb_table_replica``
  resources, which set it.

The provider override lets the provider ask the target for its account ID (STS
``GetCallerIdentity``, answered by the local target): ``aws_dynamodb_table_replica`` reads its
``global_table_arn`` back from the provider's account ID, so with
``skip_requesting_account_id`` it would read ``arn:aws:dynamodb:<region>::table/<name>`` and
plan to replace every replica, a drift of the harness that real AWS never shows.

The emulator represented everything the provider asked of it for these three environments
(``test_terraform_sees_no_drift``): no aspect is excluded for an emulator gap.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import pytest

import tablesmith
from tablesmith.around.alarms import AlarmState, LiveAlarm
from tablesmith.around.backup import BackupState, LiveBackup
from tablesmith.around.registry import table_itself
from tablesmith.engine import Session
from terraform_support import Terraform, find_plugin_dir, find_terraform

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tablesmith.spec.loader import Spec
    from tablesmith.state import LiveState

pytestmark = [pytest.mark.terraform, pytest.mark.timeout(900)]

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "bbws.yaml"
EXE = str(Path(sys.executable).with_name("tablesmith"))
# endpoint -> state directory of each `tablesmith local serve`: its access key is there
STATE_DIRS: dict[str, Path] = {}
ENVS = ("dev", "sit", "prod")
OVERRIDE_FILE = "zz_local_override.tf.json"
SERVICES = ("dynamodb", "backup", "iam", "cloudwatch", "sts", "kms")
PARALLELISM = "20"
START_TIMEOUT = 60.0
# every field of the table model; backup and alarms are None in a LiveTable (compared apart)
TABLE_FIELDS = ("name", "table_name", "environment", "region", "partition_key", "sort_key",
                "attribute_definitions", "global_secondary_indexes", "local_secondary_indexes",
                "billing_mode", "on_demand_throughput", "point_in_time_recovery", "ttl",
                "stream", "encryption", "deletion_protection", "table_class", "replicas",
                "tags")
REPLICA_FIELDS = ("status", "arn", "point_in_time_recovery", "tags", "deletion_protection")


def _spec() -> Spec:
    return tablesmith.load(EXAMPLES)


# ------------------------------------------------------------------ local targets, Terraform


@contextmanager
def local_target(state_dir: Path) -> Iterator[str]:
    """A fresh ``tablesmith local serve`` on ``state_dir``; its URL; SIGTERM at the end."""
    state_dir.mkdir(parents=True)
    log = state_dir.with_suffix(".out")
    err = state_dir.with_suffix(".err")
    with log.open("w") as out, err.open("w") as errors:
        proc = subprocess.Popen([EXE, "local", "serve", str(state_dir), "--state-dir",
                                 str(state_dir)], stdout=out, stderr=errors,
                                stdin=subprocess.DEVNULL, text=True,
                                env={**os.environ, "TABLESMITH_LOCAL_REPLICA_SECONDS": "0.5"})
    try:
        deadline = time.monotonic() + START_TIMEOUT
        match = None
        while match is None:
            match = re.search(r"serving at (http://127\.0\.0\.1:\d+)", log.read_text())
            if match is None:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"tablesmith local serve did not start (exit "
                                       f"{proc.poll()}): {err.read_text()}")
                time.sleep(0.05)
        STATE_DIRS[match.group(1)] = state_dir
        yield match.group(1)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def access_key(endpoint: str) -> str:
    """The access key of the local target at ``endpoint`` (requests signed otherwise fail)."""
    credentials = json.loads((STATE_DIRS[endpoint] / "credentials.json").read_text())
    return str(credentials["access_key"])


def provider_override(terraform_json: str, endpoint: str) -> str:
    """An override file pointing every provider of the export (default and aliases) at
    ``endpoint`` with the local target's keys, and no call to real AWS metadata or STS."""
    providers = json.loads(terraform_json)["provider"]["aws"]
    overrides = []
    for provider in providers:
        override: dict[str, Any] = {
            "access_key": access_key(endpoint),
            "secret_key": access_key(endpoint),
            "skip_credentials_validation": True,
            # no skip_requesting_account_id: the account ID comes from the target's STS, and
            # aws_dynamodb_table_replica builds global_table_arn from it on every read
            "skip_metadata_api_check": True,
            "skip_region_validation": True,
            "endpoints": [dict.fromkeys(SERVICES, endpoint)],
        }
        if "alias" in provider:
            override["alias"] = provider["alias"]
        overrides.append(override)
    return json.dumps({"provider": {"aws": overrides}}, indent=2, sort_keys=True) + "\n"


def tablesmith_cli(*args: str, endpoint: str, timeout: float = 240
                   ) -> subprocess.CompletedProcess[str]:
    """``tablesmith <args>`` signed with the key of the local target at ``endpoint``."""
    key = access_key(endpoint)
    env = {**os.environ, "AWS_ACCESS_KEY_ID": key, "AWS_SECRET_ACCESS_KEY": key,
           "TABLESMITH_POLL_INTERVAL": "0.2"}
    return subprocess.run([EXE, *args], env=env, capture_output=True, text=True,
                          timeout=timeout, check=False, stdin=subprocess.DEVNULL)


def checked(result: subprocess.CompletedProcess[str], what: str) -> str:
    if result.returncode != 0:
        raise AssertionError(f"{what} exited {result.returncode}\n--- stdout (tail)\n"
                             f"{result.stdout[-4000:]}\n--- stderr\n{result.stderr[-4000:]}")
    return result.stdout


@dataclass
class Deployment:
    """One environment built twice: by Terraform on A, by tablesmith on B."""

    env: str
    spec: Spec
    terraform_url: str
    tablesmith_url: str
    tf: Terraform
    by_terraform: LiveState
    by_tablesmith: LiveState
    seconds: dict[str, float]


@pytest.fixture(scope="module")
def terraform_tools() -> tuple[str, Path]:
    executable = find_terraform()
    if executable is None:
        pytest.skip("terraform is not on PATH")
    plugin_dir, why = find_plugin_dir()
    if plugin_dir is None:
        pytest.skip(why)
    return executable, plugin_dir


@pytest.fixture(scope="module")
def deployment(request: pytest.FixtureRequest, terraform_tools: tuple[str, Path],
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    """Environment ``request.param`` applied by Terraform (A) and by tablesmith (B)."""
    env: str = request.param
    executable, plugin_dir = terraform_tools
    tmp = tmp_path_factory.mktemp(f"differential-{env}")
    seconds: dict[str, float] = {}
    with ExitStack() as stack:
        url_a = stack.enter_context(local_target(tmp / "state-terraform"))
        url_b = stack.enter_context(local_target(tmp / "state-tablesmith"))

        tf = Terraform(executable, plugin_dir, tmp / "terraform")
        tf.env.pop("TF_LOG", None)
        checked(tablesmith_cli("export", "terraform", str(EXAMPLES), "--env", env, "-o",
                               str(tf.workdir), endpoint=url_a), "tablesmith export terraform")
        terraform_json = (tf.workdir / "terraform.tf.json").read_text()
        (tf.workdir / OVERRIDE_FILE).write_text(provider_override(terraform_json, url_a))
        started = time.perf_counter()
        checked(tf.run("init", "-input=false", "-no-color"), "terraform init")
        seconds["terraform init"] = time.perf_counter() - started
        started = time.perf_counter()
        # the provider's own waiters (replicas, PITR, tags) take minutes for prod on a loaded
        # machine; the slowest resources are printed (-s) to see where the time goes
        applied = tf.run("apply", "-auto-approve", "-input=false", "-no-color",
                         f"-parallelism={PARALLELISM}", timeout=900)
        checked(applied, f"terraform apply ({env}, on {url_a})")
        seconds["terraform apply"] = time.perf_counter() - started
        print("\n".join(line for line in applied.stdout.splitlines() if "complete after" in line))

        started = time.perf_counter()
        checked(tablesmith_cli("apply", str(EXAMPLES), "--env", env, "--endpoint-url", url_b,
                               "--auto-approve", endpoint=url_b),
                f"tablesmith apply ({env}, on {url_b})")
        seconds["tablesmith apply"] = time.perf_counter() - started

        spec = _spec()
        read = {url: Session.for_environment(spec, env, endpoint_url=url, local=True,
                                             state_dir=str(STATE_DIRS[url])).read()
                for url in (url_a, url_b)}
        print(f"\n[{env}] Terraform on {url_a}, tablesmith on {url_b}: "
              + ", ".join(f"{k} {v:.1f} s" for k, v in seconds.items()))
        yield Deployment(env, spec, url_a, url_b, tf, read[url_a], read[url_b], seconds)


def differences(a: dict[str, Any], b: dict[str, Any], fields: tuple[str, ...]) -> list[str]:
    return [f"{f}: terraform={a.get(f)!r} tablesmith={b.get(f)!r}" for f in fields
            if a.get(f) != b.get(f)]


def deployed(d: Deployment, name: str) -> tuple[Any, Any]:
    a, b = d.by_terraform.tables.get(name), d.by_tablesmith.tables.get(name)
    assert a is not None, f"{name}: Terraform did not create it"
    assert b is not None, f"{name}: tablesmith did not create it"
    return a, b


# ------------------------------------------------------------------ the aspects


@pytest.mark.parametrize("deployment", ENVS, indirect=True)
def test_tables_match(deployment: Deployment) -> None:
    d = deployment
    print(f"[{d.env}] table fields compared: {', '.join(TABLE_FIELDS)}")
    problems = []
    for table in d.spec.tables(d.env):
        a, b = deployed(d, table.table_name)
        assert b.table == table_itself(table).model_copy(update={"resource_tags": None}), (
            f"{table.table_name}: tablesmith's own apply does not match the spec")
        problems += [f"{table.table_name}.{p}" for p in differences(
            a.table.model_dump(mode="json"), b.table.model_dump(mode="json"), TABLE_FIELDS)]
    assert not problems, "tables differ:\n" + "\n".join(problems)


@pytest.mark.parametrize("deployment", ENVS, indirect=True)
def test_replicas_match(deployment: Deployment) -> None:
    d = deployment
    print(f"[{d.env}] replica fields compared: {', '.join(REPLICA_FIELDS)}")
    problems = []
    if not any(t.replicas for t in d.spec.tables(d.env)):
        print(f"[{d.env}] no table has replicas here: nothing to compare")
    for table in d.spec.tables(d.env):
        a, b = deployed(d, table.table_name)
        regions = sorted(table.replicas)
        assert [r.region for r in b.replica_states] == regions
        assert [r.region for r in a.replica_states] == regions, (
            f"{table.table_name}: Terraform's replicas are {a.replica_states}")
        for region in regions:
            ra, rb = a.replica(region), b.replica(region)
            assert ra is not None and rb is not None
            problems += [f"{table.table_name}@{region}.{p}" for p in differences(
                ra.model_dump(mode="json"), rb.model_dump(mode="json"), REPLICA_FIELDS)]
            # DynamoDB does not copy it from the table: each replica must have been given it
            assert rb.deletion_protection is table.deletion_protection, (
                f"{table.table_name}@{region}: tablesmith's own replica")
    assert not problems, "replicas differ:\n" + "\n".join(problems)


@pytest.mark.parametrize("deployment", ENVS, indirect=True)
def test_backups_match(deployment: Deployment) -> None:
    d = deployment
    fields = ("vault", "plan", "selection", "role", "dr_vaults")
    print(f"[{d.env}] backup fields compared: {', '.join(fields)} (names, Regions, rule, "
          "copy actions, trust and managed policies, tags)")
    problems = []
    for table in d.spec.tables(d.env):
        name = table.table_name
        a, b = backups_of(d.by_terraform).get(name), backups_of(d.by_tablesmith).get(name)
        assert b is not None and b.backup.plan is not None, f"{name}: tablesmith made none"
        assert a is not None and a.backup.plan is not None, f"{name}: Terraform made none"
        problems += [f"{name}.{p}" for p in differences(
            a.backup.model_dump(mode="json"), b.backup.model_dump(mode="json"), fields)]
        assert sorted(a.dr_vault_arns) == sorted(b.dr_vault_arns) == sorted(table.replicas)
    assert not problems, "backups differ:\n" + "\n".join(problems)


def backups_of(live: LiveState) -> dict[str, LiveBackup]:
    """The backup resources a live read found, by table."""
    found = live.around.get("backup")
    assert isinstance(found, BackupState), "AWS Backup was not read"
    return found.tables


def alarms_of(live: LiveState) -> dict[str, tuple[LiveAlarm, ...]]:
    """The alarms a live read found, by table."""
    found = live.around.get("alarms")
    assert isinstance(found, AlarmState), "CloudWatch alarms were not read"
    return found.tables


def _unordered(alarm: dict[str, Any]) -> dict[str, Any]:
    """An alarm definition with its metric-math terms as a set (sorted by id), no tags."""
    return {**alarm, "metrics": sorted(alarm.get("metrics") or (), key=lambda q: q["id"]),
            "tags": None}


def _alarm_tags(endpoint: str, region: str, arn: str) -> dict[str, str]:
    cloudwatch = boto3.client("cloudwatch", endpoint_url=endpoint, region_name=region,
                              aws_access_key_id=access_key(endpoint),
                              aws_secret_access_key=access_key(endpoint))
    return {t["Key"]: t["Value"]
            for t in cloudwatch.list_tags_for_resource(ResourceARN=arn)["Tags"]}


@pytest.mark.parametrize("deployment", ENVS, indirect=True)
def test_alarms_match(deployment: Deployment) -> None:
    d = deployment
    fields = ("name", "region", "description", "namespace", "metric_name", "dimensions",
              "statistic", "period", "metrics", "threshold", "comparison_operator",
              "evaluation_periods", "treat_missing_data", "alarm_actions", "ok_actions")
    print(f"[{d.env}] alarm fields compared: {', '.join(fields)} (metrics as a set, by id); "
          "tags read with ListTagsForResource")
    problems, reordered = [], []
    for table in d.spec.tables(d.env):
        name = table.table_name
        a = {x.alarm.name: x for x in alarms_of(d.by_terraform).get(name, ())}
        b = {x.alarm.name: x for x in alarms_of(d.by_tablesmith).get(name, ())}
        assert b, f"{name}: tablesmith made no alarms"
        assert sorted(a) == sorted(b), f"{name}: alarm names differ"
        for alarm_name in sorted(a):
            la, lb = a[alarm_name], b[alarm_name]
            da, db = la.alarm.model_dump(mode="json"), lb.alarm.model_dump(mode="json")
            problems += [f"{alarm_name}.{p}" for p in differences(
                _unordered(da), _unordered(db), fields)]
            if da["metrics"] != db["metrics"]:
                reordered.append(alarm_name)
            tags_a = _alarm_tags(d.terraform_url, la.alarm.region, la.arn)
            tags_b = _alarm_tags(d.tablesmith_url, lb.alarm.region, lb.arn)
            if tags_a != tags_b:
                problems.append(f"{alarm_name}.tags: terraform={tags_a} tablesmith={tags_b}")
    if reordered:
        print(f"[{d.env}] same metric-math terms in another order (Terraform's set order): "
              f"{', '.join(reordered)}")
    assert not problems, "alarms differ:\n" + "\n".join(problems)


@pytest.mark.parametrize("deployment", ENVS, indirect=True)
def test_terraform_sees_no_drift(deployment: Deployment) -> None:
    """The emulator gives the provider back what it wrote: no emulator gap it would notice."""
    result = deployment.tf.run("plan", "-detailed-exitcode", "-input=false", "-no-color",
                               f"-parallelism={PARALLELISM}")
    assert result.returncode == 0, (
        f"terraform plan on its own apply exited {result.returncode} (0 = no changes):\n"
        + "\n".join(line for line in result.stdout.splitlines()
                    if line.lstrip().startswith(("#", "~", "+", "-", "Plan:")))
        + result.stderr[-4000:])


@pytest.mark.parametrize("deployment", ENVS, indirect=True)
def test_tablesmith_plan_of_terraform_build_is_empty(deployment: Deployment) -> None:
    d = deployment
    result = tablesmith_cli("plan", str(EXAMPLES), "--env", d.env, "--endpoint-url",
                            d.terraform_url, "--detailed-exitcode", endpoint=d.terraform_url)
    assert result.returncode == 0, (
        f"tablesmith plan on the Terraform-built account exited {result.returncode} "
        f"(0 = no changes):\n{result.stdout[-8000:]}\n{result.stderr[-4000:]}")
