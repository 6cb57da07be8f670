"""`tablesmith local serve` as a subprocess for tests that build a local account with boto3.

    with local_serve(spec_dir, state_dir, env) as endpoint:
        ...                                   # saved and stopped (SIGTERM) on the way out
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator

TABLESMITH = str(Path(sys.executable).with_name("tablesmith"))


@contextmanager
def local_serve(spec_dir: Path, state_dir: Path, env: dict[str, str]) -> Iterator[str]:
    """Serve ``state_dir``; the endpoint. The server must stop cleanly (exit 0)."""
    proc = subprocess.Popen(
        [TABLESMITH, "local", "serve", str(spec_dir), "--state-dir", str(state_dir)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None and proc.stderr is not None
        line = proc.stdout.readline()
        match = re.search(r"serving at (http://127\.0\.0\.1:\d+)", line)
        assert match, line + (proc.stderr.read() if proc.poll() is not None else "")
        yield match.group(1)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0
