"""The SageMaker handler contract, in-process (worker.HandlerService) — no processes, no sockets."""

from __future__ import annotations

import json
import types
from typing import Any

import pytest

from orchestrator.dataplane.sagemaker.worker import (
    HandlerContractError,
    HandlerService,
    WireRequest,
    WireResponse,
    decode_requests,
    decode_responses,
    encode_requests,
    encode_responses,
    split_frames,
)


def module(**fns: Any) -> types.SimpleNamespace:
    return types.SimpleNamespace(**fns)


def req(body: bytes | str = b"{}", content_type: str = "application/json", accept: str = "", rid: int = 1) -> WireRequest:
    return WireRequest(rid, content_type, accept, "attr=1", "iid-1", body.encode() if isinstance(body, str) else body)


def test_transform_fn_with_any_of_the_three_is_an_error() -> None:
    m = module(model_fn=lambda d: None, transform_fn=lambda *a: "x", input_fn=lambda b, c: b)
    with pytest.raises(HandlerContractError, match="transform_fn cannot be defined together with input_fn"):
        HandlerService(m, "/tmp")


def test_missing_model_fn_is_a_load_error() -> None:
    with pytest.raises(HandlerContractError, match="model_fn"):
        HandlerService(module(), "/tmp")


def test_transform_fn_gets_model_body_content_type_accept() -> None:
    seen: list[Any] = []

    def transform_fn(model: Any, body: bytes, content_type: str, accept: str) -> tuple[str, str]:
        seen.append((model, body, content_type, accept))
        return "out", "text/plain"

    svc = HandlerService(module(model_fn=lambda d: "M", transform_fn=transform_fn), "/tmp")
    r = svc.handle(req(b"abc", "text/plain", "text/plain"))
    assert (r.status, r.content_type, r.body) == (200, "text/plain", b"out")
    assert seen == [("M", b"abc", "text/plain", "text/plain")]


def test_context_argument_is_passed_when_the_signature_asks_for_it() -> None:
    got: dict[str, Any] = {}

    def model_fn(model_dir: str, context: Any) -> str:
        got["model"] = context.system_properties["model_dir"]
        return "M"

    def input_fn(body: bytes, content_type: str, context: Any) -> Any:
        got["attrs"] = context.request_headers["X-Amzn-SageMaker-Custom-Attributes"]
        return json.loads(body)

    def predict_fn(data: Any, model: Any) -> Any:  # no context: called without it
        return data

    def output_fn(prediction: Any, accept: str, context: Any) -> str:
        got["iid"] = context.get_request_header(0, "X-Amzn-SageMaker-Inference-Id")
        return json.dumps(prediction)

    svc = HandlerService(module(model_fn=model_fn, input_fn=input_fn, predict_fn=predict_fn, output_fn=output_fn), "/md")
    r = svc.handle(req(b'{"a": 1}'))
    assert r.status == 200 and json.loads(r.body) == {"a": 1}
    assert got == {"model": "/md", "attrs": "attr=1", "iid": "iid-1"}


def test_defaults_json_in_json_out_and_accept_star_uses_default_accept() -> None:
    svc = HandlerService(module(model_fn=lambda d: (lambda x: {"sum": sum(x)})), "/tmp")
    r = svc.handle(req(b"[1, 2, 3]", accept="*/*"))
    assert (r.status, r.content_type, json.loads(r.body)) == (200, "application/json", {"sum": 6})
    r = svc.handle(req(b"[1, 2, 3]", accept=""))
    assert r.content_type == "application/json"


def test_default_accept_comes_from_the_environment_setting() -> None:
    svc = HandlerService(module(model_fn=lambda d: (lambda x: [[1, 2]])), "/tmp", default_accept="text/csv")
    r = svc.handle(req(b"1,2\n", "text/csv", "*/*"))
    assert (r.status, r.content_type, r.body) == (200, "text/csv", b"1,2\r\n")


def test_unsupported_content_type_with_default_input_fn_is_415() -> None:
    svc = HandlerService(module(model_fn=lambda d: (lambda x: x)), "/tmp")
    assert svc.handle(req(b"x", "application/x-unknown")).status == 415


def test_output_fn_plain_return_uses_accept_as_content_type() -> None:
    svc = HandlerService(module(model_fn=lambda d: None, predict_fn=lambda d, m: d, output_fn=lambda p, a: "plain"), "/tmp")
    r = svc.handle(req(b"{}", accept="application/x-custom"))
    assert (r.content_type, r.body) == ("application/x-custom", b"plain")


class ToolkitError(Exception):
    def __init__(self, status_code: int, message: str, phrase: str = "") -> None:
        super().__init__(message)
        self.status_code, self.message, self.phrase = status_code, message, phrase


def test_error_with_status_code_keeps_its_status_others_are_500() -> None:
    def input_fn(body: bytes, content_type: str) -> Any:
        data = json.loads(body)
        if data.get("bad"):
            raise ToolkitError(422, "unprocessable sentence")
        raise KeyError("nope")

    svc = HandlerService(module(model_fn=lambda d: None, input_fn=input_fn), "/tmp")
    bad = svc.handle(req(b'{"bad": 1}'))
    assert (bad.status, bad.body) == (422, b"unprocessable sentence")
    other = svc.handle(req(b"{}"))
    assert other.status == 500 and b"KeyError" in other.body


class OutOfMemoryError(RuntimeError):
    """Shaped like torch.OutOfMemoryError (matched by name: the worker never imports torch)."""


@pytest.mark.parametrize(
    "error",
    [MemoryError("cannot allocate 2 GiB"), OutOfMemoryError("CUDA out of memory. Tried to allocate 20 MiB"),
     RuntimeError("CUDA error: CUBLAS_STATUS_NOT_INITIALIZED")],
    ids=["MemoryError", "torch-OutOfMemoryError", "cuda-error"],
)
def test_out_of_memory_is_507_out_of_resources(error: Exception) -> None:
    def predict_fn(data: Any, model: Any) -> Any:
        raise error

    svc = HandlerService(module(model_fn=lambda d: None, predict_fn=predict_fn), "/tmp")
    r = svc.handle(req(b"{}"))
    assert r.status == 507 and r.body.startswith(b"Out of resources: ") and str(error).encode() in r.body


def test_batch_hook_runs_one_forward_and_failures_fall_back_per_request() -> None:
    calls: list[int] = []

    def predict_batch_fn(inputs: list[Any], model: Any) -> list[Any]:
        calls.append(len(inputs))
        if any(i.get("poison") for i in inputs):
            raise ValueError("batch failed")
        return [{"n": i["n"] * 2} for i in inputs]

    def predict_fn(data: Any, model: Any) -> Any:
        if data.get("poison"):
            raise ToolkitError(400, "poisoned")
        return {"n": data["n"] * 2}

    svc = HandlerService(module(model_fn=lambda d: None, predict_fn=predict_fn, predict_batch_fn=predict_batch_fn), "/tmp")
    batch = [req(json.dumps({"n": i}), rid=i) for i in range(4)] + [req(b"not json", rid=9)]
    out = svc.handle_batch(batch)
    assert calls == [4]
    assert [json.loads(r.body)["n"] for r in out[:4]] == [0, 2, 4, 6]
    assert out[4].status == 500 and [r.request_id for r in out] == [0, 1, 2, 3, 9]
    # a failing batch gives each request exactly its own per-request answer
    out = svc.handle_batch([req('{"n": 1}', rid=1), req('{"n": 2, "poison": 1}', rid=2)])
    assert [r.status for r in out] == [200, 400] and out[1].body == b"poisoned"


def test_wire_format_round_trip() -> None:
    reqs = [WireRequest(7, "application/json", "*/*", "a=b", "id", b"x" * 70000), WireRequest(8, "", "", "", "", b"")]
    frame = encode_requests(reqs)
    frames, used = split_frames(bytearray(frame + b"\x01"))
    assert used == len(frame) and decode_requests(frames[0][1]) == reqs
    resps = [WireResponse(7, 200, "application/json", b"{}", "answered=1"), WireResponse(8, 503, "text/plain", b"Worker died.")]
    frames, _ = split_frames(bytearray(encode_responses(resps)))
    assert decode_responses(frames[0][1]) == resps


def test_model_archives_are_extracted_safely(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import io
    import tarfile

    from orchestrator.dataplane.sagemaker.model_data import ModelDataError, resolve_model_dir

    def archive(name: str, members: dict[str, bytes]) -> str:
        path = tmp_path / name
        with tarfile.open(path, "w:gz") as tar:
            for member, data in members.items():
                info = tarfile.TarInfo(member)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
        return str(path)

    good = resolve_model_dir(archive("good.tar.gz", {"code/inference.py": b"x = 1\n", "model.json": b"{}"}), tmp_path / "work")
    assert sorted(p.name for p in good.iterdir()) == ["code", "model.json"]
    assert resolve_model_dir(str(tmp_path / "good.tar.gz"), tmp_path / "work") == good  # cached
    with pytest.raises(ModelDataError):
        resolve_model_dir(archive("evil.tar.gz", {"../escape.py": b"boom"}), tmp_path / "work")
    assert not (tmp_path / "escape.py").exists()
    fetched: list[tuple[str, str]] = []

    def fetch(bucket: str, key: str, dest) -> None:  # type: ignore[no-untyped-def]
        fetched.append((bucket, key))
        dest.write_bytes((tmp_path / "good.tar.gz").read_bytes())

    s3_dir = resolve_model_dir("s3://bucket/models/a/model.tar.gz", tmp_path / "work", fetch)
    assert fetched == [("bucket", "models/a/model.tar.gz")] and (s3_dir / "code" / "inference.py").exists()


def _modules() -> list[types.SimpleNamespace]:
    def input_fn(body: bytes, content_type: str, context: Any) -> Any:
        data = json.loads(body)
        if data.get("in"):
            raise ToolkitError(415, "input refused")
        return {**data, "attrs": context.request_headers.get("X-Amzn-SageMaker-Custom-Attributes")}

    def predict_fn(data: Any, model: Any) -> Any:
        if data.get("predict"):
            raise RuntimeError("predict broke")
        return {"model": model, **data}

    def output_fn(prediction: Any, accept: str) -> Any:
        if prediction.get("out"):
            raise ToolkitError(406, "cannot render")
        return json.dumps(prediction), accept

    return [
        module(model_fn=lambda d: "M", input_fn=input_fn, predict_fn=predict_fn, output_fn=output_fn),
        module(model_fn=lambda d: "M", transform_fn=lambda m, b, c, a: b"T" + b if b != b'{"in": 1}' else 1 / 0),
        module(model_fn=lambda d: "M"),  # the defaults: json in, model(data), json out
    ]


@pytest.mark.parametrize("index", [0, 1, 2])
@pytest.mark.parametrize("body", ['{"n": 1}', '{"in": 1}', '{"predict": 1}', '{"out": 1}', "not json"])
def test_a_lone_request_gets_exactly_the_answer_it_would_get_in_a_batch(index: int, body: str) -> None:
    svc = HandlerService(_modules()[index], "/tmp")
    if index == 2:
        svc.model = lambda data: {"echo": data}
    alone = svc.handle_batch([req(body, accept="*/*", rid=7)])
    in_batch = svc.handle_batch([req('{"n": 0}', rid=6), req(body, accept="*/*", rid=7)])
    assert alone == in_batch[1:]
