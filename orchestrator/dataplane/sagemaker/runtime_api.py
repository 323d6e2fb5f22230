"""The SageMaker runtime API (InvokeEndpoint) over HTTP, for boto3's `sagemaker-runtime` client.

Point boto3 at it with `AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME=http://127.0.0.1:<port>` (any SigV4
signature is accepted: this is a local emulator). Routes:
  * `POST /endpoints/{EndpointName}/invocations` — InvokeEndpoint;
  * `GET /ping` — 200 while the runtime runs;
  * `GET /endpoints/{EndpointName}/ping` — 200 while every variant has a live worker, else 503.

Why a raw protocol: the front end is the only single-threaded part of the data plane, so it is
asyncio + httptools with no framework in between, TCP_NODELAY on every connection (a Nagle/delayed-ACK
stall costs ~40 ms per response otherwise), responses built as one bytes object, one write each.

Error model (rest-json: header `x-amzn-ErrorType`, JSON body with `message`):
  * 400 ValidationError — unknown endpoint, unknown TargetVariant, body > 6 MiB, bad header sizes;
  * 424 ModelError — the container answered non-2xx: `Received client error (4xx) from primary with
    message "<body>"` or `Received server error (5xx) ...`, plus OriginalStatusCode, OriginalMessage and
    LogStreamArn; or it did not answer within 60 s, SageMaker's limit (or SAGEMAKER_MODEL_SERVER_TIMEOUT
    if shorter): invocation timed out;
  * 429 ModelNotReadyException — the endpoint is still being created;
  * 503 ServiceUnavailable — the instance's bounded queue is full;
  * 500 InternalFailure — a bug of ours.
Success: the model's body and Content-Type, `x-Amzn-Invoked-Production-Variant`, and
`X-Amzn-SageMaker-Custom-Attributes` when the model set it (the request's own are never echoed: "if your
code does not set this value in the response, an empty value is returned").
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
import socket
import time
from collections import deque
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

import httptools

from orchestrator.dataplane.sagemaker.endpoint_manager import UnknownVariant
from orchestrator.dataplane.sagemaker.instance import STATUS_TIMEOUT, Invocation

if TYPE_CHECKING:
    from orchestrator.dataplane.sagemaker.endpoint_manager import EndpointManager, LiveEndpoint, LiveVariant

log = logging.getLogger(__name__)

MAX_PAYLOAD_BYTES = 6 * 1024 * 1024  # 6,291,456
MAX_CUSTOM_ATTRIBUTES = 1024
MAX_INFERENCE_ID = 64

_REASONS = {
    200: b"OK",
    400: b"Bad Request",
    404: b"Not Found",
    424: b"Failed Dependency",
    429: b"Too Many Requests",
    500: b"Internal Server Error",
    503: b"Service Unavailable",
}
_WANTED = {
    b"content-type": 0,
    b"accept": 1,
    b"x-amzn-sagemaker-custom-attributes": 2,
    b"x-amzn-sagemaker-inference-id": 3,
    b"x-amzn-sagemaker-target-variant": 4,
}
# the casings clients actually send, so the common case skips bytes.lower()
_WANTED.update({k.title(): v for k, v in _WANTED.items()})
_WANTED.update({b"Content-Type": 0, b"Accept": 1, b"X-Amzn-SageMaker-Custom-Attributes": 2,
                b"X-Amzn-SageMaker-Inference-Id": 3, b"X-Amzn-SageMaker-Target-Variant": 4})
_IGNORED = frozenset({b"Host", b"host", b"Content-Length", b"content-length", b"User-Agent", b"Authorization",
                      b"X-Amz-Date", b"Accept-Encoding", b"Connection", b"amz-sdk-invocation-id", b"amz-sdk-request",
                      b"X-Amz-Security-Token"})
_CONTROL = b"/_dataplane/"
_PREFIX = b"/endpoints/"
_SUFFIX = b"/invocations"


def _clean(value: str) -> str:
    if "\r" in value or "\n" in value:
        return value.replace("\r", " ").replace("\n", " ")
    return value


class _Call(Invocation):
    """An InvokeEndpoint in flight: the invocation plus where its answer goes."""

    __slots__ = ("capture", "conn", "endpoint", "keep_alive", "slot", "t_start", "variant")

    # Set by RuntimeServer.invoke right after construction (slots: declarations only, no class values).
    conn: _Connection
    slot: list[Any]  # the connection's place for this answer in its pipeline
    variant: LiveVariant
    endpoint: LiveEndpoint
    t_start: float  # perf_counter() when invoke() began
    keep_alive: bool
    capture: bool  # sampled for data capture: pending until finish() or cancel()


class RuntimeServer:
    """Serves InvokeEndpoint for the endpoints of an EndpointManager."""

    def __init__(self, manager: EndpointManager, *, account_id: str = "123456789012", region: str = "us-east-1") -> None:
        self.manager = manager
        self.account_id = account_id
        self.region = region
        self.arriving = 0  # HTTP messages begun but not yet fully read: the batching hint
        # handler of /_dataplane/* (apply/delete/describe when the runtime runs in its own process)
        # (a coroutine function: its calls become tasks on the server's loop)
        self.control: Callable[[str, str, bytes], Coroutine[Any, Any, tuple[int, bytes]]] | None = None
        self.server: asyncio.base_events.Server | None = None
        self._ids = itertools.count(1)
        self._id_prefix = os.urandom(4).hex()
        self._id_prefix_b = self._id_prefix.encode()

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> tuple[str, int]:
        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(lambda: _Connection(self), host, port, backlog=1024, reuse_address=True)
        sockname = self.server.sockets[0].getsockname()
        return sockname[0], sockname[1]

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()

    def request_id(self) -> str:
        n = next(self._ids)
        return f"{self._id_prefix}-0000-4000-8000-{n:012x}"

    # -- responses --------------------------------------------------------------------------------
    def response(self, status: int, body: bytes, headers: list[tuple[str, str]], keep_alive: bool) -> bytes:
        lines = [b"HTTP/1.1 %d %s\r\n" % (status, _REASONS.get(status, b"Error"))]
        for k, v in headers:
            lines.append(f"{k}: {_clean(v)}\r\n".encode())
        lines.append(b"x-amzn-RequestId: %s\r\nContent-Length: %d\r\n" % (self.request_id().encode(), len(body)))
        if not keep_alive:
            lines.append(b"Connection: close\r\n")
        lines.append(b"\r\n")
        lines.append(body)
        return b"".join(lines)

    def success(self, variant: str, content_type: str, body: bytes, custom_attributes: str, keep_alive: bool) -> bytes:
        """The 200 answer, built with one formatting operation (the hot path)."""
        n = next(self._ids)
        extra = b"X-Amzn-SageMaker-Custom-Attributes: %s\r\n" % _clean(custom_attributes).encode() if custom_attributes else b""
        return b"HTTP/1.1 200 OK\r\nContent-Type: %s\r\nx-Amzn-Invoked-Production-Variant: %s\r\n%sx-amzn-RequestId: %s-0000-4000-8000-%012x\r\nContent-Length: %d\r\n%s\r\n%s" % (
            _clean(content_type).encode() if content_type else b"application/octet-stream",
            variant.encode(),
            extra,
            self._id_prefix_b,
            n,
            len(body),
            b"" if keep_alive else b"Connection: close\r\n",
            body,
        )

    def error(self, status: int, error_type: str, message: str, keep_alive: bool, **extra: Any) -> bytes:
        body = json.dumps({**extra, "message": message}).encode()
        return self.response(
            status, body, [("Content-Type", "application/json"), ("x-amzn-ErrorType", error_type)], keep_alive
        )

    def ping(self, name: str, keep_alive: bool) -> bytes:
        """GET /endpoints/<name>/ping: 200 while every variant has a live worker (the containers' /ping)."""
        ep = self.manager.endpoints.get(name)
        if ep is None:
            return self.error(404, "ValidationError", f"Endpoint {name} of account {self.account_id} not found.", keep_alive)
        workers = {v.name: sum(i.healthy_workers for i in v.instances) for v in ep.variants}
        healthy = all(workers.values())
        body = json.dumps({"status": "Healthy" if healthy else "Unhealthy", "workers": workers}).encode()
        return self.response(200 if healthy else 503, body, [("Content-Type", "application/json")], keep_alive)

    def log_stream_arn(self, endpoint: str) -> str:
        return f"arn:aws:logs:{self.region}:{self.account_id}:log-group:/aws/sagemaker/Endpoints/{endpoint}"

    # -- InvokeEndpoint ---------------------------------------------------------------------------
    def invoke(self, conn: _Connection, slot: list[Any], name: str, headers: list[str], body: bytes, size: int, keep_alive: bool) -> None:
        t_start = time.perf_counter()
        ep = self.manager.endpoints.get(name)
        if ep is None:
            state = self.manager.states.get(name)
            if state is not None and state.status == "Creating":
                conn.answer(slot, self.error(429, "ModelNotReadyException", f"Endpoint {name} is not ready yet; it is being created.", keep_alive))
            else:
                conn.answer(slot, self.error(400, "ValidationError", f"Endpoint {name} of account {self.account_id} not found.", keep_alive))
            return
        content_type, accept, attrs, inference_id, target = headers
        problem = None
        if size > MAX_PAYLOAD_BYTES:
            problem = f"Request payload of {size} bytes exceeds the maximum of {MAX_PAYLOAD_BYTES} bytes (6 MB) for endpoint {name}."
        elif len(attrs) > MAX_CUSTOM_ATTRIBUTES:
            problem = f"1 validation error detected: Value at 'customAttributes' failed to satisfy constraint: Member must have length less than or equal to {MAX_CUSTOM_ATTRIBUTES}"
        elif inference_id and len(inference_id) > MAX_INFERENCE_ID:
            problem = f"1 validation error detected: Value at 'inferenceId' failed to satisfy constraint: Member must have length less than or equal to {MAX_INFERENCE_ID}"
        if problem:
            conn.answer(slot, self.error(400, "ValidationError", problem, keep_alive))
            return
        try:
            variant = ep.pick(target or None)
        except UnknownVariant:
            conn.answer(
                slot,
                self.error(400, "ValidationError", f"Variant {target} not found for endpoint {name} of account {self.account_id}.", keep_alive),
            )
            return
        call = _Call(content_type, accept, attrs, inference_id, body, _complete)
        call.conn, call.slot, call.variant, call.endpoint = conn, slot, variant, ep
        call.t_start, call.keep_alive = t_start, keep_alive
        call.capture = ep.capture is not None and ep.capture.begin()  # pending until finish/cancel
        if not variant.pick_instance().submit(call):
            if call.capture and ep.capture is not None:
                ep.capture.cancel()
            variant.counters.observe(None, (time.perf_counter() - t_start) * 1e6)
            variant.counters.error(None, 503)
            conn.answer(slot, self.error(503, "ServiceUnavailable", "The model server is overloaded: its request queue is full. Try your call again.", keep_alive))


def _complete(inv: Invocation, status: int, content_type: str, body: bytes) -> None:
    """An instance answered (or gave up on) a call: build the HTTP answer, count it, capture it."""
    call: _Call = inv  # type: ignore[assignment]
    t_end = time.perf_counter()
    variant: LiveVariant = call.variant
    endpoint: LiveEndpoint = call.endpoint
    server = call.conn.server
    model_us = (t_end - call.t_submit) * 1e6
    counters = variant.counters
    counters.observe(model_us, max(0.0, (t_end - call.t_start) * 1e6 - model_us))
    if 200 <= status < 300:
        call.conn.answer(call.slot, server.success(variant.name, content_type, body, call.response_attributes, call.keep_alive))
        if call.capture and endpoint.capture is not None:
            endpoint.capture.finish(variant.name, call.content_type, call.body, content_type, body, call.inference_id)
        return
    if call.capture and endpoint.capture is not None:
        endpoint.capture.cancel()  # sampled, but there is no model answer to capture
    if status == STATUS_TIMEOUT:
        counters.error(500, 424)
        message = (
            "Your invocation timed out while waiting for a response from container primary. Review the latency "
            "metrics for each container in Amazon CloudWatch, resolve the issue, and try again."
        )
        call.conn.answer(call.slot, server.error(424, "ModelError", message, call.keep_alive, ErrorCode="INVOCATION_TIMEOUT",
                                                 LogStreamArn=server.log_stream_arn(endpoint.name)))
        return
    counters.error(status, 424)
    text = body.decode("utf-8", errors="replace")
    kind = "client" if 400 <= status < 500 else "server"
    message = f'Received {kind} error ({status}) from primary with message "{text}". See {server.log_stream_arn(endpoint.name)} for more information.'
    call.conn.answer(
        call.slot,
        server.error(
            424,
            "ModelError",
            message,
            call.keep_alive,
            ErrorCode=f"{kind.upper()}_ERROR_FROM_MODEL",
            OriginalStatusCode=status,
            OriginalMessage=text,
            LogStreamArn=server.log_stream_arn(endpoint.name),
        ),
    )


class _Connection(asyncio.Protocol):
    """One client connection: httptools parsing, in-order answers (HTTP/1.1 pipelining safe)."""

    def __init__(self, server: RuntimeServer) -> None:
        self.server = server
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.pending: deque[list[Any]] = deque()
        self.url = b""
        self.headers: list[str] = ["", "", "", "", ""]
        self.body: list[bytes] = []
        self.size = 0
        self.in_message = False
        self.closed = False

    # -- transport --------------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        sock = transport.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.in_message:
            self.in_message = False
            self.server.arriving -= 1

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._fail(400, "upgrade is not supported")
        except httptools.HttpParserError as exc:
            self._fail(400, f"malformed HTTP request: {exc}")

    def _fail(self, status: int, message: str) -> None:
        if self.transport is not None and not self.closed:
            self.transport.write(self.server.error(status, "ValidationError", message, False))
            self.transport.close()
        self.closed = True

    # -- httptools callbacks ----------------------------------------------------------------------
    def on_message_begin(self) -> None:
        self.url = b""
        self.headers = ["", "", "", "", ""]
        self.body = []
        self.size = 0
        self.in_message = True
        self.server.arriving += 1

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        i = _WANTED.get(name)
        if i is None:
            if name in _IGNORED:
                return
            i = _WANTED.get(name.lower())
            if i is None:
                return
        self.headers[i] = value.decode("latin-1")

    def on_body(self, body: bytes) -> None:
        self.size += len(body)
        if self.size <= MAX_PAYLOAD_BYTES:
            self.body.append(body)

    def on_message_complete(self) -> None:
        self.in_message = False
        server = self.server
        server.arriving -= 1
        keep_alive = self.parser.should_keep_alive()
        slot: list[Any] = [None, keep_alive]
        self.pending.append(slot)
        url = self.url
        method = self.parser.get_method()
        try:
            q = url.find(b"?")
            if q >= 0:
                url = url[:q]
            if method == b"POST" and url.startswith(_PREFIX) and url.endswith(_SUFFIX):
                raw = url[len(_PREFIX) : -len(_SUFFIX)]
                name = unquote(raw.decode("latin-1")) if b"%" in raw else raw.decode("latin-1")
                body = self.body[0] if len(self.body) == 1 else b"".join(self.body)
                server.invoke(self, slot, name, self.headers, body, self.size, keep_alive)
            elif url.startswith(_CONTROL) and server.control is not None:
                body = b"".join(self.body)
                task = asyncio.get_running_loop().create_task(server.control(method.decode(), url.decode("latin-1"), body))
                task.add_done_callback(lambda t: self._control_done(t, slot, keep_alive))
            elif method == b"GET" and url == b"/ping":
                self.answer(slot, server.response(200, b"", [], keep_alive))
            elif method == b"GET" and url.startswith(_PREFIX) and url.endswith(b"/ping"):
                self.answer(slot, server.ping(url[len(_PREFIX) : -5].decode("latin-1"), keep_alive))
            else:
                self.answer(slot, server.error(404, "UnknownOperationException", f"No route for {method.decode()} {url.decode('latin-1')}", keep_alive))
        except Exception as exc:  # answer, never hang the client
            log.exception("runtime API failure")
            if slot[0] is None:
                self.answer(slot, server.error(500, "InternalFailure", f"An internal failure occurred: {exc}", keep_alive))

    def _control_done(self, task: asyncio.Task[tuple[int, bytes]], slot: list[Any], keep_alive: bool) -> None:
        server = self.server
        try:
            status, body = task.result()
        except Exception as exc:
            log.exception("data-plane control request failed")
            self.answer(slot, server.error(500, "InternalFailure", f"control request failed: {exc}", keep_alive))
            return
        self.answer(slot, server.response(status, body, [("Content-Type", "application/json")], keep_alive))

    def answer(self, slot: list[Any], data: bytes) -> None:
        """Record the answer of `slot`; write every answer that is now at the head, in order."""
        slot[0] = data
        pending = self.pending
        if self.closed:
            pending.clear()
            return
        transport = self.transport
        while pending and pending[0][0] is not None:
            out, keep_alive = pending.popleft()
            transport.write(out)  # type: ignore[union-attr]
            if not keep_alive:
                transport.close()  # type: ignore[union-attr]
                self.closed = True
                pending.clear()
                return
