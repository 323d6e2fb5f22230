"""Walk a source folder for packaging: regular files only, symlinks resolved but never escaping
the folder, special files refused, caches and dotfiles skipped. Deterministic order."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

SKIPPED_DIRS = frozenset({"__pycache__"})
SKIPPED_SUFFIXES = (".pyc", ".pyo")


@dataclass(frozen=True)
class SourceFile:
    arcname: str  # POSIX path inside the archive
    path: Path  # the real file to read (symlinks resolved)


@dataclass
class Collected:
    files: list[SourceFile] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def is_skipped(name: str) -> bool:
    return name.startswith(".") or name in SKIPPED_DIRS or name.endswith(SKIPPED_SUFFIXES)


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device file"
    return "not a regular file"


def collect(
    start: Path,
    *,
    boundary: Path,
    label: str,
    prefix: str = "",
    skip: Callable[[PurePosixPath], bool] | None = None,
) -> Collected:
    """Files under ``start`` (a folder or one file) as archive entries named ``prefix/<relative path>``.

    ``boundary``: no symlink may resolve outside it. ``label``: how problems name the boundary folder.
    ``skip(relative path)``: extra exclusions (e.g. ``tests/``)."""
    boundary = boundary.resolve()
    result = Collected()
    visited: set[Path] = set()

    def rel_label(path: Path) -> str:
        try:
            return f"{label}/{path.relative_to(boundary).as_posix()}"
        except ValueError:
            return str(path)

    def arc(relative: PurePosixPath) -> str:
        return (PurePosixPath(prefix) / relative).as_posix() if prefix else relative.as_posix()

    def visit(path: Path, relative: PurePosixPath) -> None:
        try:
            info = path.lstat()
        except OSError as exc:
            result.problems.append(f"{rel_label(path)}: cannot read ({exc.strerror})")
            return
        real = path
        if stat.S_ISLNK(info.st_mode):
            target = os.readlink(path)
            resolved = path.resolve()
            if not resolved.is_relative_to(boundary):
                result.problems.append(
                    f"{rel_label(path)}: symlink to {target} points outside {label}; copy the file into the folder instead"
                )
                return
            if not resolved.exists():
                result.problems.append(f"{rel_label(path)}: broken symlink (to {target})")
                return
            real = resolved
            info = resolved.stat()
        if stat.S_ISDIR(info.st_mode):
            key = real.resolve()
            if key in visited:
                return
            visited.add(key)
            for child in sorted(os.listdir(real)):
                child_relative = relative / child
                if is_skipped(child) or (skip is not None and skip(child_relative)):
                    continue
                visit(path / child, child_relative)
        elif stat.S_ISREG(info.st_mode):
            result.files.append(SourceFile(arc(relative), real))
        else:
            result.problems.append(f"{rel_label(path)}: is {_kind(info.st_mode)}; only regular files can be packaged")

    if start.is_dir() and not start.is_symlink():
        visited.add(start.resolve())
        for child in sorted(os.listdir(start)):
            if is_skipped(child) or (skip is not None and skip(PurePosixPath(child))):
                continue
            visit(start / child, PurePosixPath(child))
    else:
        visit(start, PurePosixPath(start.name))
    result.files.sort(key=lambda f: f.arcname)
    return result
