"""Small builders shared by the load-test tests."""

from __future__ import annotations

from orchestrator.loadtest.cases import Case
from orchestrator.loadtest.engine import Target
from orchestrator.loadtest.targets import build_target

CASES = [
    Case(
        "world",
        b'{"sentence":"The new president has called for an emergency conference."}',
        expected={"success": "true"},
    ),
    Case("sports", b'{"sentence":"Baseball is one of the most popular sports."}', expected={"success": "true"}),
]


def target(base_url: str, path: str = "/text") -> Target:
    return build_target(base_url + path, CASES, kind="api", api_key="k")
