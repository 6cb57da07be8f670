"""Regular expressions a spec supplies (``conventions.table_name_pattern``), run in linear time.

Python's ``re`` backtracks, and no ``re`` call can be given a time limit: a spec's
``'^(a|aa)+$'`` took 30 s on a 41-character table name. Refusing "dangerous shapes" (nested
quantifiers, overlapping alternatives) is incomplete, so a spec's pattern never runs on
``re``: it runs on RE2 (Google's automaton-based engine, the ``google-re2`` package), whose
matching time is linear in the name whatever the pattern, and whose memory per pattern is
capped (:data:`MAX_PATTERN_MEMORY`).

RE2 has no constructs that need backtracking (backreferences, lookarounds, conditionals,
atomic groups, possessive repeats): such a pattern is refused with RE2's own message, and so
is one over :data:`MAX_PATTERN_LENGTH` characters or one that compiles past the memory cap
(``(a{100}){100}``). Matching is a full match, so ``$`` before a trailing newline never makes
``"orders\\n"`` a name. Names over :data:`MAX_NAME_LENGTH` characters never match (DynamoDB
allows 255, and the name check reports such a name anyway).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

MAX_PATTERN_LENGTH = 500
MAX_PATTERN_MEMORY = 1 << 20  # bytes of RE2 program per pattern: ample for any naming rule
MAX_NAME_LENGTH = 1_024

HINT = (
    "naming conventions use RE2 syntax: literals, '.', classes ([a-z0-9_], \\d, \\w, \\s), "
    "groups, '|', repeats (*, +, ?, {m,n}) and the anchors ^ $ \\A \\z \\b; "
    "e.g. ^[a-z][a-z0-9_]*$"
)


class NamePattern:
    """A spec-supplied pattern, checked once; :meth:`fullmatch` runs in linear time."""

    def __init__(self, source: str, problem: str | None = None, compiled: Any = None) -> None:
        self.source = source
        self.problem = problem  # why the pattern cannot be used; None when it can
        self._compiled = compiled

    def fullmatch(self, text: str) -> bool:
        """Whether all of ``text`` matches (False when the pattern is unusable)."""
        if self._compiled is None or len(text) > MAX_NAME_LENGTH:
            return False
        return self._compiled.fullmatch(text) is not None


@lru_cache(maxsize=64)
def name_pattern(source: str) -> NamePattern:
    """Check and compile ``source``; a refused pattern carries its ``problem``."""
    import re2

    if len(source) > MAX_PATTERN_LENGTH:
        return NamePattern(source, f"the pattern is longer than {MAX_PATTERN_LENGTH} characters")
    options = re2.Options()
    options.max_mem = MAX_PATTERN_MEMORY
    options.log_errors = False  # the reason goes into the diagnostic, not onto stderr
    try:
        compiled = re2.compile(source, options)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else exc
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        return NamePattern(source, f"'{source}' cannot be used as a naming pattern: {reason}")
    return NamePattern(source, None, compiled)
