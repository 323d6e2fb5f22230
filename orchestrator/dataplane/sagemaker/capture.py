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

A request sampled for capture is pending on its endpoint's capture from `begin()` to `finish()` /
`cancel()`. When an endpoint is deleted or its capture configuration changes, the old capture is
retired, not dropped: the flusher keeps writing it and forgets it only at the first flush that
starts with nothing pending on it, so a request still in flight at that moment is written too.
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
from datetime import UTC, datetime
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
    """Renders one endpointInput/endpointOutput object as JSON text (the encoding cached per type)."""

    def __init__(self, spec: DataCaptureSpec) -> None:
        self.csv = {_media(c) for c in spec.csv_content_types}
        self.json = {_media(c) for c in spec.json_content_types}
        self.header = spec.has_content_type_header
        self._kind: dict[str, str] = {}

    def kind(self, content_type: str) -> str:
        kind = self._kind.get(content_type)
        if kind is None:
            media = _media(content_type) if self.header else ""
            kind = "CSV" if media and media in self.csv else "JSON" if media and media in self.json else "BASE64"
            self._kind[content_type] = kind
        return kind

    def __call__(self, content_type: str, data: bytes, mode: str) -> str:
        encoding = self.kind(content_type)
        if encoding != "BASE64":
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                encoding, text = "BASE64", base64.b64encode(data).decode()
        else:
            text = base64.b64encode(data).decode()
        return (f'{{"observedContentType":{_dumps(content_type)},"mode":"{mode}","data":{_dumps(text)},'
                f'"encoding":"{encoding}"}}')


_dumps = json.encoder.encode_basestring_ascii


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
        # eventId: a random UUID-shaped prefix per endpoint + a counter (unique, and cheap per record)
        u = uuid.uuid4().hex
        self._event_prefix = f"{u[:8]}-{u[8:12]}-4{u[13:16]}-{'89ab'[int(u[16], 16) % 4]}{u[17:20]}"
        self._events = 0
        self._second = -1
        self._stamp = ""
        # sampled requests not finished yet; written only on the loop thread (begin/finish/cancel)
        self.pending = 0

    def sample(self) -> bool:
        return self.spec.enabled and (self.rate >= 1.0 or random.random() < self.rate)

    def begin(self) -> bool:
        """Decide sampling for a request; a sampled one stays pending until finish() or cancel().

        Why count: a retired capture may be forgotten only once nothing can still write into it."""
        if not self.sample():
            return False
        self.pending += 1
        return True

    def finish(
        self, variant: str, content_type: str, body: bytes, out_type: str, out_body: bytes, inference_id: str
    ) -> None:
        """Record a pending request's answer: appended before it stops being pending, so a flush that
        sees nothing pending has already taken it (or will take it before the capture is forgotten)."""
        self.record(variant, content_type, body, out_type, out_body, inference_id)
        self.cancel()

    def cancel(self) -> None:
        """A pending request ended without a model answer to capture (error, timeout, full queue)."""
        with self.lock:
            self.pending -= 1

    def record(
        self, variant: str, content_type: str, body: bytes, out_type: str, out_body: bytes, inference_id: str
    ) -> None:
        """Buffer one record (finish() for a pending request; tools and tests call it directly)."""
        item = (time.time(), content_type, body, out_type, out_body, inference_id)
        with self.lock:
            self._append(variant, item)

    def _append(self, variant: str, item: _Pending) -> None:
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
        """One capture line; string building, not json.dumps of a dict: this runs for every record."""
        t, ct, body, out_ct, out_body, iid = item
        parts = []
        if self.spec.capture_input:
            parts.append('"endpointInput":' + self.encode(ct, body, "INPUT"))
        if self.spec.capture_output:
            parts.append('"endpointOutput":' + self.encode(out_ct, out_body, "OUTPUT"))
        second = int(t)
        if second != self._second:
            self._second = second
            self._stamp = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        self._events += 1
        event_id = f"{self._event_prefix}-{self._events:012x}"
        meta = f'"eventId":"{event_id}",' + (f'"inferenceId":{_dumps(iid)},' if iid else "")
        return (f'{{"captureData":{{{",".join(parts)}}},"eventMetadata":{{{meta}"inferenceTime":"{self._stamp}"}},'
                '"eventVersion":"0"}')

    def files(self, variant: str, items: list[_Pending]) -> list[tuple[str, list[_Pending]]]:
        """Split a variant's items by UTC hour; name each file after its first record."""
        groups: dict[int, list[_Pending]] = {}
        for item in items:  # integer hours: formatting a date per record stalled the loop at high rates
            hour = int(item[0] // 3600)
            group = groups.get(hour)
            if group is None:
                groups[hour] = [item]
            else:
                group.append(item)
        out = []
        for group in groups.values():
            first = datetime.fromtimestamp(group[0][0], UTC)
            name = f"{first:%M-%S}-{first.microsecond // 1000:03d}-{uuid.uuid4()}.jsonl"
            uri = f"{self.spec.destination_s3_uri}/{self.endpoint_name}/{variant}/{first:%Y/%m/%d/%H}/{name}"
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
        # guards endpoints/_retired: configure runs on the loop thread, a sink write in an executor thread
        self._registry_lock = threading.Lock()
        self._retired: list[EndpointCapture] = []
        self._async_lock = asyncio.Lock()

    def configure(self, endpoint_name: str, spec: DataCaptureSpec | None) -> EndpointCapture | None:
        """(Re)configure capture for an endpoint; records already buffered keep their old config."""
        if spec is None or not spec.enabled or self.sink is None:
            return None
        old = self.endpoints.get(endpoint_name)
        if old is not None and old.spec == spec:
            return old
        cap = EndpointCapture(endpoint_name, spec)
        with self._registry_lock:
            if old is not None:
                self._retired.append(old)
            self.endpoints[endpoint_name] = cap
        return cap

    def remove(self, endpoint_name: str) -> None:
        """Stop capturing for an endpoint; what it buffered, and what its pending requests still
        record, is written by the next flushes."""
        with self._registry_lock:
            old = self.endpoints.pop(endpoint_name, None)
            if old is not None:
                self._retired.append(old)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.flush_interval)
            try:
                await self.flush_async()
            except Exception:  # keep flushing; items stay buffered
                log.exception("data capture flush failed")

    def _render(self, lazy: bool = False) -> list[tuple[EndpointCapture, str, str, bytes, list[_Pending]]]:
        """Take every buffer and render its files (CPU work: done on the loop thread, see flush_async).

        lazy: only group the records into files; the caller renders the bodies."""
        files = []
        for cap, taken in self._take_all():
            for variant, items in taken.items():
                for uri, group in cap.files(variant, items):
                    body = b"" if lazy else ("\n".join([cap.render(i) for i in group]) + "\n").encode()
                    files.append((cap, variant, uri, body, group))
        return files

    def _take_all(self) -> list[tuple[EndpointCapture, dict[str, list[_Pending]]]]:
        """Take every capture's buffers; a retired capture is taken for the last time (forgotten) when
        nothing is pending on it. Pending is read before taking: a request that finishes in between
        leaves its record for the next flush instead of in a forgotten buffer."""
        with self._registry_lock:
            caps = list(self.endpoints.values()) + self._retired
            self._retired = [cap for cap in self._retired if cap.pending > 0]
        return [(cap, cap.take()) for cap in caps]

    def _put_back(self, cap: EndpointCapture, variant: str, group: list[_Pending]) -> None:
        """Keep a failed batch for the next flush, re-retiring its capture if it was just forgotten."""
        cap.put_back(variant, group)
        with self._registry_lock:
            if self.endpoints.get(cap.endpoint_name) is not cap and cap not in self._retired:
                self._retired.append(cap)

    def _write(self, files: list[tuple[EndpointCapture, str, str, bytes, list[_Pending]]]) -> int:
        written = 0
        assert self.sink is not None
        for cap, variant, uri, body, group in files:
            try:
                self.sink.write(uri, body, cap.spec.kms_key_id)
            except Exception:  # retried at the next flush
                log.exception("data capture write to %s failed", uri)
                self._put_back(cap, variant, group)
                continue
            written += len(group)
        return written

    async def flush_async(self) -> int:
        """Render on the loop thread, write through the sink in a worker thread.

        Why split: Python-heavy work in a second thread of the front-end process makes the loop thread
        queue for the GIL after every syscall (a convoy that cost half the throughput); the sink's
        I/O, however, releases the GIL.
        """
        if self.sink is None:
            return 0
        async with self._async_lock:
            files = []
            for cap, variant, uri, _, group in self._render(lazy=True):
                chunks = []
                for i in range(0, len(group), 256):  # yield between chunks: no long pause of the loop
                    chunks.append(("\n".join([cap.render(item) for item in group[i : i + 256]]) + "\n").encode())
                    await asyncio.sleep(0)
                files.append((cap, variant, uri, b"".join(chunks), group))
            if not files:
                return 0
            return await asyncio.get_running_loop().run_in_executor(None, self._write, files)

    def flush(self) -> int:
        """Write everything buffered now, in the calling thread; returns the number of records written."""
        if self.sink is None:
            return 0
        with self._flush_lock:
            return self._write(self._render())

    async def close(self) -> None:
        """Stop the periodic flush (never in the middle of one: records taken are never dropped), flush."""
        async with self._async_lock:
            if self._task:
                self._task.cancel()
        await self.flush_async()
