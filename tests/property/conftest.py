"""Fixtures of the randomized spec-evolution test: its own local target, and the run's tally.

The embedded local target runs in a subprocess of its own (``tests/local_target_process.py``,
as for the acceptance suite), so that moto's process-global state is never shared with the
test process, and it is emptied through that process's pipe before every example. Its
replicas stay CREATING / DELETING for ``REPLICA_SECONDS`` only: the phases are there (apply
waits for them), but a step costs milliseconds, not the 2 s default.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from local_target_client import RunningTarget, running_target

if TYPE_CHECKING:
    from collections.abc import Iterator

REPLICA_SECONDS = "0.2"
STATS_ENV = "TABLESMITH_EVOLUTION_STATS"  # a file to write the run's counts to (make soak)


@pytest.fixture(scope="module")
def evolution_target(
    tmp_path_factory: pytest.TempPathFactory, fake_aws_env: None
) -> Iterator[RunningTarget]:
    """A local target for this module alone, with short replica phases."""
    state = tmp_path_factory.mktemp("evolution-target") / "state"
    with running_target(state, TABLESMITH_LOCAL_REPLICA_SECONDS=REPLICA_SECONDS) as target:
        yield target


@pytest.fixture(scope="module")
def tally() -> Iterator[Counter[str]]:
    """Counts of the run (steps, refusals, items checked, ...), printed at the end and
    written to ``$TABLESMITH_EVOLUTION_STATS``. Replays while shrinking count too."""
    counts: Counter[str] = Counter()
    yield counts
    summary = dict(sorted(counts.items()))
    print(f"\nspec evolution: {json.dumps(summary)}")
    target = os.environ.get(STATS_ENV)
    if target:
        Path(target).write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
