"""package_environment / `orchestrator package`: validate first, train missing, build, report."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest
from fakemodels import make_model

from orchestrator.cli import main
from orchestrator.config import load_environment
from orchestrator.packaging import package_environment

REPO = Path(__file__).resolve().parents[2]

TRAIN = """
import argparse, json, pathlib
parser = argparse.ArgumentParser()
parser.add_argument("--output-dir", required=True)
args = parser.parse_args()
out = pathlib.Path(args.output_dir)
out.mkdir(parents=True, exist_ok=True)
print("epoch 1 accuracy 0.99")
(out / "keywords.json").write_text(json.dumps({"president": 1, "baseball": 2, "stock": 3, "science": 4}))
"""


@pytest.fixture()
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "project"
    (root / "environments").mkdir(parents=True)
    (root / "terraform").mkdir()
    for name in ("schema.json", "base.json", "local.json"):
        shutil.copy(REPO / "environments" / name, root / "environments" / name)
    for model in ("model-a", "model-b"):
        folder = make_model(root / "models", model)
        shutil.rmtree(folder / "artifacts")
        (folder / "train.py").write_text(TRAIN)
    lam = root / "lambda_src" / "predictor"
    lam.mkdir(parents=True)
    (lam / "handler.py").write_text("def handler(event, context):\n    return {}\n")
    monkeypatch.setenv("ORCHESTRATOR_ROOT", str(root))
    return root


def test_package_trains_then_builds(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["package", "--env", "local"]) == 0
    out = capsys.readouterr().out
    assert "[train models/model-a] epoch 1 accuracy 0.99" in out
    archive = root / ".orchestrator" / "build" / "local" / "models" / "model-a" / "model.tar.gz"
    zip_path = root / ".orchestrator" / "build" / "local" / "lambdas" / "predictor.zip"
    assert archive.is_file() and zip_path.is_file()
    table = out[out.index("KIND") :].splitlines()
    assert table[0].split() == ["KIND", "NAME", "SIZE", "SHA256", "PATH"]
    assert [row.split()[:2] for row in table[1:]] == [
        ["model", "model-a"],
        ["model", "model-b"],
        ["lambda", "predictor"],
    ]
    assert table[1].endswith(".orchestrator/build/local/models/model-a/model.tar.gz")
    first = archive.read_bytes()

    assert main(["package", "--env", "local"]) == 0
    assert "[train" not in capsys.readouterr().out  # artifacts exist now
    assert archive.read_bytes() == first


def test_result_maps_to_render_context(root: Path) -> None:
    env = load_environment("local")
    result = package_environment(env, out=io.StringIO())
    context = result.to_context()
    assert sorted(context) == ["lambdas", "models"]
    model = context["models"]["model-a"]
    assert sorted(model) == ["path", "sha256", "size"] and Path(model["path"]).is_absolute()
    assert sorted(context["lambdas"]["predictor"]) == ["path", "sha256", "size", "source_code_hash"]
    assert result.trained == ["model-a", "model-b"]
    json.dumps(context)  # plain data


def test_invalid_environment_runs_nothing(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (root / "environments" / "local.json").write_text(
        json.dumps({"extends": "base", "project": {"stage": "local"}, "api": {"method": "FETCH"}})
    )
    assert main(["package", "--env", "local"]) == 2
    captured = capsys.readouterr()
    assert 'api.method: must be one of "POST", "PUT", "GET", got "FETCH"' in captured.err
    assert not (root / "models" / "model-a" / "artifacts").exists()
    assert not (root / ".orchestrator").exists()


def test_failing_training_is_reported(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (root / "models" / "model-b" / "train.py").write_text("import sys\nprint('out of data')\nsys.exit(3)\n")
    assert main(["package", "--env", "local"]) == 1
    err = capsys.readouterr().err
    assert "error: models/model-b/train.py exited with status 3; last output:\nout of data" in err


def test_no_train_flag(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["package", "--env", "local", "--no-train"]) == 1
    assert "models/model-a/artifacts/ is missing; run models/model-a/train.py" in capsys.readouterr().err


def test_destroy_mode_never_trains_or_fails(root: Path) -> None:
    (root / "models" / "model-b" / "code" / "inference.py").write_text("broken(")
    env = load_environment("local")
    result = package_environment(env, train_missing=False, require_artifacts=False)
    assert result.models["model-a"].missing and result.models["model-a"].sha256 == "0" * 64
    assert result.models["model-b"].missing
    assert not (root / "models" / "model-a" / "artifacts").exists()
    assert result.lambdas["predictor"].size > 0 and not result.lambdas["predictor"].missing
    assert result.lambdas["load_tester"].missing  # expected by the templates, absent here
    assert sorted(result.to_context()["lambdas"]) == ["load_tester", "predictor"]


def test_destroy_mode_reuses_the_last_build(root: Path) -> None:
    env = load_environment("local")
    built = package_environment(env, out=io.StringIO())
    for model in ("model-a", "model-b"):
        shutil.rmtree(root / "models" / model / "artifacts")
    again = package_environment(env, train_missing=False, require_artifacts=False)
    assert again.models["model-a"].sha256 == built.models["model-a"].sha256
    assert not again.models["model-a"].missing


def test_unsafe_model_folder_is_refused(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (root / "models" / "model-a" / "code" / "inference.py").write_text("def model_fn(d):\n    pass\n")
    assert main(["package", "--env", "local"]) == 2
    err = capsys.readouterr().err
    assert (
        "cannot package models/model-a: models/model-a/code/inference.py does not define input_fn, predict_fn, output_fn"
        in err
    )
    assert not (root / "models" / "model-b" / "artifacts").exists()  # refused before any training
