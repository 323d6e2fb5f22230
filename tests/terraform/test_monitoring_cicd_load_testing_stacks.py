"""The monitoring, load-testing and cicd-pipeline stack roots, end to end short of apply.

For each stack: render ``terraform.tfvars`` from the real ``environments/local.json`` context (the
orchestrator's own ``render_context``), then ``terraform plan`` (which validates first) against the
AWS control plane of the local mode (moto, server mode, loopback), seeded with the SSM parameters the upstream stacks publish.
This checks the template against the stack's variables and the stack's SSM wiring. State is local
(a backend override), so nothing is written to the control plane.
"""

from __future__ import annotations

import json
import logging
import shutil
import socket
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from tfhelpers import MODULES, STACKS, normalize

pytestmark = [
    pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform not on PATH"),
    pytest.mark.integration,
    pytest.mark.slow,
]

OUR_STACKS = ("monitoring", "load-testing", "cicd-pipeline")
PREFIX = "/text-classification/local"
UPSTREAM = {
    f"{PREFIX}/model-serving/endpoint_name": "text-classification-local",
    f"{PREFIX}/model-serving/variant_names": json.dumps(["model-a", "model-b"]),
    f"{PREFIX}/api-hosting/api_name": "text-classification-local-text-classification-api",
    f"{PREFIX}/api-hosting/stage_name": "local",
    f"{PREFIX}/api-hosting/function_name": "text-classification-local-predictor",
    f"{PREFIX}/api-hosting/invoke_url": "http://127.0.0.1:4566/restapis/abc123/local/_user_request_/text",
    f"{PREFIX}/model-archive/bucket_name": "text-classification-local-model-archive",
}


def _run(args: list[str], cwd: Path, timeout: int = 240) -> subprocess.CompletedProcess:
    return subprocess.run(["terraform", *args, "-no-color"], cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          check=False)


@pytest.fixture(scope="module")
def control_plane_url() -> Iterator[str]:
    """Plain moto in server mode on loopback: plan only reads SSM and STS, no patches needed."""
    pytest.importorskip("moto", reason="the embedded control plane needs the `local` extra (moto)")
    import boto3
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one access-log line per request otherwise

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    try:
        ssm = boto3.client("ssm", endpoint_url=url, region_name="us-east-1",
                           aws_access_key_id="test", aws_secret_access_key="test")
        for name, value in UPSTREAM.items():
            ssm.put_parameter(Name=name, Value=value, Type="String")
        ssm.put_parameter(Name=f"{PREFIX}/api-hosting/api_key", Value="not-a-real-key-0123456789", Type="SecureString")
        with pytest.MonkeyPatch.context() as mp:
            # What the orchestrator gives Terraform for an embedded target (plugins.terraform_env).
            mp.setenv("AWS_ENDPOINT_URL", url)
            yield url
    finally:
        server.stop()


@pytest.fixture(scope="module")
def context(control_plane_url: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from orchestrator.config import load_environment
    from orchestrator.deploy import render_context

    package = tmp_path_factory.mktemp("pkg") / "load_tester.zip"
    package.write_bytes(b"PK\x05\x06" + b"\0" * 18)
    lambdas = {"load_tester": {"path": str(package), "sha256": "0" * 64, "size": 22,
                               "source_code_hash": "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="}}
    return render_context(load_environment("local"), {"models": {}, "lambdas": lambdas}, control_plane_url)


def _plan_stack(stack: str, context: dict[str, Any], root: Path) -> dict[str, Any]:
    from orchestrator.terraform.render import render_tfvars

    work = root / "stacks" / stack
    (work / "terraform.tfvars").write_text(render_tfvars(stack, context))
    (work / "backend_override.tf").write_text('terraform {\n  backend "local" {}\n}\n')
    # plan validates the configuration first (terraform validate of every stack is in test_static_checks);
    # each extra command costs a start of the AWS provider, the slowest part of these tests.
    for args in (["init", "-input=false"], ["plan", "-input=false", "-out=tfplan"]):
        result = _run(args, work)
        assert result.returncode == 0, f"{stack}: terraform {args[0]} failed:\n{normalize(result.stdout + result.stderr)}"
    shown = _run(["show", "-json", "tfplan"], work)
    return json.loads(shown.stdout)


@pytest.fixture(scope="module")
def plans(context: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    root = tmp_path_factory.mktemp("tf") / "terraform"
    for stack in OUR_STACKS:
        shutil.copytree(STACKS / stack, root / "stacks" / stack, symlinks=False)
        shutil.copytree(MODULES / stack, root / "modules" / stack)
    with ThreadPoolExecutor(max_workers=len(OUR_STACKS)) as pool:
        futures = {s: pool.submit(_plan_stack, s, context, root) for s in OUR_STACKS}
        return {s: f.result() for s, f in futures.items()}


def _resources(plan: dict[str, Any], rtype: str) -> list[dict[str, Any]]:
    return [c for c in plan["resource_changes"] if c["type"] == rtype and c["mode"] == "managed"]


def _published(plan: dict[str, Any]) -> list[str]:
    return sorted(c["change"]["after"]["name"] for c in _resources(plan, "aws_ssm_parameter"))


def test_monitoring_stack_reads_upstream_and_publishes(plans) -> None:
    plan = plans["monitoring"]
    assert _published(plan) == [f"{PREFIX}/monitoring/alarm_topic_arn", f"{PREFIX}/monitoring/dashboard_name"]
    (dashboard,) = _resources(plan, "aws_cloudwatch_dashboard")
    assert dashboard["change"]["after"]["dashboard_name"] == "text-classification-local-monitor"
    body = json.loads(dashboard["change"]["after"]["dashboard_body"])
    variants = {m[5] for w in body["widgets"] for m in w["properties"]["metrics"] if m[0] == "AWS/SageMaker"}
    assert variants == {"model-a", "model-b"}
    alarms = {c["change"]["after"]["alarm_name"]: c["change"]["after"] for c in _resources(plan, "aws_cloudwatch_metric_alarm")}
    assert alarms["text-classification-local-api-overall-calls"]["threshold"] == 100
    assert alarms["text-classification-local-api-overall-calls"]["dimensions"] == {
        "ApiName": UPSTREAM[f"{PREFIX}/api-hosting/api_name"], "Stage": "local"}
    assert alarms["text-classification-local-variant-model-a-model-latency-p99"]["threshold"] == 500_000
    (sub,) = _resources(plan, "aws_sns_topic_subscription")
    assert sub["change"]["after"]["endpoint"] == "ml-oncall@example.com"


def test_load_testing_stack_never_handles_the_key_value(plans) -> None:
    plan = plans["load-testing"]
    assert _published(plan) == [f"{PREFIX}/load-testing/{k}" for k in
                                ("dashboard_name", "metric_namespace", "tester_function_names", "trigger_topic_arn")]
    functions = _resources(plan, "aws_lambda_function")
    assert len(functions) == 5
    # One package in the artifact bucket that model-archive publishes, shared by every tester.
    (package,) = _resources(plan, "aws_s3_object")
    assert package["change"]["after"]["bucket"] == UPSTREAM[f"{PREFIX}/model-archive/bucket_name"]
    assert {f["change"]["after"]["s3_bucket"] for f in functions} == {package["change"]["after"]["bucket"]}
    assert {f["change"]["after"]["s3_key"] for f in functions} == {package["change"]["after"]["key"]}
    env = functions[0]["change"]["after"]["environment"][0]["variables"]
    assert env["API_INVOKE_URL"] == UPSTREAM[f"{PREFIX}/api-hosting/invoke_url"]
    assert env["API_KEY_PARAMETER"] == f"{PREFIX}/api-hosting/api_key"
    assert "not-a-real-key" not in json.dumps(plan)
    (namespace,) = [c for c in _resources(plan, "aws_ssm_parameter") if c["change"]["after"]["name"].endswith("metric_namespace")]
    assert namespace["change"]["after"]["value"] == "text-classification"


def test_cicd_stack_uses_the_s3_source_and_embedded_toggles(plans) -> None:
    plan = plans["cicd-pipeline"]
    assert _published(plan) == [f"{PREFIX}/cicd-pipeline/artifact_bucket_name", f"{PREFIX}/cicd-pipeline/pipeline_name"]
    (pipeline,) = _resources(plan, "aws_codepipeline")
    stages = pipeline["change"]["after"]["stage"]
    assert [s["name"] for s in stages] == ["Source", "Plan", "Approval", "Apply"]
    assert stages[0]["action"][0]["provider"] == "S3"
    # Embedded: no TLS-only policy (moto ignores conditions) and no slow lifecycle rule.
    assert not _resources(plan, "aws_s3_bucket_policy")
    assert not _resources(plan, "aws_s3_bucket_lifecycle_configuration")
    projects = {c["change"]["after"]["name"]: c["change"]["after"] for c in _resources(plan, "aws_codebuild_project")}
    env = {v["name"]: v["value"] for v in projects["text-classification-local-apply"]["environment"][0]["environment_variable"]}
    assert env["DEPLOY_ENV"] == "local"
