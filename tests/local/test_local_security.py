"""Issue 16 items 5-7: the local target is private and its state directory is safe.

Each test keeps one demonstrated hole closed:

* item 5, the open admin server: ``/moto-api/*`` is refused (and the state survives it), a
  request needs the state directory's access key, the Host header must be the loopback
  address, and CORS is off;
* item 6, ``endpoint.json`` followed blindly: a non-loopback, empty or dead endpoint is never
  used, and ``--local`` never falls back to another endpoint (a listener proves that nothing
  arrives);
* item 7, the state directory: 0700 directories, 0600 files from their creation, symlinks
  refused with their targets untouched, foreign or group-writable directories refused, a
  ``.gitignore``, one backup of the state, and one-line errors for a read-only directory.
"""

from __future__ import annotations

import errno
import fcntl
import http.client
import json
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from click.testing import CliRunner

from tablesmith.errors import LocalTargetError
from tablesmith.local import safefs, store
from tablesmith.local.store import StateStore

if TYPE_CHECKING:
    from collections.abc import Iterator

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "bbws.yaml"
TABLESMITH = str(Path(sys.executable).with_name("tablesmith"))
REGION = "af-south-1"
NOBODY = 65534
LIST_TABLES = b"{}"


# ------------------------------------------------------------------ helpers


class Served:
    """A `tablesmith local serve` subprocess: its endpoint, port and printed access key."""

    def __init__(self, proc: subprocess.Popen[str], endpoint: str, key: str, state: Path) -> None:
        self.proc, self.endpoint, self.key, self.state = proc, endpoint, key, state
        self.port = int(endpoint.rsplit(":", 1)[1])

    def client(self, service: str = "dynamodb", key: str | None = None) -> Any:
        key = key or self.key
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=key,
            aws_secret_access_key=key,
        )

    def request(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> http.client.HTTPResponse:
        """A raw request with exactly these headers (Host included)."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        for name, value in {"Host": f"127.0.0.1:{self.port}", **(headers or {})}.items():
            connection.putheader(name, value)
        connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        response = connection.getresponse()
        response.read()
        return response

    def signed_headers(
        self, host: str, key: str | None = None, path: str = "/", body: bytes = LIST_TABLES
    ) -> dict[str, str]:
        """SigV4 headers for DynamoDB ListTables addressed to ``host``."""
        key = key or self.key
        request = AWSRequest(
            method="POST",
            url=f"http://{host}{path}",
            data=body,
            headers={
                "Content-Type": "application/x-amz-json-1.0",
                "X-Amz-Target": "DynamoDB_20120810.ListTables",
            },
        )
        SigV4Auth(Credentials(key, key), "dynamodb", REGION).add_auth(request)
        return {"Host": host, **{k: str(v) for k, v in request.headers.items()}}


def serve(state: Path) -> Served:
    proc = subprocess.Popen(
        [TABLESMITH, "local", "serve", str(EXAMPLES), "--state-dir", str(state)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stderr is not None
    lines = [proc.stdout.readline() for _ in range(3)]
    match = re.search(r"serving at (http://127\.0\.0\.1:\d+)", lines[0])
    assert match, "".join(lines) + (proc.stderr.read() if proc.poll() is not None else "")
    key = re.search(r"aws_access_key_id='([^']+)', aws_secret_access_key='([^']+)'", lines[2])
    assert key and key.group(1) == key.group(2), lines
    assert f"AWS_ACCESS_KEY_ID={key.group(1)} " in proc.stdout.readline()
    return Served(proc, match.group(1), key.group(1), state)


def stop(served: Served) -> None:
    served.proc.send_signal(signal.SIGTERM)
    try:
        served.proc.wait(30)
    except subprocess.TimeoutExpired:
        served.proc.kill()
        served.proc.wait(10)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, fake_aws_env: None) -> Iterator[Served]:
    """One local target for the gate tests, holding table ``guarded`` with 5 items."""
    target = serve(tmp_path_factory.mktemp("served") / ".tablesmith" / "local")
    try:
        ddb = target.client()
        ddb.create_table(
            TableName="guarded",
            BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}],
        )
        for i in range(5):
            ddb.put_item(TableName="guarded", Item={"PK": {"S": f"item-{i}"}})
        yield target
    finally:
        stop(target)


def item_count(target: Served) -> int:
    return int(target.client().scan(TableName="guarded", Select="COUNT")["Count"])


def error_of(response: http.client.HTTPResponse) -> str:
    return str(response.getheader("x-amzn-ErrorType") or "")


class Listener:
    """A TCP listener on loopback that records every connection it accepts."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.sock = socket.socket()
        self.sock.bind((host, 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.url = f"http://{host}:{self.sock.getsockname()[1]}"
        self.received: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(1)
                try:
                    self.received.append(conn.recv(65536) or b"(connected)")
                except OSError:
                    self.received.append(b"(connected)")

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sock.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    spy = Listener()
    yield spy
    spy.close()


def run(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "TABLESMITH_POLL_INTERVAL": "0.2", **(env or {})}
    return subprocess.run(
        [TABLESMITH, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=environ,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def hold_lock(state: Path) -> subprocess.Popen[str]:
    """Another process of ours holding the state's lock (as a running command would)."""
    code = (
        "import fcntl, sys, time\n"
        "f = open(sys.argv[1], 'a+')\n"
        "fcntl.flock(f, fcntl.LOCK_EX)\n"
        "print('held', flush=True)\n"
        "time.sleep(120)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(state / "lock")], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


@pytest.fixture
def state(tmp_path: Path) -> Path:
    """A state directory path (not created) in the default layout."""
    return tmp_path / "project" / ".tablesmith" / "local"


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A file outside the state directory that planted links point at."""
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    victim.chmod(0o644)
    return victim


def untouched(victim: Path) -> bool:
    return victim.read_text() == "precious\n" and mode(victim) == 0o644


# ------------------------------------------------------------------ item 5: a private server


def test_moto_api_is_refused_and_the_state_survives(served: Served) -> None:
    assert item_count(served) == 5
    for method, path in [
        ("GET", "/moto-api/data.json"),
        ("POST", "/moto-api/reset"),
        ("POST", "/moto-api/recorder/upload-recording"),
        ("POST", "/moto-api/recorder/start-recording"),
        ("POST", "//moto-api/reset"),
        ("POST", "/x/../moto-api/reset"),
        ("POST", "/%6Doto-api/reset"),
        ("GET", "/latest/meta-data/"),
    ]:
        anonymous = served.request(method, path)
        assert anonymous.status == 403, (method, path)
        # with the right key too: the admin API is not AWS's and has no business here
        signed = served.request(
            method,
            path,
            headers=served.signed_headers(f"127.0.0.1:{served.port}", path=path, body=b""),
        )
        assert signed.status == 403, (method, path)
        assert error_of(signed) == "AccessDeniedException"
    assert item_count(served) == 5
    time.sleep(1.5)  # past an autosave: the wipe was never made, so none is persisted
    assert item_count(served) == 5


def test_moto_api_refusal_is_aws_shaped_json(served: Served) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", served.port, timeout=10)
    connection.request("GET", "/moto-api/data.json")
    response = connection.getresponse()
    body = json.loads(response.read())
    assert response.status == 403
    assert body["__type"].endswith("#AccessDeniedException")
    assert "disabled" in body["message"]
    assert "guarded" not in json.dumps(body)  # no item, no table name


def test_a_wrong_access_key_is_refused(served: Served) -> None:
    with pytest.raises(ClientError) as refused:
        served.client(key="TSL" + "0" * 32).list_tables()
    assert refused.value.response["Error"]["Code"] == "UnrecognizedClientException"
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    with pytest.raises(ClientError) as old_fixed_key:  # the key every install used to share
        served.client(key="tablesmith-local").list_tables()
    assert old_fixed_key.value.response["Error"]["Code"] == "UnrecognizedClientException"
    with pytest.raises(ClientError) as query_protocol:  # IAM answers in its own XML shape
        served.client("iam", key="testing").list_roles()
    assert query_protocol.value.response["Error"]["Code"] == "InvalidClientTokenId"
    unsigned = served.request(
        "POST",
        "/",
        LIST_TABLES,
        {
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": "DynamoDB_20120810.ListTables",
        },
    )
    assert unsigned.status == 403
    presigned = served.request(
        "GET",
        "/?Action=ListRoles&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential="
        "TSL00000000000000000000000000000000%2F20260101%2Faf-south-1%2Fiam%2Faws4_request",
    )
    assert presigned.status == 403
    assert "guarded" in served.client().list_tables()["TableNames"]  # the right key works


def test_a_host_that_is_not_the_loopback_address_is_refused(served: Served) -> None:
    for host in (
        f"evil.example:{served.port}",
        "127.0.0.1",
        f"127.0.0.1:{served.port + 1}",
        f"localhost.evil.example:{served.port}",
    ):
        response = served.request("POST", "/", LIST_TABLES, served.signed_headers(host))
        assert response.status == 403, host
        assert error_of(response) == "InvalidSignatureException"
    for host in (f"127.0.0.1:{served.port}", f"localhost:{served.port}"):
        assert served.request("POST", "/", LIST_TABLES, served.signed_headers(host)).status == 200


def test_cors_is_off(served: Served) -> None:
    preflight = served.request(
        "OPTIONS",
        "/",
        headers={
            "Origin": "http://attacker.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type,x-amz-target",
        },
    )
    assert preflight.status == 403
    assert not [h for h, _ in preflight.getheaders() if h.lower().startswith("access-control")]
    # a page's simple request with the right key (it cannot know it) is refused all the same
    from_page = served.request(
        "POST",
        "/",
        LIST_TABLES,
        {**served.signed_headers(f"127.0.0.1:{served.port}"), "Origin": "http://attacker.example"},
    )
    assert from_page.status == 403
    assert not [h for h, _ in from_page.getheaders() if h.lower().startswith("access-control")]
    ordinary = served.request(
        "POST", "/", LIST_TABLES, served.signed_headers(f"127.0.0.1:{served.port}")
    )
    assert ordinary.status == 200
    assert not [h for h, _ in ordinary.getheaders() if h.lower().startswith("access-control")]


def test_serve_prints_the_state_directorys_own_key(served: Served) -> None:
    saved = json.loads((served.state / "credentials.json").read_text())["access_key"]
    assert served.key == saved
    assert mode(served.state / "credentials.json") == 0o600


def test_the_access_key_is_per_state_directory_and_kept(tmp_path: Path) -> None:
    first = StateStore(tmp_path / "a" / ".tablesmith" / "local")
    second = StateStore(tmp_path / "b" / ".tablesmith" / "local")
    for s in (first, second):
        assert s.acquire() is None
    try:
        key = first.access_key()
        assert re.fullmatch(r"TSL[0-9A-F]{32}", key)
        assert key != second.access_key()
        assert key == first.access_key()  # the same on every start: applications keep it
        assert mode(first.credentials_file) == 0o600
    finally:
        first.release()
        second.release()


# ------------------------------------------------------------------ item 6: endpoint.json


def plant_endpoint(state: Path, endpoint: str, pid: int) -> None:
    state.mkdir(parents=True, exist_ok=True, mode=0o700)
    (state / "endpoint.json").write_text(json.dumps({"endpoint": endpoint, "pid": pid}))


@pytest.mark.parametrize(
    "endpoint",
    [
        "http://192.0.2.2:8088",
        "",
        "http://127.0.0.3:SPY",
        "http://localhost:PORT",
        "https://127.0.0.1:PORT",
        "http://127.0.0.1:PORT/x",
        "http://127.0.0.1",
    ],
)
def test_a_foreign_endpoint_of_a_held_state_is_refused(
    endpoint: str, state: Path, listener: Listener
) -> None:
    """The lock is held (a live command) and endpoint.json points elsewhere: refused at once,
    and nothing is sent anywhere (not there, not to AWS_ENDPOINT_URL, not to AWS).

    ``listener`` (127.0.0.1) is AWS_ENDPOINT_URL and the port of the "PORT" variants; ``spy``
    listens on another loopback address, which is not the local target's either.
    """
    spy = Listener("127.0.0.3")
    endpoint = endpoint.replace("PORT", listener.url.rsplit(":", 1)[1]).replace(
        "SPY", spy.url.rsplit(":", 1)[1]
    )
    plant_endpoint(state, endpoint, os.getpid())  # a live process of ours
    holder = hold_lock(state)
    try:
        started = time.monotonic()
        result = run(
            "plan",
            str(EXAMPLES),
            "--env",
            "dev",
            "--local",
            "--state-dir",
            str(state),
            env={"AWS_ENDPOINT_URL": listener.url},
        )
        assert result.returncode == 1, result.stdout + result.stderr
        assert "endpoint.json" in result.stderr and "Traceback" not in result.stderr
        assert time.monotonic() - started < 20  # refused, not waited out or connected to
    finally:
        holder.kill()
        holder.wait()
        spy.close()
    assert listener.received == [] and spy.received == []


def test_a_dead_server_endpoint_is_ignored_and_the_command_serves_itself(
    state: Path, listener: Listener
) -> None:
    plant_endpoint(state, listener.url, dead_pid())
    result = run(
        "plan",
        str(EXAMPLES),
        "--env",
        "dev",
        "--local",
        "--state-dir",
        str(state),
        "--table",
        "tenants",
        env={"AWS_ENDPOINT_URL": listener.url},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    used = re.search(r"local target: (http://127\.0\.0\.1:\d+)", result.stderr)
    assert used and used.group(1) != listener.url
    assert listener.received == []
    assert not (state / "endpoint.json").exists()  # the stale file is gone


def test_a_dead_pid_is_not_an_owner(
    state: Path, listener: Listener, monkeypatch: pytest.MonkeyPatch
) -> None:
    plant_endpoint(state, listener.url, dead_pid())
    holder = hold_lock(state)
    monkeypatch.setattr(StateStore, "wait_seconds", 0.5)
    try:
        with pytest.raises(LocalTargetError, match="in use by another tablesmith command"):
            StateStore(state).acquire()
    finally:
        holder.kill()
        holder.wait()
    assert listener.received == []


def test_an_endpoint_of_another_users_process_is_refused(
    state: Path, listener: Listener, monkeypatch: pytest.MonkeyPatch
) -> None:
    plant_endpoint(state, listener.url, os.getpid())
    holder = hold_lock(state)
    monkeypatch.setattr(store, "process_owner", lambda pid: NOBODY)
    try:
        with pytest.raises(LocalTargetError, match="uid 65534, not yours"):
            StateStore(state).acquire()
    finally:
        holder.kill()
        holder.wait()


def test_only_a_loopback_http_endpoint_with_a_port_counts() -> None:
    assert store.is_local_endpoint("http://127.0.0.1:8000")
    for endpoint in (
        "",
        None,
        "http://127.0.0.1",
        "http://127.0.0.1:0",
        "http://127.0.0.1:99999",
        "http://localhost:8000",
        "https://127.0.0.1:8000",
        "http://192.0.2.2:8088",
        "http://127.0.0.1:8000/",
        "http://127.0.0.1:8000@evil.example:80",
        "http://127.0.0.1.evil.example:8000",
    ):
        assert not store.is_local_endpoint(endpoint), endpoint


def test_a_local_target_never_falls_back_to_another_endpoint(
    monkeypatch: pytest.MonkeyPatch, listener: Listener
) -> None:
    from tablesmith.aws import Clients, Target

    monkeypatch.setenv("AWS_ENDPOINT_URL", listener.url)
    for endpoint in (None, "", "http://192.0.2.2:8088"):
        clients = Clients(Target(region=REGION, endpoint_url=endpoint, static_credentials=True))
        with pytest.raises(LocalTargetError, match="refusing"):
            clients.dynamodb().list_tables()
    assert listener.received == []


# ------------------------------------------------------------------ item 7: the state directory


def test_directories_are_0700_with_a_gitignore(state: Path) -> None:
    previous = os.umask(0)  # the modes must not depend on the umask
    try:
        s = StateStore(state)
        assert s.acquire() is None
        s.release()
    finally:
        os.umask(previous)
    assert mode(state) == 0o700
    assert mode(state.parent) == 0o700
    gitignore = state.parent / ".gitignore"
    assert "*" in gitignore.read_text().splitlines()
    assert mode(state / "lock") == 0o600


def test_an_older_readable_directory_is_tightened(state: Path) -> None:
    state.mkdir(parents=True)
    state.chmod(0o755)
    state.parent.chmod(0o755)
    StateStore(state).acquire()
    assert mode(state) == mode(state.parent) == 0o700


def test_files_are_0600_from_their_creation(state: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, int] = {}
    real_replace = os.replace

    def spy(src: Any, dst: Any, **kwargs: Any) -> None:
        if str(src).endswith(".tmp"):
            seen[Path(dst).name] = mode(Path(src))  # the temp file, before it takes the name
        real_replace(src, dst, **kwargs)

    previous = os.umask(0)
    monkeypatch.setattr(os, "replace", spy)
    try:
        s = StateStore(state)
        assert s.acquire() is None
        s.access_key()
        s.publish("http://127.0.0.1:4567")
        s._write_state('{"format": 2}')
        s._write_state('{"format": 2, "n": 2}')
        s.release()
    finally:
        os.umask(previous)
    assert seen == {
        "credentials.json": 0o600,
        "endpoint.json": 0o600,
        "state.json": 0o600,
        ".gitignore": 0o600,
    }
    for name in ("state.json", "state.json.bak", "credentials.json", "lock"):
        assert mode(state / name) == 0o600, name


def test_the_previous_state_is_kept_as_a_backup(state: Path) -> None:
    s = StateStore(state)
    assert s.acquire() is None
    try:
        assert s._read_state() is None
        s._write_state('{"n": 1}')
        assert not s.backup_file.exists()
        s._write_state('{"n": 2}')
        s._write_state('{"n": 3}')
        assert s._read_state() == '{"n": 3}'
        assert s.backup_file.read_text() == '{"n": 2}'  # one previous state, rotated

        s.snapshot_file.write_text('{"n": 3, trunc')
        with pytest.raises(LocalTargetError) as corrupt:
            s._read_state()
        message = str(corrupt.value)
        assert str(s.backup_file) in message and "cp " in message and "\n" not in message

        s.snapshot_file.unlink()
        with pytest.raises(LocalTargetError) as missing:
            s._read_state()
        assert "missing" in str(missing.value)
        assert f"cp {s.backup_file} {s.snapshot_file}" in str(missing.value)

        s.backup_file.unlink()
        s.snapshot_file.write_text("not json")
        with pytest.raises(LocalTargetError, match="tablesmith local reset"):
            s._read_state()
        assert "reset" in str(s.state_error("schema mismatch"))
    finally:
        s.release()


@pytest.mark.parametrize("name", ["state.json", "state.json.tmp", "state.json.bak"])
def test_a_planted_state_link_is_refused_and_its_target_untouched(
    name: str, state: Path, outside: Path
) -> None:
    s = StateStore(state)
    assert s.acquire() is None
    try:
        s._write_state('{"n": 1}')
        (state / name).unlink(missing_ok=True)
        (state / name).symlink_to(outside)
        with pytest.raises(LocalTargetError, match="symlink"):
            s._write_state('{"n": 2}')
        if name == "state.json":
            with pytest.raises(LocalTargetError, match="symlink"):
                s._read_state()
    finally:
        s.release()
    assert untouched(outside)
    assert (state / name).is_symlink()


def test_a_planted_lock_link_is_refused_and_its_target_untouched(
    state: Path, outside: Path
) -> None:
    state.mkdir(parents=True, mode=0o700)
    (state / "lock").symlink_to(outside)
    with pytest.raises(LocalTargetError, match="symlink"):
        StateStore(state).acquire()
    assert untouched(outside)


@pytest.mark.parametrize("name", ["endpoint.json", "credentials.json"])
def test_a_planted_endpoint_or_key_link_is_refused(name: str, state: Path, outside: Path) -> None:
    s = StateStore(state)
    assert s.acquire() is None
    try:
        (state / name).symlink_to(outside)
        with pytest.raises(LocalTargetError, match="symlink"):
            if name == "endpoint.json":
                s.publish("http://127.0.0.1:4567")
            else:
                s.access_key()
        with pytest.raises(LocalTargetError, match="symlink"):
            if name == "endpoint.json":
                s._owner()
            else:
                s.access_key()
    finally:
        s.release()
    assert untouched(outside)


def test_an_endpoint_link_is_refused_by_a_waiting_command(state: Path, outside: Path) -> None:
    state.mkdir(parents=True, mode=0o700)
    (state / "endpoint.json").symlink_to(outside)
    holder = hold_lock(state)
    try:
        with pytest.raises(LocalTargetError, match="symlink"):
            StateStore(state).acquire()
    finally:
        holder.kill()
        holder.wait()
    assert untouched(outside)


@pytest.mark.parametrize("link", ["local", ".tablesmith"])
def test_a_linked_state_directory_is_refused(link: str, state: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    (elsewhere / "local").mkdir(mode=0o700)
    if link == "local":
        state.parent.mkdir(parents=True, mode=0o700)
        state.symlink_to(elsewhere / "local")
    else:
        state.parent.parent.mkdir(parents=True)
        state.parent.symlink_to(elsewhere)
    with pytest.raises(LocalTargetError, match="is a symlink"):
        StateStore(state).acquire()
    assert list(elsewhere.rglob("*")) == [elsewhere / "local"]


@pytest.mark.parametrize("which", ["local", ".tablesmith"])
def test_a_group_writable_directory_is_refused(which: str, state: Path) -> None:
    state.mkdir(parents=True, mode=0o700)
    target = state if which == "local" else state.parent
    target.chmod(0o770)
    with pytest.raises(LocalTargetError) as refused:
        StateStore(state).acquire()
    assert f"chmod 700 {target}" in str(refused.value)
    assert mode(target) == 0o770  # refused, not silently changed
    assert not (state / "lock").exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="making a directory another user's needs root")
@pytest.mark.parametrize("which", ["local", ".tablesmith"])
def test_a_directory_of_another_user_is_refused_even_for_root(which: str, state: Path) -> None:
    state.mkdir(parents=True, mode=0o700)
    target = state if which == "local" else state.parent
    os.chown(target, NOBODY, NOBODY)
    with pytest.raises(LocalTargetError) as refused:
        StateStore(state).acquire()
    assert str(target) in str(refused.value) and "owned by uid 65534" in str(refused.value)
    assert not (state / "lock").exists()


def test_a_state_file_of_another_user_is_refused(state: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("making a file another user's needs root")
    s = StateStore(state)
    assert s.acquire() is None
    try:
        s._write_state('{"n": 1}')
        os.chown(s.snapshot_file, NOBODY, NOBODY)
        with pytest.raises(LocalTargetError, match="owned by uid 65534"):
            s._read_state()
    finally:
        s.release()


def test_another_user_cannot_hold_the_lock(state: Path) -> None:
    """The lock is 0600 in a 0700 directory of ours: only we (or root) can open it."""
    s = StateStore(state)
    assert s.acquire() is None
    try:
        assert mode(state / "lock") == 0o600 and mode(state) == 0o700
        assert os.lstat(state).st_uid == os.geteuid()
        busy = open(state / "lock")  # noqa: SIM115 - a second holder, in this process
        with busy, pytest.raises(BlockingIOError):
            fcntl.flock(busy, fcntl.LOCK_EX | fcntl.LOCK_NB)
    finally:
        s.release()


# ------------------------------------------------------------------ read-only state (issue 12)


def _read_only(monkeypatch: pytest.MonkeyPatch, root: Path) -> None:
    """Make every write under ``root`` fail as on a read-only mount (root ignores chmod)."""
    real_open = os.open
    real_mkdir = os.mkdir

    def deny_open(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if str(path).startswith(str(root)) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))
        return real_open(path, flags, *args, **kwargs)

    def deny_mkdir(path: Any, *args: Any, **kwargs: Any) -> None:
        if str(path).startswith(str(root)):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))
        real_mkdir(path, *args, **kwargs)

    monkeypatch.setattr(safefs.os, "open", deny_open)
    monkeypatch.setattr(safefs.os, "mkdir", deny_mkdir)


@pytest.mark.parametrize("exists", [True, False])
@pytest.mark.parametrize("command", ["plan", "output"])
def test_a_read_only_state_directory_is_a_one_line_error(
    command: str, exists: bool, state: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tablesmith.cli import cli

    if exists:
        state.mkdir(parents=True, mode=0o700)
    _read_only(monkeypatch, state.parent.parent)  # this process's own calls: serve it here
    monkeypatch.setenv("TABLESMITH_LOCAL_IN_PROCESS", "1")
    result = CliRunner().invoke(
        cli, [command, str(EXAMPLES), "--env", "dev", "--local", "--state-dir", str(state)]
    )
    assert result.exit_code == 1, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.output
    assert "Read-only file system" in errors[0] and "--state-dir" in errors[0]
    assert "Traceback" not in result.output


# ------------------------------------------------------------------ one backup (issue 12)


def test_a_lost_state_file_names_its_backup_and_the_restore_works(tmp_path: Path) -> None:
    state = tmp_path / "project" / ".tablesmith" / "local"
    local = ("--env", "dev", "--local", "--state-dir", str(state), "--table", "tenants")
    applied = run("apply", str(EXAMPLES), *local, "--auto-approve")
    assert applied.returncode == 0, applied.stderr
    planned = run("plan", str(EXAMPLES), *local, "--detailed-exitcode")  # reads: no save
    assert planned.returncode == 0, planned.stdout + planned.stderr
    assert not (state / "state.json.bak").exists()  # one save so far: nothing to back up
    other = [*local[:-1], "products"]
    again = run("apply", str(EXAMPLES), *other, "--auto-approve")  # saves again
    assert again.returncode == 0, again.stderr
    for name in ("state.json", "state.json.bak", "credentials.json", "lock"):
        assert mode(state / name) == 0o600, name
    assert mode(state) == mode(state.parent) == 0o700

    (state / "state.json").unlink()
    lost = run("plan", str(EXAMPLES), *local)
    assert lost.returncode == 1 and "Traceback" not in lost.stderr
    restore = f"cp {state / 'state.json.bak'} {state / 'state.json'}"
    assert restore in lost.stderr

    shutil.copy(state / "state.json.bak", state / "state.json")  # the restore it names
    restored = run("plan", str(EXAMPLES), *local, "--detailed-exitcode")
    assert restored.returncode == 0, restored.stdout + restored.stderr  # tenants is back

    (state / "state.json").write_text((state / "state.json").read_text()[:-40])  # cut short
    broken = run("plan", str(EXAMPLES), *local)
    assert broken.returncode == 1 and "Traceback" not in broken.stderr
    assert "state.json.bak" in broken.stderr and "tablesmith local reset" in broken.stderr
