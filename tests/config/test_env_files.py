"""The shipped environment files, the schema itself, and the loader's API."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from envfiles import ENVIRONMENTS, REPO, make_root, write_env

from orchestrator.cli import main
from orchestrator.config import SCHEMA_PATH, load_environment, load_schema
from orchestrator.config.schema import apply_defaults

SHIPPED = ["base", "local", "demo"]


def test_schema_is_valid_draft_2020_12() -> None:
    schema = json.loads(SCHEMA_PATH.read_text())
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)


def _walk(node: Any, where: str = "#") -> list[tuple[str, dict[str, Any]]]:
    out = []
    if isinstance(node, dict):
        out.append((where, node))
        for key, value in node.items():
            out += _walk(value, f"{where}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out += _walk(value, f"{where}/{i}")
    return out


def test_every_property_is_described_and_objects_are_closed() -> None:
    schema = load_schema()
    undocumented, open_objects = [], []
    for where, node in _walk(schema):
        for name, prop in node.get("properties", {}).items() if isinstance(node.get("properties"), dict) else []:
            if "/then/" in f"{where}/" or where.endswith("/then"):
                continue  # the conditional "required" overlay restates no property
            if "description" not in prop and "$ref" not in prop:
                undocumented.append(f"{where}/properties/{name}")
        in_overlay = where.endswith("/then") or "/then/" in where
        if "properties" in node and not in_overlay and node.get("additionalProperties") is not False:
            open_objects.append(where)
    assert undocumented == []
    assert open_objects == []


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_file_references_the_schema(name: str) -> None:
    doc = json.loads((ENVIRONMENTS / f"{name}.json").read_text())
    assert doc["$schema"] == "./schema.json"
    assert (ENVIRONMENTS / doc["$schema"]).resolve() == SCHEMA_PATH


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_file_is_valid_for_editors_unmerged(name: str) -> None:
    """What an editor checks: the file as written, against the schema (partial files allowed)."""
    doc = json.loads((ENVIRONMENTS / f"{name}.json").read_text())
    errors = list(jsonschema.Draft202012Validator(load_schema()).iter_errors(doc))
    assert [e.message for e in errors] == []


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_environment_is_valid(name: str) -> None:
    env = load_environment(name, root=REPO)
    assert env.name == name
    assert "$schema" not in env.data and "extends" not in env.data


@pytest.mark.parametrize(
    ("name", "line"),
    [
        (
            "local",
            "environments/local.json: valid — project text-classification-local, 2 models (model-a 75%, model-b 25%), target embedded",
        ),
        (
            "demo",
            "environments/demo.json: valid — project text-classification-demo, 2 models (model-a 75%, model-b 25%), target aws",
        ),
    ],
)
def test_validate_command_prints_one_line_summary(
    name: str, line: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ORCHESTRATOR_ROOT", str(REPO))
    assert main(["validate", "--env", name]) == 0
    assert capsys.readouterr().out == line + "\n"


def test_local_environment_api() -> None:
    env = load_environment("local", root=REPO)
    assert env.prefix == "text-classification-local"
    assert env.endpoint_name == "text-classification-local"
    assert env.ssm_prefix == "/text-classification/local"
    assert env.is_embedded and env.region == "us-east-1" and env.control_plane_port == 4566
    assert [m.name for m in env.models] == ["model-a", "model-b"]
    model_a = env.model("model-a")
    assert model_a.path == REPO / "models" / "model-a"
    assert model_a.traffic_share == 0.75 and model_a.program == "inference.py"
    assert model_a.container_env() == {"SAGEMAKER_PROGRAM": "inference.py", "SAGEMAKER_MODEL_SERVER_WORKERS": "2"}
    assert [c.name for c in env.test_cases] == ["world", "sports", "business", "scitech"]
    assert env.data["serving"]["data_capture"]["sampling_percent"] == 100  # local override
    assert env.data["serving"]["data_capture"]["modes"] == ["Input", "Output"]  # inherited
    names = env.names
    assert names.model_archive_bucket == "text-classification-local-model-archive"
    assert names.predictor_function == "text-classification-local-predictor"
    assert names.cicd_artifact_bucket == "text-classification-local-pipeline-artifacts"
    assert names.endpoint_config_name_prefix == "text-classification-local-"


def test_demo_environment_targets_aws() -> None:
    env = load_environment("demo", root=REPO)
    assert not env.is_embedded
    assert env.region == "us-east-2" and env.account == "123456789012" and env.profile == "demo"
    assert env.state_bucket == "text-classification-demo-tfstate-123456789012" and env.state_region == "us-east-2"
    assert env.data["cicd"]["source"]["type"] == "github"
    assert env.data["cicd"]["source"]["s3_object_key"] == "source/sagemaker-serving-platform.zip"  # merged from base


def test_arrays_replace_and_objects_merge(tmp_path: Path) -> None:
    root = make_root(tmp_path)
    path = write_env(root, {"extends": "base", "project": {"stage": "x"}, "monitoring": {"emails": ["a@example.com"]}})
    env = load_environment(path, root=root)
    assert env.data["monitoring"]["emails"] == ["a@example.com"]
    assert env.data["monitoring"]["thresholds"]["api_4xx_errors"] == 20
    assert env.data["project"]["name"] == "text-classification"


def test_defaults_are_applied_to_a_minimal_file(tmp_path: Path) -> None:
    root = make_root(tmp_path)
    path = write_env(
        root,
        {
            "project": {"name": "tiny", "stage": "dev"},
            "serving": {"models": [{"name": "model-a", "path": "models/model-a"}]},
        },
    )
    env = load_environment(path, root=root)
    data = env.data
    assert data["target"] == {
        "kind": "embedded",
        "control_plane_port": 4566,
        "state_bucket": None,
        "state_region": None,
    }
    assert data["serving"]["models"][0]["variant"] == {
        "name": "model-a",
        "weight": 1,
        "instance_count": 1,
        "instance_type": "ml.c5.large",
        "workers": None,
        "env": {},
    }
    assert data["serving"]["models"][0]["autoscaling"]["enabled"] is False
    assert data["serving"]["data_capture"]["modes"] == ["Input", "Output"]
    assert data["api"]["quota"] == {"limit": 100000, "period": "DAY"}
    assert data["load_testing"]["test_cases"] == []
    assert data["tags"] == {} and data["cicd"]["enabled"] is False
    assert env.endpoint_name == "tiny-dev"
    assert env.summary() == "project tiny-dev, 1 model (model-a 100%), target embedded"


def test_endpoint_base_name_changes_the_endpoint_name(tmp_path: Path) -> None:
    root = make_root(tmp_path)
    path = write_env(
        root, {"extends": "base", "project": {"stage": "x"}, "serving": {"endpoint_base_name": "classifier"}}
    )
    env = load_environment(path, root=root)
    assert env.prefix == "text-classification-x" and env.endpoint_name == "classifier-x"


def test_case_resource_defaults_to_api_resource(tmp_path: Path) -> None:
    root = make_root(tmp_path)
    doc = {
        "extends": "base",
        "project": {"stage": "x"},
        "api": {"resource": "classify"},
        "load_testing": {"test_cases": [{"name": "a", "request": {"sentence": "hi"}, "response": {"label": 1}}]},
    }
    env = load_environment(write_env(root, doc), root=root)
    assert env.test_cases[0].resource == "classify" and env.test_cases[0].type == "ApiGateway"


def test_apply_defaults_tolerates_wrong_shapes() -> None:
    doc: dict[str, Any] = {"serving": 5, "api": {"throttle": []}, "project": None}
    apply_defaults(doc)
    assert doc["serving"] == 5 and doc["api"]["throttle"] == []
