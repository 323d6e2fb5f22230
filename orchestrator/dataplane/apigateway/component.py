"""API Gateway execution as a component of the embedded service.

Spec: ``orchestrator.dataplane.apigateway.component:factory``; start it after
``orchestrator.dataplane.lambdas.component:factory`` (it invokes functions through that runtime and
runs on its event loop).

Two doors to the same :class:`~orchestrator.dataplane.apigateway.gateway.Gateway`:

* the fast one: an asyncio/httptools server on ``127.0.0.1:<port>`` (``ORCHESTRATOR_APIGW_PORT``, or a
  free port), advertised in the health document as ``invoke_base_url``;
* the control plane's port: requests whose path starts with ``/restapis/<api>/<stage>/_user_request_/``
  are claimed with ``ctx.add_route``, so ``${aws_endpoint_url}/restapis/...`` (what the api-hosting
  stack publishes as ``invoke_url`` on the embedded target) works without knowing the fast port.

Metrics and stage access logs are buffered by the gateway and written into moto every
``ORCHESTRATOR_DATAPLANE_FLUSH_SECONDS`` by one thread; at stop the fast port stops accepting, the
requests still being answered are waited for (up to ``DRAIN_TIMEOUT_S``), then both are flushed once more.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable, Iterable
from typing import Any

from orchestrator.dataplane.apigateway.gateway import USER_REQUEST, Gateway, reason, split_invoke_path
from orchestrator.dataplane.apigateway.http_server import serve
from orchestrator.dataplane.apigateway.proxy_event import IncomingRequest, ProxyResult
from orchestrator.dataplane.lambdas.cloudwatch import FLUSH_INTERVAL_S, Flusher, write_logs, write_metrics
from orchestrator.dataplane.lambdas.runtime import LambdaRuntime, active_runtime

log = logging.getLogger(__name__)

PORT_ENV = "ORCHESTRATOR_APIGW_PORT"
DRAIN_TIMEOUT_S = 5.0  # at stop, how long requests being answered may still finish (and be logged)
_MISSING_TOKEN = ProxyResult(
    403,
    [("Content-Type", "application/json"), ("x-amzn-ErrorType", "MissingAuthenticationTokenException")],
    b'{"message":"Missing Authentication Token"}',
)


class ApiGatewayExecutionComponent:
    """Serves REST APIs of the control plane (see module docstring)."""

    name = "apigateway-execution"

    def __init__(self, port: int | None = None, flush_interval: float = FLUSH_INTERVAL_S) -> None:
        self.port = port if port is not None else int(os.environ.get(PORT_ENV, "0"))
        self.flush_interval = flush_interval
        self.gateway: Gateway | None = None
        self.runtime: LambdaRuntime | None = None
        self._server: Any = None
        self._flusher: Flusher | None = None
        self.host = "127.0.0.1"
        self.dropped_access_log_events = 0

    def start(self, ctx: Any) -> None:
        runtime = active_runtime()
        if runtime is None or runtime.loop is None:
            raise RuntimeError("apigateway-execution needs the lambda-execution component started before it")
        self.runtime = runtime
        region = os.environ.get("AWS_REGION", "us-east-1")
        self.gateway = Gateway(runtime, region=region, domain=f"{ctx.host}")
        self._server = runtime.call(serve(self.handle, reason, self.host, self.port), 10)
        self.port = int(self._server.sockets[0].getsockname()[1])
        self._flusher = Flusher("apigateway-telemetry", self.flush, self.flush_interval)
        self._flusher.start()
        ctx.add_route(self._is_invoke, self._wsgi)

    def flush(self) -> None:
        """Write the buffered metrics and access log events into moto (the flusher thread calls this)."""
        gateway = self.gateway
        assert gateway is not None
        write_metrics(gateway.account_id, gateway.region, gateway.metrics)
        dropped = write_logs(gateway.access_logs.buffer.drain(), create_groups=False)
        if dropped:
            self.dropped_access_log_events += dropped
            log.warning("%d access log events dropped: their destination log group does not exist", dropped)

    async def handle(self, request: IncomingRequest) -> ProxyResult:
        """Fast-port entry: full path ``/restapis/<api>/<stage>/_user_request_/<path>``."""
        assert self.gateway is not None
        target = split_invoke_path(request.path)
        if target is None:
            return _MISSING_TOKEN
        api_id, stage, path = target
        inner = IncomingRequest(request.method, path, request.query, request.headers, request.body, request.source_ip)
        return await self.gateway.handle(api_id, stage, inner)

    # -- the control plane's port ------------------------------------------------------------------
    @staticmethod
    def _is_invoke(environ: dict[str, Any]) -> bool:
        path = environ.get("PATH_INFO", "")
        return path.startswith("/restapis/") and path.split("/", 5)[4:5] == [USER_REQUEST]

    def _wsgi(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        assert self.runtime is not None
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        headers = [
            (key[5:].replace("_", "-").title(), str(value)) for key, value in environ.items() if key.startswith("HTTP_")
        ]
        if environ.get("CONTENT_TYPE"):
            headers.append(("Content-Type", environ["CONTENT_TYPE"]))
        request = IncomingRequest(
            environ.get("REQUEST_METHOD", "GET"),
            environ.get("PATH_INFO", "/"),
            environ.get("QUERY_STRING", ""),
            headers,
            body,
            environ.get("REMOTE_ADDR", "127.0.0.1"),
        )
        result = self.runtime.call(self.handle(request), 60)
        start_response(
            f"{result.status} {reason(result.status)}", [*result.headers, ("Content-Length", str(len(result.body)))]
        )
        return [result.body]

    def stop(self) -> None:
        if self._server is not None and self.runtime is not None and self.runtime.loop is not None:
            server, gateway = self._server, self.gateway

            async def close() -> None:
                server.close()
                deadline = time.monotonic() + DRAIN_TIMEOUT_S
                while gateway is not None and gateway.in_flight and time.monotonic() < deadline:
                    await asyncio.sleep(0.01)

            try:
                self.runtime.call(close(), DRAIN_TIMEOUT_S + 5)
            except Exception:
                log.exception("could not close the API Gateway server")
        if self._flusher is not None:
            self._flusher.stop()

    def health(self) -> dict[str, Any]:
        return {
            "ok": self._server is not None,
            "port": self.port,
            "invoke_base_url": f"http://{self.host}:{self.port}",
            "invoke_url_format": f"http://{self.host}:{self.port}/restapis/<api_id>/<stage>/_user_request_/<path>",
            "requests": self.gateway.requests if self.gateway else 0,
            "access_log_events": self.gateway.access_logs.written if self.gateway else 0,
            "access_log_events_dropped": self.dropped_access_log_events,
        }


def factory() -> ApiGatewayExecutionComponent:
    return ApiGatewayExecutionComponent()
