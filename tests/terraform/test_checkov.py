"""checkov over all of terraform/ (every module and stack root): no failed check, every skip justified.

checkov pins an old boto3, so it lives in its own virtual environment at ``.venv-checkov`` (created by
``.ci/run``: ``python3 -m venv .venv-checkov && .venv-checkov/bin/pip install checkov``), never in the
project's ``.venv``. Locally the test skips when that environment is missing; with ``CI=true`` it fails.

checkov runs once over ``terraform/`` (stacks are scanned with their modules, so module inputs set by a
stack are evaluated too); the result is then checked per module / stack directory, so a failure names
the directory (and its owner) it belongs to.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
TERRAFORM = ROOT / "terraform"
CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"
TIMEOUT_SEC = 300  # measured ~15-30 s for the whole tree on 2 cores; the budget is 3 minutes


def _components() -> list[str]:
    found = [f"modules/{p.name}" for p in sorted((TERRAFORM / "modules").glob("*")) if p.is_dir()]
    found += [f"stacks/{p.name}" for p in sorted((TERRAFORM / "stacks").glob("*")) if p.is_dir()]
    return found


def _component_of(file_path: str) -> str:
    parts = Path(file_path.lstrip("/")).parts
    return "/".join(parts[:2]) if len(parts) >= 2 and parts[0] in ("modules", "stacks") else "other"


@pytest.fixture(scope="module")
def checkov_results() -> dict[str, Any]:
    if not CHECKOV.exists():
        reason = (f"{CHECKOV.relative_to(ROOT)} is missing: create it with `python3 -m venv .venv-checkov && "
                  ".venv-checkov/bin/pip install checkov` (never install checkov into .venv)")
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but {reason}")
        pytest.skip(reason)
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")}
    env.update({"ANSI_COLORS_DISABLED": "1", "LOG_LEVEL": "ERROR", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"})
    started = time.monotonic()
    result = subprocess.run(
        [str(CHECKOV), "--directory", str(TERRAFORM), "--framework", "terraform", "--quiet", "--compact",
         "--skip-download", "--output", "json"],
        capture_output=True, text=True, timeout=TIMEOUT_SEC, env=env, cwd=ROOT, check=False,
    )
    elapsed = time.monotonic() - started
    # Exit code 1 means "some check failed" (reported per directory below); anything else is a crash.
    assert result.returncode in (0, 1), f"checkov exited {result.returncode}:\n{result.stderr[-3000:]}"
    reports = json.loads(result.stdout) if result.stdout.strip() else []
    reports = reports if isinstance(reports, list) else [reports]
    failed = [c for r in reports for c in r.get("results", {}).get("failed_checks", [])]
    passed = sum(r.get("summary", {}).get("passed", 0) for r in reports)
    skipped = sum(r.get("summary", {}).get("skipped", 0) for r in reports)
    print(f"checkov: {passed} passed, {len(failed)} failed, {skipped} skipped in {elapsed:.1f} s")
    return {"failed": failed, "passed": passed, "elapsed": elapsed}


def _describe(check: dict[str, Any]) -> str:
    lines = check.get("file_line_range") or ["?", "?"]
    return f"{check['check_id']} {check['resource']} ({check['file_path']}:{lines[0]}-{lines[1]}): {check.get('check_name', '')}"


@pytest.mark.parametrize("component", _components() + ["other"])
def test_no_failed_checks(checkov_results: dict[str, Any], component: str) -> None:
    failed = [c for c in checkov_results["failed"] if _component_of(c["file_path"]) == component]
    assert not failed, (
        f"checkov: {len(failed)} failed check(s) in terraform/{component}; fix the code, or skip a check that "
        "truly does not apply with `#checkov:skip=CKV_XXX:<reason>` inside the resource:\n  "
        + "\n  ".join(sorted(_describe(c) for c in failed))
    )


def test_every_skip_has_a_reason() -> None:
    """Inline skips name a check and say why it does not apply (``#checkov:skip=CKV_AWS_18:<reason>``)."""
    pattern = re.compile(r"checkov:skip=([A-Z0-9_]+)(?::(.*))?")
    unexplained = []
    for tf in sorted(TERRAFORM.rglob("*.tf")):
        if ".terraform" in tf.parts:
            continue
        for number, line in enumerate(tf.read_text().splitlines(), 1):
            for match in pattern.finditer(line):
                if len((match.group(2) or "").strip()) < 10:
                    unexplained.append(f"{tf.relative_to(ROOT)}:{number}: {match.group(1)}")
    assert not unexplained, "every checkov skip needs an inline reason:\n  " + "\n  ".join(unexplained)


def test_checkov_scanned_the_tree_in_time(checkov_results: dict[str, Any]) -> None:
    assert checkov_results["passed"] > 100, "checkov found almost nothing to check: is terraform/ scanned?"
    assert checkov_results["elapsed"] < 180, f"checkov took {checkov_results['elapsed']:.0f} s (budget 180 s)"
