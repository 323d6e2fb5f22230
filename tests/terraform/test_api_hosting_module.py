"""Plan tests of terraform/modules/api-hosting: key-protected REST API, AWS_PROXY Lambda, usage plan, SSM key."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import shutil

import pytest
from tfhelpers import MODULES, ModulePlanner, resources_of, type_counts

pytestmark = pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform not on PATH")

NAME = "text-classification-test"
ENDPOINT_ARN = f"arn:aws:sagemaker:us-east-1:123456789012:endpoint/{NAME}"
SSM_KEY = "/text-classification/test/api-hosting/api_key"


@pytest.fixture(scope="module")
def tf_vars(tmp_path_factory: pytest.TempPathFactory) -> dict:
    zip_path = tmp_path_factory.mktemp("lambda") / "predictor.zip"
    zip_path.write_bytes(b"PK\x05\x06" + b"\0" * 18)
    return {
        "name": NAME,
        "api_name": f"{NAME}-api",
        "account_id": "123456789012",
        "endpoint_name": NAME,
        "endpoint_arn": ENDPOINT_ARN,
        "lambda": {
            "filename": str(zip_path),
            "source_code_hash": base64.b64encode(hashlib.sha256(zip_path.read_bytes()).digest()).decode(),
            "runtime": "python3.12",
            "timeout_sec": 29,
            "max_body_bytes": 65536,
            "reserved_concurrent_executions": 20,
        },
        "log_retention_days": 14,
        "api": {
            "resource_path": "text",
            "http_method": "POST",
            "stage_name": "test",
            "throttle": {"rate_limit": 100, "burst_limit": 200},
            "quota": {"limit": 100000, "period": "DAY"},
        },
        "api_key_ssm_parameter_name": SSM_KEY,
        "tags": {"Owner": "ml-platform"},
    }


@pytest.fixture(scope="module")
def planner(tmp_path_factory: pytest.TempPathFactory) -> ModulePlanner:
    return ModulePlanner(MODULES / "api-hosting", tmp_path_factory.mktemp("api-hosting"))


@pytest.fixture(scope="module")
def plan(planner: ModulePlanner, tf_vars: dict):
    return planner.plan(tf_vars)


def one(plan, rtype: str) -> dict:
    (values,) = resources_of(plan, rtype).values()
    return values


def config_of(plan, address: str) -> dict:
    (found,) = [r for r in plan._raw["configuration"]["root_module"]["resources"] if r["address"] == address]
    return found


def test_inventory(plan) -> None:
    assert type_counts(plan) == {
        "aws_api_gateway_account": 1,
        "aws_api_gateway_api_key": 1,
        "aws_api_gateway_deployment": 1,
        "aws_api_gateway_integration": 1,
        "aws_api_gateway_method": 1,
        "aws_api_gateway_method_settings": 1,
        "aws_api_gateway_resource": 1,
        "aws_api_gateway_rest_api": 1,
        "aws_api_gateway_stage": 1,
        "aws_api_gateway_usage_plan": 1,
        "aws_api_gateway_usage_plan_key": 1,
        "aws_cloudwatch_log_group": 2,
        "aws_iam_role": 2,
        "aws_iam_role_policy": 2,
        "aws_lambda_function": 1,
        "aws_lambda_permission": 1,
        "aws_ssm_parameter": 1,
    }, "update the expected inventory if the module gained or lost resources on purpose"


def test_regional_api_with_key_required_proxy_method(plan) -> None:
    api = one(plan, "aws_api_gateway_rest_api")
    assert api["name"] == f"{NAME}-api" and api["endpoint_configuration"][0]["types"] == ["REGIONAL"]
    assert one(plan, "aws_api_gateway_resource")["path_part"] == "text"
    method = one(plan, "aws_api_gateway_method")
    assert method["http_method"] == "POST" and method["api_key_required"] is True and method["authorization"] == "NONE"
    integration = one(plan, "aws_api_gateway_integration")
    assert integration["type"] == "AWS_PROXY" and integration["integration_http_method"] == "POST"
    deployment = config_of(plan, "aws_api_gateway_deployment.this")
    # Redeploy whenever the method or the integration changes.
    assert {"aws_api_gateway_method.this", "aws_api_gateway_integration.this.uri"} <= set(deployment["expressions"]["triggers"]["references"])


def test_stage_logs_and_metrics(plan) -> None:
    stage = one(plan, "aws_api_gateway_stage")
    assert stage["stage_name"] == "test"
    access = json.loads(stage["access_log_settings"][0]["format"])
    assert access["requestId"] == "$context.requestId" and access["status"] == "$context.status"
    settings = one(plan, "aws_api_gateway_method_settings")
    assert settings["method_path"] == "*/*"
    assert settings["settings"][0]["metrics_enabled"] is True and settings["settings"][0]["logging_level"] == "INFO"
    groups = {v["name"]: v for v in resources_of(plan, "aws_cloudwatch_log_group").values()}
    assert groups[f"/aws/apigateway/{NAME}-api/test/access"]["retention_in_days"] == 14


def test_usage_plan_throttle_quota_and_key_in_ssm(plan) -> None:
    usage = one(plan, "aws_api_gateway_usage_plan")
    assert usage["throttle_settings"][0] == {"rate_limit": 100, "burst_limit": 200}
    assert usage["quota_settings"][0]["limit"] == 100000 and usage["quota_settings"][0]["period"] == "DAY"
    assert usage["api_stages"][0]["stage"] == "test"
    assert one(plan, "aws_api_gateway_usage_plan_key")["key_type"] == "API_KEY"
    parameter = one(plan, "aws_ssm_parameter")
    assert parameter["name"] == SSM_KEY and parameter["type"] == "SecureString"
    outputs = plan._raw["configuration"]["root_module"]["outputs"]
    assert outputs["api_key_value"].get("sensitive") is True


def test_predictor_function(plan, tf_vars: dict) -> None:
    function = one(plan, "aws_lambda_function")
    assert function["function_name"] == f"{NAME}-predictor"
    assert function["runtime"] == "python3.12" and function["handler"] == "handler.lambda_handler"
    assert function["filename"] == tf_vars["lambda"]["filename"]
    assert function["source_code_hash"] == tf_vars["lambda"]["source_code_hash"]
    assert function["timeout"] == 29 and function["reserved_concurrent_executions"] == 20
    env = function["environment"][0]["variables"]
    assert env["SAGEMAKER_ENDPOINT"] == NAME and env["MAX_BODY_BYTES"] == "65536" and env["LOG_LEVEL"] == "INFO"
    # Every InvokeEndpoint attempt fits in the function's timeout, itself under API Gateway's 29 s.
    assert env["SAGEMAKER_READ_TIMEOUT_SEC"] == "12" and env["SAGEMAKER_MAX_ATTEMPTS"] == "2"
    groups = {v["name"]: v for v in resources_of(plan, "aws_cloudwatch_log_group").values()}
    assert groups[f"/aws/lambda/{NAME}-predictor"]["retention_in_days"] == 14
    # The log group exists before the function, so Lambda never creates it without retention.
    assert "aws_cloudwatch_log_group.lambda" in config_of(plan, "aws_lambda_function.this")["depends_on"]


def test_function_role_is_least_privilege(plan) -> None:
    policies = {v["name"]: json.loads(v["policy"]) for v in resources_of(plan, "aws_iam_role_policy").values()}
    statements = {s["Sid"]: s for s in policies[f"{NAME}-predictor-policy"]["Statement"]}
    assert set(statements) == {"InvokeEndpoint", "WriteOwnLogs"}
    assert statements["InvokeEndpoint"] == {
        "Sid": "InvokeEndpoint", "Effect": "Allow", "Action": "sagemaker:InvokeEndpoint", "Resource": ENDPOINT_ARN,
    }
    assert statements["WriteOwnLogs"]["Resource"] == (
        f"arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/{NAME}-predictor:*"
    )


def test_toggles_and_nested_path(planner: ModulePlanner, tf_vars: dict) -> None:
    local = copy.deepcopy(tf_vars)
    local["create_account_cloudwatch_role"] = False
    local["api"].update(resource_path="v1/text", http_method="PUT", access_logs=False, logging_level="OFF")
    local["api_key_ssm_parameter_name"] = None
    plan = planner.plan(local)
    counts = type_counts(plan)
    assert counts["aws_api_gateway_resource"] == 2 and counts["aws_cloudwatch_log_group"] == 1
    for absent in ("aws_api_gateway_account", "aws_ssm_parameter"):
        assert absent not in counts
    assert counts["aws_iam_role"] == 1
    assert one(plan, "aws_api_gateway_method")["http_method"] == "PUT"
    assert not one(plan, "aws_api_gateway_stage")["access_log_settings"]


def test_bad_values_fail_at_plan_with_their_messages(planner: ModulePlanner, tf_vars: dict) -> None:
    bad = copy.deepcopy(tf_vars)
    bad["endpoint_arn"] = "none"
    bad["lambda"].update(runtime="python3.8", source_code_hash="abc", timeout_sec=30)
    bad["api"].update(http_method="DELETE", quota={"limit": 10, "period": "YEAR"}, resource_path="/text/")
    error = planner.plan_error(bad)
    for message in (
        "apply model-serving first",
        "lambda.runtime must be python3.11 or python3.12",
        "lambda.timeout_sec must be <= 29",
        "base64-encoded SHA-256",
        "api.http_method must be POST, PUT or GET",
        "period DAY, WEEK or MONTH",
        "without leading or trailing slash",
    ):
        assert message in error, message


def test_package_from_the_artifact_bucket(planner: ModulePlanner, tf_vars: dict) -> None:
    """With lambda.s3_bucket the zip is stored under a content-addressed key and the function loads it from S3."""
    stored = copy.deepcopy(tf_vars)
    stored["lambda"]["s3_bucket"] = "text-classification-test-model-archive"
    plan = planner.plan(stored)
    package = one(plan, "aws_s3_object")
    token = tf_vars["lambda"]["source_code_hash"].rstrip("=").replace("/", "_").replace("+", "-")
    assert package["bucket"] == "text-classification-test-model-archive"
    assert package["key"] == f"lambda/{NAME}-predictor/{token}.zip"
    assert package["source"] == tf_vars["lambda"]["filename"]
    function = one(plan, "aws_lambda_function")
    assert function["filename"] is None
    assert (function["s3_bucket"], function["s3_key"]) == (package["bucket"], package["key"])
    assert function["source_code_hash"] == tf_vars["lambda"]["source_code_hash"]
    # Without it, no object: the function is created from the local file (test_predictor_function).
    assert "aws_s3_object" not in type_counts(planner.plan(tf_vars))

    bad = copy.deepcopy(tf_vars)
    bad["lambda"].update(s3_bucket="Not_A_Bucket", s3_key_prefix="/lambda/")
    error = planner.plan_error(bad)
    assert "lambda.s3_bucket must be an S3 bucket name" in error
    assert "lambda.s3_key_prefix must be a key prefix without leading or trailing '/'" in error
