"""Request bodies and expected responses: the environment's load_testing.test_cases or a file.

A case is ``{"name", "request", "response"?}``; ``request`` is JSON (sent as application/json) or a
string sent as it is. A file may hold a list of cases, ``{"test_cases": [...]}`` or the original
tester message ``{"Config": ..., "TestData": [...]}``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrator.errors import UsageError


@dataclass(frozen=True)
class Case:
    name: str
    body: bytes
    content_type: str = "application/json"
    expected: dict[str, Any] | None = None


def from_dicts(items: list[Any], source: str) -> list[Case]:
    if not isinstance(items, list) or not items:
        raise UsageError(f"{source}: expected a non-empty list of test cases")
    cases = []
    for i, item in enumerate(items):
        if not isinstance(item, dict) or "request" not in item:
            raise UsageError(f"{source}: case [{i}] needs a 'request'")
        name = str(item.get("name") or item.get("id") or f"case-{i + 1}")
        request = item["request"]
        if isinstance(request, str):
            body, content_type = request.encode(), str(item.get("content_type", "text/plain"))
        else:
            body = json.dumps(request, separators=(",", ":")).encode()
            content_type = str(item.get("content_type", "application/json"))
        expected = item.get("response")
        cases.append(Case(name, body, content_type, expected if isinstance(expected, dict) else None))
    names = [c.name for c in cases]
    if len(set(names)) != len(names):
        raise UsageError(f"{source}: case names must be unique, got {names}")
    return cases


def load_file(path: str | Path) -> list[Case]:
    p = Path(path)
    try:
        data = json.loads(p.read_text())
    except OSError as exc:
        raise UsageError(f"--cases {p}: {exc.strerror}") from None
    except ValueError as exc:
        raise UsageError(f"--cases {p}: not JSON ({exc})") from None
    if isinstance(data, dict):
        data = data.get("test_cases", data.get("TestData"))
    return from_dicts(data, f"--cases {p}")


def from_environment(data: dict[str, Any]) -> list[Case]:
    items = data.get("load_testing", {}).get("test_cases") or []
    return from_dicts(items, "load_testing.test_cases")
