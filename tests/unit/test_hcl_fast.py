"""The literal-HCL fast path (``spec/hcl_fast.py``) reads exactly what python-hcl2 reads.

Each case is read twice by ``load_hcl``: through the fast parser, and with it disabled
(python-hcl2 for everything). Tables, origins (line numbers) and diagnostics must be equal.
Cases the fast parser must hand to python-hcl2 are checked to do so.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tablesmith.spec import hcl_source
from tablesmith.spec.hcl_fast import parse_literal_hcl
from tablesmith.spec.hcl_source import load_hcl

ROOT = Path(__file__).resolve().parents[2]
FILES = sorted(
    [
        *(ROOT / "examples").rglob("*.tf"),
        *(ROOT / "tests" / "corpus").rglob("*.tf"),
        *(ROOT / "tests" / "corpus").rglob("*.tfvars"),
    ]
)

BLOCK = 'module "t" {\n  source = "./modules/dynamodb_table"\n%s\n}\n'

# literal HCL the fast parser must take, each read identically by both parsers
FAST = [
    BLOCK % '  table_name = "a"  # a comment\n  tags = { Environment = "dev" }',
    BLOCK % '  // slash comment\n  table_name = "a" /* inline */\n  /* multi\n line */\n'
    '  tags = {\n    Environment = "dev",\n    "Owner": "x"\n    Empty = ""\n  }',
    BLOCK % '  attributes = [\n    { name = "PK", type = "S" },\n    {name="SK",type="N"},\n  ]',
    BLOCK % "  attributes = [ ]\n  global_secondary_indexes = [{}, [], [[1, 2.5], 3e2, 1.5E-3]]",
    BLOCK % "  ttl_enabled = true\n  stream_enabled = false\n  sort_key = null\n"
    "  backup_retention_days = 007",
    BLOCK % '  table_name = "caf\u00e9 $ % $$ %% {x} }"\n  tags = { "a b" = "c" }',
    BLOCK % '  table_name = "a"\n  table_name = "b"\n  unknown_var = 1\n  tags = {a = 1, a = 2}',
    BLOCK % '  nested { x = 1 }\n  attributes = [1, "x", { name = 2 }]',
    'module "t" { source = "./modules/dynamodb_table" }\n',
    'terraform {\n  required_version = ">= 1.0"\n}\nprovider "aws" {\n  region = "af-south-1"\n}\n'
    + BLOCK % '  table_name = "a"',
    'module other { source = "./elsewhere" }\nresource "a" "b" { x = [1] }\n',
    'table_name = "a"\r\npartition_key = "PK"\r\ntags = {\r\n  Environment = "dev"\r\n}\r\n',
    '\t\ntable_name\t=\t"a"\t# tab\n\n\n',
    "# only a comment",
    "",
]

# what only python-hcl2 may read: expressions, templates, escapes, odd layouts, bad syntax
SLOW = [
    BLOCK % "  table_name = var.name",
    BLOCK % '  table_name = "${var.env}-a"',
    BLOCK % '  table_name = "$${literal}"',
    BLOCK % '  table_name = "%{if true}a%{endif}"',
    BLOCK % '  table_name = "a\\"b"',
    BLOCK % "  backup_retention_days = -1",
    BLOCK % "  backup_retention_days = 1 + 1",
    BLOCK % '  table_name = lower("A")',
    BLOCK % '  table_name =\n  "a"',
    BLOCK % "  tags = <<EOT\nx\nEOT\n",
    BLOCK % "  for_each = {}",
    BLOCK % "  tags = { for k in [] : k => k }",
    BLOCK % "  a = 1 b = 2",
    BLOCK % '  table_name = "a\nb"',
    BLOCK % "  x = 1.",
    BLOCK % "  tags = { in = 1 }",
    'module "t" {\n  source = "./modules/dynamodb_table"\n',
    'module "t" { source = "./modules/dynamodb_table" } }',
    'module "t"\n{ source = "./modules/dynamodb_table" }',
    '\ufefftable_name = "a"',
]


def both(path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Any]:
    fast = load_hcl(path, path.name)
    with monkeypatch.context() as m:
        m.setattr(hcl_source, "parse_literal_hcl", lambda text: None)
        slow = load_hcl(path, path.name)
    return fast, slow


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_spec_files_read_the_same_with_either_parser(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast, slow = both(path, monkeypatch)
    assert fast == slow


def test_the_examples_take_the_fast_path() -> None:
    for path in sorted((ROOT / "examples" / "terraform").glob("*.tf")):
        assert parse_literal_hcl(path.read_text(encoding="utf-8")) is not None, path


@pytest.mark.parametrize("text", FAST)
def test_literal_hcl_takes_the_fast_path_and_reads_the_same(
    text: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert parse_literal_hcl(text) is not None
    for suffix in (".tf", ".tfvars"):
        path = tmp_path / f"case{suffix}"
        path.write_bytes(text.encode("utf-8"))
        fast, slow = both(path, monkeypatch)
        assert fast == slow


@pytest.mark.parametrize("text", SLOW)
def test_anything_else_is_left_to_python_hcl2(text: str) -> None:
    assert parse_literal_hcl(text) is None


_KEYS = st.sampled_from(["table_name", "tags", "attributes", "ttl_enabled", "x", "Name"])
_SCALARS = st.one_of(
    st.text(alphabet="ab $%{}#/:=,[]", max_size=6).map(lambda s: f'"{s}"'),
    st.integers(0, 10**6).map(str),
    st.floats(0, 1e6, allow_nan=False).map(lambda f: f"{f:.3f}"),
    st.sampled_from(["true", "false", "null"]),
)
_GAPS = st.sampled_from(["", " ", "\n", " # c\n", "\n\n", " /* c */ "])


def _value(children: Any) -> Any:
    items = st.lists(st.tuples(children, _GAPS), max_size=3)
    return st.one_of(
        items.map(lambda xs: "[" + "".join(f"{v},{g}" for v, g in xs) + "]"),
        st.lists(st.tuples(_KEYS, children, _GAPS), max_size=3).map(
            lambda xs: "{" + "".join(f"\n{k} = {v},{g}" for k, v, g in xs) + "\n}"
        ),
    )


_VALUES = st.recursive(_SCALARS, _value, max_leaves=6)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(_KEYS, _VALUES, _GAPS), max_size=4))
def test_generated_literal_blocks_read_the_same(attributes: list[tuple[str, str, str]]) -> None:
    import tempfile

    body = "".join(f"  {k} = {v}\n" + (g if "\n" in g else "") for k, v, g in attributes)
    text = BLOCK % body
    with tempfile.TemporaryDirectory() as tmp, pytest.MonkeyPatch.context() as m:
        path = Path(tmp) / "gen.tf"
        path.write_text(text, encoding="utf-8")
        fast = load_hcl(path, "gen.tf")
        m.setattr(hcl_source, "parse_literal_hcl", lambda text: None)
        slow = load_hcl(path, "gen.tf")
    assert fast == slow, text
