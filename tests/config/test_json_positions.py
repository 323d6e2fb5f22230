"""Line numbers of JSON keys and array items."""

from __future__ import annotations

from orchestrator.config.positions import json_lines, line_of


def test_lines_of_keys_and_items() -> None:
    text = '{\n  "a": {"b\\"q": 1,\n    "c": [\n      {"d": "x}]"},\n      2\n    ]\n  },\n  "e": []\n}\n'
    lines = json_lines(text)
    assert lines[("a",)] == 2
    assert lines[("a", 'b"q')] == 2
    assert lines[("a", "c")] == 3
    assert lines[("a", "c", 0)] == 4 and lines[("a", "c", 0, "d")] == 4
    assert lines[("a", "c", 1)] == 5
    assert lines[("e",)] == 8


def test_line_of_falls_back_to_the_closest_ancestor() -> None:
    lines = json_lines('{\n  "a": {\n    "b": 1\n  }\n}')
    assert line_of(lines, ["a", "missing"]) == 2
    assert line_of(lines, ["nothing"]) is None
