"""model.tar.gz: layout, reproducibility, refusal of unsafe or incomplete model folders."""

from __future__ import annotations

import gzip
import os
import socket
import tarfile
from pathlib import Path

import pytest
from fakemodels import HANDLERS, make_model

from orchestrator.packaging import ModelFolderError, build_model_archive, check_entry_module


def names(archive: Path) -> list[str]:
    with tarfile.open(archive) as tar:
        return tar.getnames()


def test_layout_is_sagemaker(tmp_path: Path) -> None:
    folder = make_model(tmp_path)
    (folder / "code" / "__pycache__").mkdir()
    (folder / "code" / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"x")
    (folder / "code" / "stale.pyc").write_bytes(b"x")
    (folder / "code" / ".hidden").write_text("x")
    (folder / "artifacts" / ".DS_Store").write_text("x")
    artifact = build_model_archive(folder, tmp_path / "out" / "model.tar.gz")
    assert names(artifact.path) == [
        "code",
        "code/inference.py",
        "code/keywords.py",
        "code/requirements.txt",
        "keywords.json",
        "model.json",
    ]
    with tarfile.open(artifact.path) as tar:
        for member in tar.getmembers():
            assert (member.mtime, member.uid, member.gid, member.uname, member.gname) == (0, 0, 0, "", "")
            assert member.mode == (0o755 if member.isdir() else 0o644)
    assert artifact.size == artifact.path.stat().st_size and len(artifact.sha256) == 64


def test_gzip_header_has_no_name_and_zero_mtime(tmp_path: Path) -> None:
    artifact = build_model_archive(make_model(tmp_path), tmp_path / "model.tar.gz")
    header = artifact.path.read_bytes()[:10]
    assert header[:3] == b"\x1f\x8b\x08"
    assert header[3] == 0  # FLG: no FNAME, no comment, no extra
    assert header[4:8] == b"\x00\x00\x00\x00"  # MTIME
    with gzip.open(artifact.path) as handle:
        handle.read()


def test_reproducible_bytes_despite_mtimes_and_modes(tmp_path: Path) -> None:
    folder = make_model(tmp_path)
    first = build_model_archive(folder, tmp_path / "a.tar.gz")
    for path in folder.rglob("*"):
        os.utime(path, (1_700_000_000, 1_700_000_000))
    (folder / "code" / "inference.py").chmod(0o755)
    second = build_model_archive(folder, tmp_path / "b.tar.gz")
    assert first.path.read_bytes() == second.path.read_bytes()
    assert first.sha256 == second.sha256


def test_content_change_changes_digest(tmp_path: Path) -> None:
    folder = make_model(tmp_path)
    first = build_model_archive(folder, tmp_path / "a.tar.gz")
    (folder / "artifacts" / "keywords.json").write_text("{}")
    assert build_model_archive(folder, tmp_path / "b.tar.gz").sha256 != first.sha256


def test_symlink_inside_folder_is_packaged_as_file(tmp_path: Path) -> None:
    folder = make_model(tmp_path)
    (folder / "code" / "alias.py").symlink_to(folder / "code" / "keywords.py")
    artifact = build_model_archive(folder, tmp_path / "model.tar.gz")
    with tarfile.open(artifact.path) as tar:
        member = tar.getmember("code/alias.py")
        assert member.isfile() and tar.extractfile(member).read() == (folder / "code" / "keywords.py").read_bytes()


def test_refuses_symlink_escaping_the_folder(tmp_path: Path) -> None:
    folder = make_model(tmp_path)
    secret = tmp_path / "secret.txt"
    secret.write_text("x")
    (folder / "code" / "leak.txt").symlink_to(secret)
    with pytest.raises(ModelFolderError) as info:
        build_model_archive(folder, tmp_path / "model.tar.gz", label="models/toy")
    assert info.value.problems == [
        f"models/toy/code/leak.txt: symlink to {secret} points outside models/toy; copy the file into the folder instead"
    ]
    assert not (tmp_path / "model.tar.gz").exists()


def test_refuses_special_files(tmp_path: Path) -> None:
    folder = make_model(tmp_path)
    os.mkfifo(folder / "artifacts" / "pipe")
    with pytest.raises(ModelFolderError) as info:
        build_model_archive(folder, tmp_path / "model.tar.gz", label="models/toy")
    assert info.value.problems == [
        "models/toy/artifacts/pipe: is a named pipe (FIFO); only regular files can be packaged"
    ]


def test_refuses_socket(tmp_path: Path) -> None:
    folder = make_model(tmp_path)
    sock = socket.socket(socket.AF_UNIX)
    try:
        sock.bind(str(folder / "code" / "s"))
        with pytest.raises(ModelFolderError, match="code/s: is a socket"):
            build_model_archive(folder, tmp_path / "model.tar.gz")
    finally:
        sock.close()


def test_missing_entry_module(tmp_path: Path) -> None:
    folder = make_model(tmp_path)
    (folder / "code" / "inference.py").unlink()
    with pytest.raises(ModelFolderError) as info:
        build_model_archive(folder, tmp_path / "model.tar.gz", label="models/toy")
    assert info.value.problems == [
        "models/toy/code/inference.py does not exist (the SageMaker entry module, SAGEMAKER_PROGRAM)"
    ]


def test_other_program_name(tmp_path: Path) -> None:
    folder = make_model(tmp_path)
    (folder / "code" / "inference.py").rename(folder / "code" / "serve.py")
    artifact = build_model_archive(folder, tmp_path / "model.tar.gz", program="serve.py")
    assert "code/serve.py" in names(artifact.path)


def test_missing_artifacts(tmp_path: Path) -> None:
    folder = make_model(tmp_path)
    (folder / "artifacts" / "keywords.json").unlink()
    with pytest.raises(ModelFolderError) as info:
        build_model_archive(folder, tmp_path / "model.tar.gz", label="models/toy")
    assert info.value.problems == [
        "models/toy/artifacts/ is missing or empty (run models/toy/train.py --output-dir models/toy/artifacts)"
    ]


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (HANDLERS.replace("def model_fn(", "def load_model("), ["m/inference.py does not define model_fn(model_dir)"]),
        (
            HANDLERS.replace("def output_fn(", "def render(").replace("def input_fn(", "def parse("),
            [
                "m/inference.py does not define input_fn, output_fn: define input_fn, predict_fn and output_fn, or a single transform_fn(model, body, content_type, accept)"
            ],
        ),
        (
            HANDLERS + "\ndef transform_fn(model, body, content_type, accept):\n    return body\n",
            [
                "m/inference.py defines transform_fn and input_fn, predict_fn, output_fn: define either transform_fn or input_fn/predict_fn/output_fn, not both"
            ],
        ),
        (
            "def model_fn(d):\n    pass\ndef transform_fn(model, body, content_type, accept, context=None):\n    pass\n",
            [],
        ),
        ("from impl import model_fn, transform_fn\n", []),
        (
            "def model_fn(d):\n  pass\ndef transform_fn(model, body):\n  pass\n",
            [
                "m/inference.py: transform_fn must accept 4 positional arguments (plus an optional context), but its signature takes 2"
            ],
        ),
        ("def model_fn(:\n", ["m/inference.py line 1: syntax error: invalid syntax"]),
        (
            "async def model_fn(d):\n  pass\ndef transform_fn(a, b, c, d):\n  pass\n",
            ["m/inference.py: model_fn is async; SageMaker handlers must be plain functions"],
        ),
    ],
    ids=["no-model_fn", "missing-some", "both", "transform-ok", "imported-ok", "arity", "syntax", "async"],
)
def test_handler_contract(tmp_path: Path, source: str, expected: list[str]) -> None:
    path = tmp_path / "inference.py"
    path.write_text(source)
    assert check_entry_module(path, "m/inference.py") == expected


def test_handler_problems_block_the_archive(tmp_path: Path) -> None:
    folder = make_model(tmp_path, handlers=HANDLERS + "\ndef transform_fn(m, b, c, a):\n    return b\n")
    with pytest.raises(ModelFolderError, match="not both"):
        build_model_archive(folder, tmp_path / "model.tar.gz")
    assert not (tmp_path / "model.tar.gz").exists()


def test_conflicting_model_json(tmp_path: Path) -> None:
    folder = make_model(tmp_path)
    (folder / "artifacts" / "model.json").write_text('{"other": 1}')
    with pytest.raises(ModelFolderError, match="artifacts/model.json differs from toy/model.json"):
        build_model_archive(folder, tmp_path / "model.tar.gz")
