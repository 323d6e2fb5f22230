"""Read environment files and resolve their ``extends`` chain into one merged document.

Objects deep-merge (the extending file wins key by key); arrays and scalars replace.
Every problem is reported as a :class:`~orchestrator.errors.Problem`; nothing raises here.
"""

from __future__ import annotations

import copy
import difflib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestrator.config.positions import json_lines
from orchestrator.errors import Problem

#: Keys that describe the file itself and never reach the merged document.
FILE_KEYS = ("$schema", "extends")


@dataclass
class MergedDocument:
    """The merged document of a file and its bases (``data`` is None when a file could not be read)."""

    data: dict[str, Any] | None
    files: list[Path] = field(default_factory=list)  # the chain, most derived first
    problems: list[Problem] = field(default_factory=list)
    #: which file last set each object key (arrays are set as a whole): path parts -> file
    provenance: dict[tuple[str | int, ...], Path] = field(default_factory=dict)
    #: line numbers of keys and array items, per file
    lines: dict[Path, dict[tuple[str | int, ...], int]] = field(default_factory=dict)

    def origin(self, parts: list[str | int]) -> Path | None:
        """The file that set the value at ``parts`` (or its closest set ancestor)."""
        for end in range(len(parts), 0, -1):
            found = self.provenance.get(tuple(parts[:end]))
            if found is not None:
                return found
        return None


def display_path(path: Path, root: Path) -> str:
    """``environments/local.json`` when under the project root, else the path as given."""
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)


def read_json_file(path: Path, label: str = "", lines: dict[Path, Any] | None = None) -> tuple[Any, list[Problem]]:
    """Parse one JSON file; a syntax error becomes a problem with line and column.

    ``label`` prefixes messages (``environments/base.json: ...``); empty for the file being validated,
    which the error's header already names."""
    where = f"{label}: " if label else ""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, [Problem("", f"{where}file not found")]
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Problem("", f"{where}cannot read ({exc})")]
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        return None, [Problem("", f"{where}invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}")]
    if lines is not None:
        lines[path] = json_lines(text)
    return document, []


def deep_merge(base: Any, override: Any) -> Any:
    """``override`` onto ``base``: dicts merge recursively, anything else (arrays included) replaces."""
    if isinstance(base, dict) and isinstance(override, dict):
        merged = copy.deepcopy(base)
        for key, value in override.items():
            merged[key] = deep_merge(merged[key], value) if key in merged else copy.deepcopy(value)
        return merged
    return copy.deepcopy(override)


def resolve_extends(reference: str, extending_file: Path) -> Path:
    """``"base"`` -> ``<dir of the extending file>/base.json``; a relative path is taken as is."""
    candidate = Path(reference)
    if candidate.suffix != ".json":
        candidate = candidate.with_name(candidate.name + ".json")
    return (extending_file.parent / candidate).resolve()


def _sibling_suggestion(missing: Path) -> str:
    stems = sorted(p.stem for p in missing.parent.glob("*.json") if p.stem != "schema")
    close = difflib.get_close_matches(missing.stem, stems, n=1)
    if close:
        return f'; did you mean "{close[0]}"?'
    return f" (available: {', '.join(stems)})" if stems else ""


def load_merged(path: Path, root: Path) -> MergedDocument:
    """Read ``path`` and every file it extends; merge them base first."""
    result = MergedDocument(data=None)
    documents: list[dict[str, Any]] = []
    current = path.resolve()
    while True:
        label = display_path(current, root)
        if current in result.files:
            chain = " -> ".join(display_path(p, root) for p in [*result.files, current])
            result.problems.append(Problem("extends", f"cycle: {chain}"))
            return result
        result.files.append(current)
        shown = "" if current == path.resolve() else label
        doc, problems = read_json_file(current, shown, result.lines)
        if problems:
            result.problems += problems
            return result
        if not isinstance(doc, dict):
            prefix = f"{shown}: " if shown else ""
            result.problems.append(Problem("", f"{prefix}must contain a JSON object, got {json_type(doc)}"))
            return result
        documents.append(doc)
        reference = doc.get("extends")
        if reference is None:
            break
        if not isinstance(reference, str) or not reference:
            where = "extends" if current == path.resolve() else f"extends (in {label})"
            result.problems.append(Problem(where, f'must be a file stem such as "base", got {json.dumps(reference)}'))
            return result
        base = resolve_extends(reference, current)
        if not base.is_file() and base not in result.files:
            where = "extends" if current == path.resolve() else f"extends (in {label})"
            result.problems.append(
                Problem(
                    where, f'"{reference}" not found: no file {display_path(base, root)}{_sibling_suggestion(base)}'
                )
            )
            return result
        current = base
    merged: dict[str, Any] = {}
    for file, doc in zip(reversed(result.files), reversed(documents)):
        merged = deep_merge(merged, doc)
        _record(doc, (), file, result.provenance)
    for key in FILE_KEYS:
        merged.pop(key, None)
    result.data = merged
    return result


def _record(
    node: dict[str, Any], prefix: tuple[str | int, ...], file: Path, into: dict[tuple[str | int, ...], Path]
) -> None:
    for key, value in node.items():
        into[(*prefix, key)] = file
        if isinstance(value, dict):
            _record(value, (*prefix, key), file, into)


def json_type(value: Any) -> str:
    """The JSON name of a Python value's type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__
