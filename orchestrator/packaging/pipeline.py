"""``package_environment``: train what is missing, then build every model archive and Lambda zip."""

from __future__ import annotations

import sys
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
        if not artifacts_present(model.path):
            if not require_artifacts:
                result.models[model.name] = (
                    Artifact.of(model.name, dest) if dest.is_file() else Artifact.placeholder(model.name, dest)
                )
                continue
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
        result.lambdas[name] = build_lambda_zip(src, lambda_zip_path(env.name, name), name=name)
    return result
