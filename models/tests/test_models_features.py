"""Featurization: the one part that differs between the models (torchtext ngrams_iterator order)."""

from __future__ import annotations

import pytest
from training.codeload import load_code

EXPECTED = {
    "model-a": (1, ["the", "long", "run", "."]),
    "model-b": (2, ["the", "long", "run", ".", "the long", "long run", "run ."]),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_featurize(models_dir, name: str) -> None:
    features = load_code(models_dir / name / "code").features
    ngrams, expected = EXPECTED[name]
    assert features.NGRAMS == ngrams
    assert features.featurize(["the", "long", "run", "."]) == expected


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_featurize_short_inputs(models_dir, name: str) -> None:
    features = load_code(models_dir / name / "code").features
    assert features.featurize([]) == []
    assert features.featurize(["one"]) == ["one"]


def test_text_to_ids_maps_unknown_features_to_unk(models_dir) -> None:
    code = load_code(models_dir / "model-b" / "code")
    vocab = code.vocab.Vocab(["<unk>", "long", "run", "long run"])
    # long run , long walk | long run, run ",", ", long", long walk
    assert code.model.text_to_ids("Long run, long walk", vocab) == [1, 2, 0, 1, 0, 3, 0, 0, 0]
