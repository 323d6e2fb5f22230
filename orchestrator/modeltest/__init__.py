"""``test-model``: run a model archive's handlers locally, case by case, like the SageMaker server.

report = run_model_test(Path("models/model-a"))        # trains if needed, packages, extracts, runs
print("\\n".join(report.lines())); report.passed
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import TextIO

from orchestrator.errors import OrchestratorError, UsageError
from orchestrator.modeltest.cases import ModelCase, default_cases, load_cases, parse_cases
from orchestrator.modeltest.handlers import HandlerImportError, Handlers, load_handlers
from orchestrator.modeltest.runner import CaseResult, ModelTestReport, run_cases
from orchestrator.packaging.model_archive import DEFAULT_PROGRAM, build_model_archive
from orchestrator.packaging.safe_extract import safe_extract
from orchestrator.packaging.training import ensure_trained

__all__ = [
    "CaseResult",
    "HandlerImportError",
    "Handlers",
    "ModelCase",
    "ModelTestReport",
    "default_cases",
    "load_cases",
    "load_handlers",
    "parse_cases",
    "run_cases",
    "run_model_test",
]


def run_model_test(
    model: Path,
    cases: list[ModelCase] | None = None,
    *,
    program: str = DEFAULT_PROGRAM,
    python: str = sys.executable,
    out: TextIO | None = None,
) -> ModelTestReport:
    """``model``: a model folder (trained if needed, then packaged) or a ``model.tar.gz``.

    The archive is extracted with ``safe_extract`` into a temporary model dir; ``code/<program>``
    is imported in isolation; ``model_fn`` runs once, then each case."""
    if not model.exists():
        raise UsageError(f"{model} does not exist (expected a model folder or a model.tar.gz)")
    cases = cases if cases is not None else default_cases()
    label = str(model)
    with tempfile.TemporaryDirectory(prefix="test-model-") as tmp:
        work = Path(tmp)
        if model.is_dir():
            ensure_trained(model, label=label.rstrip("/"), cwd=Path.cwd(), python=python, out=out)
            archive = build_model_archive(model, work / "model.tar.gz", program=program, label=label.rstrip("/")).path
        else:
            archive = model
        model_dir = work / "model"
        safe_extract(archive, model_dir)
        handlers = load_handlers(model_dir / "code", program)
        try:
            report = run_cases(handlers, model_dir, cases)
        except OrchestratorError:
            raise
        except Exception as exc:  # model_fn failed: nothing can be tested
            raise OrchestratorError(f"model_fn failed for {label}: {type(exc).__name__}: {exc}") from exc
        report.model_dir = label
        return report
