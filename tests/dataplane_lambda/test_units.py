"""Unit tests of the pure parts (zip safety, proxy result parsing, routing, usage-plan enforcement), and
of the Lambda runtime in process on moto where a test must patch its constants (init budget, event retries)."""

from __future__ import annotations

import io
import json
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from orchestrator.dataplane.apigateway.gateway import lambda_target, split_invoke_path
from orchestrator.dataplane.apigateway.proxy_event import (
    IncomingRequest,
    MalformedProxyResult,
    build_event,
    parse_result,
)
from orchestrator.dataplane.apigateway.routing import _match, index_tree
from orchestrator.dataplane.apigateway.usage_plans import TokenBucket, UsagePlanEnforcer, quota_period
from orchestrator.dataplane.lambdas.code_store import CodeStore, UnsafeCodeError
from orchestrator.dataplane.lambdas.function_config import parse_function_name

from .helpers import InProcessLambda


def _zip(entries: list[tuple[zipfile.ZipInfo | str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for info, data in entries:
            archive.writestr(info, data)
    return buffer.getvalue()


def _symlink(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info


@pytest.mark.parametrize(
    "entry",
    ["../evil.py", "/abs.py", "pkg/../../evil.py", _symlink("link.py")],
    ids=["dotdot", "absolute", "nested-dotdot", "symlink"],
)
def test_unsafe_zip_is_refused_before_writing(tmp_path: Path, entry: Any) -> None:
    store = CodeStore(tmp_path / "code")
    with pytest.raises(UnsafeCodeError):
        store.directory_for("sha", _zip([("app.py", b"x = 1\n"), (entry, b"target")]))
    assert not (tmp_path / "evil.py").exists()
    assert not (tmp_path / "code" / "sha").exists()


def test_zip_is_extracted_once_per_digest(tmp_path: Path) -> None:
    store = CodeStore(tmp_path / "code")
    first = store.directory_for("abc", _zip([("app.py", b"x = 1\n"), ("pkg/mod.py", b"y = 2\n")]))
    assert (first / "pkg" / "mod.py").read_text() == "y = 2\n"
    assert store.directory_for("abc", b"not even a zip") == first
    with pytest.raises(UnsafeCodeError, match="not a zip"):
        store.directory_for("other", b"not even a zip")


def test_function_references() -> None:
    assert parse_function_name("fn") == ("fn", None, None, None)
    assert parse_function_name("fn:live") == ("fn", "live", None, None)
    assert parse_function_name("arn:aws:lambda:eu-west-1:111122223333:function:fn:3") == (
        "fn",
        "3",
        "eu-west-1",
        "111122223333",
    )
    uri = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:1:function:fn/invocations"
    assert lambda_target(uri) == ("arn:aws:lambda:us-east-1:1:function:fn", "us-east-1")
    assert split_invoke_path("/restapis/a1/local/_user_request_/text/x") == ("a1", "local", "/text/x")
    assert split_invoke_path("/restapis/a1/local/other/text") is None


@pytest.mark.parametrize(
    "result",
    [
        [],
        "text",
        {"statusCode": "abc"},
        {"statusCode": 200, "body": {"a": 1}},
        {"statusCode": 200, "extra": 1},
        {"statusCode": 200, "headers": {"a": {"b": 1}}},
        {"statusCode": 200, "multiValueHeaders": {"a": "b"}},
        {"statusCode": 200, "body": "***", "isBase64Encoded": True},
    ],
)
def test_malformed_proxy_results(result: Any) -> None:
    with pytest.raises(MalformedProxyResult):
        parse_result(json.dumps(result).encode())


def test_proxy_result_headers_and_body() -> None:
    parsed = parse_result(
        json.dumps(
            {
                "statusCode": 202,
                "headers": {"X-One": 1, "Set": "single", "set": "a"},
                "multiValueHeaders": {"Set": ["a", "b"]},
                "body": "aGk=",
                "isBase64Encoded": True,
            }
        ).encode()
    )
    assert parsed.status == 202
    # Both maps merged into one list per header; the pair in both ("set: a") is sent once.
    assert parsed.headers == [("Set", "a"), ("Set", "b"), ("X-One", "1"), ("Set", "single")]
    assert parsed.body == b"hi"


def test_event_for_binary_body_and_empty_maps() -> None:
    request = IncomingRequest("POST", "/items/7", "", [("Host", "h")], b"\xff\xfe")
    event = build_event(
        request,
        resource_path="/items/{id}",
        path_parameters={"id": "7"},
        stage="local",
        stage_variables={},
        api_id="a1",
        account_id="123456789012",
        resource_id="r1",
        request_id="rid",
        api_key=None,
        api_key_id=None,
        domain="127.0.0.1",
    )
    assert event["isBase64Encoded"] is True and event["body"] == "//4="
    assert event["queryStringParameters"] is None and event["stageVariables"] is None
    assert event["pathParameters"] == {"id": "7"}
    assert event["requestContext"]["path"] == "/local/items/7"


@dataclass
class FakeResource:
    id: str
    parent_id: str | None
    path_part: str
    resource_methods: dict[str, Any] = field(default_factory=dict)


def test_routing_prefers_literal_then_parameter_then_greedy() -> None:
    resources = [
        FakeResource("root", None, "/"),
        FakeResource("items", "root", "items"),
        FakeResource("special", "items", "special"),
        FakeResource("item", "items", "{id}"),
        FakeResource("proxy", "root", "{proxy+}"),
    ]
    tree = index_tree(resources)
    root, children = tree.root, tree.children

    def match(path: str) -> tuple[str | None, dict[str, str], str]:
        params: dict[str, str] = {}
        template: list[str] = []
        found = _match(children, root, [p for p in path.split("/") if p], 0, params, template)
        return (found.id if found else None), params, "/" + "/".join(template)

    assert match("/items/special") == ("special", {}, "/items/special")
    assert match("/items/42") == ("item", {"id": "42"}, "/items/{id}")
    assert match("/other/a/b") == ("proxy", {"proxy": "other/a/b"}, "/{proxy+}")
    assert match("/") == ("root", {}, "/")


def test_token_bucket_and_quota_windows() -> None:
    bucket = TokenBucket(rate=0.0, burst=2)
    assert [bucket.take() for _ in range(3)] == [True, True, False]
    assert quota_period("WEEK") != quota_period("DAY") != quota_period("MONTH")


@dataclass
class FakeKey:
    id: str
    value: str
    enabled: bool = True


@dataclass
class FakePlan:
    id: str
    api_stages: list[dict[str, str]]
    throttle: dict[str, Any] = field(default_factory=dict)
    quota: dict[str, Any] = field(default_factory=dict)


@dataclass
class FakeBackend:
    keys: dict[str, FakeKey]
    usage_plans: dict[str, FakePlan]
    usage_plan_keys: dict[str, dict[str, Any]]


def test_usage_plan_decisions() -> None:
    backend = FakeBackend(
        keys={"k1": FakeKey("k1", "good"), "k2": FakeKey("k2", "off", enabled=False), "k3": FakeKey("k3", "loose")},
        usage_plans={"p1": FakePlan("p1", [{"apiId": "a1", "stage": "local"}], quota={"limit": 1, "period": "DAY"})},
        usage_plan_keys={"p1": {"k1": object(), "k2": object()}},
    )
    enforcer = UsagePlanEnforcer()
    assert enforcer.check(backend, "a1", "local", {}, key_required=False).status == 0
    for headers in ({}, {"x-api-key": "nope"}, {"x-api-key": "off"}, {"x-api-key": "loose"}):
        assert enforcer.check(backend, "a1", "local", headers, key_required=True).status == 403
    assert enforcer.check(backend, "a1", "prod", {"X-Api-Key": "good"}, key_required=True).status == 403
    first = enforcer.check(backend, "a1", "local", {"X-Api-Key": "good"}, key_required=True)
    assert first.status == 0 and first.api_key.id == "k1"
    assert enforcer.check(backend, "a1", "local", {"x-api-key": "good"}, key_required=True).message == "Limit Exceeded"


@pytest.mark.parametrize(
    ("components", "expected"),
    [
        ({"sagemaker-hosting": {"runtime_url": "http://127.0.0.1:7002"}}, "http://127.0.0.1:7002"),
        ({"lambda-execution": {"ok": True}}, None),
    ],
    ids=["advertised", "not-hosted"],
)
def test_endpoint_resolver_reads_the_health_document(
    monkeypatch: pytest.MonkeyPatch, components: dict[str, Any], expected: str | None
) -> None:
    import asyncio
    import http.server
    import threading

    from orchestrator.dataplane.lambdas.component import SAGEMAKER_URL_ENV, EndpointResolver

    body = json.dumps({"components": components}).encode()

    class Health(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    monkeypatch.delenv(SAGEMAKER_URL_ENV, raising=False)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        resolver = EndpointResolver(f"http://127.0.0.1:{server.server_address[1]}")
        resolver.start()
        env = asyncio.run(asyncio.wait_for(resolver(), 10))
        assert env.sagemaker_runtime_url == expected
    finally:
        server.shutdown()


@pytest.mark.parametrize("pad", ["", "a", "ab"])
def test_log_tail_never_cuts_a_character(pad: str) -> None:
    from orchestrator.dataplane.lambdas.runtime import LOG_TAIL_BYTES, log_tail

    tail = log_tail([(0, "€" * 2000 + pad), (0, "END")])
    assert tail.endswith("€" + pad + "\nEND\n")
    assert len(tail.encode()) <= LOG_TAIL_BYTES
    assert LOG_TAIL_BYTES - len(tail.encode()) < 3  # at most the bytes of one character are dropped


def test_init_past_its_budget_fails_and_kills_the_worker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Init has its own budget (10 s on Lambda; 0.3 s here): a worker still importing then is killed."""
    import asyncio

    from orchestrator.dataplane.lambdas import worker_pool
    from orchestrator.dataplane.lambdas.function_config import FunctionConfig

    (tmp_path / "app.py").write_text("import time\ntime.sleep(30)\n\ndef handler(event, context):\n    return 1\n")
    config = FunctionConfig(
        account_id="123456789012",
        region="us-east-1",
        name="slow-init",
        arn="arn:aws:lambda:us-east-1:123456789012:function:slow-init",
        version="$LATEST",
        handler="app.handler",
        runtime="python3.11",
        timeout_s=60.0,
        memory_mb=128,
        environment=(),
        reserved_concurrency=None,
        code_sha256="slow-init",
        package_type="Zip",
    )
    monkeypatch.setattr(worker_pool, "INIT_TIMEOUT_S", 0.3)

    async def start() -> None:
        worker = worker_pool.Worker(config, tmp_path, worker_pool.WorkerEnv("http://127.0.0.1:9"))
        with pytest.raises(worker_pool.InitFailed) as info:
            await asyncio.wait_for(worker.start(), 20)  # the 30 s import is not waited for
        assert isinstance(info.value.cause, worker_pool.WorkerTimeout)
        assert info.value.log_stream == worker.log_stream
        assert not worker.alive
        assert worker._protocol is not None and worker._transport is not None
        for _ in range(100):  # the killed process is reaped by the loop; then its pipes can be closed
            if worker._protocol.exited:
                break
            await asyncio.sleep(0.05)
        assert worker._protocol.exited
        worker._transport.close()

    asyncio.run(start())


SLOW_IMPORT = """
import time

time.sleep(1.2)


def handler(event, context):
    time.sleep(float(event.get("sleep", 0)))
    return {"remaining_ms": context.get_remaining_time_in_millis()}
"""


def test_an_init_past_its_budget_is_retried_within_the_first_invocations_timeout(
    in_process_lambda: InProcessLambda, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Lambda retries an init that outlasts its budget (10 s; 0.5 s here) within the first invocation,
    bounded by the function's timeout: the retried init counts in Duration and in the timeout, and
    REPORT has no Init Duration. A warm invocation then has the whole timeout again."""
    from orchestrator.dataplane.lambdas import worker_pool

    monkeypatch.setattr(worker_pool, "INIT_TIMEOUT_S", 0.5)
    lam, rt = in_process_lambda, in_process_lambda.runtime
    lam.create("slow-init", SLOW_IMPORT, timeout=4)
    lam.create("slow-init-tight", SLOW_IMPORT, timeout=2)

    def report(result: Any) -> str:
        return next(line for line in result.log_tail.splitlines() if line.startswith("REPORT"))

    cold = rt.call(rt.invoke("slow-init", b'{"sleep": 0.2}', tail=True), timeout=30)
    assert cold.status == "ok", cold.payload
    assert "Init Duration" not in report(cold) and cold.duration_ms >= 1300  # retried init + handler
    assert json.loads(cold.payload)["remaining_ms"] < 4000 - 1200  # the init came out of the timeout
    warm = rt.call(rt.invoke("slow-init", b'{"sleep": 0.2}', tail=True), timeout=30)
    assert warm.status == "ok" and 200 <= warm.duration_ms < 1200
    assert json.loads(warm.payload)["remaining_ms"] > 4000 - 1000
    # 1.2 s of retried init + 1 s of handler > 2 s: the handler alone would have fit
    tight = rt.call(rt.invoke("slow-init-tight", b'{"sleep": 1.0}', tail=True), timeout=30)
    assert tight.status == "error" and b"Task timed out after 2.00 seconds" in tight.payload


WRITES_MARKER = """
import pathlib


def handler(event, context):
    pathlib.Path(event["marker"]).write_text("ran")
"""


def test_an_event_for_a_function_at_reserved_concurrency_0_is_held_until_it_has_concurrency(
    in_process_lambda: InProcessLambda, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reserved concurrency 0 pauses a function: its events do not run (Throttles counts the refusals)
    and are retried, so they run once it is given concurrency again."""
    import time

    from orchestrator.dataplane.lambdas import runtime as runtime_module

    monkeypatch.setattr(runtime_module, "EVENT_RETRY_FIRST_S", 0.2)
    monkeypatch.setattr(runtime_module, "EVENT_RETRY_MAX_S", 0.4)
    lam, rt = in_process_lambda, in_process_lambda.runtime
    lam.create("paused", WRITES_MARKER, timeout=5)
    lam.client.put_function_concurrency(FunctionName="paused", ReservedConcurrentExecutions=0)
    marker = tmp_path / "marker"
    delivered = rt.submit_event("paused", json.dumps({"marker": str(marker)}).encode())
    time.sleep(1.0)
    assert not marker.exists() and not delivered.done()
    throttles = rt.metrics[("123456789012", "us-east-1")]
    assert sum(s.count for (name, _), s in throttles._stats.items() if name == "Throttles") >= 2
    lam.client.put_function_concurrency(FunctionName="paused", ReservedConcurrentExecutions=1)
    assert delivered.result(timeout=20).status == "ok"
    assert marker.read_text() == "ran"
