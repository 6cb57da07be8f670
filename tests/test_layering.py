"""No import runs back up the pipeline.

Every module of ``src/tablesmith`` is parsed (``ast``, nothing is imported) and every import
of one tablesmith module by another is an edge: module-level, inside a function (lazy) and
under ``if TYPE_CHECKING:`` alike, since each says "this module needs that one". The stages
below are the pipeline of ``STYLE.md``, earliest first; a module may import its own stage and
earlier ones, never a later one. A module may not import the emulator (``tablesmith.local``)
unless it is an entry point: that falls out of the order, as ``local`` comes after the core.

A new module that matches no stage fails ``test_every_module_has_a_stage``: place it.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
PACKAGE = "tablesmith"


@dataclass(frozen=True)
class Stage:
    """One step of the pipeline: the modules named by ``prefixes`` (each prefix is a module
    and, except the root package, every module below it)."""

    name: str
    prefixes: frozenset[str]


def _stage(name: str, *prefixes: str) -> Stage:
    return Stage(name, frozenset(prefixes))


# earliest first; a module belongs to the stage of its longest matching prefix
STAGES: tuple[Stage, ...] = (
    # the leaves: the error tree, hazard codes, and values in the spec's vocabulary (every
    # family writes its own plan lines with them, so they cannot wait for render/)
    _stage("errors", "tablesmith.errors", "tablesmith.hazards", "tablesmith.render.values"),
    # files -> a typed, validated Spec: model, loaders, validation and its naming rules
    _stage("spec", "tablesmith.spec"),
    # the models of what is wanted and what is: resources around a table, live state, plan ops
    _stage("models", "tablesmith.resources", "tablesmith.state", "tablesmith.plan"),
    # AWS: clients, and what the calls share (bulk tag reads, the requests apply and exports send)
    _stage("aws", "tablesmith.aws", "tablesmith.tags", "tablesmith.shapes", "tablesmith.grants"),
    # the resource families around a table, their contract and the registry the core loops over
    _stage("around", "tablesmith.around"),
    # boto3 reads -> the live state (the families read through the registry)
    _stage("live", "tablesmith.live"),
    # the pure diff -> Plan, and the Terraform-handover notices it attaches
    _stage("diff", "tablesmith.diff", "tablesmith.handover"),
    # the plan carried out against AWS: ordering, waiters, retries
    _stage("apply", "tablesmith.apply"),
    # what is written for people and other tools: plan text/json, outputs, saved plans,
    # Terraform and CloudFormation exports, the IAM policy a spec needs
    _stage("render", "tablesmith.render", "tablesmith.outputs", "tablesmith.planfile",
           "tablesmith.export", "tablesmith.iam_policy"),
    # the emulator: nothing above may import it (the core only speaks AWS to an endpoint)
    _stage("local", "tablesmith.local"),
    # entry points and services that drive the pipeline (and may start the emulator)
    _stage("entry", "tablesmith", "tablesmith.engine", "tablesmith.cli", "tablesmith.lock",
           "tablesmith.importer", "tablesmith.audit"),
)

# (importer, imported) -> why this backward edge is still here; an entry that no longer
# matches an edge fails the test, so the list only shrinks
KNOWN: dict[tuple[str, str], str] = {}


@dataclass(frozen=True)
class Edge:
    """``source`` imports ``target`` at ``path:line``."""

    path: Path
    line: int
    source: str
    target: str


def module_name(path: Path) -> str:
    """``src/tablesmith/spec/model.py`` -> ``tablesmith.spec.model`` (a package: its name)."""
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    """Every module of the package, by name."""
    return {module_name(p): p for p in sorted((SRC / PACKAGE).rglob("*.py"))}


def imports_in(source: str, name: str, is_package: bool, known: set[str]) -> list[tuple[int, str]]:
    """(line, imported module) for every tablesmith import anywhere in ``source``, the code of
    module ``name``; ``from X import y`` names the module ``X.y`` when that is a module."""
    found: list[tuple[int, str]] = []
    package = name if is_package else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            subs = [f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in known]
            found += [(node.lineno, target) for target in subs or [base]]
    return [(line, t) for line, t in found if t == PACKAGE or t.startswith(PACKAGE + ".")]


def edges() -> list[Edge]:
    """Every import of one tablesmith module by another, sorted by file and line."""
    found = modules()
    known = set(found)
    result: list[Edge] = []
    for name, path in found.items():
        for line, target in imports_in(path.read_text(encoding="utf-8"), name,
                                       path.name == "__init__.py", known):
            if target != name:
                result.append(Edge(path, line, name, target))
    return sorted(result, key=lambda e: (str(e.path), e.line, e.target))


def stage_of(module: str) -> int | None:
    """The index in STAGES of the stage whose longest prefix names ``module``, if any."""
    best: tuple[int, int] | None = None  # (prefix length, stage index)
    for index, stage in enumerate(STAGES):
        for prefix in stage.prefixes:
            below = prefix != PACKAGE and module.startswith(prefix + ".")
            if (module == prefix or below) and (best is None or len(prefix) > best[0]):
                best = (len(prefix), index)
    return None if best is None else best[1]


def backward(all_edges: list[Edge]) -> list[tuple[Edge, int, int]]:
    """The edges from a stage to a later one, with both stage indexes."""
    result = []
    for edge in all_edges:
        source, target = stage_of(edge.source), stage_of(edge.target)
        if source is not None and target is not None and target > source:
            result.append((edge, source, target))
    return result


def describe(edge: Edge, source: int, target: int) -> str:
    """``file:line: tablesmith.a imports tablesmith.b (stage X → later stage Y)``."""
    return (f"{edge.path.relative_to(ROOT)}:{edge.line}: {edge.source} imports {edge.target} "
            f"(stage {source} {STAGES[source].name} → later stage {target} "
            f"{STAGES[target].name})")


def test_every_module_has_a_stage() -> None:
    unplaced = sorted(m for m in modules() if stage_of(m) is None)
    assert not unplaced, (
        "modules in no stage of tests/test_layering.py's STAGES: place each where it belongs "
        "in the pipeline: " + ", ".join(unplaced))


def test_every_prefix_names_a_module() -> None:
    names = set(modules())
    stale = sorted(p for s in STAGES for p in s.prefixes if p not in names
                   and not any(n.startswith(p + ".") for n in names))
    assert not stale, f"prefixes in STAGES that name no module: {', '.join(stale)}"


def test_no_import_points_to_a_later_stage() -> None:
    found = backward(edges())
    new = [describe(*b) for b in found if (b[0].source, b[0].target) not in KNOWN]
    gone = sorted(set(KNOWN) - {(e.source, e.target) for e, _, _ in found})
    print("\n".join(new))
    assert not new, "imports from an earlier stage of the pipeline to a later one:\n" + \
        "\n".join(new)
    assert not gone, f"KNOWN lists edges that are gone (remove them): {gone}"


def test_every_kind_of_import_is_an_edge() -> None:
    """Module-level, relative, lazy and TYPE_CHECKING imports all count."""
    source = (
        "from typing import TYPE_CHECKING\n"
        "import tablesmith.errors\n"
        "from tablesmith.around import alarms\n"
        "from . import model\n"
        "from ..plan import Plan\n"
        "if TYPE_CHECKING:\n"
        "    from tablesmith.live import LiveTable\n"
        "def f() -> None:\n"
        "    from tablesmith.local.store import require_local_endpoint\n"
        "import json\n"
    )
    known = {"tablesmith.around.alarms", "tablesmith.spec.model"}
    assert imports_in(source, "tablesmith.spec.resolve", False, known) == [
        (2, "tablesmith.errors"),
        (3, "tablesmith.around.alarms"),
        (4, "tablesmith.spec.model"),
        (5, "tablesmith.plan"),
        (7, "tablesmith.live"),
        (9, "tablesmith.local.store"),
    ]
    edge = Edge(SRC / "tablesmith/spec/resolve.py", 9, "tablesmith.spec.resolve",
                "tablesmith.local.store")
    assert backward([edge]) == [(edge, 1, 9)]
    assert describe(edge, 1, 9) == (
        "src/tablesmith/spec/resolve.py:9: tablesmith.spec.resolve imports "
        "tablesmith.local.store (stage 1 spec → later stage 9 local)")
    assert stage_of("tablesmith.render.values") == 0
    assert stage_of("tablesmith.render.plan") == 8
    assert stage_of("tablesmith") == 10
    assert stage_of("tablesmith.newthing") is None
