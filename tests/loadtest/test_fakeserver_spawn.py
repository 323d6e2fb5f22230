"""fakeserver.spawn: the one way tests and benchmarks start the do-nothing server."""

from __future__ import annotations

import urllib.request

import pytest

from orchestrator.loadtest import fakeserver


def test_spawn_answers_on_its_port_and_a_bad_start_is_an_error() -> None:
    proc, port = fakeserver.spawn("fixed")
    try:
        with urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}/x", data=b"{}"), timeout=5) as answer:
            assert answer.status == 200
    finally:
        proc.terminate()
        proc.wait(timeout=5)
    with pytest.raises(RuntimeError, match="did not start"):  # argparse refuses the mode: no PORT line
        fakeserver.spawn("no-such-mode")
