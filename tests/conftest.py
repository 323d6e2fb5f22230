"""Shared fixtures: the project root and a Terraform environment that uses the offline mirror."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

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
    for key in ("TF_CLI_CONFIG_FILE", "CHECKPOINT_DISABLE", "TF_IN_AUTOMATION"):
        if key in env:
            os.environ[key] = env[key]
