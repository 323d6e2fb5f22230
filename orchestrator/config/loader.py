"""``load_environment``: find the file, merge its ``extends`` chain, apply defaults, validate."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

from orchestrator import paths
from orchestrator.config.environment import Environment
from orchestrator.config.positions import line_of
from orchestrator.config.rules import semantic_problems
from orchestrator.config.schema import apply_defaults, document_order, parse_path, schema_problems
from orchestrator.config.sources import MergedDocument, display_path, load_merged
from orchestrator.errors import ConfigError, Problem, UsageError


def environment_file(name_or_path: str | Path, root: Path | None = None) -> Path:
    """``"local"`` -> ``<root>/environments/local.json``; a path (``x/y.json``) is used as given.

    Raises UsageError naming the available environments when a NAME does not exist."""
    root = root or paths.project_root()
    text = str(name_or_path)
    if isinstance(name_or_path, Path) or "/" in text or "\\" in text or text.endswith(".json"):
        return Path(text).expanduser()
    env_dir = root / "environments"
    candidate = env_dir / f"{text}.json"
    if candidate.is_file():
        return candidate
    names = sorted(p.stem for p in env_dir.glob("*.json") if p.stem != "schema")
    close = difflib.get_close_matches(text, names, n=1)
    hint = f'; did you mean "{close[0]}"?' if close else ""
    available = f" (available: {', '.join(names)})" if names else ""
    raise UsageError(f'no environment "{text}": {display_path(candidate, root)} does not exist{hint}{available}')


def _fill_derived_defaults(data: dict[str, Any]) -> None:
    """Defaults that depend on other values: variant name = model name, case resource = api.resource."""
    serving = data.get("serving")
    models = serving.get("models") if isinstance(serving, dict) else None
    for model in models if isinstance(models, list) else []:
        if isinstance(model, dict) and isinstance(model.get("variant"), dict) and isinstance(model.get("name"), str):
            model["variant"].setdefault("name", model["name"])
    api = data.get("api")
    resource = api.get("resource") if isinstance(api, dict) else None
    testing = data.get("load_testing")
    cases = testing.get("test_cases") if isinstance(testing, dict) else None
    for case in cases if isinstance(cases, list) else []:
        if isinstance(case, dict) and isinstance(resource, str):
            case.setdefault("resource", resource)


def _with_location(problem: Problem, merged: MergedDocument, main_file: Path, root: Path) -> Problem:
    """Point into the file that holds the faulty value: ``(line 12)`` in the validated file,
    ``(set in environments/base.json, line 32)`` when it was inherited."""
    if not problem.path:
        return problem
    parts = parse_path(problem.path)
    origin = merged.origin(parts) or main_file.resolve()
    line = line_of(merged.lines.get(origin, {}), parts)
    at = f"line {line}" if line is not None else ""
    if origin == main_file.resolve():
        return Problem(problem.path, f"{problem.message} ({at})") if at else problem
    where = ", ".join(x for x in (f"set in {display_path(origin, root)}", at) if x)
    return Problem(problem.path, f"{problem.message} ({where})")


def load_environment(name_or_path: str | Path, *, root: Path | None = None) -> Environment:
    """Load and validate an environment; raise ConfigError listing every problem found.

    ``name_or_path``: a file stem in ``<root>/environments/`` (``"local"``) or a path to a JSON file.
    ``root``: the project root that model folders are relative to (default: :func:`paths.project_root`).
    """
    root = (root or paths.project_root()).resolve()
    path = environment_file(name_or_path, root)
    if not path.is_file():
        raise UsageError(f"environment file {path} does not exist")
    label = display_path(path, root)
    merged = load_merged(path, root)
    if merged.problems or merged.data is None:
        raise ConfigError(label, merged.problems)
    data = merged.data
    apply_defaults(data)
    _fill_derived_defaults(data)
    problems = schema_problems(data)
    problems += semantic_problems(data, root)
    if problems:
        problems = [_with_location(p, merged, path, root) for p in problems]
        raise ConfigError(label, sorted(problems, key=lambda p: document_order(data, p.path)))
    return Environment(name=path.stem, path=path.resolve(), data=data, root=root, files=tuple(merged.files))
