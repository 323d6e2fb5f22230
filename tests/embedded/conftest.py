"""Fixtures for the embedded control plane: the real server process, started the way `local up` does.

``control_plane`` is shared by a module (one start, ~3 s) and hosts the diagnostic event log so the
event hooks can be observed; lifecycle tests start their own. The check that no server process
outlives the session lives in tests/conftest.py (it must run after every suite's fixtures).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from orchestrator.embedded.testing import ControlPlane, running_control_plane

EVENT_LOG = "orchestrator.embedded.event_log:EventLog"


@pytest.fixture(scope="module")
def control_plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    with running_control_plane(tmp_path_factory.mktemp("control-plane"), components=[EVENT_LOG]) as cp:
        yield cp
