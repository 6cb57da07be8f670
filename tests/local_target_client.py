"""The test side of ``tests/local_target_process.py``: start it, talk to it, stop it.

    with running_target(state_dir, TABLESMITH_LOCAL_REPLICA_SECONDS="0.3") as target:
        target.endpoint, target.key          # sign with the key: the target answers no other
        target.reset()                       # or target.command("save start"), ...
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator

SCRIPT = Path(__file__).with_name("local_target_process.py")
_SERVING = re.compile(r"serving at (http://127\.0\.0\.1:\d+) key (\S+)")


@dataclass
class RunningTarget:
    """A local target process: its endpoint, its access key, and the pipe that commands it."""

    process: subprocess.Popen[str]
    endpoint: str
    key: str

    def command(self, line: str) -> None:
        """Send one command line (reset, save NAME, restore NAME) and wait for its ``ok``."""
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()
        answer = self.process.stdout.readline().strip()
        assert answer == "ok", f"{line}: {answer!r}"

    def reset(self) -> None:
        """Forget every resource the target holds."""
        self.command("reset")


@contextmanager
def running_target(state: Path, **env: str) -> Iterator[RunningTarget]:
    """A local target serving ``state`` in its own process, with ``env`` added; saved and
    stopped on the way out."""
    proc = subprocess.Popen([sys.executable, str(SCRIPT), str(state)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, **env})
    assert proc.stdout is not None and proc.stdin is not None and proc.stderr is not None
    match = _SERVING.search(proc.stdout.readline())
    if match is None:
        proc.kill()
        raise RuntimeError(f"the local target did not start: {proc.stderr.read()}")
    try:
        yield RunningTarget(proc, match.group(1), match.group(2))
    finally:
        proc.stdin.close()  # saves and stops
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(30)
