"""Read the reference Terraform module's HCL into :class:`~tablesmith.spec.source.Layer` data.

A ``.tf`` file holds any number of ``module "X" { source = ".../dynamodb_table" … }`` blocks;
each is one table. A ``.tfvars`` file is one table whose top-level assignments are the
module's variables. Everything else (providers, resources, other modules) is ignored.

python-hcl2 8 parses the text (lark, LALR, ``propagate_positions=True``) into a tree of typed
rule objects (``StartRule`` → ``BodyRule`` → ``BlockRule``/``AttributeRule`` → expression
rules). Every rule keeps the lark ``Meta`` it was built from, so we walk that tree ourselves
rather than its ``serialize()`` dict: that gives the line of every attribute, list element and
object field, and tells literals apart from expressions structurally (``serialize()`` turns
both ``var.x`` and ``"${var.x}"`` into the same ``"${var.x}"`` string). A file of plain data
(the usual case) is parsed instead by :mod:`tablesmith.spec.hcl_fast` into look-alikes of
those rules, with the same lines, about a hundred times faster.

Variables are then renamed into tablesmith's native settings shape (``TableSettings``), with
every value's origin spelled as the module's variable (``stream_view_type``, ``tags.Owner``,
``global_secondary_indexes[1].projection_type``). Values are not type-checked here: a wrong
type passes through so that the strict settings validation reports it at the recorded origin.
Terraform expressions cannot be evaluated, so they are reported and their variable left out.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tablesmith.errors import Diagnostic
from tablesmith.spec.hcl_fast import parse_literal_hcl
from tablesmith.spec.limits import MAX_DEPTH, MAX_HCL_BYTES, read_spec_text
from tablesmith.spec.model import DEFAULT_DR_REGION
from tablesmith.spec.source import Layer, Origin, Path_, join_path

if TYPE_CHECKING:
    from pathlib import Path

MODULE_NAME = "dynamodb_table"

# variables.tf of the module, in file order
MODULE_VARIABLES = (
    "table_name",
    "partition_key",
    "partition_key_type",
    "attributes",
    "tags",
    "sort_key",
    "sort_key_type",
    "billing_mode",
    "global_secondary_indexes",
    "point_in_time_recovery",
    "stream_enabled",
    "stream_view_type",
    "enable_backup",
    "backup_retention_days",
    "backup_schedule",
    "enable_deletion_protection",
    "enable_replication",
    "replica_region",
    "ttl_enabled",
    "ttl_attribute_name",
)

# Terraform's own arguments of a module block: not variables, nothing for tablesmith to read
META_ARGUMENTS = frozenset({"source", "version", "providers", "count", "for_each", "depends_on"})

# variables that map one-to-one onto a native path (the rest are handled in _TableBuilder)
_RENAMED: dict[str, tuple[str, ...]] = {
    "billing_mode": ("billing_mode",),
    "point_in_time_recovery": ("point_in_time_recovery", "enabled"),
    "stream_enabled": ("stream", "enabled"),
    "stream_view_type": ("stream", "view_type"),
    "enable_backup": ("backup", "enabled"),
    "backup_retention_days": ("backup", "retention_days"),
    "backup_schedule": ("backup", "schedule"),
    "enable_deletion_protection": ("deletion_protection",),
    "ttl_enabled": ("ttl", "enabled"),
    "ttl_attribute_name": ("ttl", "attribute_name"),
    "tags": ("tags",),
}

_KEY_TYPE_DEFAULT = "S"  # variables.tf: partition_key_type and sort_key_type default to "S"
# main.tf merges these over var.tags on the table alone: tags = merge(var.tags, {Name =
# var.table_name, Type = "DynamoDB"}). Its vault, plan and role merge their own Name and
# Component instead (and the DR vault its Region), which resources.desired_backup adds.
MODULE_TABLE_TYPE_TAG = "DynamoDB"
_ATTRIBUTE_FIELDS = ("name", "type")

_LITERAL_HINT = (
    "write the value itself (a quoted string, a number, true/false, null, a list or an "
    "object); tablesmith does not evaluate variables, locals, function calls or interpolations"
)

# how an expression rule (python-hcl2 lark_name) is described to the user
_EXPRESSION_KINDS = {
    "identifier": "a reference",
    "get_attr_expr_term": "a reference",
    "index_expr_term": "a reference",
    "attr_splat_expr_term": "a splat expression",
    "full_splat_expr_term": "a splat expression",
    "function_call": "a function call",
    "conditional": "a conditional expression",
    "binary_op": "an operation",
    "unary_op": "an operation",
    "for_tuple_expr": "a for expression",
    "for_object_expr": "a for expression",
    "interpolation": "an interpolation",
    "template_if": "a template directive",
    "template_for": "a template directive",
}

# an unescaped ${ or %{ in a heredoc body makes it a template, not a literal
_HEREDOC_TEMPLATE = re.compile(r"(?<![$%])[$%]\{")


@dataclass(frozen=True)
class HclTable:
    """One module block (or one .tfvars file) of the dynamodb_table module."""

    name: str | None  # table_name as written (None if absent/not a string)
    name_origin: Origin  # where table_name was written (or the block, if absent)
    environment: str | None  # tags.Environment when it is a string literal
    layer: Layer  # the block's variables mapped to tablesmith's native settings shape
    # variables left out because they were expressions (already reported)
    dropped: frozenset[str] = frozenset()


def load_hcl(file: Path, display_name: str) -> tuple[list[HclTable], list[Diagnostic]]:
    """Parse one ``.tf`` or ``.tfvars`` file into its tables; every problem is a diagnostic."""
    text, unread = read_spec_text(file, display_name, MAX_HCL_BYTES)
    if text is None:
        return [], [unread] if unread else []
    tree = parse_literal_hcl(text)  # plain data, the usual case: 100x faster than python-hcl2
    if tree is None:
        tree, problem = _parse_with_hcl2(text, display_name)
        if problem is not None:
            return [], [problem]
    reader = _Reader(display_name, text)
    if file.suffix == ".tfvars":
        anchor = Origin(display_name, 1, "")
        tables = [reader.table(tree.body, anchor, in_module=False)]
    else:
        tables = [
            reader.table(
                block.body, Origin(display_name, _line(block, 1), f"module.{name}"), in_module=True
            )
            for block, name in _module_blocks(tree.body)
        ]
    return tables, reader.problems


# --------------------------------------------------------------------------- parsing helpers


def _parse_with_hcl2(text: str, display_name: str) -> tuple[Any, Diagnostic | None]:
    """python-hcl2's tree of ``text``, or the syntax problem that stopped it."""
    import hcl2  # lazily: building the lark parser costs start-up time every command would pay

    try:
        return hcl2.parses(text), None
    except Exception as exc:  # lark's errors carry a line; the transformer's may not
        # python-hcl2 recurses once or more per level of nesting (lark wraps the error)
        if isinstance(exc, RecursionError) or isinstance(
            getattr(exc, "orig_exc", None), RecursionError
        ):
            return None, Diagnostic(
                display_name,
                0,
                "(syntax)",
                "invalid HCL: nested too deeply",
                f"a module block needs only a few levels (at most {MAX_DEPTH})",
            )
        return None, _syntax_problem(display_name, text, exc)


def _syntax_problem(file: str, text: str, exc: Exception) -> Diagnostic:
    from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedToken

    last_line = max(text.count("\n") + (0 if text.endswith("\n") else 1), 1)
    line = getattr(exc, "line", 0)
    line = min(line, last_line) if isinstance(line, int) and line > 0 else 0
    if isinstance(exc, UnexpectedEOF) or (
        isinstance(exc, UnexpectedToken) and exc.token.type == "$END"
    ):
        what = "unexpected end of file"
        line = line or last_line
    elif isinstance(exc, UnexpectedToken):
        shown = next((s.strip() for s in str(exc.token.value).splitlines() if s.strip()), "")
        what = f"unexpected {shown[:30]!r}" if shown else f"unexpected {exc.token.type}"
    elif isinstance(exc, UnexpectedCharacters):
        what = f"unexpected character {exc.char!r}"
    else:
        what = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return Diagnostic(
        file, line, "(syntax)", f"invalid HCL: {what}", "fix the HCL syntax at this line"
    )


def _line(node: Any, fallback: int) -> int:
    """The 1-based line a python-hcl2 rule starts at (rules keep lark's Meta as ``_meta``)."""
    line = getattr(getattr(node, "_meta", None), "line", None)
    return line if isinstance(line, int) and line > 0 else fallback


def _kind(node: Any) -> str:
    return str(node.lark_name())


def _token_text(node: Any) -> str:
    """The source text of a single-token rule (identifier, number, true/false/null)."""
    return str(node.token.value)


def _plain_string(node: Any) -> str | None:
    """The value of a quoted string without interpolations or directives, else None."""
    parts: list[str] = []
    for part in node.string_parts:
        content = part.content
        kind = _kind(content)
        if kind == "STRING_CHARS":
            chars = str(content.value)
            if "\\" in chars:  # python-hcl2 (~0.15 s to import) only for escapes
                from hcl2.utils import process_escape_sequences

                chars = process_escape_sequences(chars)
            parts.append(chars)
        elif kind in ("ESCAPED_INTERPOLATION", "ESCAPED_DIRECTIVE"):
            parts.append(str(content.value)[1:])  # $${x} is the text ${x}
        else:
            return None
    return "".join(parts)


def _module_blocks(body: Any) -> list[tuple[Any, str]]:
    """The ``module "X"`` blocks of a .tf body whose ``source`` is the dynamodb_table module."""
    found: list[tuple[Any, str]] = []
    for block in body.children:
        if block is None or _kind(block) != "block":
            continue
        labels = block.labels
        if len(labels) != 2 or _label(labels[0]) != "module":
            continue
        name = _label(labels[1])
        if name is None:
            continue
        source = next(
            (
                a
                for a in block.body.children
                if a is not None
                and _kind(a) == "attribute"
                and _token_text(a.identifier) == "source"
            ),
            None,
        )
        if source is None:
            continue
        value = _unwrap(source.expression)
        if _kind(value) == "string" and is_module_source(_plain_string(value) or ""):
            found.append((block, name))
    return found


def _label(node: Any) -> str | None:
    if _kind(node) == "identifier":
        return _token_text(node)
    if _kind(node) == "string":
        return _plain_string(node)
    return None  # pragma: no cover - the grammar allows only these two


def _unwrap(node: Any) -> Any:
    """Look through ``expr_term`` wrappers (and parentheses, which do not change a value)."""
    while _kind(node) == "expr_term":
        node = node.expression
    return node


def is_module_source(source: str) -> bool:
    """Whether a module ``source`` address points at the dynamodb_table module.

    ``./modules/dynamodb_table``, ``git::https://host/infra.git//modules/dynamodb_table?ref=v1``
    and ``git::https://host/dynamodb_table.git?ref=v1`` all do: the last path segment of the
    sub-directory (after ``//``) or, failing that, of the package itself is the module's name.
    """
    address = source.split("?", 1)[0]
    rest = address.partition("://")[2] or address
    package, _, subdir = rest.partition("//")
    for candidate in (subdir, package):
        segment = candidate.rstrip("/").rsplit("/", 1)[-1]
        if segment.removesuffix(".git") == MODULE_NAME:
            return True
    return False


# --------------------------------------------------------------------------- literals


@dataclass
class _Literal:
    """One variable's value as plain Python data, with the line of it and of each part."""

    value: Any
    line: int  # where the variable was assigned
    lines: dict[Path_, int] = field(default_factory=dict)  # path inside value -> line


class _Reader:
    """Reads bodies of one file, collecting diagnostics."""

    def __init__(self, file: str, text: str) -> None:
        self.file = file
        self.text = text
        self.problems: list[Diagnostic] = []
        self.expressions = 0  # how many expressions were reported so far

    def table(self, body: Any, anchor: Origin, *, in_module: bool) -> HclTable:
        variables: dict[str, _Literal] = {}
        dropped: dict[str, _Literal] = {}  # left out because they hold an expression
        for node in body.children:
            if node is None:
                continue
            kind = _kind(node)
            if kind == "block":
                self.problems.append(
                    Diagnostic(
                        self.file,
                        _line(node, anchor.line),
                        anchor.path or "(top level)",
                        f"unexpected block '{_label(node.labels[0])}'",
                        "the dynamodb_table module takes only arguments (name = value)",
                    )
                )
            elif kind == "attribute":
                self._variable(node, variables, dropped, anchor, in_module=in_module)
        return _TableBuilder(self, anchor, variables, dropped).build()

    def _variable(
        self,
        node: Any,
        variables: dict[str, _Literal],
        dropped: dict[str, _Literal],
        anchor: Origin,
        *,
        in_module: bool,
    ) -> None:
        name = _token_text(node.identifier)
        line = _line(node, anchor.line)
        if in_module and name in META_ARGUMENTS:
            return
        if name not in MODULE_VARIABLES:
            close = difflib.get_close_matches(name, MODULE_VARIABLES, n=1)
            hint = (
                f"did you mean '{close[0]}'?"
                if close
                else "the dynamodb_table module's variables are: " + ", ".join(MODULE_VARIABLES)
            )
            self.problems.append(
                Diagnostic(self.file, line, name, f"unknown variable '{name}'", hint)
            )
            return
        if name in variables or name in dropped:
            self.problems.append(
                Diagnostic(
                    self.file,
                    line,
                    name,
                    f"duplicate variable '{name}'",
                    f"'{name}' is set more than once; set it once",
                )
            )
            return
        literal = _Literal(value=None, line=line)
        before = self.expressions
        literal.value = self._convert(node.expression, (), name, literal.lines)
        if self.expressions == before:
            variables[name] = literal
        else:  # an expression anywhere inside leaves the whole variable out
            dropped[name] = literal

    def _convert(self, node: Any, rel: Path_, display: str, lines: dict[Path_, int]) -> Any:
        """The literal value of ``node``; expressions are reported (and return None)."""
        node = _unwrap(node)
        lines[rel] = _line(node, lines.get(rel[:-1], 0) if rel else 0)
        if len(rel) >= MAX_DEPTH:  # the variable is left out, as for an expression
            self.expressions += 1
            self.problems.append(
                Diagnostic(
                    self.file,
                    lines[rel],
                    display,
                    f"nested more than {MAX_DEPTH} levels deep",
                    "a module variable needs only a few levels",
                )
            )
            return None
        kind = _kind(node)
        if kind == "literal_value":
            return {"true": True, "false": False, "null": None}[_token_text(node)]
        if kind == "int_lit":
            return int(_token_text(node))
        if kind == "float_lit":
            return float(_token_text(node))
        if kind == "string":
            text = _plain_string(node)
            if text is not None:
                return text
            return self._expression(node, display, lines[rel], "an interpolation")
        if kind in ("heredoc_template", "heredoc_template_trim"):
            return self._heredoc(node, display, lines[rel])
        if kind == "unary_op" and node.operator.strip() == "-":
            operand = _unwrap(node.expr_term)
            if _kind(operand) in ("int_lit", "float_lit"):  # -3 lexes as MINUS, INT_LITERAL
                return -self._convert(operand, rel, display, lines)
        if kind == "tuple":
            return [
                self._convert(element, (*rel, i), join_path(display, i), lines)
                for i, element in enumerate(node.elements)
            ]
        if kind == "object":
            return self._object(node, rel, display, lines)
        return self._expression(node, display, lines[rel], _EXPRESSION_KINDS.get(kind))

    def _object(
        self, node: Any, rel: Path_, display: str, lines: dict[Path_, int]
    ) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for element in node.elements:
            line = _line(element, lines[rel])
            key = self._key(element.key, display, line)
            if key is None:
                continue
            sub = join_path(display, key)
            if key in result:
                self.problems.append(
                    Diagnostic(
                        self.file,
                        line,
                        sub,
                        f"duplicate key '{key}'",
                        "each key may appear once in an object; remove or merge the repeats",
                    )
                )
                continue
            result[key] = self._convert(element.expression, (*rel, key), sub, lines)
            lines[(*rel, key)] = line  # a field's own line is where the user looks for it
        return result

    def _key(self, node: Any, display: str, line: int) -> str | None:
        if _kind(node) == "object_elem_key":
            inner = node.value
            if _kind(inner) == "string":
                text = _plain_string(inner)
                if text is not None:
                    return text
            elif _kind(inner) in ("identifier", "int_lit", "float_lit"):
                return _token_text(inner)
        self._expression(node, display, line, "a computed key")
        return None

    def _heredoc(self, node: Any, display: str, line: int) -> Any:
        from hcl2.utils import SerializationOptions

        raw = str(node.heredoc.value)
        if _HEREDOC_TEMPLATE.search(raw):
            return self._expression(node, display, line, "a template")
        options = SerializationOptions(preserve_heredocs=False, strip_string_quotes=True)
        body = str(node.serialize(options))
        return body.replace("$${", "${").replace("%%{", "%{")

    def _expression(self, node: Any, display: str, line: int, kind: str | None) -> None:
        meta = getattr(node, "_meta", None)
        start, end = getattr(meta, "start_pos", None), getattr(meta, "end_pos", None)
        source = ""
        if isinstance(start, int) and isinstance(end, int):
            source = self.text[start:end].strip().split("\n", 1)[0]
        source = source[:60]
        shown = (source if source.startswith('"') else f"'{source}'") if source else "the value"
        self.expressions += 1
        self.problems.append(
            Diagnostic(
                self.file,
                line,
                display,
                f"{shown} is {kind or 'an expression'}: tablesmith reads literal values only",
                _LITERAL_HINT,
            )
        )


# --------------------------------------------------------------------------- native shape


class _TableBuilder:
    """Renames one block's variables into native settings data with origins."""

    def __init__(
        self,
        reader: _Reader,
        anchor: Origin,
        variables: dict[str, _Literal],
        dropped: dict[str, _Literal],
    ) -> None:
        self.reader = reader
        self.dropped = dropped
        self.file = reader.file
        self.anchor = anchor
        self.vars = variables
        self.data: dict[str, Any] = {}
        self.origins: dict[Path_, Origin] = {}

    def build(self) -> HclTable:
        # file order, so a shared container (stream, backup…) is anchored at its first variable
        for name, literal in self.vars.items():
            if name in _RENAMED:
                self._place(_RENAMED[name], literal.value, name)
            elif name == "attributes":
                self._attributes(literal)
            elif name == "global_secondary_indexes":
                self._place(("global_secondary_indexes",), _gsis(literal.value), name)
        self._key("partition_key")
        self._key("sort_key")
        self._replicas()
        table_name = self.vars.get("table_name")
        name_origin = self._origin(table_name.line, "table_name") if table_name else self.anchor
        if table_name is not None and isinstance(table_name.value, str):
            self._module_tags(table_name)
        # an expression elsewhere in tags does not hide a literal Environment
        tags = self.vars.get("tags") or self.dropped.get("tags")
        environment = (
            tags.value.get("Environment") if tags and isinstance(tags.value, dict) else None
        )
        return HclTable(
            name=table_name.value if table_name and isinstance(table_name.value, str) else None,
            name_origin=name_origin,
            environment=environment if isinstance(environment, str) else None,
            layer=Layer(data=self.data, origins=self.origins, anchor=self.anchor),
            dropped=frozenset(self.dropped),
        )

    def _origin(self, line: int, display: str) -> Origin:
        return Origin(self.file, line, display)

    def _module_tags(self, table_name: _Literal) -> None:
        """The tags main.tf merges over ``var.tags`` on the table: ``Name``, ``Type``."""
        self.data["table_tags"] = {"Name": table_name.value, "Type": MODULE_TABLE_TYPE_TAG}
        origin = self._origin(table_name.line, "table_name")
        for path in (("table_tags",), ("table_tags", "Name"), ("table_tags", "Type")):
            self.origins[path] = origin

    def _place(self, path: tuple[str, ...], value: Any, var: str) -> None:
        """Put ``value`` at ``path``, with origins for it, its parents and everything inside."""
        literal = self.vars[var]
        node = self.data
        for depth, key in enumerate(path[:-1]):
            node = node.setdefault(key, {})
            self.origins.setdefault(path[: depth + 1], self._origin(literal.line, var))
        node[path[-1]] = value
        for rel, line in literal.lines.items():
            if _exists(value, rel):
                self.origins[(*path, *rel)] = self._origin(line, _display(var, rel))
        self.origins[path] = self._origin(literal.line, var)

    def _key(self, key: str) -> None:
        """``partition_key`` + ``partition_key_type`` → ``partition_key: {name, type}``."""
        name, type_ = self.vars.get(key), self.vars.get(f"{key}_type")
        if key == "sort_key" and (name is None or name.value is None):
            return  # the module's default: no sort key (its type is then unused)
        if name is None and type_ is None:
            return
        if name is not None:
            self._place((key, "name"), name.value, key)
        if type_ is not None:
            self._place((key, "type"), type_.value, f"{key}_type")
        else:  # the module default; no origin of its own, so the key's is used
            self.data[key]["type"] = _KEY_TYPE_DEFAULT
        container = name or type_
        assert container is not None
        self.origins[(key,)] = self._origin(container.line, key if name else f"{key}_type")

    def _attributes(self, literal: _Literal) -> None:
        """``[{name, type}, …]`` → ``{name: type}``; a name declared twice must agree."""
        if not isinstance(literal.value, list):
            self._place(("attributes",), literal.value, "attributes")
            return
        result: dict[str, Any] = {}
        self.data["attributes"] = result
        self.origins[("attributes",)] = self._origin(literal.line, "attributes")
        for i, element in enumerate(literal.value):
            line = literal.lines.get((i,), literal.line)
            display = join_path("attributes", i)
            entry = self._attribute(element, line, display, literal.lines, i)
            if entry is None:
                continue
            name, type_ = entry
            if name in result:
                if result[name] != type_:
                    self._problem(
                        line,
                        display,
                        f"attribute '{name}' is declared with two types: "
                        f"{result[name]!r} and {type_!r}",
                        "declare each attribute once, with the type its key uses",
                    )
                continue
            result[name] = type_
            self.origins[("attributes", name)] = self._origin(line, display)

    def _attribute(
        self, element: Any, line: int, display: str, lines: dict[Path_, int], i: int
    ) -> tuple[str, Any] | None:
        if not isinstance(element, dict):
            self._problem(
                line,
                display,
                "an attribute must be an object { name = …, type = … }",
                'write it as { name = "PK", type = "S" }',
            )
            return None
        ok = True
        for extra in element.keys() - set(_ATTRIBUTE_FIELDS):
            close = difflib.get_close_matches(extra, _ATTRIBUTE_FIELDS, n=1)
            self._problem(
                lines.get((i, extra), line),
                join_path(display, extra),
                f"unknown field '{extra}' in an attribute",
                f"did you mean '{close[0]}'?"
                if close
                else "an attribute has only 'name' and 'type'",
            )
            ok = False
        name = element.get("name")
        if not isinstance(name, str):
            self._problem(
                lines.get((i, "name"), line),
                join_path(display, "name"),
                "an attribute needs a string 'name'",
                'e.g. name = "PK"',
            )
            ok = False
        if "type" not in element:
            self._problem(
                line, display, f"attribute {name!r} has no 'type'", 'add type = "S", "N" or "B"'
            )
            ok = False
        return (name, element["type"]) if ok and isinstance(name, str) else None

    def _replicas(self) -> None:
        """``enable_replication = true`` → ``replicas: [replica_region]``."""
        enabled = self.vars.get("enable_replication")
        if enabled is None or enabled.value is False:
            return
        if enabled.value is not True:
            self._problem(
                enabled.line,
                "enable_replication",
                f"enable_replication must be true or false, not {enabled.value!r}",
                "write enable_replication = true (or false)",
            )
            return
        region = self.vars.get("replica_region")
        if region is None and "replica_region" in self.dropped:
            return  # it holds an expression, already reported: do not guess the region
        self.origins[("replicas",)] = self._origin(enabled.line, "enable_replication")
        if region is None:
            self.data["replicas"] = [DEFAULT_DR_REGION]  # variables.tf: replica_region default
        else:
            self.data["replicas"] = [region.value]
            self.origins[("replicas", 0)] = self._origin(region.line, "replica_region")

    def _problem(self, line: int, path: str, message: str, hint: str) -> None:
        self.reader.problems.append(Diagnostic(self.file, line, path, message, hint))


def _gsis(value: Any) -> Any:
    """Drop a null or empty ``range_key`` (the module's way of saying "no sort key")."""
    if not isinstance(value, list):
        return value
    return [
        {k: v for k, v in index.items() if not (k == "range_key" and v in (None, ""))}
        if isinstance(index, dict)
        else index
        for index in value
    ]


def _display(var: str, rel: Path_) -> str:
    """The display path of ``rel`` inside variable ``var``: ``tags`` + ("Owner",) → tags.Owner."""
    display = var
    for part in rel:
        display = join_path(display, part)
    return display


def _exists(value: Any, rel: Path_) -> bool:
    node = value
    for key in rel:
        in_dict = isinstance(node, dict) and isinstance(key, str) and key in node
        in_list = isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node)
        if not (in_dict or in_list):
            return False
        node = node[key]
    return True
