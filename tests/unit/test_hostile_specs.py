"""A malicious spec cannot hang or crash ``tablesmith validate`` (issue 16, item 10).

Each hostile spec is validated by the installed console script in a subprocess limited to
1 GiB of address space; it must end within seconds, exit 1 with the expected diagnostic and
print no traceback. Before the bounds, the 325-byte alias bomb took 68 s and 3.9 GB before a
``MemoryError``, ``tables: &a {x: *a}`` raised ``RecursionError`` and the pattern
``^(a|aa)+$`` took 30 s on a 41-character name. The linear-time pattern matcher is also
checked against ``re.fullmatch`` on generated names.
"""

from __future__ import annotations

import random
import re
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tablesmith.spec.limits import MAX_HCL_BYTES, MAX_VALUES, MAX_YAML_BYTES
from tablesmith.spec.patterns import name_pattern

TABLESMITH = Path(sys.executable).parent / "tablesmith"
MEMORY_LIMIT = 1024**3
SECONDS = 15.0  # generous for a loaded machine; each case takes well under 2 s alone

TAGS = "defaults:\n  tags: {Project: p, Owner: o, CostCenter: c, ManagedBy: m, Component: x}\n"
BOMB = "version: 1\na: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{n}: &{n} [{', '.join([f'*{p}'] * 9)}]\n" for p, n in zip("abcdefg", "bcdefgh", strict=True)
)
TABLE = "  {name}:\n    partition_key: {{name: PK, type: S}}\n"
HCL_DEEP = (
    'module "t" {\n  source = "./dynamodb_table"\n  table_name = "orders"\n'
    "  attributes = " + "[" * 2000 + "]" * 2000 + "\n}\n"
)


def pattern_spec(pattern: str, *names: str) -> str:
    tables = "".join(TABLE.format(name=n) for n in names)
    return (
        f"version: 1\nconventions:\n  table_name_pattern: '{pattern}'\n{TAGS}"
        f"  backup: {{enabled: false}}\ntables:\n{tables}"
    )


@dataclass(frozen=True)
class Hostile:
    name: str
    file: str  # the file name (its suffix picks the loader)
    text: str
    expected: str  # a substring of the one diagnostic (or of the first line of stderr)
    errors: int | None = 1  # how many errors validate reports (None: not checked)


CASES = [
    Hostile("billion-laughs", "bomb.yaml", BOMB, "alias uses"),
    Hostile("recursive-alias", "rec.yaml", "version: 1\ntables: &a {x: *a}\n", "recursive alias"),
    Hostile(
        "recursive-merge-key",
        "merge.yaml",
        "version: 1\nbase: &b {x: 1, <<: *b}\n",
        "recursive alias",
    ),
    Hostile("deep-flow", "deep.yaml", "version: 1\ntables: " + "[" * 5000 + "\n", "nesting depth"),
    Hostile(
        "nested-flow",
        "nested.yaml",
        "version: 1\ntables: " + "[" * 900 + "]" * 900 + "\n",
        "nested more than",
    ),
    Hostile(
        "deep-block",
        "block.yaml",
        "version: 1\ntables:\n"
        + "".join(" " * (i + 1) + "a:\n" for i in range(400))
        + " " * 401
        + "1\n",
        "nested more than",
    ),
    Hostile(
        "redos-pattern",
        "redos.yaml",
        pattern_spec("^(a|aa)+$", "a" * 40 + "b"),
        "does not match the naming convention",
    ),
    Hostile(
        "costly-pattern",
        "costly.yaml",
        pattern_spec(r"(\pL{1000})", *(f"{c}" * 200 for c in "abcdefghij")),
        "pattern too large",
    ),
    Hostile("invalid-pattern", "bad.yaml", pattern_spec("(", "orders"), "missing )"),
    Hostile(
        "backreference-pattern",
        "backref.yaml",
        pattern_spec(r"(a)\1", "orders"),
        "invalid escape sequence",
    ),
    Hostile("huge-yaml", "huge.yaml", "version: 1\n#" + "x" * MAX_YAML_BYTES + "\n", "larger than"),
    Hostile(
        "many-values",
        "values.yaml",
        "version: 1\nx: [" + "1, " * (MAX_VALUES + 1) + "]\n",
        f"more than {MAX_VALUES:,} values",
    ),
    Hostile(
        "many-environments",
        "envs.yaml",
        f"version: 1\n{TAGS}environments:\n"
        + "".join(f"  e{i}: {{}}\n" for i in range(100))
        + "tables:\n"
        + "".join(TABLE.format(name=f"t{i:03}") for i in range(101)),
        "tables across environments",
    ),
    Hostile("deep-hcl", "deep.tf", HCL_DEEP, "nested too deeply"),
    Hostile("huge-hcl", "huge.tf", "#" + "x" * MAX_HCL_BYTES + "\n", "larger than"),
]


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_a_hostile_spec_ends_quickly_with_a_diagnostic(case: Hostile, tmp_path: Path) -> None:
    spec = tmp_path / case.file
    spec.write_text(case.text, encoding="utf-8")
    started = time.monotonic()
    result = subprocess.run(
        [str(TABLESMITH), "validate", str(spec)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        preexec_fn=_limit_memory,
        stdin=subprocess.DEVNULL,
    )
    elapsed = time.monotonic() - started
    assert result.returncode == 1, result.stderr + result.stdout
    assert "Traceback" not in result.stderr
    assert "Error" not in result.stdout
    assert case.expected in result.stderr + result.stdout, result.stderr + result.stdout
    if case.errors is not None:
        assert f"the spec has {case.errors} error(s)" in result.stderr, result.stderr
    assert elapsed < SECONDS, f"{case.name} took {elapsed:.1f} s"


def test_a_directory_of_files_each_within_the_bound_is_bounded_together(tmp_path: Path) -> None:
    for n in range(3):  # each under MAX_HCL_BYTES, together over twice that
        (tmp_path / f"t{n}.tf").write_text("#" + "x" * (MAX_HCL_BYTES - 10) + "\n")
    started = time.monotonic()
    result = subprocess.run(
        [str(TABLESMITH), "validate", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        preexec_fn=_limit_memory,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert "the HCL spec files hold" in result.stderr
    assert time.monotonic() - started < SECONDS


# --------------------------------------------------------------------------- the matcher

PATTERNS = [
    r"^[a-z][a-z0-9_]*$",
    r"^(a|aa)+$",
    r"(ab|a)(c|bcd)(d*)",
    r"^(dev|sit|prod)_[a-z][a-z0-9_]{2,10}$",
    r"\d+\w*\s?",
    r"[^a-c\d]+",
    r"[\W_]+",
    r"\bab\B.*",
    r"\Aa.b",
    r"(a*)*b",
    r"(a|b)*a(a|b){3}",
    r"x?y??z*?",
    r"a{2,4}b{0,2}",
    r"a{2,}",
    r"(?:a|)+",
    r"a$",
    r"^$",
    r"",
    r".*",
]
# table names are ASCII (DynamoDB: [a-zA-Z0-9_.-]), where RE2's classes are Python's with
# re.ASCII; a newline checks that $ never lets a trailing one through
ALPHABET = "ab_cdz01 \n-.xy"


@pytest.mark.parametrize("pattern", PATTERNS)
def test_the_matcher_agrees_with_re_fullmatch(pattern: str) -> None:
    compiled = name_pattern(pattern)
    assert compiled.problem is None
    rng = random.Random(pattern)
    for _ in range(2000):
        text = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 9)))
        assert compiled.fullmatch(text) == bool(re.fullmatch(pattern, text, re.ASCII)), text


def test_a_trailing_newline_does_not_match_dollar() -> None:
    assert re.match(r"^[a-z]+$", "orders\n")  # what re.match with $ let through
    assert not name_pattern(r"^[a-z]+$").fullmatch("orders\n")


@pytest.mark.parametrize(
    ("pattern", "problem"),
    [
        (r"(a)\1", "invalid escape sequence"),  # a backreference needs backtracking
        (r"(?=a)a", "invalid perl operator"),  # lookarounds too
        (r"(?<!a)b", "invalid perl operator"),
        (r"(a)(?(1)a|b)", "invalid perl operator"),  # a conditional
        (r"(?>a+)", "invalid perl operator"),  # an atomic group
        (r"(a{100}){100}", "invalid repetition size"),
        (r"(\pL{1000})", "pattern too large"),  # past the memory cap
        ("a" * 600, "longer than"),
        ("[", "missing ]"),
    ],
)
def test_what_the_matcher_does_not_run_is_refused_with_a_reason(pattern: str, problem: str) -> None:
    refused = name_pattern(pattern)
    assert refused.problem is not None
    assert problem in refused.problem
    assert not refused.fullmatch("a")


def test_matching_is_linear_on_the_redos_pattern() -> None:
    started = time.monotonic()
    assert not name_pattern(r"^(a|aa)+$").fullmatch("a" * 250 + "b")
    assert not name_pattern("a*" * 40 + "b").fullmatch("a" * 250)
    assert time.monotonic() - started < 2.0
