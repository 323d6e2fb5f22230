"""Reading the AG_NEWS CSV format: ``"label","title","description"``, label 1..4, no header."""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from pathlib import Path

DEFAULT_DATA = Path(__file__).resolve().parent.parent / "data" / "ag_news_sample.csv"


class DataError(ValueError):
    """The CSV does not follow the AG_NEWS format; the message names the file and line."""


@dataclass(frozen=True)
class Example:
    label: int
    """1-based class label, as in the CSV."""
    text: str
    """Title and description joined by a space (as torchtext's AG_NEWS does)."""


def read_ag_news(path: Path, num_class: int) -> list[Example]:
    examples = []
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.reader(handle)
            for row in reader:
                if not row:
                    continue
                examples.append(_example(row, num_class, f"{path}:{reader.line_num}"))
    except (csv.Error, UnicodeDecodeError) as error:
        raise DataError(f"{path}: not a readable UTF-8 CSV file ({error})") from None
    if not examples:
        raise DataError(f"{path}: no rows")
    return examples


def _example(row: list[str], num_class: int, where: str) -> Example:
    if len(row) < 2:
        raise DataError(f'{where}: expected "label","title","description", got {len(row)} field(s)')
    label = row[0].strip()
    if not label.isdigit() or not 1 <= int(label) <= num_class:
        raise DataError(f"{where}: label must be an integer from 1 to {num_class}, got {row[0]!r}")
    return Example(label=int(label), text=" ".join(row[1:]))


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
