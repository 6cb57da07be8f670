"""A fast parser for the literal-only HCL that module blocks are written in.

python-hcl2 (lark, LALR, in pure Python) takes about 25 ms per module block: 5 s for a file
of 200. Module blocks are almost always plain data (strings, numbers, booleans, ``null``,
lists and objects of them, comments), and that subset is small enough to tokenize with one
regular expression and parse by recursive descent in a few milliseconds.

:func:`parse_literal_hcl` builds look-alikes of the python-hcl2 8 rules that
:mod:`tablesmith.spec.hcl_source` walks (``lark_name()``, ``_meta.line`` and the few
attributes it reads), with the lines lark would give (each rule's first token), so the walk,
its diagnostics and their line numbers are the same whichever parser ran. It accepts a strict
subset of what python-hcl2 accepts and returns None on anything else: a reference, function
call, operator, interpolation (``${``, ``%{``), heredoc, escape sequence, multi-line string,
keyword used as a name, a newline where HCL allows none, or a syntax error. python-hcl2 then
parses the file as before, so expressions are reported and syntax errors located exactly as
they always were. ``tests/unit/test_hcl_fast.py`` checks that both give the same tables and
diagnostics.
"""

from __future__ import annotations

import re
from typing import Any

# One alternation, tried in order at each position after blanks (spaces, tabs and CRs are
# ignored between tokens, as python-hcl2 does). NL_OR_COMMENT as in python-hcl2's grammar (a
# newline, a #/ // comment with its newline, or a /* */ comment). Strings: no backslash, no
# newline, checked for ${ and %{ after the match. Numbers as INT_LITERAL / FLOAT_LITERAL
# without a sign. Any other character is "other", which the parser refuses.
_TOKEN = re.compile(
    r"""[ \t\r]*(?:
      (?P<nl>\n|\#[^\n]*\n|//[^\n]*\n|/\*.*?\*/)
    | (?P<string>"[^"\\\n]*")
    | (?P<number>[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)(?![0-9A-Za-z_.])
    | (?P<name>[a-zA-Z_][a-zA-Z0-9_-]*)
    | (?P<punct>[{}\[\],])
    | (?P<eq>=(?![=>]))
    | (?P<colon>:(?!:))
    | (?P<other>.)
    )""",
    re.VERBOSE | re.DOTALL,
)
# lexed as their own terminals by python-hcl2: a key or variable of that name takes a
# different path through its grammar, so such files are left to it
_KEYWORDS = frozenset({"if", "in", "for", "for_each", "else", "endif", "endfor"})
_LITERALS = frozenset({"true", "false", "null"})
_MAX_NESTING = 32  # deeper than any module variable: python-hcl2 reports it as it always did


class Unsupported(Exception):  # a signal to fall back, not an error to report
    """The text is outside the literal subset: python-hcl2 must parse it."""


class _Meta:
    """The part of lark's ``Meta`` that hcl_source reads."""

    __slots__ = ("line",)

    def __init__(self, line: int) -> None:
        self.line = line


class _Rule:
    """A look-alike of one python-hcl2 rule: its lark name and its first token's line."""

    __slots__ = ("_meta", "kind")

    def __init__(self, kind: str, line: int) -> None:
        self.kind = kind
        self._meta = _Meta(line)

    def lark_name(self) -> str:
        """The grammar rule's name (python-hcl2's ``LarkElement.lark_name``)."""
        return self.kind


class _Token:
    """A lexer token as python-hcl2 keeps it (``.value``, and its terminal's name)."""

    __slots__ = ("kind", "value")

    def __init__(self, kind: str, value: str) -> None:
        self.kind = kind
        self.value = value

    def lark_name(self) -> str:
        """The terminal's name."""
        return self.kind


class _TokenRule(_Rule):
    """identifier, int_lit, float_lit, literal_value: one token (``.token.value``)."""

    __slots__ = ("token",)

    def __init__(self, kind: str, line: int, text: str) -> None:
        super().__init__(kind, line)
        self.token = _Token(kind, text)


class _StringPart:
    """string_part: here always plain characters."""

    __slots__ = ("content",)

    def __init__(self, text: str) -> None:
        self.content = _Token("STRING_CHARS", text)


class _String(_Rule):
    __slots__ = ("string_parts",)

    def __init__(self, line: int, text: str) -> None:
        super().__init__("string", line)
        self.string_parts = [_StringPart(text)] if text else []


class _Collection(_Rule):
    """tuple (elements: values) or object (elements: object_elem rules)."""

    __slots__ = ("elements",)

    def __init__(self, kind: str, line: int, elements: list[Any]) -> None:
        super().__init__(kind, line)
        self.elements = elements


class _ObjectKey(_Rule):
    __slots__ = ("value",)

    def __init__(self, value: _Rule) -> None:
        super().__init__("object_elem_key", value._meta.line)
        self.value = value


class _ObjectElem(_Rule):
    __slots__ = ("expression", "key")

    def __init__(self, key: _ObjectKey, expression: _Rule) -> None:
        super().__init__("object_elem", key._meta.line)
        self.key = key
        self.expression = expression


class _Attribute(_Rule):
    __slots__ = ("expression", "identifier")

    def __init__(self, identifier: _TokenRule, expression: _Rule) -> None:
        super().__init__("attribute", identifier._meta.line)
        self.identifier = identifier
        self.expression = expression


class _Body(_Rule):
    __slots__ = ("children",)

    def __init__(self, line: int, children: list[_Rule]) -> None:
        super().__init__("body", line)
        self.children = children


class _Block(_Rule):
    __slots__ = ("body", "labels")

    def __init__(self, labels: list[_Rule], body: _Body) -> None:
        super().__init__("block", labels[0]._meta.line)
        self.labels = labels
        self.body = body


class _Start(_Rule):
    __slots__ = ("body",)

    def __init__(self, body: _Body) -> None:
        super().__init__("start", 1)
        self.body = body


def parse_literal_hcl(text: str) -> Any:
    """The python-hcl2-shaped tree of ``text``, or None when python-hcl2 must parse it."""
    try:
        return _Parser(_tokens(text + "\n")).start()  # python-hcl2 appends the newline too
    except Unsupported:
        return None


def _tokens(text: str) -> list[tuple[str, str, int]]:
    """(kind, text, line) of every token; Unsupported at anything outside the subset.

    ``text`` ends with a newline, so blanks never trail the last token.
    """
    found: list[tuple[str, str, int]] = []
    line = 1
    for m in _TOKEN.finditer(text):
        kind = m.lastgroup or "other"
        value = m.group(kind)
        if kind == "nl":
            found.append(("nl", value, line))
            line += value.count("\n")
        elif kind == "string":
            if "${" in value or "%{" in value:
                raise Unsupported  # an interpolation or directive (or their $${ escapes)
            found.append(("string", value[1:-1], line))
        elif kind == "punct":
            found.append((value, value, line))
        elif kind == "other":
            raise Unsupported
        else:
            found.append((kind, value, line))
    found.append(("eof", "", line))
    return found


class _Parser:
    """Recursive descent over the tokens; Unsupported wherever python-hcl2 might differ."""

    def __init__(self, tokens: list[tuple[str, str, int]]) -> None:
        self.tokens = tokens
        self.i = 0

    def _peek(self) -> str:
        return self.tokens[self.i][0]

    def _take(self, kind: str) -> tuple[str, str, int]:
        token = self.tokens[self.i]
        if token[0] != kind:
            raise Unsupported
        self.i += 1
        return token

    def _skip_newlines(self) -> bool:
        start = self.i
        while self.tokens[self.i][0] == "nl":
            self.i += 1
        return self.i > start

    def start(self) -> _Start:
        body = self._body(1, top=True)
        self._take("eof")
        return _Start(body)

    def _body(self, line: int, *, top: bool) -> _Body:
        children: list[_Rule] = []
        while True:
            self._skip_newlines()
            if self._peek() == ("eof" if top else "}"):
                return _Body(line, children)
            children.append(self._item(top=top))
            # an item ends its line (python-hcl2 is laxer: `a = 1 b = 2` would be left to it)
            if self._peek() not in ("nl", "eof" if top else "}"):
                raise Unsupported

    def _item(self, *, top: bool) -> _Rule:
        name = self._name()
        if self._peek() == "eq":
            self.i += 1
            return _Attribute(name, self._value(0))
        labels: list[_Rule] = [name]
        while self._peek() in ("name", "string"):
            labels.append(self._name() if self._peek() == "name" else self._string())
        line = self._take("{")[2]
        body = self._body(line, top=False)
        self._take("}")
        return _Block(labels, body)

    def _name(self) -> _TokenRule:
        _, text, line = self._take("name")
        if text in _KEYWORDS or text in _LITERALS:
            raise Unsupported
        return _TokenRule("identifier", line, text)

    def _string(self) -> _String:
        _, text, line = self._take("string")
        return _String(line, text)

    def _value(self, depth: int) -> _Rule:
        if depth > _MAX_NESTING:
            raise Unsupported
        kind, text, line = self.tokens[self.i]
        if kind == "string":
            return self._string()
        self.i += 1
        if kind == "number":
            is_float = any(c in text for c in ".eE")
            return _TokenRule("float_lit" if is_float else "int_lit", line, text)
        if kind == "name" and text in _LITERALS:
            return _TokenRule("literal_value", line, text)
        if kind == "[":
            return _Collection("tuple", line, self._tuple(depth))
        if kind == "{":
            return _Collection("object", line, self._object(depth))
        raise Unsupported  # a reference, an operator, a function call, a heredoc…

    def _tuple(self, depth: int) -> list[Any]:
        elements: list[Any] = []
        self._skip_newlines()
        while self._peek() != "]":
            elements.append(self._value(depth + 1))
            self._skip_newlines()
            if self._peek() == ",":  # elements are separated by commas; one may trail
                self.i += 1
                self._skip_newlines()
            elif self._peek() != "]":
                raise Unsupported
        self.i += 1
        return elements

    def _object(self, depth: int) -> list[Any]:
        elements: list[Any] = []
        self._skip_newlines()
        while self._peek() != "}":
            key = self._name() if self._peek() == "name" else self._string()
            if self._peek() not in ("eq", "colon"):
                raise Unsupported
            self.i += 1
            elements.append(_ObjectElem(_ObjectKey(key), self._value(depth + 1)))
            ended_line = self._skip_newlines()
            if self._peek() == ",":
                self.i += 1
                self._skip_newlines()
            elif not ended_line and self._peek() != "}":
                raise Unsupported
        self.i += 1
        return elements
