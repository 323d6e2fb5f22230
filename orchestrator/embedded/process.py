"""Start, stop and inspect the embedded service as a background process.

Why a separate process (not a thread of the CLI): ``orchestrator apply --env local`` runs Terraform,
which keeps talking to the control plane after the CLI verb returns, and several CLI invocations
share one control plane. So ``up`` starts ``python -m orchestrator.embedded.server`` detached, in its
own session, logging to a file, and records what it started in a pid file; ``down`` stops only that
process (its command line is checked before any signal); ``status`` reads the pid file and asks the
process itself over HTTP.

Files under the state directory (default ``orchestrator.paths.state_dir() / "embedded"``):
``service.pid`` (the pid, one line), ``service.json`` (pid, host, port, url, started_at, log path,
command) and ``service.log`` (appended on every start).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from orchestrator import paths
from orchestrator.embedded import DEFAULT_PORT
from orchestrator.embedded.server import MODULE
from orchestrator.embedded.service import HEALTH_PATH, SERVICE_NAME
from orchestrator.errors import OrchestratorError, UsageError

HOST = "127.0.0.1"
PID_FILE = "service.pid"
META_FILE = "service.json"
LOG_FILE = "service.log"
LOCK_FILE = ".lock"
START_TIMEOUT = 60.0  # importing moto and its backends takes a few seconds on a busy machine
STOP_TIMEOUT = 10.0

# Popen handles of the processes started by this Python process, so that we reap them (no zombies).
_children: dict[int, subprocess.Popen[bytes]] = {}


class PortInUseError(OrchestratorError):
    """The port answers, but not as the embedded service recorded in this state directory."""


class StartupError(OrchestratorError):
    """The service process exited or did not become healthy in time; the message has its log tail."""


@dataclass(frozen=True)
class ServiceStatus:
    """What ``orchestrator local status`` prints; ``running`` means our recorded process is alive."""

    running: bool
    state_dir: Path
    log_path: Path
    healthy: bool = False
    url: str | None = None
    pid: int | None = None
    port: int | None = None
    started_at: float | None = None
    uptime_seconds: float | None = None
    health: dict[str, Any] | None = None
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["state_dir"], data["log_path"] = str(self.state_dir), str(self.log_path)
        return data


@dataclass(frozen=True)
class UpResult:
    """``started`` is false when a healthy service was already running (``up`` is idempotent)."""

    status: ServiceStatus
    started: bool
    notes: list[str] = field(default_factory=list)


class EmbeddedEnvironment(Protocol):
    """The part of ``orchestrator.config.Environment`` that :func:`ensure_running` reads."""

    # Read-only (Environment is a frozen dataclass): plain attributes here would demand settable ones.
    @property
    def name(self) -> str: ...

    @property
    def data(self) -> dict[str, Any]: ...


# --------------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------------
def default_state_dir() -> Path:
    return paths.state_dir() / "embedded"


def url_for(port: int) -> str:
    return f"http://{HOST}:{port}"


def up(
    port: int = DEFAULT_PORT,
    state_dir: Path | None = None,
    *,
    components: list[str] | None = None,
    default_components: bool = True,
    timeout: float = START_TIMEOUT,
) -> UpResult:
    """Make sure our service runs on ``port``; start it if needed and wait until it is healthy.

    Idempotent: when the pid file names a live process of ours that answers on ``port``, nothing is
    started. A stale pid file (dead process, or a pid reused by another program) is removed. A port
    held by anything else raises :class:`PortInUseError`; our service already running on another
    port raises :class:`~orchestrator.errors.UsageError`.
    """
    state_dir = (state_dir or default_state_dir()).resolve()
    with _locked(state_dir):
        return _up_locked(port, state_dir, components or [], default_components, timeout)


def _up_locked(port: int, state_dir: Path, components: list[str], default_components: bool,
               timeout: float) -> UpResult:
    notes: list[str] = []
    record = _read_record(state_dir)
    if record is not None:
        pid, meta = record
        if _is_ours(pid, state_dir):
            running_port = int(meta.get("port", -1))
            if running_port != port:
                raise UsageError(
                    f"the embedded service already runs on port {running_port} (pid {pid}); "
                    f"run `orchestrator local down` before starting it on port {port}"
                )
            _wait_healthy(pid, port, state_dir, timeout)
            return UpResult(status(state_dir), started=False, notes=["already running"])
        _remove_record(state_dir)
        notes.append(f"removed stale pid file (pid {pid} is not running this service)")

    adopted = _adopt_orphan(port, state_dir)
    if adopted is not None:
        return UpResult(status(state_dir), started=False, notes=[*notes, adopted])
    _check_port_free(port, state_dir)
    log_path = state_dir / LOG_FILE
    command = [sys.executable, "-m", MODULE, "--host", HOST, "--port", str(port), "--state-dir", str(state_dir)]
    if not default_components:
        command.append("--no-default-components")
    for spec in components:
        command += ["--component", spec]
    with log_path.open("ab") as log:
        log.write(f"\n=== {time.strftime('%Y-%m-%dT%H:%M:%S%z')} starting: {' '.join(command)}\n".encode())
        log.flush()
        proc = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # own process group: a Ctrl-C in the CLI does not kill it
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            cwd=str(paths.project_root()),
        )
    _children[proc.pid] = proc
    started_at = time.time()
    _write_record(state_dir, proc.pid, {
        "pid": proc.pid, "host": HOST, "port": port, "url": url_for(port), "started_at": started_at,
        "log_path": str(log_path), "command": command,
    })
    try:
        _wait_healthy(proc.pid, port, state_dir, timeout)
    except StartupError:
        _terminate(proc.pid, STOP_TIMEOUT)
        _remove_record(state_dir)
        raise
    return UpResult(status(state_dir), started=True, notes=notes)


def down(state_dir: Path | None = None, timeout: float = STOP_TIMEOUT) -> tuple[bool, str]:
    """Stop the process recorded in ``state_dir`` (SIGTERM, then SIGKILL after ``timeout``).

    Returns ``(stopped, message)``. Never signals a process whose command line is not our server
    for this state directory; a stale pid file is removed either way.
    """
    state_dir = (state_dir or default_state_dir()).resolve()
    with _locked(state_dir):
        return _down_locked(state_dir, timeout)


def _down_locked(state_dir: Path, timeout: float) -> tuple[bool, str]:
    record = _read_record(state_dir)
    if record is None:
        return False, "not running (no pid file)"
    pid, _ = record
    if not _is_ours(pid, state_dir):
        _remove_record(state_dir)
        return False, f"not running (removed stale pid file naming pid {pid})"
    how = _terminate(pid, timeout)
    _remove_record(state_dir)
    return True, f"stopped pid {pid} ({how})"


def status(state_dir: Path | None = None) -> ServiceStatus:
    """Running state from the pid file, plus the service's own health answer when it is alive."""
    state_dir = (state_dir or default_state_dir()).resolve()
    log_path = state_dir / LOG_FILE
    record = _read_record(state_dir)
    if record is None:
        return ServiceStatus(running=False, state_dir=state_dir, log_path=log_path, note="no pid file")
    pid, meta = record
    if not _is_ours(pid, state_dir):
        return ServiceStatus(running=False, state_dir=state_dir, log_path=log_path, pid=pid,
                             note=f"stale pid file: pid {pid} is not running this service")
    if "port" not in meta:
        return ServiceStatus(running=True, state_dir=state_dir, log_path=log_path, pid=pid,
                             note=f"pid {pid} runs this service but {META_FILE} is missing or unreadable")
    port = int(meta["port"])
    started_at = float(meta.get("started_at", time.time()))
    health = _health(port)
    healthy = bool(health and health.get("pid") == pid and health.get("ok", False))
    return ServiceStatus(
        running=True, healthy=healthy, state_dir=state_dir, log_path=Path(meta.get("log_path", log_path)),
        url=url_for(port), pid=pid, port=port, started_at=started_at,
        uptime_seconds=round(time.time() - started_at, 1), health=health,
        note=None if healthy else "process alive but not answering its health check",
    )


def ensure_running(env: EmbeddedEnvironment, state_dir: Path | None = None) -> str:
    """Start the embedded control plane for ``env`` unless it runs already; returns its URL.

    The port is ``target.control_plane_port`` of the environment (default 4566). Raises
    :class:`~orchestrator.errors.UsageError` for an environment that does not target it.
    """
    port = _port_of(env)
    return up(port, state_dir).status.url or url_for(port)


def anything_listens(env: EmbeddedEnvironment) -> bool:
    """Whether anything accepts connections on the environment's control-plane port (ours or not): when
    nothing does, nothing is deployed there, since the control plane keeps its state in memory."""
    return _port_answers(_port_of(env))


def _port_of(env: EmbeddedEnvironment) -> int:
    target = env.data.get("target", {})
    if target.get("kind", "embedded") != "embedded":
        raise UsageError(f"environment {env.name} targets {target.get('kind')!r}, not the embedded control plane")
    return int(target.get("control_plane_port", DEFAULT_PORT))


# --------------------------------------------------------------------------------------------------
# Pid file and process checks
# --------------------------------------------------------------------------------------------------
@contextlib.contextmanager
def _locked(state_dir: Path) -> Iterator[None]:
    """Serialize up/down on one state directory (two CLIs starting at once must not race)."""
    state_dir.mkdir(parents=True, exist_ok=True)
    with (state_dir / LOCK_FILE).open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _adopt_orphan(port: int, state_dir: Path) -> str | None:
    """Our server for this state dir answers on ``port`` but its pid file is gone: record it again."""
    health = _health(port)
    if health is None or Path(str(health.get("state_dir"))) != state_dir:
        return None
    pid = int(health.get("pid", -1))
    if not _is_ours(pid, state_dir):
        return None
    _write_record(state_dir, pid, {
        "pid": pid, "host": HOST, "port": port, "url": url_for(port),
        "started_at": float(health.get("started_at", time.time())), "log_path": str(state_dir / LOG_FILE),
        "command": _cmdline(pid),
    })
    return f"re-recorded running service pid {pid} (its pid file was missing)"


def _read_record(state_dir: Path) -> tuple[int, dict[str, Any]] | None:
    pid_path = state_dir / PID_FILE
    try:
        pid = int(pid_path.read_text().strip())
    except (OSError, ValueError):
        return None
    try:
        meta = json.loads((state_dir / META_FILE).read_text())
    except (OSError, ValueError):
        meta = {}
    return pid, meta


def _write_record(state_dir: Path, pid: int, meta: dict[str, Any]) -> None:
    for name, text in ((META_FILE, json.dumps(meta, indent=2) + "\n"), (PID_FILE, f"{pid}\n")):
        tmp = state_dir / f".{name}.tmp"
        tmp.write_text(text)
        tmp.replace(state_dir / name)


def _remove_record(state_dir: Path) -> None:
    for name in (PID_FILE, META_FILE):
        (state_dir / name).unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    child = _children.get(pid)
    if child is not None and child.poll() is not None:  # reaps our own exited child
        _children.pop(pid, None)
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
        return [part.decode(errors="replace") for part in raw.split(b"\0") if part]
    except OSError:
        pass
    try:  # no /proc (macOS): ask ps
        out = subprocess.run(["ps", "-o", "command=", "-p", str(pid)], capture_output=True, text=True, timeout=5,
                             check=False)
        return out.stdout.split()
    except (OSError, subprocess.SubprocessError):
        return []


def _is_ours(pid: int, state_dir: Path) -> bool:
    """Alive and running ``-m orchestrator.embedded.server ... --state-dir <state_dir>``."""
    if pid <= 0 or not _alive(pid):
        return False
    argv = _cmdline(pid)
    if MODULE not in argv or "--state-dir" not in argv:
        return False
    index = argv.index("--state-dir") + 1
    return index < len(argv) and Path(argv[index]).resolve() == state_dir


def _health(port: int, timeout: float = 2.0) -> dict[str, Any] | None:
    """The service's health JSON, or ``None`` when nothing (or something else) answers."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: never a proxy
    try:
        with opener.open(url_for(port) + HEALTH_PATH, timeout=timeout) as response:
            data = json.loads(response.read())
    except (OSError, ValueError, urllib.error.URLError):
        return None
    return data if isinstance(data, dict) and data.get("service") == SERVICE_NAME else None


def _port_answers(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=1.0):
            return True
    except OSError:
        return False


def _check_port_free(port: int, state_dir: Path) -> None:
    if not _port_answers(port):
        return
    health = _health(port)
    if health is not None:
        raise PortInUseError(
            f"port {port} is used by another embedded service (pid {health.get('pid')}, state dir "
            f"{health.get('state_dir')}); stop it with its own state dir or choose another --port"
        )
    raise PortInUseError(f"port {port} on {HOST} is in use by another program; choose another --port")


def _log_tail(state_dir: Path, lines: int = 20) -> str:
    try:
        return "\n".join((state_dir / LOG_FILE).read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _wait_healthy(pid: int, port: int, state_dir: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            raise StartupError(f"the embedded service (pid {pid}) exited during start-up; log tail:\n"
                               f"{_log_tail(state_dir)}")
        health = _health(port, timeout=1.0)
        if health is not None and health.get("pid") == pid:
            return
        time.sleep(0.1)
    raise StartupError(f"the embedded service (pid {pid}) was not healthy on port {port} after {timeout:.0f}s; "
                       f"log tail:\n{_log_tail(state_dir)}")


def _terminate(pid: int, timeout: float) -> str:
    """SIGTERM ``pid``; SIGKILL its process group if it is still alive after ``timeout``."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return "already exited"
    if _wait_exit(pid, timeout):
        return "SIGTERM"
    try:  # the server leads its own session: take components' subprocesses with it
        if os.getpgid(pid) == pid:
            os.killpg(pid, signal.SIGKILL)
        else:
            os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return "SIGTERM"
    _wait_exit(pid, 5.0)
    return "SIGKILL after SIGTERM timed out"


def _wait_exit(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.05)
    return not _alive(pid)
