"""What the real-AWS tier runs against (see conftest.py)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import yaml

# The environment as the user gave it, captured before the session fixture (tests/conftest.py)
# removes every AWS_* variable: a real-AWS run needs the real credential chain back.
ORIGINAL_ENV = dict(os.environ)
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
MODE = os.environ.get("TABLESMITH_AWS_TESTS", "")
SKIP_REASON = (
    "the real-AWS tier is opt-in: TABLESMITH_AWS_TESTS=1 with TABLESMITH_AWS_PROFILE "
    "and TABLESMITH_AWS_REGION (make test-aws), or TABLESMITH_AWS_TESTS=local for "
    "the embedded local target (make test sets it)"
)


@dataclass
class Account:
    """Where the tier runs: the CLI's target flags, a boto3 client factory, the regions."""

    mode: str  # "aws" or "local"
    prefix: str
    spec: Path
    region: str
    dr_region: str
    cli_env: dict[str, str]
    target_args: list[str]
    state_dir: Path | None = None
    profile: str | None = None


def tier_spec(directory: Path, prefix: str, region: str | None, dr_region: str | None) -> Path:
    """The examples' spec with every name under ``prefix``, in the tier's Regions.

    The lock is the lease table (``conventions.lock.mode: table``) on both targets, so the
    tier also proves that lock table's life (made on first use, swept at the end).
    """
    doc = yaml.safe_load((EXAMPLES / "bbws.yaml").read_text())
    for env, settings in doc["environments"].items():
        settings["table_prefix"] = f"{prefix}{env}_"
        if region:
            settings["region"] = region
        if dr_region:
            settings["dr_region"] = dr_region
    doc.setdefault("conventions", {})["lock"] = {"mode": "table", "table": f"{prefix}locks"}
    directory.mkdir(parents=True)
    (directory / "bbws.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    return directory
