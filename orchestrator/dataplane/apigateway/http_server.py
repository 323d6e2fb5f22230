"""A small HTTP/1.1 server on asyncio + httptools for the API Gateway data plane.

Why not the control plane's threaded WSGI server: each request there costs a thread hand-off and
werkzeug's parsing, which caps the API -> Lambda path far below the 1,000 requests per second the
load tests need on two cores. This server runs on the Lambda runtime's own event loop, so a request
is parsed, routed and handed to a worker pipe without leaving the loop thread.

Keep-alive and pipelining (answers in request order) are supported; bodies may be sent with
Content-Length or chunked; every answer has a Content-Length. Requests outside
``/restapis/<api>/<stage>/_user_request_/`` get 403 ``Missing Authentication Token``.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import unquote

import httptools

from orchestrator.dataplane.apigateway.proxy_event import IncomingRequest, ProxyResult

log = logging.getLogger(__name__)

Handler = Callable[[IncomingRequest], Awaitable[ProxyResult]]
MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit
_REASONS: dict[int, bytes] = {}


def _status_line(status: int, reason: Callable[[int], str]) -> bytes:
    line = _REASONS.get(status)
    if line is None:
        line = _REASONS[status] = f"HTTP/1.1 {status} {reason(status)}\r\n".encode()
    return line


class HttpProtocol(asyncio.Protocol):
    """One client connection."""

    def __init__(self, handler: Handler, reason: Callable[[int], str]) -> None:
        self._handler = handler
        self._reason = reason
        self._parser = httptools.HttpRequestParser(self)
        self._transport: asyncio.Transport | None = None
        self._peer = "127.0.0.1"
        self._url = b""
        self._headers: list[tuple[str, str]] = []
        self._body: list[bytes] = []
        self._body_size = 0
        self._pending: collections.deque[asyncio.Task[bytes]] = collections.deque()
        self._close_after: asyncio.Task[bytes] | None = None

    # -- asyncio.Protocol --------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]
        peer = transport.get_extra_info("peername")
        if peer:
            self._peer = str(peer[0])

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._reply_now(400, b'{"message":"Bad Request"}')
        except httptools.HttpParserError:
            self._reply_now(400, b'{"message":"Bad Request"}')

    # -- httptools callbacks -----------------------------------------------------------------------
    def on_message_begin(self) -> None:
        self._url = b""
        self._headers = []
        self._body = []
        self._body_size = 0

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name.decode("latin-1"), value.decode("latin-1")))

    def on_body(self, body: bytes) -> None:
        self._body_size += len(body)
        if self._body_size <= MAX_BODY_BYTES:
            self._body.append(body)

    def on_message_complete(self) -> None:
        url = httptools.parse_url(self._url)
        path = url.path.decode("latin-1") if url.path else "/"
        query = url.query.decode("latin-1") if url.query else ""
        request = IncomingRequest(
            method=self._parser.get_method().decode(),
            path=unquote(path),
            query=query,
            headers=self._headers,
            body=b"".join(self._body),
            source_ip=self._peer,
        )
        keep_alive = self._parser.should_keep_alive()
        too_large = self._body_size > MAX_BODY_BYTES
        task = asyncio.ensure_future(self._answer(request, keep_alive, too_large))
        self._pending.append(task)
        if not keep_alive:
            self._close_after = task
        task.add_done_callback(self._flush)

    # -- answers -----------------------------------------------------------------------------------
    async def _answer(self, request: IncomingRequest, keep_alive: bool, too_large: bool) -> bytes:
        if too_large:
            result = ProxyResult(413, [("Content-Type", "application/json")], b'{"message":"Request Too Long"}')
        else:
            try:
                result = await self._handler(request)
            except Exception:
                log.exception("API request failed")
                result = ProxyResult(
                    500, [("Content-Type", "application/json")], b'{"message": "Internal server error"}'
                )
        head = [_status_line(result.status, self._reason)]
        for name, value in result.headers:
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                head.append(f"{name}: {value}\r\n".encode("latin-1", "replace"))
        head.append(b"Content-Length: %d\r\n" % len(result.body))
        head.append(b"Connection: keep-alive\r\n\r\n" if keep_alive else b"Connection: close\r\n\r\n")
        return b"".join(head) + result.body

    def _flush(self, _: asyncio.Task[bytes]) -> None:
        """Write finished answers in request order (pipelining)."""
        while self._pending and self._pending[0].done():
            task = self._pending.popleft()
            if self._transport is None or task.cancelled():
                continue
            self._transport.write(task.result())
            if task is self._close_after:
                self._transport.close()
                self._pending.clear()
                return

    def _reply_now(self, status: int, body: bytes) -> None:
        if self._transport is not None:
            self._transport.write(
                _status_line(status, self._reason)
                + b"Content-Type: application/json\r\n"
                + b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body)
                + body
            )
            self._transport.close()


async def serve(handler: Handler, reason: Callable[[int], str], host: str, port: int) -> Any:
    """Start listening; returns the asyncio server (``.sockets[0].getsockname()[1]`` is the port)."""
    loop = asyncio.get_running_loop()
    return await loop.create_server(lambda: HttpProtocol(handler, reason), host, port, backlog=1024, reuse_address=True)
