"""Fixtures for the example models: each model's ``code/`` imported in isolation, trained models.

Models are trained once per test session into a temporary directory laid out like the extracted
``model.tar.gz`` (artifacts + model.json at the top, ``code/`` beside them), so the tests never
depend on committed or previously built weights.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

MODELS_DIR = Path(__file__).resolve().parent
if str(MODELS_DIR) not in sys.path:
    sys.path.insert(0, str(MODELS_DIR))

from training.cli import RunResult, run
from training.codeload import ModelCode, load_code

MODEL_NAMES = ("model-a", "model-b")


@dataclass(frozen=True)
class TrainedModel:
    name: str
    model_dir: Path
    """Directory laid out like the extracted archive: model.pt, vocab.json, model.json, code/."""
    code: ModelCode
    """The ``code/`` modules imported from ``model_dir/code`` (as the model server would)."""
    handler_model: Any
    """What ``inference.model_fn(model_dir)`` returned."""
    result: RunResult


@pytest.fixture(scope="session")
def models_dir() -> Path:
    return MODELS_DIR


@pytest.fixture(scope="session", params=MODEL_NAMES)
def model_name(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="session")
def model_code(model_name: str) -> ModelCode:
    return load_code(MODELS_DIR / model_name / "code")


@pytest.fixture(scope="session")
def train_model(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], TrainedModel]:
    """Train a model with its committed model.json (once per session) and load it through model_fn."""
    cache: dict[str, TrainedModel] = {}

    def get(name: str) -> TrainedModel:
        if name not in cache:
            source = MODELS_DIR / name
            served = tmp_path_factory.mktemp(f"{name}-served")
            result = run(source, served, log=lambda line: None)
            shutil.copy(source / "model.json", served / "model.json")
            shutil.copytree(source / "code", served / "code", ignore=shutil.ignore_patterns("__pycache__"))
            code = load_code(served / "code")
            cache[name] = TrainedModel(name, served, code, code.inference.model_fn(str(served)), result)
        return cache[name]

    return get


@pytest.fixture(scope="session")
def trained(model_name: str, train_model: Callable[[str], TrainedModel]) -> TrainedModel:
    return train_model(model_name)
