"""Lifecycle of the background service: up is idempotent, status reports, down stops only ours."""

from __future__ import annotations

import http.server
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from orchestrator.embedded import process
from orchestrator.embedded.testing import free_port, running_control_plane
from orchestrator.errors import UsageError

pytestmark = pytest.mark.timeout(120)


def alive(pid: int) -> bool:
    return process._alive(pid)


@pytest.fixture
def foreign_http_server() -> Iterator[int]:
    """Some other program answering HTTP on a loopback port."""
    server = http.server.ThreadingHTTPServer((process.HOST, 0), http.server.SimpleHTTPRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def foreign_process() -> Iterator[subprocess.Popen[bytes]]:
    """A live process that is not ours (its pid may end up in a stale pid file)."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait(10)


def write_pid_file(state_dir: Path, pid: int, port: int) -> None:
    state_dir.mkdir(parents=True, exist_ok=True)
    process._write_record(state_dir, pid, {"pid": pid, "port": port, "started_at": time.time()})


def test_up_is_idempotent_and_status_reports_everything(tmp_path: Path) -> None:
    with running_control_plane(tmp_path) as cp:
        again = process.up(cp.port, cp.state_dir)
        assert not again.started and again.notes == ["already running"]
        assert again.status.pid == cp.pid

        st = process.status(cp.state_dir)
        assert st.running and st.healthy
        assert st.url == f"http://127.0.0.1:{cp.port}" and st.pid == cp.pid and st.port == cp.port
        assert st.uptime_seconds is not None and st.uptime_seconds >= 0
        assert st.state_dir == cp.state_dir and st.log_path == cp.state_dir / "service.log"
        assert st.health is not None and "patch_sagemaker_update_endpoint" in st.health["patches"]
        meta = (cp.state_dir / "service.json").read_text()
        assert f'"port": {cp.port}' in meta and '"started_at"' in meta and '"log_path"' in meta
        assert (cp.state_dir / "service.pid").read_text().strip() == str(cp.pid)
        log = st.log_path.read_text()
        assert "starting:" in log and "embedded control plane ready" in log

        env = SimpleNamespace(name="local", data={"target": {"kind": "embedded", "control_plane_port": cp.port}})
        assert process.ensure_running(env, cp.state_dir) == cp.url  # already running: same service
        assert process.status(cp.state_dir).pid == cp.pid

        with pytest.raises(UsageError, match="already runs on port"):
            process.up(free_port(), cp.state_dir)

        # Lost pid file (e.g. deleted by hand): up finds our server on the port and records it again.
        (cp.state_dir / "service.pid").unlink()
        adopted = process.up(cp.port, cp.state_dir)
        assert not adopted.started and "re-recorded" in adopted.notes[0]
        assert process.status(cp.state_dir).pid == cp.pid


def test_down_stops_our_process_and_cleans_up(tmp_path: Path) -> None:
    state_dir = tmp_path / "embedded"
    result = process.up(free_port(), state_dir, default_components=False)
    pid, port = result.status.pid, result.status.port
    assert pid is not None and port is not None and alive(pid)

    stopped, message = process.down(state_dir)
    assert stopped and message == f"stopped pid {pid} (SIGTERM)"
    assert not alive(pid)
    assert not (state_dir / "service.pid").exists() and not (state_dir / "service.json").exists()
    assert not process._port_answers(port)
    assert process.down(state_dir) == (False, "not running (no pid file)")
    assert "stopped" in (state_dir / "service.log").read_text()  # the server logged its own shutdown


def test_port_taken_by_another_program_is_a_clear_error(tmp_path: Path, foreign_http_server: int) -> None:
    state_dir = tmp_path / "embedded"
    with pytest.raises(process.PortInUseError, match=f"port {foreign_http_server} .* in use by another program"):
        process.up(foreign_http_server, state_dir)
    assert not (state_dir / "service.pid").exists()


def test_stale_pid_file_of_a_dead_process_is_cleaned(tmp_path: Path) -> None:
    state_dir = tmp_path / "embedded"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait(10)
    write_pid_file(state_dir, dead.pid, free_port())

    st = process.status(state_dir)
    assert not st.running and "stale pid file" in (st.note or "")
    stopped, message = process.down(state_dir)
    assert not stopped and "removed stale pid file" in message
    assert not (state_dir / "service.pid").exists()


def test_pid_file_naming_a_foreign_process_never_signals_it(
    tmp_path: Path, foreign_process: subprocess.Popen[bytes]
) -> None:
    state_dir = tmp_path / "embedded"
    write_pid_file(state_dir, foreign_process.pid, free_port())
    stopped, _ = process.down(state_dir, timeout=1)
    assert not stopped
    assert foreign_process.poll() is None, "down() must not signal a process that is not our server"
    assert not (state_dir / "service.pid").exists()


def test_up_replaces_a_stale_pid_file(tmp_path: Path, foreign_process: subprocess.Popen[bytes]) -> None:
    state_dir = tmp_path / "embedded"
    write_pid_file(state_dir, foreign_process.pid, free_port())
    result = process.up(free_port(), state_dir, default_components=False)
    try:
        assert result.started and result.notes and "removed stale pid file" in result.notes[0]
        assert result.status.pid != foreign_process.pid
    finally:
        process.down(state_dir)
    assert foreign_process.poll() is None


def test_failed_start_reports_the_log_and_leaves_nothing(tmp_path: Path) -> None:
    state_dir = tmp_path / "embedded"
    with pytest.raises(process.StartupError, match="exited during start-up") as err:
        process.up(free_port(), state_dir, components=["no_such_module_xyz:factory"], default_components=False)
    assert "no_such_module_xyz" in str(err.value)  # the log tail names the cause
    assert not (state_dir / "service.pid").exists()


def test_terminate_escalates_to_sigkill(tmp_path: Path) -> None:
    stubborn = subprocess.Popen(
        [sys.executable, "-c", ("import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
                                "print('ready', flush=True); time.sleep(60)")],
        stdout=subprocess.PIPE, start_new_session=True,
    )
    assert stubborn.stdout is not None and stubborn.stdout.readline() == b"ready\n"
    process._children[stubborn.pid] = stubborn  # reaped like a server we started
    assert process._terminate(stubborn.pid, timeout=0.5) == "SIGKILL after SIGTERM timed out"
    assert stubborn.wait(5) == -9


def test_ensure_running_refuses_an_aws_environment(tmp_path: Path) -> None:
    env = SimpleNamespace(name="demo", data={"target": {"kind": "aws"}})
    with pytest.raises(UsageError, match="not the embedded control plane"):
        process.ensure_running(env, tmp_path / "embedded")


def test_default_state_dir_follows_orchestrator_state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORCHESTRATOR_STATE_DIR", str(tmp_path))
    assert process.default_state_dir() == tmp_path.resolve() / "embedded"
    assert os.fspath(process.status().state_dir) == os.fspath(tmp_path.resolve() / "embedded")
