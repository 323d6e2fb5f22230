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


def test_terraform_env_uses_the_mirror_and_a_cheaper_gc(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    from orchestrator.terraform import plugins

    mirror = tmp_path / "mirror"
    (mirror / "registry.terraform.io" / "hashicorp" / "aws").mkdir(parents=True)
    monkeypatch.setenv(plugins.MIRROR_ENV, str(mirror))
    monkeypatch.setenv("TF_CLI_CONFIG_FILE", str(tmp_path / "absent.rc"))  # set but missing: ours is written
    monkeypatch.delenv("GOGC", raising=False)
    env = plugins.terraform_env(tmp_path / "work")
    config = (tmp_path / "work" / "terraform.rc").read_text()
    assert env["TF_CLI_CONFIG_FILE"] == str(tmp_path / "work" / "terraform.rc")
    assert f'path    = "{mirror.as_posix()}"' in config
    assert env["GOGC"] == "800" and env["CHECKPOINT_DISABLE"] == "1"
    monkeypatch.setenv("GOGC", "100")
    assert plugins.terraform_env(tmp_path / "work")["GOGC"] == "100", "a user's own setting wins"


def test_terraform_env_points_every_service_at_the_embedded_control_plane(tmp_path) -> None:
    from orchestrator.terraform import plugins

    base = {"PATH": "/usr/bin", "AWS_ENDPOINT_URL_S3": "http://elsewhere:9000", "AWS_ENDPOINT_URL_STS": "https://x"}
    env = plugins.terraform_env(tmp_path / "work", base, aws_endpoint_url="http://127.0.0.1:4566")
    assert env["AWS_ENDPOINT_URL"] == "http://127.0.0.1:4566"
    assert not [k for k in env if k.startswith("AWS_ENDPOINT_URL_")], "a service-specific override would bypass it"
    # On AWS the caller's environment is left as it is.
    assert plugins.terraform_env(tmp_path / "work", base)["AWS_ENDPOINT_URL_S3"] == "http://elsewhere:9000"
    assert "AWS_ENDPOINT_URL" not in plugins.terraform_env(tmp_path / "work", base)
