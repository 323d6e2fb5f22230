"""Helpers shared by the predictor's tests (a uniquely named module: every Lambda's tests dir has a conftest).

The Lambda's files sit at the zip root and import each other by flat name (``import payload``), so the
Lambda directory goes on sys.path. ``handler.py`` is loaded under the unique name ``predictor_handler``
because the load tester has a ``handler.py`` too; the helper module names of the two Lambdas differ.
"""

from __future__ import annotations

import base64
import importlib.util
import io
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from botocore.response import StreamingBody

LAMBDA_DIR = Path(__file__).resolve().parent.parent
if str(LAMBDA_DIR) not in sys.path:
    sys.path.insert(0, str(LAMBDA_DIR))

ENDPOINT = "text-classification-local"
API_KEY = "k3y-SECRET-abcdefghijklmnopqrstuvwxyz"


def load_handler() -> ModuleType:
    name = "predictor_handler"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, LAMBDA_DIR / "handler.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def make_event(
    body: Any = None,
    *,
    raw: str | None = None,
    headers: dict[str, str] | None = None,
    base64_encoded: bool = False,
    request_id: str = "req-0001",
) -> dict[str, Any]:
    """An API Gateway REST proxy (v1) event. ``body`` is JSON-encoded unless ``raw`` is given."""
    text = raw if raw is not None else (None if body is None else json.dumps(body))
    if base64_encoded and text is not None:
        text = base64.b64encode(text.encode("utf-8")).decode("ascii")
    all_headers = {"Content-Type": "application/json", "x-api-key": API_KEY, **(headers or {})}
    return {
        "resource": "/text",
        "path": "/text",
        "httpMethod": "POST",
        "headers": all_headers,
        "multiValueHeaders": {k: [v] for k, v in all_headers.items()},
        "queryStringParameters": None,
        "requestContext": {"requestId": request_id, "stage": "local", "identity": {"apiKey": API_KEY}},
        "body": text,
        "isBase64Encoded": base64_encoded,
    }


def model_output(payload: Any, variant: str = "model-a") -> dict[str, Any]:
    data = json.dumps(payload).encode("utf-8")
    return {
        "Body": StreamingBody(io.BytesIO(data), len(data)),
        "ContentType": "application/json",
        "InvokedProductionVariant": variant,
    }


def expected_params(model_input: Any, *, request_id: str = "req-0001", variant: str | None = None) -> dict:
    params = {
        "EndpointName": ENDPOINT,
        "Body": json.dumps(model_input).encode("utf-8"),
        "ContentType": "application/json",
        "Accept": "application/json",
        "InferenceId": request_id,
    }
    if variant:
        params["TargetVariant"] = variant
    return params


def body_of(response: dict[str, Any]) -> dict[str, Any]:
    assert response["headers"]["Content-Type"] == "application/json"
    return json.loads(response["body"])
