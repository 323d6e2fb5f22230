"""Shared fixtures: the project root and a Terraform environment that uses the offline mirror."""

from __future__ import annotations

import os
import shutil
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from orchestrator.terraform.plugins import terraform_env

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def project_root() -> Path:
    return ROOT


@pytest.fixture(scope="session", autouse=True)
def _terraform_cli_config(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Every Terraform run in the suite (tftest included) installs providers from the offline mirror."""
    if shutil.which("terraform") is None:
        return
    env = terraform_env(tmp_path_factory.mktemp("terraform-cli"))
    for key in ("TF_CLI_CONFIG_FILE", "CHECKPOINT_DISABLE", "TF_IN_AUTOMATION", "GOGC"):
        if key in env:
            os.environ[key] = env[key]


# The integration suite's session-scoped `deployment` points the orchestrator at a private project
# root, build and state directory through these variables; no other test may see them.
_DEPLOYMENT_ENV = ("ORCHESTRATOR_ROOT", "ORCHESTRATOR_BUILD_DIR", "ORCHESTRATOR_STATE_DIR")


@pytest.fixture(autouse=True)
def _no_leaked_deployment_env(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    if "deployment" in request.fixturenames:
        return
    for key in _DEPLOYMENT_ENV:
        monkeypatch.delenv(key, raising=False)


def _embedded_server_pids(under: Path) -> dict[int, str]:
    """Live ``orchestrator.embedded.server`` processes whose command line names a path under ``under``."""
    from orchestrator.embedded.server import MODULE

    found = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            argv = (proc / "cmdline").read_bytes().decode(errors="replace").split("\0")
            state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if MODULE in argv and state != "Z" and any(a.startswith(str(under)) for a in argv):
            found[int(proc.name)] = " ".join(argv)
    return found


@pytest.fixture(scope="session", autouse=True)
def _no_leaked_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """After every other fixture of the session is torn down, no embedded server may be left alive."""
    yield
    leaked = _embedded_server_pids(tmp_path_factory.getbasetemp().resolve())
    for pid in leaked:  # clean up so a failure does not leave them behind, then fail loudly
        os.kill(pid, signal.SIGKILL)
    assert not leaked, f"embedded server processes leaked by the tests: {leaked}"


class LocalEnvOnMoto:
    """The ``local`` environment with its control plane replaced by a ThreadedMotoServer on a free port."""

    def __init__(self, env: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        self.env = env
        self._monkeypatch = monkeypatch

    def used_by(self, *modules: str) -> Any:
        """Make ``orchestrator.<module>.load_environment`` return this environment; returns it."""
        for module in modules:
            self._monkeypatch.setattr(f"orchestrator.{module}.load_environment", lambda _name: self.env)
        return self.env


@pytest.fixture
def local_env_on_moto(monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalEnvOnMoto]:
    """For commands tested against moto in this process (no embedded service, no data plane)."""
    import dataclasses
    import json
    import socket

    from moto.server import ThreadedMotoServer

    from orchestrator.config import load_environment

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    real = load_environment("local")
    data = json.loads(json.dumps(real.data))
    data["target"]["control_plane_port"] = port
    for var in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SSM"):
        monkeypatch.delenv(var, raising=False)
    try:
        yield LocalEnvOnMoto(dataclasses.replace(real, data=data), monkeypatch)
    finally:
        server.stop()
