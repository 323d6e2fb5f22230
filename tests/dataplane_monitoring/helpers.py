"""Shared by the monitoring tests that run the real service."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

from orchestrator.dataplane.monitoring.alarm_evaluator import INTERVAL_ENV
from orchestrator.embedded.testing import ControlPlane, running_control_plane

T = TypeVar("T")


@contextlib.contextmanager
def service_evaluating_every_second(tmp_path: Path, components: list[str]) -> Iterator[ControlPlane]:
    """The embedded service with ``components``, its alarms evaluated every second (the variable is set
    only while the service process starts: it inherits it, the test process and other suites do not)."""
    saved = os.environ.get(INTERVAL_ENV)
    os.environ[INTERVAL_ENV] = "1"
    try:
        started = running_control_plane(tmp_path, components=components)
        cp = started.__enter__()
    finally:
        if saved is None:
            os.environ.pop(INTERVAL_ENV, None)
        else:
            os.environ[INTERVAL_ENV] = saved
    try:
        yield cp
    finally:
        started.__exit__(None, None, None)


def wait_for(check: Callable[[], T | None], timeout: float = 60.0) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError("timed out")
