"""A `--local` command's helper process (``tablesmith.local.helper``): it serves the state for
exactly as long as the command runs, saves it on the way out, whatever ends the command, and
takes nothing from the directory it runs in."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import boto3
import pytest

from tablesmith.errors import LocalTargetError
from tablesmith.local.helper import HelperTarget, local_target
from tablesmith.local.server import LocalTarget, access_key_for
from tablesmith.local.store import StateStore

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "bbws.yaml"
TABLESMITH = str(Path(sys.executable).with_name("tablesmith"))
REGION = "af-south-1"


def helper_env() -> dict[str, str]:
    """This environment, without TABLESMITH_LOCAL_IN_PROCESS: commands use a helper."""
    return {k: v for k, v in os.environ.items() if k != "TABLESMITH_LOCAL_IN_PROCESS"}


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([TABLESMITH, *args], capture_output=True, text=True, timeout=180,
                          env=helper_env(), cwd=cwd, check=False, stdin=subprocess.DEVNULL)


def helpers_of(state: Path, besides: tuple[int, ...] = ()) -> list[int]:
    """Live processes, other than this test run and ``besides``, that are or may be the helper
    of ``state``: an exec'd helper names itself and the state on its command line; a forked
    one keeps its command's, which names the state directory (``--state-dir``), or, forked
    from this test run, holds the state's lock file open."""
    lock = str(state / "lock")
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) in (os.getpid(), *besides):
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            files = [os.readlink(fd) for fd in (entry / "fd").iterdir()]
        except OSError:  # gone meanwhile, or a zombie
            continue
        if any(str(state).encode() in arg for arg in argv) or lock in files:
            found.append(int(entry.name))
    return found


def free(state: Path) -> bool:
    """Whether no process holds the state directory (its lock can be taken at once)."""
    store = StateStore(state)
    store.wait_seconds = 0.0
    try:
        owner = store.acquire()
    except LocalTargetError:
        return False
    if owner is None:
        store.release()
    return owner is None


def tables_in(state: Path) -> list[str]:
    with LocalTarget(state) as endpoint:
        key = access_key_for(endpoint)
        ddb = boto3.client("dynamodb", endpoint_url=endpoint, region_name=REGION,
                           aws_access_key_id=key, aws_secret_access_key=key)
        return list(ddb.list_tables()["TableNames"])


def test_the_cli_serves_through_a_helper_that_ends_with_the_command(tmp_path: Path) -> None:
    state = tmp_path / "state"
    local = ("--env", "dev", "--local", "--state-dir", str(state), "--table", "tenants")
    applied = run("apply", str(EXAMPLES), *local, "--auto-approve")
    assert applied.returncode == 0, applied.stderr
    assert helpers_of(state) == [] and free(state)  # gone, and the directory released
    saved = (state / "state.json").stat().st_mtime_ns
    planned = run("plan", str(EXAMPLES), *local, "--detailed-exitcode")
    assert planned.returncode == 0, planned.stdout + planned.stderr
    assert (state / "state.json").stat().st_mtime_ns == saved  # reads (and warming) save nothing
    assert not (state / "endpoint.json").exists()
    assert tables_in(state) == ["tenants"]


def test_a_bad_spec_stops_the_helper_before_it_serves(tmp_path: Path) -> None:
    spec = tmp_path / "bad.yaml"
    spec.write_text("tables:\n  t:\n    hash_key: {name: id, type: X}\n")
    state = tmp_path / "state"
    result = run("plan", str(spec), "--env", "dev", "--local", "--state-dir", str(state))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert helpers_of(state) == [] and free(state)


def test_an_unusable_state_is_one_error_line_from_the_helper(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    (state / "state.json").write_text('{"format": 2, "accounts": {')
    result = run("plan", str(EXAMPLES), "--env", "dev", "--local", "--state-dir", str(state))
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "tablesmith local reset" in errors[0], result.stderr
    assert "Traceback" not in result.stderr
    assert helpers_of(state) == [] and free(state)


def test_nothing_is_imported_from_the_directory_the_command_runs_in(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    marker = tmp_path / "imported"
    for name in ("moto", "json", "tablesmith", "werkzeug"):  # shadows of what the helper imports
        (work / f"{name}.py").write_text(f"open({str(marker)!r}, 'a').write({name!r})\n")
    state = tmp_path / "state"
    result = run("plan", str(EXAMPLES), "--env", "dev", "--local", "--state-dir", str(state),
                 "--table", "tenants", cwd=work)
    assert result.returncode == 0, result.stderr
    assert not marker.exists()


def _script(state: Path, body: str) -> subprocess.Popen[str]:
    """A command-like process that enters the helper target of ``state`` and runs ``body``."""
    code = textwrap.dedent(f"""
        import boto3, os, signal, sys, time
        from pathlib import Path
        from tablesmith.local.helper import HelperTarget
        from tablesmith.local.server import access_key_for
        with HelperTarget(Path({str(state)!r})) as endpoint:
            key = access_key_for(endpoint)
            ddb = boto3.client("dynamodb", endpoint_url=endpoint, region_name={REGION!r},
                               aws_access_key_id=key, aws_secret_access_key=key)
    """) + textwrap.indent(textwrap.dedent(body), "    ")
    env = helper_env()
    # its own process group, as a command run at a terminal has (and not the test run's)
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                            env=env, start_new_session=True)


def _make_table(name: str) -> str:
    return f"""
        ddb.create_table(TableName={name!r}, BillingMode="PAY_PER_REQUEST",
                         AttributeDefinitions=[{{"AttributeName": "id", "AttributeType": "S"}}],
                         KeySchema=[{{"AttributeName": "id", "KeyType": "HASH"}}])
    """


def _wait_gone(state: Path, seconds: float = 30.0) -> None:
    """Until the helper of ``state`` has released it and ended."""
    deadline = time.monotonic() + seconds
    while not free(state) or helpers_of(state):
        assert time.monotonic() < deadline, f"the helper still holds {state}: {helpers_of(state)}"
        time.sleep(0.1)


def test_a_killed_command_leaves_its_helper_to_save_and_stop(tmp_path: Path) -> None:
    state = tmp_path / "state"
    proc = _script(state, _make_table("kept") + """
        print("made", flush=True)
        time.sleep(120)
    """)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "made"
    proc.send_signal(signal.SIGKILL)  # no __exit__, no atexit: only the closed pipe tells it
    proc.wait(30)
    _wait_gone(state)
    assert tables_in(state) == ["kept"]  # saved by the helper, not by the dead command


def test_ctrl_c_at_the_terminal_reaches_the_command_not_its_helper(tmp_path: Path) -> None:
    state = tmp_path / "state"
    proc = _script(state, """
        signal.signal(signal.SIGINT, lambda *_: print("interrupted", flush=True))
        os.killpg(os.getpgid(0), signal.SIGINT)  # what the terminal sends on Ctrl-C
        time.sleep(0.5)
    """ + _make_table("after-ctrl-c") + """
        print("made", flush=True)
    """)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0 and out.split() == ["interrupted", "made"], out
    assert tables_in(state) == ["after-ctrl-c"]


def test_sigterm_to_the_helper_saves_and_the_command_is_told(tmp_path: Path) -> None:
    state = tmp_path / "state"
    target = HelperTarget(state)
    told = pytest.raises(LocalTargetError, match="stopped by SIGTERM while the command ran")
    with told, target as endpoint:
        key = access_key_for(endpoint)
        ddb = boto3.client("dynamodb", endpoint_url=endpoint, region_name=REGION,
                           aws_access_key_id=key, aws_secret_access_key=key)
        ddb.create_table(TableName="t", BillingMode="PAY_PER_REQUEST",
                         AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                         KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}])
        pid = target.pid
        assert pid is not None and helpers_of(state) == [pid]
        os.kill(pid, signal.SIGTERM)  # at once: it may still be warming up
        _wait_gone(state)
    assert tables_in(state) == ["t"]


def test_a_running_local_serve_is_used_and_no_helper_stays(tmp_path: Path) -> None:
    state = tmp_path / "state"
    env = helper_env()
    serve = subprocess.Popen([TABLESMITH, "local", "serve", str(EXAMPLES), "--state-dir",
                              str(state)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             text=True, env=env)
    try:
        assert serve.stdout is not None
        line = serve.stdout.readline()
        assert "serving at" in line, line
        endpoint = json.loads((state / "endpoint.json").read_text())["endpoint"]
        target = HelperTarget(state)
        with target as served:
            assert served == endpoint and local_target(state).__class__ is HelperTarget
            assert target.pid is not None
            _wait_ended(target.pid)  # it found it, said so, left (not reaped until close)
            assert helpers_of(state, besides=(serve.pid,)) == []
    finally:
        serve.send_signal(signal.SIGTERM)
        serve.wait(30)


def test_in_process_on_request(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TABLESMITH_LOCAL_IN_PROCESS", "1")
    assert isinstance(local_target(tmp_path), LocalTarget)
    monkeypatch.setenv("TABLESMITH_LOCAL_IN_PROCESS", "0")
    assert isinstance(local_target(tmp_path), HelperTarget)


TWO_HELPERS = textwrap.dedent("""
    import os, signal, sys, time
    from pathlib import Path
    from tablesmith.local.helper import HelperTarget

    first, second = HelperTarget(Path(sys.argv[1])), HelperTarget(Path(sys.argv[2]))
    first.__enter__()
    second.__enter__()  # forked while the first helper's stdin is open here
    pids = first.pid, second.pid
    print(*pids, flush=True)
    sys.stdin.readline()  # the test looks at both helpers
    started = time.monotonic()
    signal.alarm(10)  # held open elsewhere, the first helper would wait for ever: so would we
    first.close()  # only this process holds the first helper's stdin: it stops at once
    print(round(time.monotonic() - started, 1), flush=True)
    second.close()
""")


def _wait_ended(pid: int, seconds: float = 30.0) -> None:
    """Until process ``pid`` has ended: gone, or a zombie its parent has not reaped."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return
        if stat.rsplit(")", 1)[1].split()[0] in ("Z", "X"):
            return
        assert time.monotonic() < deadline, f"process {pid} still runs"
        time.sleep(0.05)


def _pipes(pid: int) -> set[str]:
    """The pipes ``pid`` holds, besides its stderr (the test run's, which may be a pipe)."""
    return {os.readlink(fd) for fd in Path(f"/proc/{pid}/fd").iterdir()
            if fd.name != "2" and os.readlink(fd).startswith("pipe:")}


def test_a_forked_helper_holds_nothing_of_its_command_but_its_own_pipes(tmp_path: Path) -> None:
    """A helper forked while another helper's stdin is open in the command does not keep it
    open: closing it stops that other helper at once, and each helper holds only its own
    stdin and report pipe (a forked child inherits every descriptor it does not close)."""
    states = tmp_path / "one", tmp_path / "two"
    env = helper_env()
    script = subprocess.Popen([sys.executable, "-P", "-c", TWO_HELPERS, *map(str, states)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                              env=env)
    assert script.stdin is not None and script.stdout is not None
    try:
        first, second = map(int, script.stdout.readline().split())
        for pid in (first, second):  # forked: the command's own command line
            assert (Path(f"/proc/{pid}/cmdline").read_bytes()
                    == Path(f"/proc/{script.pid}/cmdline").read_bytes())
            assert len(_pipes(pid)) == 2, _pipes(pid)  # its stdin and its report pipe
        assert not _pipes(first) & _pipes(second)
        script.stdin.write("\n")
        script.stdin.flush()
        assert float(script.stdout.readline()) < 5.0
        assert script.wait(60) == 0
    finally:
        script.kill()
        script.wait()
    assert all(free(state) and helpers_of(state) == [] for state in states)


SHADOWED = textwrap.dedent("""
    import sys
    from pathlib import Path
    from tablesmith.local.helper import HelperTarget

    with HelperTarget(Path(sys.argv[1])) as endpoint:
        print(endpoint)
""")


def test_a_forked_helper_imports_nothing_from_the_directory_its_command_runs_in(
    tmp_path: Path,
) -> None:
    """``python -c`` puts the current directory first on the command's path; the helper it
    forks takes it off (as ``-P`` does for an exec'd one) before it imports moto, werkzeug,
    flask or pydantic, which the command has not imported."""
    work = tmp_path / "work"
    work.mkdir()
    marker = tmp_path / "imported"
    for name in ("moto", "werkzeug", "flask", "pydantic"):
        (work / f"{name}.py").write_text(f"open({str(marker)!r}, 'a').write({name!r})\n")
    env = helper_env()
    result = subprocess.run([sys.executable, "-c", SHADOWED, str(tmp_path / "state")],
                            cwd=work, env=env, capture_output=True, text=True, timeout=120,
                            check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("http://127.0.0.1:")
    assert not marker.exists(), marker.read_text()


def test_an_execd_helper_serves_and_saves(monkeypatch: pytest.MonkeyPatch,
                                         tmp_path: Path) -> None:
    """Where the command cannot fork (more than one thread, macOS), the helper is a new
    interpreter, ``python -P -m tablesmith.local.helper``, and serves the same."""
    from tablesmith.local import helper

    monkeypatch.setattr(helper, "_may_fork", lambda: False)
    state = tmp_path / "state"
    with HelperTarget(state) as endpoint:
        pid = helpers_of(state)
        assert len(pid) == 1 and b"tablesmith.local.helper" in Path(
            f"/proc/{pid[0]}/cmdline").read_bytes()
        key = access_key_for(endpoint)
        boto3.client("dynamodb", endpoint_url=endpoint, region_name=REGION,
                     aws_access_key_id=key, aws_secret_access_key=key).create_table(
            TableName="t", BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}])
    assert helpers_of(state) == [] and tables_in(state) == ["t"]


def test_the_helper_is_forked_only_from_one_thread(monkeypatch: pytest.MonkeyPatch,
                                                  tmp_path: Path) -> None:
    """One thread, as Python counts them and as the kernel does (a C library's threads
    included: /proc/self/task), and on Linux only."""
    from tablesmith.local import helper

    tasks = tmp_path / "task"
    (tasks / "1").mkdir(parents=True)
    monkeypatch.setattr(helper, "_OWN_THREADS", str(tasks))
    monkeypatch.setattr(helper.sys, "platform", "linux")
    monkeypatch.setattr(helper.threading, "active_count", lambda: 1)
    assert helper._may_fork()
    monkeypatch.setattr(helper.threading, "active_count", lambda: 2)
    assert not helper._may_fork()
    monkeypatch.setattr(helper.threading, "active_count", lambda: 1)
    (tasks / "2").mkdir()  # a thread Python does not know of
    assert not helper._may_fork()
    (tasks / "2").rmdir()
    for platform in ("darwin", "freebsd14"):
        monkeypatch.setattr(helper.sys, "platform", platform)
        assert not helper._may_fork()


@pytest.mark.parametrize("installed", [True, False])
def test_the_helper_finds_this_tablesmith_without_shadowing_the_standard_library(
    installed: bool, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from tablesmith.local import helper

    root = str(Path(helper.__file__).resolve().parents[2])
    seen: dict[str, object] = {}

    class Popen:
        def __init__(self, args: list[str], **kwargs: object) -> None:
            seen.update(kwargs, args=args)

    monkeypatch.setattr(helper, "_may_fork", lambda: False)
    monkeypatch.setattr(helper, "_site_directories", lambda: {root} if installed else set())
    monkeypatch.setattr(helper.subprocess, "Popen", Popen)
    monkeypatch.delenv("PYTHONPATH", raising=False)
    target = HelperTarget(tmp_path).start()
    assert target._replies is not None
    target._replies.close()
    env = seen["env"]
    assert isinstance(env, dict)
    # a site directory is on the helper's path already; a source tree is put first
    assert env.get("PYTHONPATH") == (None if installed else root)
    assert seen["args"][1:4] == ["-P", "-m", "tablesmith.local.helper"]  # type: ignore[index]


def run_helper(script: str, state: Path) -> tuple[subprocess.CompletedProcess[str],
                                                  list[dict[str, object]]]:
    """Run ``script`` (which calls ``helper.main``) as the helper of ``state`` would run, with
    its report pipe: the finished process, and its reports."""
    read_end, write_end = os.pipe()
    try:
        result = subprocess.run([sys.executable, "-P", "-c", script, str(state), str(write_end)],
                                pass_fds=(write_end,), stdin=subprocess.DEVNULL,
                                capture_output=True, text=True, timeout=60, check=False)
    finally:
        os.close(write_end)
    with os.fdopen(read_end, encoding="utf-8") as replies:
        return result, [json.loads(line) for line in replies.read().splitlines()]


SIGTERM_WHILE_REPORTING = textwrap.dedent("""
    import os, signal, sys
    from tablesmith.local import helper

    serve = helper._serve

    class Report:  # the command's SIGTERM lands while the helper writes its error
        def __init__(self, report):
            self.report = report
        def write(self, text):
            self.report.write(text)
            os.kill(os.getpid(), signal.SIGTERM)
        def flush(self):
            self.report.flush()

    helper._serve = lambda state_dir, report: serve(state_dir, Report(report))
    helper.main(sys.argv[1:])
""")


def test_sigterm_while_the_helper_reports_its_error_cuts_nothing_short(tmp_path: Path) -> None:
    """The command stops a helper that has not served with SIGTERM as soon as it has read its
    error: the helper, still flushing that report, must neither break the line nor print a
    traceback onto the command's stderr (a race that failed CI once)."""
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    (state / "state.json").write_text('{"format": 2, "accounts": {')
    result, replies = run_helper(SIGTERM_WHILE_REPORTING, state)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert len(replies) == 1 and "tablesmith local reset" in replies[0]["error"]


COLLECTOR_WHILE_SERVING = textwrap.dedent("""
    import gc, sys
    from tablesmith.local import helper

    def until_closed():  # the command's stdin: reports the collector, then closes at once
        print(f"enabled={gc.isenabled()} frozen={gc.get_freeze_count()}", file=sys.stderr)

    from tablesmith.local.server import LocalTarget

    warm = LocalTarget.warm

    def warming(self):
        print(f"starting={gc.isenabled()}", file=sys.stderr)
        warm(self)

    LocalTarget.warm = warming
    helper._until_closed = until_closed
    helper.main(sys.argv[1:])
""")


def test_the_helper_starts_without_the_collector_and_serves_with_it(tmp_path: Path) -> None:
    """Start-up runs with the cyclic collector off (its passes over moto's objects cost 0.1 s
    of what the command waits for); a helper serving a long command has it on again, with
    start-up's objects frozen out of it."""
    result, replies = run_helper(COLLECTOR_WHILE_SERVING, tmp_path / "state")
    assert result.returncode == 0, result.stderr
    assert "endpoint" in replies[0] and replies[-1] == {"stopped": True}
    starting, enabled, frozen = result.stderr.split()[-3:]
    assert starting == "starting=False" and enabled == "enabled=True", result.stderr
    assert int(frozen.split("=")[1]) > 10_000, result.stderr


LOGGING = textwrap.dedent("""
    import logging, os, sys
    from pathlib import Path
    from tablesmith.local.helper import HelperTarget

    logging.basicConfig(filename=sys.argv[2], level=logging.DEBUG)  # a caller's own log
    log_fd = logging.getLogger().handlers[0].stream.fileno()
    target = HelperTarget(Path(sys.argv[1]))
    with target as endpoint:
        print(log_fd, target.pid, flush=True)
        sys.stdin.readline()  # the test looks at the helper
""")


def test_a_forked_helper_writes_nothing_through_its_commands_descriptors(
        tmp_path: Path) -> None:
    """A descriptor the command had open (here its logging handler's file) is /dev/null in
    the forked helper, with its number kept: no file the helper opens (the state's lock)
    takes that number while the command's logging handler, copied into the helper, writes
    moto's and botocore's debug lines to it."""
    state, log = tmp_path / "state", tmp_path / "caller.log"
    env = helper_env()
    script = subprocess.Popen([sys.executable, "-P", "-c", LOGGING, str(state), str(log)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                              env=env)
    assert script.stdin is not None and script.stdout is not None
    try:
        log_fd, pid = map(int, script.stdout.readline().split())
        assert os.readlink(f"/proc/{pid}/fd/{log_fd}") == os.devnull
        assert str(state / "lock") in {os.readlink(fd) for fd in Path(f"/proc/{pid}/fd")
                                       .iterdir()}
        script.stdin.write("\n")
        script.stdin.flush()
        assert script.wait(60) == 0
    finally:
        script.kill()
        script.wait()
    assert (state / "lock").read_bytes() == b""


NO_STDIO = textwrap.dedent("""
    import os, sys
    from pathlib import Path
    from tablesmith.local.helper import HelperTarget

    out = open(sys.argv[2], "w")
    os.close(0)  # started by something that closed them: the pipes land on 0 and 1
    os.close(1)
    with HelperTarget(Path(sys.argv[1])) as endpoint:
        out.write(endpoint)
""")


def test_a_command_without_stdin_and_stdout_still_gets_its_helper(tmp_path: Path) -> None:
    out = tmp_path / "endpoint"
    env = helper_env()
    result = subprocess.run([sys.executable, "-P", "-c", NO_STDIO, str(tmp_path / "state"),
                             str(out)], env=env, capture_output=True, text=True, timeout=120,
                            check=False)
    assert result.returncode == 0, result.stderr
    assert out.read_text().startswith("http://127.0.0.1:")
    assert free(tmp_path / "state")

