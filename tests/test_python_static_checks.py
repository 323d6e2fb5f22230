"""Static checks of the Python code: ruff (lint) and mypy (types), both configured in pyproject.toml.

The versions are pinned in the ``dev`` extra: ruff's default rule set and mypy's inference change between
releases, so an unpinned upgrade could turn this red (or green) without any change to the code.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Each Lambda and each model's code/ imports its sibling modules by flat name (both Lambdas have a
# handler.py, every model an inference.py), so one mypy run cannot hold two of them: `mypy` alone checks
# [tool.mypy] files (orchestrator, benchmarks, models/training), then one run per Lambda and per model.
LAMBDAS = sorted(p for p in (ROOT / "lambda_src").iterdir() if (p / "handler.py").is_file())
MODEL_CODE = sorted(p / "code" for p in (ROOT / "models").iterdir() if (p / "code" / "inference.py").is_file())


def _needs(module: str) -> pytest.MarkDecorator:
    return pytest.mark.skipif(
        importlib.util.find_spec(module) is None,
        reason=f"{module} is not installed in this interpreter (pip install -e '.[dev]')",
    )


def _run(args: list[str], timeout: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False
    )


@_needs("ruff")
def test_ruff_finds_nothing() -> None:
    result = _run(["ruff", "check", "--output-format", "concise", "."], timeout=120)
    assert result.returncode == 0, f"ruff check . failed:\n{result.stdout}{result.stderr}"


@_needs("mypy")
@pytest.mark.parametrize(
    "paths", [[], *([str(p.relative_to(ROOT))] for p in (*LAMBDAS, *MODEL_CODE))],
    ids=lambda paths: paths[0] if paths else "config",
)
def test_mypy_finds_nothing(paths: list[str]) -> None:
    # A cache per Lambda: both have a top-level module `handler`, which would evict each other's. The models
    # share the config run's cache: torch, which they and models/training import, is analysed once (about
    # 24 s a run otherwise). Their own same-named modules are re-checked whenever the file differs from the
    # one cached (mypy compares size, path and mtime, then the content hash), as in any incremental run.
    lambda_run = bool(paths) and paths[0].startswith("lambda_src")
    cache = ROOT / ".mypy_cache" / (paths[0].replace("/", "-") if lambda_run else ".")
    result = _run(["mypy", "--cache-dir", str(cache), *paths], timeout=600)
    assert result.returncode == 0, f"{' '.join(['mypy', *paths])} failed:\n{result.stdout}{result.stderr}"
