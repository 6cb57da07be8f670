"""The real-AWS tier: the examples' whole lifecycle against an account, or the local target.

    TABLESMITH_AWS_TESTS=1 TABLESMITH_AWS_PROFILE=sandbox TABLESMITH_AWS_REGION=eu-west-1 \\
        make test-aws                   # a real account (it costs a few cents; see README)
    TABLESMITH_AWS_TESTS=local ...      # the same tier on the embedded local target (make test)

Unset, the tier is skipped. Every name the tier makes starts with a prefix unique to the run
(``ts_<8 hex>_``), and everything with that prefix is deleted at the end, even when a step
failed (``sweep.py``); the sweep's own result is checked in local mode, so the clean-up is
proven here before it is trusted with an account.
"""

from __future__ import annotations

import os
import secrets
from typing import TYPE_CHECKING

import pytest
from tier import MODE, ORIGINAL_ENV, Account, tier_spec

from local_serve import local_serve

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture(scope="module")
def account(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Account]:
    prefix = f"ts_{secrets.token_hex(4)}_"
    work = tmp_path_factory.mktemp("aws-tier")
    if MODE == "1":
        profile = ORIGINAL_ENV.get("TABLESMITH_AWS_PROFILE") or ORIGINAL_ENV.get("AWS_PROFILE")
        region = ORIGINAL_ENV.get("TABLESMITH_AWS_REGION")
        if not profile or not region:
            pytest.fail(
                "TABLESMITH_AWS_TESTS=1 needs TABLESMITH_AWS_PROFILE (or AWS_PROFILE) "
                "and TABLESMITH_AWS_REGION: the account and Region the tier may use"
            )
        # a replica needs another Region
        other = "eu-central-1" if region == "eu-west-1" else "eu-west-1"
        dr_region = ORIGINAL_ENV.get("TABLESMITH_AWS_DR_REGION", other)
        spec = tier_spec(work / "spec", prefix, region, dr_region)
        yield Account(
            mode="aws",
            prefix=prefix,
            spec=spec,
            region=region,
            dr_region=dr_region,
            cli_env=ORIGINAL_ENV,
            target_args=["--profile", profile],
            profile=profile,
        )
        return
    spec = tier_spec(work / "spec", prefix, None, None)
    state = work / "state"
    env = {**os.environ, "TABLESMITH_LOCAL_REPLICA_SECONDS": "0.3"}
    # one server for the module: every command's --local finds it running and uses it
    with local_serve(spec, state, env):
        yield Account(
            mode="local",
            prefix=prefix,
            spec=spec,
            region="af-south-1",
            dr_region="eu-west-1",
            cli_env=env,
            target_args=["--local", "--state-dir", str(state)],
            state_dir=state,
        )
