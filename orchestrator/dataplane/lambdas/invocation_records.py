"""What Lambda sends about an ``Event`` invocation: the destination's invocation record and the
dead-letter message, in the formats AWS documents (invocation-async-retain-records,
invocation-async "Dead-letter queues")."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from orchestrator.dataplane.lambdas.runtime import InvokeResult

RECORD_VERSION = "1.0"
DLQ_ERROR_MESSAGE_BYTES = 1024  # "the first 1 KB of the error message"
DETAIL_TYPES = {True: "Lambda Function Invocation Result - Success", False: "Lambda Function Invocation Result - Failure"}


def _json_or_text(data: bytes) -> Any:
    """A payload as the record carries it: its JSON value, or its text when it is not JSON."""
    if not data:
        return None
    try:
        return json.loads(data)
    except ValueError:
        return data.decode("utf-8", "replace")


def timestamp(now: datetime | None = None) -> str:
    """``2019-11-14T18:16:05.568Z``."""
    return (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def invocation_record(
    *,
    request_id: str,
    function_arn: str,
    condition: str,
    invoke_count: int,
    payload: bytes,
    result: InvokeResult | None,
) -> dict[str, Any]:
    """The record of one event: ``condition`` is ``Success``, ``RetriesExhausted`` or ``EventAgeExceeded``;
    ``result`` is the last run's (None when the function never ran: the record then has no response)."""
    record: dict[str, Any] = {
        "version": RECORD_VERSION,
        "timestamp": timestamp(),
        "requestContext": {
            "requestId": request_id,
            "functionArn": function_arn,
            "condition": condition,
            "approximateInvokeCount": invoke_count,
        },
        "requestPayload": _json_or_text(payload) if payload else {},
    }
    if result is not None:
        context: dict[str, Any] = {"statusCode": 200, "executedVersion": result.executed_version}
        if result.function_error:
            context["functionError"] = result.function_error
        record["responseContext"] = context
        record["responsePayload"] = _json_or_text(result.payload)
    return record


def error_message(result: InvokeResult) -> str:
    """The error a failed or refused invocation reported (``errorMessage`` / ``message``), at most 1 KB."""
    body = _json_or_text(result.payload)
    text = ""
    if isinstance(body, dict):
        text = str(body.get("errorMessage") or body.get("message") or body.get("Message") or "")
    if not text:
        text = result.payload.decode("utf-8", "replace")
    return text.encode()[:DLQ_ERROR_MESSAGE_BYTES].decode("utf-8", "ignore")


def dead_letter_attributes(request_id: str, result: InvokeResult) -> dict[str, tuple[str, str]]:
    """Message attributes of a dead-letter message, ``name -> (DataType, value)``: RequestID, ErrorCode
    (the HTTP status of the last attempt: 200 for a function error, 429 throttled), ErrorMessage."""
    status = 429 if result.status == "throttled" else 502 if result.status == "failed" else 200
    attributes = {"RequestID": ("String", request_id), "ErrorCode": ("Number", str(status))}
    message = error_message(result)
    if message:
        attributes["ErrorMessage"] = ("String", message)
    return attributes
