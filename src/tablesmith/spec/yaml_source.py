"""Read YAML spec files into :class:`~tablesmith.spec.source.Layer` data with line numbers.

PyYAML's composer (libyaml when available: fast) gives every node its line; scalars are then
resolved with YAML 1.2 core-schema rules rather than PyYAML's YAML 1.1 ones, so ``yes``,
``on`` or ``no`` stay strings and a boolean field given ``"yes"`` is reported as a wrong
type instead of silently becoming ``True``. Duplicate keys are reported, not overwritten.

The composer keeps an alias as a second reference to its anchor's node, so the node graph of
an alias bomb stays small and only building the data would expand it: the builder counts the
values it makes (each alias use again), the alias uses and the depth, and stops at the bounds
of :mod:`tablesmith.spec.limits`, as it does at an alias inside its own anchor (a cycle). Each
is one diagnostic; the file is then not used.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import yaml

from tablesmith.errors import Diagnostic
from tablesmith.spec.limits import (
    MAX_ALIAS_USES,
    MAX_DEPTH,
    MAX_VALUES,
    MAX_YAML_BYTES,
    read_spec_text,
)
from tablesmith.spec.source import Layer, Origin, Path_, join_path

if TYPE_CHECKING:
    from pathlib import Path

try:  # libyaml is in PyYAML's wheels; fall back to the pure-Python loader where it is not
    _Loader: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover
    _Loader = yaml.SafeLoader

_INT = re.compile(r"^[-+]?(0|[1-9][0-9]*)$|^0o[0-7]+$|^0x[0-9a-fA-F]+$")
_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_SPECIAL_FLOAT = {".inf": float("inf"), "-.inf": float("-inf"), ".nan": float("nan")}
_MERGE_TAG = "tag:yaml.org,2002:merge"


def _scalar(node: yaml.ScalarNode) -> Any:
    """YAML 1.2 core schema: only true/false/null/numbers are typed; quoted is always str."""
    value: str = node.value
    if node.style in ("'", '"', "|", ">"):
        return value
    if node.tag not in ("tag:yaml.org,2002:str", "tag:yaml.org,2002:bool",
                        "tag:yaml.org,2002:int", "tag:yaml.org,2002:float",
                        "tag:yaml.org,2002:null", "tag:yaml.org,2002:timestamp"):
        return value
    if node.tag == "tag:yaml.org,2002:str" and node.style is None and value == "":
        return None
    if value in ("true", "True", "TRUE"):
        return True
    if value in ("false", "False", "FALSE"):
        return False
    if value in ("null", "Null", "NULL", "~", ""):
        return None
    if _INT.match(value):
        return int(value, 0) if value[:2] in ("0o", "0x") else int(value)
    if _FLOAT.match(value):
        return float(value)
    if value.lower() in _SPECIAL_FLOAT:
        return _SPECIAL_FLOAT[value.lower()]
    return value


class _Refused(Exception):
    """The document exceeds a bound (or is cyclic): building it stops at this diagnostic."""

    def __init__(self, diagnostic: Diagnostic) -> None:
        super().__init__(diagnostic.message)
        self.diagnostic = diagnostic


class _Builder:
    def __init__(self, file: str) -> None:
        self.file = file
        self.origins: dict[Path_, Origin] = {}
        self.problems: list[Diagnostic] = []
        self.values = 0  # values built so far, a node reached through an alias counted again
        self.alias_uses = 0  # nodes built a second (third, …) time: each is an alias use
        self.built: set[int] = set()  # id() of every node built once (the graph holds them)
        self.open: set[int] = set()  # id() of the collections being built: a cycle's members

    def build(self, node: yaml.Node, path: Path_, display: str) -> Any:
        self._enter(node, path, display)
        try:
            self.origins[path] = Origin(self.file, node.start_mark.line + 1, display)
            if isinstance(node, yaml.ScalarNode):
                return _scalar(node)
            if isinstance(node, yaml.SequenceNode):
                return [
                    self.build(item, (*path, i), join_path(display, i))
                    for i, item in enumerate(node.value)
                ]
            if isinstance(node, yaml.MappingNode):
                return self._mapping(node, path, display)
            raise TypeError(f"unexpected YAML node {node!r}")  # pragma: no cover
        finally:
            self.open.discard(id(node))

    def _enter(self, node: yaml.Node, path: Path_, display: str) -> None:
        """Count ``node`` against the bounds; refuse a cycle (an alias inside its anchor)."""
        line = node.start_mark.line + 1
        where = display or "(top level)"
        if id(node) in self.open:
            self._refuse(line, where, "recursive alias: this value contains itself",
                         "an alias (*name) cannot be used inside the value its anchor (&name) "
                         "marks; repeat the settings instead")
        if len(path) > MAX_DEPTH:
            self._refuse(line, where, f"nested more than {MAX_DEPTH} levels deep",
                         "a spec needs only a few levels of nesting")
        if id(node) in self.built:
            self.alias_uses += 1
            if self.alias_uses > MAX_ALIAS_USES:
                self._refuse(line, where, f"more than {MAX_ALIAS_USES:,} alias uses",
                             "use fewer aliases (*name); defaults: and environments: share "
                             "settings without them")
        self.built.add(id(node))
        self.values += 1
        if self.values > MAX_VALUES:
            self._refuse(line, where,
                         f"more than {MAX_VALUES:,} values once aliases are expanded "
                         f"(an alias bomb?)",
                         "anchors that repeat other anchors multiply; write the values out "
                         "or use fewer aliases (*name)")
        if isinstance(node, yaml.CollectionNode):
            self.open.add(id(node))

    def _refuse(self, line: int, path: str, message: str, hint: str) -> None:
        raise _Refused(Diagnostic(self.file, line, path, message, hint))

    def _mapping(self, node: yaml.MappingNode, path: Path_, display: str) -> dict[str, Any]:
        result: dict[str, Any] = {}
        merged: list[yaml.MappingNode] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                sources = value_node.value if isinstance(value_node, yaml.SequenceNode) else [
                    value_node
                ]
                merged.extend(s for s in sources if isinstance(s, yaml.MappingNode))
                continue
            key = _scalar(key_node) if isinstance(key_node, yaml.ScalarNode) else None
            line = key_node.start_mark.line + 1
            if not isinstance(key, str):
                self.problems.append(Diagnostic(
                    self.file, line, display or "(top level)",
                    f"mapping key {key!r} is not a string",
                    "quote the key"))
                continue
            sub = join_path(display, key)
            if key in result:
                self.problems.append(Diagnostic(
                    self.file, line, sub, f"duplicate key '{key}'",
                    "each key may appear once in a mapping; remove or merge the repeats"))
                continue
            result[key] = self.build(value_node, (*path, key), sub)
            # a key's own line is where the user looks for it
            self.origins[(*path, key)] = Origin(self.file, line, sub)
        for source in merged:  # YAML merge keys (<<): explicit keys win
            self._enter(source, path, display)
            try:
                values = self._mapping(source, path, display)
            finally:
                self.open.discard(id(source))
            for k, v in values.items():
                result.setdefault(k, v)
        return result


def load_yaml(file: Path, display_name: str) -> tuple[Layer | None, list[Diagnostic]]:
    """Parse one YAML file into a layer; syntax problems come back as diagnostics."""
    text, unread = read_spec_text(file, display_name, MAX_YAML_BYTES)
    if text is None:
        return None, [unread] if unread else []
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 0
        return None, [Diagnostic(display_name, line, "(syntax)",
                                 f"invalid YAML: {exc.problem or exc}",
                                 "fix the YAML syntax at this line")]
    except yaml.YAMLError as exc:
        return None, [Diagnostic(display_name, 0, "(syntax)", f"invalid YAML: {exc}")]
    except RecursionError:  # only the pure-Python composer recurses; libyaml caps nesting
        return None, [Diagnostic(display_name, 0, "(syntax)", "invalid YAML: nested too deeply",
                                 f"a spec needs only a few levels (at most {MAX_DEPTH})")]
    builder = _Builder(display_name)
    if node is None:
        return Layer(data={}, anchor=Origin(display_name, 1, "")), []
    try:
        data = builder.build(node, (), "")
    except _Refused as refused:
        return None, [refused.diagnostic]
    if not isinstance(data, dict):
        builder.problems.append(Diagnostic(
            display_name, node.start_mark.line + 1, "(top level)",
            "a spec file must be a mapping (with keys such as 'tables' and 'environments')"))
        return None, builder.problems
    return Layer(data=data, origins=builder.origins,
                 anchor=Origin(display_name, 1, "")), builder.problems
