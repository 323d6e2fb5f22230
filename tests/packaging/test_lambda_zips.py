"""Lambda zips: deterministic bytes, fixed metadata, tests and caches left out."""

from __future__ import annotations

import base64
import hashlib
import os
import zipfile
from pathlib import Path

import pytest

from orchestrator.packaging import ModelFolderError, build_lambda_zip, discover_lambda_sources


def make_lambda(root: Path, name: str = "predictor") -> Path:
    src = root / "lambda_src" / name
    (src / "tests").mkdir(parents=True)
    (src / "__pycache__").mkdir()
    (src / "handler.py").write_text("from util import f\n\ndef handler(event, context):\n    return f(event)\n")
    (src / "util.py").write_text("def f(x):\n    return x\n")
    (src / "tests" / "test_handler.py").write_text("def test(): pass\n")
    (src / "conftest.py").write_text("")
    (src / "__pycache__" / "handler.cpython-311.pyc").write_bytes(b"x")
    (src / ".env").write_text("SECRET=1")
    return src


def test_zip_contents_and_metadata(tmp_path: Path) -> None:
    src = make_lambda(tmp_path)
    artifact = build_lambda_zip(src, tmp_path / "out" / "predictor.zip")
    with zipfile.ZipFile(artifact.path) as archive:
        infos = archive.infolist()
    assert [i.filename for i in infos] == ["handler.py", "util.py"]
    for info in infos:
        assert info.date_time == (1980, 1, 1, 0, 0, 0)
        assert info.external_attr >> 16 == 0o100644
        assert info.compress_type == zipfile.ZIP_DEFLATED
    raw = hashlib.sha256(artifact.path.read_bytes()).digest()
    assert artifact.source_code_hash == base64.b64encode(raw).decode()
    assert artifact.sha256 == raw.hex()


def test_zip_is_reproducible(tmp_path: Path) -> None:
    src = make_lambda(tmp_path)
    first = build_lambda_zip(src, tmp_path / "a.zip")
    for path in src.rglob("*"):
        os.utime(path, (1_600_000_000, 1_600_000_000))
    (src / "util.py").chmod(0o755)
    second = build_lambda_zip(src, tmp_path / "b.zip")
    assert first.path.read_bytes() == second.path.read_bytes()


def test_discovery_needs_a_handler(tmp_path: Path) -> None:
    make_lambda(tmp_path, "predictor")
    make_lambda(tmp_path, "load_tester")
    (tmp_path / "lambda_src" / "half_written").mkdir()
    (tmp_path / "lambda_src" / "half_written" / "util.py").write_text("x = 1\n")
    found = discover_lambda_sources(tmp_path / "lambda_src")
    assert list(found) == ["load_tester", "predictor"]
    assert discover_lambda_sources(tmp_path / "nowhere") == {}


def test_zip_refuses_escaping_symlink(tmp_path: Path) -> None:
    src = make_lambda(tmp_path)
    (src / "creds").symlink_to(Path.home())
    with pytest.raises(ModelFolderError, match="points outside lambda_src/predictor"):
        build_lambda_zip(src, tmp_path / "a.zip")
