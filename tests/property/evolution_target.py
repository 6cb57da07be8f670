"""The local target of the evolution test, as the test and its fixture see it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import subprocess


@dataclass
class LocalTarget:
    """A running local target: its endpoint, its access key, and the pipe that empties it."""

    endpoint: str
    access_key: str
    process: subprocess.Popen[str]

    def reset(self) -> None:
        """Forget every resource the target holds."""
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write("reset\n")
        self.process.stdin.flush()
        assert self.process.stdout.readline().strip() == "ok"
