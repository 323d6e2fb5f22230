"""basic_english parity: expected token lists written by hand from the torchtext rules.

Rules, in order after lower-casing: ' -> " '  ", " removed, . , <br /> -> space, , ( ) ! ? padded,
; and : -> space, whitespace runs -> one space, then split.
"""

from __future__ import annotations

import pytest
from training.codeload import ModelCode

CASES = [
    ("plain words", "Hello World", ["hello", "world"]),
    ("comma and bang", "Hello, World!", ["hello", ",", "world", "!"]),
    ("apostrophe splits contractions", "Don't stop", ["don", "'", "t", "stop"]),
    ("possessive", "Saturn's moon", ["saturn", "'", "s", "moon"]),
    ("single quotes are tokens", "'quoted'", ["'", "quoted", "'"]),
    ("double quotes vanish", 'He said "yes"', ["he", "said", "yes"]),
    ("quotes glue neighbours", 'a"b', ["ab"]),
    ("abbreviation periods", "U.S. stocks", ["u", ".", "s", ".", "stocks"]),
    ("decimal number", "$5.00, 10%", ["$5", ".", "00", ",", "10%"]),
    ("ellipsis", "Wait...", ["wait", ".", ".", "."]),
    ("punctuation run", "Really?!?", ["really", "?", "!", "?"]),
    ("br tag", "line one<br />line two", ["line", "one", "line", "two"]),
    ("upper-case br tag", "A<BR />B", ["a", "b"]),
    ("br without space is not the tag", "a<br/>b", ["a<br/>b"]),
    ("br after apostrophe and period", "It's<br />fine.", ["it", "'", "s", "fine", "."]),
    ("parentheses", "(see: note; ok)", ["(", "see", "note", "ok", ")"]),
    ("colon and semicolon become spaces", "10:30;later", ["10", "30", "later"]),
    ("repeated commas", "a,,b", ["a", ",", ",", "b"]),
    ("hyphen and slash stay", "state-of-the-art and/or", ["state-of-the-art", "and/or"]),
    ("tabs and newlines", "a\tb\nc\r\nd  e", ["a", "b", "c", "d", "e"]),
    ("unicode letters lower-cased", "Café CRÈME naïve", ["café", "crème", "naïve"]),
    ("dotted capital I", "İstanbul", ["i\u0307stanbul"]),
    ("non-breaking and em spaces", "a\u00a0b\u2003c", ["a", "b", "c"]),
    ("symbols kept", "I ❤ NY & co", ["i", "❤", "ny", "&", "co"]),
    ("only quotes", '""', []),
    ("only separators", " ;: \t\n", []),
    ("empty", "", []),
]


@pytest.mark.parametrize(("text", "expected"), [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_basic_english_matches_the_reference_rules(model_code: ModelCode, text: str, expected: list[str]) -> None:
    assert model_code.tokenizer.basic_english(text) == expected


def test_seed_sentence_tokens(model_code: ModelCode) -> None:
    assert model_code.tokenizer.basic_english("Stock investing has higher returns in the long run.") == [
        "stock", "investing", "has", "higher", "returns", "in", "the", "long", "run", ".",
    ]  # fmt: skip
