"""Plan tests of terraform/modules/load-testing: tester functions, subscriptions, scoped role, dashboard."""

from __future__ import annotations

import json
import shutil

import pytest
from tfhelpers import MODULES, ModulePlanner, VariablesChecker, resources_of, type_counts

pytestmark = pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform not on PATH")

CASES = ["world", "sports", "business", "scitech"]


@pytest.fixture(scope="module")
def tf_vars(tmp_path_factory: pytest.TempPathFactory) -> dict:
    package = tmp_path_factory.mktemp("pkg") / "load_tester.zip"
    package.write_bytes(b"PK\x05\x06" + b"\0" * 18)  # an empty zip: plan only needs the path
    return {
        "name": "text-classification-test",
        "account_id": "123456789012",
        "stage": "test",
        "metric_namespace": "text-classification",
        "client_count": 3,
        "lambda_package": {"filename": str(package), "source_code_hash": "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="},
        "api": {
            "invoke_url": "https://abc123.execute-api.us-east-1.amazonaws.com/test/text",
            "api_key_parameter_name": "/text-classification/test/api-hosting/api_key",
        },
        "test_cases": [{"name": c} for c in CASES],
        "log_retention_days": 30,
        "tags": {"Owner": "ml-platform"},
    }


@pytest.fixture(scope="module")
def plan(tmp_path_factory: pytest.TempPathFactory, tf_vars: dict):
    return ModulePlanner(MODULES / "load-testing", tmp_path_factory.mktemp("load-testing")).plan(tf_vars)


@pytest.fixture(scope="module")
def stored_plan(tmp_path_factory: pytest.TempPathFactory, tf_vars: dict):
    stored = {**tf_vars, "lambda_package": {**tf_vars["lambda_package"], "s3_bucket": "text-classification-test-model-archive"}}
    return ModulePlanner(MODULES / "load-testing", tmp_path_factory.mktemp("load-testing-s3")).plan(stored)


@pytest.fixture(scope="module")
def checker(tmp_path_factory: pytest.TempPathFactory) -> VariablesChecker:
    return VariablesChecker(MODULES / "load-testing", tmp_path_factory.mktemp("load-testing-vars"))


def test_inventory(plan) -> None:
    assert type_counts(plan) == {
        "aws_cloudwatch_dashboard": 1,
        "aws_cloudwatch_log_group": 3,
        "aws_iam_role": 1,
        "aws_iam_role_policy": 1,
        "aws_kms_key": 1,
        "aws_lambda_function": 3,
        "aws_lambda_function_event_invoke_config": 3,
        "aws_lambda_permission": 3,
        "aws_sns_topic": 1,
        "aws_sns_topic_subscription": 3,
    }, "update the expected inventory if the module gained or lost resources on purpose"


def test_tester_functions(plan, tf_vars: dict) -> None:
    functions = sorted(resources_of(plan, "aws_lambda_function").values(), key=lambda f: f["function_name"])
    assert [f["function_name"] for f in functions] == [f"text-classification-test-load-tester-{i}" for i in (1, 2, 3)]
    for fn in functions:
        assert fn["runtime"].startswith("python3.")
        assert fn["handler"] == "handler.lambda_handler"  # lambda_src/load_tester/handler.py
        assert fn["filename"] == tf_vars["lambda_package"]["filename"]
        assert fn["source_code_hash"] == tf_vars["lambda_package"]["source_code_hash"]
        env = fn["environment"][0]["variables"]
        assert env["API_INVOKE_URL"] == tf_vars["api"]["invoke_url"]
        assert env["API_KEY_PARAMETER"] == "/text-classification/test/api-hosting/api_key"
        assert env["METRIC_NAMESPACE"] == "text-classification" and env["STAGE"] == "test"
        assert not any("key" in k.lower() and "PARAMETER" not in k for k in env), "never the key value"
    groups = {g["name"]: g for g in resources_of(plan, "aws_cloudwatch_log_group").values()}
    assert set(groups) == {f"/aws/lambda/text-classification-test-load-tester-{i}" for i in (1, 2, 3)}
    assert {g["retention_in_days"] for g in groups.values()} == {30}
    # Log groups exist before the functions (moto would otherwise create them on first log).
    config = {r["address"]: r for r in plan._raw["configuration"]["root_module"]["resources"]}
    assert "aws_cloudwatch_log_group.tester" in config["aws_lambda_function.this"]["depends_on"]


def test_package_uploaded_once_to_the_artifact_bucket(stored_plan, tf_vars: dict) -> None:
    """With lambda_package.s3_bucket every tester loads one content-addressed object (and the functions
    are created in parallel instead of one by one under the provider's lock for local files)."""
    (package,) = resources_of(stored_plan, "aws_s3_object").values()
    token = tf_vars["lambda_package"]["source_code_hash"].rstrip("=").replace("/", "_").replace("+", "-")
    assert package["bucket"] == "text-classification-test-model-archive"
    assert package["key"] == f"lambda/text-classification-test-load-tester/{token}.zip"
    assert package["source"] == tf_vars["lambda_package"]["filename"]
    functions = resources_of(stored_plan, "aws_lambda_function").values()
    assert len(functions) == 3
    for fn in functions:
        assert fn["filename"] is None
        assert (fn["s3_bucket"], fn["s3_key"]) == (package["bucket"], package["key"])
        assert fn["source_code_hash"] == tf_vars["lambda_package"]["source_code_hash"]


def test_each_tester_subscribed_with_permission(plan) -> None:
    subs = resources_of(plan, "aws_sns_topic_subscription")
    perms = resources_of(plan, "aws_lambda_permission")
    assert len(subs) == len(perms) == 3
    assert {s["protocol"] for s in subs.values()} == {"lambda"}
    assert {(p["principal"], p["action"]) for p in perms.values()} == {("sns.amazonaws.com", "lambda:InvokeFunction")}
    invoke = resources_of(plan, "aws_lambda_function_event_invoke_config").values()
    assert {c["maximum_retry_attempts"] for c in invoke} == {0}
    change = plan.resource_changes["aws_sns_topic.trigger"]["change"]
    assert change["after"]["name"] == "text-classification-test-test-trigger"
    assert change["after_unknown"]["kms_master_key_id"] is True


def test_role_is_scoped(plan) -> None:
    statements = _statements(plan)
    metrics = statements["MetricsInTheProjectNamespaceOnly"]
    assert metrics["actions"] == ["cloudwatch:PutMetricData"]
    assert metrics["condition"] == [{"test": "StringEquals", "variable": "cloudwatch:namespace", "values": ["text-classification"]}]
    ssm = statements["ReadTheApiKeyParameter"]
    assert ssm["actions"] == ["ssm:GetParameter"]
    assert ssm["resources"] == ["arn:aws:ssm:us-east-1:123456789012:parameter/text-classification/test/api-hosting/api_key"]
    kms = statements["DecryptTheApiKeyThroughSsm"]
    assert kms["condition"][0]["variable"] == "kms:ViaService"
    logs = statements["OwnLogGroups"]
    assert logs["resources"] == ["arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/text-classification-test-load-tester-*:*"]


def _statements(plan) -> dict:
    """Statements of the tester policy document, by sid (planned data source values)."""
    for change in plan._raw.get("resource_changes", []):
        if change["address"] == "data.aws_iam_policy_document.tester":
            return {s["sid"]: s for s in change["change"]["after"]["statement"]}
    pytest.fail("data.aws_iam_policy_document.tester not in plan")


def test_dashboard_generated_from_test_cases(plan) -> None:
    (dashboard,) = resources_of(plan, "aws_cloudwatch_dashboard").values()
    assert dashboard["dashboard_name"] == "text-classification-test-tester"
    widgets = json.loads(dashboard["dashboard_body"])["widgets"]
    metrics = [m for w in widgets for m in w["properties"]["metrics"]]
    assert {m[1] for m in metrics if m[0] == "AWS/SNS"} == {
        "NumberOfMessagesPublished", "NumberOfNotificationsDelivered", "NumberOfNotificationsFailed"}
    for case in CASES:
        dims = ["Stage", "test", "Type", f"ApiGateway/{case}"]
        ours = [m for m in metrics if m[0] == "text-classification" and m[2:6] == dims]
        assert {m[-1]["stat"] for m in ours if m[1] == "ResponseTime"} == {"p50", "p90", "p99"}, case
        assert {m[1] for m in ours} == {"ResponseTime", "StatusSuccess", "StatusError", "TestSuccess", "TestFail"}


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"client_count": 0}, "client_count must be a whole number between 1 and 50"),
        ({"api": {"invoke_url": "https://x/test/text", "api_key_parameter_name": "abc123secret"}},
         "api.api_key_parameter_name must be the SSM parameter name of the API key"),
        ({"metric_namespace": "AWS/Lambda"}, "metric_namespace must be a custom namespace"),
        ({"test_cases": []}, "test_cases must list at least one case"),
        ({"lambda_package": {"filename": "x.zip", "source_code_hash": "h", "s3_bucket": "Bad_Bucket"}},
         "lambda_package.s3_bucket must be an S3 bucket name"),
        ({"lambda_package": {"filename": "x.zip", "source_code_hash": "h", "s3_key_prefix": "lambda/"}},
         "lambda_package.s3_key_prefix must be a key prefix without leading or trailing '/'"),
        ({"lambda_package": {"filename": "x.zip", "source_code_hash": "h", "runtime": "python3.10"}},
         "lambda_package.runtime must be a Python runtime from python3.11 on"),
        ({"lambda_package": {"filename": "x.zip", "source_code_hash": "h", "runtime": "nodejs20.x"}},
         "lambda_package.runtime must be a Python runtime from python3.11 on"),
    ],
    ids=["client_count", "api_key_name", "namespace", "test_cases", "s3_bucket", "s3_key_prefix", "runtime_310",
         "runtime_node"],
)
def test_invalid_input_fails_with_guidance(checker: VariablesChecker, tf_vars: dict, override: dict, message: str) -> None:
    assert message in checker.plan_error({**tf_vars, **override})


def test_valid_input_passes_the_variables_check(checker: VariablesChecker, tf_vars: dict) -> None:
    checker.plan(tf_vars)
