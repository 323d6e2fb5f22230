"""Test cases of ``test-model``: the original tester's message format, or the four seed sentences.

File format: ``{"TestData": [{"type": ..., "resource": ..., "request": {...}, "response": {...}}]}``;
every key of ``response`` must be present with the same value in the decoded model output. A case
may carry a ``name``; otherwise it is named after its sentence.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrator.errors import UsageError

SEED_SENTENCES: tuple[tuple[str, str, int], ...] = (
    ("world", "The new president has called for an emergency conference for international cooperation.", 1),
    ("sports", "Baseball is one of the most popular sports in the United States.", 2),
    ("business", "Stock investing has higher returns in the long run.", 3),
    ("scitech", "The development of science accelerated the development of mankind.", 4),
)


@dataclass(frozen=True)
class ModelCase:
    name: str
    request: dict[str, Any]
    response: dict[str, Any]
    content_type: str = "application/json"
    accept: str = "application/json"

    def body(self) -> bytes:
        return json.dumps(self.request).encode("utf-8")


def default_cases() -> list[ModelCase]:
    return [
        ModelCase(name, {"sentence": text}, {"success": "true", "label": label}) for name, text, label in SEED_SENTENCES
    ]


def _shorten(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _case_name(entry: dict[str, Any], index: int) -> str:
    if isinstance(entry.get("name"), str) and entry["name"]:
        return str(entry["name"])
    request = entry.get("request")
    request = request if isinstance(request, dict) else {}
    text, batch = request.get("sentence"), request.get("sentences")
    if isinstance(text, str) and text:
        return _shorten(text)
    if isinstance(batch, list) and batch and isinstance(batch[0], str):
        more = f" (+{len(batch) - 1})" if len(batch) > 1 else ""
        return _shorten(batch[0], 40 - len(more)) + more
    return f"case {index}"


def parse_cases(document: Any, source: str) -> list[ModelCase]:
    """Cases from a parsed document; UsageError naming every malformed entry by JSON path."""
    entries = document.get("TestData") if isinstance(document, dict) else None
    if not isinstance(entries, list) or not entries:
        raise UsageError(
            f'{source}: expected {{"TestData": [{{"request": {{...}}, "response": {{...}}}}, ...]}} with at least one case'
        )
    problems: list[str] = []
    cases: list[ModelCase] = []
    seen: set[str] = set()
    for i, entry in enumerate(entries):
        where = f"TestData[{i}]"
        if not isinstance(entry, dict):
            problems.append(f"{where}: must be an object")
            continue
        for key in ("request", "response"):
            if not isinstance(entry.get(key), dict):
                problems.append(
                    f"{where}.{key}: must be an object" if key in entry else f"{where}.{key}: required but missing"
                )
        if isinstance(entry.get("response"), dict) and not entry["response"]:
            problems.append(f"{where}.response: must name at least one expected key")
        name = _case_name(entry, i)
        if name in seen:
            name = f"{name} #{i}"
        seen.add(name)
        if not any(p.startswith((f"{where}.", f"{where}:")) for p in problems):
            cases.append(ModelCase(name, entry["request"], entry["response"]))
    if problems:
        raise UsageError(f"{source} is invalid:\n" + "\n".join(f"  - {p}" for p in problems))
    return cases


def load_cases(path: Path) -> list[ModelCase]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"cases file {path} does not exist") from None
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    return parse_cases(document, str(path))
