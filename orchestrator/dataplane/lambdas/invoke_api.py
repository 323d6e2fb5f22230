"""The Lambda ``Invoke`` API on the control plane's port (replaces moto's Docker-backed handler).

``POST /2015-03-31/functions/{FunctionName}/invocations[?Qualifier=]`` with headers
``X-Amz-Invocation-Type`` (``RequestResponse`` default, ``Event``, ``DryRun``) and
``X-Amz-Log-Type: Tail``. Answers as Lambda does: 200 + result, or 200 + error JSON with
``X-Amz-Function-Error: Unhandled``; 202 for ``Event``; 204 for ``DryRun``; 404
``ResourceNotFoundException``; 413 ``RequestEntityTooLargeException`` above the payload quotas (6 MB
synchronous, 1 MB ``Event``); 429 ``TooManyRequestsException``; ``X-Amz-Executed-Version`` and
``x-amzn-RequestId`` always.
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs, unquote

from orchestrator.dataplane.lambdas.runtime import InvokeResult, LambdaRuntime

SYNC_PAYLOAD_LIMIT = 6 * 1024 * 1024  # bytes; Lambda's quota for a RequestResponse request
EVENT_PAYLOAD_LIMIT = 1024 * 1024  # bytes; Event requests (256 KB until Lambda raised it in October 2025)
INVOKE_PATH = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/invocations/?$")
_REGION_IN_AUTH = re.compile(r"Credential=[^/]+/\d{8}/(?P<region>[a-z0-9-]+)/lambda/")


def is_invoke(environ: dict[str, Any]) -> bool:
    return environ.get("REQUEST_METHOD") == "POST" and bool(INVOKE_PATH.match(environ.get("PATH_INFO", "")))


def _region(environ: dict[str, Any]) -> str | None:
    match = _REGION_IN_AUTH.search(environ.get("HTTP_AUTHORIZATION", ""))
    return match.group("region") if match else None


def _respond(
    start_response: Callable[..., Any], status: str, body: bytes, headers: list[tuple[str, str]]
) -> Iterable[bytes]:
    start_response(status, headers + [("Content-Length", str(len(body)))])
    return [body]


def _too_large(kind: str, size: int) -> str | None:
    """Lambda's message when a ``kind`` invocation request of ``size`` bytes exceeds its quota, else None."""
    if kind == "Event":
        if size > EVENT_PAYLOAD_LIMIT:
            return f"{size} byte payload is too large for the Event invocation type (limit {EVENT_PAYLOAD_LIMIT} bytes)"
    elif size > SYNC_PAYLOAD_LIMIT:
        return f"Request must be smaller than {SYNC_PAYLOAD_LIMIT} bytes for the InvokeFunction operation"
    return None


def make_app(runtime: LambdaRuntime) -> Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]:
    """WSGI app serving Invoke through ``runtime``."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        match = INVOKE_PATH.match(environ.get("PATH_INFO", ""))
        assert match is not None
        name = unquote(match.group("name"))
        query = parse_qs(environ.get("QUERY_STRING", ""))
        qualifier = (query.get("Qualifier") or [None])[0]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        payload = environ["wsgi.input"].read(length) if length else b""
        kind = environ.get("HTTP_X_AMZ_INVOCATION_TYPE", "RequestResponse")
        region = _region(environ)
        request_id = str(uuid.uuid4())
        base = [("x-amzn-RequestId", request_id), ("Content-Type", "application/json")]
        too_large = _too_large(kind, len(payload))
        if too_large is not None:
            body = json.dumps({"Type": "User", "message": too_large}).encode()
            headers = base + [("x-amzn-ErrorType", "RequestEntityTooLargeException")]
            return _respond(start_response, "413 Request Entity Too Large", body, headers)
        if payload:
            try:
                json.loads(payload)
            except ValueError:
                body = json.dumps({"Type": "User", "message": "Could not parse request body into json"}).encode()
                return _respond(
                    start_response,
                    "400 Bad Request",
                    body,
                    base + [("x-amzn-ErrorType", "InvalidRequestContentException")],
                )
        if kind in ("Event", "DryRun") and not runtime.exists(name, qualifier=qualifier, region=region):
            # Lambda checks the function (and qualifier) before it queues an event or answers a dry run.
            message = f"Function not found: {name}" + (f":{qualifier}" if qualifier else "")
            body = json.dumps({"Type": "User", "Message": message}).encode()
            return _respond(
                start_response, "404 Not Found", body, base + [("x-amzn-ErrorType", "ResourceNotFoundException")]
            )
        if kind == "Event":
            future = runtime.submit_event(name, payload, qualifier=qualifier, region=region, request_id=request_id)
            del future  # fire and forget, like Lambda's async queue
            return _respond(start_response, "202 Accepted", b"", base)
        if kind == "DryRun":
            return _respond(start_response, "204 No Content", b"", base)
        tail = environ.get("HTTP_X_AMZ_LOG_TYPE") == "Tail"
        result: InvokeResult = runtime.invoke_threadsafe(
            name, payload, qualifier=qualifier, region=region, request_id=request_id, tail=tail
        )
        if result.status == "not_found":
            return _respond(
                start_response,
                "404 Not Found",
                result.payload,
                base + [("x-amzn-ErrorType", "ResourceNotFoundException")],
            )
        if result.status == "throttled":
            return _respond(
                start_response,
                "429 Too Many Requests",
                result.payload,
                base + [("x-amzn-ErrorType", "TooManyRequestsException")],
            )
        if result.status == "failed":
            return _respond(
                start_response, "502 Bad Gateway", result.payload, base + [("x-amzn-ErrorType", "ServiceException")]
            )
        headers = base + [("X-Amz-Executed-Version", result.executed_version)]
        if result.function_error:
            headers.append(("X-Amz-Function-Error", result.function_error))
        if tail:
            headers.append(("X-Amz-Log-Result", base64.b64encode(result.log_tail.encode()).decode()))
        return _respond(start_response, "200 OK", result.payload, headers)

    return app
