"""API Gateway proxy responses (REST API, payload format 1.0)."""

from __future__ import annotations

import json
from typing import Any


def json_response(
    status: int,
    body: dict[str, Any],
    request_id: str,
    *,
    variant: str | None = None,
    retry_after: int | None = None,
) -> dict[str, Any]:
    headers = {"Content-Type": "application/json", "X-Request-Id": request_id}
    if variant:
        headers["X-Invoked-Variant"] = variant
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    return {
        "statusCode": status,
        "headers": headers,
        "body": json.dumps(body, separators=(",", ":"), ensure_ascii=False),
        "isBase64Encoded": False,
    }


def success(prediction: dict[str, Any], request_id: str, variant: str | None) -> dict[str, Any]:
    """The model's own fields, then ``variant`` and ``request_id`` (ours win on a name clash)."""
    body = {**prediction, "variant": variant, "request_id": request_id}
    return json_response(200, body, request_id, variant=variant)


def error(
    status: int,
    code: str,
    message: str,
    request_id: str,
    *,
    field: str | None = None,
    original_status: int | None = None,
    retry_after: int | None = None,
    variant: str | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {"error": code, "message": message, "request_id": request_id}
    if field is not None:
        body["field"] = field
    if original_status is not None:
        body["original_status"] = original_status
    return json_response(status, body, request_id, variant=variant, retry_after=retry_after)
