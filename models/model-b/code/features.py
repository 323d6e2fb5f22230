"""Featurization of model-b: unigrams then space-joined bigrams (torchtext ``ngrams_iterator(tokens, 2)``).

This is the one file that differs between the model folders' ``code/`` directories.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

NGRAMS = 2


def featurize(tokens: Sequence[str]) -> list[str]:
    """All unigrams in order, followed by every adjacent pair joined by a space."""
    return list(tokens) + [f"{first} {second}" for first, second in pairwise(tokens)]
