"""The monitoring, load-testing and cicd-pipeline tfvars templates render for every shipped environment
(no Terraform needed; the stack tests plan the local rendering)."""

from __future__ import annotations

import pytest

from orchestrator.config import load_environment
from orchestrator.deploy import render_context
from orchestrator.terraform.render import render_tfvars

ARTIFACTS = {"models": {}, "lambdas": {"load_tester": {
    "path": "/abs/build/lambdas/load_tester.zip", "sha256": "0" * 64, "size": 1, "source_code_hash": "hash="}}}


def _render(env_name: str, stack: str) -> str:
    env = load_environment(env_name)
    url = "http://127.0.0.1:4566" if env.is_embedded else None
    return render_tfvars(stack, render_context(env, ARTIFACTS, url))


@pytest.mark.parametrize("env_name", ["local", "demo"])
@pytest.mark.parametrize("stack", ["monitoring", "load-testing", "cicd-pipeline"])
def test_renders_project_and_provider(env_name: str, stack: str) -> None:
    text = _render(env_name, stack)
    assert f'"stage" = "{env_name}"' in text
    assert ("aws_endpoint_url = null" in text) == (env_name == "demo")


def test_cicd_pipeline_github_source_and_aws_toggles() -> None:
    text = _render("demo", "cicd-pipeline")
    assert 'environment_name  = "demo"' in text
    assert '"type" = "github"' in text and '"repository" = "example-org/sagemaker-serving-platform"' in text
    assert 'state_bucket_name = "text-classification-demo-tfstate-123456789012"' in text
    assert '"tls_only_policy" = true' in text and '"expiration_days" = 30' in text


def test_cicd_pipeline_embedded_toggles() -> None:
    text = _render("local", "cicd-pipeline")
    assert '"type" = "s3"' in text and "state_bucket_name = null" in text
    assert '"tls_only_policy" = false' in text and '"expiration_days" = 0' in text


def test_load_testing_passes_the_package_and_case_names_only() -> None:
    text = _render("local", "load-testing")
    assert '"path" = "/abs/build/lambdas/load_tester.zip"' in text and '"source_code_hash" = "hash="' in text
    for case in ("world", "sports", "business", "scitech"):
        assert f'"name" = "{case}"' in text
    assert "sentence" not in text  # request bodies travel in the trigger message, not in Terraform


def test_monitoring_passes_thresholds_and_emails() -> None:
    text = _render("local", "monitoring")
    assert '"model_latency_p99_ms" = 500' in text and '"ml-oncall@example.com"' in text
