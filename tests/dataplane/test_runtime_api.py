"""InvokeEndpoint through boto3 against the local runtime: success, the error model, routing."""

from __future__ import annotations

import io
import json
import tarfile
import time
import urllib.request
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from dataplane_helpers import ECHO, endpoint

from orchestrator.dataplane.sagemaker import LocalSageMakerRuntime
from orchestrator.dataplane.sagemaker import instance as instance_module

pytestmark = pytest.mark.timeout(120)  # a hung worker or socket must fail the test, not CI

def invoke(smr: Any, name: str = "ep", body: bytes = b'{"x": 1}', **kw: Any) -> dict[str, Any]:
    return smr.invoke_endpoint(EndpointName=name, Body=body, ContentType=kw.pop("ContentType", "application/json"), **kw)


def error_of(fn: Callable[[], Any]) -> tuple[int, dict[str, Any]]:
    with pytest.raises(ClientError) as info:
        fn()
    return info.value.response["ResponseMetadata"]["HTTPStatusCode"], info.value.response


@pytest.fixture
def served(runtime: LocalSageMakerRuntime, model_factory: Callable[..., Any]) -> LocalSageMakerRuntime:
    d = model_factory()
    state = runtime.apply(endpoint("ep", ("a", d, 1.0, {"SAGEMAKER_MODEL_SERVER_WORKERS": "1"})))
    assert state.status == "InService", state.failure_reason
    return runtime


def test_success_headers_body_and_custom_attributes(served: LocalSageMakerRuntime, smr: Any) -> None:
    r = invoke(smr, CustomAttributes="trace=abc", InferenceId="req-1", Accept="application/json")
    assert json.loads(r["Body"].read())["echo"] == {"x": 1}
    assert r["ContentType"] == "application/json"
    assert r["InvokedProductionVariant"] == "a"
    assert "CustomAttributes" not in r  # the model set none: SageMaker never echoes the request's


ANSWERS_ATTRIBUTES = """
import json

def model_fn(model_dir):
    return None

def transform_fn(model, body, content_type, accept, context):
    asked = context.get_request_header(0, "X-Amzn-SageMaker-Custom-Attributes")
    if asked:
        context.set_response_header(0, "x-amzn-sagemaker-custom-attributes", "answered=" + asked)
    return json.dumps({"asked": asked}), "application/json"
"""


def test_custom_attributes_answered_by_the_model(runtime: LocalSageMakerRuntime, model_factory: Callable[..., Any], smr: Any) -> None:
    """The model's answer reaches the caller verbatim, through InvokeEndpoint and the container port."""
    runtime.apply(endpoint("attrs", ("a", model_factory(ANSWERS_ATTRIBUTES, "attrs"), 1.0, {"SAGEMAKER_MODEL_SERVER_WORKERS": "1"})))
    r = invoke(smr, "attrs", CustomAttributes="trace=abc")
    assert json.loads(r["Body"].read()) == {"asked": "trace=abc"} and r["CustomAttributes"] == "answered=trace=abc"
    assert "CustomAttributes" not in invoke(smr, "attrs")
    assert runtime.manager is not None
    url = runtime.manager.status_document()["attrs"]["variants"][0]["instances"][0]["container_url"]
    req = urllib.request.Request(url + "/invocations", data=b"{}", headers={
        "Content-Type": "application/json", "X-Amzn-SageMaker-Custom-Attributes": "direct=1"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.headers["X-Amzn-SageMaker-Custom-Attributes"] == "answered=direct=1"


def test_unknown_endpoint_and_variant_are_validation_errors(served: LocalSageMakerRuntime, smr: Any) -> None:
    status, resp = error_of(lambda: invoke(smr, "missing"))
    assert status == 400 and resp["Error"]["Code"] == "ValidationError"
    assert resp["Error"]["Message"] == "Endpoint missing of account 123456789012 not found."
    status, resp = error_of(lambda: invoke(smr, TargetVariant="zzz"))
    assert status == 400 and resp["Error"]["Code"] == "ValidationError" and "zzz" in resp["Error"]["Message"]


def test_oversize_payload_is_a_validation_error(served: LocalSageMakerRuntime, smr: Any) -> None:
    status, resp = error_of(lambda: invoke(smr, body=b"x" * (6 * 1024 * 1024 + 1)))
    assert status == 400 and resp["Error"]["Code"] == "ValidationError"
    # exactly 6 MiB reaches the model (which rejects non-JSON with its own 400)
    status, resp = error_of(lambda: invoke(smr, body=b"x" * (6 * 1024 * 1024)))
    assert status == 424 and resp["OriginalStatusCode"] == 500


def test_model_errors_are_424_with_the_original_status(served: LocalSageMakerRuntime, smr: Any) -> None:
    status, resp = error_of(lambda: invoke(smr, body=b'{"bad": "x"}'))
    assert status == 424 and resp["Error"]["Code"] == "ModelError"
    assert resp["Error"]["Message"].startswith('Received client error (400) from primary with message "bad input: x"')
    assert resp["OriginalStatusCode"] == 400 and resp["OriginalMessage"] == "bad input: x"
    status, resp = error_of(lambda: invoke(smr, body=b'{"boom": 1}'))
    assert status == 424 and resp["OriginalStatusCode"] == 500
    assert resp["Error"]["Message"].startswith("Received server error (500) from primary with message")
    status, resp = error_of(lambda: invoke(smr, ContentType="text/csv"))
    assert resp["OriginalStatusCode"] == 400 and "only application/json" in resp["OriginalMessage"]


def test_invocation_timeout_is_a_424(runtime: LocalSageMakerRuntime, model_factory: Callable[..., Any], smr: Any) -> None:
    d = model_factory()
    runtime.apply(endpoint("slow", ("a", d, 1.0, {"SAGEMAKER_MODEL_SERVER_WORKERS": "1", "SAGEMAKER_MODEL_SERVER_TIMEOUT": "1"})))
    t = time.monotonic()
    status, resp = error_of(lambda: invoke(smr, "slow", body=b'{"sleep": 5}'))
    assert status == 424 and "invocation timed out" in resp["Error"]["Message"]
    assert time.monotonic() - t < 4
    deadline = time.monotonic() + 10  # the stuck worker is recycled and serves again
    while True:
        try:
            invoke(smr, "slow")
            break
        except ClientError:
            assert time.monotonic() < deadline
            time.sleep(0.1)


def test_invoke_endpoint_answers_within_sagemakers_limit_even_if_the_model_server_allows_longer(
    runtime: LocalSageMakerRuntime, model_factory: Callable[..., Any], smr: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SageMaker gives up after 60 s (here 1 s) whatever SAGEMAKER_MODEL_SERVER_TIMEOUT says; the worker,
    still within the model server's timeout, is not recycled and its late answer is dropped."""
    monkeypatch.setattr(instance_module, "INVOKE_TIMEOUT_S", 1.0)
    d = model_factory()
    runtime.apply(endpoint("patient", ("a", d, 1.0, {"SAGEMAKER_MODEL_SERVER_WORKERS": "1", "SAGEMAKER_MODEL_SERVER_TIMEOUT": "30"})))
    pid = json.loads(invoke(smr, "patient")["Body"].read())["pid"]
    t = time.monotonic()
    status, resp = error_of(lambda: invoke(smr, "patient", body=b'{"sleep": 2}'))
    assert status == 424 and "invocation timed out" in resp["Error"]["Message"]
    assert time.monotonic() - t < 1.9
    time.sleep(max(0.0, t + 2.3 - time.monotonic()))  # the worker finishes the slow request
    after = json.loads(invoke(smr, "patient")["Body"].read())
    assert after["pid"] == pid and after["echo"] == {"x": 1}


def test_model_load_failure_fails_the_endpoint_with_the_models_error(
    runtime: LocalSageMakerRuntime, model_factory: Callable[..., Any], smr: Any
) -> None:
    d = model_factory("def model_fn(model_dir):\n    raise FileNotFoundError('model.pt is missing from the archive')\n", "broken")
    state = runtime.apply(endpoint("broken", ("v1", d, 1.0, {"SAGEMAKER_MODEL_SERVER_WORKERS": "2"})))
    assert state.status == "Failed"
    assert "v1-model" in state.failure_reason and "model.pt is missing from the archive" in state.failure_reason
    status, resp = error_of(lambda: invoke(smr, "broken"))
    assert status == 400 and resp["Error"]["Code"] == "ValidationError"


def _unsafe_member(kind: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo({"absolute": "/tmp/evil.py", "dotdot": "code/../../evil.py"}.get(kind, "code/evil"))
    if kind == "symlink":
        info.type, info.linkname = tarfile.SYMTYPE, "inference.py"  # even one pointing inside is refused
    elif kind == "hardlink":
        info.type, info.linkname = tarfile.LNKTYPE, "code/inference.py"
    elif kind == "device":
        info.type, info.devmajor, info.devminor = tarfile.CHRTYPE, 1, 3
    elif kind == "fifo":
        info.type = tarfile.FIFOTYPE
    return info


@pytest.mark.parametrize("kind", ["absolute", "dotdot", "symlink", "hardlink", "device", "fifo"])
def test_an_archive_with_an_unsafe_member_fails_the_endpoint_naming_it(
    kind: str, tmp_path: Path, runtime: LocalSageMakerRuntime
) -> None:
    """Nothing of the archive is written, and the FailureReason names the member (terraform apply shows it)."""
    path = tmp_path / "model.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        source = ECHO.encode()
        info = tarfile.TarInfo("code/inference.py")
        info.size = len(source)
        tar.addfile(info, io.BytesIO(source))
        tar.addfile(_unsafe_member(kind))
    state = runtime.apply(endpoint("unsafe", ("a", path, 1.0, {"SAGEMAKER_MODEL_SERVER_WORKERS": "1"})))
    member = _unsafe_member(kind).name
    assert state.status == "Failed" and member in state.failure_reason, state.failure_reason
    assert not list((tmp_path / "work").rglob("inference.py"))  # refused whole, before writing anything


def test_container_settings_default_as_in_the_contract(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Workers = CPU count, batch 1, 100 ms max delay once batching, 60 s model-server timeout."""
    monkeypatch.setattr(instance_module.os, "cpu_count", lambda: 3)
    plain = instance_module.ModelInstance(model_name="m", model_dir=tmp_path, env={})
    assert (plain.workers_count, plain.batch_size, plain.max_delay, plain.timeout) == (3, 1, 0.0, 60.0)
    assert plain.answer_within == 60.0 and plain.process_env["SAGEMAKER_PROGRAM"] == "inference.py"
    batching = instance_module.ModelInstance(model_name="m", model_dir=tmp_path, env={"SAGEMAKER_TS_BATCH_SIZE": "8"})
    assert (batching.batch_size, batching.max_delay) == (8, 0.1)


def test_sagemaker_program_names_the_entry_module(runtime: LocalSageMakerRuntime, model_factory: Callable[..., Any], smr: Any) -> None:
    d = model_factory("raise RuntimeError('inference.py must not be imported')\n", "program")
    (d / "code" / "serve.py").write_text(ECHO)
    env = {"SAGEMAKER_MODEL_SERVER_WORKERS": "1", "SAGEMAKER_PROGRAM": "serve.py"}
    assert runtime.apply(endpoint("program", ("a", d, 1.0, env))).status == "InService"
    assert json.loads(invoke(smr, "program")["Body"].read())["echo"] == {"x": 1}


def test_not_ready_while_creating_is_429(runtime: LocalSageMakerRuntime, model_factory: Callable[..., Any], smr: Any) -> None:
    d = model_factory("import time\ntime.sleep(1.5)\n" + ECHO, "slowload")
    future = runtime.apply_async(endpoint("creating", ("a", d, 1.0, {"SAGEMAKER_MODEL_SERVER_WORKERS": "1"})))
    time.sleep(0.3)
    status, resp = error_of(lambda: invoke(smr, "creating"))
    assert status == 429 and resp["Error"]["Code"] == "ModelNotReadyException"
    assert future.result(30).status == "InService"
    assert invoke(smr, "creating")["InvokedProductionVariant"] == "a"


def test_weights_split_traffic_and_target_variant_overrides(
    runtime: LocalSageMakerRuntime, model_factory: Callable[..., Any], smr: Any
) -> None:
    d = model_factory()
    env = {"SAGEMAKER_MODEL_SERVER_WORKERS": "1"}
    runtime.apply(endpoint("ab", ("a", d, 3.0, env), ("b", d, 1.0, env)))
    with ThreadPoolExecutor(8) as pool:
        got = Counter(pool.map(lambda _: invoke(smr, "ab")["InvokedProductionVariant"], range(400)))
    # 300 expected on a; binomial sd ~8.7: +-5 sd
    assert 256 <= got["a"] <= 344 and got["a"] + got["b"] == 400
    assert {invoke(smr, "ab", TargetVariant="b")["InvokedProductionVariant"] for _ in range(20)} == {"b"}


def test_ping(served: LocalSageMakerRuntime) -> None:
    import urllib.request

    assert urllib.request.urlopen(f"{served.url}/ping", timeout=5).status == 200
    r = urllib.request.urlopen(f"{served.url}/endpoints/ep/ping", timeout=5)
    assert r.status == 200 and json.loads(r.read()) == {"status": "Healthy", "workers": {"a": 1}}


def test_full_queue_is_service_unavailable(runtime: LocalSageMakerRuntime, model_factory: Callable[..., Any], smr: Any) -> None:
    d = model_factory()
    runtime.apply(endpoint("busy", ("a", d, 1.0, {"SAGEMAKER_MODEL_SERVER_WORKERS": "1", "TS_JOB_QUEUE_SIZE": "1"})))

    def call(_: int) -> str:
        try:
            invoke(smr, "busy", body=b'{"sleep": 0.5}')
            return "ok"
        except ClientError as exc:
            assert exc.response["ResponseMetadata"]["HTTPStatusCode"] == 503
            return exc.response["Error"]["Code"]

    with ThreadPoolExecutor(6) as pool:
        got = Counter(pool.map(call, range(6)))
    assert got["ok"] >= 1 and got["ServiceUnavailable"] >= 1 and set(got) <= {"ok", "ServiceUnavailable"}


ISOLATION = """
import json, os, sys


def model_fn(model_dir):
    try:
        import orchestrator  # noqa: F401
        reachable = True
    except ImportError:
        reachable = False
    return {"orchestrator_importable": reachable, "path0": sys.path[0], "cwd": os.getcwd(), "isolated": sys.flags.isolated}

def transform_fn(model, body, content_type, accept):
    return json.dumps(model), "application/json"
"""


def test_workers_run_user_code_isolated_from_the_orchestrator(
    runtime: LocalSageMakerRuntime, model_factory: Callable[..., Any], smr: Any
) -> None:
    d = model_factory(ISOLATION, "isolated")
    runtime.apply(endpoint("iso", ("a", d, 1.0, {"SAGEMAKER_MODEL_SERVER_WORKERS": "1"})))
    got = json.loads(invoke(smr, "iso")["Body"].read())
    assert got == {"orchestrator_importable": False, "path0": str(d / "code"), "cwd": str(d), "isolated": 1}


def test_header_limits_and_internal_failure(served: LocalSageMakerRuntime, smr: Any) -> None:
    status, resp = error_of(lambda: invoke(smr, InferenceId="i" * 65))
    assert status == 400 and resp["Error"]["Code"] == "ValidationError" and "inferenceId" in resp["Error"]["Message"]
    status, resp = error_of(lambda: invoke(smr, CustomAttributes="a" * 1025))
    assert status == 400 and "customAttributes" in resp["Error"]["Message"]
    assert invoke(smr, InferenceId="i" * 64, CustomAttributes="a" * 1024)["InvokedProductionVariant"] == "a"
    assert served.manager is not None
    live = served.manager.endpoints["ep"]

    def broken(target: Any) -> Any:
        raise RuntimeError("routing table corrupt")

    live.pick = broken  # type: ignore[method-assign]
    status, resp = error_of(lambda: invoke(smr))
    assert status == 500 and resp["Error"]["Code"] == "InternalFailure"
