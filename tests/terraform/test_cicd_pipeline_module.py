"""Plan tests of terraform/modules/cicd-pipeline: encrypted artifacts, Plan/Apply builds, stage order, scoped roles."""

from __future__ import annotations

import json
import shutil

import pytest
import yaml
from tfhelpers import MODULES, ModulePlanner, VariablesChecker, resources_of, type_counts

pytestmark = pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform not on PATH")

VARS = {
    "name": "text-classification-test",
    "account_id": "123456789012",
    "project": {"name": "text-classification", "stage": "test"},
    "environment_name": "test",
    "state_bucket_name": "text-classification-test-tfstate-123456789012",
    "source_config": {"type": "s3", "s3_object_key": "source/sagemaker-serving-platform.zip"},
    "tags": {"Owner": "ml-platform"},
}
GITHUB = {
    **VARS,
    "source_config": {
        "type": "github", "repository": "example-org/sagemaker-serving-platform", "branch": "release",
        "connection_arn": "arn:aws:codeconnections:us-east-1:123456789012:connection/00000000-0000-0000-0000-000000000000",
    },
    "require_manual_approval": False,
}


@pytest.fixture(scope="module")
def planner(tmp_path_factory: pytest.TempPathFactory) -> ModulePlanner:
    return ModulePlanner(MODULES / "cicd-pipeline", tmp_path_factory.mktemp("cicd"))


@pytest.fixture(scope="module")
def plan(planner: ModulePlanner):
    return planner.plan(VARS)


@pytest.fixture(scope="module")
def checker(tmp_path_factory: pytest.TempPathFactory) -> VariablesChecker:
    return VariablesChecker(MODULES / "cicd-pipeline", tmp_path_factory.mktemp("cicd-vars"))


def _data(plan, address: str) -> dict:
    """Values of a data source: read during plan (prior state) when its inputs are known, else planned."""
    for res in plan._raw.get("prior_state", {}).get("values", {}).get("root_module", {}).get("resources", []):
        if res["address"] == address:
            return res["values"]
    for change in plan._raw["resource_changes"]:
        if change["address"] == address:
            return change["change"]["after"]
    raise AssertionError(f"{address} not in plan")


def test_inventory(plan) -> None:
    assert type_counts(plan) == {
        "aws_cloudwatch_log_group": 2,
        "aws_codebuild_project": 2,
        "aws_codepipeline": 1,
        "aws_iam_role": 3,
        "aws_iam_role_policy": 4,
        "aws_kms_key": 1,
        "aws_s3_bucket": 1,
        "aws_s3_bucket_lifecycle_configuration": 1,
        "aws_s3_bucket_ownership_controls": 1,
        "aws_s3_bucket_policy": 1,
        "aws_s3_bucket_public_access_block": 1,
        "aws_s3_bucket_server_side_encryption_configuration": 1,
        "aws_s3_bucket_versioning": 1,
    }, "update the expected inventory if the module gained or lost resources on purpose"


def test_artifact_bucket_is_private_versioned_encrypted(plan) -> None:
    (bucket,) = resources_of(plan, "aws_s3_bucket").values()
    assert bucket["bucket"] == "text-classification-test-pipeline-artifacts"
    (pab,) = resources_of(plan, "aws_s3_bucket_public_access_block").values()
    assert all(pab[k] for k in ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"))
    (ver,) = resources_of(plan, "aws_s3_bucket_versioning").values()
    assert ver["versioning_configuration"][0]["status"] == "Enabled"
    (sse,) = resources_of(plan, "aws_s3_bucket_server_side_encryption_configuration").values()
    assert sse["rule"][0]["apply_server_side_encryption_by_default"][0]["sse_algorithm"] == "aws:kms"
    (key,) = resources_of(plan, "aws_kms_key").values()
    assert key["enable_key_rotation"] is True


def test_stage_order_and_sources(plan, planner: ModulePlanner) -> None:
    (pipeline,) = resources_of(plan, "aws_codepipeline").values()
    assert [s["name"] for s in pipeline["stage"]] == ["Source", "Plan", "Approval", "Apply"]
    assert pipeline["pipeline_type"] == "V2"
    assert pipeline["artifact_store"][0]["encryption_key"][0]["type"] == "KMS"
    source = pipeline["stage"][0]["action"][0]
    assert source["provider"] == "S3"
    assert source["configuration"]["S3ObjectKey"] == "source/sagemaker-serving-platform.zip"
    approval = pipeline["stage"][2]["action"][0]
    assert (approval["category"], approval["provider"]) == ("Approval", "Manual")
    builds = {s["name"]: s["action"][0]["configuration"]["ProjectName"] for s in pipeline["stage"] if s["name"] in ("Plan", "Apply")}
    assert builds == {"Plan": "text-classification-test-plan", "Apply": "text-classification-test-apply"}

    github = planner.plan(GITHUB)
    (pipeline,) = resources_of(github, "aws_codepipeline").values()
    assert [s["name"] for s in pipeline["stage"]] == ["Source", "Plan", "Apply"]
    source = pipeline["stage"][0]["action"][0]
    assert source["provider"] == "CodeStarSourceConnection"
    assert source["configuration"]["FullRepositoryId"] == "example-org/sagemaker-serving-platform"
    assert source["configuration"]["BranchName"] == "release"
    statements = {s["sid"]: s for s in _data(github, "data.aws_iam_policy_document.pipeline")["statement"]}
    assert statements["UseTheSourceConnection"]["resources"] == [GITHUB["source_config"]["connection_arn"]]


def test_builds_run_the_orchestrator_without_torch(plan) -> None:
    projects = {p["name"]: p for p in resources_of(plan, "aws_codebuild_project").values()}
    plan_spec = yaml.safe_load(projects["text-classification-test-plan"]["source"][0]["buildspec"])
    apply_spec = yaml.safe_load(projects["text-classification-test-apply"]["source"][0]["buildspec"])
    assert plan_spec["phases"]["build"]["commands"] == ['orchestrator plan --env "$DEPLOY_ENV" --format markdown --out plan.md']
    assert apply_spec["phases"]["build"]["commands"] == ['orchestrator apply --env "$DEPLOY_ENV" --auto-approve']
    assert plan_spec["artifacts"]["files"] == ["plan.md"]
    for spec in (plan_spec, apply_spec):
        install = spec["phases"]["install"]["commands"]
        assert "python -m pip install ." in install and not any("[local" in c or "torch" in c for c in install)
        assert any("releases.hashicorp.com/terraform/${TERRAFORM_VERSION}" in c for c in install)
        assert any("sha256sum -c" in c for c in install)
    for project in projects.values():
        env = {v["name"]: v["value"] for v in project["environment"][0]["environment_variable"]}
        assert env["DEPLOY_ENV"] == "test"
        assert project["environment"][0]["privileged_mode"] is False
        assert project["source"][0]["type"] == project["artifacts"][0]["type"] == "CODEPIPELINE"


def test_roles_are_scoped(plan) -> None:
    deploy = _data(plan, "data.aws_iam_policy_document.deploy_write")
    statements = {s["sid"]: s for s in deploy["statement"]}
    document = json.loads(deploy["json"])
    text = json.dumps(document)
    assert "FullAccess" not in text
    for stmt in document["Statement"]:
        assert not any(a == "*" or a.endswith(":*") for a in _list(stmt["Action"])), stmt
        resources = _list(stmt["Resource"])
        if resources == ["*"]:
            assert stmt.get("Condition"), f"unconditioned '*' resource in {stmt['Sid']}"
    assert statements["ManageSsm"]["resources"] == ["arn:aws:ssm:us-east-1:123456789012:parameter/text-classification/test/*"]
    assert statements["ManageLambda"]["resources"] == ["arn:aws:lambda:us-east-1:123456789012:function:text-classification-test-*"]
    assert "arn:aws:iam::123456789012:role/text-classification-test-*" in statements["ManageIam"]["resources"]
    # Inline policies of the Apply role share a 10,240-character budget (whitespace excluded).
    assert len(json.dumps(document, separators=(",", ":"))) < 7000

    base = {s["sid"]: s for s in _data(plan, "data.aws_iam_policy_document.build_base")["statement"]}
    assert base["TerraformStateLock"]["resources"] == ["arn:aws:s3:::text-classification-test-tfstate-123456789012/*.tflock"]
    assert all(a.split(":")[1].startswith(("Get", "List", "Describe", "BatchGet", "GET"))
               for sid, s in base.items() if sid.startswith("Read") and sid != "ReadProjectKeys"
               for a in s["actions"]), "Plan reads only"
    # Decrypt/GenerateDataKey: refresh decrypts SecureString parameters, the lock file is written encrypted.
    assert base["ReadProjectKeys"]["condition"][0]["variable"] == "aws:ResourceTag/Project"
    pipeline = {s["sid"]: s for s in _data(plan, "data.aws_iam_policy_document.pipeline")["statement"]}
    assert set(pipeline) == {"PipelineBuckets", "ArtifactKey", "RunTheTwoBuilds"}


def _list(value) -> list:
    return value if isinstance(value, list) else [value]


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"source_config": {"type": "codecommit"}}, 'source_config.type must be "s3"'),
        ({"source_config": {"type": "github", "repository": "org/repo"}}, 'With type "github", set connection_arn'),
        ({"environment_name": "Demo Env"}, "environment_name must be the name of an environments/<name>.json file"),
        ({"build": {"terraform_version": "latest"}}, "build.terraform_version must be an exact Terraform release"),
    ],
    ids=["source_type", "github_without_connection", "environment_name", "terraform_version"],
)
def test_invalid_input_fails_with_guidance(checker: VariablesChecker, override: dict, message: str) -> None:
    assert message in checker.plan_error({**VARS, **override})


def test_valid_inputs_pass_the_variables_check(checker: VariablesChecker) -> None:
    checker.plan(VARS)
    checker.plan(GITHUB)
