"""Deterministic Lambda deployment zips from ``lambda_src/<name>/``.

Entries sorted, timestamps 1980-01-01 00:00:00, permissions 0644, Unix attributes, deflate;
``tests/``, ``__pycache__``, ``*.pyc``, ``conftest.py`` and dotfiles are left out.
"""

from __future__ import annotations

import ast
import os
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

from orchestrator.packaging.artifacts import Artifact
from orchestrator.packaging.errors import ModelFolderError
from orchestrator.packaging.source_files import SourceFile, collect

ZIP_DATE_TIME = (1980, 1, 1, 0, 0, 0)
ZIP_FILE_MODE = 0o100644  # regular file, rw-r--r--
HANDLER_MODULES = ("handler.py", "lambda_function.py", "app.py", "main.py")
HANDLER_FUNCTIONS = ("handler", "lambda_handler")


def _defines_handler(path: Path) -> bool:
    try:
        tree = ast.parse(path.read_bytes())
    except (SyntaxError, OSError, ValueError):
        return False
    return any(isinstance(node, ast.FunctionDef) and node.name in HANDLER_FUNCTIONS for node in tree.body)


def has_handler(src_dir: Path) -> bool:
    """A Lambda source folder: a top-level module defining ``handler``/``lambda_handler``."""
    candidates = [src_dir / m for m in HANDLER_MODULES if (src_dir / m).is_file()]
    return any(_defines_handler(p) for p in candidates)


def discover_lambda_sources(lambda_src: Path) -> dict[str, Path]:
    """``lambda_src/<name>/`` folders that contain a handler, by name (sorted)."""
    if not lambda_src.is_dir():
        return {}
    found = {}
    for child in sorted(lambda_src.iterdir()):
        if child.is_dir() and not child.name.startswith((".", "_")) and has_handler(child):
            found[child.name] = child
    return found


def _skip(relative: PurePosixPath) -> bool:
    return relative.parts[0] == "tests" or relative.name == "conftest.py"


def lambda_entries(src_dir: Path, label: str | None = None) -> list[SourceFile]:
    label = label or src_dir.name
    found = collect(src_dir, boundary=src_dir, label=label, skip=_skip)
    if found.problems:
        raise ModelFolderError(label, found.problems)
    if not found.files:
        raise ModelFolderError(label, [f"{label} has no files to package"])
    return found.files


def write_reproducible_zip(entries: list[SourceFile], dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".lambda-", suffix=".zip.tmp", dir=dest.parent)
    os.close(fd)
    try:
        with zipfile.ZipFile(tmp_name, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
            for entry in sorted(entries, key=lambda e: e.arcname):
                info = zipfile.ZipInfo(entry.arcname, date_time=ZIP_DATE_TIME)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.create_system = 3  # Unix, so external_attr carries the mode
                info.external_attr = ZIP_FILE_MODE << 16
                archive.writestr(info, entry.path.read_bytes(), compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
        os.replace(tmp_name, dest)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def build_lambda_zip(src_dir: Path, dest: Path, *, name: str | None = None) -> Artifact:
    """Zip ``src_dir`` to ``dest``; the artifact carries Terraform's ``source_code_hash``."""
    write_reproducible_zip(lambda_entries(src_dir, f"lambda_src/{src_dir.name}"), dest)
    return Artifact.of(name or src_dir.name, dest)
