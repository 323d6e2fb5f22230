"""A model's code/requirements.txt, installed before its handler loads, as SageMaker does.

SageMaker pip-installs `code/requirements.txt` into the model's container before it imports the
handler. Locally every model is served by one interpreter, so the install must add to what that
interpreter has without changing it for anyone else:

1. Nothing to do when the interpreter already satisfies every line (the common case, and offline):
   torch is never downloaded again because a model lists it. A file with pip options (`-r`, `-f`,
   `--index-url`) always goes to pip, which alone can read them.
2. Otherwise pip resolves the file against that interpreter (`pip install --dry-run --report`): the
   report lists exactly the distributions a container would add or upgrade, no more.
3. Those are installed with `--no-deps --target` into a directory named by the file's content and the
   interpreter's version, shared by the models with the same file and reused across runs.
4. The model's workers put that directory on their path before the interpreter's site-packages, as
   the container's site-packages would be after the install; the front end and the other models
   never see it.

A failure (a package that does not exist, no network, pins that conflict) fails the endpoint with
pip's own words, so `terraform apply` shows them. pip runs in the model's code/ directory, so relative
paths and options in the file (`--find-links wheels/`, `-r other.txt`) mean what they mean there.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from orchestrator.dataplane.sagemaker.model_data import ModelDataError, unmet_requirements

log = logging.getLogger(__name__)

PIP_TIMEOUT_S = 900.0
_PIP_QUIET = ("--disable-pip-version-check", "--no-input", "--quiet")
_MAX_ERROR_CHARS = 1500


def requirements_file(model_dir: Path) -> Path | None:
    path = model_dir / "code" / "requirements.txt"
    return path if path.is_file() else None


def install_requirements(model_dir: Path, cache_root: Path, *, python: str = sys.executable) -> Path | None:
    """The directory holding what `code/requirements.txt` adds to the serving interpreter, or None when
    it adds nothing. Raises ModelDataError with pip's message when the file cannot be installed."""
    path = requirements_file(model_dir)
    if path is None:
        return None
    unmet = unmet_requirements(model_dir)
    if not unmet and not _has_pip_options(path):
        return None
    key = _cache_key(path.read_bytes(), python)
    target, done = cache_root / key, cache_root / f"{key}.installed"
    cache_root.mkdir(parents=True, exist_ok=True)
    with open(cache_root / f"{key}.lock", "w") as lock:  # two variants with one file install it once
        fcntl.flock(lock, fcntl.LOCK_EX)
        if done.exists() and target.is_dir():
            return target
        log.info("model %s: installing code/requirements.txt (%s)", model_dir.name, "; ".join(unmet) or "pip options")
        specs = _resolve(path, python)
        staging = Path(tempfile.mkdtemp(prefix=f".{key}.", dir=cache_root))
        try:
            if specs:  # else the directory stays empty, and the file is not resolved again
                _pip(python, path.parent, ["install", "--no-deps", "--target", str(staging), *specs])
            shutil.rmtree(target, ignore_errors=True)
            staging.rename(target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        done.touch()
        log.info("model %s: code/requirements.txt installed %d distribution(s) into %s", model_dir.name, len(specs), target)
        return target


def _has_pip_options(path: Path) -> bool:
    return any(line.strip().startswith("-") for line in path.read_text(errors="replace").splitlines())


def _cache_key(content: bytes, python: str) -> str:
    digest = hashlib.sha256(content)
    digest.update(f"\0{python}\0{sys.version}\0{sys.platform}".encode())
    return digest.hexdigest()[:16]


def _resolve(path: Path, python: str) -> list[str]:
    """What pip, resolving against the serving interpreter, would install: one exact spec each."""
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "report.json"
        _pip(python, path.parent, ["install", "--dry-run", "--report", str(report), "-r", path.name])
        data = json.loads(report.read_text())
    return [_exact_spec(item) for item in data.get("install", [])]


def _exact_spec(item: dict[str, Any]) -> str:
    """The artifact pip chose, so the real install cannot pick another (an index URL, a local file, or a
    VCS checkout pinned to the commit the resolution saw)."""
    info = item.get("download_info") or {}
    url = str(info.get("url") or "")
    vcs = info.get("vcs_info")
    if isinstance(vcs, dict) and vcs.get("vcs") and vcs.get("commit_id"):
        return f"{vcs['vcs']}+{url}@{vcs['commit_id']}"
    if url:
        return url
    metadata = item.get("metadata") or {}
    return f"{metadata['name']}=={metadata['version']}"


def _pip(python: str, cwd: Path, args: list[str]) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    try:
        done = subprocess.run(
            [python, "-m", "pip", *args, *_PIP_QUIET], cwd=cwd, env=env, capture_output=True, text=True,
            timeout=PIP_TIMEOUT_S, check=False, stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        raise ModelDataError(f"pip install of code/requirements.txt took longer than {PIP_TIMEOUT_S:.0f} s") from None
    if done.returncode != 0:
        message = (done.stderr.strip() or done.stdout.strip() or f"exit status {done.returncode}")[-_MAX_ERROR_CHARS:]
        raise ModelDataError(f"pip could not install code/requirements.txt: {message}")
