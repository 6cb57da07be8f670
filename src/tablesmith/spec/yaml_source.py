"""Read YAML spec files into :class:`~tablesmith.spec.source.Layer` data with line numbers.

PyYAML's composer (libyaml when available: fast) gives every node its line; scalars are then
resolved with YAML 1.2 core-schema rules rather than PyYAML's YAML 1.1 ones, so ``yes``,
``on`` or ``no`` stay strings and a boolean field given ``"yes"`` is reported as a wrong
type instead of silently becoming ``True``. Duplicate keys are reported, not overwritten.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import yaml

from tablesmith.errors import Diagnostic
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


class _Builder:
    def __init__(self, file: str) -> None:
        self.file = file
        self.origins: dict[Path_, Origin] = {}
        self.problems: list[Diagnostic] = []

    def build(self, node: yaml.Node, path: Path_, display: str) -> Any:
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
            for k, v in self._mapping(source, path, display).items():
                result.setdefault(k, v)
        return result


def load_yaml(file: Path, display_name: str) -> tuple[Layer | None, list[Diagnostic]]:
    """Parse one YAML file into a layer; syntax problems come back as diagnostics."""
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Diagnostic(display_name, 0, "(file)", f"cannot read the file: {exc}")]
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
    builder = _Builder(display_name)
    if node is None:
        return Layer(data={}, anchor=Origin(display_name, 1, "")), []
    data = builder.build(node, (), "")
    if not isinstance(data, dict):
        builder.problems.append(Diagnostic(
            display_name, node.start_mark.line + 1, "(top level)",
            "a spec file must be a mapping (with keys such as 'tables' and 'environments')"))
        return None, builder.problems
    return Layer(data=data, origins=builder.origins,
                 anchor=Origin(display_name, 1, "")), builder.problems
