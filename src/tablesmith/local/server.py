"""Run moto's server in this process on 127.0.0.1, with tablesmith's extensions and state.

    with LocalTarget(state_dir) as endpoint:      # loads the saved state, picks a free port
        ...talk to endpoint with any AWS SDK...    # saved again on the way out

Requests are served one at a time (moto's backends are not thread-safe), which also lets the
state be saved consistently while ``tablesmith local serve`` keeps serving. If another
process already serves the same state directory, its endpoint is used instead.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
import socket
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tablesmith.errors import LocalTargetError
from tablesmith.local.gate import Gate
from tablesmith.local.store import StateStore, require_local_endpoint
from tablesmith.local.unknown import UnknownOperations, operation_name

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

HOST = "127.0.0.1"  # never 0.0.0.0: the local target is for this machine only
POLL_SECONDS = 0.5  # how often an idle serving loop wakes (a stop wakes it at once)
# operations that only read: serving them leaves nothing to save (moto's phases, replicas'
# CREATING included, are computed from timestamps when read, so a read changes nothing)
_READ_ONLY = re.compile(r"(Describe|List|Get|BatchGet)[A-Z]\w*|Query|Scan")
# moto's first-request costs, paid by LocalTarget.warm: one read per service tablesmith calls,
# handed to moto's app in-process. Not sent by botocore clients over HTTP: making the eight
# clients cost the helper more than the warming saves (bench_local: 1.42x -> 2.12x)
WARM_REGION = "af-south-1"
WARM_KEY = "warm"  # only the key's ID is read, and the access key is not needed
_JSON = "application/x-amz-json-1.0"
_FORM = "application/x-www-form-urlencoded; charset=utf-8"
_WARM_READS: tuple[tuple[str, str, str, dict[str, str], str], ...] = (
    ("sts", "POST", "/", {"Content-Type": _FORM}, "Action=GetCallerIdentity&Version=2011-06-15"),
    ("dynamodb", "POST", "/", {"Content-Type": _JSON,
                               "X-Amz-Target": "DynamoDB_20120810.ListTables"}, '{"Limit": 1}'),
    ("tagging", "POST", "/", {"Content-Type": "application/x-amz-json-1.1",
                              "X-Amz-Target": "ResourceGroupsTaggingAPI_20170126.GetResources"},
     '{"ResourcesPerPage": 1}'),
    ("monitoring", "POST", "/", {"Content-Type": _FORM},
     "Action=DescribeAlarms&Version=2010-08-01&MaxRecords=1"),
    ("backup", "GET", "/backup-vaults/?maxResults=1", {}, ""),
    ("backup", "GET", "/backup/plans/?maxResults=1", {}, ""),
    ("iam", "POST", "/", {"Content-Type": _FORM}, "Action=ListRoles&Version=2010-05-08&MaxItems=1"),
    ("kms", "POST", "/", {"Content-Type": "application/x-amz-json-1.1",
                          "X-Amz-Target": "TrentService.ListKeys"}, '{"Limit": 1}'),
)
# endpoint -> access key of every local target this process serves or talks to: the AWS
# session for a local Target signs with it (see aws.Clients)
_ACCESS_KEYS: dict[str, str] = {}


def access_key_for(endpoint: str | None, state_dir: str | None = None) -> str:
    """The access key to sign requests to the local target at ``endpoint`` with.

    The target must be one this process entered, or ``state_dir`` must hold its key; and it
    must be on loopback: the key never goes anywhere else (no fallback to AWS either).
    """
    endpoint = require_local_endpoint(endpoint)
    key = _ACCESS_KEYS.get(endpoint)
    if key is None and state_dir:
        key = StateStore(Path(state_dir)).access_key()
    if key is None:
        raise LocalTargetError(f"no access key is known for the local target at {endpoint}: "
                               "start it with tablesmith.local.server.LocalTarget")
    return key


def remember_access_key(endpoint: str, key: str) -> None:
    """Sign this process's requests to the local target at ``endpoint`` with ``key``."""
    _ACCESS_KEYS[endpoint] = key


def forget_access_key(endpoint: str) -> None:
    _ACCESS_KEYS.pop(endpoint, None)


def changes_state(environ: dict[str, Any]) -> bool:
    """Whether serving a request may change the local state (so that a save is due).

    Reads (Describe*, List*, Get*, Query, Scan, BatchGet*; a REST GET) do not; anything else,
    or a request whose operation cannot be told, may. A query-protocol request (IAM, STS,
    SNS) names its Action in the form body, which is read here and put back for moto.
    """
    name = operation_name(environ)
    if name is None and str(environ.get("CONTENT_TYPE", "")).startswith(
            "application/x-www-form-urlencoded"):
        name = _form_action(environ)
    if name is not None:
        return _READ_ONLY.fullmatch(name) is None
    return environ.get("REQUEST_METHOD") not in ("GET", "HEAD")


def _form_action(environ: dict[str, Any]) -> str | None:
    from urllib.parse import parse_qs

    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None
    if length <= 0 or length > 1 << 20:
        return None
    body = environ["wsgi.input"].read(length)
    environ["wsgi.input"] = io.BytesIO(body)
    action = parse_qs(body.decode("utf-8", "replace")).get("Action")
    return action[0] if action else None


def _share_moto_loader() -> None:
    """One botocore loader for all of moto's model reads, instead of a new one per read.

    moto reads each service's model and paginators through a fresh loader, and each fresh
    loader lists the ~450 service folders of botocore and moto again before its first read
    (a directory listing per service): tens of milliseconds per read, per command. The
    shared one looks in the service's own folders only (``aws.direct_lookup``): botocore's
    listing, once per model type, still took 45-60 ms each of a helper's start.
    """
    import functools

    from moto.core import loaders, utils

    from tablesmith.aws import direct_lookup

    namespace = vars(utils)  # moto.core.utils imported it: its own name is the one used
    if not hasattr(namespace["create_loader"], "cache_info"):
        def create_loader() -> Any:  # moto's own, with its extras' search path
            return direct_lookup(loaders.Loader)(extra_search_paths=[loaders.moto_root])

        namespace["create_loader"] = functools.cache(create_loader)
    # the boto3 session moto lists each service's Regions with (once per service and
    # account, when its backend is made) reads the same models: through the same loader
    from moto.core.base_backend import AccountSpecificBackend

    if not getattr(AccountSpecificBackend.get_session, "_ts_shared", False):
        def get_session() -> Any:
            import boto3
            import botocore.session

            session = botocore.session.Session()
            session.register_component("data_loader", namespace["create_loader"]())
            return boto3.session.Session(botocore_session=session)

        shared = functools.cache(get_session)
        shared._ts_shared = True  # type: ignore[attr-defined]
        AccountSpecificBackend.get_session = staticmethod(shared)  # type: ignore[assignment]


def _prepare_moto() -> None:
    """Environment moto reads, and tablesmith's extensions, before the app is built."""
    os.environ.setdefault("MOTO_ALLOW_NONEXISTENT_REGION", "false")
    from tablesmith.local.backup import install as install_backup
    from tablesmith.local.bulk import install as install_bulk
    from tablesmith.local.cloudwatch import install as install_cloudwatch
    from tablesmith.local.dynamodb import install as install_dynamodb
    from tablesmith.local.iam import install as install_iam
    from tablesmith.local.newer import install as install_newer
    from tablesmith.local.partiql import install as install_partiql
    from tablesmith.local.routing import install as install_routing

    _share_moto_loader()
    install_routing()  # REST rules compile werkzeug's URL builders only if a URL is built
    install_iam()  # AWS-managed policies built when named, not 1,580 per backend (0.2 s)
    install_dynamodb()
    install_newer()  # after dynamodb: it wraps the same handlers (policies, insights, MRSC, ...)
    install_partiql()  # after dynamodb: its replica sync wraps the same method
    install_cloudwatch()
    install_backup()
    install_bulk()  # after backup: it replaces backup's empty recovery-point listing


class LocalTarget:
    """The embedded local target as a context manager yielding its endpoint URL."""

    def __init__(self, state_dir: Path, port: int = 0, *, save_interval: float = 1.0) -> None:
        self.state_dir = state_dir
        self.store = StateStore(state_dir)
        self.port = port
        self.save_interval = save_interval
        self.endpoint = ""
        self.access_key = ""  # the state directory's: requests must be signed with it
        self.owner_pid: int | None = None  # set when another process serves this state
        self._server: Any = None
        self._app: Any = None  # moto's dispatcher, behind the lock
        self._thread: threading.Thread | None = None
        self._lock = threading.RLock()
        self._dirty = False
        self._saver: threading.Thread | None = None
        self._stopping = threading.Event()
        self.started_in = 0.0  # seconds from __enter__ to serving

    def start(self) -> LocalTarget:
        """Nothing to start ahead: this target starts when entered (the counterpart of
        ``tablesmith.local.helper.HelperTarget.start``, which loads ahead)."""
        return self

    def close(self, *, failed: bool = False) -> None:
        """Nothing to stop outside the ``with`` block (``HelperTarget.close``'s counterpart)."""

    def __enter__(self) -> str:
        started = time.monotonic()
        owner = self.store.acquire()
        if owner is not None:
            if self.port and not owner.endpoint.endswith(f":{self.port}"):
                raise LocalTargetError(
                    f"the local state is already served at {owner.endpoint} "
                    f"(pid {owner.pid}); stop that `tablesmith local serve` first")
            self.endpoint, self.owner_pid = owner.endpoint, owner.pid
            self.access_key = self.store.access_key()
            remember_access_key(self.endpoint, self.access_key)
            return self.endpoint
        try:
            self.access_key = self.store.access_key()
            _prepare_moto()
            self.store.load()
            self._start()
            self.store.publish(self.endpoint)
        except BaseException:
            self._stop_serving()
            self.store.release()
            raise
        remember_access_key(self.endpoint, self.access_key)
        self.started_in = time.monotonic() - started
        return self.endpoint

    def _start(self) -> None:
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
        from werkzeug.serving import make_server

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        app = self._app = DomainDispatcherApplication(create_backend_app)

        def serialised(environ: dict[str, Any],
                       start_response: Callable[..., Any]) -> Iterable[bytes]:
            changes = changes_state(environ)  # before moto reads the body
            with self._lock:
                if self._stopping.is_set():  # after the last save: what it did would be lost
                    start_response("503 Service Unavailable",
                                   [("Content-Type", "text/plain; charset=utf-8")])
                    return [b"the local target is stopping: nothing was done"]
                self._dirty = self._dirty or changes
                return list(app(environ, start_response))

        # Host, CORS, /moto-api/*, access key; then moto's "not implemented" made AWS-shaped
        gate = Gate(UnknownOperations(serialised), self.access_key)
        try:
            self._server = make_server(HOST, self.port, gate, threaded=True)
        except OSError as exc:
            raise LocalTargetError(f"cannot listen on {HOST}:{self.port}: {exc}") from exc
        gate.port = self._server.server_port
        self.endpoint = f"http://{HOST}:{self._server.server_port}"
        # shutdown() waits for the loop to look at its flag, which it does when it wakes:
        # _stop_serving wakes it, so that a one-shot `--local` command waits no poll out
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": POLL_SECONDS}, daemon=True,
                                        name="tablesmith-local")
        self._thread.start()

    def warm(self) -> None:
        """Pay moto's first-request costs now, before the first client asks.

        moto builds each service's app (its URL rules), reads its botocore model and makes its
        backends on the first request to it. A helper process (``tablesmith.local.helper``)
        does this while its command still loads the spec, by serving itself one read per
        service tablesmith calls, inside the process and without the gate. Reads change
        nothing, and nothing is marked to save. Skipped when moto enforces IAM
        (``INITIAL_NO_AUTH_ACTION_COUNT``), where every request counts.
        """
        if self._app is None or os.environ.get("INITIAL_NO_AUTH_ACTION_COUNT"):
            return
        from werkzeug.test import EnvironBuilder

        for service, method, path, headers, body in _WARM_READS:
            if self._stopping.is_set():
                return
            scope = f"{WARM_KEY}/20260101/{WARM_REGION}/{service}/aws4_request"
            signed = {**headers, "Authorization": f"AWS4-HMAC-SHA256 Credential={scope}, "
                                                  "SignedHeaders=host, Signature=0"}
            builder = EnvironBuilder(path=path, method=method, data=body,
                                     base_url=self.endpoint, headers=list(signed.items()))
            environ = builder.get_environ()
            with self._lock, contextlib.suppress(Exception):  # a cold start, not a failure
                list(self._app(environ, lambda *_: None))

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

    def clear(self) -> None:
        """Forget everything this running target holds (what moto's closed reset API did).

        Only the process that serves the state can do it: a test harness empties its own
        target between cases this way instead of through ``/moto-api/reset``.
        """
        if self.owner_pid is not None or self._server is None:
            raise LocalTargetError("only the process serving the local target can clear it")
        from moto.moto_api._internal.models import moto_api_backend

        with self._lock:
            moto_api_backend.reset()
            self._dirty = True

    def __exit__(self, *exc: object) -> None:
        if self.owner_pid is not None:
            return  # someone else's server: nothing of ours to stop or save
        self._stopping.set()
        try:
            self._stop_serving()
            self.save_if_dirty()
        finally:
            forget_access_key(self.endpoint)
            self.store.release()

    def _stop_serving(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        if self._thread is not None and self._thread.is_alive():
            # shutdown() returns once the serving loop sees its flag, which the loop looks at
            # when its select() returns: every POLL_SECONDS, or at once when a connection
            # arrives. One a millisecond wakes it (as stdlib's socketserver suggests): a
            # poll of 20 ms took 10-20 ms of every --local command's exit
            stopping = threading.Thread(target=server.shutdown, daemon=True,
                                        name="tablesmith-stop")
            stopping.start()
            while stopping.is_alive() and self._thread.is_alive():
                with contextlib.suppress(OSError):
                    socket.create_connection((HOST, server.server_port), timeout=1).close()
                stopping.join(0.001)
        server.server_close()
