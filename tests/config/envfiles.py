"""Helpers for config tests: a throw-away project root with base.json and fake model folders,
and a small mutation helper addressing values by the same paths the validator reports."""

from __future__ import annotations

import copy
import json
import re
import shutil
from pathlib import Path
from typing import Any

from orchestrator.config.schema import parse_path

REPO = Path(__file__).resolve().parents[2]
ENVIRONMENTS = REPO / "environments"
DELETE = object()


def base_document() -> dict[str, Any]:
    return json.loads((ENVIRONMENTS / "base.json").read_text())


def mutate(document: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``document`` with each ``path -> value`` applied (``DELETE`` removes the key)."""
    doc = copy.deepcopy(document)
    for path, value in changes.items():
        parts = parse_path(path)
        node: Any = doc
        for part in parts[:-1]:
            node = node[part]
        if value is DELETE:
            del node[parts[-1]]
        elif isinstance(node, list) and parts[-1] == len(node):
            node.append(value)
        else:
            node[parts[-1]] = value
    return doc


def make_root(tmp_path: Path, models: tuple[str, ...] = ("model-a", "model-b")) -> Path:
    """A project root with environments/{schema,base}.json and minimal model folders."""
    root = tmp_path / "project"
    (root / "environments").mkdir(parents=True)
    (root / "terraform").mkdir()
    for name in ("schema.json", "base.json"):
        shutil.copy(ENVIRONMENTS / name, root / "environments" / name)
    for model in models:
        code = root / "models" / model / "code"
        code.mkdir(parents=True)
        (code / "inference.py").write_text("def model_fn(model_dir):\n    return None\n")
    return root


def write_env(root: Path, document: Any, name: str = "test", raw: str | None = None) -> Path:
    path = root / "environments" / f"{name}.json"
    path.write_text(raw if raw is not None else json.dumps(document, indent=2))
    return path


_LINE = re.compile(r"(?: \(line \d+\)|, line \d+(?=\)))$")


def without_line(message: str) -> str:
    """A problem without its location: ``... (line 12)`` -> ``...``, ``(set in x, line 3)`` -> ``(set in x)``."""
    return _LINE.sub("", message)
