"""HTTP/1.1 for a model instance's container port: `GET /ping` and `POST /invocations`.

A SageMaker serving container answers the platform on port 8080 (sagemaker-contract.md, "Serving
container contract"). Locally every instance listens on its own loopback port and its worker processes
share that listening socket, each answering on its own event loop (worker.py): no front-end hop, so a
request costs one process wake-up instead of three.

Standard library only: this module runs inside the worker, next to the user's code (worker.py loads it
by file path, never through the orchestrator package). It parses requests incrementally, one parser
per connection, with keep-alive, pipelining, `Content-Length` or chunked bodies, `Expect: 100-continue`
and hard limits on header and body sizes.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import NamedTuple

MAX_HEADER_BYTES = 64 * 1024
MAX_BODY_BYTES = 6 * 1024 * 1024  # SageMaker's real-time payload limit

CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


class HttpRequest(NamedTuple):
    method: str
    path: str
    headers: dict[str, str]  # lower-case names; a repeated header keeps its last value
    body: bytes
    keep_alive: bool


class HttpError(Exception):
    """A request this server refuses; the connection is closed after the answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _parse_head(head: bytes) -> tuple[str, str, str, dict[str, str]]:
    try:
        text = head.decode("latin-1")
    except UnicodeDecodeError:  # pragma: no cover - latin-1 decodes every byte
        raise HttpError(400, "Malformed request head.") from None
    lines = text.split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise HttpError(400, f"Malformed request line: {lines[0][:100]!r}.")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():
            raise HttpError(400, f"Malformed header line: {line[:100]!r}.")
        headers[name.lower()] = value.strip()
    return parts[0], parts[1], parts[2], headers


def _dechunk(buf: bytearray, start: int) -> tuple[bytes, int] | None:
    """A chunked body starting at `start`: (body, end offset), or None while incomplete."""
    pos, size = start, 0
    parts: list[bytes] = []
    while True:
        eol = buf.find(b"\r\n", pos)
        if eol < 0:
            if len(buf) - pos > 1024:
                raise HttpError(400, "Malformed chunk size line.")
            return None
        line = bytes(buf[pos:eol]).split(b";", 1)[0].strip()
        try:
            n = int(line, 16)
        except ValueError:
            raise HttpError(400, "Malformed chunk size line.") from None
        if n < 0:
            raise HttpError(400, "Malformed chunk size line.")
        size += n
        if size > MAX_BODY_BYTES:
            raise HttpError(413, f"Request body is larger than {MAX_BODY_BYTES} bytes.")
        pos = eol + 2
        if n == 0:  # trailers, then an empty line
            while True:
                eol = buf.find(b"\r\n", pos)
                if eol < 0:
                    return None
                if eol == pos:
                    return b"".join(parts), eol + 2
                pos = eol + 2
        if len(buf) < pos + n + 2:
            return None
        if buf[pos + n : pos + n + 2] != b"\r\n":
            raise HttpError(400, "Malformed chunk: missing CRLF after the data.")
        parts.append(bytes(buf[pos : pos + n]))
        pos += n + 2


class RequestParser:
    """Incremental request parser for one connection's byte stream."""

    __slots__ = ("_continue_sent", "buf")

    def __init__(self) -> None:
        self.buf = bytearray()
        self._continue_sent = False

    def feed(self, data: bytes) -> None:
        self.buf += data

    @property
    def partial(self) -> bool:
        """Bytes of a message that is not complete yet are buffered (more is on its way)."""
        return bool(self.buf)

    def next_request(self) -> tuple[HttpRequest | None, bool]:
        """(the next complete request or None, whether a `100 Continue` is owed now).

        Raises HttpError for a request that cannot be served; the stream cannot be resynchronised.
        """
        buf = self.buf
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            if len(buf) > MAX_HEADER_BYTES:
                raise HttpError(431, f"Request header is larger than {MAX_HEADER_BYTES} bytes.")
            return None, False
        if end > MAX_HEADER_BYTES:
            raise HttpError(431, f"Request header is larger than {MAX_HEADER_BYTES} bytes.")
        method, path, version, headers = _parse_head(bytes(buf[:end]))
        connection = headers.get("connection", "").lower()
        keep_alive = "close" not in connection if version == "HTTP/1.1" else "keep-alive" in connection
        start = end + 4
        if "chunked" in headers.get("transfer-encoding", "").lower():
            done = _dechunk(buf, start)
            if done is None:
                return None, self._owe_continue(headers)
            body, stop = done
        else:
            raw = headers.get("content-length", "0")
            if not raw.isdigit():
                raise HttpError(400, f"Invalid Content-Length: {raw[:40]!r}.")
            length = int(raw)
            if length > MAX_BODY_BYTES:
                raise HttpError(413, f"Request body is larger than {MAX_BODY_BYTES} bytes.")
            stop = start + length
            if len(buf) < stop:
                return None, self._owe_continue(headers)
            body = bytes(buf[start:stop])
        del buf[:stop]
        self._continue_sent = False
        return HttpRequest(method, path.split("?", 1)[0], headers, body, keep_alive), False

    def _owe_continue(self, headers: dict[str, str]) -> bool:
        if self._continue_sent or headers.get("expect", "").lower() != "100-continue":
            return False
        self._continue_sent = True
        return True


def response(status: int, content_type: str, body: bytes, keep_alive: bool = True, extra: tuple[tuple[str, str], ...] = ()) -> bytes:
    """One complete HTTP/1.1 response."""
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = "Unknown"
    head = [f"HTTP/1.1 {status} {reason}", f"Content-Type: {_header_value(content_type)}", f"Content-Length: {len(body)}"]
    head.extend(f"{k}: {_header_value(v)}" for k, v in extra)
    if not keep_alive:
        head.append("Connection: close")
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1", "replace") + body


def _header_value(value: str) -> str:
    """A value a handler chose, made safe for a header line (no CR/LF: no response splitting)."""
    if "\r" in value or "\n" in value:
        return value.replace("\r", " ").replace("\n", " ")
    return value


PING_OK = response(200, "application/json", b'{"status": "Healthy"}\n')
PING_OK_HEAD = PING_OK[: PING_OK.index(b"\r\n\r\n") + 4]  # HEAD: the same head, no body
