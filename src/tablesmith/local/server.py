"""Run moto's server in this process on 127.0.0.1, with tablesmith's extensions and state.

    with LocalTarget(state_dir) as endpoint:      # loads the saved state, picks a free port
        ...talk to endpoint with any AWS SDK...    # saved again on the way out

Requests are served one at a time (moto's backends are not thread-safe), which also lets the
state be saved consistently while ``tablesmith local serve`` keeps serving. If another
process already serves the same state directory, its endpoint is used instead.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import TYPE_CHECKING, Any

from tablesmith.errors import LocalTargetError
from tablesmith.local.store import StateStore

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from pathlib import Path

HOST = "127.0.0.1"  # never 0.0.0.0: the local target is for this machine only
LOCAL_KEY = "tablesmith-local"  # fixed fake credentials: moto accepts any signature


def _prepare_moto() -> None:
    """Environment moto reads, and tablesmith's extensions, before the app is built."""
    os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")  # the two backup policies
    os.environ.setdefault("MOTO_ALLOW_NONEXISTENT_REGION", "false")
    from tablesmith.local.backup import install as install_backup
    from tablesmith.local.dynamodb import install as install_dynamodb

    install_dynamodb()
    install_backup()


class LocalTarget:
    """The embedded local target as a context manager yielding its endpoint URL."""

    def __init__(self, state_dir: Path, port: int = 0, *, save_interval: float = 1.0) -> None:
        self.store = StateStore(state_dir)
        self.port = port
        self.save_interval = save_interval
        self.endpoint = ""
        self.owner_pid: int | None = None  # set when another process serves this state
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._lock = threading.RLock()
        self._dirty = False
        self._saver: threading.Thread | None = None
        self._stopping = threading.Event()
        self.started_in = 0.0  # seconds from __enter__ to serving

    def __enter__(self) -> str:
        started = time.monotonic()
        owner = self.store.acquire()
        if owner is not None:
            if self.port and not owner.endpoint.endswith(f":{self.port}"):
                raise LocalTargetError(
                    f"the local state is already served at {owner.endpoint} "
                    f"(pid {owner.pid}); stop that `tablesmith local serve` first")
            self.endpoint, self.owner_pid = owner.endpoint, owner.pid
            return self.endpoint
        try:
            _prepare_moto()
            self.store.load()
            self._start()
        except BaseException:
            self.store.release()
            raise
        self.store.publish(self.endpoint)
        self.started_in = time.monotonic() - started
        return self.endpoint

    def _start(self) -> None:
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
        from werkzeug.serving import make_server

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        app = DomainDispatcherApplication(create_backend_app)

        def serialised(environ: dict[str, Any],
                       start_response: Callable[..., Any]) -> Iterable[bytes]:
            with self._lock:
                self._dirty = True
                return list(app(environ, start_response))

        try:
            self._server = make_server(HOST, self.port, serialised, threaded=True)
        except OSError as exc:
            raise LocalTargetError(f"cannot listen on {HOST}:{self.port}: {exc}") from exc
        self.endpoint = f"http://{HOST}:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        name="tablesmith-local")
        self._thread.start()

    def autosave(self) -> None:
        """Save in the background whenever requests changed something (for `local serve`)."""

        def loop() -> None:
            while not self._stopping.wait(self.save_interval):
                self.save_if_dirty()

        self._saver = threading.Thread(target=loop, daemon=True, name="tablesmith-save")
        self._saver.start()

    def save_if_dirty(self) -> None:
        """Save now if anything was served since the last save."""
        with self._lock:
            if self._dirty:
                self.store.save()
                self._dirty = False

    def __exit__(self, *exc: object) -> None:
        if self.owner_pid is not None:
            return  # someone else's server: nothing of ours to stop or save
        self._stopping.set()
        try:
            if self._server is not None:
                self._server.shutdown()
            self.save_if_dirty()
        finally:
            self.store.release()
