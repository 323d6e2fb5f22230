"""Featurization of model-a: unigrams only (torchtext ``ngrams_iterator(tokens, 1)``).

This is the one file that differs between the model folders' ``code/`` directories.
"""

from __future__ import annotations

from collections.abc import Sequence

NGRAMS = 1


def featurize(tokens: Sequence[str]) -> list[str]:
    """The tokens themselves."""
    return list(tokens)
