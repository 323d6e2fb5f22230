"""Fixtures of the load-test area: a fake HTTP server in its own process (loopback, killed after)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator

import pytest

ServerFactory = Callable[..., str]


@pytest.fixture
def fake_server() -> Iterator[ServerFactory]:
    """``fake_server(mode="fixed", **options) -> base URL``; every server is stopped at teardown."""
    procs: list[subprocess.Popen[str]] = []

    def start(mode: str = "fixed", **options: float) -> str:
        cmd = [sys.executable, "-m", "orchestrator.loadtest.fakeserver", "--port", "0", "--mode", mode]
        for key, value in options.items():
            cmd += [f"--{key.replace('_', '-')}", str(value)]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        procs.append(proc)
        line = proc.stdout.readline() if proc.stdout else ""
        if not line.startswith("PORT "):
            raise RuntimeError(f"fake server did not start: {line!r}")
        return f"http://127.0.0.1:{int(line.split()[1])}"

    yield start
    for proc in procs:
        proc.kill()
        proc.wait(timeout=5)
