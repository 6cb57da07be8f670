"""The local target's state directory.

    <state-dir>/
      state.json     format version, moto and tablesmith versions, when saved
      state.pickle   moto's backends for the services tablesmith uses (pickled)
      lock           held (flock) by the one process serving this state
      endpoint.json  the URL of a running `tablesmith local serve`, while it runs

Only one process owns a state directory at a time; a second one that finds the lock held
talks to the owner's endpoint instead of starting its own server (so ``--local`` commands
work next to ``tablesmith local serve``). Saving is atomic (write, fsync, rename). Nothing
secret is written: moto's backends hold no credentials of yours, and the local target signs
with fixed, fake keys. AWS-managed IAM policies are not saved (moto rebuilds them).
"""

from __future__ import annotations

import contextlib
import copyreg
import fcntl
import functools
import json
import os
import pickle
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from tablesmith.errors import LocalTargetError

STATE_FORMAT = 1
SERVICES = ("dynamodb", "dynamodbstreams", "backup", "iam", "cloudwatch", "kms", "sts", "sns")
RESET_HINT = "run `tablesmith local reset` (this deletes the local tables and their data)"


@dataclass
class Owner:
    """Another process serving this state directory."""

    endpoint: str
    pid: int


class StateStore:
    """A state directory: load into moto, save from moto, lock, reset."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.state_file = directory / "state.pickle"
        self.header_file = directory / "state.json"
        self.lock_file = directory / "lock"
        self.endpoint_file = directory / "endpoint.json"
        self._lock: IO[str] | None = None

    # ------------------------------------------------------------------ ownership

    def acquire(self) -> Owner | None:
        """Own the directory (None); if another process does, where it serves.

        The owner may be a short command rather than a server, which never publishes an
        endpoint: then wait (up to 30 s) for it to finish.
        """
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise LocalTargetError(f"cannot create the state directory {self.directory}: "
                                   f"{exc}") from exc
        deadline = time.monotonic() + 30
        while not self._try_lock():
            owner = self._owner()
            if owner is not None:
                return owner
            if time.monotonic() > deadline:
                raise LocalTargetError(f"the local state in {self.directory} is in use by "
                                       "another tablesmith command; try again when it has "
                                       "finished")
            time.sleep(0.2)
        return None

    def _try_lock(self) -> bool:
        handle = self.lock_file.open("a+", encoding="utf-8")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        self._lock = handle
        return True

    def _owner(self) -> Owner | None:
        try:
            data = json.loads(self.endpoint_file.read_text(encoding="utf-8"))
            return Owner(endpoint=str(data["endpoint"]), pid=int(data["pid"]))
        except (OSError, ValueError, KeyError):
            return None

    def publish(self, endpoint: str) -> None:
        """Tell other commands where this process serves the state."""
        tmp = self.endpoint_file.with_suffix(".tmp")
        tmp.write_text(json.dumps({"endpoint": endpoint, "pid": os.getpid()}), encoding="utf-8")
        tmp.replace(self.endpoint_file)

    def release(self) -> None:
        """Give the directory up."""
        with contextlib.suppress(OSError):
            self.endpoint_file.unlink(missing_ok=True)
        if self._lock is not None:
            fcntl.flock(self._lock, fcntl.LOCK_UN)
            self._lock.close()
            self._lock = None

    # ------------------------------------------------------------------ state

    def load(self) -> bool:
        """Restore moto's backends from the directory; False when there is no state yet."""
        if not self.state_file.exists():
            # a fresh target starts empty, even in a process where moto ran before
            from moto.backends import get_backend

            for service in SERVICES:
                get_backend(service).clear()  # type: ignore[call-overload]
            return False
        try:
            header = json.loads(self.header_file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise LocalTargetError(f"the local state in {self.directory} has no readable "
                                   f"header ({exc}); {RESET_HINT}") from exc
        expected = _versions()
        if header.get("format") != STATE_FORMAT or header.get("moto") != expected["moto"]:
            raise LocalTargetError(
                f"the local state in {self.directory} was written by another version "
                f"(format {header.get('format')}, moto {header.get('moto')}; this is format "
                f"{STATE_FORMAT}, moto {expected['moto']}); {RESET_HINT}")
        _register_reducers()
        try:
            with self.state_file.open("rb") as handle:
                saved: dict[str, Any] = pickle.load(handle)  # our own file, in our own dir
        except Exception as exc:  # any unpickling failure means the same: unusable
            raise LocalTargetError(f"the local state in {self.directory} cannot be read "
                                   f"({type(exc).__name__}: {exc}); {RESET_HINT}") from exc
        from moto.backends import get_backend

        for service, backends in saved.items():
            target = get_backend(service)  # type: ignore[call-overload]
            target.clear()
            if service == "iam":  # saved as {account: {region: backend}} (see save)
                for account, regions in backends.items():
                    for region, backend in regions.items():
                        target[account][region] = backend
            else:
                target.update(backends)
        _restore_aws_policies()
        return True

    def save(self) -> None:
        """Write moto's backends atomically."""
        from moto.backends import get_backend

        _register_reducers()
        state: dict[str, Any] = {
            service: get_backend(service)  # type: ignore[call-overload]
            for service in SERVICES if service != "iam"}
        # IAM backends that hold nothing of ours are left to moto to make again on demand:
        # restoring one means rebuilding ~1,500 AWS-managed policies (a quarter second each)
        state["iam"] = {account: {region: backend for region, backend in regions.items()
                                  if _holds_user_iam(backend)}
                        for account, regions in get_backend("iam").items()}
        tmp = self.state_file.with_suffix(".tmp")
        try:
            with _without_aws_policies(), tmp.open("wb") as handle:
                pickle.dump(state, handle, protocol=pickle.HIGHEST_PROTOCOL)
                handle.flush()
                os.fsync(handle.fileno())
        except (OSError, pickle.PicklingError, AttributeError, TypeError) as exc:
            tmp.unlink(missing_ok=True)
            raise LocalTargetError(f"cannot save the local state to {self.directory}: "
                                   f"{type(exc).__name__}: {exc}") from exc
        os.chmod(tmp, 0o600)
        tmp.replace(self.state_file)
        header = {**_versions(), "format": STATE_FORMAT,
                  "saved_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        self.header_file.write_text(json.dumps(header, indent=2), encoding="utf-8")

    def reset(self) -> None:
        """Delete the saved state (refused while another process serves it)."""
        owner = self.acquire()
        if owner is not None:
            raise LocalTargetError(f"the local state is being served at {owner.endpoint} "
                                   f"(pid {owner.pid}); stop `tablesmith local serve` first")
        try:
            for path in (self.state_file, self.header_file,
                         self.state_file.with_suffix(".tmp")):
                path.unlink(missing_ok=True)
        finally:
            self.release()


def _versions() -> dict[str, str]:
    from importlib.metadata import version

    return {"moto": version("moto"), "tablesmith": version("tablesmith")}


def _load_pem(data: bytes) -> Any:
    from cryptography.hazmat.primitives import serialization

    return serialization.load_pem_private_key(data, password=None)


def _reduce_key(key: Any) -> tuple[Any, tuple[bytes]]:
    from cryptography.hazmat.primitives import serialization

    return _load_pem, (key.private_bytes(serialization.Encoding.PEM,
                                         serialization.PrivateFormat.PKCS8,
                                         serialization.NoEncryption()),)


@functools.cache
def _register_reducers() -> None:
    """Teach pickle the few objects moto holds that do not pickle (KMS RSA keys)."""
    from cryptography.hazmat.primitives.asymmetric import rsa

    # the concrete class is cryptography's Rust one: register the type of a real key
    key_type: Any = type(rsa.generate_private_key(public_exponent=65537, key_size=1024))
    copyreg.pickle(key_type, _reduce_key)


def _holds_user_iam(backend: Any) -> bool:
    """Does an IAM backend hold anything but AWS's own, unattached managed policies?"""
    if backend.roles or backend.users or backend.groups or backend.instance_profiles:
        return True
    aws = {p.arn for p in backend.aws_managed_policies}
    return any(arn not in aws or getattr(policy, "attachment_count", 0)
               for arn, policy in backend.managed_policies.items())


def _iam_backends() -> list[Any]:
    from moto.backends import get_backend

    return [backend for regions in get_backend("iam").values()
            for backend in regions.values()]


@contextlib.contextmanager
def _without_aws_policies() -> Any:
    """Leave unattached AWS-managed IAM policies (about 24 MB) out of the pickle."""
    stashed = []
    for backend in _iam_backends():
        aws = [p for p in getattr(backend, "aws_managed_policies", [])
               if not getattr(p, "attachment_count", 0)]
        names = {p.arn for p in aws}
        stashed.append((backend, backend.aws_managed_policies,
                        {arn: backend.managed_policies[arn] for arn in names
                         if arn in backend.managed_policies}))
        backend.aws_managed_policies = [p for p in backend.aws_managed_policies
                                        if p.arn not in names]
        for arn in names:
            backend.managed_policies.pop(arn, None)
    try:
        yield
    finally:
        for backend, policies, removed in stashed:
            backend.aws_managed_policies = policies
            backend.managed_policies.update(removed)


def _restore_aws_policies() -> None:
    """Put back the AWS-managed policies a saved state left out."""
    for backend in _iam_backends():
        fresh = backend._init_aws_policies()
        kept = {p.arn: p for p in backend.aws_managed_policies}
        for policy in fresh:
            if policy.arn not in backend.managed_policies:
                backend.managed_policies[policy.arn] = policy
            kept.setdefault(policy.arn, backend.managed_policies[policy.arn])
        backend.aws_managed_policies = list(kept.values())


def state_dir_for(spec_path: Path | None, override: Path | None) -> Path:
    """``--state-dir``, or ``.tablesmith/local`` next to the spec (or in the cwd)."""
    if override is not None:
        return override
    if spec_path is None:
        return Path.cwd() / ".tablesmith" / "local"
    base = spec_path if spec_path.is_dir() else spec_path.parent
    return base / ".tablesmith" / "local"
