"""What goes on the wire, as plain data: the target URL, pre-rendered request bytes, the Target.

No I/O and no third-party imports here, so verbs that only resolve targets (trigger-tests,
test-results) stay light; the client itself is :mod:`orchestrator.loadtest.client`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Url:
    scheme: str
    host: str
    port: int
    path: str  # path + query, as sent on the request line

    @property
    def tls(self) -> bool:
        return self.scheme == "https"

    @property
    def host_header(self) -> str:
        default = 443 if self.tls else 80
        return self.host if self.port == default else f"{self.host}:{self.port}"


def parse_url(url: str) -> Url:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {url!r}")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Url(parts.scheme, parts.hostname, port, path)


def render_request(url: Url, body: bytes, headers: dict[str, str], method: str = "POST") -> bytes:
    """The request bytes, sent as they are for every repetition (headers must not vary per request)."""
    lines = [f"{method} {url.path} HTTP/1.1", f"Host: {url.host_header}", f"Content-Length: {len(body)}"]
    skip = {"host", "content-length"}
    lines += [f"{k}: {v}" for k, v in headers.items() if k.lower() not in skip]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


@dataclass
class Target:
    """Where to send and what: ``render()`` returns the request bytes of every case.

    ``render`` is called at the start and, when ``refresh_sec`` is set, again that often (SigV4
    signatures carry a timestamp and expire after a few minutes).
    """

    url: str
    render: Callable[[], list[bytes]]
    case_names: list[str]
    expected: list[dict[str, Any] | None]
    refresh_sec: float | None = None
    kind: str = "url"
    description: str = ""
