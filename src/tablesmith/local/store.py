"""The local target's state directory.

    <state-dir>/
      state.json     the local state: inert, versioned JSON (snapshot.py, docs/local-state.md)
      state.pickle   the old format (never read: loading it could run code; `local reset`)
      state.json.bak the state before the last save (one previous state is kept)
      lock           held (flock) by the one process serving this state
      endpoint.json  the URL and pid of a running `tablesmith local serve`, while it runs
      credentials.json  the directory's random access key: the local target answers only
                     requests signed with it

The directory is private (0700, ours, not a symlink; see safefs), every file is 0600 from
its creation and opened without following links, and ``.tablesmith/.gitignore`` keeps it
out of git.

Only one process owns a state directory at a time; a second one that finds the lock held
talks to the owner's endpoint instead of starting its own server (so ``--local`` commands
work next to ``tablesmith local serve``), if ``endpoint.json`` names a loopback URL and a
live process of the same user. Saving is atomic (write, fsync, rename). moto's backends hold
no credentials of yours; the only secret is the access key. AWS-managed IAM policies are
not saved (moto rebuilds them; attachments to them are).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from tablesmith.errors import LocalTargetError
from tablesmith.local import safefs

SERVICES = ("dynamodb", "dynamodbstreams", "backup", "iam", "cloudwatch", "kms", "sts", "sns")
_KEY = re.compile(r"TSL[0-9A-F]{32}")
RESET_HINT = "run `tablesmith local reset` (this deletes the local tables and their data)"


@dataclass
class Owner:
    """Another process serving this state directory."""

    endpoint: str
    pid: int


class StateStore:
    """A state directory: load into moto, save from moto, lock, reset."""

    wait_seconds = 30.0  # how long acquire waits for a short command that holds the lock

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.state_file = directory / "state.pickle"
        self.header_file = directory / "state.json"
        self.lock_file = directory / "lock"
        self.endpoint_file = directory / "endpoint.json"
        self.credentials_file = directory / "credentials.json"  # the access key (0600)
        self.snapshot_file = directory / "state.json"  # what _write_state/_read_state hold
        self.backup_file = directory / "state.json.bak"  # the state before the last save
        self._lock: IO[str] | None = None

    # ------------------------------------------------------------------ ownership

    def acquire(self) -> Owner | None:
        """Own the directory (None); if another process does, where it serves.

        The owner may be a short command rather than a server, which never publishes an
        endpoint: then wait (up to 30 s) for it to finish.
        """
        safefs.private_directory(self.directory)  # 0700, ours, no link: or refused
        deadline = time.monotonic() + self.wait_seconds
        while not self._try_lock():
            owner = self._owner()
            if owner is not None:
                return owner
            if time.monotonic() > deadline:
                raise LocalTargetError(f"the local state in {self.directory} is in use by "
                                       "another tablesmith command; try again when it has "
                                       "finished")
            time.sleep(0.2)
        safefs.remove_private(self.endpoint_file)  # left by a server that was killed
        return None

    def _try_lock(self) -> bool:
        handle = safefs.open_lock(self.lock_file)  # 0600 in a 0700 dir: no one else holds it
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        self._lock = handle
        return True

    def _owner(self) -> Owner | None:
        """The server named by ``endpoint.json``, if it is a live one of ours on loopback.

        None (keep waiting for the lock) when there is no file or its process is gone; an
        endpoint that is not ``http://127.0.0.1:<port>``, or a process of another user, is
        refused: requests, and the access key with them, go nowhere else.
        """
        data = safefs.read_private(self.endpoint_file)
        if data is None:
            return None
        try:
            fields = json.loads(data)
            endpoint, pid = str(fields["endpoint"]), int(fields["pid"])
        except (ValueError, KeyError, TypeError) as exc:
            raise LocalTargetError(
                f"{self.endpoint_file} is not a local target's endpoint file ({exc}); remove "
                "it (tablesmith writes it while `tablesmith local serve` runs)") from exc
        if not is_local_endpoint(endpoint):
            raise LocalTargetError(
                f"{self.endpoint_file} names {endpoint!r}, not a loopback endpoint "
                f"(http://127.0.0.1:<port>): refusing to send requests there; remove the file")
        alive = process_owner(pid)
        if alive is None:
            return None
        if alive != os.geteuid():
            raise LocalTargetError(
                f"{self.endpoint_file} names pid {pid}, a process of uid {alive}, not yours: "
                "refusing to use its endpoint; remove the file")
        return Owner(endpoint=endpoint, pid=pid)

    def publish(self, endpoint: str) -> None:
        """Tell other commands where this process serves the state."""
        data = json.dumps({"endpoint": endpoint, "pid": os.getpid()}).encode()
        safefs.write_private(self.endpoint_file, data)

    def access_key(self) -> str:
        """The state directory's access key, made (random, 0600) on first use.

        The local target answers only requests signed with it: another local user, or a web
        page, cannot read or change the state without reading this file first.
        """
        safefs.check_tree(self.directory)  # also when asked without acquire (a client)
        data = safefs.read_private(self.credentials_file)
        if data is not None:
            try:
                key = str(json.loads(data)["access_key"])
            except (ValueError, KeyError, TypeError) as exc:
                raise LocalTargetError(
                    f"{self.credentials_file} is unreadable ({exc}): remove it (a new access "
                    "key is made; restart any `tablesmith local serve`)") from exc
            if _KEY.fullmatch(key):
                return key
            raise LocalTargetError(f"{self.credentials_file} holds no valid access key: "
                                   "remove it (a new one is made)")
        if self._lock is None:
            raise LocalTargetError(f"the local target serving {self.directory} has no access "
                                   f"key in {self.credentials_file}; restart it")
        key = "TSL" + secrets.token_hex(16).upper()  # never 12 digits: moto reads an account
        safefs.write_private(self.credentials_file,
                             json.dumps({"access_key": key}, indent=2).encode())
        return key

    def release(self) -> None:
        """Give the directory up."""
        with contextlib.suppress(LocalTargetError):
            safefs.remove_private(self.endpoint_file)
        if self._lock is not None:
            fcntl.flock(self._lock, fcntl.LOCK_UN)
            self._lock.close()
            self._lock = None

    # ------------------------------------------------------------------ state files

    def _write_state(self, text: str) -> None:
        """Replace the state file atomically (0600 from creation, no link followed).

        The file it replaces is kept as the backup, so one previous state always survives.
        """
        safefs.write_private(self.snapshot_file, text.encode("utf-8"), backup=self.backup_file)

    def _read_state(self) -> str | None:
        """The state file's text; None when there is no state (neither file nor backup).

        A missing, undecodable or syntactically broken state file with a backup next to it
        is an error that names the backup and how to restore it: never a silent rollback.
        """
        data = safefs.read_private(self.snapshot_file)
        if data is None:
            if safefs.read_private(self.backup_file) is None:
                return None
            raise LocalTargetError(
                f"the local state file {self.snapshot_file} is missing, but the state before "
                f"the last save is in {self.backup_file}: restore it with `cp "
                f"{self.backup_file} {self.snapshot_file}`, or {RESET_HINT}")
        try:
            text = data.decode("utf-8")
            json.loads(text)
        except ValueError as exc:
            raise self.state_error(f"it is not valid JSON ({exc})") from exc
        return text

    def state_error(self, problem: str) -> LocalTargetError:
        """The error for an unusable state file: its problem and the way back (backup/reset)."""
        where = f"the local state file {self.snapshot_file} cannot be used: {problem}"
        try:
            backup = safefs.read_private(self.backup_file)
        except LocalTargetError:
            backup = None
        if backup is None:
            return LocalTargetError(f"{where}; {RESET_HINT}")
        return LocalTargetError(
            f"{where}; the state before the last save is in {self.backup_file}: restore it "
            f"with `mv {self.snapshot_file} {self.snapshot_file}.broken && cp "
            f"{self.backup_file} {self.snapshot_file}`, or {RESET_HINT}")

    # ------------------------------------------------------------------ state

    def load(self) -> bool:
        """Re-create moto's backends from the state file; False when there is no state yet.

        The file is inert JSON (``snapshot``), validated before anything is made. An old
        ``state.pickle`` is never opened: loading a pickle can run code.
        """
        from tablesmith.local import snapshot

        text = self._read_state()
        data: dict[str, Any] | None = None
        if text is not None:
            try:
                data = snapshot.loads(text)
            except LocalTargetError as exc:
                raise self.state_error(str(exc)) from None
        if os.path.lexists(self.state_file) and (data is None or data.get("format") == 1):
            raise LocalTargetError(
                f"the local state in {self.directory} is in the old pickle format "
                f"({self.state_file.name}), which tablesmith no longer reads because loading it "
                f"could run code; {RESET_HINT}")
        if data is None:
            snapshot.clear()  # a fresh target starts empty, even where moto ran before
            return False
        try:
            snapshot.restore(data)
        except LocalTargetError as exc:
            raise self.state_error(str(exc)) from None
        return True

    def save(self) -> None:
        """Write moto's backends as the JSON snapshot (atomically; the previous one kept)."""
        from tablesmith.local import snapshot

        self._write_state(snapshot.dumps())

    def reset(self) -> None:
        """Delete the saved state (refused while another process serves it)."""
        owner = self.acquire()
        if owner is not None:
            raise LocalTargetError(f"the local state is being served at {owner.endpoint} "
                                   f"(pid {owner.pid}); stop `tablesmith local serve` first")
        try:
            for path in (self.state_file, self.header_file,
                         self.state_file.with_suffix(".tmp"), self.backup_file,
                         self.snapshot_file.with_name(self.snapshot_file.name + ".tmp")):
                safefs.remove_private(path)  # a link is removed, never followed
        finally:
            self.release()


def state_dir_for(spec_path: Path | None, override: Path | None,
                  environment: str | None = None) -> Path:
    """``--state-dir``, or ``.tablesmith/local/<environment>`` next to the spec (or in the cwd).

    One state per environment: dev and prod name their tables alike, and in one shared state
    prod's apply would meet dev's tables (``ADOPTS_TABLE``), where AWS keeps them in
    separate accounts or at least apart by name.
    """
    if override is not None:
        return override
    if environment is None:
        from tablesmith.errors import UsageError

        raise UsageError("--env ENV is needed to find the local state (one per environment), "
                         "or name it with --state-dir DIR")
    if spec_path is None:
        base = Path.cwd()
    else:
        base = spec_path if spec_path.is_dir() else spec_path.parent
    return base / ".tablesmith" / "local" / environment


def is_local_endpoint(endpoint: str | None) -> bool:
    """Is ``endpoint`` the local target's kind: ``http://127.0.0.1:<port>``, nothing more?"""
    match = _LOCAL_ENDPOINT.fullmatch(endpoint or "")
    return match is not None and 0 < int(match.group(1)) < 65536


def require_local_endpoint(endpoint: str | None) -> str:
    """``endpoint`` if it is the local target's kind; otherwise a refusal naming it."""
    if endpoint is None or not is_local_endpoint(endpoint):
        raise LocalTargetError(f"the local target's endpoint {endpoint!r} is not "
                               "http://127.0.0.1:<port>: refusing to send requests there")
    return endpoint


_LOCAL_ENDPOINT = re.compile(r"http://127\.0\.0\.1:([0-9]{1,5})")


def process_owner(pid: int) -> int | None:
    """The uid of live process ``pid``; None when there is no such process."""
    if pid <= 0:
        return None
    if os.path.isdir("/proc/self"):  # Linux: /proc/<pid> belongs to the process's user
        try:
            return os.stat(f"/proc/{pid}").st_uid
        except OSError:
            return None
    try:  # no /proc (macOS): signal 0 tests existence; EPERM means another user's
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return -1
    return os.geteuid()
