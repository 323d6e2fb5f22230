"""The hand-written AG_NEWS-format sample and the CSV reader."""

from __future__ import annotations

import collections
from pathlib import Path

import pytest
from training.data import DEFAULT_DATA, DataError, read_ag_news

SEED_SENTENCES = [
    "The new president has called for an emergency conference for international cooperation.",
    "Baseball is one of the most popular sports in the United States.",
    "Stock investing has higher returns in the long run.",
    "The development of science accelerated the development of mankind.",
]


def test_sample_has_at_least_100_rows_per_class() -> None:
    examples = read_ag_news(DEFAULT_DATA, num_class=4)
    counts = collections.Counter(example.label for example in examples)
    assert sorted(counts) == [1, 2, 3, 4]
    assert min(counts.values()) >= 100, counts
    assert len({example.text for example in examples}) == len(examples), "duplicate rows"


def test_sample_rows_are_three_quoted_fields() -> None:
    for number, line in enumerate(DEFAULT_DATA.read_text(encoding="utf-8").splitlines(), start=1):
        assert line.startswith('"') and line.endswith('"') and line[1] in "1234" and line[2:5] == '","', number


def test_seed_sentences_are_not_in_the_sample() -> None:
    text = DEFAULT_DATA.read_text(encoding="utf-8").lower()
    for sentence in SEED_SENTENCES:
        assert sentence.lower().rstrip(".") not in text


def test_title_and_description_are_joined(tmp_path: Path) -> None:
    path = tmp_path / "news.csv"
    path.write_text('"2","Title, with comma","Say ""hi"""\n\n"4","T","D"\n', encoding="utf-8")
    examples = read_ag_news(path, num_class=4)
    assert [(e.label, e.text) for e in examples] == [(2, 'Title, with comma Say "hi"'), (4, "T D")]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('"5","t","d"\n', r"news.csv:1: label must be an integer from 1 to 4"),
        ('"1","t","d"\n"x","t","d"\n', r"news.csv:2: label"),
        ('"1"\n', r"expected \"label\",\"title\",\"description\""),
        ("", "no rows"),
    ],
)
def test_bad_rows_name_the_line(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "news.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DataError, match=message):
        read_ag_news(path, num_class=4)


def test_non_utf8_file_is_a_data_error(tmp_path: Path) -> None:
    path = tmp_path / "news.csv"
    path.write_bytes(b'"1","caf\xe9","d"\n')
    with pytest.raises(DataError, match="UTF-8"):
        read_ag_news(path, num_class=4)
