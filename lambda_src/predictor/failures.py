"""Maps InvokeEndpoint failures to API statuses that mean something.

| upstream                                             | API | error code          |
| ---------------------------------------------------- | --- | ------------------- |
| ModelError, container said 429 or 503 (busy)         | 503 | ModelBusy (+Retry-After) |
| ModelError, container said 408 / "timed out"         | 504 | ModelTimeout        |
| ModelError, container said any other 4xx             | 400 | ModelInputRejected (model's message) |
| ModelError, container said 5xx (or nothing)          | 502 | ModelError (model's message + original_status) |
| ValidationError with a TargetVariant asked           | 400 | UnknownVariant      |
| ValidationError: endpoint not found                  | 503 | EndpointUnavailable |
| ThrottlingException / HTTP 429                       | 503 | Throttled (+Retry-After) |
| ModelNotReadyException                               | 503 | ModelNotReady (+Retry-After) |
| ServiceUnavailable / HTTP 503, cannot connect        | 503 | ServiceUnavailable (+Retry-After) |
| InternalFailure, InternalDependencyException, 5xx, connection dropped | 502 | UpstreamError       |
| botocore ReadTimeoutError / ConnectTimeoutError      | 504 | Timeout             |
| anything else (AccessDenied, no credentials, ...)    | 500 | InternalError (logged as an error) |
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    HTTPClientError,
    ReadTimeoutError,
)
from botocore.exceptions import ConnectionError as BotoConnectionError

from sm_runtime import MalformedModelOutput

MAX_MODEL_MESSAGE = 1000
_STATUS_IN_MESSAGE = re.compile(r"\((\d{3})\)")
_THROTTLING_CODES = {"ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded"}


@dataclass(frozen=True)
class ApiFailure:
    status: int
    code: str
    message: str
    upstream_code: str | None = None
    original_status: int | None = None
    retry_after: int | None = None
    field: str | None = None

    @property
    def is_bug(self) -> bool:
        return self.status == 500


def _model_message(original: str | None, fallback: str) -> str:
    """The container's own message: its JSON ``message``/``error`` if it sent JSON, else the text."""
    text = original if original else fallback
    try:
        decoded = json.loads(text)
    except (TypeError, ValueError):
        decoded = None
    if isinstance(decoded, dict):
        for key in ("message", "error", "errorMessage"):
            if isinstance(decoded.get(key), str) and decoded[key]:
                text = decoded[key]
                break
    return text[:MAX_MODEL_MESSAGE]


def _from_model_error(response: dict, message: str) -> ApiFailure:
    original = response.get("OriginalStatusCode")
    if not isinstance(original, int):
        found = _STATUS_IN_MESSAGE.search(message)
        original = int(found.group(1)) if found else None
    model_message = _model_message(response.get("OriginalMessage"), message)
    if original in (429, 503):
        return ApiFailure(503, "ModelBusy", "the model server is busy; retry later", "ModelError", original, 1)
    if original == 408 or (original is None and "timed out" in message.lower()):
        return ApiFailure(504, "ModelTimeout", "the model did not answer in time", "ModelError", original)
    if original is not None and 400 <= original < 500:
        return ApiFailure(400, "ModelInputRejected", model_message, "ModelError", original)
    return ApiFailure(502, "ModelError", model_message, "ModelError", original)


def _from_validation_error(message: str, target_variant: str | None) -> ApiFailure:
    lowered = message.lower()
    endpoint_missing = "endpoint" in lowered and "variant" not in lowered and (
        "not found" in lowered or "does not exist" in lowered
    )
    if endpoint_missing:
        return ApiFailure(503, "EndpointUnavailable", "the model endpoint is not available", "ValidationError")
    if target_variant:
        return ApiFailure(
            400, "UnknownVariant", f"unknown variant '{target_variant}' for this endpoint", "ValidationError",
            field="variant",
        )
    return ApiFailure(500, "InternalError", "internal error", "ValidationError")


def from_client_error(exc: ClientError, target_variant: str | None) -> ApiFailure:
    response = exc.response or {}
    error = response.get("Error") or {}
    code = str(error.get("Code") or "")
    message = str(error.get("Message") or "")
    http_status = (response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
    if code == "ModelError" or http_status == 424:
        return _from_model_error(response, message)
    if code == "ValidationError":
        return _from_validation_error(message, target_variant)
    if code == "ModelNotReadyException":
        return ApiFailure(503, "ModelNotReady", "the model is not ready yet; retry later", code, retry_after=5)
    if code in _THROTTLING_CODES or http_status == 429:
        return ApiFailure(503, "Throttled", "too many requests to the model; retry later", code, retry_after=1)
    if code == "ServiceUnavailable" or http_status == 503:
        return ApiFailure(503, "ServiceUnavailable", "the model endpoint is unavailable; retry later", code,
                          retry_after=2)
    if code in ("InternalFailure", "InternalDependencyException") or (
        isinstance(http_status, int) and http_status >= 500
    ):
        return ApiFailure(502, "UpstreamError", "the model endpoint failed", code)
    return ApiFailure(500, "InternalError", "internal error", code or None)


def classify(exc: Exception, target_variant: str | None) -> ApiFailure | None:
    """The API failure for an exception from the invoke step, or None if it is not an upstream failure."""
    if isinstance(exc, ClientError):
        return from_client_error(exc, target_variant)
    if isinstance(exc, (ReadTimeoutError, ConnectTimeoutError)):
        return ApiFailure(504, "Timeout", "the model endpoint did not answer in time", type(exc).__name__)
    if isinstance(exc, BotoConnectionError):
        return ApiFailure(503, "ServiceUnavailable", "the model endpoint is unreachable; retry later",
                          type(exc).__name__, retry_after=2)
    if isinstance(exc, HTTPClientError):  # e.g. the connection was closed mid-response
        return ApiFailure(502, "UpstreamError", "the model endpoint failed", type(exc).__name__)
    if isinstance(exc, MalformedModelOutput):
        return ApiFailure(502, "ModelError", str(exc), "MalformedModelOutput")
    if isinstance(exc, BotoCoreError):
        return ApiFailure(500, "InternalError", "internal error", type(exc).__name__)
    return None
