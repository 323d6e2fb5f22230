"""The SageMaker runtime client (one per container) and the InvokeEndpoint call.

The client honours AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME / AWS_ENDPOINT_URL (botocore's service-specific
endpoint configuration), so the same code reaches AWS or the local data plane.

Retries: botocore's "standard" mode retries throttling, 500/502/503/504 and connection errors, *and*
read timeouts. ``SAGEMAKER_MAX_ATTEMPTS`` counts every attempt (initial one included); keep
``attempts x read timeout`` in mind when sizing the Lambda timeout. Behind a REST API the integration
times out after 29 s anyway, long before a 65 s read timeout fires.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config

_CLIENT: Any = None


def _env_number(name: str, default: float) -> float:
    raw = os.environ.get(name)
    return float(raw) if raw not in (None, "") else default


def client_config() -> Config:
    return Config(
        connect_timeout=_env_number("SAGEMAKER_CONNECT_TIMEOUT_SEC", 2.0),
        read_timeout=_env_number("SAGEMAKER_READ_TIMEOUT_SEC", 65.0),
        retries={"total_max_attempts": int(_env_number("SAGEMAKER_MAX_ATTEMPTS", 3)), "mode": "standard"},
        tcp_keepalive=True,
        # The request is built here from validated input (payload.py), never from raw caller data:
        # botocore's client-side schema check would only repeat that, at ~0.2 ms CPU per call
        # (a sixth of the call's cost, measured).
        parameter_validation=False,
    )


def get_client() -> Any:
    """Created lazily on first use, then reused by every invocation of this container."""
    global _CLIENT
    if _CLIENT is None:
        _CLIENT = boto3.client("sagemaker-runtime", config=client_config())
    return _CLIENT


class MalformedModelOutput(Exception):
    """The endpoint answered 200 with something that is not a JSON object or list."""


@dataclass(frozen=True)
class Prediction:
    fields: dict[str, Any]
    variant: str | None


def invoke(
    client: Any,
    endpoint_name: str,
    model_input: dict[str, Any],
    *,
    inference_id: str,
    target_variant: str | None,
) -> Prediction:
    params: dict[str, Any] = {
        "EndpointName": endpoint_name,
        "Body": json.dumps(model_input, ensure_ascii=False).encode("utf-8"),
        "ContentType": "application/json",
        "Accept": "application/json",
        "InferenceId": inference_id,
    }
    if target_variant:
        params["TargetVariant"] = target_variant
    response = client.invoke_endpoint(**params)
    raw = response["Body"].read()
    try:
        decoded = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise MalformedModelOutput("the model returned a response that is not JSON") from None
    if isinstance(decoded, list):
        decoded = {"predictions": decoded}
    if not isinstance(decoded, dict):
        raise MalformedModelOutput("the model returned JSON that is neither an object nor a list")
    return Prediction(decoded, response.get("InvokedProductionVariant"))
