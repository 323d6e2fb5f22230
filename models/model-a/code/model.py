"""The classifier and its artifacts: model.json config, EmbeddingBag network, text -> token ids, loading.

Shared piece: byte-identical in every model's ``code/`` directory (a test enforces it); what differs
between models is ``features.py`` and the hyper-parameters in ``model.json``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from features import NGRAMS, featurize
from tokenizer import basic_english
from torch import nn
from vocab import Vocab

CONFIG_FILE = "model.json"
WEIGHTS_FILE = "model.pt"
VOCAB_FILE = "vocab.json"


@dataclass(frozen=True)
class ServingLimits:
    max_batch_size: int = 64
    max_text_chars: int = 10_000


@dataclass(frozen=True)
class ModelConfig:
    """The committed hyper-parameters (``model.json``); ``training`` is read by the trainer only."""

    name: str
    labels: tuple[str, ...]
    ngrams: int
    embed_dim: int
    min_freq: int
    serving: ServingLimits = ServingLimits()
    training: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ModelConfig:
        labels = _field(data, "labels", list)
        if len(labels) < 2 or not all(isinstance(label, str) and label for label in labels):
            raise ValueError("model.json: 'labels' must list at least two non-empty names")
        serving = _field(data, "serving", dict, default={})
        config = cls(
            name=_field(data, "name", str),
            labels=tuple(labels),
            ngrams=_positive(data, "ngrams"),
            embed_dim=_positive(data, "embed_dim"),
            min_freq=_positive(data, "min_freq"),
            serving=ServingLimits(
                max_batch_size=_positive(serving, "max_batch_size", ServingLimits.max_batch_size),
                max_text_chars=_positive(serving, "max_text_chars", ServingLimits.max_text_chars),
            ),
            training=_field(data, "training", dict, default={}),
        )
        if config.ngrams != NGRAMS:
            raise ValueError(f"model.json: ngrams is {config.ngrams} but code/features.py implements ngrams={NGRAMS}")
        return config

    @classmethod
    def load(cls, path: Path) -> ModelConfig:
        return cls.from_dict(json.loads(path.read_text(encoding="utf-8")))


def _field(data: Mapping[str, Any], key: str, kind: type, default: Any = None) -> Any:
    if key not in data:
        if default is None:
            raise ValueError(f"model.json: '{key}' is required")
        return default
    value = data[key]
    if not isinstance(value, kind) or isinstance(value, bool):
        raise ValueError(f"model.json: '{key}' must be a {kind.__name__}")  # noqa: TRY004 - one error type for bad config
    return value


def _positive(data: Mapping[str, Any], key: str, default: int | None = None) -> int:
    value = _field(data, key, int, default)
    if value < 1:
        raise ValueError(f"model.json: '{key}' must be >= 1")
    return int(value)


class TextClassifier(nn.Module):
    """EmbeddingBag (mean of the token embeddings of each text) followed by a linear layer."""

    def __init__(self, vocab_size: int, embed_dim: int, num_class: int) -> None:
        super().__init__()
        self.embedding = nn.EmbeddingBag(vocab_size, embed_dim, mode="mean")
        self.fc = nn.Linear(embed_dim, num_class)

    def init_weights(self, init_range: float = 0.5) -> None:
        self.embedding.weight.data.uniform_(-init_range, init_range)
        self.fc.weight.data.uniform_(-init_range, init_range)
        self.fc.bias.data.zero_()

    def forward(self, text: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
        return self.fc(self.embedding(text, offsets))


def text_to_ids(text: str, vocab: Vocab) -> list[int]:
    """Tokenize (basic_english), featurize (this model's n-grams), look up (unknown -> ``<unk>``)."""
    return vocab.lookup_indices(featurize(basic_english(text)))


def collate(id_lists: Sequence[Sequence[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    """One flat index tensor plus the start offset of each text (cumulative lengths), for EmbeddingBag."""
    lengths = [len(ids) for ids in id_lists]
    offsets = torch.tensor([0, *lengths[:-1]], dtype=torch.int64).cumsum(dim=0)
    text = torch.tensor([index for ids in id_lists for index in ids], dtype=torch.int64)
    return text, offsets


@dataclass
class TextModel:
    """Everything ``model_fn`` loads: config, vocabulary and the network in eval mode."""

    config: ModelConfig
    vocab: Vocab
    network: TextClassifier

    def probabilities(self, id_lists: Sequence[Sequence[int]]) -> torch.Tensor:
        """Class probabilities, one row per text, computed in a single forward pass."""
        text, offsets = collate(id_lists)
        with torch.inference_mode():
            return torch.softmax(self.network(text, offsets), dim=1)


def load_model(model_dir: Path) -> TextModel:
    """Load ``model.json``, ``vocab.json`` and the state_dict in ``model.pt`` (``weights_only=True``)."""
    config = ModelConfig.load(model_dir / CONFIG_FILE)
    vocab = Vocab.load(model_dir / VOCAB_FILE)
    state = torch.load(model_dir / WEIGHTS_FILE, map_location="cpu", weights_only=True)
    vocab_size, embed_dim = state["embedding.weight"].shape
    num_class = state["fc.weight"].shape[0]
    if vocab_size != len(vocab):
        raise ValueError(f"{WEIGHTS_FILE} has {vocab_size} embeddings but {VOCAB_FILE} has {len(vocab)} tokens")
    if num_class != len(config.labels):
        raise ValueError(f"{WEIGHTS_FILE} has {num_class} classes but {CONFIG_FILE} lists {len(config.labels)} labels")
    network = TextClassifier(vocab_size, embed_dim, num_class)
    network.load_state_dict(state)
    network.eval()
    return TextModel(config=config, vocab=vocab, network=network)
