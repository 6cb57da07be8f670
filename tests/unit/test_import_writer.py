"""The import's YAML writer and the spec's null tags: pure, no AWS."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tablesmith.importer.aws import conventions_for
from tablesmith.importer.yaml_writer import render_spec, write_spec
from tablesmith.spec.loader import load
from tablesmith.spec.model import OWNERSHIP_TAG, Environment

if TYPE_CHECKING:
    from pathlib import Path

    from tablesmith.spec.model import Table

SPEC = """
version: 1
conventions: {mandatory_tags: []}
tables:
  orders:
    partition_key: {name: PK, type: S}
    tags: {Odd: "1e5", Yes: "yes", "a:b": "x y", Environment: null, "tablesmith:managed": null}
  owned:
    partition_key: {name: PK, type: S}
"""


def _tables(tmp_path: Path, text: str, env: str = "dev") -> dict[str, Table]:
    path = tmp_path / "spec.yaml"
    path.write_text(text)
    return {t.name: t for t in load(path, env=env).tables(env)}


def test_a_null_tag_removes_what_the_layers_below_add(tmp_path: Path) -> None:
    tables = _tables(tmp_path, SPEC)
    assert tables["orders"].tags == {"Odd": "1e5", "Yes": "yes", "a:b": "x y"}
    assert tables["owned"].tags == {"Environment": "dev", OWNERSHIP_TAG: "dev"}


@pytest.mark.parametrize("env", ["dev", "prod", "staging"])
def test_written_spec_loads_back_as_the_same_tables(tmp_path: Path, env: str) -> None:
    tables = _tables(
        tmp_path, SPEC.replace("tables:", f"environments: {{{env}: {{}}}}\ntables:"), env
    )
    environment = Environment(name=env)
    text = render_spec(
        environment,
        conventions_for(tables.values()),
        list(tables.values()),
        claimed=["owned"],
        header=["from a test"],
    )
    assert text.startswith("# from a test\nversion: 1\n")
    again = tmp_path / "again"
    again.mkdir()
    assert _tables(again, text, env) == tables  # prod's built-in replica and backups included
    # deterministic
    assert (
        render_spec(
            environment,
            conventions_for(tables.values()),
            list(reversed(tables.values())),
            claimed=["owned"],
            header=["from a test"],
        )
        == text
    )


def test_write_spec_refuses_existing_files_and_symlinks(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert write_spec(out, "dev", "a: 1\n", force=False) == out / "dev.yaml"
    with pytest.raises(Exception, match="--force"):
        write_spec(out, "dev", "a: 2\n", force=False)
    write_spec(out, "dev", "a: 2\n", force=True)
    assert (out / "dev.yaml").read_text() == "a: 2\n"
    (out / "prod.yaml").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(Exception, match="symlink"):
        write_spec(out, "prod", "x\n", force=True)
    assert not (tmp_path / "elsewhere").exists()
    link = tmp_path / "link"
    link.symlink_to(out)
    with pytest.raises(Exception, match="symlink"):
        write_spec(link, "sit", "x\n", force=False)
    with pytest.raises(Exception, match="file name"):
        write_spec(out, "../x", "x\n", force=False)
