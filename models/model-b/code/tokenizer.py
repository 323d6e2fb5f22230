"""The torchtext ``basic_english`` tokenizer, re-implemented rule for rule (no torchtext dependency).

Shared piece: this file is byte-identical in every model's ``code/`` directory (a test enforces it),
because each ``code/`` directory is shipped on its own in ``model.tar.gz``.
"""

from __future__ import annotations

import re

# Applied in this order after lower-casing, exactly as torchtext.data.utils._basic_english_normalize.
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), replacement)
    for pattern, replacement in (
        (r"\'", " '  "),
        (r"\"", ""),
        (r"\.", " . "),
        (r"<br \/>", " "),
        (r",", " , "),
        (r"\(", " ( "),
        (r"\)", " ) "),
        (r"\!", " ! "),
        (r"\?", " ? "),
        (r"\;", " "),
        (r"\:", " "),
        (r"\s+", " "),
    )
)


def basic_english(line: str) -> list[str]:
    """Lower-case ``line``, apply the basic_english rules in order, split on whitespace."""
    line = line.lower()
    for pattern, replacement in _PATTERNS:
        line = pattern.sub(replacement, line)
    return line.split()
