"""PartiQL statements with parameters on the local target, patched into moto in-process.

moto 5.2 hands ExecuteStatement to py-partiql-parser 0.6, which substitutes ``?`` only in
some places (``SELECT … WHERE a = ?``, ``UPDATE … SET a = ? WHERE k = ?``) and fails with a
Python exception, which moto's server turns into an HTML 500, everywhere else: ``INSERT …
VALUE {'k': ?}``, ``DELETE … WHERE k = ?``, ``a=?`` without spaces. AWS takes a parameter
wherever a value may stand (ExecuteStatement ``Parameters``: "The parameters for the PartiQL
statement, if any", one AttributeValue per ``?`` in order).

So before moto sees the statement, each ``?`` outside quotes becomes a string literal holding
a unique placeholder, and the parser's value serializer (the one object all its clause parsers
call) turns a placeholder back into its AttributeValue, of any type (sets, binary, maps and
lists included, which PartiQL literals cannot all express). Comparison operators in a WHERE
clause get the spaces the parser needs. A count of parameters that does not match the ``?``
is AWS's ValidationException, and whatever else the parser cannot handle is a
ValidationException naming the statement, never a 500.
"""

from __future__ import annotations

import contextvars
import functools
import re
import secrets
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

_INSTALLED = "_ts_partiql_installed"  # marker attribute on moto's DynamoDBBackend class
COUNT_MESSAGE = "Number of parameters in request and statement don't match."
# AWS's wording for a statement it cannot parse, with what is not understood: here, whatever
# the emulator's parser cannot handle (which may be valid PartiQL: say so)
SYNTAX_MESSAGE = (
    "Statement wasn't well formed, can't be processed: the local target's PartiQL parser "
    "(moto) does not understand it"
)

# placeholder -> AttributeValue, for the statement being parsed on this thread
_BOUND: contextvars.ContextVar[dict[str, Any]] = contextvars.ContextVar("ts_partiql_bound")
_QUOTED = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"")
# a comparison operator, not part of a bag literal (<< >>)
_OPERATOR = re.compile(r"\s*(<>|!=|<=|>=|(?<![<>])=|(?<![<])<(?![<=>])|(?<![>])>(?![>=]))\s*")


def install() -> None:
    """Patch moto's ExecuteStatement in this process; calling it again does nothing."""
    from moto.dynamodb.models import DynamoDBBackend
    from py_partiql_parser._internal import (  # type: ignore[import-untyped]
        delete_parser,
        insert_parser,
        update_parser,
        where_parser,
    )

    if getattr(DynamoDBBackend, _INSTALLED, False):
        return
    serializer = _binding_serializer()
    for module in (delete_parser, insert_parser, update_parser, where_parser):
        module.serializer = serializer
    original = DynamoDBBackend.execute_statement
    DynamoDBBackend.execute_statement = functools.wraps(original)(  # type: ignore[method-assign]
        _execute_statement(original)
    )
    batch = DynamoDBBackend.batch_execute_statement
    DynamoDBBackend.batch_execute_statement = functools.wraps(batch)(  # type: ignore[method-assign]
        _batch_execute_statement(batch)
    )
    setattr(DynamoDBBackend, _INSTALLED, True)


def _binding_serializer() -> Any:
    from py_partiql_parser._packages.boto3.types import (  # type: ignore[import-untyped]
        TypeSerializer,
    )

    class BindingSerializer(TypeSerializer):  # type: ignore[misc]
        """The parser's serializer: a placeholder is its parameter, anything else as before."""

        def serialize(self, value: Any) -> Any:
            bound = _BOUND.get({})
            if isinstance(value, str) and value in bound:
                return bound[value]
            return super().serialize(value)

    return BindingSerializer()


def bind(statement: str, parameters: list[Any]) -> tuple[str, dict[str, Any]]:
    """The statement with each ``?`` a placeholder literal, and placeholder -> parameter."""
    nonce = secrets.token_hex(4)
    bound: dict[str, Any] = {}
    # the clause parsers split on spaces; an INSERT's VALUE is a document and needs none
    spaced = statement.lstrip()[:6].lower() != "insert"
    parts = []
    for text, quoted in _segments(statement):
        if quoted:
            parts.append(text)
            continue
        pieces = text.split("?")
        for i, piece in enumerate(pieces):
            parts.append(_OPERATOR.sub(r" \1 ", piece) if spaced else piece)
            if i < len(pieces) - 1:
                placeholder = f"tsparam{nonce}n{len(bound)}"
                bound[placeholder] = (
                    parameters[len(bound)] if len(bound) < len(parameters) else None
                )
                parts.append(f"'{placeholder}'")
    if len(bound) != len(parameters):
        raise ValueError(COUNT_MESSAGE)
    return "".join(parts), bound


def _segments(statement: str) -> Iterator[tuple[str, bool]]:
    """The statement as (text, quoted) pieces: string literals and quoted names kept whole."""
    at = 0
    for match in _QUOTED.finditer(statement):
        if match.start() > at:
            yield statement[at : match.start()], False
        yield match.group(0), True
        at = match.end()
    if at < len(statement):
        yield statement[at:], False


def _execute_statement(original: Callable[..., Any]) -> Callable[..., Any]:
    def execute_statement(self: Any, statement: str, parameters: list[Any] | None = None) -> Any:
        from moto.core.exceptions import JsonRESTError
        from moto.dynamodb.exceptions import MockValidationException

        try:
            text, bound = bind(statement, list(parameters or []))
        except ValueError as exc:
            raise MockValidationException(str(exc)) from exc
        # a statement of a batch comes bound already: its placeholders stay known
        token = _BOUND.set({**_BOUND.get({}), **bound})
        try:
            return original(self, statement=text, parameters=[])
        except JsonRESTError:
            raise  # already an AWS error (ResourceNotFound, ConditionalCheckFailed, …)
        except Exception as exc:  # the parser's own failure: AWS answers a ValidationException
            raise MockValidationException(SYNTAX_MESSAGE) from exc
        finally:
            _BOUND.reset(token)

    return execute_statement


def _batch_execute_statement(original: Callable[..., Any]) -> Callable[..., Any]:
    """BatchExecuteStatement: moto parses each statement before running it, so bind first."""

    def batch_execute_statement(self: Any, statements: list[dict[str, Any]]) -> Any:
        from moto.core.exceptions import JsonRESTError
        from moto.dynamodb.exceptions import MockValidationException

        bound: dict[str, Any] = {}
        texts = []
        for entry in statements if isinstance(statements, list) else []:
            try:
                text, entry_bound = bind(entry["Statement"], list(entry.get("Parameters") or []))
            except ValueError as exc:
                raise MockValidationException(str(exc)) from exc
            bound.update(entry_bound)
            texts.append({**entry, "Statement": text, "Parameters": []})
        token = _BOUND.set(bound)
        try:
            return original(self, texts)
        except JsonRESTError:
            raise
        except Exception as exc:
            raise MockValidationException(SYNTAX_MESSAGE) from exc
        finally:
            _BOUND.reset(token)

    return batch_execute_statement
