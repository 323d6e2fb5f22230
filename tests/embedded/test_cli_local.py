"""``orchestrator local up|down|status`` through the real CLI entry point."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.cli import main
from orchestrator.embedded.testing import free_port

pytestmark = pytest.mark.timeout(120)


def test_local_up_status_down(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    state = str(tmp_path / "embedded")
    port = free_port()
    assert main(["local", "status", "--state-dir", state]) == 3
    assert "not running" in capsys.readouterr().out

    try:
        assert main(["local", "up", "--port", str(port), "--state-dir", state, "--no-default-components"]) == 0
        assert f"started: http://127.0.0.1:{port}" in capsys.readouterr().out
        assert main(["local", "up", "--port", str(port), "--state-dir", state, "--no-default-components"]) == 0
        assert "already running" in capsys.readouterr().out

        assert main(["local", "status", "--state-dir", state]) == 0
        out = capsys.readouterr().out
        for field in (f"url:        http://127.0.0.1:{port}", "pid:", "uptime:", "log file:", f"state dir:  {state}"):
            assert field in out
    finally:
        assert main(["local", "down", "--state-dir", state]) == 0
    assert "stopped pid" in capsys.readouterr().out
    assert main(["local", "status", "--state-dir", state]) == 3


def test_local_rejects_a_bad_port(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["local", "up", "--port", "70000"]) == 2
    assert "not a port number" in capsys.readouterr().err
