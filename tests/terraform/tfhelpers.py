"""Small, generic helpers for plan-only Terraform tests (tftest): no AWS account, no network.

A module under test is copied to a temporary directory (the source tree never gets ``.terraform/``)
together with a test-only provider configuration, initialised once, then planned with one
``*.tfvars.json`` file per case.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import tftest

ROOT = Path(__file__).resolve().parents[2]
MODULES = ROOT / "terraform" / "modules"
STACKS = ROOT / "terraform" / "stacks"

# Plan needs no network and no credentials with these settings.
TEST_PROVIDER = """
provider "aws" {
  region                      = "us-east-1"
  access_key                  = "test"
  secret_key                  = "test"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
}
"""

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class ModulePlanner:
    """A module copied to ``work_dir`` with the test provider, initialised, ready to plan."""

    def __init__(self, source: Path, work_dir: Path) -> None:
        self.dir = work_dir / source.name
        shutil.copytree(source, self.dir, symlinks=False, ignore=shutil.ignore_patterns(".terraform*", "*.tfstate*"))
        (self.dir / "test_provider.tf").write_text(TEST_PROVIDER)
        self.tf = tftest.TerraformTest(str(self.dir))
        self.tf.setup(cleanup_on_exit=False)
        self._cases = 0

    def _var_file(self, tf_vars: dict[str, Any]) -> str:
        self._cases += 1
        name = f"case-{self._cases}.tfvars.json"
        (self.dir / name).write_text(json.dumps(tf_vars))
        return name

    def plan(self, tf_vars: dict[str, Any]) -> tftest.TerraformPlanOutput:
        return self.tf.plan(output=True, tf_var_file=self._var_file(tf_vars))

    def plan_error(self, tf_vars: dict[str, Any]) -> str:
        """The error text of a plan that must fail (raises AssertionError if it succeeds)."""
        try:
            self.tf.plan(output=False, tf_var_file=self._var_file(tf_vars))
        except tftest.TerraformTestError as exc:
            return normalize(" ".join(str(a) for a in exc.args))
        raise AssertionError(f"plan succeeded with {tf_vars}")


class VariablesChecker(ModulePlanner):
    """Only the module's ``variables.tf``: plans in well under a second (no provider to start), so each
    negative case of an input validation is cheap. Validation blocks of the module must only refer to
    their own variable (the rule before Terraform 1.9), which keeps them checkable in isolation."""

    def __init__(self, source: Path, work_dir: Path) -> None:
        self.dir = work_dir / f"{source.name}-variables"
        self.dir.mkdir(parents=True)
        shutil.copy(source / "variables.tf", self.dir / "variables.tf")
        self.tf = tftest.TerraformTest(str(self.dir))
        self.tf.setup(cleanup_on_exit=False)
        self._cases = 0


def normalize(text: str) -> str:
    """Terraform output without colours, box drawing and line wrapping, for substring checks."""
    text = _ANSI.sub("", text).replace("│", " ")
    return re.sub(r"\s+", " ", text)


def resources_of(plan: tftest.TerraformPlanOutput, rtype: str) -> dict[str, dict[str, Any]]:
    """Planned resources of one type (root module and child modules): address -> values."""
    found: dict[str, dict[str, Any]] = {}

    def walk(module: dict[str, Any]) -> None:
        for res in module.get("resources", []):
            if res["type"] == rtype and res["mode"] == "managed":
                found[res["address"]] = res.get("values", {})
        for child in module.get("child_modules", []):
            walk(child)

    walk(plan._raw.get("planned_values", {}).get("root_module", {}))
    return found


def type_counts(plan: tftest.TerraformPlanOutput) -> dict[str, int]:
    """Number of planned managed resources per resource type."""
    counts: dict[str, int] = {}
    for change in plan._raw.get("resource_changes", []):
        if change["mode"] == "managed":
            counts[change["type"]] = counts.get(change["type"], 0) + 1
    return dict(sorted(counts.items()))
