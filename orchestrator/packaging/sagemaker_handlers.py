"""Static check of a model's entry module against the SageMaker handler contract, with ``ast``
(user code is never imported here): ``model_fn`` plus either ``input_fn``/``predict_fn``/``output_fn``
or a single ``transform_fn`` — defining ``transform_fn`` with any of the three is an error."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

PER_REQUEST = ("input_fn", "predict_fn", "output_fn")
#: Positional parameters each handler receives (each may take one more: ``context``).
ARITY = {"model_fn": 1, "input_fn": 2, "predict_fn": 2, "output_fn": 2, "transform_fn": 4}


@dataclass(frozen=True)
class HandlerSignature:
    name: str
    required: int  # positional parameters without defaults
    maximum: int | None  # None with *args

    def accepts(self, count: int) -> bool:
        return self.required <= count and (self.maximum is None or count <= self.maximum)


def _signature(node: ast.FunctionDef | ast.AsyncFunctionDef) -> HandlerSignature:
    args = node.args
    positional = len(args.posonlyargs) + len(args.args)
    required = positional - len(args.defaults)
    return HandlerSignature(node.name, required, None if args.vararg else positional)


def top_level_names(tree: ast.Module) -> tuple[dict[str, HandlerSignature | None], list[str]]:
    """Names bound at module level: functions (with signatures), imports and assignments (None);
    and the ``async def`` handlers, which the model server cannot call."""
    names: dict[str, HandlerSignature | None] = {}
    async_defs: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            names[node.name] = _signature(node)
        elif isinstance(node, ast.AsyncFunctionDef):
            async_defs.append(node.name)
            names[node.name] = None
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                names[(alias.asname or alias.name).split(".")[0]] = None
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Name):
                    names[target.id] = None
    return names, async_defs


def check_entry_module(path: Path, label: str) -> list[str]:
    """Problems of the entry module at ``path`` (``label`` names it in messages); [] when it is fine."""
    if not path.is_file():
        return [f"{label} does not exist (the SageMaker entry module, SAGEMAKER_PROGRAM)"]
    try:
        tree = ast.parse(path.read_bytes(), filename=str(path))
    except SyntaxError as exc:
        return [f"{label} line {exc.lineno}: syntax error: {exc.msg}"]
    names, async_defs = top_level_names(tree)
    problems = [
        f"{label}: {name} is async; SageMaker handlers must be plain functions" for name in async_defs if name in ARITY
    ]
    if "model_fn" not in names:
        problems.append(f"{label} does not define model_fn(model_dir)")
    per_request = [n for n in PER_REQUEST if n in names]
    if "transform_fn" in names:
        if per_request:
            problems.append(
                f"{label} defines transform_fn and {', '.join(per_request)}: define either transform_fn or "
                "input_fn/predict_fn/output_fn, not both"
            )
    else:
        missing = [n for n in PER_REQUEST if n not in names]
        if missing:
            problems.append(
                f"{label} does not define {', '.join(missing)}: define input_fn, predict_fn and output_fn, "
                "or a single transform_fn(model, body, content_type, accept)"
            )
    for name, signature in names.items():
        if signature is None or name not in ARITY:
            continue
        expected = ARITY[name]
        if not (signature.accepts(expected) or signature.accepts(expected + 1)):
            problems.append(
                f"{label}: {name} must accept {expected} positional argument{'s' if expected > 1 else ''} "
                f"(plus an optional context), but its signature takes {signature.required}"
                + (
                    ""
                    if signature.maximum == signature.required
                    else f" to {signature.maximum if signature.maximum is not None else 'any'}"
                )
            )
    return problems
