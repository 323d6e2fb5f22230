"""Run a model's ``train.py`` when its artifacts are missing, streaming the output."""

from __future__ import annotations

import subprocess
import sys
from collections import deque
from pathlib import Path
from typing import TextIO

from orchestrator.packaging.errors import TrainingError
from orchestrator.packaging.model_archive import artifacts_present


def train_command(model_dir: Path, python: str = sys.executable) -> list[str]:
    return [python, str(model_dir / "train.py"), "--output-dir", str(model_dir / "artifacts")]


def ensure_trained(
    model_dir: Path, *, label: str, cwd: Path, python: str = sys.executable, out: TextIO | None = None
) -> bool:
    """Train when ``artifacts/`` is missing or empty; return True if training ran.

    Output lines are streamed to ``out`` prefixed with ``[train <label>]``."""
    if artifacts_present(model_dir):
        return False
    out = out or sys.stdout
    script = model_dir / "train.py"
    if not script.is_file():
        raise TrainingError(f"{label}/artifacts/ is missing and {label}/train.py does not exist to create it")
    command = train_command(model_dir, python)
    print(f"[train {label}] artifacts missing; running {' '.join(command)}", file=out, flush=True)
    tail: deque[str] = deque(maxlen=20)
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
    try:
        assert process.stdout is not None
        for line in process.stdout:
            tail.append(line.rstrip("\n"))
            print(f"[train {label}] {line.rstrip()}", file=out, flush=True)
        code = process.wait()
    except BaseException:
        process.kill()
        process.wait()
        raise
    if code != 0:
        detail = "\n".join(tail)
        raise TrainingError(f"{label}/train.py exited with status {code}; last output:\n{detail}")
    if not artifacts_present(model_dir):
        raise TrainingError(f"{label}/train.py succeeded but wrote nothing to {label}/artifacts/")
    return True
