"""One bad environment per rule: exit code 2 and the exact path + message of the problem."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from envfiles import DELETE, base_document, make_root, mutate, without_line, write_env

from orchestrator.cli import main
from orchestrator.config import load_environment
from orchestrator.errors import ConfigError, Problem

M0 = "serving.models[0]"
M1 = "serving.models[1]"
CASE0 = "load_testing.test_cases[0]"


def problems_of(root: Path, document: Any) -> list[str]:
    path = write_env(root, document)
    with pytest.raises(ConfigError) as info:
        load_environment(path, root=root)
    return [without_line(str(p)) for p in info.value.problems]


@pytest.fixture()
def root(tmp_path: Path) -> Path:
    return make_root(tmp_path)


CASES: list[tuple[str, dict[str, Any], str]] = [
    # types, required keys, unknown keys
    ("weight-zero", {f"{M1}.variant.weight": 0}, f"{M1}.variant.weight: must be > 0, got 0"),
    ("weight-negative", {f"{M0}.variant.weight": -1}, f"{M0}.variant.weight: must be > 0, got -1"),
    ("type", {f"{M0}.variant.instance_count": "2"}, f'{M0}.variant.instance_count: must be an integer, got string "2"'),
    (
        "bool-not-int",
        {f"{M0}.variant.instance_count": True},
        f"{M0}.variant.instance_count: must be an integer, got boolean true",
    ),
    ("required-project-name", {"project.name": DELETE}, "project.name: required but missing"),
    ("required-models", {"serving.models": DELETE}, "serving.models: required but missing"),
    ("required-model-path", {f"{M0}.path": DELETE}, f"{M0}.path: required but missing"),
    ("empty-models", {"serving.models": []}, "serving.models: must not be empty"),
    ("typo-nested", {f"{M0}.variant.wieght": 2}, f'{M0}.variant.wieght: unknown key; did you mean "weight"?'),
    ("typo-top", {"monitorng": {}}, 'monitorng: unknown key; did you mean "monitoring"?'),
    (
        "unknown-no-match",
        {"api.zzz": 1},
        "api.zzz: unknown key; allowed keys: log_retention_days, max_body_bytes, method, name, quota, require_api_key, resource, throttle",
    ),
    (
        "no-hand-written-names",
        {"serving.EndpointConfigName": "x"},
        "serving.EndpointConfigName: unknown key: endpoint configuration names are derived with a unique suffix, so a change rolls the endpoint without renaming; remove it",
    ),
    (
        "model-name-key",
        {f"{M0}.model_name": "x"},
        f"{M0}.model_name: unknown key: SageMaker model names are derived from project.name, project.stage and the model name; remove it",
    ),
    (
        "camel-case-key",
        {f"{M0}.variant.InstanceCount": 2},
        f'{M0}.variant.InstanceCount: unknown key; did you mean "instance_count"? (keys are snake_case)',
    ),
    # project / target
    (
        "account-digits",
        {"project.account": "1234"},
        'project.account: must be a 12-digit AWS account id as a string, e.g. "123456789012", got "1234"',
    ),
    (
        "account-number",
        {"project.account": 123456789012},
        "project.account: must be a string or null, got integer 123456789012",
    ),
    (
        "region",
        {"project.region": "useast1"},
        'project.region: must be an AWS region such as "us-east-1", got "useast1"',
    ),
    (
        "stage-pattern",
        {"project.stage": "Prod"},
        'project.stage: must be 1-16 lowercase letters, digits or hyphens, starting with a letter and not ending with a hyphen, got "Prod"',
    ),
    ("target-kind", {"target": {"kind": "gcp"}}, 'target.kind: must be one of "embedded", "aws", got "gcp"'),
    (
        "aws-needs-state-bucket",
        {"target": {"kind": "aws"}, "project.account": "123456789012"},
        'target.state_bucket: required when target.kind is "aws" (the Terraform state bucket)',
    ),
    (
        "aws-needs-account",
        {"target": {"kind": "aws", "state_bucket": "my-state-bucket"}},
        'project.account: required when target.kind is "aws", so a deploy with the wrong credentials stops',
    ),
    (
        "state-bucket-name",
        {"target": {"kind": "aws", "state_bucket": "My_Bucket"}, "project.account": "123456789012"},
        'target.state_bucket: must be an S3 bucket name: 3-63 lowercase letters, digits, dots or hyphens, starting and ending with a letter or digit, got "My_Bucket"',
    ),
    ("port", {"target": {"control_plane_port": 80}}, "target.control_plane_port: must be >= 1024, got 80"),
    (
        "tag-key",
        {"tags": {"aws:owner": "x"}},
        'tags["aws:owner"]: invalid key "aws:owner": tag keys are 1-128 letters, digits, spaces or _.:/=+-@ and may not start with "aws:"',
    ),
    # serving
    (
        "duplicate-model",
        {f"{M1}.name": "model-a", f"{M1}.variant.name": "other"},
        f'{M1}.name: duplicate model name "model-a" (already used by {M0}.name)',
    ),
    (
        "duplicate-variant",
        {f"{M1}.variant.name": "model-a"},
        f'{M1}.variant.name: duplicate variant name "model-a" (already used by {M0}.variant.name)',
    ),
    (
        "autoscaling-min-max",
        {f"{M0}.autoscaling.min_capacity": 4},
        f"{M0}.autoscaling.min_capacity: must be <= max_capacity (3), got 4",
    ),
    (
        "autoscaling-max-count",
        {f"{M0}.variant.instance_count": 5, f"{M0}.autoscaling.max_capacity": 4, f"{M0}.autoscaling.min_capacity": 1},
        f"{M0}.autoscaling.max_capacity: must be >= variant.instance_count (5), got 4",
    ),
    (
        "instance-type",
        {f"{M0}.variant.instance_type": "c5.large"},
        f'{M0}.variant.instance_type: must be a SageMaker instance type such as "ml.c5.large" (starting with "ml."), got "c5.large"',
    ),
    ("workers", {f"{M0}.variant.workers": 0}, f"{M0}.variant.workers: must be >= 1, got 0"),
    (
        "managed-env",
        {f"{M0}.variant.env": {"SAGEMAKER_MODEL_SERVER_WORKERS": "4"}},
        f"{M0}.variant.env.SAGEMAKER_MODEL_SERVER_WORKERS: set by the orchestrator; use variant.workers instead",
    ),
    (
        "program-name",
        {f"{M0}.variant.env": {"SAGEMAKER_PROGRAM": "code/serve.py"}},
        f'{M0}.variant.env.SAGEMAKER_PROGRAM: must be the file name of a Python module in code/, e.g. "inference.py", got "code/serve.py"',
    ),
    (
        "env-name",
        {f"{M0}.variant.env": {"1BAD": "x"}},
        f'{M0}.variant.env["1BAD"]: invalid key "1BAD": environment variable names are letters, digits and underscores, not starting with a digit',
    ),
    (
        "model-folder-missing",
        {f"{M1}.path": "models/model-c"},
        f'{M1}.path: model folder "models/model-c" does not exist (relative to <root>)',
    ),
    (
        "model-folder-absolute",
        {f"{M1}.path": "/opt/model"},
        f'{M1}.path: must be relative to the project root, got "/opt/model"',
    ),
    (
        "model-folder-escape",
        {f"{M1}.path": "../outside"},
        f'{M1}.path: must stay inside the project root (<root>), got "../outside"',
    ),
    (
        "entry-module-missing",
        {f"{M1}.variant.env": {"SAGEMAKER_PROGRAM": "serve.py"}},
        f'{M1}.path: model folder "models/model-b" has no code/serve.py, the SageMaker entry module',
    ),
    (
        "sampling",
        {"serving.data_capture.sampling_percent": 101},
        "serving.data_capture.sampling_percent: must be <= 100, got 101",
    ),
    (
        "capture-mode",
        {"serving.data_capture.modes": ["Input", "Both"]},
        'serving.data_capture.modes[1]: must be one of "Input", "Output", got "Both"',
    ),
    (
        "capture-mode-repeat",
        {"serving.data_capture.modes": ["Input", "Input"]},
        'serving.data_capture.modes: must not repeat items: "Input" appears more than once',
    ),
    ("capture-mode-empty", {"serving.data_capture.modes": []}, "serving.data_capture.modes: must not be empty"),
    (
        "too-many-variants",
        {"serving.models": [base_document()["serving"]["models"][0]] * 11},
        "serving.models: must have at most 10 items, got 11",
    ),
    # derived names
    (
        "endpoint-name",
        {"serving.endpoint_base_name": "e" * 60},
        f'serving.endpoint_base_name: derived endpoint name "{"e" * 60}-base" is 65 characters; SageMaker allows at most 63',
    ),
    (
        "endpoint-config-name",
        {"serving.endpoint_base_name": "e" * 32},
        f'serving.endpoint_base_name: derived endpoint configuration names "{"e" * 32}-base-<26-character unique suffix>" would be 64 characters; SageMaker allows at most 63, so the endpoint name "{"e" * 32}-base" may have at most 36 characters',
    ),
    (
        "bucket-name",
        {"model_archive.bucket_base_name": "b" * 40},
        (
            f'model_archive.bucket_base_name: derived S3 bucket name "text-classification-base-{"b" * 40}" '
            "(model archive) is 65 characters; AWS allows 3 to 63"
        ),
    ),
    (
        "capture-bucket-name",
        {"serving.data_capture.bucket_base_name": "c" * 40},
        (
            f'serving.data_capture.bucket_base_name: derived S3 bucket name "text-classification-base-{"c" * 40}" '
            "(data capture) is 65 characters; AWS allows 3 to 63"
        ),
    ),
    (
        "cicd-bucket-name",
        {"project.name": "text-classification-platform", "project.stage": "staging-eu-west1"},
        (
            'project: derived S3 bucket name "text-classification-platform-staging-eu-west1-pipeline-artifacts" '
            "(CI/CD artifacts; shorten project.name or project.stage) is 64 characters; AWS allows 3 to 63"
        ),
    ),
    (
        "iam-role-name",
        {"project.name": "text-classification-platform", "project.stage": "staging-eu-west"},
        (
            'project: derived IAM role name "text-classification-platform-staging-eu-west-apigateway-cloudwatch" '
            "(api-hosting) is 66 characters; AWS allows at most 64 (shorten project.name or project.stage)"
        ),
    ),
    # api
    ("method", {"api.method": "FETCH"}, 'api.method: must be one of "POST", "PUT", "GET", got "FETCH"'),
    (
        "method-case",
        {"api.method": "post"},
        'api.method: must be one of "POST", "PUT", "GET", got "post" (did you mean "POST"?)',
    ),
    (
        "kind-typo",
        {"target": {"kind": "embeded"}},
        'target.kind: must be one of "embedded", "aws", got "embeded" (did you mean "embedded"?)',
    ),
    (
        "resource",
        {"api.resource": "/text"},
        "api.resource: must be a path such as \"text\" or \"v1/text\": segments of letters, digits, '.', '_' or '-', no leading or trailing slash, got \"/text\"",
    ),
    ("throttle", {"api.throttle.rate_limit": 0}, "api.throttle.rate_limit: must be > 0, got 0"),
    ("burst", {"api.throttle.burst_limit": -5}, "api.throttle.burst_limit: must be > 0, got -5"),
    ("quota-limit", {"api.quota.limit": 0}, "api.quota.limit: must be > 0, got 0"),
    (
        "quota-period",
        {"api.quota.period": "YEAR"},
        'api.quota.period: must be one of "DAY", "WEEK", "MONTH", got "YEAR"',
    ),
    (
        "log-retention",
        {"api.log_retention_days": 31},
        "api.log_retention_days: must be one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653, got 31",
    ),
    ("body-limit", {"api.max_body_bytes": 10_000_000}, "api.max_body_bytes: must be <= 6291456, got 10000000"),
    # monitoring
    (
        "email",
        {"monitoring.emails": ["ml-oncall@example.com", "oncall@"]},
        'monitoring.emails[1]: must be an e-mail address such as "ml-oncall@example.com", got "oncall@"',
    ),
    (
        "email-repeat",
        {"monitoring.emails": ["a@example.com", "a@example.com"]},
        'monitoring.emails: must not repeat items: "a@example.com" appears more than once',
    ),
    (
        "period",
        {"monitoring.period_sec": 90},
        "monitoring.period_sec: must be 10, 30 or a multiple of 60 (CloudWatch periods), got 90",
    ),
    (
        "threshold",
        {"monitoring.thresholds.api_4xx_errors": 0},
        "monitoring.thresholds.api_4xx_errors: must be > 0, got 0",
    ),
    # cicd
    (
        "github-needs-repo",
        {
            "cicd.source": {
                "type": "github",
                "connection_arn": "arn:aws:codeconnections:us-east-1:123456789012:connection/abc",
            },
            "target": {"kind": "aws", "state_bucket": "state-bucket"},
            "project.account": "123456789012",
        },
        'cicd.source.repository: required when cicd.source.type is "github" ("owner/name")',
    ),
    (
        "github-needs-connection",
        {
            "cicd.source": {"type": "github", "repository": "org/repo"},
            "target": {"kind": "aws", "state_bucket": "state-bucket"},
            "project.account": "123456789012",
        },
        'cicd.source.connection_arn: required when cicd.source.type is "github" (a CodeConnections connection ARN)',
    ),
    (
        "github-on-embedded",
        {
            "cicd.source": {
                "type": "github",
                "repository": "org/repo",
                "connection_arn": "arn:aws:codeconnections:us-east-1:123456789012:connection/abc",
            }
        },
        'cicd.source.type: "github" needs a CodeConnections connection, which the embedded target cannot emulate; use "s3"',
    ),
    (
        "s3-needs-key",
        {"cicd.source.s3_object_key": None},
        'cicd.source.s3_object_key: required when cicd.source.type is "s3" (key of the source zip)',
    ),
    (
        "s3-key-format",
        {"cicd.source.s3_object_key": "/src.tar"},
        'cicd.source.s3_object_key: must be an S3 key of a .zip file without a leading slash, e.g. "source/project.zip", got "/src.tar"',
    ),
    (
        "repo-format",
        {"cicd.source.repository": "just-a-name"},
        'cicd.source.repository: must be "owner/name", e.g. "example-org/sagemaker-serving-platform", got "just-a-name"',
    ),
    (
        "source-type",
        {"cicd.source.type": "codecommit"},
        'cicd.source.type: must be one of "github", "s3", got "codecommit"',
    ),
    # load testing
    (
        "case-request-empty",
        {f"{CASE0}.request": {}},
        f'{CASE0}.request: must contain exactly one of "sentence" or "sentences"',
    ),
    (
        "case-request-both",
        {f"{CASE0}.request": {"sentence": "a", "sentences": ["b"]}},
        f'{CASE0}.request: must contain exactly one of "sentence" or "sentences"',
    ),
    (
        "case-request-key",
        {f"{CASE0}.request": {"text": "a"}},
        f"{CASE0}.request.text: unknown key; allowed keys: sentence, sentences",
    ),
    ("case-request-type", {f"{CASE0}.request": "hello"}, f'{CASE0}.request: must be an object, got string "hello"'),
    ("case-sentence-empty", {f"{CASE0}.request": {"sentence": ""}}, f"{CASE0}.request.sentence: must not be empty"),
    ("case-response", {f"{CASE0}.response": [1]}, f"{CASE0}.response: must be an object, got array"),
    ("case-response-missing", {f"{CASE0}.response": DELETE}, f"{CASE0}.response: required but missing"),
    ("case-type", {f"{CASE0}.type": "Http"}, f'{CASE0}.type: must be one of "ApiGateway", got "Http"'),
    ("case-resource", {f"{CASE0}.resource": "txt"}, f'{CASE0}.resource: must equal api.resource ("text"), got "txt"'),
    (
        "case-duplicate",
        {"load_testing.test_cases[1].name": "world"},
        'load_testing.test_cases[1].name: duplicate test case name "world" (already used by load_testing.test_cases[0].name)',
    ),
    ("client-count", {"load_testing.client_count": 0}, "load_testing.client_count: must be >= 1, got 0"),
    ("duration", {"load_testing.duration_sec": 3600}, "load_testing.duration_sec: must be <= 900, got 3600"),
]


@pytest.mark.parametrize(("changes", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_rule_reports_path_and_message(root: Path, changes: dict[str, Any], expected: str) -> None:
    problems = problems_of(root, mutate(base_document(), changes))
    expected = expected.replace("<root>", str(root.resolve()))
    assert expected in problems, "\n".join(problems)


@pytest.mark.parametrize(
    ("changes", "expected"), [CASES[0][1:], CASES[9][1:], CASES[-3][1:]], ids=["weight", "typo", "dup"]
)
def test_cli_exit_code_2_and_message(
    root: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    changes: dict[str, Any],
    expected: str,
) -> None:
    monkeypatch.setenv("ORCHESTRATOR_ROOT", str(root))
    write_env(root, mutate(base_document(), changes))
    assert main(["validate", "--env", "test"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert f"  - {expected}" in [without_line(line) for line in captured.err.splitlines()]
    assert "Traceback" not in captured.err


def test_all_problems_are_reported_at_once(root: Path) -> None:
    changes = {
        f"{M1}.variant.weight": 0,
        f"{M0}.variant.wieght": 2,
        "api.quota.period": "YEAR",
        f"{M1}.name": "model-a",
        "monitoring.emails": ["nope"],
        "cicd.source.s3_object_key": None,
    }
    problems = problems_of(root, mutate(base_document(), changes))
    assert problems == [
        f'{M0}.variant.wieght: unknown key; did you mean "weight"?',
        f'{M1}.name: duplicate model name "model-a" (already used by {M0}.name)',
        f"{M1}.variant.weight: must be > 0, got 0",
        'api.quota.period: must be one of "DAY", "WEEK", "MONTH", got "YEAR"',
        'monitoring.emails[0]: must be an e-mail address such as "ml-oncall@example.com", got "nope"',
        'cicd.source.s3_object_key: required when cicd.source.type is "s3" (key of the source zip)',
    ]


def test_json_syntax_error_has_line_and_column(
    root: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ORCHESTRATOR_ROOT", str(root))
    write_env(root, None, raw='{\n  "extends": "base",\n  "project": {"stage": "x",}\n}\n')
    assert main(["validate", "--env", "test"]) == 2
    err = capsys.readouterr().err
    assert err.splitlines() == [
        "error: environments/test.json is invalid (1 problem(s)):",
        "  - invalid JSON at line 3, column 28: Expecting property name enclosed in double quotes",
    ]


def test_syntax_error_in_base_names_the_base_file(root: Path) -> None:
    (root / "environments" / "base.json").write_text('{"project": }')
    path = write_env(root, {"extends": "base"})
    with pytest.raises(ConfigError) as info:
        load_environment(path, root=root)
    assert [str(p) for p in info.value.problems] == [
        "environments/base.json: invalid JSON at line 1, column 13: Expecting value"
    ]


def test_not_an_object(root: Path) -> None:
    assert problems_of(root, [1, 2]) == ["must contain a JSON object, got array"]


def test_extends_missing_base_suggests_a_name(root: Path) -> None:
    problems = problems_of(root, {"extends": "bsae", "project": {"stage": "x"}})
    assert problems == ['extends: "bsae" not found: no file environments/bsae.json; did you mean "base"?']


def test_extends_cycle(root: Path) -> None:
    write_env(root, {"extends": "test"}, name="other")
    problems = problems_of(root, {"extends": "other"})
    assert problems == ["extends: cycle: environments/test.json -> environments/other.json -> environments/test.json"]


def test_self_extension_is_a_cycle(root: Path) -> None:
    assert problems_of(root, {"extends": "test"}) == [
        "extends: cycle: environments/test.json -> environments/test.json"
    ]


def test_problem_in_merged_document_of_an_extending_file(root: Path) -> None:
    doc = {"extends": "base", "project": {"stage": "x"}, "serving": {"data_capture": {"sampling_percent": -1}}}
    assert problems_of(root, doc) == ["serving.data_capture.sampling_percent: must be >= 0, got -1"]


def test_missing_entry_module_in_model_folder(root: Path) -> None:
    (root / "models" / "model-b" / "code" / "inference.py").unlink()
    problems = problems_of(root, base_document())
    assert problems == [
        (
            f'{M1}.path: model folder "models/model-b" has no code/inference.py, the SageMaker entry module '
            "(or set variant.env.SAGEMAKER_PROGRAM to another module)"
        )
    ]


def test_unknown_environment_name_suggests(
    root: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ORCHESTRATOR_ROOT", str(root))
    assert main(["validate", "--env", "bsae"]) == 2
    err = capsys.readouterr().err
    assert (
        err.strip()
        == 'error: no environment "bsae": environments/bsae.json does not exist; did you mean "base"? (available: base)'
    )


def test_problem_str_is_path_colon_message() -> None:
    assert (
        str(Problem("serving.models[1].variant.weight", "must be > 0"))
        == "serving.models[1].variant.weight: must be > 0"
    )


def test_problems_point_to_the_line_of_the_file_that_set_the_value(root: Path) -> None:
    base = mutate(base_document(), {"api.quota.period": "YEAR"})
    (root / "environments" / "base.json").write_text(json.dumps(base, indent=2))
    text = (
        '{\n  "extends": "base",\n  "project": {"stage": "x"},\n  "api": {\n    "throttle": {"rate_limit": 0}\n  }\n}\n'
    )
    path = write_env(root, None, raw=text)
    with pytest.raises(ConfigError) as info:
        load_environment(path, root=root)
    base_line = json.dumps(base, indent=2).splitlines().index('      "period": "YEAR"') + 1
    assert [str(p) for p in info.value.problems] == [
        "api.throttle.rate_limit: must be > 0, got 0 (line 5)",
        f'api.quota.period: must be one of "DAY", "WEEK", "MONTH", got "YEAR" (set in environments/base.json, line {base_line})',
    ]
