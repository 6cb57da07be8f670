"""The Terraform export is a configuration terraform itself accepts.

For each example environment the export is written to one working directory, initialised
once for the module (offline, through the filesystem mirror of hashicorp/aws: see
``terraform_support``), and ``terraform validate -json`` must report it valid without errors
or warnings. One more spec exercises what the examples leave out (customer-managed keys with
replica keys, LSIs, INCLUDE projections, TTL, cold storage, on-demand caps, the shared
UserErrors alarm, AWS-owned encryption, PITR and streams off, a name prefix).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

import tablesmith
from tablesmith.export.terraform import render_terraform
from terraform_support import Terraform, find_plugin_dir, find_terraform, format_diagnostics

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.terraform

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "bbws.yaml"

BROAD_SPEC = """\
version: 1
defaults:
  tags: {Project: corpus, Owner: qa, CostCenter: cc-1, ManagedBy: tablesmith, Component: dynamodb}
  alarms:
    alarm_actions: [arn:aws:sns:af-south-1:123456789012:alarms]
    user_errors: {enabled: true}
environments:
  prod:
    table_prefix: prod-
tables:
  payments:
    partition_key: {name: PK, type: S}
    sort_key: {name: SK, type: S}
    encryption:
      type: CUSTOMER_MANAGED
      kms_key_arn: arn:aws:kms:af-south-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab
    backup: {cold_storage_after_days: 30, retention_days: 120}
    environments:
      prod:                    # prod replicates to eu-west-1: a key there too
        encryption:
          replica_kms_key_arns:
            eu-west-1: arn:aws:kms:eu-west-1:123456789012:alias/payments-dr
    on_demand_throughput: {max_read_request_units: 1000}
  orders:
    partition_key: {name: customerId, type: S}
    sort_key: {name: orderId, type: S}
    ttl: {enabled: true, attribute_name: expiresAt}
    point_in_time_recovery: {enabled: true, recovery_period_days: 7}
    environments:
      prod:                    # a replica resource has no period: its replica keeps 35 days
        replicas:
          - {region: eu-west-1, point_in_time_recovery: {enabled: true}}
    local_secondary_indexes:
      - name: ByStatus
        range_key: {name: status, type: S}
        projection_type: INCLUDE
        non_key_attributes: [total]
    global_secondary_indexes:
      - name: ByCategory
        hash_key: {name: category, type: S}
        range_key: {name: price, type: N}
        projection_type: INCLUDE
        non_key_attributes: [title, stock]
  scratch:
    only_in: [dev]
    partition_key: {name: id, type: N}
    encryption: {type: AWS_OWNED}
    point_in_time_recovery: {enabled: false, recovery_period_days: 35}
    stream: {enabled: false, view_type: KEYS_ONLY}
    table_class: STANDARD_INFREQUENT_ACCESS
"""


@pytest.fixture(scope="module")
def terraform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Terraform]:
    """A working directory initialised once: every case only rewrites the *.tf.json files."""
    executable = find_terraform()
    if executable is None:
        pytest.skip("terraform is not on PATH")
    plugin_dir, why = find_plugin_dir()
    if plugin_dir is None:
        pytest.skip(why)
    tf = Terraform(executable, plugin_dir, tmp_path_factory.mktemp("terraform") / "work")
    # every export requires only hashicorp/aws, so one init (and lock file) serves them all
    spec = tablesmith.load(EXAMPLES)
    tf.write(render_terraform(spec.environment("prod"), spec.tables("prod")))
    tf.init()
    yield tf


def assert_valid(tf: Terraform, files: dict[str, str]) -> None:
    tf.write(files)
    report = tf.validate()
    message = format_diagnostics(report)
    assert report["valid"] is True, message
    assert report["error_count"] == 0, message
    assert report["warning_count"] == 0, message


@pytest.mark.parametrize("env", ["dev", "sit", "prod"])
def test_example_environment_validates(terraform: Terraform, env: str) -> None:
    spec = tablesmith.load(EXAMPLES)
    assert_valid(terraform, render_terraform(spec.environment(env), spec.tables(env)))


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_broad_spec_validates(terraform: Terraform, tmp_path: Path, env: str) -> None:
    path = tmp_path / "broad.yaml"
    path.write_text(BROAD_SPEC)
    spec = tablesmith.load(path)
    files = render_terraform(spec.environment(env), spec.tables(env))
    assert "alarms.tf.json" in files  # the shared UserErrors alarm is part of what validates
    assert_valid(terraform, files)
