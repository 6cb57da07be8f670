"""An embedded local target in its own process, for the acceptance suite, emptied on request.

    python tests/local_target_process.py STATE_DIR
    -> serving at http://127.0.0.1:PORT key ACCESS_KEY
    <- reset            (a line on stdin: forget everything)
    -> ok
    <- save NAME        (remember everything it holds now, in memory, as NAME)
    -> ok
    <- restore NAME     (hold exactly what it held at `save NAME`)
    -> ok
    <- (end of stdin)   save and stop

moto's ``/moto-api/reset`` is closed on the local target (anyone could wipe it), so the suite
empties its target through this pipe, which only the process that started it holds.
"""

from __future__ import annotations

import sys
from pathlib import Path

from tablesmith.local import snapshot
from tablesmith.local.server import LocalTarget


def main() -> None:
    """Serve the state directory in argv[1] until stdin ends; ``reset`` lines empty it,
    ``save``/``restore`` lines keep and bring back a state (faster than re-applying it)."""
    target = LocalTarget(Path(sys.argv[1]))
    saved: dict[str, str] = {}
    with target as endpoint:
        print(f"serving at {endpoint} key {target.access_key}", flush=True)
        for line in sys.stdin:
            command, _, name = line.strip().partition(" ")
            if command == "reset":
                target.clear()
                print("ok", flush=True)
            elif command in ("save", "restore"):
                with target._lock:  # no request is served while the backends change
                    if command == "save":
                        saved[name] = snapshot.dumps()
                    else:
                        snapshot.restore(snapshot.loads(saved[name]))
                print("ok", flush=True)


if __name__ == "__main__":
    main()
