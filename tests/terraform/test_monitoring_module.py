"""Plan tests of terraform/modules/monitoring: dashboard generated per variant, alarms, encrypted topic."""

from __future__ import annotations

import json
import shutil

import pytest
from tfhelpers import MODULES, ModulePlanner, VariablesChecker, resources_of, type_counts

pytestmark = pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform not on PATH")

VARIANTS = ["model-a", "model-b", "model-c"]
VARS = {
    "name": "text-classification-test",
    "account_id": "123456789012",
    "endpoint_name": "text-classification-test",
    "variant_names": VARIANTS,
    "api": {"name": "text-classification-api", "stage": "test"},
    "function_name": "text-classification-test-predictor",
    "thresholds": {"api_overall_calls": 150, "api_4xx_errors": 21, "api_5xx_errors": 22,
                   "variant_5xx_errors": 7, "model_latency_p99_ms": 450, "lambda_errors": 3},
    "period_sec": 60,
    "evaluation_periods": 3,
    "emails": ["ml-oncall@example.com", "lead@example.org"],
    "tags": {"Owner": "ml-platform"},
}


@pytest.fixture(scope="module")
def planner(tmp_path_factory: pytest.TempPathFactory) -> ModulePlanner:
    return ModulePlanner(MODULES / "monitoring", tmp_path_factory.mktemp("monitoring"))


@pytest.fixture(scope="module")
def checker(tmp_path_factory: pytest.TempPathFactory) -> VariablesChecker:
    return VariablesChecker(MODULES / "monitoring", tmp_path_factory.mktemp("monitoring-vars"))


@pytest.fixture(scope="module")
def plan(planner: ModulePlanner):
    return planner.plan(VARS)


def test_inventory(plan) -> None:
    assert type_counts(plan) == {
        "aws_cloudwatch_dashboard": 1,
        "aws_cloudwatch_metric_alarm": 3 + 2 * len(VARIANTS) + 1,
        "aws_kms_key": 1,
        "aws_sns_topic": 1,
        "aws_sns_topic_policy": 1,
        "aws_sns_topic_subscription": 2,
    }, "update the expected inventory if the module gained or lost resources on purpose"


def test_dashboard_has_every_widget_per_variant(plan) -> None:
    (dashboard,) = resources_of(plan, "aws_cloudwatch_dashboard").values()
    assert dashboard["dashboard_name"] == "text-classification-test-monitor"
    body = json.loads(dashboard["dashboard_body"])
    metrics = [(tuple(m[:2]), tuple(m[2:6]) if len(m) > 2 else ()) for w in body["widgets"] for m in w["properties"]["metrics"]]
    assert all(w["properties"]["period"] == 60 for w in body["widgets"])
    api = ("ApiName", "text-classification-api", "Stage", "test")
    for name in ["Count", "4XXError", "5XXError", "Latency", "IntegrationLatency"]:
        assert (("AWS/ApiGateway", name), api) in metrics, name
    fn = ("FunctionName", "text-classification-test-predictor")
    for name in ["Invocations", "ConcurrentExecutions", "Duration", "Errors", "Throttles"]:
        assert any(m[0] == ("AWS/Lambda", name) and m[1][:2] == fn for m in metrics), name
    duration_stats = {m[-1]["stat"] for w in body["widgets"] for m in w["properties"]["metrics"]
                      if m[1] == "Duration"}
    assert duration_stats == {"Average", "Minimum", "Maximum"}
    for variant in VARIANTS:
        dims = ("EndpointName", "text-classification-test", "VariantName", variant)
        for name in ["CPUUtilization", "MemoryUtilization", "DiskUtilization"]:
            assert (("/aws/sagemaker/Endpoints", name), dims) in metrics, (variant, name)
        for name in ["Invocation4XXErrors", "Invocation5XXErrors", "Invocations", "InvocationsPerInstance",
                     "ModelLatency", "OverheadLatency"]:
            assert (("AWS/SageMaker", name), dims) in metrics, (variant, name)
        assert sum(variant in w["properties"]["title"] for w in body["widgets"]) == 4
    # No two widgets overlap.
    cells = [(w["x"], w["y"]) for w in body["widgets"]]
    assert len(cells) == len(set(cells))


def test_alarms_use_thresholds_and_notify_topic(plan) -> None:
    alarms = {v["alarm_name"]: v for v in resources_of(plan, "aws_cloudwatch_metric_alarm").values()}
    p = "text-classification-test-"
    expected = {
        p + "api-overall-calls": ("Count", 150), p + "api-4xx-errors": ("4XXError", 21),
        p + "api-5xx-errors": ("5XXError", 22), p + "predictor-errors": ("Errors", 3),
    }
    for variant in VARIANTS:
        expected[f"{p}variant-{variant}-5xx-errors"] = ("Invocation5XXErrors", 7)
        expected[f"{p}variant-{variant}-model-latency-p99"] = ("ModelLatency", 450_000)
    assert {k: (v["metric_name"], v["threshold"]) for k, v in alarms.items()} == expected
    for alarm in alarms.values():
        assert alarm["treat_missing_data"] == "notBreaching"
        assert alarm["evaluation_periods"] == 3 and alarm["period"] == 60
    # Actions point at the topic, whose ARN is only known after apply: unknown at plan time.
    for address, change in plan.resource_changes.items():
        if change["type"] == "aws_cloudwatch_metric_alarm":
            unknown = change["change"]["after_unknown"]
            assert unknown["alarm_actions"] in (True, [True]) and unknown["ok_actions"] in (True, [True]), address
    latency = alarms[p + "variant-model-b-model-latency-p99"]
    assert latency["extended_statistic"] == "p99" and latency["statistic"] is None
    assert latency["dimensions"] == {"EndpointName": "text-classification-test", "VariantName": "model-b"}
    api = alarms[p + "api-4xx-errors"]
    assert api["statistic"] == "Sum" and api["comparison_operator"] == "GreaterThanOrEqualToThreshold"
    assert api["dimensions"] == {"ApiName": "text-classification-api", "Stage": "test"}


def test_topic_encrypted_with_cmk_and_email_subscriptions(plan) -> None:
    (key,) = resources_of(plan, "aws_kms_key").values()
    assert key["enable_key_rotation"] is True
    policy = json.loads(key["policy"])
    cw = [s for s in policy["Statement"] if s.get("Principal", {}).get("Service") == "cloudwatch.amazonaws.com"]
    assert cw and set(cw[0]["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}
    (topic,) = resources_of(plan, "aws_sns_topic").values()
    assert topic["name"] == "text-classification-test-alarms"
    # The key ARN is unknown at plan time; the attribute is set (not null) from the key.
    change = plan.resource_changes["aws_sns_topic.alarms"]["change"]
    assert change["after_unknown"].get("kms_master_key_id") is True
    subs = resources_of(plan, "aws_sns_topic_subscription").values()
    assert sorted((s["protocol"], s["endpoint"]) for s in subs) == [
        ("email", "lead@example.org"), ("email", "ml-oncall@example.com")]
    assert topic["tags"] == {"Owner": "ml-platform"}


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"emails": ["not-an-email"]}, "Every entry of emails must be an email address"),
        ({"thresholds": {"api_4xx_errors": -1}}, "Every threshold must be a number >= 0"),
        ({"variant_names": []}, "variant_names must list at least one variant name"),
        ({"period_sec": 45}, "period_sec must be 10, 30 or a multiple of 60"),
    ],
    ids=["email", "threshold", "variants", "period"],
)
def test_invalid_input_fails_with_guidance(checker: VariablesChecker, override: dict, message: str) -> None:
    assert message in checker.plan_error({**VARS, **override})


def test_valid_input_passes_the_variables_check(checker: VariablesChecker) -> None:
    checker.plan(VARS)  # the negative cases above fail for their override alone
