"""Raw spec documents with provenance: where every value came from.

Loaders (YAML, HCL) produce :class:`Layer` objects: plain ``dict``/``list``/scalar data in
tablesmith's native shape, plus ``origins``, a map from each value's path inside ``data``
(a tuple of keys and list indexes) to the :class:`Origin` the user wrote it at. Layers are
merged (later wins, dicts deep-merged, lists replaced) and the origin of every merged value
is kept, so a problem found in the effective, fully-defaulted table is reported at the file,
line and field path the user must edit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Path_ = tuple[str | int, ...]


@dataclass(frozen=True)
class Origin:
    """Where a value was written: file, 1-based line and the field path as the user spells it."""

    file: str
    line: int
    path: str


def join_path(base: str, key: str | int) -> str:
    """Append a key or index to a display path: ``a.b`` + 1 -> ``a.b[1]``."""
    if isinstance(key, int):
        return f"{base}[{key}]"
    return f"{base}.{key}" if base else key


@dataclass
class Layer:
    """One source of settings: native-shaped data and the origin of every value in it."""

    data: dict[str, Any]
    origins: dict[Path_, Origin] = field(default_factory=dict)
    # origin of the layer as a whole (e.g. the table's own key), used when nothing closer exists
    anchor: Origin | None = None
    _children: dict[str | int, Layer] | None = field(
        default=None, init=False, repr=False, compare=False)

    def origin_of(self, path: Path_) -> Origin | None:
        """The origin of ``path`` or of its closest written ancestor."""
        for cut in range(len(path), -1, -1):
            found = self.origins.get(path[:cut])
            if found is not None:
                return found
        return self.anchor

    def sub(self, *prefix: str | int) -> Layer:
        """The layer rooted at ``prefix`` (which must hold a dict)."""
        node: Any = self.data
        for key in prefix:
            node = node[key]
        under = self
        for key in prefix:
            under = under._under(key)
        anchor = self.origin_of(prefix)
        return Layer(data=node, origins=dict(under.origins), anchor=anchor)

    def _under(self, key: str | int) -> Layer:
        # origins grouped by their first key, once: sub("tables", name) for every table of
        # a file is then linear in the file, not quadratic (origins are complete by then)
        if self._children is None:
            groups: dict[str | int, dict[Path_, Origin]] = {}
            for path, origin in self.origins.items():
                if path:
                    groups.setdefault(path[0], {})[path[1:]] = origin
            self._children = {k: Layer(data={}, origins=v) for k, v in groups.items()}
        return self._children.get(key) or Layer(data={})


def merge(layers: list[Layer]) -> Merged:
    """Deep-merge layers, later ones winning; dicts merge key by key, lists are replaced."""
    data: dict[str, Any] = {}
    for layer in layers:
        _merge_into(data, layer.data)
    return Merged(data=data, layers=list(layers))


@dataclass
class Merged:
    """The result of :func:`merge`: the data, and the layers to find any value's origin in."""

    data: dict[str, Any]
    layers: list[Layer]

    def locate(self, path: Path_) -> tuple[Origin | None, int]:
        """The origin of the value at ``path`` and how deep into ``path`` the user wrote.

        The origin is that of the last layer that wrote the deepest part of ``path``; the depth
        equals ``len(path)`` when the user wrote the value itself (not a built-in default).
        Looked up lazily (only when a problem is reported), so merging stays cheap.
        """
        best: Origin | None = None
        best_depth = -1
        for layer in reversed(self.layers):
            depth = _defined_depth(layer.data, path)
            if depth > best_depth:
                # built-in default layers carry no origin: they never win over user text
                found = layer.origin_of(path[:depth])
                if found is not None:
                    best, best_depth = found, depth
        return best, max(best_depth, 0)


    def without(self, paths: list[Path_]) -> Merged:
        """The merge again, with the values at ``paths`` removed from every user-written layer.

        Used to carry on validating after a structural error: the bad value falls back to the
        built-in default (or goes missing), so the rest of the table can still be checked.
        """
        layers = []
        for layer in self.layers:
            if not layer.origins and layer.anchor is None:
                layers.append(layer)  # built-in defaults stay
                continue
            data = _copy(layer.data)
            for path in paths:
                _delete(data, path)
            layers.append(Layer(data, layer.origins, layer.anchor))
        return merge(layers)


_MISSING = object()


def _child(node: Any, key: str | int) -> Any:
    """``node[key]`` for a dict key or a list index that exists, else ``_MISSING``."""
    if isinstance(node, dict) and isinstance(key, str):
        return node.get(key, _MISSING)
    if isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
        return node[key]
    return _MISSING


def _delete(data: Any, path: Path_) -> None:
    # a bad list element takes its whole list with it (lists are replaced, never merged)
    while path and isinstance(path[-1], int):
        path = path[:-1]
    node = data
    for key in path[:-1]:
        child = _child(node, key)
        if child is not _MISSING:
            node = child
        else:
            return
    if path and isinstance(node, dict):
        node.pop(path[-1], None)


def _defined_depth(data: Any, path: Path_) -> int:
    """How many leading elements of ``path`` exist in ``data``."""
    node = data
    for depth, key in enumerate(path):
        child = _child(node, key)
        if child is not _MISSING:
            node = child
        else:
            return depth
    return len(path)


def _merge_into(target: dict[str, Any], source: dict[str, Any]) -> None:
    for key, value in source.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge_into(target[key], value)
        else:
            target[key] = _copy(value)


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value
