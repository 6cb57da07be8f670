"""Files in the local target's state directory, safe against other users and planted links.

The state directory holds every item of every local table and the local target's access key,
so it is treated like ``~/.ssh``:

* the directories tablesmith creates are 0700, and an existing one is used only if it is a real
  directory (not a symlink), owned by the effective user and not writable by group or others;
* every file is written 0600 from its creation: ``O_CREAT|O_EXCL|O_NOFOLLOW`` on a temp name,
  fsync, then ``os.replace`` over the final name, so a reader sees the old or the new file,
  never a half-written or world-readable one;
* every file is opened with ``O_NOFOLLOW`` (a planted symlink is refused, its target untouched)
  and must be a regular file of ours.

Checks compare with ``os.geteuid()``, not with "is root": CI runs as root, and root's state
directory must not be one another user prepared either.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from pathlib import Path
from typing import IO

from tablesmith.errors import LocalTargetError

DIR_MODE = 0o700
FILE_MODE = 0o600
_READ = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK  # NONBLOCK: a FIFO can't hang
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_LOCK = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC


def private_directory(directory: Path) -> None:
    """Create ``directory`` (0700) or check an existing one; refuse one that is not safe.

    The ancestors up to the nearest ``.tablesmith`` are tablesmith's too (``.tablesmith/local``):
    they are created 0700 and checked the same way, and ``.tablesmith`` gets a ``.gitignore``
    of ``*`` so that a state directory is never committed. Ancestors above are the user's:
    created (0700) only when missing, and not checked.
    """
    directory = Path(os.path.abspath(directory))  # absolute, links not resolved: checked
    for path in reversed(_missing(directory)):
        _make_directory(path)
    check_tree(directory)
    _write_gitignore(_own_chain(directory)[-1])


def check_tree(directory: Path) -> None:
    """Check ``directory`` and its tablesmith ancestors (as made by private_directory)."""
    directory = Path(os.path.abspath(directory))
    # outermost first: nothing inside a refused directory is touched
    for path in reversed(_own_chain(directory)):
        check_directory(path)


def check_directory(path: Path) -> None:
    """Refuse ``path`` unless it is a real directory of ours that only we can write."""
    try:
        info = os.lstat(path)
    except OSError as exc:
        raise LocalTargetError(f"cannot use the state directory {path}: {_reason(exc)}") from exc
    if stat.S_ISLNK(info.st_mode):
        raise LocalTargetError(
            f"the state directory {path} is a symlink (to {_link_target(path)}); tablesmith does "
            "not follow links there: remove the link, or pass the real directory with "
            "--state-dir"
        )
    if not stat.S_ISDIR(info.st_mode):
        raise LocalTargetError(
            f"the state directory {path} is not a directory: remove it or "
            "choose another with --state-dir"
        )
    if info.st_uid != os.geteuid():
        raise LocalTargetError(
            f"the state directory {path} is owned by uid {info.st_uid}, not by you (uid "
            f"{os.geteuid()}): another user could read or change the local state; remove it "
            "(or ask its owner to) or choose another with --state-dir"
        )
    if info.st_mode & 0o022:
        raise LocalTargetError(
            f"the state directory {path} is writable by group or others (mode "
            f"{stat.S_IMODE(info.st_mode):04o}): run `chmod 700 {path}`"
        )
    if stat.S_IMODE(info.st_mode) != DIR_MODE:
        _tighten(path)  # ours and only we write it: a 0755 one from an older tablesmith


def read_private(path: Path) -> bytes | None:
    """The bytes of a state-directory file, or None when it does not exist."""
    try:
        fd = os.open(path, _READ)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise _refusal(path, "read", exc) from exc
    with os.fdopen(fd, "rb") as handle:
        _check_file(path, os.fstat(fd))
        os.set_blocking(fd, True)
        return handle.read()


def write_private(path: Path, data: bytes, *, backup: Path | None = None) -> None:
    """Replace ``path`` atomically with ``data``, 0600 from the start.

    With ``backup``, the file being replaced becomes the backup (one previous version kept).
    """
    tmp = path.with_name(path.name + ".tmp")
    _clear_stale(tmp)
    try:
        fd = os.open(tmp, _CREATE, FILE_MODE)
    except OSError as exc:
        raise _refusal(tmp, "write", exc) from exc
    try:
        os.fchmod(fd, FILE_MODE)  # exactly 0600, whatever the umask
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        _refuse_link(path)
        if backup is not None and _is_regular(path):
            _refuse_link(backup)
            os.replace(path, backup)
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise _refusal(path, "write", exc) from exc
        raise
    _sync_directory(path.parent)


def remove_private(path: Path) -> None:
    """Delete a state-directory file if it is there (a symlink is removed, never followed)."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise _refusal(path, "delete", exc) from exc


def open_lock(path: Path) -> IO[str]:
    """The lock file, opened (created 0600) without following a link, for ``flock``."""
    try:
        fd = os.open(path, _LOCK, FILE_MODE)
    except OSError as exc:
        raise _refusal(path, "open", exc) from exc
    handle = os.fdopen(fd, "r+", encoding="utf-8")
    try:
        info = os.fstat(fd)
        _check_file(path, info)
        if stat.S_IMODE(info.st_mode) != FILE_MODE:
            os.fchmod(fd, FILE_MODE)  # an 0644 lock from an older tablesmith
    except BaseException:
        handle.close()
        raise
    return handle


# ---------------------------------------------------------------------------- helpers


def _own_chain(directory: Path) -> list[Path]:
    """``directory`` and its ancestors up to the nearest ``.tablesmith`` (innermost first)."""
    chain = [directory]
    if directory.name != ".tablesmith":
        for parent in directory.parents[:2]:  # <spec>/.tablesmith/local/<env> at the deepest
            chain.append(parent)
            if parent.name == ".tablesmith":
                return chain
        return [directory]  # a --state-dir of the user's choosing: only it is tablesmith's
    return chain


def _missing(directory: Path) -> list[Path]:
    """``directory`` and its ancestors that do not exist yet (innermost first)."""
    missing = []
    for path in (directory, *directory.parents):
        if os.path.lexists(path):
            break
        missing.append(path)
    return missing


def _make_directory(path: Path) -> None:
    try:
        os.mkdir(path, DIR_MODE)
    except FileExistsError:
        return  # made meanwhile by another command: checked like any existing one
    except OSError as exc:
        raise LocalTargetError(
            f"cannot create the state directory {path}: {_reason(exc)}; "
            "choose a writable place with --state-dir"
        ) from exc
    _tighten(path)  # mkdir's mode is masked by the umask: make it exactly 0700


def _tighten(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as exc:
        raise _refusal(path, "open", exc) from exc
    try:
        os.fchmod(fd, DIR_MODE)
    except OSError as exc:
        if exc.errno not in (errno.EROFS, errno.EPERM):  # a read-only copy is still safe
            raise _refusal(path, "chmod", exc) from exc
    finally:
        os.close(fd)


def _write_gitignore(top: Path) -> None:
    gitignore = top / ".gitignore"
    if os.path.lexists(gitignore):
        return
    try:
        write_private(gitignore, b"# tablesmith's local state: never commit it\n*\n")
    except LocalTargetError:
        if os.access(top, os.W_OK):
            raise
        # a read-only state directory is reported by whatever needs to write in it


def _check_file(path: Path, info: os.stat_result) -> None:
    if not stat.S_ISREG(info.st_mode):
        raise LocalTargetError(
            f"{path} is not a regular file: remove it (tablesmith only "
            "keeps regular files in its state directory)"
        )
    if info.st_uid != os.geteuid():
        raise LocalTargetError(
            f"{path} is owned by uid {info.st_uid}, not by you (uid {os.geteuid()}): remove it"
        )


def _clear_stale(tmp: Path) -> None:
    """A temp file left by an interrupted save is removed; a planted link is refused."""
    _refuse_link(tmp)
    if _is_regular(tmp):
        remove_private(tmp)


def _is_regular(path: Path) -> bool:
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except FileNotFoundError:
        return False


def _refuse_link(path: Path) -> None:
    if os.path.islink(path):
        raise LocalTargetError(
            f"{path} is a symlink (to {_link_target(path)}); tablesmith never follows links "
            "in its state directory: remove the link"
        )


def _link_target(path: Path) -> str:
    try:
        return os.readlink(path)
    except OSError:
        return "?"


def _refusal(path: Path, verb: str, exc: OSError) -> LocalTargetError:
    if exc.errno == errno.ELOOP:
        return LocalTargetError(
            f"{path} is a symlink (to {_link_target(path)}); tablesmith never follows links "
            "in its state directory: remove the link"
        )
    if exc.errno == errno.EEXIST:
        return LocalTargetError(
            f"cannot {verb} {path}: it appeared while tablesmith was "
            "writing it (another process?); remove it and try again"
        )
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return LocalTargetError(
            f"cannot {verb} {path}: {_reason(exc)}; the local target needs to write its state "
            f"directory: make {path.parent} writable (`chmod u+w {path.parent}`) or choose "
            "another with --state-dir"
        )
    return LocalTargetError(f"cannot {verb} {path}: {_reason(exc)}")


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


def _sync_directory(directory: Path) -> None:
    """fsync the directory, so the rename survives a crash (best effort)."""
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
