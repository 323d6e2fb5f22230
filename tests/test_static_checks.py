"""Static checks of the Terraform code: formatting, and every module and stack validates."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TERRAFORM = ROOT / "terraform"
needs_terraform = pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform not on PATH")


def _roots() -> list[Path]:
    dirs = sorted(p for p in (TERRAFORM / "modules").glob("*") if p.is_dir())
    dirs += sorted(p for p in (TERRAFORM / "stacks").glob("*") if p.is_dir() and not p.name.startswith("_"))
    return dirs


@needs_terraform
def test_terraform_fmt_is_clean() -> None:
    result = subprocess.run(
        ["terraform", "fmt", "-check", "-recursive", "-diff", str(TERRAFORM)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, f"terraform fmt would change:\n{result.stdout}{result.stderr}"


@pytest.fixture(scope="module")
def terraform_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of terraform/ (shared stack files dereferenced), so the source tree never gets .terraform/."""
    dest = tmp_path_factory.mktemp("tf") / "terraform"
    shutil.copytree(TERRAFORM, dest, symlinks=False, ignore=shutil.ignore_patterns(".terraform", "*.tfstate*"))
    return dest


@needs_terraform
@pytest.mark.parametrize("tf_dir", _roots(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_terraform_validate(tf_dir: Path, terraform_copy: Path) -> None:
    work = terraform_copy / tf_dir.relative_to(TERRAFORM)
    init = subprocess.run(
        ["terraform", "init", "-backend=false", "-input=false", "-no-color"],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert init.returncode == 0, init.stdout + init.stderr
    result = subprocess.run(
        ["terraform", "validate", "-no-color"], cwd=work, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
