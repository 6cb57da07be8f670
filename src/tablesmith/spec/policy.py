"""Resource-based policy documents (DynamoDB PutResourcePolicy): reading, checking, canonical text.

Pure except :func:`read_policy_file`, which reads a policy file written beside the spec. Used
by ``spec.resolve`` (validation, the effective ``ResourcePolicy``) and by
``around.resource_policy`` (what a read policy compares as). The rules, from the API reference
(PutResourcePolicy) and the IAM policy grammar, each checked here before AWS would refuse:

* the document is a JSON object with ``Version`` and ``Statement`` (a statement, or a
  non-empty list of them), and only ``Version``, ``Id`` and ``Statement`` at the top;
* each statement has ``Effect`` Allow or Deny, exactly one of ``Action`` / ``NotAction`` and,
  being attached to a resource, exactly one of ``Principal`` / ``NotPrincipal``: ``"*"`` or a
  mapping of AWS / Service / Federated / CanonicalUser to principals, ``NotPrincipal`` only
  with Deny;
* "The maximum size supported for a resource-based policy document is 20 KB. DynamoDB counts
  whitespaces": the size is that of the text tablesmith sends (:func:`canonical`, compact).

Documents are compared semantically: :func:`canonical` is compact JSON with sorted keys, so two
documents that differ only in key order or whitespace are the same text.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any

from tablesmith.spec.model import ResourcePolicy

MAX_POLICY_BYTES = 20 * 1024  # PutResourcePolicy Policy: 20 KB, whitespace counted
# a policy file may be pretty-printed: compacted it must still fit MAX_POLICY_BYTES
MAX_POLICY_FILE_BYTES = 256 * 1024
MAX_POLICY_PATH = 255
VERSIONS = ("2012-10-17", "2008-10-17")  # the IAM policy language versions
NONE = "none"  # the spec's word for "manage: no policy attached"
_TOP_KEYS = ("Version", "Id", "Statement")
PRINCIPAL_TYPES = ("AWS", "Service", "Federated", "CanonicalUser")  # IAM's principal elements
_STATEMENT_KEYS = ("Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction",
                   "Resource", "NotResource", "Condition")

Problem = tuple[tuple[str | int, ...], str, str]  # (path under the policy, message, hint)


def canonical(document: object) -> str:
    """The text sent to AWS and compared: compact JSON, keys sorted (ValueError: not JSON)."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False)


def parse(text: str) -> Any:
    """A policy as AWS answers it (a JSON string), parsed."""
    return json.loads(text)


def statements(document: object) -> list[dict[str, Any]]:
    """The statements of a (checked or read) document, as a list of mappings."""
    found = document.get("Statement") if isinstance(document, dict) else None
    items = [found] if isinstance(found, dict) else found if isinstance(found, list) else []
    return [s for s in items if isinstance(s, dict)]


def as_list(value: object) -> list[Any]:
    """An IAM element that may be one value or a list of them, as a list."""
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def problems(document: object) -> list[Problem]:
    """What AWS would refuse in ``document`` (empty: it is a valid policy)."""
    if not isinstance(document, dict):
        return [((), "a resource policy must be a mapping (the policy document), "
                 f"'{NONE}', or {{file: policy.json}}", "")]
    found: list[Problem] = []
    for key in document:
        if key not in _TOP_KEYS:
            found.append(((key,), f"unknown policy element '{key}'",
                          "a policy has Version, Statement and optionally Id"))
    version = document.get("Version")
    if version is None:
        found.append(((), "the policy has no Version", "add Version: '2012-10-17'"))
    elif version not in VERSIONS:
        found.append((("Version",), f"Version {json.dumps(version)} is not a policy language "
                      "version", "use '2012-10-17'"))
    raw = document.get("Statement")
    if raw is None:
        found.append(((), "the policy has no Statement", "add Statement: [...]"))
    elif not isinstance(raw, (dict, list)) or raw == []:
        found.append((("Statement",), "Statement must be a statement or a non-empty list of them",
                      ""))
    else:
        items = [raw] if isinstance(raw, dict) else raw
        for i, statement in enumerate(items):
            at: tuple[str | int, ...] = ("Statement",) if isinstance(raw, dict) else \
                ("Statement", i)
            found += _statement_problems(statement, at)
        sids = [s.get("Sid") for s in statements(document) if s.get("Sid") is not None]
        if len(sids) != len(set(map(str, sids))):
            found.append((("Statement",), "two statements have the same Sid",
                          "each Sid must be unique in its policy"))
    if not found:
        try:
            size = len(canonical(document).encode())
        except ValueError as exc:  # NaN or infinity: not JSON
            return [((), f"the policy is not valid JSON: {exc}", "")]
        if size > MAX_POLICY_BYTES:
            found.append(((), f"the policy is {size:,} bytes as sent (compact JSON); DynamoDB "
                          f"takes at most {MAX_POLICY_BYTES:,} (20 KB)",
                          "split the grants, or use wildcards and conditions"))
    return found


def _statement_problems(statement: object, at: tuple[str | int, ...]) -> list[Problem]:
    if not isinstance(statement, dict):
        return [(at, "a statement must be a mapping", "")]
    found: list[Problem] = []
    for key in statement:
        if key not in _STATEMENT_KEYS:
            found.append(((*at, key), f"unknown statement element '{key}'",
                          f"known: {', '.join(_STATEMENT_KEYS)}"))
    if statement.get("Effect") not in ("Allow", "Deny"):
        found.append(((*at, "Effect"), "Effect must be Allow or Deny", ""))
    pairs = (("Action", "NotAction", ""),
             ("Principal", "NotPrincipal", " (a resource-based policy names who it applies to)"))
    for first, second, why in pairs:
        given = [k for k in (first, second) if k in statement]
        if len(given) != 1:
            what = "has both" if given else "needs one of"
            found.append((at, f"the statement {what} {first} and {second}{why}", ""))
    for key in ("Principal", "NotPrincipal"):
        if key in statement and (wrong := _principal_problem(statement[key])) is not None:
            found.append(((*at, key), wrong, 'e.g. {AWS: "arn:aws:iam::111122223333:root"}, '
                          'or "*" for everyone'))
    if "NotPrincipal" in statement and statement.get("Effect") == "Allow":
        # AWS refuses NotPrincipal with Allow: it would grant nearly everyone
        found.append(((*at, "NotPrincipal"), "NotPrincipal is only allowed with Effect Deny",
                      "name the principals to allow in Principal"))
    for key in ("Action", "NotAction", "Resource", "NotResource"):
        if key in statement:
            values = as_list(statement[key])
            if not values or not all(isinstance(v, str) and v for v in values):
                found.append(((*at, key), f"{key} must be a string or a list of strings", ""))
    if "Resource" in statement and "NotResource" in statement:
        found.append((at, "the statement has both Resource and NotResource", ""))
    if "Condition" in statement and not isinstance(statement["Condition"], dict):
        found.append(((*at, "Condition"), "Condition must be a mapping", ""))
    return found


def _principal_problem(principal: object) -> str | None:
    """Why AWS would refuse a Principal (or NotPrincipal) element; None: it would not.
    ``"*"`` is the only bare string; otherwise a mapping of principal types to one or more
    non-empty strings."""
    if principal == "*":
        return None
    if not isinstance(principal, dict) or not principal:
        return ('a principal is "*" or a mapping of AWS, Service, Federated or CanonicalUser '
                "to principals (a bare ARN is refused)")
    for kind, values in principal.items():
        if kind not in PRINCIPAL_TYPES:
            return f"unknown principal type '{kind}' (known: {', '.join(PRINCIPAL_TYPES)})"
        listed = as_list(values)
        if not listed or not all(isinstance(v, str) and v for v in listed):
            return f"{kind} must be a principal or a list of them (non-empty strings)"
    return None


def read_policy_file(spec_file: str, name: str) -> tuple[Any, str | None]:
    """The JSON document in ``name``, a file beside ``spec_file``; or why it is not read.

    A spec may come from a pull request: the path must stay under the spec's directory (no
    absolute path, no ``..``), no symbolic link is followed (O_NOFOLLOW at every step), only a
    regular file is read, and at most MAX_POLICY_FILE_BYTES of it.
    """
    relative = PurePosixPath(name)
    if not name or len(name) > MAX_POLICY_PATH or relative.is_absolute() or \
            ".." in relative.parts or "\\" in name or "\0" in name:
        return None, (f"'{name}' must be a relative path to a file beside the spec "
                      "(no '..', not absolute)")
    parts = [p for p in relative.parts if p != "."]
    if not parts:
        return None, f"'{name}' is not a file"
    nofollow = getattr(os, "O_NOFOLLOW", 0)
    try:
        directory = os.open(Path(spec_file).parent, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError as exc:
        return None, f"cannot read '{name}': the spec's directory is {_why(exc)}"
    try:
        for part in parts[:-1]:
            try:
                inner = os.open(part, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | nofollow,
                                dir_fd=directory)
            except OSError as exc:
                return None, f"cannot read '{name}': '{part}' is {_why(exc)}"
            os.close(directory)
            directory = inner
        try:
            fd = os.open(parts[-1], os.O_RDONLY | nofollow | getattr(os, "O_NONBLOCK", 0),
                         dir_fd=directory)
        except OSError as exc:
            return None, f"cannot read '{name}': {_why(exc)}"
    finally:
        os.close(directory)
    with os.fdopen(fd, "rb") as stream:
        if not stat.S_ISREG(os.fstat(stream.fileno()).st_mode):
            return None, f"'{name}' is not a regular file"
        data = stream.read(MAX_POLICY_FILE_BYTES + 1)
    if len(data) > MAX_POLICY_FILE_BYTES:
        return None, f"'{name}' is larger than {MAX_POLICY_FILE_BYTES // 1024} KiB"
    try:
        return json.loads(data.decode("utf-8")), None
    except UnicodeDecodeError:
        return None, f"'{name}' is not UTF-8 text"
    except ValueError as exc:
        return None, f"'{name}' is not valid JSON: {exc}"


def _why(exc: OSError) -> str:
    import errno

    if exc.errno == errno.ELOOP:
        return "a symbolic link (not followed)"
    if exc.errno == errno.ENOTDIR:
        return "not a directory (or a symbolic link, not followed)"
    if exc.errno == errno.ENOENT:
        return "no such file"
    return exc.strerror or str(exc)


Report = Callable[[tuple[str | int, ...], str, str], None]  # (path under the field, message, hint)


def effective(written: object, spec_file: str | None, report: Report) -> ResourcePolicy | None:
    """The effective policy of a ``resource_policy`` field as written (None: not managed).

    ``spec_file``: where a ``{file: ...}`` was written (a file is read beside it); ``report``
    takes each problem, at a path under the field.
    """
    if written is None:
        return None
    if written == NONE:
        return ResourcePolicy(document=None)
    document = written
    if isinstance(written, dict) and "file" in written:  # no policy element is called "file"
        name = written["file"]
        if len(written) != 1 or not isinstance(name, str):
            report((), "{file: ...} takes one string: the policy file's path beside the spec",
                   "e.g. resource_policy: {file: orders-policy.json}")
            return None
        if spec_file is None:
            report(("file",), "a policy file is read beside a spec file; this value has none", "")
            return None
        document, why = read_policy_file(spec_file, name)
        if why is not None:
            report(("file",), why, "")
            return None
        found = problems(document)
        for path, message, hint in found:
            where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)
            report(("file",), f"{name}{where}: {message}", hint)
        return None if found else ResourcePolicy(document=canonical(document))
    found = problems(document)
    for path, message, hint in found:
        report(path, message, hint)
    return None if found else ResourcePolicy(document=canonical(document))
