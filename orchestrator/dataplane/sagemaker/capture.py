"""Data capture: the SageMaker capture record format and S3 key layout, through an injectable sink.

Files: `<DestinationS3Uri>/<EndpointName>/<VariantName>/yyyy/mm/dd/hh/<mm-ss-mmm-uuid>.jsonl`, the hour
being the UTC hour of the invocations inside (a buffer spanning an hour boundary becomes two files),
the file name the minute-second-millisecond of its first record. One JSON object per line:
`{"captureData": {"endpointInput": {...}, "endpointOutput": {...}}, "eventMetadata": {"eventId",
"inferenceId" (only when sent), "inferenceTime"}, "eventVersion": "0"}`.

Encoding: the observed content type listed in CsvContentTypes -> CSV, in JsonContentTypes -> JSON (raw
text in `data`); otherwise, or without a CaptureContentTypeHeader, BASE64 of the raw bytes. Only the
modes in CaptureOptions appear. Sampling is decided per request. Only invocations the model answered
with 2xx are captured (an error has no model output to record).

The hot path only appends a tuple of references; records are formatted and written by the flusher
(every `flush_interval` seconds and on close). A batch is dropped from the buffer only once its
sink write succeeded — a failed write is retried at the next flush — so at 100 % sampling every
answered request is written exactly once unless the sink itself fails half-way.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import random
import threading
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol

from orchestrator.dataplane.sagemaker.spec import DataCaptureSpec

log = logging.getLogger(__name__)


class CaptureSink(Protocol):
    """Where capture files go: `write("s3://bucket/key", body)`."""

    def write(self, uri: str, body: bytes, kms_key_id: str | None = None) -> None: ...


class LocalDirCaptureSink:
    """Writes s3://bucket/key to `<root>/bucket/key` (unit tests, offline runs)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def write(self, uri: str, body: bytes, kms_key_id: str | None = None) -> None:
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        path = self.root / bucket / key
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(body)
        tmp.rename(path)


class S3CaptureSink:
    """PutObject through a boto3 S3 client (the embedded control plane in local mode)."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def write(self, uri: str, body: bytes, kms_key_id: str | None = None) -> None:
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        extra: dict[str, str] = {}
        if kms_key_id:
            extra = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": kms_key_id}
        self.client.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/jsonl", **extra)


def _media(content_type: str) -> str:
    return content_type.split(";")[0].strip().lower()


class _Encoder:
    def __init__(self, spec: DataCaptureSpec) -> None:
        self.csv = {_media(c) for c in spec.csv_content_types}
        self.json = {_media(c) for c in spec.json_content_types}
        self.header = spec.has_content_type_header

    def __call__(self, content_type: str, data: bytes, mode: str) -> dict[str, str]:
        media = _media(content_type) if self.header else ""
        encoding = "CSV" if media and media in self.csv else "JSON" if media and media in self.json else "BASE64"
        if encoding != "BASE64":
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                encoding, text = "BASE64", base64.b64encode(data).decode()
        else:
            text = base64.b64encode(data).decode()
        return {"observedContentType": content_type, "mode": mode, "data": text, "encoding": encoding}


# (epoch seconds, input content type, input body, output content type, output body, inference id)
_Pending = tuple[float, str, bytes, str, bytes, str]


class EndpointCapture:
    """Capture of one endpoint (all its variants), with its own buffer."""

    def __init__(self, endpoint_name: str, spec: DataCaptureSpec) -> None:
        self.endpoint_name = endpoint_name
        self.spec = spec
        self.rate = max(0.0, min(100.0, spec.sampling_percentage)) / 100.0
        self.encode = _Encoder(spec)
        self.buffers: dict[str, list[_Pending]] = {}
        self.lock = threading.Lock()

    def sample(self) -> bool:
        return self.spec.enabled and (self.rate >= 1.0 or random.random() < self.rate)

    def record(
        self, variant: str, content_type: str, body: bytes, out_type: str, out_body: bytes, inference_id: str
    ) -> None:
        item = (time.time(), content_type, body, out_type, out_body, inference_id)
        with self.lock:
            buf = self.buffers.get(variant)
            if buf is None:
                self.buffers[variant] = [item]
            else:
                buf.append(item)

    def take(self) -> dict[str, list[_Pending]]:
        with self.lock:
            taken, self.buffers = self.buffers, {}
        return taken

    def put_back(self, variant: str, items: list[_Pending]) -> None:
        with self.lock:
            self.buffers[variant] = items + self.buffers.get(variant, [])

    def render(self, item: _Pending) -> str:
        t, ct, body, out_ct, out_body, iid = item
        data: dict[str, Any] = {}
        if self.spec.capture_input:
            data["endpointInput"] = self.encode(ct, body, "INPUT")
        if self.spec.capture_output:
            data["endpointOutput"] = self.encode(out_ct, out_body, "OUTPUT")
        meta: dict[str, str] = {"eventId": str(uuid.uuid4())}
        if iid:
            meta["inferenceId"] = iid
        meta["inferenceTime"] = datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        return json.dumps({"captureData": data, "eventMetadata": meta, "eventVersion": "0"}, separators=(",", ":"))

    def files(self, variant: str, items: list[_Pending]) -> list[tuple[str, list[_Pending]]]:
        """Split a variant's items by UTC hour; name each file after its first record."""
        groups: dict[str, list[_Pending]] = {}
        for item in items:
            hour = datetime.fromtimestamp(item[0], timezone.utc).strftime("%Y/%m/%d/%H")
            groups.setdefault(hour, []).append(item)
        out = []
        for hour, group in groups.items():
            first = datetime.fromtimestamp(group[0][0], timezone.utc)
            name = f"{first:%M-%S}-{first.microsecond // 1000:03d}-{uuid.uuid4()}.jsonl"
            uri = f"{self.spec.destination_s3_uri}/{self.endpoint_name}/{variant}/{hour}/{name}"
            out.append((uri, group))
        return out


class CaptureWriter:
    """Owns every endpoint's capture and flushes them through one sink on an interval."""

    def __init__(self, sink: CaptureSink | None, flush_interval: float = 1.0) -> None:
        self.sink = sink
        self.flush_interval = flush_interval
        self.endpoints: dict[str, EndpointCapture] = {}
        self._task: asyncio.Task[None] | None = None
        self._flush_lock = threading.Lock()
        self._retired: list[EndpointCapture] = []

    def configure(self, endpoint_name: str, spec: DataCaptureSpec | None) -> EndpointCapture | None:
        """(Re)configure capture for an endpoint; records already buffered keep their old config."""
        if spec is None or not spec.enabled or self.sink is None:
            return None
        old = self.endpoints.get(endpoint_name)
        if old is not None and old.spec == spec:
            return old
        cap = EndpointCapture(endpoint_name, spec)
        if old is not None:
            self._retired.append(old)
        self.endpoints[endpoint_name] = cap
        return cap

    def remove(self, endpoint_name: str) -> None:
        """Stop capturing for an endpoint; what it buffered is still written at the next flush."""
        old = self.endpoints.pop(endpoint_name, None)
        if old is not None:
            self._retired.append(old)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self.flush_interval)
            try:
                await loop.run_in_executor(None, self.flush)
            except Exception:  # noqa: BLE001 - keep flushing; items stay buffered
                log.exception("data capture flush failed")

    def flush(self) -> int:
        """Write everything buffered; returns the number of records written."""
        if self.sink is None:
            return 0
        written = 0
        with self._flush_lock:
            caps = list(self.endpoints.values()) + self._retired
            self._retired = []
            for cap in caps:
                for variant, items in cap.take().items():
                    for uri, group in cap.files(variant, items):
                        body = ("\n".join(cap.render(i) for i in group) + "\n").encode()
                        try:
                            self.sink.write(uri, body, cap.spec.kms_key_id)
                        except Exception:  # noqa: BLE001 - retried at the next flush
                            log.exception("data capture write to %s failed", uri)
                            cap.put_back(variant, group)
                            continue
                        written += len(group)
        return written

    async def close(self) -> None:
        if self._task:
            self._task.cancel()
        await asyncio.get_running_loop().run_in_executor(None, self.flush)
