"""Import a model's ``code/`` directory in isolation, the way the model server sees it.

The modules in ``code/`` import each other by plain name (``from model import ...``) because only
``code/`` is on ``sys.path`` when SageMaker loads ``inference.py``. Two models' ``code/`` directories
use the same module names, so this loader imports one directory at a time and then removes its names
from ``sys.modules`` again (restoring whatever was there), which lets one process hold both models.
"""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType


@dataclass(frozen=True)
class ModelCode:
    """The imported modules of one ``code/`` directory."""

    directory: Path
    errors: ModuleType
    tokenizer: ModuleType
    vocab: ModuleType
    features: ModuleType
    model: ModuleType
    inference: ModuleType


def load_code(code_dir: Path) -> ModelCode:
    code_dir = code_dir.resolve()
    names = sorted(path.stem for path in code_dir.glob("*.py"))
    missing = {"errors", "tokenizer", "vocab", "features", "model", "inference"} - set(names)
    if missing:
        raise FileNotFoundError(f"{code_dir} lacks {', '.join(sorted(missing))}.py")
    saved = {name: sys.modules.pop(name) for name in names if name in sys.modules}
    sys.path.insert(0, str(code_dir))
    importlib.invalidate_caches()
    try:
        modules = {name: importlib.import_module(name) for name in names}
    finally:
        sys.path.remove(str(code_dir))
        for name in names:
            sys.modules.pop(name, None)
        sys.modules.update(saved)
    return ModelCode(
        directory=code_dir,
        errors=modules["errors"],
        tokenizer=modules["tokenizer"],
        vocab=modules["vocab"],
        features=modules["features"],
        model=modules["model"],
        inference=modules["inference"],
    )
