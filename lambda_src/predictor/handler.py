"""Predictor Lambda: API Gateway REST proxy event (v1) -> SageMaker InvokeEndpoint -> JSON response.

Environment:
  SAGEMAKER_ENDPOINT            endpoint name (required)
  MAX_BATCH                     most sentences in one request (default 32)
  MAX_BODY_BYTES                largest accepted body, decoded (default 65536) -> 413 above it
  LOG_LEVEL                     level of this function's own logger (default INFO)
  SAGEMAKER_CONNECT_TIMEOUT_SEC botocore connect timeout (default 2)
  SAGEMAKER_READ_TIMEOUT_SEC    botocore read timeout (default 65, above SageMaker's 60 s)
  SAGEMAKER_MAX_ATTEMPTS        total attempts, first one included (default 3, standard retry mode)
  AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME  (botocore) reach a local runtime instead of AWS

One JSON log line per request: request id, status, latency, variant, batch size, error codes. Never the
API key, other headers, or request/response bodies.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import failures
import replies
import sm_runtime
from jsonlog import get_logger
from payload import PredictRequest, RequestError, parse_request

logger = get_logger()

INFERENCE_ID_MAX = 64


class ConfigurationError(Exception):
    """The function's environment is wrong: a deployment bug, answered with 500."""


@dataclass(frozen=True)
class Settings:
    endpoint_name: str
    max_batch: int
    max_body_bytes: int

    @classmethod
    def from_env(cls) -> Settings:
        endpoint = os.environ.get("SAGEMAKER_ENDPOINT", "").strip()
        if not endpoint:
            raise ConfigurationError("SAGEMAKER_ENDPOINT is not set")
        try:
            max_batch = int(os.environ.get("MAX_BATCH") or 32)
            max_body = int(os.environ.get("MAX_BODY_BYTES") or 65536)
        except ValueError as exc:
            raise ConfigurationError(f"MAX_BATCH / MAX_BODY_BYTES must be integers: {exc}") from None
        if max_batch < 1 or max_body < 1:
            raise ConfigurationError("MAX_BATCH and MAX_BODY_BYTES must be positive")
        return cls(endpoint, max_batch, max_body)


def request_id_of(event: Mapping[str, Any], context: Any) -> str:
    """API Gateway's request id; the Lambda request id or a fresh UUID when invoked directly."""
    request_context = event.get("requestContext")
    context_id = request_context.get("requestId") if isinstance(request_context, Mapping) else None
    for candidate in (context_id, getattr(context, "aws_request_id", None)):
        if isinstance(candidate, str) and candidate.strip():
            return candidate.strip()
    return str(uuid.uuid4())


def inference_id_of(request_id: str) -> str:
    """SageMaker's InferenceId: 1-64 printable characters, no leading whitespace."""
    printable = "".join(ch for ch in request_id if ch.isprintable())
    return printable[:INFERENCE_ID_MAX] or str(uuid.uuid4())


def _predict(event: Mapping[str, Any], request_id: str, log: dict[str, Any]) -> dict[str, Any]:
    settings = Settings.from_env()
    request: PredictRequest = parse_request(
        event, max_body_bytes=settings.max_body_bytes, max_batch=settings.max_batch
    )
    log["batch_size"] = request.batch_size or 1
    if request.variant:
        log["target_variant"] = request.variant
    started = time.perf_counter()
    try:
        prediction = sm_runtime.invoke(
            sm_runtime.get_client(),
            settings.endpoint_name,
            request.model_input,
            inference_id=inference_id_of(request_id),
            target_variant=request.variant,
        )
    except Exception as exc:
        log["upstream_ms"] = round((time.perf_counter() - started) * 1000, 1)
        failure = failures.classify(exc, request.variant)
        if failure is None:
            raise
        log.update(error=failure.code, upstream_error=failure.upstream_code)
        if failure.original_status is not None:
            log["original_status"] = failure.original_status
        if failure.is_bug:
            logger.error("invoke_endpoint failed", exc_info=exc, extra={"fields": {"request_id": request_id}})
        return replies.error(
            failure.status, failure.code, failure.message, request_id,
            field=failure.field, original_status=failure.original_status, retry_after=failure.retry_after,
        )
    log["upstream_ms"] = round((time.perf_counter() - started) * 1000, 1)
    log["variant"] = prediction.variant
    return replies.success(prediction.fields, request_id, prediction.variant)


def lambda_handler(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    started = time.perf_counter()
    if not isinstance(event, Mapping):
        event = {}
    request_id = request_id_of(event, context)
    log: dict[str, Any] = {"request_id": request_id, "variant": None, "batch_size": None}
    try:
        response = _predict(event, request_id, log)
    except RequestError as exc:
        log["error"] = exc.code
        if exc.field:
            log["field"] = exc.field
        response = replies.error(exc.status, exc.code, exc.message, request_id, field=exc.field)
    except Exception as exc:  # a real bug or a broken deployment
        log["error"] = "InternalError"
        logger.error("unhandled error", exc_info=exc, extra={"fields": {"request_id": request_id}})
        response = replies.error(500, "InternalError", "internal error", request_id)
    log["status"] = response["statusCode"]
    log["latency_ms"] = round((time.perf_counter() - started) * 1000, 1)
    logger.info("request", extra={"fields": log})
    return response
