"""The examples' lifecycle, through the command line, on a real account or the local target.

For each environment of ``examples/bbws.yaml`` (dev, sit, prod), under the run's prefix:

1. create: ``plan`` (changes, and nothing made), ``apply``, then ``apply`` again (no changes)
   and ``plan --detailed-exitcode`` (exit 0);
2. update (a tag on every table and the resources around it): the same three steps;
3. destroy: answered "no" first (nothing deleted), then for real, then again (nothing left
   to do), and nothing of the environment is left in the account.

At the end, ``sweep`` deletes whatever still carries the prefix (also after a failure). In
local mode the test then asserts that nothing is left at all, so the clean-up that guards a
real account is itself proven in ``make test``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml
from sweep import clients, leftovers, sweep
from tier import MODE, SKIP_REASON

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tier import Account

pytestmark = [
    pytest.mark.aws,
    pytest.mark.skipif(MODE not in ("1", "local"), reason=SKIP_REASON),
    pytest.mark.timeout(3600 if MODE == "1" else 600),
]

TABLESMITH = str(Path(sys.executable).with_name("tablesmith"))
ENVIRONMENTS = ("dev", "sit", "prod")
DESTROY = ["--allow-hazards", "DELETES_DATA", "--lift-deletion-protection"]


@pytest.fixture(scope="module")
def swept(account: Account) -> Iterator[Account]:
    """The account, swept of the run's prefix afterwards, whatever happened."""
    regions = (account.region, account.dr_region)
    try:
        yield account
    finally:
        with clients(account) as client:
            deleted = sweep(client, account.prefix, tuple(dict.fromkeys(regions)))
            left = leftovers(client, account.prefix, tuple(dict.fromkeys(regions)))
        print(f"sweep of {account.prefix}: deleted {len(deleted)}: {deleted}")
        assert not left, f"the sweep left these in the account: {left}"


def run(
    account: Account, *args: str, stdin: str | None = None, timeout: float = 1800
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [TABLESMITH, *args, *account.target_args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=account.cli_env,
        check=False,
    )


def expect(result: subprocess.CompletedProcess[str], code: int, what: str) -> None:
    assert result.returncode == code, (
        f"{what}: exit {result.returncode}, wanted {code}\n"
        f"stdout:\n{result.stdout[-4000:]}\nstderr:\n{result.stderr[-4000:]}"
    )


def result_json(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(result.stdout)
    return doc


def env_prefix(account: Account, env: str) -> str:
    return f"{account.prefix}{env}_"


def names_left(account: Account, env: str) -> list[str]:
    """What of ``env`` exists (the shared lock table aside)."""
    regions = tuple(dict.fromkeys((account.region, account.dr_region)))
    with clients(account) as client:
        return leftovers(client, env_prefix(account, env), regions)


def converge(account: Account, env: str, step: str) -> None:
    """plan-only, for real, then again: the step's three runs."""
    spec = str(account.spec)
    planned = run(account, "plan", spec, "--env", env, "--detailed-exitcode")
    expect(planned, 2, f"{env} {step}: plan")
    applied = run(account, "apply", spec, "--env", env, "--auto-approve", "--json")
    expect(applied, 0, f"{env} {step}: apply")
    assert result_json(applied)["status"] == "applied", applied.stdout
    again = run(account, "apply", spec, "--env", env, "--auto-approve", "--json")
    expect(again, 0, f"{env} {step}: apply again")
    assert result_json(again)["status"] == "no-changes", again.stdout
    expect(
        run(account, "plan", spec, "--env", env, "--detailed-exitcode"), 0, f"{env} {step}: re-plan"
    )


def set_tier_tag(spec: Path, env: str, value: str) -> None:
    path = spec / "bbws.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["environments"][env].setdefault("defaults", {}).setdefault("tags", {})["TierStep"] = value
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_lifecycle(swept: Account, env: str) -> None:
    account, spec = swept, str(swept.spec)

    # create
    assert names_left(account, env) == []
    planned = run(account, "plan", spec, "--env", env, "--detailed-exitcode")
    expect(planned, 2, f"{env}: first plan")
    assert names_left(account, env) == [], "a plan made something"
    converge(account, env, "create")
    tables = json.loads(expect_ok(run(account, "output", spec, "--env", env, "--json")))
    assert tables, "output lists no table"

    # update: a tag everywhere
    set_tier_tag(swept.spec, env, "two")
    converge(account, env, "update")

    # destroy: "no" first, then for real, then again
    refused = run(account, "destroy", spec, "--env", env, *DESTROY, stdin="n\n")
    assert refused.returncode != 0, refused.stdout
    expect(
        run(account, "plan", spec, "--env", env, "--detailed-exitcode"),
        0,
        f"{env}: plan after a destroy answered no",
    )
    destroyed = run(account, "destroy", spec, "--env", env, *DESTROY, "--auto-approve", "--json")
    expect(destroyed, 0, f"{env}: destroy")
    again = run(account, "destroy", spec, "--env", env, *DESTROY, "--auto-approve", "--json")
    expect(again, 0, f"{env}: destroy again")
    assert result_json(again)["status"] == "no-changes", again.stdout
    left = names_left(account, env)
    if account.mode == "aws":  # a vault that holds recovery points is kept; the sweep empties it
        left = [name for name in left if not name.startswith("backup-vault:")]
    assert left == [], f"{env}: destroy left {left}"


def expect_ok(result: subprocess.CompletedProcess[str]) -> str:
    expect(result, 0, " ".join(result.args[1:3]))
    return result.stdout
