"""The example models (models/model-a, model-b) served with server-side batching: concurrent single-sentence
requests go through their predict_batch_fn (one EmbeddingBag pass) and each answer equals the unbatched one."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from dataplane_helpers import endpoint

from orchestrator.dataplane.sagemaker import LocalSageMakerRuntime

pytestmark = pytest.mark.timeout(180)
pytest.importorskip("torch")
ROOT = Path(__file__).resolve().parents[2]

COUNTING_HOOK = '''

_predict_batch_fn = predict_batch_fn


def predict_batch_fn(inputs, model, context=None):  # test wrapper: record each batch's size
    predictions = _predict_batch_fn(inputs, model, context)
    with open(os.environ["BATCH_LOG"], "a") as log:
        log.write(f"{len(inputs)}\\n")
    return predictions
'''


@pytest.mark.parametrize("model", ["model-a", "model-b"])
def test_concurrent_requests_are_batched_and_answer_as_alone(
    model: str, runtime: LocalSageMakerRuntime, smr: Any, tmp_path: Path
) -> None:
    source = ROOT / "models" / model
    model_dir = tmp_path / model
    if (source / "artifacts" / "model.pt").exists():
        shutil.copytree(source / "artifacts", model_dir)
    else:  # a fresh checkout: train (seconds, deterministic) into the test's own directory
        subprocess.run(
            [sys.executable, str(source / "train.py"), "--output-dir", str(model_dir)],
            check=True, capture_output=True, timeout=150,
        )
    shutil.copy(source / "model.json", model_dir / "model.json")
    shutil.copytree(source / "code", model_dir / "code", ignore=shutil.ignore_patterns("__pycache__", ".mypy_cache"))
    with (model_dir / "code" / "inference.py").open("a") as handle:
        handle.write(COUNTING_HOOK)
    batch_log = tmp_path / "batches.log"
    batched_env = {"SAGEMAKER_MODEL_SERVER_WORKERS": "1", "SAGEMAKER_TS_BATCH_SIZE": "16",
                   "SAGEMAKER_TS_MAX_BATCH_DELAY": "20", "BATCH_LOG": str(batch_log)}
    single_env = {"SAGEMAKER_MODEL_SERVER_WORKERS": "1", "BATCH_LOG": str(tmp_path / "single.log")}
    state = runtime.apply(endpoint("ex", ("batched", model_dir, 1.0, batched_env), ("single", model_dir, 0.0, single_env)))
    assert state.status == "InService", state.failure_reason

    with (ROOT / "models" / "data" / "ag_news_sample.csv").open(newline="") as handle:
        sentences = [f"{title}. {body}" for _, title, body in list(csv.reader(handle))[:96]]

    def ask(sentence: str, variant: str) -> bytes:
        reply = smr.invoke_endpoint(EndpointName="ex", Body=json.dumps({"sentence": sentence}),
                                    ContentType="application/json", TargetVariant=variant)
        assert reply["InvokedProductionVariant"] == variant
        return bytes(reply["Body"].read())

    alone = [ask(s, "single") for s in sentences]
    with ThreadPoolExecutor(16) as pool:
        batched = list(pool.map(lambda s: ask(s, "batched"), sentences))
    assert batched == alone  # byte-identical answers
    sizes = [int(line) for line in batch_log.read_text().split()] if batch_log.exists() else []
    assert sizes and max(sizes) > 1, f"no batch went through predict_batch_fn: {sizes}"
