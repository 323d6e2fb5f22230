"""The main job on the embedded control plane: apply from empty, converge, roll, destroy to nothing.

Real Terraform, real provider (offline mirror), our patched moto; one environment per test module.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from orchestrator.cli import main
from orchestrator.config import load_environment

ROOT = Path(__file__).resolve().parents[2]
needs_terraform = pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform not on PATH")

pytestmark = [pytest.mark.integration, needs_terraform, pytest.mark.timeout(900)]

ALL_STACKS = ["model-archive", "model-serving", "api-hosting", "monitoring", "load-testing", "cicd-pipeline"]


def _models_override(weight_a: float) -> dict[str, Any]:
    base = json.loads((ROOT / "environments" / "base.json").read_text())
    models = base["serving"]["models"]
    models[0]["variant"]["weight"] = weight_a
    return {"serving": {"models": models}}


def _summary_rows(output: str) -> dict[str, list[str]]:
    rows = {}
    for line in output.splitlines():
        parts = line.split()
        if parts and parts[0] in ALL_STACKS and len(parts) >= 6:
            rows[parts[0]] = parts[1:]
    return rows


@pytest.fixture(scope="module")
def env_file(deployment: Any) -> Path:
    # The deployment's project root holds a copy of models/: changing its weights leaves the source tree alone.
    return deployment.env_file("itest")


@pytest.fixture(scope="module")
def applied(env_file: Path, deployment: Any) -> Path:
    code = main(["apply", "--env", str(env_file), "--auto-approve"])
    assert code == 0, "cold apply failed"
    return env_file


def _endpoint_config(deployment: Any, env_file: Path) -> dict[str, Any]:
    env = load_environment(str(env_file))
    sm = deployment.control_plane.client("sagemaker")
    endpoint = sm.describe_endpoint(EndpointName=env.endpoint_name)
    return sm.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])


def test_every_stack_applies_and_a_second_plan_is_empty(
    applied: Path, deployment: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(["plan", "--env", str(applied)]) == 0
    rows = _summary_rows(capsys.readouterr().out)
    assert set(rows) == set(ALL_STACKS)
    assert {stack: row[0] for stack, row in rows.items()} == {s: "no-changes" for s in ALL_STACKS}

    config = _endpoint_config(deployment, applied)
    weights = {v["VariantName"]: v["InitialVariantWeight"] for v in config["ProductionVariants"]}
    assert weights == {"model-a": 3.0, "model-b": 1.0}
    assert config["DataCaptureConfig"]["InitialSamplingPercentage"] == 100


def test_outputs_name_everything_a_user_needs(applied: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["outputs", "--env", str(applied), "--json"]) == 0
    outputs = json.loads(capsys.readouterr().out)
    assert outputs["endpoint_name"] and outputs["api_invoke_url"]
    assert outputs["variants"] == ["model-a", "model-b"]
    assert outputs["buckets"]["model_archive"] and outputs["buckets"]["data_capture"]
    assert outputs["dashboards"]["monitor"] and outputs["dashboards"]["tester"]
    assert outputs["sns_topics"]["alarms"] and outputs["sns_topics"]["test_trigger"]
    assert outputs["api_key_ssm_name"].endswith("/api-hosting/api_key")


def test_new_weights_and_new_traffic_split_roll_the_endpoint(
    applied: Path, deployment: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _endpoint_config(deployment, applied)
    model_a = Path(load_environment(str(applied)).model("model-a").path)
    assert model_a.is_relative_to(deployment.root), "never touch the source tree's models"

    # A retrained model (new weights file) and a new traffic split, no hand renaming.
    weights = next((model_a / "artifacts").glob("*.pt"))
    import torch

    state = torch.load(weights, weights_only=True)
    first = next(iter(state))
    state[first] = state[first] * 1.01
    torch.save(state, weights)
    override = _models_override(weight_a=1)
    doc = json.loads(applied.read_text())
    doc.update(override)
    applied.write_text(json.dumps(doc, indent=2))

    assert main(["apply", "--env", str(applied), "--auto-approve"]) == 0
    after = _endpoint_config(deployment, applied)
    assert after["EndpointConfigName"] != before["EndpointConfigName"]
    new_weights = {v["VariantName"]: v["InitialVariantWeight"] for v in after["ProductionVariants"]}
    assert new_weights == {"model-a": 1.0, "model-b": 1.0}
    model_names = {v["VariantName"]: v["ModelName"] for v in after["ProductionVariants"]}
    old_names = {v["VariantName"]: v["ModelName"] for v in before["ProductionVariants"]}
    assert model_names["model-a"] != old_names["model-a"], "new weights must mean a new SageMaker model"
    assert model_names["model-b"] == old_names["model-b"]

    capsys.readouterr()
    assert main(["plan", "--env", str(applied)]) == 0
    rows = _summary_rows(capsys.readouterr().out)
    assert {row[0] for row in rows.values()} == {"no-changes"}


def _leftovers(deployment: Any, prefix: str, ssm_prefix: str) -> dict[str, list[str]]:
    cp = deployment.control_plane
    found: dict[str, list[str]] = {}

    def keep(kind: str, names: list[str]) -> None:
        mine = [n for n in names if prefix in n or n.startswith(ssm_prefix)]
        if mine:
            found[kind] = mine

    keep("buckets", [b["Name"] for b in cp.client("s3").list_buckets()["Buckets"]])
    sm = cp.client("sagemaker")
    keep("endpoints", [e["EndpointName"] for e in sm.list_endpoints()["Endpoints"]])
    keep("endpoint_configs", [e["EndpointConfigName"] for e in sm.list_endpoint_configs()["EndpointConfigs"]])
    keep("models", [m["ModelName"] for m in sm.list_models()["Models"]])
    keep("functions", [f["FunctionName"] for f in cp.client("lambda").list_functions()["Functions"]])
    keep("apis", [a["name"] for a in cp.client("apigateway").get_rest_apis()["items"]])
    keep("topics", [t["TopicArn"] for t in cp.client("sns").list_topics()["Topics"]])
    cw = cp.client("cloudwatch")
    keep("alarms", [a["AlarmName"] for a in cw.describe_alarms()["MetricAlarms"]])
    keep("dashboards", [d["DashboardName"] for d in cw.list_dashboards()["DashboardEntries"]])
    keep("pipelines", [p["name"] for p in cp.client("codepipeline").list_pipelines()["pipelines"]])
    keep("projects", cp.client("codebuild").list_projects()["projects"])
    pages = cp.client("ssm").get_paginator("describe_parameters").paginate()
    keep("parameters", [p["Name"] for page in pages for p in page["Parameters"]])
    keep("roles", [r["RoleName"] for r in cp.client("iam").list_roles()["Roles"]])
    return found


def test_destroy_leaves_nothing(applied: Path, deployment: Any) -> None:
    env = load_environment(str(applied))
    assert _leftovers(deployment, env.prefix, env.ssm_prefix), "apply should have created resources"
    assert main(["destroy", "--env", str(applied), "--auto-approve"]) == 0
    assert _leftovers(deployment, env.prefix, env.ssm_prefix) == {}
