"""Write an export into ``-o DIR``, touching only the files tablesmith wrote there before.

``-o DIR`` is usually shared with files the user wrote (``network.tf.json``, a project's
``README.md``, a provider override), so the exporter owns only what it can prove it wrote:

* A manifest, :data:`MANIFEST` (``.tablesmith-export.json``), lists the export's kind and the
  names of its files. It is rewritten atomically (temp file + rename) on every export.
* Only a file listed in the previous manifest is ever deleted (a table removed from the spec
  takes its old file with it) or replaced. A file the export would write that exists but is
  not listed is never overwritten, even when its bytes happen to be identical: the export is
  refused, listing every such file, and the fix is a fresh directory (or deleting the files
  by hand, which is also how an export made before manifests existed is taken over).
* Nothing is followed through a symlink: ``DIR`` itself, the manifest and every file written
  are opened relative to one directory descriptor with ``O_NOFOLLOW``; a symlink where a file
  would go is refused, and renaming the temp file onto a name replaces that name, never what
  it points to. File names (from the renderer, or read from a manifest) must be plain names:
  no ``/``, no ``..``, so nothing is ever written or deleted outside ``DIR``.
* One directory holds one kind of export: a manifest of the other kind is refused, since
  taking its files over would delete them.

Order, so that an interrupted export never forgets a file it wrote: the manifest is first
rewritten to list the old and the new files, then the new files are written, the stale ones
deleted, and the manifest rewritten to list the new files only.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import secrets
import stat
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tablesmith.errors import UsageError

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from pathlib import Path

MANIFEST = ".tablesmith-export.json"
MANIFEST_VERSION = 1
_TEMP_PREFIX = ".tablesmith-tmp-"
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)


@dataclass(frozen=True)
class ExportWrite:
    """What one export did in its directory: file names written and removed, sorted."""

    written: tuple[str, ...]
    removed: tuple[str, ...]


def write_export(directory: Path, kind: str, files: Mapping[str, str]) -> ExportWrite:
    """Write ``files`` (``{plain file name: text}``) as the ``kind`` export into ``directory``.

    Raises :class:`UsageError`, before anything is written, when the directory is a symlink,
    holds another kind of export or an unreadable manifest, or already has a file the export
    would write that an earlier export did not.
    """
    for name in files:
        _check_plain(name, "the exporter produced the file name")
    fd = _open_directory(directory)
    try:
        previous = _read_manifest(fd, directory, kind)
        _refuse_foreign(fd, directory, files, previous)
        stale = sorted(previous - set(files))
        _write_manifest(fd, kind, set(files) | previous)
        for name, text in sorted(files.items()):
            _write_file(fd, name, text.encode("utf-8"))
        removed = [name for name in stale if _unlink(fd, name)]
        _write_manifest(fd, kind, set(files))
    finally:
        os.close(fd)
    return ExportWrite(written=tuple(sorted(files)), removed=tuple(removed))


# --------------------------------------------------------------------------- checks


def _check_plain(name: str, what: str) -> None:
    """A name in ``DIR`` itself: no path separator, no ``.``/``..``, not tablesmith's own."""
    if (
        not name
        or name in (".", "..")
        or "/" in name
        or "\\" in name
        or "\0" in name
        or name == MANIFEST
        or name.startswith(_TEMP_PREFIX)
    ):
        raise UsageError(f"{what} {name!r}, which is not a plain file name; refusing to write it")


def _open_directory(directory: Path) -> int:
    try:
        os.mkdir(directory)
    except FileExistsError:  # a directory (or a symlink: refused by the open below)
        pass
    except FileNotFoundError:
        directory.parent.mkdir(parents=True, exist_ok=True)
        os.mkdir(directory)
    try:
        return os.open(directory, os.O_RDONLY | _DIRECTORY | _NOFOLLOW)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR) and os.path.islink(directory):
            raise UsageError(
                f"{directory} is a symlink; tablesmith does not export through "
                "symlinks: give the real directory with -o"
            ) from None
        raise UsageError(
            f"cannot use {directory} as the export directory: {exc.strerror}"
        ) from None


def _read_manifest(fd: int, directory: Path, kind: str) -> set[str]:
    """The file names the previous export of ``kind`` wrote (empty when there was none)."""
    where = directory / MANIFEST
    fresh = "choose a fresh directory with -o"
    try:
        # O_NONBLOCK: a FIFO planted as the manifest must not hang the export
        handle = os.open(MANIFEST, os.O_RDONLY | os.O_NONBLOCK | _NOFOLLOW, dir_fd=fd)
    except FileNotFoundError:
        return set()
    except OSError as exc:
        raise UsageError(
            f"cannot read {where} ({exc.strerror}): it must be a regular file "
            f"written by tablesmith; remove it or {fresh}"
        ) from None
    try:
        if not stat.S_ISREG(os.fstat(handle).st_mode):
            raise UsageError(f"{where} is not a regular file; remove it or {fresh}")
        with os.fdopen(handle, "rb", closefd=False) as stream:
            raw = stream.read(1_000_001)
    finally:
        os.close(handle)
    try:
        manifest = json.loads(raw)
        names = manifest["files"]
        found_kind = manifest["kind"]
        if not (
            isinstance(names, list)
            and all(isinstance(n, str) for n in names)
            and isinstance(found_kind, str)
        ):
            raise TypeError
    except (ValueError, KeyError, TypeError):
        raise UsageError(
            f"{where} is not a tablesmith export manifest; remove it or {fresh}"
        ) from None
    if found_kind != kind:
        raise UsageError(
            f"{directory} holds a {found_kind} export (see {where}); export "
            f"{kind} into another directory"
        )
    for name in names:
        _check_plain(name, f"{where} lists")
    return set(names)


def _refuse_foreign(fd: int, directory: Path, files: Iterable[str], owned: set[str]) -> None:
    """Refuse, listing them all, the names the export would write that it does not own."""
    foreign: list[str] = []
    links: list[str] = []
    for name in sorted(files):
        try:
            info = os.stat(name, dir_fd=fd, follow_symlinks=False)
        except FileNotFoundError:
            continue
        if stat.S_ISLNK(info.st_mode):
            links.append(name)
        elif name not in owned or not stat.S_ISREG(info.st_mode):
            foreign.append(name)
    problems = []
    if links:
        problems.append(
            f"symlinks where the export writes files (not followed): {_listing(directory, links)}"
        )
    if foreign:
        problems.append(
            f"files that an earlier tablesmith export did not write (not listed in "
            f"{MANIFEST}): {_listing(directory, foreign)}"
        )
    if problems:
        raise UsageError(
            f"refusing to overwrite in {directory}: "
            + "; ".join(problems)
            + ". Export into a fresh directory with -o, or remove these files "
            "first if they are from an export made before tablesmith kept a "
            "manifest"
        )


def _listing(directory: Path, names: list[str]) -> str:
    return ", ".join(str(directory / n) for n in names)


# --------------------------------------------------------------------------- writing


def _write_manifest(fd: int, kind: str, names: set[str]) -> None:
    document = {
        "generator": "tablesmith export",
        "version": MANIFEST_VERSION,
        "kind": kind,
        "files": sorted(names),
    }
    _write_file(fd, MANIFEST, (json.dumps(document, indent=2) + "\n").encode("utf-8"))


def _write_file(fd: int, name: str, data: bytes) -> None:
    """Write ``name`` in the directory atomically: a fresh temp file, then a rename onto it.

    ``O_CREAT | O_EXCL | O_NOFOLLOW`` means the temp file is new and ours; the rename replaces
    the directory entry ``name`` (a planted symlink included) and never writes through it.
    """
    temp = f"{_TEMP_PREFIX}{secrets.token_hex(6)}"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW
    handle = os.open(temp, flags, 0o666, dir_fd=fd)  # 0o666 & umask, as for any written file
    try:
        with os.fdopen(handle, "wb") as stream:  # closes the descriptor
            stream.write(data)
        os.rename(temp, name, src_dir_fd=fd, dst_dir_fd=fd)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp, dir_fd=fd)
        raise


def _unlink(fd: int, name: str) -> bool:
    """Delete a stale file of the previous export; only the entry itself, never a link target."""
    try:
        info = os.stat(name, dir_fd=fd, follow_symlinks=False)
    except FileNotFoundError:
        return False
    if not stat.S_ISREG(info.st_mode):
        return False  # replaced by something else since: not ours to delete any more
    os.unlink(name, dir_fd=fd)
    return True
