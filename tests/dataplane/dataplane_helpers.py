"""Helpers shared by the data-plane tests (a uniquely named module: tests/ is not a package)."""

from __future__ import annotations

import textwrap
from pathlib import Path

from orchestrator.dataplane.sagemaker import EndpointSpec, ModelSpec, VariantSpec

ECHO = """
import json, os, time

class BadInput(Exception):
    def __init__(self, message):
        super().__init__(message)
        self.status_code = 400
        self.message = message

def model_fn(model_dir):
    return {"tag": os.environ.get("TAG", "echo")}

def input_fn(body, content_type):
    if content_type != "application/json":
        raise BadInput("only application/json")
    data = json.loads(body)
    if data.get("bad"):
        raise BadInput("bad input: " + str(data["bad"]))
    if data.get("boom"):
        raise RuntimeError("boom")
    if data.get("sleep"):
        time.sleep(float(data["sleep"]))
    return data

def predict_fn(data, model):
    return {"tag": model["tag"], "echo": data, "pid": os.getpid()}

def output_fn(prediction, accept):
    return json.dumps(prediction), "application/json"
"""


def write_model(root: Path, source: str, name: str = "model") -> Path:
    """A model directory with code/inference.py holding `source`."""
    model_dir = root / name
    (model_dir / "code").mkdir(parents=True, exist_ok=True)
    (model_dir / "code" / "inference.py").write_text(textwrap.dedent(source))
    return model_dir


def endpoint(name: str, *variants: tuple[str, Path, float, dict[str, str]], capture: object = None) -> EndpointSpec:
    return EndpointSpec(
        name=name,
        config_name=f"{name}-config",
        variants=tuple(
            VariantSpec(variant_name=v, weight=w, model=ModelSpec(name=f"{v}-model", model_data=str(d), env=env))
            for v, d, w, env in variants
        ),
        data_capture=capture,  # type: ignore[arg-type]
    )
