"""``package_environment``: train what is missing, then build every model archive and Lambda zip."""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TextIO

from orchestrator.config import Environment
from orchestrator.packaging.artifacts import Artifact, PackageResult
from orchestrator.packaging.errors import ModelFolderError, TrainingError
from orchestrator.packaging.lambda_zip import build_lambda_zip, discover_lambda_sources
from orchestrator.packaging.model_archive import ARCHIVE_NAME, artifacts_present, build_model_archive, code_problems
from orchestrator.packaging.training import ensure_trained
from orchestrator.paths import build_dir


def model_archive_path(env_name: str, model: str) -> Path:
    return build_dir(env_name) / "models" / model / ARCHIVE_NAME


def lambda_zip_path(env_name: str, name: str) -> Path:
    return build_dir(env_name) / "lambdas" / f"{name}.zip"


def _label(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)


#: Lambda zips the stack templates expect (``artifacts.lambdas.<name>``).
CONTRACT_LAMBDAS = ("predictor", "load_tester")


def _best_effort(build: Callable[[], Artifact] | None, name: str, dest: Path) -> Artifact:
    """Destroy mode: build if possible, else the last build, else a placeholder; never fail."""
    if build is not None:
        try:
            return build()
        except ModelFolderError:
            pass
    return Artifact.of(name, dest) if dest.is_file() else Artifact.placeholder(name, dest)


def package_environment(
    env: Environment,
    *,
    train_missing: bool = True,
    require_artifacts: bool = True,
    python: str = sys.executable,
    out: TextIO | None = None,
    lambda_src: Path | None = None,
) -> PackageResult:
    """Build ``model.tar.gz`` per model and a zip per Lambda folder for a validated environment.

    ``train_missing``: run ``train.py`` for models without artifacts.
    ``require_artifacts=False`` (destroy): a model that cannot be built reuses its last archive or
    gets a placeholder (``missing=True``) instead of failing; nothing is trained then.
    """
    root = env.root
    result = PackageResult(env_name=env.name)
    if require_artifacts:
        # Refuse bad handler code before spending minutes on training.
        for model in env.models:
            label = _label(model.path, root)
            problems = code_problems(model.path, model.program, label)
            if problems:
                raise ModelFolderError(label, problems)
    for model in env.models:
        label = _label(model.path, root)
        dest = model_archive_path(env.name, model.name)
        if not require_artifacts:
            result.models[model.name] = _best_effort(
                partial(build_model_archive, model.path, dest, program=model.program, name=model.name, label=label),
                model.name,
                dest,
            )
            continue
        if not artifacts_present(model.path):
            if not train_missing:
                raise TrainingError(
                    f"{label}/artifacts/ is missing; run {label}/train.py --output-dir {label}/artifacts"
                )
            ensure_trained(model.path, label=label, cwd=root, python=python, out=out)
            result.trained.append(model.name)
        result.models[model.name] = build_model_archive(
            model.path, dest, program=model.program, name=model.name, label=label
        )
    sources = discover_lambda_sources(lambda_src or root / "lambda_src")
    for name, src in sources.items():
        dest = lambda_zip_path(env.name, name)
        if require_artifacts:
            result.lambdas[name] = build_lambda_zip(src, dest, name=name)
        else:
            result.lambdas[name] = _best_effort(partial(build_lambda_zip, src, dest, name=name), name, dest)
    if not require_artifacts:
        for name in CONTRACT_LAMBDAS:
            if name not in result.lambdas:
                result.lambdas[name] = _best_effort(None, name, lambda_zip_path(env.name, name))
    return result
