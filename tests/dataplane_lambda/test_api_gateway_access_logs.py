"""Stage access logs: one event per request on a stage with accessLogSettings, in its format, written
to its log group; including what the gateway refused itself; flushed at stop."""

from __future__ import annotations

import io
import json
import re
import threading
import time
import urllib.request
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from orchestrator.dataplane.apigateway.access_log import SUPPORTED_VARIABLES, AccessLogFormat, AccessRecord
from orchestrator.embedded.testing import ControlPlane

from .helpers import lambda_proxy_uri, put_proxy_method, wait_for
from .test_api_gateway import PROXY, Api, make_api, request

pytestmark = pytest.mark.timeout(60)

ROOT = Path(__file__).resolve().parents[2]
API_HOSTING = ROOT / "terraform/modules/api-hosting/main.tf"
# The api-hosting module's format, as its jsonencode() renders it (keys sorted, no spaces).
FORMAT = json.dumps(
    {
        "requestId": "$context.requestId",
        "extendedRequestId": "$context.extendedRequestId",
        "ip": "$context.identity.sourceIp",
        "apiKeyId": "$context.identity.apiKeyId",
        "requestTime": "$context.requestTime",
        "httpMethod": "$context.httpMethod",
        "resourcePath": "$context.resourcePath",
        "status": "$context.status",
        "protocol": "$context.protocol",
        "responseLength": "$context.responseLength",
        "responseLatency": "$context.responseLatency",
        "integrationLatency": "$context.integrationLatency",
        "integrationStatus": "$context.integrationStatus",
        "errorMessage": "$context.error.message",
    },
    sort_keys=True,
    separators=(",", ":"),
)
CLF_TIME = re.compile(r"\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} \+0000")


def enable_access_logs(control_plane: ControlPlane, api: Api, text: str = FORMAT) -> str:
    """The api-hosting module's group and stage settings for ``api``; returns the group's name."""
    group = f"/aws/apigateway/{api.name}/{api.stage}/access"
    logs = control_plane.client("logs")
    logs.create_log_group(logGroupName=group)
    arn = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]["arn"].removesuffix(":*")
    control_plane.client("apigateway").update_stage(
        restApiId=api.api_id,
        stageName=api.stage,
        patchOperations=[
            {"op": "replace", "path": "/accessLogSettings/destinationArn", "value": arn},
            {"op": "replace", "path": "/accessLogSettings/format", "value": text},
        ],
    )
    return group


def events_of(control_plane: ControlPlane, group: str) -> list[tuple[str, str]]:
    """(stream, message) of every event of ``group``."""
    logs = control_plane.client("logs")
    found: list[tuple[str, str]] = []
    for stream in logs.describe_log_streams(logGroupName=group)["logStreams"]:
        name = stream["logStreamName"]
        events = logs.get_log_events(logGroupName=group, logStreamName=name, startFromHead=True)["events"]
        found += [(name, e["message"]) for e in events]
    return found


def test_every_variable_of_the_api_hosting_format_is_emulated() -> None:
    used = set(re.findall(r'"\$context\.([\w.]+)"', API_HOSTING.read_text()))
    assert len(used) == 14
    assert used <= SUPPORTED_VARIABLES
    assert set(re.findall(r'"\$context\.([\w.]+)"', FORMAT)) == used


def test_rendering_as_api_gateway_does() -> None:
    record = AccessRecord(
        request_id="r-1",
        extended_request_id="e-1",
        epoch=1_700_000_000.25,
        http_method="GET",
        path="/a/b",
        source_ip="10.0.0.1",
        user_agent=None,
        api_id="abc",
        stage="prod",
        account_id="123456789012",
        domain="127.0.0.1",
        status=403,
        response_latency_ms=1.6,
        error_message="Forbidden",
    )
    text = (
        "$context.identity.sourceIp [$context.requestTime] $context.requestTimeEpoch "
        '"$context.httpMethod $context.path $context.protocol" $context.status $context.responseLatency '
        "$context.integrationLatency $context.identity.userAgent $context.authorizer.principalId "
        "$context.noSuchVariable $context.identity.apiKey $context.error.messageString $context.requestId.\n"
    )
    assert AccessLogFormat(text).render(record) == (
        '10.0.0.1 [14/Nov/2023:22:13:20 +0000] 1700000000250 "GET /prod/a/b HTTP/1.1" 403 2 - - - - - "Forbidden" r-1.\n'
    )


def test_access_log_lines_of_a_200_a_403_and_a_502(control_plane: ControlPlane, deploy: Callable[..., str]) -> None:
    api = make_api(control_plane, deploy({"app.py": PROXY}, timeout=5))
    group = enable_access_logs(control_plane, api)
    ok_request = urllib.request.Request(
        api.fast_url, data=b'{"status": 200}', method="POST", headers={"x-api-key": api.key}
    )
    with urllib.request.urlopen(ok_request, timeout=15) as response:
        ok_status, ok_headers, ok_raw = response.status, response.headers, response.read()
    ok_body = json.loads(ok_raw)
    forbidden = request(api.fast_url, {}, {})
    failed = request(api.fast_url, {"mode": "raise"}, {"x-api-key": api.key})
    no_route = request(api.fast_url.replace("/text", "/nope"), {}, {"x-api-key": api.key})
    request(api.fast_url.replace("/local/", "/nostage/"), {}, {"x-api-key": api.key})  # no stage: not logged
    assert [ok_status, forbidden[0], failed[0], no_route[0]] == [200, 403, 502, 403]

    events = wait_for(lambda: len(events_of(control_plane, group)) >= 4 and events_of(control_plane, group))
    assert len(events) == 4
    assert len({stream for stream, _ in events}) == 1
    assert re.fullmatch(r"[0-9a-f]{32}", events[0][0])
    assert all(api.key not in message for _, message in events)
    lines = {line["requestId"]: line for line in (json.loads(message) for _, message in events)}

    ok = lines[ok_headers["x-amzn-RequestId"]]
    context = ok_body["event"]["requestContext"]
    assert ok["requestId"] == context["requestId"]
    assert ok["extendedRequestId"] == context["extendedRequestId"] == ok_headers["x-amz-apigw-id"]
    assert ok["extendedRequestId"] != ok["requestId"]
    assert CLF_TIME.fullmatch(ok["requestTime"]) and ok["requestTime"] == context["requestTime"]
    logged_at = datetime.strptime(ok["requestTime"], "%d/%b/%Y:%H:%M:%S %z")
    assert abs((datetime.now(UTC) - logged_at).total_seconds()) < 60
    assert {k: ok[k] for k in ("ip", "apiKeyId", "httpMethod", "resourcePath", "status", "protocol")} == {
        "ip": "127.0.0.1",
        "apiKeyId": api.key_id,
        "httpMethod": "POST",
        "resourcePath": "/text",
        "status": "200",
        "protocol": "HTTP/1.1",
    }
    assert ok["responseLength"] == str(len(ok_raw))
    assert (ok["integrationStatus"], ok["errorMessage"]) == ("200", "-")
    assert 0 <= int(ok["integrationLatency"]) <= int(ok["responseLatency"])

    refused = lines[forbidden[1]["x-amzn-RequestId"]]
    assert {k: v for k, v in refused.items() if k not in ("requestId", "extendedRequestId", "requestTime")} == {
        "ip": "127.0.0.1",
        "apiKeyId": "-",
        "httpMethod": "POST",
        "resourcePath": "/text",
        "status": "403",
        "protocol": "HTTP/1.1",
        "responseLength": str(len(b'{"message": "Forbidden"}')),
        "responseLatency": refused["responseLatency"],
        "integrationLatency": "-",
        "integrationStatus": "-",
        "errorMessage": "Forbidden",
    }

    error = lines[failed[1]["x-amzn-RequestId"]]
    assert (error["status"], error["apiKeyId"], error["errorMessage"]) == ("502", api.key_id, "Internal server error")
    assert error["integrationStatus"] == "200"  # Lambda answered; the function's error is not Lambda's status
    assert int(error["integrationLatency"]) >= 0

    missing = lines[no_route[1]["x-amzn-RequestId"]]
    assert (missing["status"], missing["resourcePath"], missing["errorMessage"]) == (
        "403",
        "-",
        "Missing Authentication Token",
    )


def test_events_for_a_missing_log_group_are_dropped(control_plane: ControlPlane, deploy: Callable[..., str]) -> None:
    """API Gateway writes to the destination group; it does not create it."""
    api = make_api(control_plane, deploy({"app.py": PROXY}, timeout=5))
    group = enable_access_logs(control_plane, api)
    control_plane.client("logs").delete_log_group(logGroupName=group)
    assert request(api.fast_url, {}, {})[0] == 403

    def dropped() -> int:
        with urllib.request.urlopen(control_plane.url + "/_orchestrator/health", timeout=5) as resp:
            return int(json.loads(resp.read())["components"]["apigateway-execution"]["access_log_events_dropped"])

    before = dropped()
    assert request(api.fast_url, {}, {})[0] == 403
    wait_for(lambda: dropped() > before)
    groups = control_plane.client("logs").describe_log_groups(logGroupNamePrefix=group)["logGroups"]
    assert groups == []


# -- flushed at stop: the gateway in this process, on moto's in-process backends ---------------------
SLOW = """
import json
import time


def handler(event, context):
    time.sleep(1.0)
    return {"statusCode": 200, "body": json.dumps({"slept": True})}
"""


@dataclass
class FakeServiceContext:
    host: str = "127.0.0.1"
    routes: list[Any] = field(default_factory=list)

    def add_route(self, matches: Any, app: Any) -> None:
        self.routes.append((matches, app))


@dataclass
class InProcessGateway:
    component: Any
    boto3: Any
    role: str


@pytest.fixture
def in_process_gateway(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[InProcessGateway]:
    """The Lambda runtime and the API Gateway component in this process (telemetry flushed only at stop),
    on moto's in-process backends, patched as in the service process."""
    import boto3
    from moto import mock_aws

    from orchestrator.dataplane.apigateway.component import ApiGatewayExecutionComponent
    from orchestrator.dataplane.lambdas.runtime import LambdaRuntime
    from orchestrator.dataplane.lambdas.worker_pool import WorkerEnv
    from orchestrator.embedded import moto_compat

    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    moto_compat.apply_all()

    async def worker_env() -> WorkerEnv:
        return WorkerEnv("http://127.0.0.1:9")

    with mock_aws():
        role = boto3.client("iam").create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        runtime = LambdaRuntime(tmp_path / "runtime", worker_env, flush_interval=3600)
        runtime.start()
        component = ApiGatewayExecutionComponent(port=0, flush_interval=3600)
        try:
            component.start(FakeServiceContext())
            yield InProcessGateway(component, boto3, role)
        finally:
            component.stop()
            runtime.stop()


def test_access_log_events_are_flushed_at_stop_after_the_requests_in_flight(in_process_gateway: InProcessGateway) -> None:
    gw, b3 = in_process_gateway.component, in_process_gateway.boto3
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", SLOW)
    fn_arn = b3.client("lambda").create_function(
        FunctionName="slow",
        Runtime="python3.11",
        Role=in_process_gateway.role,
        Handler="app.handler",
        Code={"ZipFile": buffer.getvalue()},
        Timeout=5,
    )["FunctionArn"]
    apigw, logs = b3.client("apigateway"), b3.client("logs")
    api_id = apigw.create_rest_api(name="slow-api")["id"]
    root = next(r["id"] for r in apigw.get_resources(restApiId=api_id)["items"] if r["path"] == "/")
    resource = apigw.create_resource(restApiId=api_id, parentId=root, pathPart="slow")["id"]
    put_proxy_method(apigw, api_id, resource, "GET", lambda_proxy_uri(fn_arn))
    apigw.create_deployment(restApiId=api_id, stageName="s")
    logs.create_log_group(logGroupName="access")
    arn = logs.describe_log_groups(logGroupNamePrefix="access")["logGroups"][0]["arn"]
    apigw.update_stage(
        restApiId=api_id,
        stageName="s",
        patchOperations=[
            {"op": "replace", "path": "/accessLogSettings/destinationArn", "value": arn},
            {"op": "replace", "path": "/accessLogSettings/format", "value": "$context.requestId $context.status"},
        ],
    )
    base = f"http://127.0.0.1:{gw.port}/restapis/{api_id}/s/_user_request_"
    assert request(base + "/nope", method="GET")[0] == 403
    answers: list[int] = []
    slow = threading.Thread(target=lambda: answers.append(request(base + "/slow", method="GET")[0]))
    slow.start()
    deadline = time.monotonic() + 10
    while gw.gateway.in_flight == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert gw.gateway.in_flight == 1
    assert logs.describe_log_streams(logGroupName="access")["logStreams"] == []  # nothing flushed yet

    gw.stop()  # stops accepting, waits for the slow answer, flushes
    slow.join(10)
    assert answers == [200]
    streams = logs.describe_log_streams(logGroupName="access")["logStreams"]
    assert len(streams) == 1
    events = logs.get_log_events(logGroupName="access", logStreamName=streams[0]["logStreamName"])["events"]
    assert sorted(e["message"].split()[1] for e in events) == ["200", "403"]
