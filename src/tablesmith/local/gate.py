"""The gate in front of moto's app: the local target answers its own user's SDKs, nobody else.

moto's server is built for tests: an admin API (``/moto-api/*``: dump every item, reset the
state, record requests, upload files), CORS for any origin, any Host and any signature. On a
developer's machine that is an open door to every local user and to any web page in a
browser. The gate, in order:

1. the ``Host`` header must be ``127.0.0.1:<port>`` or ``localhost:<port>``: a web page that
   rebinds its own DNS name to 127.0.0.1 still sends its own name (DNS-rebinding defence);
2. no CORS: an ``OPTIONS`` preflight is refused and no ``Access-Control-*`` header ever leaves,
   so a browser never lets a page read an answer;
3. ``/moto-api/*`` (and moto's fake instance metadata) is refused, signed or not;
4. the request must be signed (SigV4) with the state directory's access key, in the
   ``Authorization`` header or a presigned URL's ``X-Amz-Credential``. Only the key ID is
   compared: moto verifies no signatures, and the key is a secret only its user can read.

Refusals are AWS-shaped, so SDKs raise their usual errors: JSON for the JSON protocols
(DynamoDB, KMS, Backup), the query protocol's XML for form-encoded requests (IAM, STS).
"""

from __future__ import annotations

import hmac
import json
import posixpath
import re
import uuid
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/")
_CLOSED_PREFIXES = ("/moto-api", "/latest/", "/favicon.ico")  # moto's own, not AWS's APIs


class Gate:
    """WSGI middleware: Host, CORS, admin API and access-key checks before moto sees a request."""

    def __init__(self, app: WSGIApp, access_key: str) -> None:
        self.app = app
        self.access_key = access_key
        self.port = 0  # set once the server is bound (nothing is served before that)

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        refusal = self.refusal(environ)
        if refusal is not None:
            code, message = refusal
            return _refuse(environ, start_response, code, message)

        def without_cors(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            kept = [(k, v) for k, v in headers if not k.lower().startswith("access-control-")]
            return start_response(status, kept, exc_info)

        return self.app(environ, without_cors)

    def refusal(self, environ: dict[str, Any]) -> tuple[str, str] | None:
        """Why a request is refused, as (AWS error code, message); None to let it through."""
        host = str(environ.get("HTTP_HOST", ""))
        if host not in (f"127.0.0.1:{self.port}", f"localhost:{self.port}"):
            return (
                "InvalidSignatureException",
                f"the Host header {host!r} is not this local target's "
                f"(127.0.0.1:{self.port}); it only answers requests addressed to it",
            )
        if environ.get("REQUEST_METHOD") == "OPTIONS" or "HTTP_ORIGIN" in environ:
            return ("AccessDeniedException", "the local target does not answer browsers (no CORS)")
        if _closed_path(str(environ.get("PATH_INFO", ""))):
            return (
                "AccessDeniedException",
                "moto's admin API is disabled on the tablesmith local target",
            )
        key = _access_key_id(environ)
        if key is None:
            return (
                "MissingAuthenticationTokenException",
                "the request is not signed: sign it with the local target's access key "
                "(printed by `tablesmith local serve`)",
            )
        if not hmac.compare_digest(key.encode(), self.access_key.encode()):
            return (
                "UnrecognizedClientException",
                "the security token included in the request is invalid: use the local "
                "target's access key (printed by `tablesmith local serve`)",
            )
        return None


def _closed_path(path: str) -> bool:
    """Is ``path`` one of moto's own endpoints, however it is spelt (//, /./, %2F, case)?"""
    slashed = re.sub(r"/+", "/", "/" + unquote(path).replace("\\", "/"))
    normal = posixpath.normpath(slashed).lower()  # normpath alone keeps a leading "//"
    return normal.startswith(_CLOSED_PREFIXES)


def _access_key_id(environ: dict[str, Any]) -> str | None:
    """The access key ID a request was signed with (header, or a presigned URL's query)."""
    authorization = str(environ.get("HTTP_AUTHORIZATION", ""))
    if authorization:
        if not authorization.startswith("AWS4-HMAC-SHA256 "):
            return ""  # SigV2 and other schemes: not ours
        match = _CREDENTIAL.search(authorization)
        return match.group(1) if match else ""
    query = parse_qs(str(environ.get("QUERY_STRING", "")))
    credential = query.get("X-Amz-Credential")
    if credential:
        return credential[0].split("/", 1)[0]
    return None


def _refuse(
    environ: dict[str, Any], start_response: Callable[..., Any], code: str, message: str
) -> Iterable[bytes]:
    request_id = str(uuid.uuid4())
    content_type = str(environ.get("CONTENT_TYPE", ""))
    if content_type.startswith("application/x-www-form-urlencoded"):
        # the query protocol (IAM, STS, CloudWatch, SNS) reads errors from XML
        body = (
            "<ErrorResponse><Error><Type>Sender</Type>"
            f"<Code>{_query_code(code)}</Code><Message>{_xml(message)}</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>"
        ).encode()
        headers = [("Content-Type", "text/xml")]
    else:
        body = json.dumps(
            {"__type": f"com.amazon.coral.service#{code}", "message": message}
        ).encode()
        headers = [("Content-Type", "application/x-amz-json-1.0"), ("x-amzn-ErrorType", code)]
    start_response(
        "403 Forbidden",
        [*headers, ("x-amzn-RequestId", request_id), ("Content-Length", str(len(body)))],
    )
    return [body]


def _query_code(code: str) -> str:
    """The query protocol's name for the same refusal (as IAM and STS spell it)."""
    return {
        "UnrecognizedClientException": "InvalidClientTokenId",
        "MissingAuthenticationTokenException": "MissingAuthenticationToken",
        "InvalidSignatureException": "SignatureDoesNotMatch",
    }.get(code, code)


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
