"""One REST API request, end to end: route, API key and usage plan, Lambda proxy, metrics.

Invoke URL: ``http://127.0.0.1:<port>/restapis/<api_id>/<stage>/_user_request_/<path>`` on either
the fast data-plane port or the control plane's port (see :mod:`.component`). What API Gateway
answers itself (all JSON ``{"message": ...}``, with ``x-amzn-RequestId`` and ``x-amzn-ErrorType``):

* no API/stage/resource/method: 403 ``Missing Authentication Token``
* API key missing/wrong/not in a plan for this stage: 403 ``Forbidden``
* usage plan throttle / quota: 429 ``Too Many Requests`` / ``Limit Exceeded``
* integration not AWS_PROXY to a Lambda ARN: 500 ``Internal server error`` (only proxy is served)
* function error, throttled or missing function, malformed result: 502 ``Internal server error``
* no answer within the integration timeout (29 s, or the integration's own): 504
  ``Endpoint request timed out``. The timer is the gateway's own, counted from the call to Lambda (a
  cold start included); the invocation is abandoned, not stopped: it runs to completion, as on AWS.

``AWS/ApiGateway`` metrics per request, dims ``ApiName`` and ``ApiName`` + ``Stage``: ``Count``,
``4XXError``, ``5XXError`` (0 or 1), ``Latency`` and ``IntegrationLatency`` (ms). A request to a
deployed stage that matches no resource or method counts too (a 4XX of that API, as scanners show
on AWS); one for an unknown API or stage belongs to no API and is not counted. A stage serves what
its deployment captured (see :mod:`.routing`).
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from typing import Any

from orchestrator.dataplane.apigateway.proxy_event import (
    IncomingRequest,
    MalformedProxyResult,
    ProxyResult,
    build_event,
    parse_result,
)
from orchestrator.dataplane.apigateway.routing import find_stage, resolve
from orchestrator.dataplane.apigateway.usage_plans import UsagePlanEnforcer
from orchestrator.dataplane.lambdas.cloudwatch import MetricBuffer
from orchestrator.dataplane.lambdas.runtime import InvokeResult, LambdaRuntime, new_request_id

NAMESPACE = "AWS/ApiGateway"
INTEGRATION_TIMEOUT_S = 29.0
USER_REQUEST = "_user_request_"
_LAMBDA_URI = re.compile(
    r"arn:[^:]+:apigateway:(?P<region>[^:]+):lambda:path/2015-03-31/functions/(?P<fn>.+?)/invocations"
)
_UNITS = {
    "Count": "Count",
    "4XXError": "Count",
    "5XXError": "Count",
    "Latency": "Milliseconds",
    "IntegrationLatency": "Milliseconds",
}
_REASONS = {
    200: "OK",
    201: "Created",
    202: "Accepted",
    204: "No Content",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    413: "Payload Too Large",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}
_ERROR_TYPES = {
    "Missing Authentication Token": "MissingAuthenticationTokenException",
    "Forbidden": "ForbiddenException",
    "Too Many Requests": "TooManyRequestsException",
    "Limit Exceeded": "LimitExceededException",
    "Internal server error": "InternalServerErrorException",
    "Endpoint request timed out": "InternalServerErrorException",
}


def reason(status: int) -> str:
    return _REASONS.get(status, "Unknown")


def split_invoke_path(path: str) -> tuple[str, str, str] | None:
    """``/restapis/<api>/<stage>/_user_request_/<rest>`` -> (api, stage, ``/<rest>``)."""
    parts = path.split("/", 5)
    if len(parts) < 5 or parts[1] != "restapis" or parts[4] != USER_REQUEST:
        return None
    return parts[2], parts[3], "/" + (parts[5] if len(parts) > 5 else "")


def lambda_target(uri: str) -> tuple[str, str] | None:
    """(function ARN, region) of an AWS_PROXY integration URI, or None."""
    match = _LAMBDA_URI.match(uri or "")
    return (match.group("fn"), match.group("region")) if match else None


class Gateway:
    """Serves every REST API of the control plane (state is read from moto per request)."""

    def __init__(
        self,
        runtime: LambdaRuntime,
        account_id: str = "123456789012",
        region: str = "us-east-1",
        domain: str = "127.0.0.1",
    ) -> None:
        self.runtime = runtime
        self.account_id = account_id
        self.region = region
        self.domain = domain
        self.usage = UsagePlanEnforcer()
        self.metrics = MetricBuffer(NAMESPACE, dict(_UNITS))
        self.requests = 0
        self._abandoned: set[asyncio.Task[InvokeResult]] = set()  # invocations past the integration timeout

    async def handle(self, api_id: str, stage: str, request: IncomingRequest) -> ProxyResult:
        """Answer ``request`` (path below the stage) for ``api_id``/``stage``."""
        started = time.perf_counter()
        request_id = new_request_id()
        self.requests += 1
        integration_ms: float | None = None
        deployed = find_stage(self.account_id, self.region, api_id, stage)
        route = resolve(deployed, request.method, request.path) if deployed is not None else None
        if route is None:
            result = self._error(403, "Missing Authentication Token", request_id)
            if deployed is not None:  # a deployed API's stage, no route: still counted as its 4XX
                self._count(deployed.api.name, stage, result, started, None)
            return result
        headers_map = dict(request.headers)
        decision = self.usage.check(route.backend, api_id, stage, headers_map, bool(route.method.api_key_required))
        if decision.status:
            result = self._error(decision.status, decision.message, request_id)
        else:
            result, integration_ms = await self._integrate(route, request, request_id, decision.api_key)
        self._count(route.api.name, stage, result, started, integration_ms)
        return result

    def _count(self, api_name: str, stage: str, result: ProxyResult, started: float, integration_ms: float | None) -> None:
        """AWS/ApiGateway metrics of one request, per ApiName and per ApiName + Stage."""
        latency_ms = (time.perf_counter() - started) * 1000
        for dims in ((("ApiName", api_name),), (("ApiName", api_name), ("Stage", stage))):
            self.metrics.add("Count", dims, 1)
            self.metrics.add("4XXError", dims, 1 if 400 <= result.status < 500 else 0)
            self.metrics.add("5XXError", dims, 1 if result.status >= 500 else 0)
            self.metrics.add("Latency", dims, latency_ms)
            if integration_ms is not None:
                self.metrics.add("IntegrationLatency", dims, integration_ms)

    async def _integrate(
        self, route: Any, request: IncomingRequest, request_id: str, api_key: Any
    ) -> tuple[ProxyResult, float | None]:
        integration = route.integration
        target = lambda_target(integration.uri) if integration is not None else None
        if integration is None or integration.integration_type != "AWS_PROXY" or target is None:
            return self._error(500, "Internal server error", request_id), None
        function_arn, region = target
        event = build_event(
            request,
            resource_path=route.resource_path,
            path_parameters=route.path_parameters,
            stage=route.stage.name,
            stage_variables=route.stage.variables,
            api_id=route.api.id,
            account_id=self.account_id,
            resource_id=route.resource.id,
            request_id=request_id,
            api_key=api_key.value if api_key is not None else None,
            api_key_id=api_key.id if api_key is not None else None,
            domain=self.domain,
        )
        timeout_s = INTEGRATION_TIMEOUT_S
        if getattr(integration, "timeout_in_millis", None):
            timeout_s = max(0.05, int(integration.timeout_in_millis) / 1000)
        started = time.perf_counter()
        outcome = await self._invoke_within(function_arn, json.dumps(event).encode(), region, timeout_s)
        integration_ms = (time.perf_counter() - started) * 1000
        if outcome is None:
            return self._error(504, "Endpoint request timed out", request_id), integration_ms
        if outcome.status != "ok":
            return self._error(502, "Internal server error", request_id), integration_ms
        try:
            result = parse_result(outcome.payload)
        except MalformedProxyResult:
            return self._error(502, "Internal server error", request_id), integration_ms
        headers = result.headers
        if not any(name.lower() == "content-type" for name, _ in headers):
            headers = headers + [("Content-Type", "application/json")]
        headers = headers + [("x-amzn-RequestId", request_id), ("X-Amzn-Trace-Id", f"Root=1-{request_id[:8]}")]
        return ProxyResult(result.status, headers, result.body), integration_ms

    async def _invoke_within(
        self, function_arn: str, payload: bytes, region: str, timeout_s: float
    ) -> InvokeResult | None:
        """The invocation's result, or None if it is not there within ``timeout_s`` (the integration timeout).

        Why a task and a timer of our own rather than a timeout inside the invocation: on AWS the gateway
        stops waiting while Lambda lets the invocation finish (logs, metrics, side effects, no error), and
        the gateway's clock also runs while a cold worker starts. One task, one future and one timer
        handle per request; no cancellation.
        """
        loop = asyncio.get_running_loop()
        task = loop.create_task(self.runtime.invoke(function_arn, payload, region=region))
        answered: asyncio.Future[None] = loop.create_future()

        def wake(_: object = None) -> None:
            if not answered.done():
                answered.set_result(None)

        task.add_done_callback(wake)
        timer = loop.call_later(timeout_s, wake)
        try:
            await answered
        finally:
            timer.cancel()
        if task.done():
            return task.result()
        self._abandoned.add(task)  # the loop keeps only weak references to tasks
        task.add_done_callback(self._abandoned.discard)
        return None

    @staticmethod
    def _error(status: int, message: str, request_id: str) -> ProxyResult:
        body = json.dumps({"message": message}).encode()
        headers = [
            ("Content-Type", "application/json"),
            ("x-amzn-RequestId", request_id),
            ("x-amzn-ErrorType", _ERROR_TYPES.get(message, "UnknownError")),
        ]
        return ProxyResult(status, headers, body)
