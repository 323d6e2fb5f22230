"""The JSON Schema of environment files: loading it, applying its defaults, and turning
``jsonschema`` errors into one-line problems a person can act on (``path: what is wrong``)."""

from __future__ import annotations

import copy
import difflib
import json
import re
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema
from jsonschema.exceptions import ValidationError

from orchestrator.config.sources import json_type
from orchestrator.errors import Problem

SCHEMA_PATH = Path(__file__).resolve().parent.parent.parent / "environments" / "schema.json"
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@lru_cache(maxsize=1)
def load_schema() -> dict[str, Any]:
    """The environment schema shipped with this checkout (``environments/schema.json``)."""
    schema: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return schema


def format_path(parts: Iterable[str | int]) -> str:
    """``("serving", "models", 1, "variant")`` -> ``serving.models[1].variant``."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _IDENTIFIER.match(part):
            out += f".{part}" if out else part
        else:
            out += f"[{json.dumps(part)}]"
    return out


_PATH_TOKEN = re.compile(r'([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]|\.')


def parse_path(path: str) -> list[str | int]:
    """Inverse of :func:`format_path`."""
    parts: list[str | int] = []
    for match in _PATH_TOKEN.finditer(path):
        name, index, quoted = match.groups()
        if name is not None:
            parts.append(name)
        elif index is not None:
            parts.append(int(index))
        elif quoted is not None:
            parts.append(json.loads(quoted))
    return parts


def document_order(document: Any, path: str) -> tuple[int, ...]:
    """Sort key placing a problem where its path appears in the document (missing keys last
    among their siblings), so messages read top to bottom like the file."""
    key: list[int] = []
    node = document
    for part in parse_path(path):
        if isinstance(node, dict) and isinstance(part, str) and part in node:
            key.append(list(node).index(part))
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            key.append(part)
            node = node[part]
        else:
            key.append(1_000_000)
            node = None
    return tuple(key)


def _deref(node: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """Follow a local ``$ref`` (``#/$defs/x``); keywords beside the ``$ref`` win."""
    ref = node.get("$ref")
    if not ref:
        return node
    target: Any = schema
    for part in ref.removeprefix("#/").split("/"):
        target = target[part]
    merged = dict(_deref(target, schema))
    merged.update({k: v for k, v in node.items() if k != "$ref"})
    return merged


def apply_defaults(instance: Any, schema: dict[str, Any] | None = None) -> Any:
    """Fill every missing property that has a ``default``, recursively, in place. Tolerates
    documents of the wrong shape (they are reported by :func:`schema_problems`)."""
    root = schema if schema is not None else load_schema()
    _fill(instance, root, root)
    return instance


def _fill(instance: Any, node: dict[str, Any], root: dict[str, Any]) -> None:
    node = _deref(node, root)
    if isinstance(instance, dict):
        for key, sub in node.get("properties", {}).items():
            sub = _deref(sub, root)
            if key not in instance and "default" in sub:
                instance[key] = copy.deepcopy(sub["default"])
            if key in instance:
                _fill(instance[key], sub, root)
    elif isinstance(instance, list) and isinstance(node.get("items"), dict):
        for item in instance:
            _fill(item, node["items"], root)


def schema_problems(document: Any, schema: dict[str, Any] | None = None) -> list[Problem]:
    """Every schema violation of ``document``, as problems located by JSON path."""
    schema = schema if schema is not None else load_schema()
    validator = jsonschema.Draft202012Validator(schema)
    problems: list[Problem] = []
    for error in validator.iter_errors(document):
        problems.extend(_translate(error))
    return _dedupe(problems)


def _dedupe(problems: Sequence[Problem]) -> list[Problem]:
    seen: set[tuple[str, str]] = set()
    out = []
    for problem in problems:
        key = (problem.path, problem.message)
        if key not in seen:
            seen.add(key)
            out.append(problem)
    return out


def _show(value: Any, limit: int = 60) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _got(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return json_type(value)
    return f"{json_type(value)} {_show(value)}" if value is not None else "null"


_TYPE_NAMES = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "object": "an object",
    "array": "an array",
    "null": "null",
}


def _translate(error: ValidationError) -> list[Problem]:
    parts = list(error.absolute_path)
    path = format_path(parts)
    kind = error.validator
    value = error.validator_value
    instance = error.instance
    schema = error.schema if isinstance(error.schema, dict) else {}

    if "propertyNames" in error.relative_schema_path:
        key = str(instance)
        hint = schema.get("patternErrorMessage") if kind == "pattern" else None
        detail = hint or _plain_message(kind, value, key)
        return [Problem(format_path([*parts, key]), f"invalid key {_show(key)}: {detail}")]

    if kind == "additionalProperties" and isinstance(instance, dict):
        allowed = sorted(schema.get("properties", {}))
        extras = [key for key in instance if key not in schema.get("properties", {})]
        return [Problem(format_path([*parts, key]), _unknown_key_message(key, allowed)) for key in extras]

    if kind == "required" and isinstance(instance, dict):
        return [Problem(format_path([*parts, key]), "required but missing") for key in value if key not in instance]

    if kind == "type":
        expected = value if isinstance(value, list) else [value]
        names = " or ".join(_TYPE_NAMES.get(str(t), str(t)) for t in expected)
        return [Problem(path, f"must be {names}, got {_got(instance)}")]

    if kind == "pattern":
        hint = schema.get("patternErrorMessage") or f"must match the pattern {value}"
        return [Problem(path, f"{hint}, got {_show(instance)}")]

    if kind in ("minProperties", "maxProperties") and parts and parts[-1] == "request":
        return [Problem(path, 'must contain exactly one of "sentence" or "sentences"')]

    return [Problem(path, _plain_message(kind, value, instance))]


def _plain_message(kind: str, value: Any, instance: Any) -> str:
    if kind == "enum":
        choices = ", ".join(_show(v) for v in value)
        return f"must be one of {choices}, got {_show(instance)}{_enum_hint(instance, value)}"
    if kind == "const":
        return f"must be {_show(value)}, got {_show(instance)}"
    if kind == "minimum":
        return f"must be >= {value}, got {_show(instance)}"
    if kind == "maximum":
        return f"must be <= {value}, got {_show(instance)}"
    if kind == "exclusiveMinimum":
        return f"must be > {value}, got {_show(instance)}"
    if kind == "exclusiveMaximum":
        return f"must be < {value}, got {_show(instance)}"
    if kind == "multipleOf":
        return f"must be a multiple of {value}, got {_show(instance)}"
    if kind == "minLength":
        if value == 1:
            return "must not be empty"
        return f"must be at least {value} characters long, got {len(instance)}"
    if kind == "maxLength":
        return f"must be at most {value} characters long, got {len(instance)} ({_show(instance, 40)})"
    if kind == "minItems":
        return "must not be empty" if value == 1 else f"must have at least {value} items, got {len(instance)}"
    if kind == "maxItems":
        return f"must have at most {value} items, got {len(instance)}"
    if kind == "uniqueItems":
        seen: list[Any] = []
        for item in instance:
            if item in seen:
                return f"must not repeat items: {_show(item)} appears more than once"
            seen.append(item)
        return "must not repeat items"
    if kind == "minProperties":
        return "must not be empty" if value == 1 else f"must have at least {value} keys"
    if kind == "maxProperties":
        return f"must have at most {value} keys"
    return f"is invalid ({kind})"


#: Keys of hand-written resource names (the original's ModelName/EndpointConfigName...): names are derived.
_DERIVED_NAME_KEYS = {
    "model_name": "SageMaker model names are derived from project.name, project.stage and the model name",
    "endpoint_config_name": "endpoint configuration names are derived with a unique suffix, so a change rolls the endpoint without renaming",
    "endpoint_name": "the endpoint name is derived; set serving.endpoint_base_name to change it",
    "bucket_name": "bucket names are derived; set bucket_base_name to change the suffix",
    "function_name": "Lambda function names are derived from project.name and project.stage",
    "lambda_function_name": "Lambda function names are derived from project.name and project.stage",
}


def _snake(key: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", key).replace("-", "_").lower()


def _enum_hint(instance: Any, choices: Sequence[Any]) -> str:
    if not isinstance(instance, str):
        return ""
    names = [c for c in choices if isinstance(c, str)]
    close = [c for c in names if c.casefold() == instance.casefold()] or difflib.get_close_matches(
        instance, names, n=1, cutoff=0.6
    )
    return f' (did you mean "{close[0]}"?)' if close else ""


def _unknown_key_message(key: str, allowed: Sequence[str]) -> str:
    snake = _snake(key)
    if snake in _DERIVED_NAME_KEYS and snake not in allowed:
        return f"unknown key: {_DERIVED_NAME_KEYS[snake]}; remove it"
    if snake != key and snake in allowed:
        return f'unknown key; did you mean "{snake}"? (keys are snake_case)'
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6) or difflib.get_close_matches(
        snake, allowed, n=1, cutoff=0.6
    )
    if close:
        return f'unknown key; did you mean "{close[0]}"?'
    return f"unknown key; allowed keys: {', '.join(allowed)}" if allowed else "unknown key"
