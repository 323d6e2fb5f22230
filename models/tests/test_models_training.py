"""The shared trainer: deterministic artifacts, safe formats, CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from training.cli import main, run
from training.config import TrainingConfig

QUIET = {"log": lambda line: None}


def test_same_data_gives_byte_identical_artifacts(models_dir: Path, model_name: str, tmp_path: Path) -> None:
    first = run(models_dir / model_name, tmp_path / "first", epochs=3, **QUIET)
    second = run(models_dir / model_name, tmp_path / "second", epochs=3, **QUIET)
    for path in first.files:
        assert path.read_bytes() == (tmp_path / "second" / path.name).read_bytes(), path.name
    assert [path.name for path in second.files] == ["model.pt", "vocab.json", "training.json"]


def test_another_seed_gives_other_weights(models_dir: Path, tmp_path: Path) -> None:
    run(models_dir / "model-a", tmp_path / "seed0", epochs=1, seed=0, **QUIET)
    run(models_dir / "model-a", tmp_path / "seed1", epochs=1, seed=1, **QUIET)
    assert (tmp_path / "seed0" / "model.pt").read_bytes() != (tmp_path / "seed1" / "model.pt").read_bytes()
    assert (tmp_path / "seed0" / "vocab.json").read_bytes() == (tmp_path / "seed1" / "vocab.json").read_bytes()


def test_training_restores_global_torch_settings(models_dir: Path, tmp_path: Path) -> None:
    threads = torch.get_num_threads()
    run(models_dir / "model-a", tmp_path, epochs=1, **QUIET)
    assert torch.get_num_threads() == threads
    assert not torch.are_deterministic_algorithms_enabled()


def test_weights_are_a_plain_state_dict(trained) -> None:
    state = torch.load(trained.model_dir / "model.pt", weights_only=True)
    vocab = json.loads((trained.model_dir / "vocab.json").read_text(encoding="utf-8"))
    assert sorted(state) == ["embedding.weight", "fc.bias", "fc.weight"]
    assert all(isinstance(tensor, torch.Tensor) for tensor in state.values())
    assert state["embedding.weight"].shape == (len(vocab["tokens"]), 32)
    assert state["fc.weight"].shape == (4, 32)
    assert vocab["tokens"][0] == "<unk>" and vocab["default_index"] == 0


def test_model_b_vocabulary_holds_bigrams(train_model) -> None:
    unigrams = train_model("model-a").handler_model.vocab.tokens
    with_bigrams = train_model("model-b").handler_model.vocab.tokens
    assert not any(" " in token for token in unigrams)
    assert "united states" in with_bigrams and "long run" in with_bigrams
    assert set(unigrams) < set(with_bigrams)


def test_sample_is_learned(trained) -> None:
    assert trained.result.trained.train_accuracy >= 0.99
    summary = json.loads((trained.model_dir / "training.json").read_text(encoding="utf-8"))
    assert summary["model"] == trained.name
    assert summary["data"]["file"] == "ag_news_sample.csv" and summary["data"]["examples"] >= 400
    assert len(summary["inputs_sha256"]) == 64
    assert summary["train_accuracy"] == round(trained.result.trained.train_accuracy, 6)
    assert len(summary["epochs"]) == summary["hyperparameters"]["epochs"]


def test_learning_rate_follows_step_schedule(trained) -> None:
    config = TrainingConfig.from_dict(trained.code.model.ModelConfig.load(trained.model_dir / "model.json").training)
    rates = [stats.lr for stats in trained.result.trained.epochs]
    assert rates[0] == config.lr
    assert rates[config.lr_step_size] == pytest.approx(config.lr * config.lr_gamma)


def test_inputs_fingerprint_tracks_data_and_config(models_dir: Path, tmp_path: Path) -> None:
    from training.cli import inputs_sha256
    from training.data import DEFAULT_DATA

    copy = tmp_path / "data.csv"
    copy.write_bytes(DEFAULT_DATA.read_bytes())
    baseline = inputs_sha256(models_dir / "model-a", copy)
    assert baseline != inputs_sha256(models_dir / "model-b", copy)
    copy.write_bytes(DEFAULT_DATA.read_bytes() + b'"1","extra","row"\n')
    assert baseline != inputs_sha256(models_dir / "model-a", copy)


def test_training_config_defaults_are_the_reference_values() -> None:
    config = TrainingConfig.from_dict({})
    assert (config.lr, config.batch_size, config.lr_gamma, config.grad_clip_norm, config.init_range) == (
        4.0, 16, 0.1, 0.1, 0.5,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("training", "message"),
    [({"epochs": 0}, "epochs must be >= 1"), ({"lr": "fast"}, "lr must be a number"), ({"epoch": 3}, "unknown")],
)
def test_training_config_is_validated(training: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TrainingConfig.from_dict(training)


def test_cli_reports_bad_data_without_traceback(models_dir: Path, tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text('"9","t","d"\n', encoding="utf-8")
    assert main(models_dir / "model-a", ["--output-dir", str(tmp_path / "out"), "--data", str(bad)]) == 1
    assert "bad.csv:1: label must be an integer from 1 to 4" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_train_script_runs_as_the_packager_calls_it(models_dir: Path, tmp_path: Path) -> None:
    """``python models/<name>/train.py --output-dir ...`` from any working directory."""
    completed = subprocess.run(
        [sys.executable, str(models_dir / "model-b" / "train.py"), "--output-dir", str(tmp_path), "--epochs", "2"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    assert completed.returncode == 0, completed.stderr
    lines = completed.stdout.splitlines()
    assert lines[1].startswith("epoch   1/2 |") and lines[2].startswith("epoch   2/2 |")
    assert "train accuracy" in lines[-1]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["model.pt", "training.json", "vocab.json"]
