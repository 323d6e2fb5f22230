"""`LocalSageMakerRuntime`: the SageMaker hosting data plane in one object, usable from any thread.

It runs an event loop (uvloop when available) in a background thread that owns the runtime API
server, the endpoint manager, the capture writer and the metrics publisher. The control plane's
observer calls the blocking methods from its own thread:

    rt = LocalSageMakerRuntime(capture_sink=S3CaptureSink(s3), metrics_sink=CloudWatchMetricsSink(cw))
    rt.start()                       # -> "http://127.0.0.1:<port>" (AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME)
    state = rt.apply(endpoint_spec)  # InService, or Failed with failure_reason
    rt.delete("my-endpoint")
    rt.stop()                        # flushes capture and metrics, stops every worker process

Code already running inside an asyncio loop can use EndpointManager + RuntimeServer directly.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import json
import logging
import threading
import time
from collections.abc import Coroutine
from dataclasses import asdict
from pathlib import Path
from typing import Any, Self, TypeVar

from orchestrator.dataplane.sagemaker.capture import CaptureSink, CaptureWriter
from orchestrator.dataplane.sagemaker.endpoint_manager import EndpointManager
from orchestrator.dataplane.sagemaker.metrics import MetricsPublisher, MetricsSink
from orchestrator.dataplane.sagemaker.model_data import S3Fetcher
from orchestrator.dataplane.sagemaker.runtime_api import RuntimeServer
from orchestrator.dataplane.sagemaker.spec import EndpointSpec, EndpointState, spec_from_dict

log = logging.getLogger(__name__)
T = TypeVar("T")


def new_event_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop

        return uvloop.new_event_loop()
    except ImportError:  # pragma: no cover - uvloop is part of the local extra
        return asyncio.new_event_loop()


class LocalSageMakerRuntime:
    """The local SageMaker data plane: InvokeEndpoint server + endpoints + capture + metrics."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        work_dir: Path | None = None,
        capture_sink: CaptureSink | None = None,
        capture_flush_interval: float = 1.0,
        metrics_sink: MetricsSink | None = None,
        metrics_interval: float = 60.0,
        fetch_s3: S3Fetcher | None = None,
        account_id: str = "123456789012",
        region: str = "us-east-1",
        load_timeout: float = 300.0,
        stop_grace: float = 30.0,
        drain_timeout: float = 30.0,
    ) -> None:
        self.host, self.port = host, port
        self._opts = {
            "work_dir": work_dir, "fetch_s3": fetch_s3, "load_timeout": load_timeout, "stop_grace": stop_grace,
            "drain_timeout": drain_timeout,
        }
        self.capture = CaptureWriter(capture_sink, capture_flush_interval)
        self.metrics_sink = metrics_sink
        self.metrics_interval = metrics_interval
        self.account_id, self.region = account_id, region
        self.loop: asyncio.AbstractEventLoop | None = None
        self.thread: threading.Thread | None = None
        self.manager: EndpointManager | None = None
        self.server: RuntimeServer | None = None
        self.metrics: MetricsPublisher | None = None
        self.url: str | None = None

    # -- lifecycle --------------------------------------------------------------------------------
    def start(self) -> str:
        """Start the loop thread and the HTTP server; returns the runtime's base URL."""
        if self.url:
            return self.url
        self.loop = new_event_loop()
        started = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(self.loop)
            self.loop.call_soon(started.set)  # type: ignore[union-attr]
            self.loop.run_forever()  # type: ignore[union-attr]

        self.thread = threading.Thread(target=run, name="sagemaker-dataplane", daemon=True)
        self.thread.start()
        started.wait()
        host, port = self._call(self._start())
        self.url = f"http://{host}:{port}"
        # a daemon thread still running uvloop while the interpreter finalizes can crash it: stop first
        atexit.register(self.stop)
        return self.url

    async def _start(self) -> tuple[str, int]:
        server_ref: list[RuntimeServer] = []
        self.manager = EndpointManager(capture=self.capture, arriving=lambda: server_ref[0].arriving, **self._opts)  # type: ignore[arg-type]
        self.server = RuntimeServer(self.manager, account_id=self.account_id, region=self.region)
        server_ref.append(self.server)
        self.server.control = self._control
        self.capture.start()
        self.metrics = MetricsPublisher(self.metrics_sink, self.manager.inventory, self.metrics_interval)
        self.metrics.start()
        return await self.server.start(self.host, self.port)

    def stop(self) -> None:
        """Stop serving: delete every endpoint (no process left), flush capture and metrics."""
        if self.loop is None:
            return
        atexit.unregister(self.stop)
        try:
            self._call(self._stop(), timeout=120)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            if self.thread:
                self.thread.join(10)
            self.loop.close()
            self.loop = None
            self.url = None

    async def _stop(self) -> None:
        """Stop accepting, let the endpoints answer what they hold, then publish and write the rest.

        Why this order: a request in flight when stop begins still counts and is still captured; the
        endpoints' counters and captures outlive them until their last request ended (see
        EndpointManager.inventory and CaptureWriter), so the final collect and flush see everything.
        The publish before the drain reads the instances' CPU and memory while their processes exist."""
        assert self.server and self.manager and self.metrics
        await self.server.close()
        await self.metrics.publish(at=time.time())
        await self.manager.close()
        await self.metrics.close()
        await self.capture.close()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- control-plane observer API ---------------------------------------------------------------
    def apply(self, spec: EndpointSpec, timeout: float | None = None) -> EndpointState:
        """Create or update an endpoint; blocks until it is InService or Failed."""
        assert self.manager is not None, "start() first"
        return self._call(self.manager.apply(spec), timeout)

    def apply_async(self, spec: EndpointSpec) -> concurrent.futures.Future[EndpointState]:
        """Like apply, without blocking (an observer inside a request handler of the control plane)."""
        assert self.manager is not None and self.loop is not None, "start() first"
        return asyncio.run_coroutine_threadsafe(self.manager.apply(spec), self.loop)

    def delete(self, name: str, timeout: float | None = None) -> None:
        assert self.manager is not None, "start() first"
        self._call(self.manager.delete(name), timeout)

    def describe(self, name: str) -> EndpointState | None:
        assert self.manager is not None, "start() first"
        return self._call(self._describe(name))

    def status_document(self) -> dict[str, Any]:
        """EndpointManager.status_document(), read on the loop thread."""
        assert self.manager is not None, "start() first"
        return self._call(self._status_document(), 10)

    async def _status_document(self) -> dict[str, Any]:
        assert self.manager is not None
        return self.manager.status_document()

    async def _describe(self, name: str) -> EndpointState | None:
        assert self.manager is not None
        return self.manager.describe(name)

    def flush(self) -> None:
        """Write buffered capture records and publish the current metrics now (tests, shutdown)."""
        assert self.metrics is not None
        self._call(self._flush())

    async def _flush(self) -> None:
        assert self.metrics is not None
        await self.metrics.publish()
        await self.capture.flush_async()

    async def _control(self, method: str, path: str, body: bytes) -> tuple[int, bytes]:
        """/_dataplane/ API (used by RemoteSageMakerRuntime when this runtime has its own process):
        POST endpoints (spec JSON) -> state; GET endpoints -> status document; GET|DELETE endpoints/<name>;
        POST flush."""
        assert self.manager is not None
        parts = path.strip("/").split("/")[1:]
        if parts == ["endpoints"] and method == "GET":
            return 200, json.dumps(self.manager.status_document()).encode()
        if parts == ["endpoints"] and method == "POST":
            state = await self.manager.apply(spec_from_dict(json.loads(body)))
            return 200, json.dumps(asdict(state)).encode()
        if len(parts) == 2 and parts[0] == "endpoints":
            if method == "DELETE":
                await self.manager.delete(parts[1])
                return 200, b"{}"
            if method == "GET":
                described = self.manager.describe(parts[1])
                return (200, json.dumps(asdict(described)).encode()) if described else (404, b'{"message": "not found"}')
        if parts == ["flush"] and method == "POST":
            await self._flush()
            return 200, b"{}"
        return 404, json.dumps({"message": f"no control route {method} {path}"}).encode()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run a coroutine on the data plane's loop (tests and tools)."""
        return self._call(coro, timeout)

    def _call(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        assert self.loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)
