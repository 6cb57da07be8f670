"""Operations moto does not implement answer as AWS answers an unknown operation.

moto answers an operation it has no method for by raising ``NotImplementedError("The
<action> action has not been implemented")`` (the server then sends an HTML 500 page and
logs a traceback), and a REST path it has no route for with werkzeug's HTML 404 page. SDKs
turn either into an error whose code is "500" or "404" and whose message is HTML.

:class:`UnknownOperations` sits between the gate and moto and answers both in the request's
own protocol, with HTTP 400:

* JSON (``X-Amz-Target``: DynamoDB, KMS) and REST-JSON (AWS Backup):
  ``{"__type": "com.amazon.coral.service#UnknownOperationException", "message": ...}`` and
  ``x-amzn-ErrorType: UnknownOperationException`` (SDKs read the code from either);
* Smithy RPC v2 CBOR (CloudWatch in current botocore): the same map, CBOR-encoded;
* the query protocol (IAM, STS, SNS; form-encoded): the XML ``ErrorResponse`` with code
  ``InvalidAction``, which is what AWS's query services call an unknown action.

Any other failure is left as it was: only "not implemented" is translated, never hidden.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

# moto.core.responses.BaseResponse.call_action, for an action its response class lacks
_NOT_IMPLEMENTED = re.compile(r"^The (\w+) action has not been implemented$")
_CBOR_PATH = re.compile(r"/service/[^/]+/operation/(\w+)$")
_ROUTE_MISSING = ("404", "405")  # werkzeug's routing answers, as HTML pages
UNKNOWN_OPERATION = "UnknownOperationException"


class UnknownOperations:
    """WSGI middleware: moto's "not implemented" answers become AWS's unknown-operation error."""

    def __init__(self, app: WSGIApp) -> None:
        self.app = app

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        answer: list[Any] = []  # status, headers, exc_info as moto gave them
        written: list[bytes] = []  # what moto wrote through start_response's write()

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            answer[:] = [status, headers, exc_info]
            return written.append

        try:
            body = list(self.app(environ, capture))
        except NotImplementedError as exc:
            match = _NOT_IMPLEMENTED.match(str(exc))
            if match is None:
                raise  # a feature inside an implemented operation: not ours to rename
            name = operation_name(environ) or _pascal(match.group(1))
            return unknown_operation(environ, start_response, name)
        status, headers, exc_info = answer
        if status[:3] in _ROUTE_MISSING and _is_html(headers):
            return unknown_operation(environ, start_response, operation_name(environ))
        start_response(status, headers, exc_info)
        return [*written, *body]


def operation_name(environ: dict[str, Any]) -> str | None:
    """The operation a request names (JSON target, CBOR path, query Action), if it names one."""
    target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
    if target:
        return target.rsplit(".", 1)[-1]
    cbor = _CBOR_PATH.search(str(environ.get("PATH_INFO", "")))
    if cbor:
        return cbor.group(1)
    action = parse_qs(str(environ.get("QUERY_STRING", ""))).get("Action")
    return action[0] if action else None


def unknown_operation(
    environ: dict[str, Any], start_response: Callable[..., Any], name: str | None
) -> Iterable[bytes]:
    """Answer ``name`` (None: a REST path no operation has) as AWS answers unknown ones."""
    what = name or f"{environ.get('REQUEST_METHOD', 'GET')} {environ.get('PATH_INFO', '/')}"
    message = (
        f"{what} is not implemented by the tablesmith local target (moto does not "
        "emulate it); use AWS for it"
    )
    request_id = str(uuid.uuid4())
    content_type = str(environ.get("CONTENT_TYPE", ""))
    headers: list[tuple[str, str]]
    if _is_cbor(environ):
        body = _cbor_map(
            {"__type": f"com.amazon.coral.service#{UNKNOWN_OPERATION}", "message": message}
        )
        headers = [("Content-Type", "application/cbor"), ("smithy-protocol", "rpc-v2-cbor")]
    elif content_type.startswith("application/x-www-form-urlencoded"):
        body = (
            "<ErrorResponse><Error><Type>Sender</Type><Code>InvalidAction</Code>"
            f"<Message>{_xml(message)}</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>"
        ).encode()
        headers = [("Content-Type", "text/xml")]
    else:
        body = json.dumps(
            {"__type": f"com.amazon.coral.service#{UNKNOWN_OPERATION}", "message": message}
        ).encode()
        json_type = (
            content_type
            if content_type.startswith("application/x-amz-json")
            else "application/json"
        )
        headers = [("Content-Type", json_type), ("x-amzn-ErrorType", UNKNOWN_OPERATION)]
    start_response(
        "400 Bad Request",
        [*headers, ("x-amzn-RequestId", request_id), ("Content-Length", str(len(body)))],
    )
    return [body]


def _is_html(headers: list[tuple[str, str]]) -> bool:
    return any(
        k.lower() == "content-type" and v.lower().startswith("text/html") for k, v in headers
    )


def _is_cbor(environ: dict[str, Any]) -> bool:
    return str(environ.get("HTTP_SMITHY_PROTOCOL", "")) == "rpc-v2-cbor" or str(
        environ.get("CONTENT_TYPE", "")
    ).startswith("application/cbor")


def _pascal(snake: str) -> str:
    """moto's method name back to the operation's: describe_global_table_settings ->
    DescribeGlobalTableSettings."""
    return "".join(part[:1].upper() + part[1:] for part in snake.split("_"))


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cbor_text(text: str) -> bytes:
    """A CBOR text string (major type 3) with its length in the shortest form."""
    data = text.encode()
    size = len(data)
    if size < 24:
        head = bytes([0x60 | size])
    elif size < 0x100:
        head = bytes([0x78, size])
    elif size < 0x10000:
        head = bytes([0x79]) + size.to_bytes(2, "big")
    else:
        head = bytes([0x7A]) + size.to_bytes(4, "big")
    return head + data


def _cbor_map(pairs: dict[str, str]) -> bytes:
    """A small CBOR map of text to text (major type 5; fewer than 24 pairs)."""
    assert len(pairs) < 24
    return bytes([0xA0 | len(pairs)]) + b"".join(
        _cbor_text(k) + _cbor_text(v) for k, v in pairs.items()
    )
