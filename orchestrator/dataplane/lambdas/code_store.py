"""Unpack deployed function code (the zip moto holds) into a directory per code digest.

Same rules as :mod:`orchestrator.packaging.safe_extract` for tar archives, applied to zip members:
no absolute names, no ``..``, no symbolic links (zip entries whose Unix mode says ``S_IFLNK``), no
member written outside the destination, a size bound. Everything is checked before anything is
written; the directory is filled under a temporary name and renamed, so a worker never sees a half
extracted tree, and two functions with the same code share nothing but the read-only copy.
"""

from __future__ import annotations

import io
import os
import shutil
import stat
import tempfile
import threading
import zipfile
from pathlib import Path, PurePosixPath, PureWindowsPath

MAX_UNZIPPED_BYTES = 250 * 1024 * 1024  # Lambda's limit for unzipped code


class UnsafeCodeError(ValueError):
    """The deployment package cannot be extracted safely (the message lists every problem)."""


def _member_problem(info: zipfile.ZipInfo, dest: Path) -> str | None:
    name = info.filename
    if not name or "\x00" in name:
        return f"{name!r}: empty or invalid name"
    if name.startswith(("/", "\\")) or PureWindowsPath(name).drive:
        return f"{name}: absolute path"
    if ".." in PurePosixPath(name.replace("\\", "/")).parts:
        return f"{name}: path with '..'"
    mode = info.external_attr >> 16  # Unix mode when the zip was made on Unix; file type bits may be 0
    if stat.S_ISLNK(mode):
        return f"{name}: symbolic link"
    if stat.S_IFMT(mode) and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        return f"{name}: unsupported member type"
    if not (dest / name).resolve().is_relative_to(dest):
        return f"{name}: would be written outside the destination"
    return None


def check_zip(archive: zipfile.ZipFile, dest: Path, max_bytes: int = MAX_UNZIPPED_BYTES) -> list[str]:
    """Every reason not to extract ``archive`` into ``dest`` (empty list: safe)."""
    problems = [p for info in archive.infolist() if (p := _member_problem(info, dest)) is not None]
    total = sum(info.file_size for info in archive.infolist())
    if total > max_bytes:
        problems.append(f"unzipped size {total} bytes exceeds {max_bytes}")
    return problems


class CodeStore:
    """``<root>/<sha256>/`` per distinct deployment package, extracted once."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._lock = threading.Lock()
        self._extracted: dict[str, Path] = {}  # digest -> directory, to skip the stat per invocation

    def directory_for(self, code_sha256: str, code_bytes: bytes) -> Path:
        """The extracted code of this digest (extracting it on first use)."""
        known = self._extracted.get(code_sha256)
        if known is not None:
            return known
        key = "".join(ch for ch in code_sha256 if ch.isalnum()) or "empty"
        target = self.root / key
        if target.is_dir():
            self._extracted[code_sha256] = target
            return target
        with self._lock:
            if target.is_dir():
                self._extracted[code_sha256] = target
                return target
            self.root.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=self.root)).resolve()
            try:
                try:
                    archive = zipfile.ZipFile(io.BytesIO(code_bytes))
                except zipfile.BadZipFile as exc:
                    raise UnsafeCodeError(f"deployment package is not a zip file ({exc})") from None
                with archive:
                    problems = check_zip(archive, staging)
                    if problems:
                        raise UnsafeCodeError("unsafe deployment package: " + "; ".join(problems))
                    for info in archive.infolist():
                        out = staging / info.filename
                        if info.is_dir():
                            out.mkdir(parents=True, exist_ok=True)
                            continue
                        out.parent.mkdir(parents=True, exist_ok=True)
                        with archive.open(info) as src, open(out, "wb") as dst:
                            shutil.copyfileobj(src, dst)
                        os.chmod(out, 0o755 if (info.external_attr >> 16) & 0o111 else 0o644)
                os.rename(staging, target)
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                raise
            self._extracted[code_sha256] = target
            return target
