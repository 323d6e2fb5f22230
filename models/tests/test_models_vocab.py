"""Vocabulary: build_vocab_from_iterator semantics and the plain-JSON file format."""

from __future__ import annotations

import json

import pytest
from training.codeload import ModelCode


def test_order_is_count_descending_then_token(model_code: ModelCode) -> None:
    vocab = model_code.vocab.build_vocab([["b", "a", "c", "b"], ["c", "d", "b", "a"]])
    # counts: b=3, a=2, c=2, d=1 -> ties broken by token
    assert vocab.tokens == ["<unk>", "b", "a", "c", "d"]


def test_min_freq_drops_rare_tokens(model_code: ModelCode) -> None:
    vocab = model_code.vocab.build_vocab([["x", "y", "x", "z", "y", "x"]], min_freq=2)
    assert vocab.tokens == ["<unk>", "x", "y"]
    assert vocab["z"] == 0


def test_specials_first_and_never_counted(model_code: ModelCode) -> None:
    vocab = model_code.vocab.build_vocab([["<unk>", "<unk>", "<pad>", "a"]], specials=("<unk>", "<pad>"))
    assert vocab.tokens == ["<unk>", "<pad>", "a"]
    assert vocab.default_index == 0


def test_unknown_tokens_map_to_unk(model_code: ModelCode) -> None:
    vocab = model_code.vocab.build_vocab([["known"]])
    assert vocab.lookup_indices(["known", "unseen", ""]) == [1, 0, 0]
    assert "known" in vocab and "unseen" not in vocab


def test_unk_is_required(model_code: ModelCode) -> None:
    with pytest.raises(ValueError, match="<unk>"):
        model_code.vocab.build_vocab([["a"]], specials=())


def test_json_round_trip_is_plain_json(model_code: ModelCode, tmp_path) -> None:
    vocab = model_code.vocab.build_vocab([["zürich", "a b", "a"]])
    path = tmp_path / "vocab.json"
    vocab.save(path)
    document = json.loads(path.read_text(encoding="utf-8"))
    assert document == {"format": "text-classifier-vocab/v1", "default_index": 0, "tokens": vocab.tokens}
    loaded = model_code.vocab.Vocab.load(path)
    assert loaded.tokens == vocab.tokens and loaded["a b"] == vocab["a b"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[]", "not a vocabulary file"),
        ('{"format": "text-classifier-vocab/v1", "tokens": [1]}', "list of strings"),
        ('{"format": "text-classifier-vocab/v1", "tokens": ["a", "a"]}', "unique"),
        ('{"format": "text-classifier-vocab/v1", "tokens": ["a"], "default_index": 3}', "outside"),
    ],
)
def test_invalid_vocab_files_are_rejected(model_code: ModelCode, text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        model_code.vocab.Vocab.from_json(text)
