"""The corpus of invalid and valid specs under tests/corpus/.

Every file of ``tests/corpus/invalid`` states, in comment lines at its top, exactly what
``tablesmith.load`` must report for it::

    # expect: error 12 tables.orders.sort_key | has no type
    # expect: warning 7 tables.orders.attributes.email | declared but no key | no hint
    # expect: error 9 tables.orders.sortkey | unknown key | hint: did you mean 'sort_key'

that is ``<severity> <line> <path> | <substring of the message> [| no hint | hint: <text>]``.
The set of (severity, line, path) reported must equal the set expected (nothing more, nothing
less), each message must contain its substring, and each diagnostic must carry a hint unless
its expectation says ``no hint`` (the rule gives none); ``hint: <text>`` also checks that the
hint contains <text>. Other header lines:

    # strict: true          load with strict=True (warnings become errors)
    # xfail: <reason>       a known validation bug (strict xfail: it must keep failing)
    # skip: <reason>        cannot be checked here

Every file of ``tests/corpus/valid`` (and ``examples/``) must load with no diagnostics at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import tablesmith
from tablesmith import Diagnostic, SpecError

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "corpus"
INVALID = CORPUS / "invalid"
VALID = CORPUS / "valid"
EXAMPLES = ROOT / "examples"

_EXPECT = re.compile(
    r"^#\s*expect:\s*(?P<severity>error|warning)\s+(?P<line>\d+)\s+(?P<path>\S+)\s*\|"
    r"\s*(?P<message>.*?)\s*(?:\|\s*(?:(?P<flag>no hint)|hint:\s*(?P<hint>.*?))\s*)?$"
)
_HEADER = re.compile(r"^#\s*(?P<key>strict|xfail|skip):\s*(?P<value>.*?)\s*$")
_NAME = re.compile(r"^\d{3}-[a-z0-9-]+\.(yaml|tf)$")


@dataclass(frozen=True)
class Expected:
    severity: str
    line: int
    path: str
    message: str
    hint: bool  # whether the rule gives a hint
    hint_text: str = ""  # a substring the hint must contain


@dataclass
class Case:
    file: Path
    expected: list[Expected] = field(default_factory=list)
    strict: bool = False
    xfail: str | None = None
    skip: str | None = None


def parse_case(file: Path) -> Case:
    """Read the header comments (the leading block of comment and blank lines)."""
    case = Case(file)
    for raw in file.read_text(encoding="utf-8").splitlines():
        text = raw.strip()
        if not text:
            continue
        if not text.startswith("#"):
            break
        if text.startswith("# expect:") or text.startswith("#expect:"):
            match = _EXPECT.match(text)
            if match is None:
                raise ValueError(f"{file.name}: malformed expectation: {text}")
            case.expected.append(Expected(
                match["severity"], int(match["line"]), match["path"], match["message"],
                hint=match["flag"] is None, hint_text=match["hint"] or ""))
            continue
        header = _HEADER.match(text)
        if header is None:
            continue
        key, value = header["key"], header["value"]
        if key == "strict":
            case.strict = value.lower() == "true"
        elif key == "xfail":
            case.xfail = value
        else:
            case.skip = value
    return case


def _cases() -> list[object]:
    params = []
    for file in sorted(INVALID.iterdir()):
        if file.suffix not in (".yaml", ".tf"):
            continue
        case = parse_case(file)
        marks = []
        if case.xfail:
            marks.append(pytest.mark.xfail(strict=True, reason=case.xfail))
        if case.skip:
            marks.append(pytest.mark.skip(reason=case.skip))
        params.append(pytest.param(case, id=file.name, marks=marks))
    return params


def _diagnostics(case: Case) -> list[Diagnostic]:
    """Everything ``load`` reports for the case: raised errors, or the spec's warnings."""
    try:
        spec = tablesmith.load(case.file, strict=case.strict)
    except SpecError as exc:
        return list(exc.diagnostics)
    return list(spec.diagnostics)


def _show(diagnostics: list[Diagnostic]) -> str:
    return "\n".join(
        f"  # expect: {d.severity} {d.line} {d.path} | {d.message}"
        f"{'' if d.hint else ' | no hint'}" for d in diagnostics)


@pytest.mark.parametrize("case", _cases())
def test_invalid_spec_reports_exactly_what_is_expected(case: Case) -> None:
    assert case.expected, f"{case.file.name} states no expectation"
    found = _diagnostics(case)
    got = {(d.severity, d.line, d.path) for d in found}
    want = {(e.severity, e.line, e.path) for e in case.expected}
    assert got == want, (
        f"{case.file.name}: reported\n{_show(found)}\n"
        f"missing: {sorted(want - got)}\nunexpected: {sorted(got - want)}")
    for expected in case.expected:
        matching = [d for d in found
                    if (d.severity, d.line, d.path) == (expected.severity, expected.line,
                                                          expected.path)]
        assert any(expected.message in d.message for d in matching), (
            f"{case.file.name}:{expected.line} {expected.path}: no message containing "
            f"{expected.message!r} in {[d.message for d in matching]}")
        if expected.hint:
            assert all(d.hint for d in matching), (
                f"{case.file.name}:{expected.line} {expected.path}: no hint given")
        if expected.hint_text:
            assert any(expected.hint_text in d.hint for d in matching), (
                f"{case.file.name}:{expected.line} {expected.path}: no hint containing "
                f"{expected.hint_text!r} in {[d.hint for d in matching]}")
    for d in found:
        assert Path(d.file).resolve() == case.file.resolve(), d.format()


def test_invalid_corpus_is_large_enough_and_well_named() -> None:
    files = [f for f in INVALID.iterdir() if f.is_file()]
    assert all(_NAME.match(f.name) for f in files), [f.name for f in files
                                                     if not _NAME.match(f.name)]
    numbers = [f.name[:3] for f in files]
    assert len(numbers) == len(set(numbers)), "two corpus files share a number"
    assert len([f for f in files if f.suffix == ".yaml"]) >= 35
    assert len([f for f in files if f.suffix == ".tf"]) >= 10


def test_strict_turns_the_unused_attribute_warning_into_an_error() -> None:
    """The same spec: a warning (no raise) by default, an error with strict=True."""
    file = INVALID / "054-unused-attribute-warning.yaml"
    spec = tablesmith.load(file)
    assert [d.severity for d in spec.diagnostics] == ["warning"]
    assert spec.warnings == spec.diagnostics
    with pytest.raises(SpecError) as caught:
        tablesmith.load(file, strict=True)
    assert [d.severity for d in caught.value.diagnostics] == ["error"]
    assert caught.value.errors == caught.value.diagnostics


def _valid() -> list[Path]:
    return sorted(p for p in VALID.iterdir() if p.suffix in (".yaml", ".yml", ".tf"))


@pytest.mark.parametrize("file", [*_valid(), EXAMPLES / "bbws.yaml", EXAMPLES],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_valid_spec_loads_without_any_diagnostic(file: Path) -> None:
    spec = tablesmith.load(file, strict=True)
    assert spec.diagnostics == ()
    assert any(spec.tables(env) for env in spec.environments)


def test_valid_corpus_is_large_enough() -> None:
    assert len(_valid()) >= 6


def test_valid_custom_environment_places_tables_by_prefix_region_and_only_in() -> None:
    spec = tablesmith.load(VALID / "custom-environment-local.yaml")
    assert spec.environments["local"].target == "local"
    assert [t.table_name for t in spec.tables("local")] == ["local_scratch", "local_tenants"]
    assert [t.table_name for t in spec.tables("staging")] == ["stg-tenants-v2"]
    assert [t.name for t in spec.tables("sit")] == ["tenants"]
    assert spec.table("staging", "tenants").region == "eu-central-1"
    assert spec.table("staging", "tenants").backup.retention_days == 30


def test_valid_cmk_gives_a_replica_key_only_where_there_are_replicas() -> None:
    spec = tablesmith.load(VALID / "cmk-replica-keys.yaml")
    prod = spec.table("prod", "payments")
    assert prod.replicas == ("eu-west-1",)
    assert set(prod.encryption.replica_kms_key_arns) == {"eu-west-1"}
    assert spec.table("dev", "payments").encryption.replica_kms_key_arns == {}
