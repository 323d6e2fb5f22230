"""Token vocabulary with torchtext ``build_vocab_from_iterator`` semantics, stored as plain JSON.

Shared piece: byte-identical in every model's ``code/`` directory (a test enforces it).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

UNK = "<unk>"
FORMAT = "text-classifier-vocab/v1"


class Vocab:
    """Maps tokens to indices; tokens outside the vocabulary map to ``default_index`` (``<unk>`` = 0)."""

    def __init__(self, tokens: Sequence[str], default_index: int = 0) -> None:
        if len(set(tokens)) != len(tokens):
            raise ValueError("vocabulary tokens must be unique")
        if not 0 <= default_index < len(tokens):
            raise ValueError(f"default_index {default_index} is outside the vocabulary (size {len(tokens)})")
        self.tokens: list[str] = list(tokens)
        self.default_index = default_index
        self._index: dict[str, int] = {token: i for i, token in enumerate(self.tokens)}

    def __len__(self) -> int:
        return len(self.tokens)

    def __contains__(self, token: object) -> bool:
        return token in self._index

    def __getitem__(self, token: str) -> int:
        return self._index.get(token, self.default_index)

    def lookup_indices(self, tokens: Iterable[str]) -> list[int]:
        return [self._index.get(token, self.default_index) for token in tokens]

    def to_json(self) -> str:
        document = {"format": FORMAT, "default_index": self.default_index, "tokens": self.tokens}
        return json.dumps(document, ensure_ascii=False, indent=0) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Vocab:
        document = json.loads(text)
        if not isinstance(document, dict) or document.get("format") != FORMAT:
            raise ValueError(f"not a vocabulary file (expected format {FORMAT!r})")
        tokens = document.get("tokens")
        if not isinstance(tokens, list) or not all(isinstance(token, str) for token in tokens):
            raise ValueError("vocabulary 'tokens' must be a list of strings")
        return cls(tokens, int(document.get("default_index", 0)))

    def save(self, path: Path) -> None:
        path.write_text(self.to_json(), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> Vocab:
        return cls.from_json(path.read_text(encoding="utf-8"))


def build_vocab(token_lists: Iterable[Iterable[str]], min_freq: int = 1, specials: Sequence[str] = (UNK,)) -> Vocab:
    """Count tokens, order by (-count, token), drop those below ``min_freq``, put ``specials`` first.

    Unknown tokens map to ``<unk>``, as after ``vocab.set_default_index(vocab["<unk>"])``.
    """
    if min_freq < 1:
        raise ValueError("min_freq must be >= 1")
    if UNK not in specials:
        raise ValueError(f"specials must include {UNK!r}")
    counter: Counter[str] = Counter()
    for tokens in token_lists:
        counter.update(tokens)
    for special in specials:
        counter.pop(special, None)
    ordered = sorted(counter.items(), key=lambda item: (-item[1], item[0]))
    tokens = list(specials) + [token for token, count in ordered if count >= min_freq]
    return Vocab(tokens, default_index=tokens.index(UNK))
