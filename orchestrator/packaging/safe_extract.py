"""Extract a tar archive without letting it write outside the destination.

Refused (every offending member is listed): absolute names, ``..`` components, symbolic and hard
links, devices, FIFOs and any other non-regular member. Files are written 0644, directories 0755;
ownership and timestamps of the archive are ignored. Used by ``test-model`` and the local data plane.
"""

from __future__ import annotations

import shutil
import tarfile
from pathlib import Path, PurePosixPath, PureWindowsPath

from orchestrator.packaging.errors import UnsafeArchiveError


def _member_problem(member: tarfile.TarInfo, dest: Path) -> str | None:
    name = member.name
    if not name or "\x00" in name:
        return f"{name!r}: empty or invalid name"
    if name.startswith(("/", "\\")) or PureWindowsPath(name).drive:
        return f"{name}: absolute path"
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if ".." in parts:
        return f"{name}: path with '..'"
    if member.issym():
        return f"{name}: symbolic link (to {member.linkname})"
    if member.islnk():
        return f"{name}: hard link (to {member.linkname})"
    if member.ischr() or member.isblk():
        return f"{name}: device file"
    if member.isfifo():
        return f"{name}: FIFO"
    if not (member.isfile() or member.isdir()):
        return f"{name}: unsupported member type {member.type!r}"
    target = (dest / name).resolve()
    if not target.is_relative_to(dest):
        return f"{name}: would be written outside the destination"
    return None


def check_members(members: list[tarfile.TarInfo], dest: Path) -> list[str]:
    return [problem for member in members if (problem := _member_problem(member, dest)) is not None]


def safe_extract(tar_path: Path | str, dest: Path | str, *, max_bytes: int | None = None) -> list[Path]:
    """Extract ``tar_path`` (any compression tarfile reads) into ``dest``; return the files written.

    Raises UnsafeArchiveError before writing anything if any member is unsafe, or if the
    uncompressed size would exceed ``max_bytes``."""
    tar_path, dest = Path(tar_path), Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    dest = dest.resolve()
    try:
        archive = tarfile.open(tar_path, "r:*")  # noqa: SIM115 (closed by the with below)
    except (tarfile.TarError, OSError) as exc:
        raise UnsafeArchiveError(str(tar_path), [f"not a readable tar archive ({exc})"]) from None
    with archive:
        members = archive.getmembers()
        problems = check_members(members, dest)
        total = sum(m.size for m in members if m.isfile())
        if max_bytes is not None and total > max_bytes:
            problems.append(f"uncompressed size {total} bytes exceeds the limit of {max_bytes}")
        if problems:
            raise UnsafeArchiveError(str(tar_path), problems)
        written: list[Path] = []
        for member in members:
            target = dest / member.name
            if member.isdir():
                target.mkdir(parents=True, exist_ok=True)
                target.chmod(0o755)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            source = archive.extractfile(member)
            assert source is not None
            with source, open(target, "wb") as out:
                shutil.copyfileobj(source, out)
            target.chmod(0o644)
            written.append(target)
    return written
