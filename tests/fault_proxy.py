"""A fault-injecting HTTP proxy for the tests, in front of a local AWS endpoint.

    with FaultProxy("http://127.0.0.1:PORT", rate=0.2, seed=7) as proxy:
        ...point boto3 / tablesmith at proxy.url...
    proxy.injected  # Counter: fault kind -> how many were injected

Each request gets, with probability ``rate``, one fault of one of these kinds (``KINDS``):

``throttle``
    400 with the protocol's throttling error, as AWS answers: DynamoDB's
    ``ThrottlingException`` or ``ProvisionedThroughputExceededException``, AWS Backup's
    ``ThrottlingException``, IAM's and STS's ``Throttling``, CloudWatch's
    ``ThrottlingException``. The request never reaches the target.
``error500``
    500 ``InternalFailure`` (``ServiceUnavailable`` for the query protocol); not forwarded.
``slow``
    forwarded after a delay of ``slow_seconds`` (answered normally, late).
``lost_drop``
    forwarded, the call takes effect, then the connection is closed without an answer.
``lost_500``
    forwarded, the call takes effect, then a 500 is answered instead of the real answer.

The two ``lost_*`` kinds are the ones a client cannot tell from a call that never happened:
its SDK retries them, and the retry meets the effect of the first attempt.

The error body follows the request's protocol, read from the request itself: the
``smithy-protocol: rpc-v2-cbor`` header (CloudWatch, the tagging API), an
``application/x-amz-json-1.x`` body (DynamoDB, KMS), a form-encoded body (the query protocol:
IAM, STS), and otherwise REST-JSON (AWS Backup). botocore parses them as it parses AWS's.

Decisions are seeded and do not depend on the order in which concurrent requests arrive: the
n-th identical request (method, path, target, body) draws from ``Random(seed, request, n)``.
``lose_first`` (a predicate on the operation name, e.g. ``is_mutating``) instead loses the
answer of the first attempt of every matching request, and of nothing else: every create is
then retried into the effect of its first attempt.
The proxy binds 127.0.0.1 only, on the port given (0: one the kernel picks), and rewrites
``Host`` to the target's, which the local target's gate requires.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import random
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from collections.abc import Callable

KINDS = ("throttle", "error500", "slow", "lost_drop", "lost_500")
# hop-by-hop headers (RFC 9110 7.6.1) and those the proxy recomputes
_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "transfer-encoding",
        "te",
        "trailer",
        "upgrade",
        "host",
        "content-length",
    }
)


class FaultProxy:
    """A threaded HTTP proxy on 127.0.0.1 that injects seeded faults; a context manager."""

    def __init__(
        self,
        target: str,
        *,
        rate: float = 0.2,
        seed: int = 0,
        port: int = 0,
        kinds: tuple[str, ...] = KINDS,
        slow_seconds: float = 0.3,
        lose_first: Callable[[str], bool] | None = None,
    ) -> None:
        parts = urlsplit(target)
        if parts.hostname != "127.0.0.1" or parts.port is None:
            raise ValueError(f"the proxy forwards to 127.0.0.1:<port> only, not {target!r}")
        unknown = set(kinds) - set(KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds: {sorted(unknown)}")
        self.target_port = parts.port
        self.rate = rate
        self.seed = seed
        self.kinds = kinds
        self.slow_seconds = slow_seconds
        self.lose_first = lose_first
        self.injected: Counter[str] = Counter()  # fault kind -> how many
        self.requests = 0  # every request the proxy received
        self.faulted_operations: Counter[str] = Counter()  # "lost_drop DynamoDB.CreateTable"
        self._seen: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), _handler_class(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The proxy's endpoint URL."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> FaultProxy:
        self._thread = threading.Thread(
            target=self._server.serve_forever, daemon=True, name="fault-proxy"
        )
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        if self._thread is not None:  # shutdown() would wait forever for a loop never run
            self._server.shutdown()
            self._thread.join(10)
        self._server.server_close()

    def decide(
        self, method: str, path: str, operation: str, body: bytes
    ) -> tuple[str | None, random.Random]:
        """The fault for this request (None: none), counted, and the request's own draw."""
        digest = hashlib.sha256(
            b"\0".join((method.encode(), path.encode(), operation.encode(), body))
        ).hexdigest()
        with self._lock:
            self.requests += 1
            self._seen[digest] += 1
            nth = self._seen[digest]
        draw = random.Random(f"{self.seed}:{digest}:{nth}")
        if self.lose_first is not None:
            if nth > 1 or not self.lose_first(operation):
                return None, draw
            kind = draw.choice(("lost_drop", "lost_500"))
        elif draw.random() >= self.rate:
            return None, draw
        else:
            kind = draw.choice(self.kinds)
        with self._lock:
            self.injected[kind] += 1
            self.faulted_operations[f"{kind} {operation}"] += 1
        return kind, draw

    @property
    def total_injected(self) -> int:
        """How many faults were injected, of every kind."""
        return sum(self.injected.values())


def _handler_class(proxy: FaultProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(_Handler):
        owner = proxy

    return Handler


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as botocore's connection pool expects
    owner: FaultProxy

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the tests read the counters, not a request log."""

    def do_GET(self) -> None:
        self._proxy()

    do_PUT = do_POST = do_DELETE = do_HEAD = do_PATCH = do_GET

    def _proxy(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        protocol = _protocol(self.headers)
        operation = _operation(self.command, self.path, self.headers, body)
        fault, draw = self.owner.decide(self.command, self.path, operation, body)
        if fault == "throttle":
            # DynamoDB answers either, depending on what was throttled (control or data plane)
            code = (
                "ThrottlingException"
                if draw.random() < 0.5 or not operation.startswith("DynamoDB.")
                else "ProvisionedThroughputExceededException"
            )
            self._answer(*_error(protocol, code))
            return
        if fault == "error500":
            self._answer(*_error(protocol, None))
            return
        if fault == "slow":
            time.sleep(self.owner.slow_seconds)
        status, headers, answer = self._forward(body)
        if fault == "lost_drop":
            self.close_connection = True  # the call took effect; its answer never leaves
            return
        if fault == "lost_500":
            self._answer(*_error(protocol, None))
            return
        self._answer(status, headers, answer)

    def _forward(self, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.owner.target_port, timeout=120)
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
            headers["Host"] = f"127.0.0.1:{self.owner.target_port}"
            headers["Content-Length"] = str(len(body))
            connection.request(self.command, self.path, body=body, headers=headers)
            response = connection.getresponse()
            answer = response.read()
            kept = [(k, v) for k, v in response.getheaders() if k.lower() not in _HOP]
            return response.status, kept, answer
        finally:
            connection.close()

    def _answer(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.send_response(status)
        for key, value in headers:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


# ------------------------------------------------------------------------ AWS-shaped errors


_READS = ("Describe", "List", "Get", "Query", "Scan", "BatchGet")


def is_mutating(operation: str) -> bool:
    """Does the request (named as the proxy names it) change anything?"""
    if operation.startswith(("GET ", "HEAD ")):
        return False
    name = operation.rsplit(".", 1)[-1].split(" ", 1)[0]
    return not name.startswith(_READS)


def _protocol(headers: Any) -> str:
    """ "cbor", "json", "query" or "rest-json", from what the request itself says."""
    if str(headers.get("smithy-protocol", "")).lower() == "rpc-v2-cbor":
        return "cbor"
    content_type = str(headers.get("Content-Type", "")).lower()
    if content_type.startswith("application/x-amz-json-"):
        return "json"
    if content_type.startswith("application/x-www-form-urlencoded"):
        return "query"
    return "rest-json"


def _operation(method: str, path: str, headers: Any, body: bytes) -> str:
    """A name for the request: the JSON target, the query Action, the CBOR path, or the REST
    method and path (for the counters, and part of what the seeded decision is drawn for)."""
    target = headers.get("X-Amz-Target")
    if target:
        return str(target).replace("_20120810", "")
    if path.startswith("/service/"):  # rpc-v2-cbor: /service/{service}/operation/{operation}
        return path.split("/service/", 1)[1].replace("/operation/", ".")
    if body and b"Action=" in body:
        for field in body.split(b"&"):
            if field.startswith(b"Action="):
                return field.split(b"=", 1)[1].decode()
    return f"{method} {path.split('?', 1)[0]}"


def _error(protocol: str, throttle: str | None) -> tuple[int, list[tuple[str, str]], bytes]:
    """(status, headers, body) of the throttling error ``throttle``, or with None an internal
    error, as AWS sends them in ``protocol``."""
    request_id = [("x-amzn-RequestId", "fault-proxy")]
    if protocol == "query":
        code = "Throttling" if throttle else "ServiceUnavailable"
        kind = "Sender" if throttle else "Receiver"
        xml = (
            f"<ErrorResponse><Error><Type>{kind}</Type><Code>{code}</Code>"
            f"<Message>Rate exceeded</Message></Error>"
            "<RequestId>fault-proxy</RequestId></ErrorResponse>"
        )
        return (400 if throttle else 503, [("Content-Type", "text/xml"), *request_id], xml.encode())
    if throttle:
        code, message = throttle, "Rate of requests exceeds the allowed throughput."
    else:
        code, message = "InternalFailure", "The request processing has failed."
    status = 400 if throttle else 500
    if protocol == "cbor":
        return (
            status,
            [("Content-Type", "application/cbor"), ("smithy-protocol", "rpc-v2-cbor"), *request_id],
            _cbor_map({"__type": f"com.amazonaws.fault#{code}", "message": message}),
        )
    if protocol == "json":
        body = {"__type": f"com.amazonaws.fault#{code}", "message": message}
        return (
            status,
            [("Content-Type", "application/x-amz-json-1.0"), *request_id],
            json.dumps(body).encode(),
        )
    return (
        status,
        [("Content-Type", "application/json"), ("x-amzn-ErrorType", code), *request_id],
        json.dumps({"Message": message}).encode(),
    )


def _cbor_map(fields: dict[str, str]) -> bytes:
    """A CBOR (RFC 8949) map of short text strings: all an rpc-v2-cbor error body needs."""

    def head(major: int, length: int) -> bytes:
        if length < 24:
            return bytes([major << 5 | length])
        if length < 256:
            return bytes([major << 5 | 24, length])
        return bytes([major << 5 | 25]) + length.to_bytes(2, "big")

    out = head(5, len(fields))
    for key, value in fields.items():
        for text in (key.encode(), value.encode()):
            out += head(3, len(text)) + text
    return out
