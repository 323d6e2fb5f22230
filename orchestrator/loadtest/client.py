"""A lean HTTP/1.1 keep-alive client: one asyncio protocol per connection, a pool of them.

No coroutine or future per request: a request is a pre-rendered ``bytes`` written to an idle
connection, and the response (parsed by httptools, llhttp in C) comes back through a callback.
One request per connection at a time (no pipelining), so in-flight requests = busy connections.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable
from typing import Any

import httptools

from orchestrator.loadtest.wire import Url, parse_url, render_request

# on_result(ctx, status, headers, body, error): status 0 and ``error`` set when no response came.
ResultCallback = Callable[[Any, int, dict[bytes, bytes], bytes, str | None], None]

TIMEOUT = "timeout"
CONNECTION = "connection"
__all__ = ["Connection", "Pool", "Url", "parse_url", "render_request"]


class Connection(asyncio.Protocol):
    """One keep-alive connection; the pool hands it one request at a time."""

    __slots__ = ("body", "closed", "ctx", "headers", "parser", "pool", "sent_at", "transport")

    def __init__(self, pool: Pool) -> None:
        self.pool = pool
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.ctx: Any = None
        self.headers: dict[bytes, bytes] = {}
        self.body: list[bytes] = []
        self.sent_at = 0.0
        self.closed = False

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self.fail(CONNECTION)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True  # an idle one is skipped by the pool's next pop
        if self.ctx is not None:
            self.fail(CONNECTION)

    # httptools callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers[name.lower()] = value

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        ctx, self.ctx = self.ctx, None
        if ctx is None:  # an unsolicited response: ignore it
            self.headers, self.body = {}, []
            return
        status = self.parser.get_status_code()
        headers, self.headers = self.headers, {}
        body = b"".join(self.body) if self.body else b""
        self.body = []
        keep = self.parser.should_keep_alive()
        self.pool.done(self, ctx, status, headers, body, keep)

    # pool side
    def send(self, request: bytes, ctx: Any, now: float) -> None:
        self.ctx = ctx
        self.sent_at = now
        self.transport.write(request)  # type: ignore[union-attr]

    def fail(self, error: str) -> None:
        ctx, self.ctx = self.ctx, None
        self.headers, self.body = {}, []
        if not self.closed and self.transport is not None:
            self.closed = True
            self.transport.abort()
        if ctx is not None:
            self.pool.failed(self, ctx, error)


class Pool:
    """Connections to one host. ``submit`` never waits: it writes now, or connects in the background."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        url: Url,
        on_result: ResultCallback,
        connect_timeout: float = 10.0,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.loop = loop
        self.clock = clock or loop.time
        self.url = url
        self.on_result = on_result
        self.connect_timeout = connect_timeout
        self.idle: list[Connection] = []
        self.busy: set[Connection] = set()
        self.connecting = 0
        self.connections_opened = 0
        self.ssl: ssl.SSLContext | None = ssl.create_default_context() if url.tls else None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def in_flight(self) -> int:
        return len(self.busy) + self.connecting

    def submit(self, request: bytes, ctx: Any) -> None:
        idle = self.idle
        while idle:
            conn = idle.pop()
            if not conn.closed:
                self.busy.add(conn)
                conn.send(request, ctx, self.clock())
                return
        self.connecting += 1
        task = self.loop.create_task(self._connect_and_send(request, ctx))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _connect_and_send(self, request: bytes, ctx: Any) -> None:
        try:
            _, conn = await asyncio.wait_for(
                self.loop.create_connection(
                    lambda: Connection(self),
                    self.url.host,
                    self.url.port,
                    ssl=self.ssl,
                    server_hostname=self.url.host if self.ssl else None,
                ),
                self.connect_timeout,
            )
        except TimeoutError:
            self.connecting -= 1
            self.on_result(ctx, 0, {}, b"", TIMEOUT)
            return
        except OSError:
            self.connecting -= 1
            self.on_result(ctx, 0, {}, b"", CONNECTION)
            return
        except asyncio.CancelledError:  # the pool closed before the connection was made
            self.connecting -= 1
            self.on_result(ctx, 0, {}, b"", TIMEOUT)
            raise
        self.connecting -= 1
        self.connections_opened += 1
        self.busy.add(conn)
        conn.send(request, ctx, self.clock())

    # callbacks from connections
    def done(
        self, conn: Connection, ctx: Any, status: int, headers: dict[bytes, bytes], body: bytes, keep_alive: bool
    ) -> None:
        self.busy.discard(conn)
        if keep_alive and not conn.closed:
            self.idle.append(conn)
        elif not conn.closed:
            conn.closed = True
            conn.transport.close()  # type: ignore[union-attr]
        self.on_result(ctx, status, headers, body, None)

    def failed(self, conn: Connection, ctx: Any, error: str) -> None:
        self.busy.discard(conn)
        self.on_result(ctx, 0, {}, b"", error)

    def expire(self, deadline_of: Callable[[Any], float], now: float) -> int:
        """Abort every busy connection whose request passed its deadline; returns how many."""
        expired = [c for c in self.busy if c.ctx is not None and deadline_of(c.ctx) <= now]
        for conn in expired:
            conn.fail(TIMEOUT)
        return len(expired)

    def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for conn in [*self.idle, *self.busy]:
            if not conn.closed and conn.transport is not None:
                conn.closed = True
                conn.transport.abort()
        self.idle.clear()
        self.busy.clear()
