"""The GitHub workflows are valid and keep their security promises."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from orchestrator.terraform.plan_report import STICKY_MARKER

WORKFLOWS = sorted((Path(__file__).resolve().parent.parent / ".github" / "workflows").glob("*.yml"))


def _check_jsonschema() -> str:
    local = Path(sys.executable).parent / "check-jsonschema"
    return str(local) if local.exists() else (shutil.which("check-jsonschema") or "")


def test_workflows_match_the_github_schema() -> None:
    tool = _check_jsonschema()
    if not tool:
        pytest.skip("check-jsonschema not installed (dev extra)")
    result = subprocess.run(
        [tool, "--builtin-schema", "vendor.github-workflows", *map(str, WORKFLOWS)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _load(name: str) -> dict:
    return yaml.safe_load((WORKFLOWS[0].parent / name).read_text())


def test_pull_requests_never_expose_secrets_to_forks() -> None:
    wf = _load("pull-request.yml")
    triggers = wf[True]  # YAML 1.1 reads the key "on" as True
    assert "pull_request" in triggers and "pull_request_target" not in triggers
    assert wf["permissions"] == {"contents": "read"}
    plan = wf["jobs"]["plan"]
    assert "github.event.pull_request.head.repo.full_name == github.repository" in plan["if"]
    assert plan["permissions"]["id-token"] == "write"
    for name, job in wf["jobs"].items():
        if name != "plan":
            assert "id-token" not in job.get("permissions", {}), f"job {name} must not get OIDC tokens"
    text = (WORKFLOWS[0].parent / "pull-request.yml").read_text()
    assert "aws-access-key-id" not in text and "secrets." not in text


def test_plan_comment_is_sticky() -> None:
    text = (WORKFLOWS[0].parent / "pull-request.yml").read_text()
    assert "orchestrator plan --env demo --format markdown" in text
    assert STICKY_MARKER in text and "updateComment" in text and "createComment" in text


def test_merge_to_main_applies_with_oidc() -> None:
    wf = _load("deploy.yml")
    assert wf[True]["push"]["branches"] == ["main"]
    apply = wf["jobs"]["apply"]
    assert apply["permissions"]["id-token"] == "write"
    runs = " ".join(step.get("run", "") for step in apply["steps"])
    assert "orchestrator apply --env demo --auto-approve" in runs
    assert "[local]" not in runs, "deploying must not need torch"
