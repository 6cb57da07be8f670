"""The one exception tree of tablesmith.

Every error tablesmith raises on purpose derives from :class:`TablesmithError`; the CLI
catches that base class, prints ``Error: …`` and exits 1 (``--debug`` shows the traceback).

    TablesmithError
    ├── SpecError            the spec is invalid: carries every Diagnostic at once
    ├── UsageError           a command was called wrongly (unknown environment, bad flag value…)
    ├── AwsError             an AWS call failed: operation, resource and AWS error code, in
    │                        gerund context ("describing table 'tenants'")
    ├── PlanError            the plan cannot be applied as asked
    │   ├── HazardRefused    the plan has hazards that were not allowed (lists each operation
    │   │                    and the exact flag to re-run with); nothing was called
    │   ├── StalePlan        a saved plan was made from a live state that has since changed
    │   └── PlanRejected     a saved plan does not hold: made for another target, its
    │                        operations are not what its tables need, or its signature fails
    ├── ApplyError           an operation failed or timed out half way through an apply
    │   └── Interrupted      a stop (Ctrl-C, SIGTERM) was asked: carries what was done, what
    │                        AWS is still finishing, and what was not started
    ├── LocalTargetError     the embedded local target cannot start or its state is unusable
    └── LockHeld             another apply or destroy holds the environment's lock (named)

Diagnostics (:class:`Diagnostic`) are plain data: severity, message, where (file, line, field
path as the user wrote it) and a hint that says what to do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

Severity = Literal["error", "warning"]


@dataclass(frozen=True, order=True)
class Diagnostic:
    """One problem found in a spec, located where the user can fix it."""

    file: str
    line: int  # 1-based; 0 when the problem has no line (e.g. a missing file)
    path: str  # field path as the user wrote it, e.g. tables.tenants.sort_key.type
    message: str
    hint: str = ""
    severity: Severity = "error"

    def format(self) -> str:
        """Render as ``file:line: severity: path: message (hint: …)``."""
        where = f"{self.file}:{self.line}" if self.line else self.file
        text = f"{where}: {self.severity}: {self.path}: {self.message}"
        if self.hint:
            text += f"\n    hint: {self.hint}"
        return text

    def as_dict(self) -> dict[str, object]:
        """A stable JSON shape for ``--json`` output."""
        return {
            "severity": self.severity,
            "file": self.file,
            "line": self.line,
            "path": self.path,
            "message": self.message,
            "hint": self.hint,
        }


class TablesmithError(Exception):
    json_reported = False  # the CLI already printed this error as its --json result

    """Base class of every error tablesmith raises on purpose."""


class SpecError(TablesmithError):
    """The spec is invalid; ``diagnostics`` holds every problem found, sorted."""

    def __init__(self, diagnostics: Iterable[Diagnostic]) -> None:
        self.diagnostics: list[Diagnostic] = sorted(set(diagnostics))
        errors = [d for d in self.diagnostics if d.severity == "error"]
        self.summary = f"the spec has {len(errors)} error(s)"
        shown = "\n".join(d.format() for d in errors[:20])
        more = f"\n… and {len(errors) - 20} more" if len(errors) > 20 else ""
        super().__init__(f"{self.summary}:\n{shown}{more}")

    @property
    def errors(self) -> Sequence[Diagnostic]:
        """Only the error-severity diagnostics."""
        return [d for d in self.diagnostics if d.severity == "error"]


class UsageError(TablesmithError):
    """A command was called in a way that cannot work (unknown environment, bad value…)."""


class AwsError(TablesmithError):
    """An AWS call failed. ``context`` is gerund phrase, e.g. "describing table 'tenants'"."""

    def __init__(self, context: str, code: str, message: str) -> None:
        self.context = context
        self.code = code
        self.aws_message = message
        super().__init__(f"{context}: {code}: {message}")


class PlanError(TablesmithError):
    """The plan cannot be applied as asked."""


class HazardRefused(PlanError):
    """The plan has hazards that were not allowed; nothing was called."""

    def __init__(self, message: str, refused: Sequence[tuple[Any, Any]] = ()) -> None:
        super().__init__(message)
        self.refused = list(refused)  # (operation, hazard) pairs


class StalePlan(PlanError):
    """A saved plan's live-state fingerprint no longer matches AWS."""


class PlanRejected(PlanError):
    """A saved plan is refused: another target, operations the spec would not make, or a bad
    signature. Nothing was called."""


class ApplyError(TablesmithError):
    """An operation failed or timed out during apply."""

    result: Any = None  # tablesmith.apply.ApplyResult, when the apply had started


class Interrupted(ApplyError):
    """An apply stopped at an operation boundary because a stop was requested."""

    def __init__(self, result: Any) -> None:
        self.result = result  # tablesmith.apply.ApplyResult
        super().__init__(
            f"apply interrupted: {len(result.done)} operation(s) done, "
            f"{len(result.in_progress)} still finishing at AWS, {len(result.not_started)} "
            "not started; run plan/apply again to converge")


class LocalTargetError(TablesmithError):
    """The embedded local target could not start, or its state directory is unusable."""


class LockHeld(TablesmithError):
    """Another apply or destroy holds this environment's lock; the message names it."""
