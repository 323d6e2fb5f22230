"""The Lambda proxy integration contract of REST APIs (payload format 1.0), both directions.

:func:`build_event` makes the event API Gateway sends to the function; :func:`parse_result` checks
what the function returned the way API Gateway does: a JSON object with only ``statusCode``,
``headers``, ``multiValueHeaders``, ``body`` (a string) and ``isBase64Encoded``; anything else is a
"Malformed Lambda proxy response", answered 502.
"""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

_ALLOWED_RESULT_KEYS = frozenset({"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded", "cookies"})


@dataclass(frozen=True)
class IncomingRequest:
    """An HTTP request as the gateway sees it (path below the stage, raw query string)."""

    method: str
    path: str
    query: str
    headers: list[tuple[str, str]]
    body: bytes
    source_ip: str = "127.0.0.1"


@dataclass(frozen=True)
class ProxyResult:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


class MalformedProxyResult(ValueError):
    """The function's answer is not a valid proxy result (API Gateway: 502)."""


def _multi(pairs: list[tuple[str, str]]) -> tuple[dict[str, str] | None, dict[str, list[str]] | None]:
    if not pairs:
        return None, None
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for name, value in pairs:
        single[name] = value  # API Gateway keeps the last value in the single-value map
        multi.setdefault(name, []).append(value)
    return single, multi


def build_event(
    request: IncomingRequest,
    *,
    resource_path: str,
    path_parameters: dict[str, str],
    stage: str,
    stage_variables: dict[str, str] | None,
    api_id: str,
    account_id: str,
    resource_id: str,
    request_id: str,
    api_key: str | None,
    api_key_id: str | None,
    domain: str,
    extended_request_id: str | None = None,
    now: float | None = None,
) -> dict[str, Any]:
    """The proxy event of ``request``; ``now`` is the request time (epoch seconds; default: now) and
    ``extended_request_id`` the gateway's own id of the request (default: ``request_id``)."""
    headers, multi_headers = _multi(request.headers)
    query, multi_query = _multi(parse_qsl(request.query, keep_blank_values=True))
    user_agent = next((v for k, v in request.headers if k.lower() == "user-agent"), None)
    body: str | None = None
    is_base64 = False
    if request.body:
        try:
            body = request.body.decode("utf-8")
        except UnicodeDecodeError:
            body, is_base64 = base64.b64encode(request.body).decode(), True
    if now is None:
        now = time.time()
    return {
        "resource": resource_path,
        "path": request.path,
        "httpMethod": request.method,
        "headers": headers,
        "multiValueHeaders": multi_headers,
        "queryStringParameters": query,
        "multiValueQueryStringParameters": multi_query,
        "pathParameters": path_parameters or None,
        "stageVariables": stage_variables or None,
        "requestContext": {
            "resourceId": resource_id,
            "resourcePath": resource_path,
            "httpMethod": request.method,
            "extendedRequestId": extended_request_id or request_id,
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "path": f"/{stage}{request.path}",
            "accountId": account_id,
            "protocol": "HTTP/1.1",
            "stage": stage,
            "domainPrefix": api_id,
            "requestTimeEpoch": int(now * 1000),
            "requestId": request_id,
            "identity": {
                "cognitoIdentityPoolId": None,
                "accountId": None,
                "cognitoIdentityId": None,
                "caller": None,
                "apiKey": api_key,
                "apiKeyId": api_key_id,
                "sourceIp": request.source_ip,
                "principalOrgId": None,
                "accessKey": None,
                "cognitoAuthenticationType": None,
                "cognitoAuthenticationProvider": None,
                "userArn": None,
                "userAgent": user_agent,
                "user": None,
            },
            "domainName": domain,
            "apiId": api_id,
        },
        "body": body,
        "isBase64Encoded": is_base64,
    }


def parse_result(payload: bytes) -> ProxyResult:
    """The HTTP answer encoded in a proxy result; raises MalformedProxyResult."""
    try:
        result = json.loads(payload)
    except ValueError:
        raise MalformedProxyResult("result is not JSON") from None
    if not isinstance(result, dict):
        raise MalformedProxyResult("result is not a JSON object")
    unknown = set(result) - _ALLOWED_RESULT_KEYS
    if unknown:
        raise MalformedProxyResult(f"unexpected keys {sorted(unknown)}")
    status = result.get("statusCode", 200)
    if isinstance(status, str) and status.isdigit():
        status = int(status)
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        raise MalformedProxyResult(f"statusCode {status!r}")
    headers: list[tuple[str, str]] = []
    single = result.get("headers") or {}
    multi = result.get("multiValueHeaders") or {}
    if not isinstance(single, dict) or not isinstance(multi, dict):
        raise MalformedProxyResult("headers must be objects")
    for name, values in multi.items():
        if not isinstance(values, list):
            raise MalformedProxyResult(f"multiValueHeaders.{name} is not a list")
        headers += [(str(name), str(v)) for v in values]
    # API Gateway merges both maps into one list per header; a pair present in both is sent once.
    pairs = {(n.lower(), v) for n, v in headers}
    for name, value in single.items():
        if isinstance(value, (dict, list)):
            raise MalformedProxyResult(f"headers.{name} is not a scalar")
        text = "" if value is None else str(value)
        if (str(name).lower(), text) not in pairs:
            headers.append((str(name), text))
    body = result.get("body")
    if body is None:
        data = b""
    elif isinstance(body, str):
        if result.get("isBase64Encoded"):
            try:
                data = base64.b64decode(body, validate=True)
            except ValueError:
                raise MalformedProxyResult("body is not base64") from None
        else:
            data = body.encode()
    else:
        raise MalformedProxyResult("body is not a string")
    return ProxyResult(status, headers, data)
