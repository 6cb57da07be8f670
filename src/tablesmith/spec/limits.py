"""Bounds on what a spec file can make ``tablesmith validate`` do.

A spec may come from a pull request: it must not be able to hang or exhaust the machine that
validates it. Each bound is far above what a real spec needs and is reported as an ordinary
diagnostic (file, line, path, message, hint), never as a traceback:

* the size of a file, read before parsing (python-hcl2's parser manages only ~50-100 KB/s,
  so HCL files get a lower bound than YAML, which libyaml reads at many MB/s);
* the depth of nesting (the loaders and the merge recurse once per level; a real spec is
  under ten levels deep);
* in YAML, the number of values after aliases are expanded and the number of alias uses: a
  325-byte "billion laughs" document is nine anchors that each repeat the previous one nine
  times, 9**9 values once expanded, so the expansion is counted as it happens and stopped;
  an alias inside its own anchor (``tables: &a {x: *a}``) is refused as recursive;
* the number of (table, environment) pairs validated, which a few lines declaring many
  environments would otherwise multiply.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tablesmith.errors import Diagnostic

if TYPE_CHECKING:
    from pathlib import Path

MAX_YAML_BYTES = 4 * 1024 * 1024
MAX_HCL_BYTES = 256 * 1024  # python-hcl2 parses a quarter MB in a few seconds
# a directory of files, each within its bound, must not add up to minutes either
MAX_TOTAL_YAML_BYTES = 2 * MAX_YAML_BYTES
MAX_TOTAL_HCL_BYTES = 2 * MAX_HCL_BYTES
MAX_DEPTH = 32  # the deepest real path, tables.t.environments.prod.gsis[0].hash_key.name: 7
MAX_VALUES = 50_000  # every scalar, list and mapping, each alias use counted again
MAX_ALIAS_USES = 10_000
# every table is resolved and checked once per environment (about a millisecond each): the
# product, not the file's size, is what a small spec with many environments multiplies
MAX_TABLE_ENVIRONMENTS = 10_000


def total_size_problem(
    files: list[Path], hcl_suffixes: tuple[str, ...], display: str
) -> Diagnostic | None:
    """A diagnostic when the spec files at ``display`` are too large together."""
    yaml_bytes = hcl_bytes = 0
    for file in files:
        try:
            size = file.stat().st_size
        except OSError:
            continue  # reported when the file is read
        if file.suffix in hcl_suffixes:
            hcl_bytes += size
        else:
            yaml_bytes += size
    for kind, total, limit in (
        ("YAML", yaml_bytes, MAX_TOTAL_YAML_BYTES),
        ("HCL", hcl_bytes, MAX_TOTAL_HCL_BYTES),
    ):
        if total > limit:
            return Diagnostic(
                display,
                0,
                "(files)",
                f"the {kind} spec files hold {total // 1024:,} KiB together, more than "
                f"{limit // 1024:,} KiB",
                "validate a smaller directory at a time",
            )
    return None


def read_spec_text(file: Path, display: str, limit: int) -> tuple[str | None, Diagnostic | None]:
    """The text of ``file``, or the diagnostic that says why it is not read.

    Reads at most ``limit + 1`` bytes, so an oversized file is refused without being read
    whole (and a file that grows while it is read cannot slip past the bound).
    """
    try:
        with file.open("rb") as stream:
            data = stream.read(limit + 1)
    except OSError as exc:
        return None, Diagnostic(display, 0, "(file)", f"cannot read the file: {exc}")
    if len(data) > limit:
        return None, Diagnostic(
            display,
            0,
            "(file)",
            f"the file is larger than {limit // 1024:,} KiB",
            "a spec file this large is not read; split the tables over several files",
        )
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        return None, Diagnostic(display, 0, "(file)", f"cannot read the file: {exc}")
