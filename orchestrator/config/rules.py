"""Rules the schema cannot express: uniqueness, cross-field constraints, files on disk.

Each rule takes the merged document (defaults applied) and returns problems. Rules skip values of
the wrong type: the schema already reported those, and one mistake should produce one message.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any, TypeGuard

from orchestrator.config.names import name_limit_problems
from orchestrator.errors import Problem

Rule = Callable[[dict[str, Any], Path], list[Problem]]
DEFAULT_PROGRAM = "inference.py"
#: Container variables the orchestrator sets itself from typed settings.
MANAGED_ENV = {"SAGEMAKER_MODEL_SERVER_WORKERS": "variant.workers"}


def _is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _models(data: dict[str, Any]) -> list[tuple[int, dict[str, Any]]]:
    return [(i, m) for i, m in enumerate(_list(_dict(data.get("serving")).get("models"))) if isinstance(m, dict)]


def _duplicates(items: list[tuple[str, Any]], what: str) -> list[Problem]:
    """``items``: (path, value); every repeat is reported at its own path, naming the first."""
    first: dict[Any, str] = {}
    problems = []
    for path, value in items:
        if not isinstance(value, str):
            continue
        if value in first:
            problems.append(Problem(path, f'duplicate {what} "{value}" (already used by {first[value]})'))
        else:
            first[value] = path
    return problems


def unique_names(data: dict[str, Any], root: Path) -> list[Problem]:
    models = _models(data)
    problems = _duplicates([(f"serving.models[{i}].name", m.get("name")) for i, m in models], "model name")
    problems += _duplicates(
        [(f"serving.models[{i}].variant.name", _dict(m.get("variant")).get("name")) for i, m in models], "variant name"
    )
    cases = _list(_dict(data.get("load_testing")).get("test_cases"))
    problems += _duplicates(
        [(f"load_testing.test_cases[{i}].name", c.get("name")) for i, c in enumerate(cases) if isinstance(c, dict)],
        "test case name",
    )
    return problems


def autoscaling_bounds(data: dict[str, Any], root: Path) -> list[Problem]:
    problems = []
    for i, model in _models(data):
        scaling = _dict(model.get("autoscaling"))
        if scaling.get("enabled") is not True:
            continue
        low, high = scaling.get("min_capacity"), scaling.get("max_capacity")
        count = _dict(model.get("variant")).get("instance_count")
        where = f"serving.models[{i}].autoscaling"
        if _is_int(low) and _is_int(high) and low > high:
            problems.append(Problem(f"{where}.min_capacity", f"must be <= max_capacity ({high}), got {low}"))
        if _is_int(high) and _is_int(count) and high < count:
            problems.append(
                Problem(f"{where}.max_capacity", f"must be >= variant.instance_count ({count}), got {high}")
            )
    return problems


def variant_environment(data: dict[str, Any], root: Path) -> list[Problem]:
    problems = []
    for i, model in _models(data):
        env = _dict(_dict(model.get("variant")).get("env"))
        for key, setting in MANAGED_ENV.items():
            if key in env:
                problems.append(
                    Problem(f"serving.models[{i}].variant.env.{key}", f"set by the orchestrator; use {setting} instead")
                )
        program = env.get("SAGEMAKER_PROGRAM")
        if isinstance(program, str) and (not program.endswith(".py") or "/" in program or "\\" in program):
            problems.append(
                Problem(
                    f"serving.models[{i}].variant.env.SAGEMAKER_PROGRAM",
                    f'must be the file name of a Python module in code/, e.g. "inference.py", got {json.dumps(program)}',
                )
            )
    return problems


def entry_program(model: dict[str, Any]) -> str:
    """The entry module of a model (``SAGEMAKER_PROGRAM`` of its variant, default ``inference.py``)."""
    program = _dict(_dict(model.get("variant")).get("env")).get("SAGEMAKER_PROGRAM")
    return program if isinstance(program, str) and program else DEFAULT_PROGRAM


def model_folders(data: dict[str, Any], root: Path) -> list[Problem]:
    problems = []
    for i, model in _models(data):
        raw = model.get("path")
        if not isinstance(raw, str) or not raw:
            continue
        where = f"serving.models[{i}].path"
        pure = PurePosixPath(raw)
        if pure.is_absolute() or Path(raw).is_absolute():
            problems.append(Problem(where, f'must be relative to the project root, got "{raw}"'))
            continue
        folder = (root / raw).resolve()
        if not folder.is_relative_to(root.resolve()):
            problems.append(Problem(where, f'must stay inside the project root ({root}), got "{raw}"'))
            continue
        if not folder.is_dir():
            problems.append(Problem(where, f'model folder "{raw}" does not exist (relative to {root})'))
            continue
        program = entry_program(model)
        if not (folder / "code" / program).is_file():
            hint = "" if program != DEFAULT_PROGRAM else " (or set variant.env.SAGEMAKER_PROGRAM to another module)"
            problems.append(
                Problem(where, f'model folder "{raw}" has no code/{program}, the SageMaker entry module{hint}')
            )
    return problems


def case_resources(data: dict[str, Any], root: Path) -> list[Problem]:
    api_resource = _dict(data.get("api")).get("resource")
    problems = []
    for i, case in enumerate(_list(_dict(data.get("load_testing")).get("test_cases"))):
        if not isinstance(case, dict):
            continue
        resource = case.get("resource")
        if isinstance(resource, str) and isinstance(api_resource, str) and resource != api_resource:
            problems.append(
                Problem(
                    f"load_testing.test_cases[{i}].resource",
                    f'must equal api.resource ("{api_resource}"), got "{resource}"',
                )
            )
    return problems


def target_rules(data: dict[str, Any], root: Path) -> list[Problem]:
    target = _dict(data.get("target"))
    if target.get("kind") != "aws":
        return []
    problems = []
    if target.get("state_bucket") is None:
        problems.append(
            Problem("target.state_bucket", 'required when target.kind is "aws" (the Terraform state bucket)')
        )
    if _dict(data.get("project")).get("account") is None:
        problems.append(
            Problem(
                "project.account", 'required when target.kind is "aws", so a deploy with the wrong credentials stops'
            )
        )
    return problems


def cicd_source(data: dict[str, Any], root: Path) -> list[Problem]:
    cicd = _dict(data.get("cicd"))
    if cicd.get("enabled") is not True:
        return []
    source = _dict(cicd.get("source"))
    kind = source.get("type")
    problems = []
    if kind == "github":
        for key, what in (("repository", '"owner/name"'), ("connection_arn", "a CodeConnections connection ARN")):
            if source.get(key) is None:
                problems.append(Problem(f"cicd.source.{key}", f'required when cicd.source.type is "github" ({what})'))
        if _dict(data.get("target")).get("kind") == "embedded":
            problems.append(
                Problem(
                    "cicd.source.type",
                    '"github" needs a CodeConnections connection, which the embedded target cannot emulate; use "s3"',
                )
            )
    elif kind == "s3" and source.get("s3_object_key") is None:
        problems.append(
            Problem("cicd.source.s3_object_key", 'required when cicd.source.type is "s3" (key of the source zip)')
        )
    return problems


def monitoring_period(data: dict[str, Any], root: Path) -> list[Problem]:
    period = _dict(data.get("monitoring")).get("period_sec")
    if _is_int(period) and period >= 10 and period not in (10, 30) and period % 60:
        return [
            Problem("monitoring.period_sec", f"must be 10, 30 or a multiple of 60 (CloudWatch periods), got {period}")
        ]
    return []


def derived_name_limits(data: dict[str, Any], root: Path) -> list[Problem]:
    return name_limit_problems(data)


RULES: tuple[Rule, ...] = (
    unique_names,
    autoscaling_bounds,
    variant_environment,
    model_folders,
    case_resources,
    target_rules,
    cicd_source,
    monitoring_period,
    derived_name_limits,
)


def semantic_problems(data: dict[str, Any], root: Path) -> list[Problem]:
    problems: list[Problem] = []
    for rule in RULES:
        problems += rule(data, root)
    return problems
