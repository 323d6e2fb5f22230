"""A real torch EmbeddingBag model served by the runtime, batched through predict_batch_fn."""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from dataplane_helpers import endpoint

from orchestrator.dataplane.sagemaker import LocalSageMakerRuntime

pytestmark = pytest.mark.timeout(120)  # a hung worker or socket must fail the test, not CI

torch = pytest.importorskip("torch")

INFERENCE = """
import json, os, sys, zlib
import torch


torch.set_num_threads(1)
BATCHES = []

class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = torch.nn.EmbeddingBag(20000, 32, mode="mean")
        self.fc = torch.nn.Linear(32, 4)

    def forward(self, tokens, offsets):
        return self.fc(self.embedding(tokens, offsets))

class BadRequest(Exception):
    status_code = 400

def model_fn(model_dir):
    assert "orchestrator" not in sys.modules and not any("orchestrator" in p for p in sys.path[:1])
    net = Net()
    net.load_state_dict(torch.load(os.path.join(model_dir, "model.pt"), weights_only=True))
    return net.eval()

def input_fn(body, content_type):
    data = json.loads(body)
    if "sentence" not in data:
        raise BadRequest('expected {"sentence": ...}')
    return [zlib.crc32(w.encode()) % 20000 for w in data["sentence"].lower().split()] or [0]

def _forward(batch, net):
    ids, offsets = [], []
    for tokens in batch:
        offsets.append(len(ids))
        ids.extend(tokens)
    with torch.inference_mode():
        return (net(torch.tensor(ids), torch.tensor(offsets)).argmax(1) + 1).tolist()

def predict_fn(tokens, net):
    return _forward([tokens], net)[0]

def predict_batch_fn(batch, net):
    BATCHES.append(len(batch))
    return _forward(batch, net)

def output_fn(label, accept):
    return json.dumps({"label": label, "max_batch": max(BATCHES, default=1)}), "application/json"
"""


def test_embedding_bag_model_batched_and_unbatched_agree(
    runtime: LocalSageMakerRuntime, model_factory: Callable[..., Path], smr: Any
) -> None:
    d = model_factory(INFERENCE, "torch-model")
    torch.manual_seed(0)
    torch.save({"embedding.weight": torch.randn(20000, 32), "fc.weight": torch.randn(4, 32), "fc.bias": torch.zeros(4)}, d / "model.pt")
    env = {"SAGEMAKER_MODEL_SERVER_WORKERS": "1", "SAGEMAKER_TS_BATCH_SIZE": "16", "SAGEMAKER_TS_MAX_BATCH_DELAY": "20"}
    state = runtime.apply(endpoint("torch", ("batched", d, 1.0, env), ("single", d, 0.0, {"SAGEMAKER_MODEL_SERVER_WORKERS": "1"})))
    assert state.status == "InService", state.failure_reason
    sentences = [f"sentence number {i} about sports and business" for i in range(64)]

    def call(args: tuple[str, str]) -> dict[str, Any]:
        s, variant = args
        r = smr.invoke_endpoint(EndpointName="torch", Body=json.dumps({"sentence": s}), ContentType="application/json", TargetVariant=variant)
        return json.loads(r["Body"].read())

    with ThreadPoolExecutor(16) as pool:
        batched = list(pool.map(call, [(s, "batched") for s in sentences]))
        single = list(pool.map(call, [(s, "single") for s in sentences]))
    assert [b["label"] for b in batched] == [s["label"] for s in single]
    assert all(1 <= b["label"] <= 4 for b in batched)
    assert max(b["max_batch"] for b in batched) > 1  # concurrent requests did share a forward pass
    with pytest.raises(Exception) as info:
        smr.invoke_endpoint(EndpointName="torch", Body=b"{}", ContentType="application/json")
    assert info.value.response["OriginalStatusCode"] == 400  # type: ignore[attr-defined]
