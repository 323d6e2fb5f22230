"""Capture records and metrics of requests in flight when an endpoint goes away, changes or the runtime
stops (nothing lost, nothing written twice), InvocationsPerInstance with several instances, and the
CPU of processes seen for the first time (an instance's first minute, a restarted worker)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from dataplane_helpers import endpoint

from orchestrator.dataplane.sagemaker import (
    DataCaptureSpec,
    EndpointSpec,
    InMemoryMetricsSink,
    LocalDirCaptureSink,
    LocalSageMakerRuntime,
    ModelSpec,
    VariantSpec,
)
from orchestrator.dataplane.sagemaker.metrics import MetricsPublisher, VariantCounters, VariantInventory

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


def data(sink: Any, ep: str, variant: str, metric: str = "Invocations") -> list[dict[str, Any]]:
    """Every datum of `metric` published for the variant (a periodic publish at a minute boundary may
    split a test's invocations in two: compare sums)."""
    assert isinstance(sink, InMemoryMetricsSink)
    dims = [{"Name": "EndpointName", "Value": ep}, {"Name": "VariantName", "Value": variant}]
    return [d for ns, d in sink.data if d["MetricName"] == metric and d["Dimensions"] == dims]


def invocations(sink: Any, ep: str, variant: str) -> list[float]:
    """Values of every Invocations datum published for the variant."""
    return [d["Value"] for d in data(sink, ep, variant)]


def client(rt: LocalSageMakerRuntime) -> Any:
    return boto3.client(
        "sagemaker-runtime", endpoint_url=rt.url, region_name="us-east-1", aws_access_key_id="testing",
        aws_secret_access_key="testing", config=Config(retries={"max_attempts": 1}, read_timeout=30),
    )


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


def test_a_request_in_flight_during_delete_is_captured_once_and_counted(
    runtime: LocalSageMakerRuntime, model_factory: Callable[..., Path], smr: Any, tmp_path: Path
) -> None:
    d = model_factory(SLOW)
    runtime.apply(endpoint("gone", ("a", d, 1.0, ONE_WORKER), capture=capture_spec()))
    quick(smr, "gone", "q-1")
    quick(smr, "gone", "q-2")
    call = InFlight(smr, "gone", "inflight", tmp_path / "mark")
    runtime.delete("gone")  # the periodic capture flush (every 0.2 s) runs while the request drains
    assert call.answered() == 200
    runtime.flush()
    assert captured_ids(tmp_path / "s3") == ["inflight", "q-1", "q-2"]
    assert sum(invocations(runtime.metrics_sink, "gone", "a")) == 3
    runtime.flush()
    assert captured_ids(tmp_path / "s3") == ["inflight", "q-1", "q-2"]  # nothing written twice
    assert sum(invocations(runtime.metrics_sink, "gone", "a")) == 3


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


def test_a_variant_replaced_by_an_update_publishes_its_last_minute(
    runtime: LocalSageMakerRuntime, model_factory: Callable[..., Path], smr: Any, tmp_path: Path
) -> None:
    d = model_factory(SLOW)
    runtime.apply(endpoint("swap", ("a", d, 1.0, ONE_WORKER)))
    quick(smr, "swap", "q-1")
    call = InFlight(smr, "swap", "inflight", tmp_path / "mark")
    # a changed environment: new instances for "a", the old one drains the request in flight
    runtime.apply(endpoint("swap", ("a", d, 1.0, {**ONE_WORKER, "TAG": "v2"})))
    assert call.answered() == 200
    quick(smr, "swap", "q-2")
    runtime.flush()
    assert sum(invocations(runtime.metrics_sink, "swap", "a")) == 3
    stamps = [d["Timestamp"] for d in data(runtime.metrics_sink, "swap", "a")]
    assert len(stamps) == len(set(stamps))  # old and new instances merged: one datum per publish


def test_stop_lets_requests_in_flight_finish_before_the_last_flush(
    model_factory: Callable[..., Path], tmp_path: Path
) -> None:
    sink = InMemoryMetricsSink()
    rt = LocalSageMakerRuntime(
        work_dir=tmp_path / "work", capture_sink=LocalDirCaptureSink(tmp_path / "s3"), capture_flush_interval=0.2,
        metrics_sink=sink, stop_grace=2.0, drain_timeout=10.0, load_timeout=60.0,
    )
    rt.start()
    try:
        smr = client(rt)
        rt.apply(endpoint("stopping", ("a", model_factory(SLOW), 1.0, ONE_WORKER), capture=capture_spec()))
        quick(smr, "stopping", "q-1")
        call = InFlight(smr, "stopping", "inflight", tmp_path / "mark")
    finally:
        rt.stop()
    assert call.answered() == 200
    assert captured_ids(tmp_path / "s3") == ["inflight", "q-1"]
    assert sum(invocations(sink, "stopping", "a")) == 2
    assert data(sink, "stopping", "a", "CPUUtilization")  # the instance's last partial minute, read before it stopped


def test_invocations_per_instance_divides_by_the_instance_count(
    runtime: LocalSageMakerRuntime, model_factory: Callable[..., Path], smr: Any
) -> None:
    d = model_factory(SLOW)
    spec = EndpointSpec(
        name="two", config_name="two-config",
        variants=(VariantSpec("a", ModelSpec("a-model", str(d), ONE_WORKER), 1.0, instance_count=2),),
    )
    runtime.apply(spec)
    for i in range(6):
        quick(smr, "two", f"q-{i}")
    runtime.flush()
    sink = runtime.metrics_sink
    assert sum(d["Value"] for d in data(sink, "two", "a")) == 6
    assert sum(d["Value"] for d in data(sink, "two", "a", "InvocationsPerInstance")) == 3
    cpu = data(sink, "two", "a", "CPUUtilization")
    assert cpu and all(d["StatisticValues"]["SampleCount"] == 2 for d in cpu)  # one sample per instance


# -- CPU of processes seen for the first time ------------------------------------------------------

BURN = """
import sys, time
t0 = time.process_time()
while time.process_time() - t0 < {cpu}:
    pass
print("burnt", flush=True)
time.sleep(60)
"""


def burner(cpu_seconds: float) -> subprocess.Popen[str]:
    """A process that uses `cpu_seconds` of CPU, says so on stdout, then idles."""
    proc = subprocess.Popen([sys.executable, "-c", BURN.format(cpu=cpu_seconds)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "burnt"
    return proc


def cpu_sum(publisher: MetricsPublisher) -> float:
    data = publisher.collect()
    [cpu] = [d for d in data["/aws/sagemaker/Endpoints"] if d["MetricName"] == "CPUUtilization"]
    return float(cpu["StatisticValues"]["Sum"])


def test_cpu_of_a_process_counts_from_its_start_first_window_and_after_a_restart() -> None:
    pids: list[int] = []
    publisher = MetricsPublisher(
        None, lambda: [VariantInventory("ep", "a", 1, [list(pids)], "/", VariantCounters())], interval=60
    )
    first = burner(0.3)  # an instance's first minute: the worker started inside the window
    try:
        pids[:] = [first.pid]
        # >= 0.3 s of CPU in a window of a few seconds at most (2 cores shared: allow a slow start)
        assert cpu_sum(publisher) > 3.0
    finally:
        first.kill()
        first.wait()
    restarted = burner(0.3)  # the worker was replaced: a new pid, first read now
    try:
        pids[:] = [restarted.pid]
        assert cpu_sum(publisher) > 3.0
    finally:
        restarted.kill()
        restarted.wait()


def test_a_process_older_than_the_window_counts_its_average_rate_for_the_window() -> None:
    from orchestrator.dataplane.sagemaker.metrics import ProcSampler, _ProcStat

    # alive 100 s, 10 s of CPU: 10 % on average, so 1 s of the 10 s window
    stat = _ProcStat(cpu=10.0, rss=0.0, started=1000.0)
    assert ProcSampler._first_reading(stat, now=1100.0, window_start=1090.0) == pytest.approx(10.0)
    # started 2 s into a 10 s window with 1 s of CPU: all of it counts, over the whole window
    stat = _ProcStat(cpu=1.0, rss=0.0, started=1092.0)
    assert ProcSampler._first_reading(stat, now=1100.0, window_start=1090.0) == pytest.approx(10.0)
