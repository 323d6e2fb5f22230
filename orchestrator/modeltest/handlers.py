"""Import a model's entry module in isolation and expose its SageMaker handler functions.

``code/`` is on ``sys.path`` only while the entry module is imported; afterwards every module loaded
from ``code/`` is dropped from ``sys.modules`` (and same-named modules that were there before are put
back), so several models with identically named helper modules can be tested in one process.
"""

from __future__ import annotations

import importlib.util
import itertools
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from orchestrator.errors import OrchestratorError

_counter = itertools.count(1)


class HandlerImportError(OrchestratorError):
    """The entry module could not be imported or lacks the handler functions."""


@dataclass(frozen=True)
class Handlers:
    module: ModuleType
    model_fn: Callable[..., Any]
    input_fn: Callable[..., Any] | None = None
    predict_fn: Callable[..., Any] | None = None
    output_fn: Callable[..., Any] | None = None
    transform_fn: Callable[..., Any] | None = None


def _local_module_names(code_dir: Path) -> set[str]:
    names = {p.stem for p in code_dir.glob("*.py")}
    names |= {p.name for p in code_dir.iterdir() if p.is_dir() and (p / "__init__.py").is_file()}
    return names


def _from(module: ModuleType, code_dir: Path) -> bool:
    file = getattr(module, "__file__", None)
    return isinstance(file, str) and Path(file).resolve().is_relative_to(code_dir)


@contextmanager
def isolated_import_path(code_dir: Path) -> Iterator[None]:
    code_dir = code_dir.resolve()
    shadowed = {}
    for name in list(sys.modules):
        if name.split(".")[0] in _local_module_names(code_dir):
            shadowed[name] = sys.modules.pop(name)
    sys.path.insert(0, str(code_dir))
    try:
        yield
    finally:
        try:
            sys.path.remove(str(code_dir))
        except ValueError:
            pass
        for name, module in list(sys.modules.items()):
            if _from(module, code_dir):
                del sys.modules[name]
        for name, module in shadowed.items():
            sys.modules.setdefault(name, module)


def load_handlers(code_dir: Path, program: str = "inference.py") -> Handlers:
    path = code_dir / program
    if not path.is_file():
        raise HandlerImportError(f"{path} does not exist (SAGEMAKER_PROGRAM)")
    name = f"_modeltest_{next(_counter)}_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise HandlerImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    with isolated_import_path(code_dir):
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except Exception as exc:  # user code: report, never a traceback
            raise HandlerImportError(f"importing {program} failed: {type(exc).__name__}: {exc}") from exc
    found = {
        key: getattr(module, key, None) for key in ("model_fn", "input_fn", "predict_fn", "output_fn", "transform_fn")
    }
    if not callable(found["model_fn"]):
        raise HandlerImportError(f"{program} defines no model_fn")
    if not callable(found["transform_fn"]) and not all(
        callable(found[k]) for k in ("input_fn", "predict_fn", "output_fn")
    ):
        raise HandlerImportError(f"{program} defines neither transform_fn nor input_fn/predict_fn/output_fn")
    return Handlers(module=module, **found)  # type: ignore[arg-type]
