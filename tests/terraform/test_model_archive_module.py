"""Plan tests of terraform/modules/model-archive: hardened bucket, toggles, content-addressed model keys."""

from __future__ import annotations

import hashlib
import json
import shutil

import pytest
from tfhelpers import MODULES, ModulePlanner, resources_of, type_counts

pytestmark = pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform not on PATH")

BUCKET = "text-classification-test-model-archive"


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, str]]:
    folder = tmp_path_factory.mktemp("archives")
    found = {}
    for name in ("model-a", "model-b"):
        path = folder / f"{name}.tar.gz"
        path.write_bytes(f"fake archive of {name}".encode())
        found[name] = {"path": str(path), "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}
    return found


@pytest.fixture(scope="module")
def planner(tmp_path_factory: pytest.TempPathFactory) -> ModulePlanner:
    return ModulePlanner(MODULES / "model-archive", tmp_path_factory.mktemp("model-archive"))


@pytest.fixture(scope="module")
def plan(planner: ModulePlanner, models):
    return planner.plan({"bucket_name": BUCKET, "models": models, "tags": {"Owner": "ml-platform"}})


def one(plan, rtype: str) -> dict:
    (values,) = resources_of(plan, rtype).values()
    return values


def test_inventory(plan) -> None:
    assert type_counts(plan) == {
        "aws_kms_alias": 1,
        "aws_kms_key": 1,
        "aws_s3_bucket": 1,
        "aws_s3_bucket_lifecycle_configuration": 1,
        "aws_s3_bucket_ownership_controls": 1,
        "aws_s3_bucket_policy": 1,
        "aws_s3_bucket_public_access_block": 1,
        "aws_s3_bucket_server_side_encryption_configuration": 1,
        "aws_s3_bucket_versioning": 1,
        "aws_s3_object": 2,
    }, "update the expected inventory if the module gained or lost resources on purpose"


def test_bucket_is_hardened_by_default(plan) -> None:
    bucket = one(plan, "aws_s3_bucket")
    assert bucket["bucket"] == BUCKET and bucket["force_destroy"] is False
    assert bucket["tags"] == {"Owner": "ml-platform"}
    assert one(plan, "aws_kms_key")["enable_key_rotation"] is True
    assert one(plan, "aws_s3_bucket_versioning")["versioning_configuration"][0]["status"] == "Enabled"
    (rule,) = one(plan, "aws_s3_bucket_server_side_encryption_configuration")["rule"]
    assert rule["apply_server_side_encryption_by_default"][0]["sse_algorithm"] == "aws:kms"
    assert rule["bucket_key_enabled"] is True
    pab = one(plan, "aws_s3_bucket_public_access_block")
    assert all(pab[k] is True for k in ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"))
    assert one(plan, "aws_s3_bucket_ownership_controls")["rule"][0]["object_ownership"] == "BucketOwnerEnforced"
    (lifecycle_rule,) = one(plan, "aws_s3_bucket_lifecycle_configuration")["rule"]
    assert lifecycle_rule["noncurrent_version_expiration"][0]["noncurrent_days"] == 30


def test_tls_only_policy(plan) -> None:
    policy = json.loads(one(plan, "aws_s3_bucket_policy")["policy"])
    (statement,) = policy["Statement"]
    assert statement["Effect"] == "Deny" and statement["Action"] == "s3:*"
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert sorted(statement["Resource"]) == [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"]


def test_models_are_content_addressed(plan, models) -> None:
    objects = {v["key"]: v for v in resources_of(plan, "aws_s3_object").values()}
    for name, model in models.items():
        key = f"models/{name}/{model['sha256']}/model.tar.gz"
        assert objects[key]["source"] == model["path"]
        assert objects[key]["source_hash"] == model["sha256"]
    urls = plan.outputs["model_data_urls"]
    assert urls == {n: f"s3://{BUCKET}/models/{n}/{m['sha256']}/model.tar.gz" for n, m in models.items()}


def test_embedded_toggles_and_provided_key(planner: ModulePlanner, models) -> None:
    key_arn = "arn:aws:kms:us-east-1:123456789012:key/0b0c6a5e-0000-4000-8000-000000000000"
    plan = planner.plan({
        "bucket_name": BUCKET, "models": models, "kms_key_arn": key_arn,
        "tls_only_policy": False, "lifecycle_rules": False, "force_destroy": True,
    })
    counts = type_counts(plan)
    for absent in ("aws_kms_key", "aws_s3_bucket_policy", "aws_s3_bucket_lifecycle_configuration"):
        assert absent not in counts
    (rule,) = one(plan, "aws_s3_bucket_server_side_encryption_configuration")["rule"]
    assert rule["apply_server_side_encryption_by_default"][0]["kms_master_key_id"] == key_arn
    assert one(plan, "aws_s3_bucket")["force_destroy"] is True
    assert plan.outputs["bucket_kms_key_arn"] == key_arn


def test_bad_values_fail_at_plan_with_their_messages(planner: ModulePlanner) -> None:
    """One plan, every validation error reported (Terraform checks all variables before failing)."""
    error = planner.plan_error({
        "bucket_name": "Bad_Bucket",
        "models": {"model-a": {"path": "/x/model.tar.gz", "sha256": "abc"}},
        "noncurrent_version_expiration_days": 0,
    })
    for message in ("S3 bucket naming rules", "64-character lowercase hex", "whole number of days"):
        assert message in error
