"""Data capture of requests in flight when an endpoint goes away or its capture configuration changes:
nothing lost, nothing written twice."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from dataplane_helpers import endpoint

from orchestrator.dataplane.sagemaker import (
    DataCaptureSpec,
    LocalSageMakerRuntime,
)

pytestmark = pytest.mark.timeout(120)

# input_fn touches body["mark"] (the test's sign that the request is inside the model), then sleeps
SLOW = """
import json, os, time

def model_fn(model_dir):
    return {"tag": os.environ.get("TAG", "slow")}

def input_fn(body, content_type):
    data = json.loads(body)
    if data.get("mark"):
        open(data["mark"], "w").close()
    time.sleep(float(data.get("sleep", 0)))
    return data

def predict_fn(data, model):
    return {"tag": model["tag"], "echo": data}

def output_fn(prediction, accept):
    return json.dumps(prediction), "application/json"
"""
ONE_WORKER = {"SAGEMAKER_MODEL_SERVER_WORKERS": "1"}
IN_MODEL_S = 1.5  # how long the request in flight stays inside the model once it is seen there


def capture_spec(prefix: str = "prefix") -> DataCaptureSpec:
    return DataCaptureSpec(
        enabled=True,
        destination_s3_uri=f"s3://capture-bucket/{prefix}",
        sampling_percentage=100.0,
        json_content_types=("application/json",),
        has_content_type_header=True,
    )


def captured_ids(s3_root: Path, prefix: str = "prefix") -> list[str]:
    """The inferenceId of every capture record under s3://capture-bucket/<prefix>, one per record."""
    ids = []
    for path in sorted((s3_root / "capture-bucket" / prefix).rglob("*.jsonl")):
        for line in path.read_text().splitlines():
            ids.append(json.loads(line)["eventMetadata"].get("inferenceId", ""))
    return sorted(ids)








class InFlight:
    """One InvokeEndpoint in a thread, returned once the model is running it (IN_MODEL_S left to go)."""

    def __init__(self, smr: Any, ep: str, inference_id: str, mark: Path) -> None:
        self.result: list[tuple[int, bytes]] = []
        body = json.dumps({"sleep": IN_MODEL_S, "mark": str(mark)}).encode()

        def call() -> None:
            r = smr.invoke_endpoint(EndpointName=ep, Body=body, ContentType="application/json", InferenceId=inference_id)
            self.result.append((r["ResponseMetadata"]["HTTPStatusCode"], r["Body"].read()))

        self.thread = threading.Thread(target=call)
        self.thread.start()
        deadline = time.monotonic() + 30
        while not mark.exists():
            assert time.monotonic() < deadline, "the request never reached the model"
            assert self.thread.is_alive(), "the request ended before reaching the model"
            time.sleep(0.01)

    def answered(self) -> int:
        self.thread.join(30)
        assert self.result, "no answer"
        return self.result[0][0]


def quick(smr: Any, ep: str, inference_id: str) -> None:
    smr.invoke_endpoint(EndpointName=ep, Body=b"{}", ContentType="application/json", InferenceId=inference_id)["Body"].read()




def test_a_request_in_flight_when_the_capture_config_changes_keeps_the_old_config(
    runtime: LocalSageMakerRuntime, model_factory: Callable[..., Path], smr: Any, tmp_path: Path
) -> None:
    d = model_factory(SLOW)
    runtime.apply(endpoint("moved", ("a", d, 1.0, ONE_WORKER), capture=capture_spec("old")))
    call = InFlight(smr, "moved", "inflight", tmp_path / "mark")
    # same variants: the instance keeps serving, apply returns while the request is still in the model
    runtime.apply(endpoint("moved", ("a", d, 1.0, ONE_WORKER), capture=capture_spec("new")))
    assert call.answered() == 200
    quick(smr, "moved", "after")
    runtime.flush()
    assert captured_ids(tmp_path / "s3", "old") == ["inflight"]
    assert captured_ids(tmp_path / "s3", "new") == ["after"]
    runtime.flush()
    assert captured_ids(tmp_path / "s3", "old") == ["inflight"]







