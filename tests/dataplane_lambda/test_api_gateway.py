"""REST API -> Lambda proxy on the embedded service: keys, usage plans, proxy event and result, metrics."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from email.message import Message
from typing import Any

import pytest

from orchestrator.embedded.testing import ControlPlane

from .helpers import lambda_proxy_uri, log_messages, metric_total, put_proxy_method, wait_for

pytestmark = pytest.mark.timeout(60)

PROXY = """
import json
import os
import time

time.sleep(float(os.environ.get("INIT_SECONDS", "0")))

def handler(event, context):
    body = json.loads(event["body"] or "{}")
    mode = body.get("mode")
    if mode == "malformed":
        return {"statusCode": 200, "body": {"not": "a string"}}
    if mode == "raise":
        raise RuntimeError("boom")
    if mode == "slow":
        time.sleep(body.get("seconds", 2))
        print("slept")
    return {
        "statusCode": body.get("status", 201),
        "headers": {"X-Echo": "yes", "Content-Type": "application/json"},
        "multiValueHeaders": {"X-Multi": ["a", "b"]},
        "body": json.dumps({"event": event, "request_id": context.aws_request_id}),
    }
"""


@dataclass(frozen=True)
class Api:
    api_id: str
    name: str
    stage: str
    key: str
    key_id: str
    fast_url: str
    control_url: str


def request(
    url: str, body: Any = None, headers: dict[str, str] | None = None, method: str = "POST"
) -> tuple[int, Message, Any]:
    """(status, headers as received, so repeated ones stay apart, decoded JSON body)."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=15) as resp:
            return resp.status, resp.headers, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as err:
        return err.code, err.headers, json.loads(err.read() or b"null")


def fast_base_url(control_plane: ControlPlane) -> str:
    with urllib.request.urlopen(control_plane.url + "/_orchestrator/health", timeout=5) as resp:
        health = json.loads(resp.read())
    return str(health["components"]["apigateway-execution"]["invoke_base_url"])


def make_api(
    control_plane: ControlPlane,
    function_name: str,
    *,
    throttle: dict[str, Any] | None = None,
    quota: dict[str, Any] | None = None,
    integration_timeout_ms: int | None = None,
) -> Api:
    apigw = control_plane.client("apigateway")
    fn_arn = control_plane.client("lambda").get_function(FunctionName=function_name)["Configuration"]["FunctionArn"]
    name = f"api-{uuid.uuid4().hex[:8]}"
    api_id = apigw.create_rest_api(name=name, apiKeySource="HEADER")["id"]
    root = next(r["id"] for r in apigw.get_resources(restApiId=api_id)["items"] if r["path"] == "/")
    resource = apigw.create_resource(restApiId=api_id, parentId=root, pathPart="text")["id"]
    put_proxy_method(apigw, api_id, resource, "POST", lambda_proxy_uri(fn_arn), key_required=True,
                     **({"timeoutInMillis": integration_timeout_ms} if integration_timeout_ms else {}))
    apigw.create_deployment(restApiId=api_id, stageName="local")
    key = apigw.create_api_key(name=f"{name}-key", enabled=True)
    plan = apigw.create_usage_plan(
        name=f"{name}-plan",
        apiStages=[{"apiId": api_id, "stage": "local"}],
        throttle=throttle or {"rateLimit": 1000.0, "burstLimit": 1000},
        **({"quota": quota} if quota else {}),
    )
    apigw.create_usage_plan_key(usagePlanId=plan["id"], keyId=key["id"], keyType="API_KEY")
    path = f"/restapis/{api_id}/local/_user_request_/text"
    return Api(
        api_id, name, "local", key["value"], key["id"], fast_base_url(control_plane) + path, control_plane.url + path
    )


@pytest.fixture()
def api(control_plane: ControlPlane, deploy: Callable[..., str]) -> Api:
    return make_api(control_plane, deploy({"app.py": PROXY}, timeout=5))


def test_proxy_result_and_event(api: Api) -> None:
    status, headers, body = request(
        api.fast_url + "?q=1&q=2&single=x", {"hello": "world"}, {"x-api-key": api.key, "User-Agent": "tests/1.0"}
    )
    assert status == 201
    assert headers["X-Echo"] == "yes"
    assert headers.get_all("X-Multi") == ["a", "b"]  # one header line per value, as API Gateway sends them
    request_id = headers["x-amzn-RequestId"]
    event = body["event"]
    assert event["resource"] == "/text"
    assert event["path"] == "/text"
    assert event["httpMethod"] == "POST"
    assert json.loads(event["body"]) == {"hello": "world"}
    assert event["isBase64Encoded"] is False
    assert event["queryStringParameters"] == {"q": "2", "single": "x"}
    assert event["multiValueQueryStringParameters"] == {"q": ["1", "2"], "single": ["x"]}
    headers_in = {k.lower(): v for k, v in event["headers"].items()}  # urllib capitalizes names
    multi_in = {k.lower(): v for k, v in event["multiValueHeaders"].items()}
    assert headers_in["x-api-key"] == api.key
    assert multi_in["user-agent"] == ["tests/1.0"]
    assert event["pathParameters"] is None
    context = event["requestContext"]
    assert context["requestId"] == request_id
    assert context["stage"] == "local"
    assert context["resourcePath"] == "/text"
    assert context["httpMethod"] == "POST"
    assert context["apiId"] == api.api_id
    assert context["identity"]["apiKeyId"] == api.key_id
    assert context["identity"]["apiKey"] == api.key
    assert context["identity"]["sourceIp"] == "127.0.0.1"
    assert context["identity"]["userAgent"] == "tests/1.0"
    assert isinstance(context["requestTimeEpoch"], int)


def test_control_plane_port_serves_the_same_api(api: Api) -> None:
    status, _, body = request(api.control_url, {"status": 200}, {"x-api-key": api.key})
    assert status == 200
    assert body["event"]["requestContext"]["stage"] == "local"


@pytest.mark.parametrize("headers", [{}, {"x-api-key": "wrong-key"}])
def test_missing_or_wrong_key_is_forbidden(api: Api, headers: dict[str, str]) -> None:
    status, response_headers, body = request(api.fast_url, {}, headers)
    assert (status, body) == (403, {"message": "Forbidden"})
    assert response_headers["x-amzn-RequestId"]


def test_key_outside_the_usage_plan_is_forbidden(control_plane: ControlPlane, api: Api) -> None:
    other = control_plane.client("apigateway").create_api_key(name=f"loose-{uuid.uuid4().hex[:6]}", enabled=True)
    assert request(api.fast_url, {}, {"x-api-key": other["value"]})[::2] == (403, {"message": "Forbidden"})


def test_unknown_paths_and_methods(api: Api) -> None:
    missing = (403, {"message": "Missing Authentication Token"})
    assert request(api.fast_url.replace("/text", "/nope"), {}, {"x-api-key": api.key})[::2] == missing
    assert request(api.fast_url, None, {"x-api-key": api.key}, method="GET")[::2] == missing
    assert request(api.fast_url.replace("/local/", "/prod/"), {}, {"x-api-key": api.key})[::2] == missing


def test_malformed_result_and_function_error_are_502(api: Api) -> None:
    error = (502, {"message": "Internal server error"})
    assert request(api.fast_url, {"mode": "malformed"}, {"x-api-key": api.key})[::2] == error
    assert request(api.fast_url, {"mode": "raise"}, {"x-api-key": api.key})[::2] == error


def test_usage_plan_throttle_and_quota(control_plane: ControlPlane, deploy: Callable[..., str]) -> None:
    name = deploy({"app.py": PROXY})
    throttled = make_api(control_plane, name, throttle={"rateLimit": 1.0, "burstLimit": 2})
    statuses = [request(throttled.fast_url, {}, {"x-api-key": throttled.key})[0] for _ in range(4)]
    assert statuses[:2] == [201, 201]
    assert 429 in statuses[2:]
    assert request(throttled.fast_url, {}, {"x-api-key": throttled.key})[2] == {"message": "Too Many Requests"}

    limited = make_api(control_plane, name, quota={"limit": 2, "period": "DAY"})
    statuses = [request(limited.fast_url, {}, {"x-api-key": limited.key})[0] for _ in range(3)]
    assert statuses == [201, 201, 429]
    assert request(limited.fast_url, {}, {"x-api-key": limited.key})[2] == {"message": "Limit Exceeded"}


def test_api_gateway_metrics(control_plane: ControlPlane, api: Api) -> None:
    request(api.fast_url, {}, {"x-api-key": api.key})
    request(api.fast_url, {}, {})
    request(api.fast_url, {"mode": "raise"}, {"x-api-key": api.key})
    request(api.fast_url.replace("/text", "/nope"), {}, {"x-api-key": api.key})  # no route: still this API's 4XX
    request(api.fast_url.replace("/local/", "/prod/"), {}, {"x-api-key": api.key})  # no such stage: not counted
    dims = {"ApiName": api.name, "Stage": "local"}

    def total(metric: str, statistic: str = "Sum", unit: str | None = None) -> float:
        return metric_total(control_plane, "AWS/ApiGateway", metric, dims, statistic, unit)

    wait_for(lambda: total("Count") == 4)
    assert total("4XXError") == 2
    assert total("5XXError") == 1
    assert total("Latency", "SampleCount") == 4
    assert total("IntegrationLatency", "SampleCount") == 2
    for metric in ("Latency", "IntegrationLatency"):
        assert total(metric, "SampleCount", unit="Milliseconds") == total(metric, "SampleCount")
    for metric in ("Count", "4XXError", "5XXError"):
        assert total(metric, unit="Count") == total(metric)


def test_integration_timeout_is_the_gateways_own_timer(control_plane: ControlPlane, deploy: Callable[..., str]) -> None:
    """API Gateway answers 504 at the integration timeout (29 s by default; 300 ms here), counted from the
    request, a cold start included; the Lambda invocation itself runs to completion, without an error."""
    name = deploy({"app.py": PROXY}, timeout=5, env={"INIT_SECONDS": "1.5"})
    api = make_api(control_plane, name, integration_timeout_ms=300)
    started = time.monotonic()
    status, _, body = request(api.fast_url, {"mode": "slow", "seconds": 1}, {"x-api-key": api.key})
    assert (status, body) == (504, {"message": "Endpoint request timed out"})
    assert time.monotonic() - started < 1.4  # neither the 1.5 s init nor the 1 s handler is waited for
    messages = wait_for(
        lambda: (
            [m for m in log_messages(control_plane, name) if m.startswith("REPORT")]
            and log_messages(control_plane, name)
        )
    )
    assert "slept" in messages
    assert "Status: timeout" not in next(m for m in messages if m.startswith("REPORT"))
    dims = {"FunctionName": name}
    wait_for(lambda: metric_total(control_plane, "AWS/Lambda", "Invocations", dims) == 1)
    assert metric_total(control_plane, "AWS/Lambda", "Errors", dims) == 0


def test_lambda_timeout_behind_the_gateway_is_502(control_plane: ControlPlane, deploy: Callable[..., str]) -> None:
    """The function's own timeout (1 s) comes before the integration timeout (29 s): a function error, 502."""
    name = deploy({"app.py": PROXY}, timeout=1)
    api = make_api(control_plane, name)
    started = time.monotonic()
    status, _, body = request(api.fast_url, {"mode": "slow", "seconds": 5}, {"x-api-key": api.key})
    assert (status, body) == (502, {"message": "Internal server error"})
    assert time.monotonic() - started < 4.5
    wait_for(lambda: any("Task timed out after 1.00 seconds" in m for m in log_messages(control_plane, name)))


def test_resource_tree_of_a_deployed_api(control_plane: ControlPlane, deploy: Callable[..., str]) -> None:
    """``/items/{id}`` (GET with an API key, ANY without) and ``/{proxy+}`` (ANY), deployed with a stage
    variable: a method beats ANY on its resource, ANY serves the other methods, a literal or ``{param}``
    path beats ``{proxy+}``, which takes the rest of the path."""
    fn_arn = control_plane.client("lambda").get_function(FunctionName=deploy({"app.py": PROXY}))["Configuration"][
        "FunctionArn"
    ]
    apigw = control_plane.client("apigateway")
    api_id = apigw.create_rest_api(name=f"tree-{uuid.uuid4().hex[:8]}")["id"]
    root = next(r["id"] for r in apigw.get_resources(restApiId=api_id)["items"] if r["path"] == "/")
    items = apigw.create_resource(restApiId=api_id, parentId=root, pathPart="items")["id"]
    item = apigw.create_resource(restApiId=api_id, parentId=items, pathPart="{id}")["id"]
    greedy = apigw.create_resource(restApiId=api_id, parentId=root, pathPart="{proxy+}")["id"]
    for resource, method, key_required in ((item, "GET", True), (item, "ANY", False), (greedy, "ANY", False)):
        put_proxy_method(apigw, api_id, resource, method, lambda_proxy_uri(fn_arn), key_required=key_required)
    apigw.create_deployment(restApiId=api_id, stageName="s", variables={"color": "blue"})
    base = fast_base_url(control_plane) + f"/restapis/{api_id}/s/_user_request_"

    def event(path: str, method: str) -> dict[str, Any]:
        status, _, body = request(base + path, {} if method != "GET" else None, method=method)
        assert status == 201, (path, method, body)
        return dict(body["event"])

    assert request(base + "/items/42", method="GET")[::2] == (403, {"message": "Forbidden"})  # GET, not ANY
    put = event("/items/42", "PUT")
    assert (put["resource"], put["pathParameters"], put["httpMethod"]) == ("/items/{id}", {"id": "42"}, "PUT")
    assert put["stageVariables"] == {"color": "blue"}
    assert put["requestContext"]["resourcePath"] == "/items/{id}"
    deep = event("/items/42/parts/7", "DELETE")
    assert (deep["resource"], deep["pathParameters"]) == ("/{proxy+}", {"proxy": "items/42/parts/7"})
    other = event("/a/b/c", "PATCH")
    assert (other["resource"], other["path"], other["pathParameters"]) == ("/{proxy+}", "/a/b/c", {"proxy": "a/b/c"})
    assert other["httpMethod"] == "PATCH"
