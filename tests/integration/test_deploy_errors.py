"""Documented exit codes and messages: config errors exit 2 before anything runs, Terraform failures exit 1."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from orchestrator.cli import main

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform not on PATH"),
    pytest.mark.timeout(600),
]


def test_broken_environment_file_exits_2_and_runs_nothing(
    deployment: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "broken.json"
    bad.write_text('{"extends": "x",\n  "project": {"name": "a"\n')
    assert main(["apply", "--env", str(bad), "--auto-approve"]) == 2
    err = capsys.readouterr().err
    assert "broken.json" in err and "line" in err and "column" in err
    assert "Traceback" not in err


def test_missing_model_folder_exits_2(deployment: Any, capsys: pytest.CaptureFixture[str]) -> None:
    base = json.loads((ROOT / "environments" / "base.json").read_text())
    models = base["serving"]["models"]
    models[1]["path"] = "models/does-not-exist"
    env_file = deployment.env_file("itmissing", {"serving": {"models": models}})
    assert main(["plan", "--env", str(env_file)]) == 2
    err = capsys.readouterr().err
    assert "serving.models[1].path" in err and "does-not-exist" in err
    assert "Traceback" not in err


def test_failing_terraform_resource_exits_1_naming_stack_and_resource(
    deployment: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    env_file = deployment.env_file("itfail")
    # Something else already owns a parameter the stack publishes: creation fails at AWS (here moto).
    ssm = deployment.control_plane.client("ssm")
    ssm.put_parameter(Name="/text-classification/itfail/model-archive/bucket_name", Value="taken", Type="String")
    capsys.readouterr()
    code = main(["apply", "--env", str(env_file), "--auto-approve", "--stack", "model-archive"])
    assert code == 1
    err = capsys.readouterr().err
    assert "stack model-archive" in err
    assert "aws_ssm_parameter" in err
    assert "ParameterAlreadyExists" in err or "already exists" in err
    assert main(["destroy", "--env", str(env_file), "--auto-approve", "--stack", "model-archive"]) == 0
