"""Values in the spec's vocabulary, for plan lines: ``true``, ``none``, ``{TableName: a}``.

People read plans; a Python repr (``None``, ``{'k': 'v'}``, ``'x'``) is not what they wrote.
"""

from __future__ import annotations

import json
import re
from enum import Enum
from typing import Any

from pydantic import BaseModel

_PLAIN = re.compile(r"[A-Za-z0-9_./:@+=-]+")


def show(value: Any) -> str:
    """``value`` as YAML's flow style would write it (strings quoted only when needed)."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        plain = _PLAIN.fullmatch(value) and value.lower() not in (
            "true",
            "false",
            "none",
            "null",
            "yes",
            "no",
        )
        return value if plain else json.dumps(value, ensure_ascii=False)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{show(k)}: {show(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else value
        return "[" + ", ".join(show(v) for v in items) + "]"
    if isinstance(value, Enum):
        return show(value.value)
    if isinstance(value, BaseModel):  # a model as its fields, as `show --json` prints them
        return show(value.model_dump(mode="json"))
    return show(str(value))  # anything else: its text, quoted where YAML would need it


def field_changes(before: Any, after: Any) -> list[str]:
    """One ``field: before -> after`` line per field that differs (models or dicts; a None
    side reads as no fields)."""
    old, new = _fields(before), _fields(after)
    return [
        f"{key}: {show(old.get(key))} -> {show(new.get(key))}"
        for key in dict.fromkeys([*old, *new])
        if old.get(key) != new.get(key)
    ]


def _fields(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if isinstance(value, BaseModel):
        return dict(value.model_dump(mode="json"))
    return dict(value)


def tag_lines(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """One line per tag key: ``+ K = v`` added, ``~ K: old -> new`` changed, ``- K (was v)``
    removed (in ``before`` only)."""
    lines = []
    for key in sorted({*before, *after}):
        if key in after and key in before:
            lines.append(f"~ {key}: {show(before[key])} -> {show(after[key])}")
        elif key in after:
            lines.append(f"+ {key} = {show(after[key])}")
        else:
            lines.append(f"- {key} (was {show(before[key])})")
    return lines
