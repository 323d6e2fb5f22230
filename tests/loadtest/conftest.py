"""Fixtures of the load-test area: a fake HTTP server in its own process (loopback, killed after)."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator

import pytest

from orchestrator.loadtest import fakeserver

ServerFactory = Callable[..., str]


@pytest.fixture
def fake_server() -> Iterator[ServerFactory]:
    """``fake_server(mode="fixed", **options) -> base URL``; every server is stopped at teardown."""
    procs: list[subprocess.Popen[str]] = []

    def start(mode: str = "fixed", **options: float) -> str:
        proc, port = fakeserver.spawn(mode, **options)
        procs.append(proc)
        return f"http://127.0.0.1:{port}"

    yield start
    for proc in procs:
        proc.kill()
        proc.wait(timeout=5)
