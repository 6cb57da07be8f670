"""``tablesmith export … -o DIR`` writes only its own files (issue 16, item 8).

The export keeps a manifest (``.tablesmith-export.json``) of the files it wrote; only those
are ever replaced or deleted, nothing is written through a symlink, and the CloudFormation
README has a prefixed name so that exporting into a project's own directory leaves its
``README.md`` alone. The CLI runs in-process through click's ``CliRunner``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tablesmith.cli import cli
from tablesmith.errors import UsageError
from tablesmith.export.cloudformation import README_FILE
from tablesmith.export.files import MANIFEST, write_export

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"

SPEC = """\
version: 1
defaults:
  tags: {Project: p, Owner: o, CostCenter: c, ManagedBy: tablesmith, Component: dynamodb}
tables:
"""
TABLE = "  {name}:\n    partition_key: {{name: PK, type: S}}\n"


def spec(tmp_path: Path, *tables: str) -> Path:
    file = tmp_path / "spec" / "tables.yaml"
    file.parent.mkdir(exist_ok=True)
    file.write_text(SPEC + "".join(TABLE.format(name=t) for t in tables), encoding="utf-8")
    return file


def export(kind: str, source: Path, out: Path | str, env: str = "dev") -> Any:
    return CliRunner().invoke(
        cli, ["export", kind, str(source), "--env", env, "-o", str(out)], catch_exceptions=False
    )


def snapshot(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir()) if p.is_file()}


def manifest(directory: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((directory / MANIFEST).read_text())
    return document


# --------------------------------------------------------------------------- the CLI


def test_a_hand_written_file_survives_a_re_export(tmp_path: Path) -> None:
    out = tmp_path / "tf"
    out.mkdir()
    network = out / "network.tf.json"
    network.write_text('{"resource": {}}\n')
    first = export("terraform", spec(tmp_path, "orders", "users"), out)
    assert first.exit_code == 0, first.output
    second = export("terraform", spec(tmp_path, "orders"), out)
    assert second.exit_code == 0, second.output
    assert network.read_text() == '{"resource": {}}\n'
    assert "network.tf.json" not in manifest(out)["files"]


def test_a_re_export_deletes_the_file_of_a_removed_table_because_the_manifest_lists_it(
    tmp_path: Path,
) -> None:
    out = tmp_path / "tf"
    assert export("terraform", spec(tmp_path, "orders", "users"), out).exit_code == 0
    assert (out / "table_users.tf.json").is_file()
    assert manifest(out) == {
        "generator": "tablesmith export",
        "version": 1,
        "kind": "terraform",
        "files": sorted(p.name for p in out.iterdir() if p.name != MANIFEST),
    }
    result = export("terraform", spec(tmp_path, "orders"), out)
    assert result.exit_code == 0, result.output
    assert not (out / "table_users.tf.json").exists()
    assert f"removed {out / 'table_users.tf.json'}" in result.output
    assert "table_users.tf.json" not in manifest(out)["files"]
    assert (out / "table_orders.tf.json").is_file()


def test_a_file_of_the_same_name_the_export_did_not_write_is_refused_and_kept(
    tmp_path: Path,
) -> None:
    out = tmp_path / "tf"
    out.mkdir()
    own = out / "table_orders.tf.json"
    own.write_text("hand-written\n")
    result = CliRunner().invoke(
        cli, ["export", "terraform", str(spec(tmp_path, "orders")), "--env", "dev", "-o", str(out)]
    )
    assert result.exit_code == 1
    assert "refusing to overwrite" in result.stderr
    assert str(own) in result.stderr
    assert "fresh directory" in result.stderr
    assert own.read_text() == "hand-written\n"
    assert sorted(p.name for p in out.iterdir()) == ["table_orders.tf.json"]  # nothing written


def test_a_symlink_out_of_dir_is_not_followed_and_its_target_is_untouched(tmp_path: Path) -> None:
    out = tmp_path / "tf"
    assert export("terraform", spec(tmp_path, "orders"), out).exit_code == 0
    outside = tmp_path / "outside.txt"
    outside.write_text("precious\n")
    (out / "table_orders.tf.json").unlink()
    (out / "table_orders.tf.json").symlink_to(outside)
    result = CliRunner().invoke(
        cli, ["export", "terraform", str(spec(tmp_path, "orders")), "--env", "dev", "-o", str(out)]
    )
    assert result.exit_code == 1
    assert "symlink" in result.stderr
    assert outside.read_text() == "precious\n"
    assert (out / "table_orders.tf.json").is_symlink()


def test_a_symlinked_output_directory_is_refused(tmp_path: Path) -> None:
    real = tmp_path / "elsewhere"
    real.mkdir()
    link = tmp_path / "tf"
    link.symlink_to(real, target_is_directory=True)
    result = CliRunner().invoke(
        cli, ["export", "terraform", str(spec(tmp_path, "orders")), "--env", "dev", "-o", str(link)]
    )
    assert result.exit_code == 1
    assert "is a symlink" in result.stderr
    assert list(real.iterdir()) == []


def test_cloudformation_into_the_current_directory_leaves_its_readme_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "README.md").write_text("# My project\n")
    monkeypatch.chdir(project)
    result = export("cloudformation", spec(tmp_path, "orders"), ".")
    assert result.exit_code == 0, result.output
    assert (project / "README.md").read_text() == "# My project\n"
    assert (project / README_FILE).read_text().startswith("# CloudFormation for environment")
    again = export("cloudformation", spec(tmp_path, "orders"), ".")
    assert again.exit_code == 0, again.output
    assert (project / "README.md").read_text() == "# My project\n"


def test_the_export_is_deterministic_manifest_included(tmp_path: Path) -> None:
    for kind in ("terraform", "cloudformation"):
        first, second = tmp_path / f"{kind}-1", tmp_path / f"{kind}-2"
        assert export(kind, EXAMPLES, first, "prod").exit_code == 0
        assert export(kind, EXAMPLES, second, "prod").exit_code == 0
        assert snapshot(first) == snapshot(second)
        before = snapshot(first)
        assert export(kind, EXAMPLES, first, "prod").exit_code == 0  # re-export: same bytes
        assert snapshot(first) == before
        assert not [p for p in first.iterdir() if p.name.startswith(".tablesmith-tmp-")]


def test_another_kind_of_export_in_the_same_directory_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert export("terraform", spec(tmp_path, "orders"), out).exit_code == 0
    before = snapshot(out)
    result = CliRunner().invoke(
        cli,
        ["export", "cloudformation", str(spec(tmp_path, "orders")), "--env", "dev", "-o", str(out)],
    )
    assert result.exit_code == 1
    assert "holds a terraform export" in result.stderr
    assert snapshot(out) == before


# --------------------------------------------------------------------------- write_export


def test_a_crafted_manifest_cannot_delete_outside_the_directory(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    victim = tmp_path / "victim.tf.json"
    victim.write_text("keep\n")
    (out / MANIFEST).write_text(json.dumps({"kind": "terraform", "files": ["../victim.tf.json"]}))
    with pytest.raises(UsageError, match="not a plain file name"):
        write_export(out, "terraform", {"a.tf.json": "{}\n"})
    assert victim.read_text() == "keep\n"
    assert not (out / "a.tf.json").exists()


@pytest.mark.parametrize("name", ["../x.tf.json", "sub/x.tf.json", "..", "", MANIFEST])
def test_renderer_file_names_must_be_plain(tmp_path: Path, name: str) -> None:
    with pytest.raises(UsageError, match="not a plain file name"):
        write_export(tmp_path / "out", "terraform", {name: "{}\n"})
    assert not (tmp_path / "x.tf.json").exists()


def test_a_symlinked_manifest_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_text(json.dumps({"kind": "terraform", "files": []}))
    (out / MANIFEST).symlink_to(elsewhere)
    with pytest.raises(UsageError, match="cannot read"):
        write_export(out, "terraform", {"a.tf.json": "{}\n"})
    assert json.loads(elsewhere.read_text()) == {"kind": "terraform", "files": []}


def test_a_malformed_manifest_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / MANIFEST).write_text("[1, 2")
    with pytest.raises(UsageError, match="not a tablesmith export manifest"):
        write_export(out, "terraform", {"a.tf.json": "{}\n"})


def test_a_stale_entry_replaced_by_a_symlink_is_left_alone(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_export(out, "terraform", {"a.tf.json": "{}\n", "b.tf.json": "{}\n"})
    target = tmp_path / "target"
    target.write_text("keep\n")
    (out / "b.tf.json").unlink()
    (out / "b.tf.json").symlink_to(target)
    done = write_export(out, "terraform", {"a.tf.json": "{}\n"})
    assert done.removed == ()
    assert target.read_text() == "keep\n"
    assert (out / "b.tf.json").is_symlink()


def test_files_are_created_with_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        write_export(tmp_path / "out", "terraform", {"a.tf.json": "{}\n"})
    finally:
        os.umask(old)
    assert (tmp_path / "out" / "a.tf.json").stat().st_mode & 0o777 == 0o640
