"""Line numbers of the keys and array items of a JSON text, by path, so problems can point
into the file (``json.loads`` keeps no positions). Only called on text ``json.loads`` accepted."""

from __future__ import annotations

import bisect
import json

Path_ = tuple[str | int, ...]
_WS = " \t\r\n"


class _Scanner:
    def __init__(self, text: str):
        self.text = text
        self.pos = 0
        self.newlines = [i for i, ch in enumerate(text) if ch == "\n"]
        self.lines: dict[Path_, int] = {}

    def line(self, pos: int) -> int:
        return bisect.bisect_left(self.newlines, pos) + 1

    def skip(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in _WS:
            self.pos += 1

    def string(self) -> str:
        start = self.pos
        self.pos += 1  # opening quote
        while self.text[self.pos] != '"':
            self.pos += 2 if self.text[self.pos] == "\\" else 1
        self.pos += 1
        return str(json.loads(self.text[start : self.pos]))

    def value(self, path: Path_) -> None:
        self.skip()
        char = self.text[self.pos]
        if char == "{":
            self.pos += 1
            self.skip()
            if self.text[self.pos] == "}":
                self.pos += 1
                return
            while True:
                self.skip()
                key_line = self.line(self.pos)
                key = self.string()
                self.lines[(*path, key)] = key_line
                self.skip()
                self.pos += 1  # ':'
                self.value((*path, key))
                self.skip()
                closing = self.text[self.pos]
                self.pos += 1
                if closing == "}":
                    return
        elif char == "[":
            self.pos += 1
            self.skip()
            if self.text[self.pos] == "]":
                self.pos += 1
                return
            index = 0
            while True:
                self.skip()
                self.lines[(*path, index)] = self.line(self.pos)
                self.value((*path, index))
                self.skip()
                closing = self.text[self.pos]
                self.pos += 1
                if closing == "]":
                    return
                index += 1
        elif char == '"':
            self.string()
        else:
            while self.pos < len(self.text) and self.text[self.pos] not in _WS + ",]}":
                self.pos += 1


def json_lines(text: str) -> dict[Path_, int]:
    """``{("serving", "models", 1, "variant", "weight"): 32, ...}`` for a valid JSON text."""
    scanner = _Scanner(text)
    try:
        scanner.value(())
    except (IndexError, ValueError):
        return scanner.lines  # best effort: positions are a convenience, never an error
    return scanner.lines


def line_of(lines: dict[Path_, int], parts: list[str | int]) -> int | None:
    """The line of ``parts`` or of its closest ancestor present in the file."""
    for end in range(len(parts), 0, -1):
        found = lines.get(tuple(parts[:end]))
        if found is not None:
            return found
    return None
