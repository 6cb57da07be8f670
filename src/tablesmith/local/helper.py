"""A `--local` command's local target, served by a helper process for as long as it runs.

Serving the local target inside the command's own process puts moto and the command on one
interpreter: moto's import, the state's restore and moto's first request per service run one
after the other with the command's own imports and spec loading, and then share the GIL with
its sixteen readers. A helper process (``python -P -m tablesmith.local.helper STATE_DIR``)
does all of that on the other core while the command loads its spec, and serves the state
exactly as ``tablesmith local serve`` does (same lock, same ``endpoint.json``, same access
key), so nothing about the state changes.

The helper lives exactly as long as the command:

- it reports one JSON line on its own protocol pipe when it serves (``{"endpoint": …}``) or
  could not start (``{"error": …}``), and one when it has stopped (``{"stopped": true}``, or an
  error if the state could not be saved);
- it stops, saving the state, when the command closes its stdin, which the kernel also does
  when the command dies, even by SIGKILL: it never outlives the command;
- it runs in its own session, so a Ctrl-C at the terminal reaches the command alone, which may
  still need the target to finish the operation in flight; SIGTERM stops it cleanly too.

Where it can, the command forks the helper rather than starting a new interpreter: the child
already holds the command's interpreter and the modules it has imported, which a new
``python -P -m tablesmith.local.helper STATE_DIR`` would spend ~0.1 s of the command's wait
on again. It forks only on Linux, and only from a process with one thread, counted by the
kernel (a fork copies only the thread that calls it, and no lock another thread holds may be
copied held); elsewhere (macOS's system libraries are not safe to use in a forked child that
does not exec) it execs. Either way the helper takes nothing from the command but its stderr
and the two pipes, and imports nothing from the directory the command runs in. A forked
child turns every other descriptor it inherited into /dev/null rather than closing it: the
command's objects copied into it (a logging handler's file, a socket) keep their numbers, so
that nothing the helper opens later takes a number one of them would write to. No signal
reaches it before it has put the command's signal handlers aside.

``TABLESMITH_LOCAL_IN_PROCESS=1`` serves the target inside the command instead (one core).
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import signal
import subprocess
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Protocol

from tablesmith.errors import LocalTargetError
from tablesmith.local.store import StateStore, require_local_endpoint

if TYPE_CHECKING:
    from collections.abc import Iterable

    from tablesmith.local.server import LocalTarget

IN_PROCESS_ENV = "TABLESMITH_LOCAL_IN_PROCESS"
STOP_SECONDS = 10.0  # how long a helper that never served gets to go after SIGTERM


class HelperTarget:
    """The local target of ``state_dir``, served by a helper process (a context manager).

    ``start()`` launches the helper and returns at once, so that the command can load its spec
    meanwhile; entering waits until the helper serves and yields its endpoint. Like
    :class:`tablesmith.local.server.LocalTarget`, it uses a ``tablesmith local serve`` that
    already serves the same state (``owner_pid`` is then that server's).
    """

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.endpoint = ""
        self.access_key = ""
        self.owner_pid: int | None = None  # set when another process serves this state
        self._process: _Process | None = None
        self._replies: IO[bytes] | None = None

    def start(self) -> HelperTarget:
        """Launch the helper (once); it loads the state while the caller goes on."""
        if self._process is not None:
            return self
        read_end, write_end = os.pipe()
        try:
            launch = _fork if _may_fork() else _spawn
            self._process = launch(self.state_dir, write_end)
        except OSError as exc:
            os.close(read_end)
            raise LocalTargetError(f"cannot start the local target's helper process: {exc}"
                                   ) from exc
        finally:
            os.close(write_end)
        self._replies = os.fdopen(read_end, "rb")
        return self

    @property
    def pid(self) -> int | None:
        """The helper's process id while it runs (None before ``start`` and after ``close``)."""
        return self._process.pid if self._process is not None else None

    def __enter__(self) -> str:
        self.start()
        try:
            reply = self._reply()
            if reply is None:
                assert self._process is not None
                raise LocalTargetError(
                    f"the local target's helper process ended before serving {self.state_dir} "
                    f"(exit code {_halt(self._process, served=False)}); its error is "
                    "above")
            if "error" in reply:
                raise LocalTargetError(str(reply["error"]))
            self.endpoint = require_local_endpoint(str(reply["endpoint"]))
            owner = reply.get("owner_pid")
            self.owner_pid = int(owner) if owner is not None else None
            self.access_key = StateStore(self.state_dir).access_key()
        except BaseException:
            self.close(failed=True)
            raise
        from tablesmith.local.server import remember_access_key

        remember_access_key(self.endpoint, self.access_key)
        return self.endpoint

    def __exit__(self, exc_type: object, *exc: object) -> None:
        self.close(failed=exc_type is not None)

    def close(self, *, failed: bool = False) -> None:
        """Stop the helper, which saves the state first; raise if it could not.

        A helper that has not served yet (the command failed first) is stopped with SIGTERM
        rather than waited for. ``failed``: an error is already on its way, so a helper's
        own error is not raised over it.
        """
        process, self._process = self._process, None
        if process is None:
            return
        served = bool(self.endpoint)
        if served:
            from tablesmith.local.server import forget_access_key

            forget_access_key(self.endpoint)
        _halt(process, served=served)
        try:
            reply = self._reply() if served and self.owner_pid is None else {"stopped": True}
        finally:
            if self._replies is not None:
                self._replies.close()
                self._replies = None
        if failed or not served:
            return
        if reply is not None and "error" in reply:
            raise LocalTargetError(str(reply["error"]))
        if process.returncode != 0 or reply is None:
            raise LocalTargetError(
                f"the local target's helper process for {self.state_dir} ended with exit code "
                f"{process.returncode} without saving the state; its error is above")

    def _reply(self) -> dict[str, Any] | None:
        """The helper's next report, or None once it has ended."""
        assert self._replies is not None
        line = self._replies.readline(1 << 16)
        if not line:
            return None
        try:
            reply = json.loads(line)
        except ValueError:
            reply = None
        if not isinstance(reply, dict):
            raise LocalTargetError("the local target's helper process sent an unreadable "
                                   f"report: {line[:200]!r}")
        return reply



def _halt(process: _Process, *, served: bool) -> int:
    """Stop the helper and reap it; its exit code. Its cue is its stdin closed; one that has
    not served is sent SIGTERM as well, and killed if it has not ended STOP_SECONDS later
    (one that served is saving the state: it is waited for)."""
    assert process.stdin is not None
    with contextlib.suppress(OSError):
        process.stdin.close()  # the helper's cue: save and stop
    if not served:
        with contextlib.suppress(OSError):
            process.terminate()
    try:
        return process.wait(timeout=None if served else STOP_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait()


class _Process(Protocol):
    """What a HelperTarget uses of its helper's process: a ``subprocess.Popen`` or a fork."""

    pid: int
    stdin: IO[bytes] | None
    returncode: int | None

    def terminate(self) -> None: ...

    def kill(self) -> None: ...

    def wait(self, timeout: float | None = None) -> int: ...


def _spawn(state_dir: Path, report_fd: int) -> subprocess.Popen[bytes]:
    """The helper in a new interpreter: ``python -P -m tablesmith.local.helper``."""
    env = dict(os.environ)
    package_root = str(Path(__file__).resolve().parents[2])  # what holds tablesmith/
    if package_root not in _site_directories():  # a source tree: the helper needs it
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (package_root, env.get("PYTHONPATH", "")) if p)
    # -P: no current directory on sys.path (the spec folder is not trusted code)
    return subprocess.Popen(
        [sys.executable, "-P", "-m", "tablesmith.local.helper", str(state_dir), str(report_fd)],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, env=env, pass_fds=(report_fd,),
        start_new_session=True, close_fds=True)


_OWN_FDS = "/proc/self/fd"  # Linux: the descriptors a forked helper inherited
_OWN_THREADS = "/proc/self/task"  # Linux: every thread, those C libraries started included


def _may_fork() -> bool:
    """Whether this process can fork its helper safely (see the module's docstring)."""
    if not (sys.platform.startswith("linux") and hasattr(os, "fork")
            and threading.current_thread() is threading.main_thread()
            and threading.active_count() == 1):
        return False
    try:
        return len(os.listdir(_OWN_THREADS)) == 1 and os.path.isdir(_OWN_FDS)
    except OSError:
        return False


class _Forked:
    """A helper forked from this process, as a HelperTarget uses a ``subprocess.Popen``."""

    def __init__(self, pid: int, stdin: IO[bytes]) -> None:
        self.pid = pid
        self.stdin: IO[bytes] | None = stdin
        self.returncode: int | None = None

    def terminate(self) -> None:
        self._signal(signal.SIGTERM)

    def kill(self) -> None:
        self._signal(signal.SIGKILL)

    def _signal(self, number: int) -> None:
        if self.returncode is None:  # not reaped: the pid is still the helper's
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, number)

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, 0 if deadline is None else os.WNOHANG)
            except ChildProcessError:  # reaped elsewhere (SIGCHLD ignored): as Popen does
                self.returncode = 0
                break
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
            elif deadline is not None and time.monotonic() >= deadline:
                raise subprocess.TimeoutExpired("tablesmith.local.helper", timeout or 0.0)
            else:
                time.sleep(0.01)
        return self.returncode


def _fork(state_dir: Path, report_fd: int) -> _Forked:
    """The helper as a child of this process, which already holds its interpreter and the
    modules it has imported so far."""
    cue_read, cue_write = os.pipe()  # the helper's stdin: closed, it saves and stops
    for stream in (sys.stdout, sys.stderr):  # nothing buffered here is written twice
        with contextlib.suppress(Exception):
            stream.flush()
    # no signal reaches the child before it has put the command's handlers aside
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, _CHILD_SIGNALS)
    try:
        pid = os.fork()
    except OSError:
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        os.close(cue_read)
        os.close(cue_write)
        raise
    if pid == 0:  # the helper: it never returns into the command's code
        _forked_main(state_dir, report_fd, cue_read, cue_write, blocked)
    signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
    os.close(cue_read)
    return _Forked(pid, os.fdopen(cue_write, "wb"))


_CHILD_SIGNALS = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT}


def _forked_main(state_dir: Path, report_fd: int, cue_fd: int, cue_write: int,
                 mask: Iterable[int]) -> None:
    code = 1
    try:
        for number in _CHILD_SIGNALS:  # the command's handlers are not the helper's
            signal.signal(number, signal.SIG_IGN if number == signal.SIGINT else signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        os.setsid()  # its own session, as a spawned helper has
        report_fd = _keep_only(report_fd, cue_fd, cue_write)
        cwd = os.getcwd()  # the spec folder is not trusted code (what -P does when exec'd)
        sys.path[:] = [p for p in sys.path if p and os.path.abspath(p) != cwd]
        code = main([str(state_dir), str(report_fd)])
    except BaseException:
        with contextlib.suppress(Exception):
            traceback.print_exc()
    finally:
        os._exit(code)


def _keep_only(report_fd: int, cue_fd: int, cue_write: int) -> int:
    """The forked helper's descriptors: 0 the cue pipe, 1 /dev/null, 2 the command's stderr,
    and the report pipe (returned: at 3 or above). Every other one it inherited becomes
    /dev/null, its number kept: another helper's stdin held open here would keep that helper
    waiting after its own command closed it, and a number freed here could be taken by the
    state's lock or a socket while an object of the command's copied here writes to it."""
    import fcntl

    inherited = {int(name) for name in os.listdir(_OWN_FDS)}
    # a command started with 0, 1 or 2 closed got the pipes there: move them out first
    report = fcntl.fcntl(report_fd, fcntl.F_DUPFD, 3)
    cue = fcntl.fcntl(cue_fd, fcntl.F_DUPFD, 3)
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(cue, 0)
    os.dup2(null, 1)
    if 2 in (report_fd, cue_fd, cue_write) or 2 not in inherited:
        os.dup2(null, 2)
    for fd in (inherited | {cue}) - {0, 1, 2, report, null}:
        with contextlib.suppress(OSError):  # the listing's own descriptor, closed since
            os.fstat(fd)
            os.dup2(null, fd)
    os.close(null)  # a number no object of the command's holds
    return report


def _site_directories() -> set[str]:
    """Where an installed tablesmith lives: on the helper's path already, and never to be
    put before the standard library through PYTHONPATH."""
    import site

    found = set(site.getsitepackages())
    if site.ENABLE_USER_SITE:
        found.add(site.getusersitepackages())
    return {str(Path(p).resolve()) for p in found}


def local_target(state_dir: Path) -> HelperTarget | LocalTarget:
    """The local target a CLI command uses: a helper process unless
    ``TABLESMITH_LOCAL_IN_PROCESS=1`` asks for the command's own process."""
    if os.environ.get(IN_PROCESS_ENV, "") not in ("", "0"):
        from tablesmith.local.server import LocalTarget

        return LocalTarget(state_dir)
    return HelperTarget(state_dir)


# ---------------------------------------------------------------------------- the helper


class _Stop(BaseException):
    """SIGTERM: stop serving, saving the state (a BaseException, like KeyboardInterrupt, so
    that no ``except Exception`` on its way swallows it)."""


def _until_closed() -> None:
    """Until the command closes the helper's stdin, or dies (the kernel closes it then)."""
    while os.read(0, 1 << 16):
        pass


def _serve(state_dir: Path, report: IO[str]) -> int:
    from tablesmith.local.server import LocalTarget

    def say(**fields: Any) -> None:
        with contextlib.suppress(OSError):  # the command is gone: nobody to tell
            report.write(json.dumps(fields) + "\n")
            report.flush()

    def failed(exc: Exception, doing: str) -> int:
        # the command stops a helper that has not served with SIGTERM as soon as it reads
        # the error: that must not cut the report short or add a traceback to its stderr
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if isinstance(exc, LocalTargetError):
            say(error=str(exc))
        else:  # a bug: its traceback goes to the command's stderr
            traceback.print_exc()
            say(error=f"the local target could not {doing}: {type(exc).__name__}: {exc}")
        return 1

    target = LocalTarget(state_dir)
    try:
        endpoint = target.__enter__()
    except Exception as exc:  # (a SIGTERM meanwhile is main's: it has served nobody)
        return failed(exc, "start")
    if target.owner_pid is not None:  # a `local serve` has it: the command talks to that
        say(endpoint=endpoint, owner_pid=target.owner_pid)
        return 0
    signalled = False
    try:
        try:
            say(endpoint=endpoint, owner_pid=None)
            target.warm()
            # what start-up made lives as long as the helper: keep it out of the collector
            gc.freeze()
            gc.enable()
            _until_closed()
        except _Stop:
            signalled = True
        finally:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)  # the save is not interrupted
            target.__exit__(None, None, None)
    except Exception as exc:
        return failed(exc, "save its state")
    if signalled:
        say(error=f"the local target's helper process (pid {os.getpid()}) was stopped by "
                  "SIGTERM while the command ran; it saved the state first: run the command "
                  "again")
        return 1
    say(stopped=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -P -m tablesmith.local.helper STATE_DIR REPORT_FD``: serve until stdin ends."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or not args[1].isdigit():
        print("usage: python -P -m tablesmith.local.helper STATE_DIR REPORT_FD "
              "(started by tablesmith's --local commands)", file=sys.stderr)
        return 2
    # start-up (moto's import, the state's restore) makes ~200,000 objects the cyclic
    # collector tracks, all living as long as the helper: its passes over them took 0.1 s of
    # the ~0.6 s the command waits for the helper; it runs again once the helper has warmed
    gc.disable()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the command's Ctrl-C; it stops us itself

    def stop(*_: object) -> None:
        raise _Stop

    signal.signal(signal.SIGTERM, stop)
    report = os.fdopen(int(args[1]), "w", encoding="utf-8")
    try:
        code = _serve(Path(args[0]), report)
    except _Stop:  # SIGTERM before it served, or between its handlers: nothing to save
        code = 1
    finally:
        with contextlib.suppress(OSError):  # the command is gone: nobody to tell
            report.close()
    # the state is saved and the directory released: skip the interpreter's teardown of
    # moto's modules (0.4 s), which the command would otherwise wait through
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    sys.exit(main())
