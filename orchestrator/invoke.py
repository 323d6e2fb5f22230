"""One prediction through the deployed system: via the API (key from SSM) or straight to the endpoint.

The API key is read from its SecureString parameter and sent as ``x-api-key``; it is never printed.
The same code serves AWS and the embedded default: URLs and clients come from the environment.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from orchestrator import aws_clients
from orchestrator.config import Environment
from orchestrator.errors import OrchestratorError
from orchestrator.loadtest import targets


@dataclass
class InvokeResult:
    status: int
    body: Any
    variant: str | None
    via: str  # "api" or "endpoint"


def _payload(texts: list[str], variant: str | None = None) -> dict[str, Any]:
    payload: dict[str, Any] = {"sentence": texts[0]} if len(texts) == 1 else {"sentences": texts}
    if variant:
        payload["variant"] = variant
    return payload


def _decode(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace")


def via_api(env: Environment, texts: list[str], variant: str | None = None, timeout: float = 35.0) -> InvokeResult:
    url, key = targets.api_target(env.ssm_prefix, targets.ssm_getter(env.data))
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if key:
        headers["x-api-key"] = key
    request = urllib.request.Request(url, data=json.dumps(_payload(texts, variant)).encode(), headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as reply:
            status, raw, reply_headers = reply.status, reply.read(), reply.headers
    except urllib.error.HTTPError as error:
        status, raw, reply_headers = error.code, error.read(), error.headers
    except OSError as error:
        raise OrchestratorError(f"cannot reach the API at {url}: {error}") from None
    body = _decode(raw)
    variant_used = reply_headers.get("X-Invoked-Variant") or (body.get("variant") if isinstance(body, dict) else None)
    return InvokeResult(status, body, variant_used, "api")


def via_endpoint(env: Environment, texts: list[str], variant: str | None = None) -> InvokeResult:
    get = targets.ssm_getter(env.data)
    endpoint = get(f"{env.ssm_prefix}/model-serving/endpoint_name", False) or env.endpoint_name
    control_plane = aws_clients.control_plane_url(env.data) if env.is_embedded else None
    runtime = targets.runtime_url(
        ssm_prefix=env.ssm_prefix,
        region=env.region,
        embedded=env.is_embedded,
        get=get,
        control_plane=control_plane,
        health=targets.service_health(control_plane) if control_plane else None,
    )
    client = aws_clients.client(env.data, "sagemaker-runtime", endpoint_url=runtime)
    kwargs: dict[str, Any] = {
        "EndpointName": endpoint,
        "ContentType": "application/json",
        "Accept": "application/json",
        "Body": json.dumps(_payload(texts)).encode(),
    }
    if variant:
        kwargs["TargetVariant"] = variant
    try:
        reply = client.invoke_endpoint(**kwargs)
    except client.exceptions.ModelError as error:
        return InvokeResult(
            int(error.response.get("OriginalStatusCode", 424)), error.response.get("OriginalMessage"), None, "endpoint"
        )
    except client.exceptions.ValidationError as error:
        return InvokeResult(400, {"message": str(error)}, None, "endpoint")
    return InvokeResult(200, _decode(reply["Body"].read()), reply.get("InvokedProductionVariant"), "endpoint")
