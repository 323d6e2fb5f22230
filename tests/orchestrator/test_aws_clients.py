from __future__ import annotations

import pytest

from orchestrator import aws_clients

AWS = {"project": {"region": "us-east-2", "profile": "demo"}, "target": {"kind": "aws"}}
EMBEDDED = {"project": {"region": "us-east-1", "profile": "demo"}, "target": {"kind": "embedded", "control_plane_port": 4999}}


@pytest.fixture(autouse=True)
def _no_ambient_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in aws_clients._AMBIENT_CREDENTIAL_VARS:
        monkeypatch.delenv(var, raising=False)


def test_workstation_uses_the_named_profile() -> None:
    assert aws_clients.effective_profile(AWS) == "demo"


@pytest.mark.parametrize("var", aws_clients._AMBIENT_CREDENTIAL_VARS)
def test_platform_credentials_win_over_the_profile(monkeypatch: pytest.MonkeyPatch, var: str) -> None:
    monkeypatch.setenv(var, "x")
    assert aws_clients.effective_profile(AWS) is None


def test_embedded_never_uses_a_profile_and_targets_loopback() -> None:
    assert aws_clients.effective_profile(EMBEDDED) is None
    assert aws_clients.control_plane_url(EMBEDDED) == "http://127.0.0.1:4999"
    client = aws_clients.client(EMBEDDED, "s3")
    assert client.meta.endpoint_url == "http://127.0.0.1:4999"
