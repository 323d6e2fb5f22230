"""Data capture (format, encoding, key layout, exactly-once at 100 %) and CloudWatch metrics."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from dataplane_helpers import endpoint

from orchestrator.dataplane.sagemaker import DataCaptureSpec, InMemoryMetricsSink, LocalSageMakerRuntime
from orchestrator.dataplane.sagemaker.capture import CaptureWriter, EndpointCapture, LocalDirCaptureSink

pytestmark = pytest.mark.timeout(120)  # a hung worker or socket must fail the test, not CI

KEY = re.compile(
    r"^capture-bucket/prefix/(?P<ep>[^/]+)/(?P<variant>[^/]+)/(?P<y>\d{4})/(?P<m>\d{2})/(?P<d>\d{2})/(?P<h>\d{2})/"
    r"(?P<mi>\d{2})-(?P<s>\d{2})-(?P<ms>\d{3})-[0-9a-f-]{36}\.jsonl$"
)

TRANSFORM = """
def model_fn(model_dir):
    return None

def transform_fn(model, body, content_type, accept):
    return body, content_type
"""


def capture_spec(**kw: Any) -> DataCaptureSpec:
    base: dict[str, Any] = {
        "enabled": True,
        "destination_s3_uri": "s3://capture-bucket/prefix",
        "sampling_percentage": 100.0,
        "csv_content_types": ("text/csv",),
        "json_content_types": ("application/json",),
        "has_content_type_header": True,
    }
    base.update(kw)
    return DataCaptureSpec(**base)


def read_capture(root: Path) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for path in sorted((root / "capture-bucket").rglob("*.jsonl")):
        key = path.relative_to(root).as_posix()
        for line in path.read_text().splitlines():
            out.append((key, json.loads(line)))
    return out


def test_every_answered_request_is_captured_once_with_the_reference_layout(
    runtime: LocalSageMakerRuntime, model_factory: Callable[..., Path], smr: Any, tmp_path: Path
) -> None:
    d = model_factory(TRANSFORM)
    env = {"SAGEMAKER_MODEL_SERVER_WORKERS": "2", "SAGEMAKER_TS_BATCH_SIZE": "8", "SAGEMAKER_TS_MAX_BATCH_DELAY": "5"}
    runtime.apply(endpoint("cap", ("a", d, 1.0, env), ("b", d, 1.0, env), capture=capture_spec()))
    before = datetime.now(UTC)

    def call(i: int) -> str:
        r = smr.invoke_endpoint(EndpointName="cap", Body=json.dumps({"i": i}).encode(), ContentType="application/json", InferenceId=f"id-{i}")
        r["Body"].read()
        return r["InvokedProductionVariant"]

    with ThreadPoolExecutor(16) as pool:
        variants = list(pool.map(call, range(300)))
    smr.invoke_endpoint(EndpointName="cap", Body=b"1,2,3\n", ContentType="text/csv")
    smr.invoke_endpoint(EndpointName="cap", Body=b"\x00\xffbin", ContentType="application/octet-stream")
    runtime.flush()
    records = read_capture(tmp_path / "s3")
    assert len(records) == 302
    assert len({r["eventMetadata"]["eventId"] for _, r in records}) == 302
    ids = sorted(r["eventMetadata"].get("inferenceId", "") for _, r in records)
    assert ids[2:] == sorted(f"id-{i}" for i in range(300)) and ids[:2] == ["", ""]
    for key, rec in records:
        m = KEY.match(key)
        assert m, key
        assert m["ep"] == "cap" and m["variant"] in ("a", "b") and int(m["h"]) in (before.hour, (before.hour + 1) % 24)
        assert rec["eventVersion"] == "0"
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", rec["eventMetadata"]["inferenceTime"])
        cap_in, cap_out = rec["captureData"]["endpointInput"], rec["captureData"]["endpointOutput"]
        assert cap_in["mode"] == "INPUT" and cap_out["mode"] == "OUTPUT"
        if "inferenceId" in rec["eventMetadata"]:
            i = int(rec["eventMetadata"]["inferenceId"][3:])
            assert cap_in == {"observedContentType": "application/json", "mode": "INPUT", "data": json.dumps({"i": i}), "encoding": "JSON"}
            assert cap_out["data"] == json.dumps({"i": i}) and cap_out["encoding"] == "JSON"
    for v in ("a", "b"):  # each record sits under the variant that answered it
        assert sum(1 for k, r in records if f"/cap/{v}/" in k and "inferenceId" in r["eventMetadata"]) == variants.count(v)
    by_type = {r["captureData"]["endpointInput"]["observedContentType"]: r["captureData"]["endpointInput"] for _, r in records}
    assert by_type["text/csv"]["encoding"] == "CSV" and by_type["text/csv"]["data"] == "1,2,3\n"
    binary = by_type["application/octet-stream"]
    assert binary["encoding"] == "BASE64" and base64.b64decode(binary["data"]) == b"\x00\xffbin"
    runtime.flush()
    assert len(read_capture(tmp_path / "s3")) == 302  # nothing written twice


def test_only_configured_modes_and_base64_without_content_type_header(tmp_path: Path) -> None:
    spec = DataCaptureSpec(enabled=True, destination_s3_uri="s3://capture-bucket/prefix", capture_output=False)
    cap = EndpointCapture("ep", spec)
    cap.record("v", "application/json", b'{"a":1}', "application/json", b"{}", "")
    writer = CaptureWriter(LocalDirCaptureSink(tmp_path))
    writer.endpoints["ep"] = cap
    assert writer.flush() == 1
    [(_, rec)] = read_capture(tmp_path)
    assert list(rec["captureData"]) == ["endpointInput"]
    assert rec["captureData"]["endpointInput"]["encoding"] == "BASE64"
    assert "inferenceId" not in rec["eventMetadata"]


def test_sampling_is_per_request() -> None:
    cap = EndpointCapture("ep", capture_spec(sampling_percentage=30.0))
    hits = sum(cap.sample() for _ in range(4000))
    assert 1000 <= hits <= 1400
    assert not any(EndpointCapture("ep", capture_spec(sampling_percentage=0.0)).sample() for _ in range(100))


def test_failed_write_is_retried_not_lost(tmp_path: Path) -> None:
    class Flaky:
        def __init__(self) -> None:
            self.calls = 0
            self.inner = LocalDirCaptureSink(tmp_path)

        def write(self, uri: str, body: bytes, kms_key_id: str | None = None) -> None:
            self.calls += 1
            if self.calls == 1:
                raise OSError("S3 unavailable")
            self.inner.write(uri, body)

    writer = CaptureWriter(Flaky())
    cap = writer.configure("ep", capture_spec())
    assert cap is not None
    for i in range(5):
        cap.record("v", "application/json", b"{}", "application/json", b"{}", f"id-{i}")
    assert writer.flush() == 0
    assert writer.flush() == 5
    assert len(read_capture(tmp_path)) == 5


def test_metrics_names_units_and_dimensions(runtime: LocalSageMakerRuntime, model_factory: Callable[..., Path], smr: Any) -> None:
    d = model_factory()
    runtime.apply(endpoint("met", ("a", d, 1.0, {"SAGEMAKER_MODEL_SERVER_WORKERS": "2"})))
    for _ in range(5):
        smr.invoke_endpoint(EndpointName="met", Body=b"{}", ContentType="application/json")
    for body in (b'{"bad": 1}', b'{"boom": 1}'):
        with pytest.raises(ClientError):
            smr.invoke_endpoint(EndpointName="met", Body=body, ContentType="application/json")
    runtime.flush()
    sink = runtime.metrics_sink
    assert isinstance(sink, InMemoryMetricsSink)
    # every datum of this endpoint, per metric: a minute boundary passing mid-test splits them in two
    got: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for ns, datum in sink.data:
        if {"Name": "EndpointName", "Value": "met"} in datum["Dimensions"]:
            got.setdefault((ns, datum["MetricName"]), []).append(datum)
    for datums in got.values():
        for datum in datums:
            assert datum["Dimensions"] == [{"Name": "EndpointName", "Value": "met"}, {"Name": "VariantName", "Value": "a"}]
            assert datum["Timestamp"].second == 0
    value = {name: sum(d.get("Value", 0) for d in datums) for (ns, name), datums in got.items() if ns == "AWS/SageMaker"}
    assert value["Invocations"] == 7 and value["InvocationsPerInstance"] == 7
    assert value["Invocation4XXErrors"] == 1 and value["Invocation5XXErrors"] == 1 and value["InvocationModelErrors"] == 2
    for name in ("ModelLatency", "OverheadLatency"):
        datums = got[("AWS/SageMaker", name)]
        # Values/Counts (percentiles exist), not a statistic set
        assert all(d["Unit"] == "Microseconds" and "StatisticValues" not in d and min(d["Values"]) > 0 for d in datums)
        assert all(len(d["Values"]) == len(d["Counts"]) <= 150 for d in datums)
        assert sum(sum(d["Counts"]) for d in datums) == 7
    assert all(d["Unit"] == "Count" for d in got[("AWS/SageMaker", "Invocations")])
    for name in ("CPUUtilization", "MemoryUtilization", "DiskUtilization"):
        assert all(d["Unit"] == "Percent" and d["StatisticValues"]["SampleCount"] == 1 for d in got[("/aws/sagemaker/Endpoints", name)])
    assert max(d["StatisticValues"]["Maximum"] for d in got[("/aws/sagemaker/Endpoints", "MemoryUtilization")]) > 0


def test_a_buffer_spanning_an_hour_boundary_becomes_one_file_per_utc_hour() -> None:
    cap = EndpointCapture("ep", DataCaptureSpec(True, "s3://bucket/capture", 100.0))
    at = [datetime(2026, 11, 25, h, m, s, ms * 1000, tzinfo=UTC).timestamp()
          for h, m, s, ms in ((22, 59, 59, 500), (22, 59, 59, 900), (23, 0, 0, 250), (23, 30, 1, 7))]
    items = [(t, "application/json", b"{}", "application/json", b"{}", "") for t in at]
    files = cap.files("variant-a", items)
    assert [len(group) for _, group in files] == [2, 2]
    (first_uri, first), (second_uri, second) = files
    assert re.fullmatch(r"s3://bucket/capture/ep/variant-a/2026/11/25/22/59-59-500-[0-9a-f-]{36}\.jsonl", first_uri)
    assert re.fullmatch(r"s3://bucket/capture/ep/variant-a/2026/11/25/23/00-00-250-[0-9a-f-]{36}\.jsonl", second_uri)
    assert first == items[:2] and second == items[2:]
