"""Fixtures for the embedded control plane: the real server process, started the way `local up` does.

``control_plane`` is shared by a module (one start, ~3 s) and hosts the diagnostic event log so the
event hooks can be observed; lifecycle tests start their own. After the session, no server process
started under pytest's temporary directory may be left alive.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator.embedded.server import MODULE
from orchestrator.embedded.testing import ControlPlane, running_control_plane

EVENT_LOG = "orchestrator.embedded.event_log:EventLog"


@pytest.fixture(scope="module")
def control_plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    with running_control_plane(tmp_path_factory.mktemp("control-plane"), components=[EVENT_LOG]) as cp:
        yield cp


def our_server_pids(under: Path) -> list[int]:
    """Pids of live ``orchestrator.embedded.server`` processes whose state dir lies under ``under``."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            argv = (proc / "cmdline").read_bytes().decode(errors="replace").split("\0")
            state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if MODULE in argv and state != "Z" and any(a.startswith(str(under)) for a in argv):
            pids.append(int(proc.name))
    return pids


@pytest.fixture(scope="session", autouse=True)
def _no_leaked_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    yield
    base = tmp_path_factory.getbasetemp().resolve()
    leaked = our_server_pids(base)
    described = {pid: (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode() for pid in leaked}
    for pid in leaked:  # clean up so a failure does not leave them behind, then fail loudly
        os.kill(pid, signal.SIGKILL)
    assert not leaked, f"embedded server processes leaked by the tests: {described}"
