"""``model.tar.gz`` in the SageMaker layout, reproducibly.

Layout: every file of ``artifacts/`` and ``model.json`` at the top level, ``code/`` beside them.
Same inputs give byte-identical archives: sorted entries, fixed mtime/uid/gid/uname/gname,
normalized modes (0644 files, 0755 directories), gzip header with mtime 0 and no file name.
The archive is checked before it is written (entry module, handlers, safe content).
"""

from __future__ import annotations

import gzip
import io
import os
import tarfile
import tempfile
from pathlib import Path, PurePosixPath

from orchestrator.packaging.artifacts import Artifact
from orchestrator.packaging.errors import ModelFolderError
from orchestrator.packaging.sagemaker_handlers import check_entry_module
from orchestrator.packaging.source_files import SourceFile, collect, is_skipped

DEFAULT_PROGRAM = "inference.py"
ARCHIVE_NAME = "model.tar.gz"
FIXED_MTIME = 0
FILE_MODE = 0o644
DIR_MODE = 0o755


def artifacts_present(model_dir: Path) -> bool:
    """True when ``artifacts/`` holds at least one file that would be packaged."""
    artifacts = model_dir / "artifacts"
    if not artifacts.is_dir():
        return False
    for _dirpath, dirnames, filenames in os.walk(artifacts):
        dirnames[:] = [d for d in dirnames if not is_skipped(d)]
        if any(not is_skipped(f) for f in filenames):
            return True
    return False


def code_problems(model_dir: Path, program: str = DEFAULT_PROGRAM, label: str | None = None) -> list[str]:
    """Problems of ``code/`` alone (entry module, handlers, unsafe files): checked before training."""
    label = label or model_dir.name
    code_dir = model_dir.resolve() / "code"
    if not code_dir.is_dir():
        return [f"{label}/code/ does not exist (it holds the entry module {program})"]
    problems = check_entry_module(code_dir / program, f"{label}/code/{program}")
    return problems + collect(code_dir, boundary=model_dir.resolve(), label=label, prefix="code").problems


def archive_entries(model_dir: Path, program: str = DEFAULT_PROGRAM, label: str | None = None) -> list[SourceFile]:
    """The files of the archive, checked; raises ModelFolderError listing every problem."""
    label = label or model_dir.name
    model_dir = model_dir.resolve()
    problems: list[str] = []
    if not model_dir.is_dir():
        raise ModelFolderError(label, [f"{label} is not a folder"])
    code_dir = model_dir / "code"
    if not code_dir.is_dir():
        problems.append(f"{label}/code/ does not exist (it holds the entry module {program})")
    else:
        problems += check_entry_module(code_dir / program, f"{label}/code/{program}")
    entries: list[SourceFile] = []
    if not artifacts_present(model_dir):
        problems.append(f"{label}/artifacts/ is missing or empty (run {label}/train.py --output-dir {label}/artifacts)")
    else:
        found = collect(model_dir / "artifacts", boundary=model_dir, label=label)
        problems += found.problems
        entries += found.files
    model_json = model_dir / "model.json"
    if model_json.exists() or model_json.is_symlink():
        found = collect(model_json, boundary=model_dir, label=label)
        problems += found.problems
        for item in found.files:
            twin = next((e for e in entries if e.arcname == "model.json"), None)
            if twin is None:
                entries.append(item)
            elif twin.path.read_bytes() != item.path.read_bytes():
                problems.append(
                    f"{label}/artifacts/model.json differs from {label}/model.json; both would be the archive's "
                    "model.json (retrain, or delete one)"
                )
    if code_dir.is_dir():
        found = collect(code_dir, boundary=model_dir, label=label, prefix="code")
        problems += found.problems
        clashes = {e.arcname for e in entries} & {f.arcname for f in found.files}
        problems += [f"{label}/artifacts/{c} clashes with {label}/{c}" for c in sorted(clashes)]
        entries += found.files
    if problems:
        raise ModelFolderError(label, problems)
    return sorted(entries, key=lambda e: e.arcname)


def _directories(entries: list[SourceFile]) -> list[str]:
    dirs: set[str] = set()
    for entry in entries:
        parent = PurePosixPath(entry.arcname).parent
        while str(parent) != ".":
            dirs.add(parent.as_posix())
            parent = parent.parent
    return sorted(dirs)


def _tarinfo(name: str, *, directory: bool, size: int = 0) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name + "/" if directory else name)
    info.type = tarfile.DIRTYPE if directory else tarfile.REGTYPE
    info.mode = DIR_MODE if directory else FILE_MODE
    info.size = size
    info.mtime = FIXED_MTIME
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def write_reproducible_tar_gz(entries: list[SourceFile], dest: Path) -> None:
    """Write ``entries`` (with their parent directories) to ``dest`` atomically and reproducibly."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    members = [(d, None) for d in _directories(entries)] + [(e.arcname, e) for e in entries]
    members.sort(key=lambda m: m[0])
    fd, tmp_name = tempfile.mkstemp(prefix=".model-", suffix=".tar.gz.tmp", dir=dest.parent)
    try:
        with (
            os.fdopen(fd, "wb") as raw,
            gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=9, mtime=0) as gz,
            tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar,
        ):
            for name, entry in members:
                if entry is None:
                    tar.addfile(_tarinfo(name, directory=True))
                else:
                    data = entry.path.read_bytes()
                    tar.addfile(_tarinfo(name, directory=False, size=len(data)), io.BytesIO(data))
        os.replace(tmp_name, dest)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def build_model_archive(
    model_dir: Path, dest: Path, *, program: str = DEFAULT_PROGRAM, name: str | None = None, label: str | None = None
) -> Artifact:
    """Check ``model_dir`` and write its ``model.tar.gz`` to ``dest``; return path, sha256 and size."""
    entries = archive_entries(model_dir, program, label)
    write_reproducible_tar_gz(entries, dest)
    return Artifact.of(name or model_dir.name, dest)
