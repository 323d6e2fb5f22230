"""Test helpers: run the real embedded service (the same entry point as ``orchestrator local up``).

Why here and not only in ``tests/``: integration tests of other areas (stacks, data plane,
orchestrator apply) need a running control plane too; importing this module keeps one way to do it::

    from orchestrator.embedded.testing import running_control_plane

    def test_something(tmp_path):
        with running_control_plane(tmp_path) as cp:
            cp.client("sagemaker").list_endpoints()
            # Terraform: aws_endpoint_url = cp.url

The service runs as a child process on a free loopback port with its own state directory; it is
stopped (and verified gone) when the block exits, even on failure.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrator.embedded import process

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"  # moto's default account


def free_port() -> int:
    """A TCP port that is free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((process.HOST, 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class ControlPlane:
    """A running embedded service: its URL, port, pid and state directory."""

    url: str
    port: int
    pid: int
    state_dir: Path

    def client(self, service: str, **kwargs: Any) -> Any:
        """A boto3 client for ``service`` against this control plane (test credentials, 1 attempt)."""
        import boto3
        from botocore.config import Config

        config = Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"},
                        connect_timeout=5, read_timeout=30)
        return boto3.client(
            service, endpoint_url=self.url, region_name=kwargs.pop("region_name", REGION),
            aws_access_key_id="test", aws_secret_access_key="test", config=config, **kwargs,
        )


@contextmanager
def running_control_plane(
    tmp_path: Path,
    *,
    port: int | None = None,
    components: list[str] | None = None,
    default_components: bool = False,
    timeout: float = process.START_TIMEOUT,
) -> Iterator[ControlPlane]:
    """Start our service under ``tmp_path/embedded`` on ``port`` (free one by default); stop it after.

    ``default_components`` is off so control-plane tests do not start the data plane; pass
    ``components=["module:factory"]`` (or ``default_components=True``) to host components too.
    """
    state_dir = tmp_path / "embedded"
    result = process.up(port or free_port(), state_dir, components=components,
                        default_components=default_components, timeout=timeout)
    status = result.status
    assert status.pid is not None and status.port is not None and status.url is not None
    try:
        yield ControlPlane(url=status.url, port=status.port, pid=status.pid, state_dir=state_dir.resolve())
    finally:
        process.down(state_dir)
