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
on AWS); one for an unknown API or stage belongs to no API and is not counted.

A stage serves what its deployment captured (see :mod:`.routing`). A stage with ``accessLogSettings``
gets one access log event per request counted above (see :mod:`.access_log`), with the same
``requestId`` as the proxy event's ``requestContext`` and the ``x-amzn-RequestId`` header, and the
same ``extendedRequestId`` as the ``x-amz-apigw-id`` header.
"""

from __future__ import annotations

import asyncio
import base64
import json
import random
import re
import time
from dataclasses import dataclass
from typing import Any

from orchestrator.dataplane.apigateway.access_log import AccessLogWriter, AccessRecord
from orchestrator.dataplane.apigateway.proxy_event import (
    IncomingRequest,
    MalformedProxyResult,
    ProxyResult,
    build_event,
    parse_result,
)
from orchestrator.dataplane.apigateway.routing import Route, find_stage, resolve
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
# $context.error.responseType: the gateway response type of each of our own answers
_RESPONSE_TYPES = {
    "Missing Authentication Token": "MISSING_AUTHENTICATION_TOKEN",
    "Forbidden": "INVALID_API_KEY",
    "Too Many Requests": "THROTTLED",
    "Limit Exceeded": "QUOTA_EXCEEDED",
    "Internal server error": "DEFAULT_5XX",
    "Endpoint request timed out": "INTEGRATION_TIMEOUT",
}
# $context.integrationStatus: Lambda's own HTTP status for the Invoke call (a function error is a 200)
_INVOKE_STATUS = {"ok": 200, "error": 200, "throttled": 429, "not_found": 404, "failed": 502}


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


def new_extended_request_id() -> str:
    """An id shaped like API Gateway's ``extendedRequestId`` (``x-amz-apigw-id``, e.g. ``Sca3bFUQgi0EYeA=``)."""
    return base64.b64encode(random.getrandbits(88).to_bytes(11, "big")).decode()


@dataclass(slots=True)
class Exchange:
    """What the gateway did with one request: the answer, and what its metrics and access log need."""

    result: ProxyResult
    error: str | None = None  # API Gateway's own message, when it answered itself
    integration_ms: float | None = None
    invocation: InvokeResult | None = None
    function_status: int | None = None  # the statusCode of a valid proxy result
    api_key: Any = None


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
        self.access_logs = AccessLogWriter()
        self.requests = 0
        self.in_flight = 0  # requests not answered yet (stop waits for them before the last flush)
        self._abandoned: set[asyncio.Task[InvokeResult]] = set()  # invocations past the integration timeout

    async def handle(self, api_id: str, stage: str, request: IncomingRequest) -> ProxyResult:
        """Answer ``request`` (path below the stage) for ``api_id``/``stage``."""
        started = time.perf_counter()
        epoch = time.time()
        request_id = new_request_id()
        extended_id = new_extended_request_id()
        self.requests += 1
        deployed = find_stage(self.account_id, self.region, api_id, stage)
        if deployed is None:  # no such API or stage: nobody's request (no metrics, no access log)
            return self._error(403, "Missing Authentication Token", request_id, extended_id)
        self.in_flight += 1
        try:
            route = resolve(deployed, request.method, request.path)
            if route is None:  # a deployed API's stage, no route: still its 4XX, in its metrics and logs
                exchange = self._refuse(403, "Missing Authentication Token", request_id, extended_id)
            else:
                decision = self.usage.check(
                    route.backend, api_id, stage, dict(request.headers), bool(route.method.api_key_required)
                )
                if decision.status:
                    exchange = self._refuse(decision.status, decision.message, request_id, extended_id)
                else:
                    exchange = await self._integrate(route, request, request_id, extended_id, epoch, decision.api_key)
                exchange.api_key = decision.api_key
            result = exchange.result
            self._count(deployed.api.name, stage, result, started, exchange.integration_ms)
            settings = deployed.stage.access_log_settings
            if settings:
                record = AccessRecord(
                    request_id=request_id,
                    extended_request_id=extended_id,
                    epoch=epoch,
                    http_method=request.method,
                    path=request.path,
                    source_ip=request.source_ip,
                    user_agent=next((v for k, v in request.headers if k.lower() == "user-agent"), None),
                    api_id=api_id,
                    stage=stage,
                    account_id=self.account_id,
                    domain=self.domain,
                )
                self._describe(record, route, exchange, started)
                self.access_logs.write(settings, record)
            return result
        finally:
            self.in_flight -= 1

    @staticmethod
    def _describe(record: AccessRecord, route: Route | None, exchange: Exchange, started: float) -> None:
        """Fill ``record`` with what the request did (the access log's ``$context`` values)."""
        result = exchange.result
        record.status = result.status
        record.response_length = len(result.body)
        record.response_latency_ms = (time.perf_counter() - started) * 1000
        if route is not None:
            record.resource_id = route.resource.id
            record.resource_path = route.resource_path
        if exchange.api_key is not None:
            record.api_key_id = exchange.api_key.id
        record.integration_latency_ms = exchange.integration_ms
        if exchange.invocation is not None:
            record.integration_status = _INVOKE_STATUS.get(exchange.invocation.status)
            record.integration_request_id = exchange.invocation.request_id
        record.integration_function_status = exchange.function_status
        record.error_message = exchange.error
        record.error_response_type = _RESPONSE_TYPES.get(exchange.error) if exchange.error else None

    def _refuse(self, status: int, message: str, request_id: str, extended_id: str) -> Exchange:
        return Exchange(self._error(status, message, request_id, extended_id), message)

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
        self, route: Route, request: IncomingRequest, request_id: str, extended_id: str, epoch: float, api_key: Any
    ) -> Exchange:
        integration = route.integration
        target = lambda_target(integration.uri) if integration is not None else None
        if integration is None or integration.integration_type != "AWS_PROXY" or target is None:
            return self._refuse(500, "Internal server error", request_id, extended_id)
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
            extended_request_id=extended_id,
            api_key=api_key.value if api_key is not None else None,
            api_key_id=api_key.id if api_key is not None else None,
            domain=self.domain,
            now=epoch,
        )
        timeout_s = INTEGRATION_TIMEOUT_S
        if getattr(integration, "timeout_in_millis", None):
            timeout_s = max(0.05, int(integration.timeout_in_millis) / 1000)
        started = time.perf_counter()
        outcome = await self._invoke_within(function_arn, json.dumps(event).encode(), region, timeout_s)
        integration_ms = (time.perf_counter() - started) * 1000
        if outcome is None:
            exchange = self._refuse(504, "Endpoint request timed out", request_id, extended_id)
        elif outcome.status != "ok":
            exchange = self._refuse(502, "Internal server error", request_id, extended_id)
        else:
            try:
                result = parse_result(outcome.payload)
            except MalformedProxyResult:
                exchange = self._refuse(502, "Internal server error", request_id, extended_id)
            else:
                headers = result.headers
                if not any(name.lower() == "content-type" for name, _ in headers):
                    headers = headers + [("Content-Type", "application/json")]
                headers = headers + [
                    ("x-amzn-RequestId", request_id),
                    ("x-amz-apigw-id", extended_id),
                    ("X-Amzn-Trace-Id", f"Root=1-{request_id[:8]}"),
                ]
                exchange = Exchange(ProxyResult(result.status, headers, result.body), function_status=result.status)
        exchange.integration_ms = integration_ms
        exchange.invocation = outcome
        return exchange

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
    def _error(status: int, message: str, request_id: str, extended_id: str) -> ProxyResult:
        body = json.dumps({"message": message}).encode()
        headers = [
            ("Content-Type", "application/json"),
            ("x-amzn-RequestId", request_id),
            ("x-amz-apigw-id", extended_id),
            ("x-amzn-ErrorType", _ERROR_TYPES.get(message, "UnknownError")),
        ]
        return ProxyResult(status, headers, body)
