"""One timed POST with urllib (stdlib) and the check of its JSON answer against the expected values.

The time covers the whole exchange: from just before the request is sent until the last byte of the
response body has been read (the original timed only the send).
"""

from __future__ import annotations

import http.client
import json
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Outcome:
    status: int | None  # None when no HTTP response arrived (timeout, connection refused, ...)
    elapsed_ms: float
    body: Any  # decoded JSON, or None
    error: str | None = None

    @property
    def status_ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def post(url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> Outcome:
    request = urllib.request.Request(url, data=body, headers=dict(headers), method="POST")
    started = time.perf_counter()
    try:
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as exc:  # 4xx/5xx still carry a body worth reading
            with exc:
                status, raw = exc.code, exc.read()
    except (TimeoutError, urllib.error.URLError, http.client.HTTPException, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return Outcome(None, (time.perf_counter() - started) * 1000, None, type(reason).__name__)
    elapsed_ms = (time.perf_counter() - started) * 1000
    try:
        decoded = json.loads(raw) if raw else None
    except (UnicodeDecodeError, json.JSONDecodeError):
        decoded = None
    return Outcome(status, elapsed_ms, decoded)


def _same(expected: Any, actual: Any) -> bool:
    # JSON true is not 1: Python's True == 1 would let a wrong type pass.
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(expected) is type(actual) and expected == actual
    return bool(expected == actual)


def matches(expected: Mapping[str, Any], body: Any) -> bool:
    """Every expected key is in the JSON object and has the expected value."""
    return isinstance(body, dict) and all(key in body and _same(value, body[key]) for key, value in expected.items())


def passed(outcome: Outcome, expected: Mapping[str, Any], expected_status: int | None) -> bool:
    status_as_expected = outcome.status == expected_status if expected_status is not None else outcome.status_ok
    return status_as_expected and matches(expected, outcome.body)
