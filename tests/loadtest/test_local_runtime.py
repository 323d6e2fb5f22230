"""End to end against the local SageMaker data plane: ``load-test --target endpoint`` signs with SigV4,
and the A/B split comes back per variant from ``x-Amzn-Invoked-Production-Variant``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator.cli import main
from orchestrator.config import load_environment

pytestmark = pytest.mark.timeout(90)

HANDLER = """
import json

def model_fn(model_dir):
    return None

def input_fn(body, content_type):
    return json.loads(body)

def predict_fn(data, model):
    return {"success": "true", "label": len(data["sentence"]) % 4 + 1}

def output_fn(prediction, accept):
    return json.dumps(prediction), "application/json"
"""


@pytest.fixture
def runtime_url(tmp_path: Path) -> Iterator[str]:
    from orchestrator.dataplane.sagemaker import (
        EndpointSpec,
        InMemoryMetricsSink,
        LocalDirCaptureSink,
        LocalSageMakerRuntime,
        ModelSpec,
        VariantSpec,
    )

    model_dir = tmp_path / "model"
    (model_dir / "code").mkdir(parents=True)
    (model_dir / "code" / "inference.py").write_text(HANDLER)
    rt = LocalSageMakerRuntime(
        work_dir=tmp_path / "work",
        capture_sink=LocalDirCaptureSink(tmp_path / "s3"),
        metrics_sink=InMemoryMetricsSink(),
        stop_grace=2.0,
        drain_timeout=5.0,
        load_timeout=60.0,
    )
    url = rt.start()
    try:
        variants = tuple(
            VariantSpec(variant_name=name, weight=weight, model=ModelSpec(name=f"{name}-m", model_data=str(model_dir)))
            for name, weight in (("model-a", 3.0), ("model-b", 1.0))
        )
        name = load_environment("local").endpoint_name
        state = rt.apply(EndpointSpec(name=name, config_name=f"{name}-config", variants=variants))
        assert state.status == "InService", state
        yield url
    finally:
        rt.stop()


def test_endpoint_target_against_the_local_runtime(runtime_url: str, tmp_path: Path) -> None:
    out = tmp_path / "out"
    code = main(
        ["load-test", "--env", "local", "--target", "endpoint", "--url", runtime_url, "--rate", "100",
         "--duration", "2", "--warmup", "0.5", "--out", str(out), "--quiet", "--no-report"]
    )  # fmt: skip
    assert code == 0
    s = json.loads((out / "summary.json").read_text())
    assert s["requests"]["success"] == s["requests"]["sent"] == 200
    assert set(s["variants"]) == {"model-a", "model-b"}
    assert s["variants"]["model-a"]["count"] > s["variants"]["model-b"]["count"] > 20  # weights 3:1
    assert sum(s["variants"]["model-a"]["labels"].values()) == s["variants"]["model-a"]["count"]
