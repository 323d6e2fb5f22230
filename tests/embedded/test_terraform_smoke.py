"""Terraform (AWS provider 5.100, offline mirror) against our control plane: every patched gap end to end.

apply -> plan shows no changes -> switch endpoint config (update in place: same endpoint, an
``updated`` event and no ``deleted`` one) -> plan shows no changes -> destroy leaves nothing behind.
Each Terraform call is bounded. Takes ~1 min on an idle 2-core machine, several under load (most of
it Terraform and provider start-up).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from orchestrator.embedded.event_log import EVENTS_PATH
from orchestrator.embedded.testing import ControlPlane, running_control_plane

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.timeout(900),
    pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform is not installed"),
]

CONFIG = Path(__file__).parent / "terraform_smoke"
EVENT_LOG = "orchestrator.embedded.event_log:EventLog"
STEP_TIMEOUT = 240  # seconds per Terraform command, on a busy 2-core machine


def terraform(work: Path, url: str, *args: str, ok_codes: tuple[int, ...] = (0,)) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CHECKPOINT_DISABLE": "1", "TF_IN_AUTOMATION": "1", "AWS_ENDPOINT_URL": url}
    result = subprocess.run(["terraform", f"-chdir={work}", *args, "-no-color"], capture_output=True, text=True,
                            timeout=STEP_TIMEOUT, env=env, check=False)
    assert result.returncode in ok_codes, f"terraform {args[0]} exited {result.returncode}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def events(cp: ControlPlane) -> list[dict[str, Any]]:
    with urllib.request.urlopen(cp.url + EVENTS_PATH, timeout=10) as response:
        return json.loads(response.read())


def test_apply_update_plan_destroy(tmp_path: Path) -> None:
    work = tmp_path / "tf"
    shutil.copytree(CONFIG, work)
    with running_control_plane(tmp_path, components=[EVENT_LOG]) as cp:
        terraform(work, cp.url, "init", "-input=false")
        terraform(work, cp.url, "apply", "-auto-approve", "-input=false")
        sm = cp.client("sagemaker")
        first = sm.describe_endpoint(EndpointName="smoke-endpoint")
        assert first["EndpointConfigName"] == "smoke-config-1"

        # Plan is clean right after apply: no perpetual diffs (VpcConfig, DataCaptureConfig, tags,
        # pipeline timestamps).
        terraform(work, cp.url, "plan", "-detailed-exitcode", "-input=false")

        # A new endpoint config updates the endpoint in place (UpdateEndpoint), never replaces it.
        gen2 = ["-var=config_generation=2"]
        terraform(work, cp.url, "apply", "-auto-approve", "-input=false", *gen2)
        second = sm.describe_endpoint(EndpointName="smoke-endpoint")
        assert second["EndpointConfigName"] == "smoke-config-2"
        assert second["EndpointArn"] == first["EndpointArn"] and second["CreationTime"] == first["CreationTime"]
        assert second["ProductionVariants"][0]["CurrentInstanceCount"] == 2
        endpoint_events = [e["kind"] for e in events(cp) if e["kind"].startswith("sagemaker.endpoint.")]
        assert endpoint_events == ["sagemaker.endpoint.created", "sagemaker.endpoint.updated"]
        terraform(work, cp.url, "plan", "-detailed-exitcode", "-input=false", *gen2)

        terraform(work, cp.url, "destroy", "-auto-approve", "-input=false", *gen2)
        assert sm.list_endpoints()["Endpoints"] == []
        assert cp.client("codebuild").list_projects()["projects"] == []
        assert cp.client("codepipeline").list_pipelines()["pipelines"] == []
        targets = cp.client("application-autoscaling").describe_scalable_targets(ServiceNamespace="sagemaker")
        assert targets["ScalableTargets"] == []
