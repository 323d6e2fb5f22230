"""Invoke API against the real embedded service: results, errors, timeouts, context, env, logs, metrics."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from orchestrator.embedded.testing import ControlPlane

from .conftest import SAGEMAKER_RUNTIME_URL, SERVICE_ONLY_VARIABLE
from .helpers import invoke, log_messages, make_zip, metric_total, wait_for

pytestmark = pytest.mark.timeout(60)

ECHO = """
import os

CALLS = 0

def handler(event, context):
    global CALLS
    CALLS += 1
    print("got", event)
    if event.get("raise"):
        raise ValueError("bad input: " + event["raise"])
    if event.get("sleep"):
        import time
        time.sleep(event["sleep"])
    return {
        "event": event,
        "calls": CALLS,
        "pid": os.getpid(),
        "context": {
            "aws_request_id": context.aws_request_id,
            "function_name": context.function_name,
            "function_version": context.function_version,
            "memory_limit_in_mb": context.memory_limit_in_mb,
            "invoked_function_arn": context.invoked_function_arn,
            "remaining": context.get_remaining_time_in_millis(),
            "log_group_name": context.log_group_name,
            "log_stream_name": context.log_stream_name,
        },
        "env": {k: os.environ.get(k) for k in (
            "GREETING", "AWS_LAMBDA_FUNCTION_NAME", "AWS_REGION", "AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID",
            "LAMBDA_TASK_ROOT",
            "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", "SERVICE_SECRET")},
    }
"""


def test_invoke_returns_handler_result_with_context_and_env(
    control_plane: ControlPlane, lambda_client: Any, deploy: Callable[..., str]
) -> None:
    name = deploy({"app.py": ECHO}, env={"GREETING": "hello"}, timeout=7, MemorySize=256)
    response, result = invoke(lambda_client, name, {"x": 1})
    assert response["StatusCode"] == 200
    assert "FunctionError" not in response
    assert response["ExecutedVersion"] == "$LATEST"
    assert result["event"] == {"x": 1}
    ctx = result["context"]
    assert ctx["function_name"] == name
    assert ctx["function_version"] == "$LATEST"
    assert ctx["memory_limit_in_mb"] == "256"
    assert ctx["invoked_function_arn"] == f"arn:aws:lambda:us-east-1:123456789012:function:{name}"
    assert 5000 < ctx["remaining"] <= 7000
    assert ctx["log_group_name"] == f"/aws/lambda/{name}"
    assert "/[$LATEST]" in ctx["log_stream_name"]
    assert ctx["aws_request_id"] == response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]
    env = result["env"]
    assert env["GREETING"] == "hello"
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == name
    assert env["AWS_REGION"] == "us-east-1"
    assert env["AWS_ENDPOINT_URL"] == control_plane.url
    assert env["AWS_ACCESS_KEY_ID"] == "test"
    assert env["AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME"] == SAGEMAKER_RUNTIME_URL
    # Nothing of the service's own environment leaks in (the service has this variable; see conftest).
    service_env = Path(f"/proc/{control_plane.pid}/environ").read_bytes().split(b"\0")
    assert "=".join(SERVICE_ONLY_VARIABLE).encode() in service_env
    assert env[SERVICE_ONLY_VARIABLE[0]] is None

    # Warm reuse: same process, module state kept, like a warm container.
    _, again = invoke(lambda_client, name, {"x": 2})
    assert again["pid"] == result["pid"]
    assert again["calls"] == result["calls"] + 1


def test_exception_is_an_unhandled_function_error(lambda_client: Any, deploy: Callable[..., str]) -> None:
    name = deploy({"app.py": ECHO})
    response, error = invoke(lambda_client, name, {"raise": "nope"}, LogType="Tail")
    assert response["StatusCode"] == 200
    assert response["FunctionError"] == "Unhandled"
    assert error["errorType"] == "ValueError"
    assert error["errorMessage"] == "bad input: nope"
    assert isinstance(error["stackTrace"], list) and error["stackTrace"]
    tail = base64.b64decode(response["LogResult"]).decode()
    assert "got {'raise': 'nope'}" in tail


def test_import_error_and_missing_handler(lambda_client: Any, deploy: Callable[..., str]) -> None:
    broken = deploy({"app.py": "import not_a_module\n"})
    response, error = invoke(lambda_client, broken)
    assert response["FunctionError"] == "Unhandled"
    assert error["errorType"] == "Runtime.ImportModuleError"
    missing = deploy({"app.py": ECHO}, handler="app.nothing")
    _, error = invoke(lambda_client, missing)
    assert error["errorType"] == "Runtime.HandlerNotFound"


def test_timeout_kills_the_invocation(lambda_client: Any, deploy: Callable[..., str]) -> None:
    name = deploy({"app.py": ECHO}, timeout=1)
    invoke(lambda_client, name, {})  # warm: the init grace does not apply any more
    started = time.monotonic()
    response, error = invoke(lambda_client, name, {"sleep": 30})
    assert time.monotonic() - started < 5
    assert response["FunctionError"] == "Unhandled"
    assert "Task timed out after 1.00 seconds" in error["errorMessage"]
    _, ok = invoke(lambda_client, name, {"after": True})  # a fresh worker takes over
    assert ok["event"] == {"after": True}


def test_unknown_function_is_404(lambda_client: Any) -> None:
    with pytest.raises(ClientError) as info:
        lambda_client.invoke(FunctionName="no-such-function", Payload=b"{}")
    assert info.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_event_invocation_runs_asynchronously(
    control_plane: ControlPlane, lambda_client: Any, deploy: Callable[..., str]
) -> None:
    name = deploy({"app.py": ECHO})
    response = lambda_client.invoke(FunctionName=name, InvocationType="Event", Payload=b'{"async": "yes"}')
    assert response["StatusCode"] == 202
    wait_for(lambda: any("got {'async': 'yes'}" in m for m in log_messages(control_plane, name)))


def test_logs_have_start_end_report(
    control_plane: ControlPlane, lambda_client: Any, deploy: Callable[..., str]
) -> None:
    name = deploy({"app.py": ECHO})
    response, _ = invoke(lambda_client, name, {"log": "me"})
    request_id = response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]
    messages = wait_for(
        lambda: [m for m in log_messages(control_plane, name) if "REPORT" in m] and log_messages(control_plane, name)
    )
    assert f"START RequestId: {request_id} Version: $LATEST" in messages
    assert "got {'log': 'me'}" in messages
    assert f"END RequestId: {request_id}" in messages
    report = next(m for m in messages if m.startswith(f"REPORT RequestId: {request_id}"))
    for field in ("Duration:", "Billed Duration:", "Memory Size: 128 MB", "Max Memory Used:", "Init Duration:"):
        assert field in report


def test_lambda_metrics(control_plane: ControlPlane, lambda_client: Any, deploy: Callable[..., str]) -> None:
    name = deploy({"app.py": ECHO})
    invoke(lambda_client, name, {})
    invoke(lambda_client, name, {"raise": "x"})
    dims = {"FunctionName": name}

    def stat(metric: str, statistic: str = "Sum", unit: str | None = None) -> float:
        return metric_total(control_plane, "AWS/Lambda", metric, dims, statistic, unit)

    wait_for(lambda: stat("Invocations") == 2)
    assert stat("Errors") == 1
    assert stat("Duration", "SampleCount") == 2
    assert stat("ConcurrentExecutions", "Maximum") >= 1
    # The units CloudWatch has for Lambda's metrics: a Duration in Count would be a wrong unit.
    assert stat("Duration", "SampleCount", unit="Milliseconds") == 2
    assert stat("Duration", "SampleCount", unit="Count") == 0
    for metric in ("Invocations", "Errors"):
        assert stat(metric, unit="Count") == stat(metric)


def test_code_update_takes_effect(lambda_client: Any, deploy: Callable[..., str]) -> None:
    name = deploy({"app.py": "def handler(event, context):\n    return 'v1'\n"})
    assert invoke(lambda_client, name)[1] == "v1"
    lambda_client.update_function_code(
        FunctionName=name, ZipFile=make_zip({"app.py": "def handler(event, context):\n    return 'v2'\n"})
    )
    assert wait_for(lambda: invoke(lambda_client, name)[1] == "v2", timeout=5)


def test_configuration_update_restarts_workers(lambda_client: Any, deploy: Callable[..., str]) -> None:
    name = deploy({"app.py": ECHO}, env={"GREETING": "one"})
    assert invoke(lambda_client, name)[1]["env"]["GREETING"] == "one"
    lambda_client.update_function_configuration(FunctionName=name, Environment={"Variables": {"GREETING": "two"}})
    assert invoke(lambda_client, name)[1]["env"]["GREETING"] == "two"


def test_reserved_concurrency_throttles(
    control_plane: ControlPlane, lambda_client: Any, deploy: Callable[..., str]
) -> None:
    name = deploy({"app.py": ECHO})
    lambda_client.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=0)
    with pytest.raises(ClientError) as info:
        lambda_client.invoke(FunctionName=name, Payload=b"{}")
    assert info.value.response["Error"]["Code"] == "TooManyRequestsException"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
    dims = {"FunctionName": name}
    answered_429 = 1 + info.value.response["ResponseMetadata"]["RetryAttempts"]  # botocore retries throttles
    wait_for(lambda: metric_total(control_plane, "AWS/Lambda", "Throttles", dims, unit="Count") == answered_429)
    assert metric_total(control_plane, "AWS/Lambda", "Invocations", dims) == 0  # a throttle is not an invocation


def test_functions_do_not_share_processes(lambda_client: Any, deploy: Callable[..., str]) -> None:
    first = deploy({"app.py": ECHO})
    second = deploy({"app.py": ECHO})
    a = invoke(lambda_client, first)[1]
    b = invoke(lambda_client, second)[1]
    assert a["pid"] != b["pid"]
    assert a["calls"] == 1 and b["calls"] == 1
    assert json.dumps(a["env"]["AWS_LAMBDA_FUNCTION_NAME"]) != json.dumps(b["env"]["AWS_LAMBDA_FUNCTION_NAME"])


def test_workers_per_function_are_capped_and_extra_invocations_wait(
    control_plane: ControlPlane, deploy: Callable[..., str]
) -> None:
    """At most `default_max_workers()` warm processes per function (the service inherits this process's
    environment and cores); concurrent invocations beyond that wait for a worker instead of failing."""
    from concurrent.futures import ThreadPoolExecutor

    import boto3
    from botocore.config import Config

    from orchestrator.dataplane.lambdas.worker_pool import default_max_workers

    cap = default_max_workers()
    callers = cap + 3
    client = boto3.client(
        "lambda",
        endpoint_url=control_plane.url,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(max_pool_connections=callers, read_timeout=30, retries={"max_attempts": 1}),
    )
    name = deploy({"app.py": ECHO}, timeout=10)
    with ThreadPoolExecutor(callers) as pool:
        results = list(pool.map(lambda _: invoke(client, name, {"sleep": 0.5}), range(callers)))
    assert all(response["StatusCode"] == 200 and "FunctionError" not in response for response, _ in results)
    assert len({payload["pid"] for _, payload in results}) == cap
    assert max(payload["calls"] for _, payload in results) >= 2  # some workers served twice


def test_default_worker_cap_follows_the_cores_and_the_environment() -> None:
    from orchestrator.dataplane.lambdas.worker_pool import default_max_workers

    assert default_max_workers({}, cores=1) == 4
    assert default_max_workers({}, cores=2) == 4
    assert default_max_workers({}, cores=8) == 16
    assert default_max_workers({"ORCHESTRATOR_LAMBDA_MAX_WORKERS": "10"}, cores=2) == 10
    for bad in ("ten", "0", "-3"):
        with pytest.raises(ValueError, match="ORCHESTRATOR_LAMBDA_MAX_WORKERS"):
            default_max_workers({"ORCHESTRATOR_LAMBDA_MAX_WORKERS": bad}, cores=2)


SLOW_INIT = """
import time

time.sleep(1.5)
print("init finished")


def handler(event, context):
    return {"remaining": context.get_remaining_time_in_millis()}
"""


def test_cold_worker_enforces_the_timeout_on_the_handler(lambda_client: Any, deploy: Callable[..., str]) -> None:
    """Init has its own budget; the handler of a cold worker gets the function's timeout, not more."""
    name = deploy({"app.py": ECHO}, timeout=1)
    started = time.monotonic()
    response, error = invoke(lambda_client, name, {"sleep": 6})  # the first call: a cold worker
    assert response.get("FunctionError") == "Unhandled", error
    assert "Task timed out after 1.00 seconds" in error["errorMessage"]
    assert time.monotonic() - started < 5  # 1 s timeout + start-up, far from the 6 s sleep


def test_slow_init_does_not_eat_the_handler_timeout(
    control_plane: ControlPlane, lambda_client: Any, deploy: Callable[..., str]
) -> None:
    """A 1.5 s import with a 1 s timeout: the handler still gets its whole second; REPORT's Duration
    excludes init, which is reported as Init Duration; init output comes before START."""
    name = deploy({"app.py": SLOW_INIT}, timeout=1)
    response, result = invoke(lambda_client, name, {})
    assert "FunctionError" not in response, result
    assert result["remaining"] > 500
    request_id = response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]
    messages = wait_for(
        lambda: (
            [m for m in log_messages(control_plane, name) if m.startswith("REPORT")]
            and log_messages(control_plane, name)
        )
    )
    assert messages.index("init finished") < messages.index(f"START RequestId: {request_id} Version: $LATEST")
    report = next(m for m in messages if m.startswith("REPORT"))
    fields = dict(part.split(": ", 1) for part in report.split("\t")[1:] if ": " in part)
    assert float(fields["Duration"].removesuffix(" ms")) < 1000
    assert float(fields["Init Duration"].removesuffix(" ms")) >= 1400
    dims = {"FunctionName": name}
    wait_for(lambda: metric_total(control_plane, "AWS/Lambda", "Duration", dims, "SampleCount") == 1)
    assert metric_total(control_plane, "AWS/Lambda", "Duration", dims, "Maximum") < 1000


def test_payload_limits(lambda_client: Any, deploy: Callable[..., str]) -> None:
    """Requests above 6 MB (synchronous) or 1 MB (Event; 256 KB before Lambda raised it in 2025) are
    refused with 413; a result above 6 MB is an Unhandled Function.ResponseSizeTooLarge error."""
    name = deploy({"app.py": ECHO})
    too_big = json.dumps({"x": "a" * (6 * 1024 * 1024)}).encode()
    with pytest.raises(ClientError) as info:
        lambda_client.invoke(FunctionName=name, Payload=too_big)
    assert info.value.response["Error"]["Code"] == "RequestEntityTooLargeException"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 413
    assert info.value.response["Error"]["Message"] == (
        "Request must be smaller than 6291456 bytes for the InvokeFunction operation"
    )

    async_too_big = json.dumps({"x": "a" * (1024 * 1024)}).encode()
    with pytest.raises(ClientError) as info:
        lambda_client.invoke(FunctionName=name, InvocationType="Event", Payload=async_too_big)
    assert info.value.response["Error"]["Code"] == "RequestEntityTooLargeException"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 413
    assert info.value.response["Error"]["Message"] == (
        f"{len(async_too_big)} byte payload is too large for the Event invocation type (limit 1048576 bytes)"
    )
    accepted = json.dumps({"x": "a" * (300 * 1024)}).encode()
    assert lambda_client.invoke(FunctionName=name, InvocationType="Event", Payload=accepted)["StatusCode"] == 202

    big_result = deploy({"app.py": "def handler(event, context):\n    return 'a' * 6291556\n"})
    response, error = invoke(lambda_client, big_result)
    assert response["StatusCode"] == 200
    assert response["FunctionError"] == "Unhandled"
    assert error == {
        "errorMessage": "Response payload size exceeded maximum allowed payload size (6291556 bytes).",
        "errorType": "Function.ResponseSizeTooLarge",
    }


@pytest.mark.parametrize("kind", ["RequestResponse", "Event", "DryRun"])
def test_unknown_function_or_qualifier_is_404_for_every_invocation_type(
    lambda_client: Any, deploy: Callable[..., str], kind: str
) -> None:
    name = deploy({"app.py": ECHO})
    for reference in ({"FunctionName": "no-such-function"}, {"FunctionName": name, "Qualifier": "no-such-alias"}):
        with pytest.raises(ClientError) as info:
            lambda_client.invoke(InvocationType=kind, Payload=b"{}", **reference)
        assert info.value.response["Error"]["Code"] == "ResourceNotFoundException", reference
        assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_dry_run_checks_without_running(
    control_plane: ControlPlane, lambda_client: Any, deploy: Callable[..., str]
) -> None:
    name = deploy({"app.py": ECHO})
    response = lambda_client.invoke(FunctionName=name, InvocationType="DryRun", Payload=b'{"dry": 1}')
    assert response["StatusCode"] == 204
    assert response["Payload"].read() == b""
    invoke(lambda_client, name, {"wet": 1})  # its log, once flushed, shows no trace of the dry run
    messages = wait_for(
        lambda: (
            [m for m in log_messages(control_plane, name) if m.startswith("REPORT")]
            and log_messages(control_plane, name)
        )
    )
    assert len([m for m in messages if m.startswith("START")]) == 1
    assert "got {'dry': 1}" not in messages


def test_empty_payload_is_an_empty_event(lambda_client: Any, deploy: Callable[..., str]) -> None:
    name = deploy({"app.py": ECHO})
    response = lambda_client.invoke(FunctionName=name)  # no Payload at all
    result = json.loads(response["Payload"].read())
    assert "FunctionError" not in response, result
    assert result["event"] == {}


def test_log_tail_is_the_last_4_kb_of_the_execution_log(lambda_client: Any, deploy: Callable[..., str]) -> None:
    """``LogType: Tail``: the last 4 KB of what CloudWatch gets for the invocation, START to REPORT."""
    name = deploy({"app.py": ECHO})
    response, _ = invoke(lambda_client, name, {"a": 1}, LogType="Tail")
    request_id = response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]
    lines = base64.b64decode(response["LogResult"]).decode().splitlines()
    assert lines[0] == f"START RequestId: {request_id} Version: $LATEST"
    assert lines[1] == "got {'a': 1}"
    assert lines[2] == f"END RequestId: {request_id}"
    assert lines[3].startswith(f"REPORT RequestId: {request_id}\tDuration: ")

    response, _ = invoke(lambda_client, name, {"long": "€" * 3000}, LogType="Tail")  # 9 KB of output
    raw = base64.b64decode(response["LogResult"])
    assert 4000 < len(raw) <= 4096
    text = raw.decode("utf-8")  # strict: no character cut in half
    assert "START RequestId" not in text
    assert text.endswith("\n") and text.splitlines()[-1].startswith("REPORT RequestId: ")


def test_versions_and_aliases(lambda_client: Any, deploy: Callable[..., str]) -> None:
    """ExecutedVersion is the version that ran (an alias's target); the context's ARN is the one invoked."""
    name = deploy({"app.py": ECHO})
    version = lambda_client.publish_version(FunctionName=name)["Version"]
    lambda_client.create_alias(FunctionName=name, Name="live", FunctionVersion=version)
    arn = f"arn:aws:lambda:us-east-1:123456789012:function:{name}"
    for reference, qualifier in ((name, version), (name, "live"), (f"{name}:live", None), (f"{arn}:live", None)):
        response, result = invoke(lambda_client, reference, {}, **({"Qualifier": qualifier} if qualifier else {}))
        assert response["ExecutedVersion"] == version, reference
        assert result["context"]["function_version"] == version
        used = qualifier or "live"
        assert result["context"]["invoked_function_arn"] == f"{arn}:{used}"
    response, result = invoke(lambda_client, name, {})
    assert response["ExecutedVersion"] == "$LATEST"
    assert result["context"]["function_version"] == "$LATEST"
    assert result["context"]["invoked_function_arn"] == arn


def test_worker_exiting_during_init_is_a_runtime_exit_error(
    control_plane: ControlPlane, lambda_client: Any, deploy: Callable[..., str]
) -> None:
    name = deploy({"app.py": "import os\nos._exit(3)\n"})
    for _ in range(2):  # and again with a new worker: nothing is left in a broken state
        response, error = invoke(lambda_client, name, {})
        assert response["FunctionError"] == "Unhandled"
        assert error["errorType"] == "Runtime.ExitError"
    request_id = response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]
    wait_for(lambda: any(m.startswith(f"REPORT RequestId: {request_id}") for m in log_messages(control_plane, name)))
