"""Stage access logs: one CloudWatch Logs event per request, in the stage's own format.

A stage with ``accessLogSettings`` (``destinationArn`` = a log group ARN, ``format`` = a line with
``$context`` variables) gets one event per request API Gateway answered on that stage, including
what the gateway refused itself (403 no route / no key, 429 throttle or quota, 5xx of the
integration); a request for an unknown API or stage belongs to no stage and is not logged.

Rendering follows API Gateway: variables are substituted as plain text (no escaping: that is what
``$context.error.messageString`` is for); a variable without a value for this request, or one this
gateway does not know (authorizers, WAF, mutual TLS, X-Ray...), renders as ``-``. Times:
``requestTime`` is CLF (``dd/MMM/yyyy:HH:mm:ss +0000``), ``requestTimeEpoch`` milliseconds, latencies
whole milliseconds. ``$context.identity.apiKey`` renders as ``-``: the key is a secret and is never
written locally (AWS would write it).

Events go to a :class:`~orchestrator.dataplane.lambdas.cloudwatch.LogBuffer` (the request path only
appends) and are flushed with the gateway's metrics; the log group must exist (as on AWS, where
API Gateway does not create the destination group): events for a missing group are dropped. Streams:
API Gateway writes to streams with opaque 32-hex-digit names, one per gateway host; locally one per
gateway (service run).
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from orchestrator.dataplane.lambdas.cloudwatch import LogBuffer

MISSING = "-"
_VARIABLE = re.compile(r"\$context\.([A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*)")
_LOG_GROUP_ARN = re.compile(r"arn:[^:]+:logs:(?P<region>[^:]+):(?P<account>[^:]+):log-group:(?P<group>[^:]+)(?::\*)?$")


@dataclass(slots=True)
class AccessRecord:
    """What one request did, in the terms of the ``$context`` variables (None: no value)."""

    request_id: str
    extended_request_id: str
    epoch: float  # request time, seconds
    http_method: str
    path: str  # below the stage
    source_ip: str
    user_agent: str | None
    api_id: str
    stage: str
    account_id: str
    domain: str
    status: int = 0
    response_length: int = 0
    response_latency_ms: float | None = None
    resource_id: str | None = None
    resource_path: str | None = None
    api_key_id: str | None = None
    integration_latency_ms: float | None = None
    integration_status: int | None = None  # Lambda's own answer to Invoke (200 even for a function error)
    integration_function_status: int | None = None  # the statusCode the function returned
    integration_request_id: str | None = None  # the Lambda invocation's request id
    error_message: str | None = None
    error_response_type: str | None = None


def _ms(value: float | None) -> int | None:
    return None if value is None else round(value)


def _clf_time(record: AccessRecord) -> str:
    return time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(record.epoch))


_VARIABLES: dict[str, Callable[[AccessRecord], Any]] = {
    "accountId": lambda r: r.account_id,
    "apiId": lambda r: r.api_id,
    "awsEndpointRequestId": lambda r: r.integration_request_id,
    "domainName": lambda r: r.domain,
    "domainPrefix": lambda r: r.api_id,
    "error.message": lambda r: r.error_message,
    "error.messageString": lambda r: None if r.error_message is None else f'"{r.error_message}"',
    "error.responseType": lambda r: r.error_response_type,
    "extendedRequestId": lambda r: r.extended_request_id,
    "httpMethod": lambda r: r.http_method,
    "identity.apiKeyId": lambda r: r.api_key_id,
    "identity.sourceIp": lambda r: r.source_ip,
    "identity.userAgent": lambda r: r.user_agent,
    "integration.integrationStatus": lambda r: r.integration_status,
    "integration.latency": lambda r: _ms(r.integration_latency_ms),
    "integration.requestId": lambda r: r.integration_request_id,
    "integration.status": lambda r: r.integration_function_status,
    "integrationLatency": lambda r: _ms(r.integration_latency_ms),
    "integrationStatus": lambda r: r.integration_status,
    "path": lambda r: f"/{r.stage}{r.path}",
    "protocol": lambda r: "HTTP/1.1",
    "requestId": lambda r: r.request_id,
    "requestTime": _clf_time,
    "requestTimeEpoch": lambda r: int(r.epoch * 1000),
    "resourceId": lambda r: r.resource_id,
    "resourcePath": lambda r: r.resource_path,
    "responseLatency": lambda r: _ms(r.response_latency_ms),
    "responseLength": lambda r: r.response_length,
    "stage": lambda r: r.stage,
    "status": lambda r: r.status,
}
SUPPORTED_VARIABLES = frozenset(_VARIABLES)


def _unknown(_: AccessRecord) -> None:
    return None


class AccessLogFormat:
    """A stage's ``format``, split once into literal text and variable lookups."""

    __slots__ = ("_parts", "_tail")

    def __init__(self, text: str) -> None:
        parts: list[tuple[str, Callable[[AccessRecord], Any]]] = []
        position = 0
        for match in _VARIABLE.finditer(text):
            parts.append((text[position : match.start()], _VARIABLES.get(match.group(1), _unknown)))
            position = match.end()
        self._parts = tuple(parts)
        self._tail = text[position:]

    def render(self, record: AccessRecord) -> str:
        out: list[str] = []
        for literal, lookup in self._parts:
            value = lookup(record)
            out.append(literal)
            out.append(MISSING if value is None else str(value))
        out.append(self._tail)
        return "".join(out)


def log_group_of(arn: str) -> tuple[str, str, str] | None:
    """(account, region, group name) of a CloudWatch Logs log group ARN (``:*`` allowed), else None
    (a Kinesis Data Firehose destination, not emulated)."""
    match = _LOG_GROUP_ARN.match(arn or "")
    return (match.group("account"), match.group("region"), match.group("group")) if match else None


class AccessLogWriter:
    """Renders and buffers the access log events of every stage (state: parsed formats and ARNs)."""

    def __init__(self, buffer: LogBuffer | None = None) -> None:
        self.buffer = buffer or LogBuffer()
        self.stream = uuid.uuid4().hex
        self.written = 0
        self._formats: dict[str, AccessLogFormat] = {}
        self._groups: dict[str, tuple[str, str, str] | None] = {}

    def write(self, settings: dict[str, Any] | None, record: AccessRecord) -> None:
        """Append ``record``'s event if ``settings`` (a stage's ``accessLogSettings``) ask for one."""
        if not settings:
            return
        arn, text = settings.get("destinationArn"), settings.get("format")
        if not arn or not text:
            return
        target = self._groups.get(arn)
        if target is None and arn not in self._groups:
            target = self._groups[arn] = log_group_of(arn)
        if target is None:
            return
        form = self._formats.get(text)
        if form is None:
            form = self._formats[text] = AccessLogFormat(text)
        account, region, group = target
        self.buffer.add(account, region, group, self.stream, [(int(record.epoch * 1000), form.render(record))])
        self.written += 1
