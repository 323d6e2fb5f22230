"""The model-archive -> model-serving -> api-hosting stack roots, applied on the embedded control plane.

Renders each stack's tfvars from the real ``environments/local.json`` context (the orchestrator's own
``render_context``), applies the three stacks in dependency order against our embedded control plane
(moto + the compatibility patches, on loopback) with local state, and checks:
- each stack reads its upstream from SSM and publishes its own keys (the contracts' SSM list);
- a plan right after each apply is empty (no perpetual diff: weights, data capture, autoscaling);
- a new model file rolls the endpoint (new content-addressed key -> new model -> new endpoint
  configuration -> endpoint updated) with no hand renaming, and the next plan is empty again.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tfhelpers import ROOT, normalize

pytestmark = [
    pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform not on PATH"),
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.timeout(900),
]

STACKS = ("model-archive", "model-serving", "api-hosting")
SSM = "/text-classification/local"
TIMINGS: dict[str, float] = {}


@pytest.fixture(scope="module")
def control_plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    pytest.importorskip("moto", reason="the embedded control plane needs the `local` extra (moto)")
    from orchestrator.embedded.testing import running_control_plane

    with running_control_plane(tmp_path_factory.mktemp("control-plane")) as cp, pytest.MonkeyPatch.context() as mp:
        # What the orchestrator gives Terraform for an embedded target (plugins.terraform_env).
        mp.setenv("AWS_ENDPOINT_URL", cp.url)
        yield cp


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """terraform/ copied with symlinks dereferenced; each stack gets a local backend override."""
    dest = tmp_path_factory.mktemp("stacks") / "terraform"
    shutil.copytree(ROOT / "terraform", dest, symlinks=False, ignore=shutil.ignore_patterns(".terraform*", "*.tfstate*"))
    for stack in STACKS:
        (dest / "stacks" / stack / "backend_override.tf").write_text('terraform {\n  backend "local" {}\n}\n')
    return dest


def _archive(folder: Path, name: str, content: bytes) -> dict[str, Any]:
    path = folder / f"{name}.tar.gz"
    path.write_bytes(content)
    return {"path": str(path), "sha256": hashlib.sha256(content).hexdigest(), "size": len(content)}


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("artifacts")
    zip_path = folder / "predictor.zip"
    zip_path.write_bytes(b"PK\x05\x06" + b"\0" * 18)
    digest = hashlib.sha256(zip_path.read_bytes())
    predictor = {"path": str(zip_path), "sha256": digest.hexdigest(), "size": 22,
                 "source_code_hash": base64.b64encode(digest.digest()).decode()}
    models = {name: _archive(folder, name, f"model {name} v1".encode()) for name in ("model-a", "model-b")}
    return {"models": models, "lambdas": {"predictor": predictor}}


def _context(control_plane: Any, artifacts: dict[str, Any]) -> dict[str, Any]:
    from orchestrator.config import load_environment
    from orchestrator.deploy import render_context

    return render_context(load_environment("local"), artifacts, control_plane.url)


def _terraform(stack_dir: Path, *args: str, timeout: int = 420) -> subprocess.CompletedProcess:
    started = time.monotonic()
    result = subprocess.run(["terraform", *args, "-no-color", "-input=false"], check=False, cwd=stack_dir,
                            capture_output=True, text=True, timeout=timeout)
    TIMINGS[f"{stack_dir.name} {args[0]}"] = TIMINGS.get(f"{stack_dir.name} {args[0]}", 0) + time.monotonic() - started
    return result


def _apply_then_plan_is_empty(stack_dir: Path) -> str:
    applied = _terraform(stack_dir, "apply", "-auto-approve")
    assert applied.returncode == 0, normalize(applied.stdout[-3000:] + applied.stderr[-6000:])
    replanned = _terraform(stack_dir, "plan", "-detailed-exitcode")
    assert replanned.returncode == 0, f"second plan of {stack_dir.name} is not empty:\n{replanned.stdout[-6000:]}{replanned.stderr[-3000:]}"
    return applied.stdout


def _render(workdir: Path, stack: str, context: dict[str, Any]) -> Path:
    from orchestrator.terraform.render import render_tfvars

    stack_dir = workdir / "stacks" / stack
    (stack_dir / "terraform.tfvars").write_text(render_tfvars(stack, context))
    return stack_dir


def _parameters(control_plane: Any) -> dict[str, str]:
    ssm = control_plane.client("ssm")
    found: dict[str, str] = {}
    for page in ssm.get_paginator("get_parameters_by_path").paginate(Path=SSM, Recursive=True, WithDecryption=True):
        found.update({p["Name"].removeprefix(SSM + "/"): p["Value"] for p in page["Parameters"]})
    return found


def test_stacks_apply_in_order_publish_ssm_and_replan_empty(control_plane, workdir, artifacts) -> None:
    context = _context(control_plane, artifacts)
    for stack in STACKS:
        stack_dir = _render(workdir, stack, context)
        init = _terraform(stack_dir, "init")
        assert init.returncode == 0, init.stderr
        _apply_then_plan_is_empty(stack_dir)

    params = _parameters(control_plane)
    expected = {
        "model-archive": ["bucket_name", "bucket_arn", "kms_key_arn", "model_data_urls"],
        "model-serving": ["endpoint_name", "endpoint_arn", "endpoint_config_name", "variant_names",
                          "capture_bucket_name", "execution_role_arn"],
        "api-hosting": ["api_id", "api_name", "stage_name", "invoke_url", "api_key_id", "api_key", "function_name"],
    }
    for stack, keys in expected.items():
        for key in keys:
            assert f"{stack}/{key}" in params, f"{stack} must publish {SSM}/{stack}/{key}"
    urls = json.loads(params["model-archive/model_data_urls"])
    bucket = params["model-archive/bucket_name"]
    for name, model in artifacts["models"].items():
        assert urls[name] == f"s3://{bucket}/models/{name}/{model['sha256']}/model.tar.gz"
    assert params["model-serving/endpoint_name"] == "text-classification-local"
    assert json.loads(params["model-serving/variant_names"]) == ["model-a", "model-b"]
    # On the embedded control plane the local data plane serves the API (its URL, not execute-api's).
    api_id = params["api-hosting/api_id"]
    assert params["api-hosting/invoke_url"] == f"{control_plane.url}/restapis/{api_id}/local/_user_request_/text"
    ssm = control_plane.client("ssm")
    assert ssm.get_parameter(Name=f"{SSM}/api-hosting/api_key")["Parameter"]["Type"] == "SecureString"

    sagemaker = control_plane.client("sagemaker")
    endpoint = sagemaker.describe_endpoint(EndpointName="text-classification-local")
    config = sagemaker.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
    weights = {v["VariantName"]: v["InitialVariantWeight"] for v in config["ProductionVariants"]}
    assert weights == {"model-a": 3.0, "model-b": 1.0}
    assert config["DataCaptureConfig"]["InitialSamplingPercentage"] == 100  # local.json overrides base's 30

    # A new model file for model-a and a new instance type for model-b, in one roll: new content-addressed
    # key, new model, new endpoint configuration, same endpoint updated in place.
    artifacts = json.loads(json.dumps(artifacts))
    artifacts["models"]["model-a"] = _archive(Path(artifacts["models"]["model-a"]["path"]).parent, "model-a-v2",
                                              b"model model-a v2")
    context = _context(control_plane, artifacts)
    context["env"] = json.loads(json.dumps(context["env"]))
    context["env"]["serving"]["models"][1]["variant"]["instance_type"] = "ml.m5.large"
    archive = _terraform(_render(workdir, "model-archive", context), "apply", "-auto-approve")
    assert archive.returncode == 0, normalize(archive.stderr[-6000:])
    log = _apply_then_plan_is_empty(_render(workdir, "model-serving", context)).splitlines()

    def first(text: str) -> int:
        return next(i for i, line in enumerate(log) if text in line)

    # Application Auto Scaling rejects an instance-type change of a scaled variant: the target of
    # model-b is deregistered before the endpoint update and registered again after it.
    endpoint_update = first("aws_sagemaker_endpoint.this[0]: Modifying...")
    assert first('aws_appautoscaling_target.this["model-b"]: Destroying...') < endpoint_update
    assert first('aws_appautoscaling_target.this["model-b"]: Creating...') > endpoint_update
    assert not any('aws_appautoscaling_target.this["model-a"]: Destroying' in line for line in log)
    rolled = sagemaker.describe_endpoint(EndpointName="text-classification-local")
    assert rolled["EndpointConfigName"] != endpoint["EndpointConfigName"]
    assert _parameters(control_plane)["model-serving/endpoint_config_name"] == rolled["EndpointConfigName"]
    models = {m["ModelName"] for m in sagemaker.list_models()["Models"]}
    new_model = [m for m in models if m.startswith("text-classification-local-model-a-")]
    assert len(new_model) == 1, f"the old model-a model must be gone after the roll: {sorted(models)}"
    config = sagemaker.describe_endpoint_config(EndpointConfigName=rolled["EndpointConfigName"])
    assert {v["VariantName"]: v["InstanceType"] for v in config["ProductionVariants"]}["model-b"] == "ml.m5.large"
    print("terraform timings (s):", {k: round(v, 1) for k, v in TIMINGS.items()})
