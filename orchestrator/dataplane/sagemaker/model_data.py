"""Turn a ModelDataUrl into an extracted model directory, as SageMaker does into /opt/ml/model.

Sources: an extracted directory (used as is), a local model.tar.gz, or s3://bucket/key fetched through
an injectable `fetch_s3(bucket, key, dest)` (boto3 against the embedded control plane by default).
Extraction is the packaging module's `safe_extract`: an archive with an absolute path, a `..`, a link
of either kind, a device or a FIFO is refused whole, before anything is written, with every offending
member named.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
from collections.abc import Callable
from pathlib import Path

from orchestrator.packaging.errors import UnsafeArchiveError
from orchestrator.packaging.safe_extract import safe_extract

S3Fetcher = Callable[[str, str, Path], None]


class ModelDataError(Exception):
    """The model artifact cannot be obtained or extracted."""


def _extract(archive: Path, dest: Path) -> None:
    try:
        safe_extract(archive, dest)
    except UnsafeArchiveError as exc:
        raise ModelDataError(str(exc)) from exc


def default_s3_fetcher(bucket: str, key: str, dest: Path) -> None:
    import boto3

    boto3.client("s3").download_file(bucket, key, str(dest))


def resolve_model_dir(model_data: str, work_dir: Path, fetch_s3: S3Fetcher | None = None) -> Path:
    """An extracted model directory for `model_data`, cached under `work_dir` by content of the URL."""
    if not model_data:
        raise ModelDataError("the model has no ModelDataUrl")
    source = Path(model_data)
    if not model_data.startswith("s3://") and source.is_dir():
        return source.resolve()
    digest = hashlib.sha256(model_data.encode()).hexdigest()[:16]
    target = work_dir / digest
    marker = work_dir / f"{digest}.extracted"  # beside, not inside: the model dir holds only the archive
    if marker.exists() and target.is_dir():
        return target
    tmp = work_dir / f".{digest}.{os.getpid()}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        if model_data.startswith("s3://"):
            bucket, _, key = model_data[5:].partition("/")
            archive = tmp / "model.tar.gz"
            try:
                (fetch_s3 or default_s3_fetcher)(bucket, key, archive)
            except Exception as exc:  # reported as the model's failure
                raise ModelDataError(f"could not download {model_data}: {exc}") from exc
        elif source.is_file():
            archive = source
        else:
            raise ModelDataError(f"model data {model_data} does not exist")
        extracted = tmp / "model"
        extracted.mkdir()
        try:
            _extract(archive, extracted)
        except (tarfile.TarError, OSError) as exc:
            raise ModelDataError(f"could not extract {model_data}: {exc}") from exc
        shutil.rmtree(target, ignore_errors=True)
        extracted.rename(target)
        marker.touch()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def unmet_requirements(model_dir: Path) -> list[str]:
    """Lines of code/requirements.txt that the serving interpreter does not satisfy.

    Empty when the serving interpreter already has everything, so that model_requirements.py runs no
    pip (and needs no network) for the common case. Lines pip must interpret (options, `-r`) are left
    to pip.
    """
    path = model_dir / "code" / "requirements.txt"
    if not path.is_file():
        return []
    try:
        from importlib.metadata import PackageNotFoundError, version

        from packaging.requirements import InvalidRequirement, Requirement
    except ImportError:  # pragma: no cover - packaging ships with pip/setuptools environments
        return []
    unmet = []
    for raw in path.read_text(errors="replace").splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue  # comments, -r/-e/--index-url options: not checkable here
        try:
            req = Requirement(line)
        except InvalidRequirement:
            unmet.append(f"{line} (unparseable)")
            continue
        if req.marker is not None and not req.marker.evaluate():
            continue
        try:
            installed = version(req.name)
        except PackageNotFoundError:
            unmet.append(f"{line} (not installed)")
            continue
        if req.specifier and not req.specifier.contains(installed, prereleases=True):
            unmet.append(f"{line} (installed {installed})")
    return unmet
