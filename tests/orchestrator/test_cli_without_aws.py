"""The CLI when AWS is not there: a stopped embedded control plane, no profile, no credentials. Each reaches
the user as one line that names the environment and the fix, never as a botocore traceback; destroying a
stopped embedded environment has nothing to do and starts nothing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from botocore.exceptions import BotoCoreError, EndpointConnectionError, NoCredentialsError

from orchestrator import aws_clients, aws_errors
from orchestrator.cli import main
from orchestrator.embedded.process import _port_answers
from orchestrator.embedded.testing import free_port
from orchestrator.errors import EXIT_FAILURE, EXIT_USAGE

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _no_credentials_of_this_machine(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for var in (*aws_clients._AMBIENT_CREDENTIAL_VARS, "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(var, raising=False)
    empty = tmp_path / "aws-config"
    empty.write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(empty))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def _environment(tmp_path: Path, name: str, edit: dict) -> Path:
    """environments/<name>.json (from the project's, with `edit` merged into it) beside a copy of base.json."""
    folder = tmp_path / "environments"
    folder.mkdir(exist_ok=True)
    shutil.copy(ROOT / "environments" / "base.json", folder / "base.json")
    data = json.loads((ROOT / "environments" / f"{name}.json").read_text())
    data.pop("$schema", None)
    for key, value in edit.items():
        data[key] = {**data.get(key, {}), **value}
    path = folder / f"{name}.json"
    path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize(
    "command",
    [["outputs"], ["invoke", "--text", "Baseball is popular."], ["dashboard"], ["test-results"], ["trigger-tests"]],
    ids=lambda c: c[0],
)
def test_a_stopped_embedded_control_plane_is_named_with_the_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    port = free_port()  # nothing listens there
    env = _environment(tmp_path, "local", {"target": {"kind": "embedded", "control_plane_port": port}})
    assert main([*command, "--env", str(env)]) == EXIT_FAILURE
    err = capsys.readouterr().err
    assert err.startswith(f"error: nothing answers at http://127.0.0.1:{port}/")
    assert "not running" in err and f"orchestrator apply --env {env}" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_destroying_a_stopped_embedded_environment_has_nothing_to_do_and_starts_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    port = free_port()
    env = _environment(tmp_path, "local", {"target": {"kind": "embedded", "control_plane_port": port}})
    assert main(["destroy", "--env", str(env), "--auto-approve"]) == 0
    assert "nothing to destroy: the embedded control plane of environment local is not running" in capsys.readouterr().out
    assert not _port_answers(port)  # no service was started to destroy nothing


def test_a_missing_named_profile_is_a_usage_error_naming_profile_and_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = _environment(tmp_path, "demo", {"project": {"profile": "nobody-configured-this"}})
    assert main(["outputs", "--env", str(env)]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "the AWS profile 'nobody-configured-this'" in err and f"project.profile in {env}" in err
    assert "Traceback" not in err


def test_no_credentials_at_all_is_a_usage_error() -> None:
    explained = aws_errors.explain(NoCredentialsError(), "demo")
    assert explained is not None and explained.exit_code == EXIT_USAGE
    assert "no AWS credentials found for --env demo" in explained.render()
    assert "environments/demo.json" in explained.render()


def test_an_unreachable_aws_endpoint_is_not_taken_for_the_embedded_control_plane() -> None:
    url = "https://runtime.sagemaker.us-east-2.amazonaws.com/endpoints/x/invocations"
    explained = aws_errors.explain(EndpointConnectionError(endpoint_url=url, error="timed out"), "demo")
    assert explained is not None and explained.exit_code == EXIT_FAILURE
    text = explained.render()
    assert text.startswith(f"cannot reach {url}: timed out") and "project.region" in text
    assert "embedded control plane" not in text


def test_other_botocore_failures_are_not_disguised() -> None:
    assert aws_errors.explain(BotoCoreError(), "demo") is None
