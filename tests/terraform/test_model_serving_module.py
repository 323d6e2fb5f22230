"""Plan tests of terraform/modules/model-serving: A/B variants, data capture, autoscaling, least privilege."""

from __future__ import annotations

import copy
import json
import shutil

import pytest
from tfhelpers import MODULES, ModulePlanner, resources_of, type_counts

pytestmark = pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform not on PATH")

NAME = "text-classification-test"
IMAGE = "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:2.3.0-cpu-py311"
ARCHIVE_KEY = "arn:aws:kms:us-east-1:123456789012:key/11111111-1111-4111-8111-111111111111"
CAPTURE_KEY = "arn:aws:kms:us-east-1:123456789012:key/22222222-2222-4222-8222-222222222222"
SHA_A, SHA_B = "a" * 64, "b" * 64
URL_A = f"s3://tc-test-archive/models/model-a/{SHA_A}/model.tar.gz"
URL_B = f"s3://tc-test-archive/models/model-b/{SHA_B}/model.tar.gz"
VARS = {
    "name": NAME,
    "image_uri": IMAGE,
    "account_id": "123456789012",
    "model_kms_key_arn": ARCHIVE_KEY,
    "models": {
        "model-a": {
            "model_data_url": URL_A,
            "workers": 2,
            "environment": {"TS_MAX_BATCH_DELAY": "50"},
            "variant": {"name": "model-a", "weight": 3, "instance_type": "ml.c5.large", "instance_count": 1},
            "autoscaling": {"min_capacity": 1, "max_capacity": 3, "target_invocations_per_instance": 70,
                            "scale_in_cooldown_sec": 300, "scale_out_cooldown_sec": 60},
        },
        "model-b": {
            "model_data_url": URL_B,
            "variant": {"name": "model-b", "weight": 1, "instance_type": "ml.m5.xlarge", "instance_count": 2},
            "autoscaling": {"min_capacity": 2, "max_capacity": 4, "target_invocations_per_instance": 50},
        },
    },
    "data_capture": {"sampling_percentage": 30, "modes": ["Input", "Output"], "s3_prefix": "data-capture",
                     "json_content_types": ["application/json"], "csv_content_types": ["text/csv"]},
    "capture_bucket": {"name": f"{NAME}-data-capture", "kms_key_arn": CAPTURE_KEY},
    "tags": {"Owner": "ml-platform"},
}


@pytest.fixture(scope="module")
def planner(tmp_path_factory: pytest.TempPathFactory) -> ModulePlanner:
    return ModulePlanner(MODULES / "model-serving", tmp_path_factory.mktemp("model-serving"))


@pytest.fixture(scope="module")
def plan(planner: ModulePlanner):
    return planner.plan(VARS)


def one(plan, rtype: str) -> dict:
    (values,) = resources_of(plan, rtype).values()
    return values


def by_key(plan, rtype: str) -> dict[str, dict]:
    """Resources of a for_each type keyed by their for_each key."""
    return {address.split('["')[1].rstrip('"]'): v for address, v in resources_of(plan, rtype).items()}


def test_inventory(plan) -> None:
    assert type_counts(plan) == {
        "aws_appautoscaling_policy": 2,
        "aws_appautoscaling_target": 2,
        "aws_cloudwatch_log_group": 1,
        "aws_iam_role": 1,
        "aws_iam_role_policy": 1,
        "aws_s3_bucket": 1,
        "aws_s3_bucket_ownership_controls": 1,
        "aws_s3_bucket_policy": 1,
        "aws_s3_bucket_public_access_block": 1,
        "aws_s3_bucket_server_side_encryption_configuration": 1,
        "aws_s3_bucket_versioning": 1,
        "aws_sagemaker_endpoint": 1,
        "aws_sagemaker_endpoint_configuration": 1,
        "aws_sagemaker_model": 2,
        "terraform_data": 2,
    }, "update the expected inventory if the module gained or lost resources on purpose"


def test_models_point_at_their_archives(plan) -> None:
    models = by_key(plan, "aws_sagemaker_model")
    for key, url in (("model-a", URL_A), ("model-b", URL_B)):
        (container,) = models[key]["primary_container"]
        assert container["image"] == IMAGE and container["model_data_url"] == url
        env = container["environment"]
        assert env["SAGEMAKER_PROGRAM"] == "inference.py"
        # code/ sits inside model.tar.gz, which SageMaker extracts to /opt/ml/model.
        assert env["SAGEMAKER_SUBMIT_DIRECTORY"] == "/opt/ml/model/code"
        assert env["SAGEMAKER_REGION"] == "us-east-1" and env["SAGEMAKER_CONTAINER_LOG_LEVEL"] == "20"
        assert models[key]["name"].startswith(f"{NAME}-{key}-") and len(models[key]["name"]) <= 63
    assert models["model-a"]["primary_container"][0]["environment"]["SAGEMAKER_MODEL_SERVER_WORKERS"] == "2"
    assert models["model-a"]["primary_container"][0]["environment"]["TS_MAX_BATCH_DELAY"] == "50"
    assert "SAGEMAKER_MODEL_SERVER_WORKERS" not in models["model-b"]["primary_container"][0]["environment"]


def test_two_variants_weighted_three_to_one(plan) -> None:
    config = one(plan, "aws_sagemaker_endpoint_configuration")
    assert config["name_prefix"] == f"{NAME}-"
    variants = {v["variant_name"]: v for v in config["production_variants"]}
    assert {n: v["initial_variant_weight"] for n, v in variants.items()} == {"model-a": 3, "model-b": 1}
    assert variants["model-a"]["instance_type"] == "ml.c5.large" and variants["model-a"]["initial_instance_count"] == 1
    assert variants["model-b"]["instance_type"] == "ml.m5.xlarge" and variants["model-b"]["initial_instance_count"] == 2
    models = by_key(plan, "aws_sagemaker_model")
    assert variants["model-a"]["model_name"] == models["model-a"]["name"]
    assert one(plan, "aws_sagemaker_endpoint")["name"] == NAME


def test_data_capture(plan) -> None:
    (capture,) = one(plan, "aws_sagemaker_endpoint_configuration")["data_capture_config"]
    assert capture["enable_capture"] is True
    assert capture["initial_sampling_percentage"] == 30
    assert sorted(o["capture_mode"] for o in capture["capture_options"]) == ["Input", "Output"]
    (header,) = capture["capture_content_type_header"]
    assert header["json_content_types"] == ["application/json"] and header["csv_content_types"] == ["text/csv"]
    assert capture["kms_key_id"] == CAPTURE_KEY
    assert capture["destination_s3_uri"] == f"s3://{NAME}-data-capture/data-capture"
    (rule,) = one(plan, "aws_s3_bucket_server_side_encryption_configuration")["rule"]
    assert rule["apply_server_side_encryption_by_default"][0] == {"sse_algorithm": "aws:kms", "kms_master_key_id": CAPTURE_KEY}
    assert one(plan, "aws_s3_bucket_versioning")["versioning_configuration"][0]["status"] == "Enabled"


def test_autoscaling_per_variant(plan) -> None:
    targets = by_key(plan, "aws_appautoscaling_target")
    policies = by_key(plan, "aws_appautoscaling_policy")
    expected = {"model-a": (1, 3, 70, 300, 60), "model-b": (2, 4, 50, 120, 120)}
    for key, (low, high, target, scale_in, scale_out) in expected.items():
        t = targets[key]
        assert t["resource_id"] == f"endpoint/{NAME}/variant/{key}"
        assert t["scalable_dimension"] == "sagemaker:variant:DesiredInstanceCount" and t["service_namespace"] == "sagemaker"
        assert (t["min_capacity"], t["max_capacity"]) == (low, high)
        p = policies[key]
        assert p["policy_type"] == "TargetTrackingScaling" and p["resource_id"] == t["resource_id"]
        (conf,) = p["target_tracking_scaling_policy_configuration"]
        assert (conf["target_value"], conf["scale_in_cooldown"], conf["scale_out_cooldown"]) == (target, scale_in, scale_out)
        assert conf["predefined_metric_specification"][0]["predefined_metric_type"] == "SageMakerVariantInvocationsPerInstance"


def test_execution_role_is_least_privilege(plan) -> None:
    statements = {s["Sid"]: s for s in json.loads(one(plan, "aws_iam_role_policy")["policy"])["Statement"]}
    as_list = lambda v: v if isinstance(v, list) else [v]
    assert sorted(as_list(statements["ReadModelArtifacts"]["Resource"])) == [
        f"arn:aws:s3:::tc-test-archive/models/model-a/{SHA_A}/*",
        f"arn:aws:s3:::tc-test-archive/models/model-b/{SHA_B}/*",
    ]
    assert as_list(statements["ReadModelArtifacts"]["Action"]) == ["s3:GetObject"]
    assert statements["WriteDataCapture"]["Resource"] == f"arn:aws:s3:::{NAME}-data-capture/data-capture/*"
    assert statements["DecryptModelArtifacts"]["Resource"] == ARCHIVE_KEY
    assert statements["EncryptDataCapture"]["Resource"] == CAPTURE_KEY
    assert statements["PullInferenceImage"]["Resource"] == "arn:aws:ecr:us-east-1:763104351884:repository/pytorch-inference"
    assert statements["PublishMetrics"]["Condition"] == {"StringEquals": {"cloudwatch:namespace": "/aws/sagemaker/Endpoints"}}
    log_group = f"arn:aws:logs:us-east-1:123456789012:log-group:/aws/sagemaker/Endpoints/{NAME}"
    assert sorted(as_list(statements["EndpointLogs"]["Resource"])) == [log_group, f"{log_group}:*"]
    wildcard = {sid for sid, s in statements.items() if "*" in as_list(s["Resource"])}
    assert wildcard == {"EcrAuthorization", "PublishMetrics"}, "only actions without resource-level permissions may use *"
    assert not any("*" in a for s in statements.values() for a in as_list(s["Action"]))


def test_new_model_data_renames_only_that_model(planner: ModulePlanner, plan) -> None:
    """A new archive (new content-addressed URL) gives a new model name; fractional weights are made exact."""
    changed = copy.deepcopy(VARS)
    changed["models"]["model-b"]["model_data_url"] = URL_B.replace(SHA_B, "c" * 64)
    changed["models"]["model-a"]["variant"]["weight"] = 0.75
    changed["models"]["model-b"]["variant"]["weight"] = 0.25
    changed["capture_bucket"] = {"name": f"{NAME}-data-capture"}  # module-created key
    second = planner.plan(changed)
    before, after = by_key(plan, "aws_sagemaker_model"), by_key(second, "aws_sagemaker_model")
    assert after["model-a"]["name"] == before["model-a"]["name"]
    assert after["model-b"]["name"] != before["model-b"]["name"]
    variants = {v["variant_name"]: v["initial_variant_weight"] for v in one(second, "aws_sagemaker_endpoint_configuration")["production_variants"]}
    assert variants == {"model-a": 750, "model-b": 250}, "weights must survive SageMaker's float32 round trip"
    assert one(second, "aws_kms_key")["enable_key_rotation"] is True


def test_bad_values_fail_at_plan_with_their_messages(planner: ModulePlanner) -> None:
    """One plan, every validation error reported (weight 0, EC2 instance type, sampling 150, ...)."""
    bad = copy.deepcopy(VARS)
    bad["models"]["model-a"]["variant"].update(weight=0, instance_type="c5.large", name="bad_variant!")
    bad["models"]["model-b"]["autoscaling"].update(min_capacity=5, max_capacity=4)
    bad["data_capture"].update(sampling_percentage=150, modes=["input"])
    bad["image_uri"] = "docker.io/pytorch/pytorch:latest"
    error = planner.plan_error(bad)
    for message in (
        "variant.weight must be greater than 0",
        'note the "ml." prefix',
        "variant.name must be 1-63 letters",
        "min_capacity <= variant.instance_count <= max_capacity",
        "sampling_percentage must be a whole number from 0 to 100",
        "data_capture.modes must be",
        "image_uri must be an ECR image URI",
    ):
        assert message in error, message
