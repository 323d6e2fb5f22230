"""One model-server worker process: the SageMaker handler contract, run in isolation.

This file is both a module (the front end imports its wire-format helpers and tests import
`HandlerService`) and the worker's entry point (`python -I -S worker.py --fd N --model-dir D`).
It deliberately imports nothing but the standard library: a worker runs a *user's* code with only
`<model_dir>/code` prepended to `sys.path` (plus the interpreter's site-packages), exactly like a
SageMaker framework container, so that an inference.py that works here works there and cannot reach
the orchestrator's modules by accident.

Handler contract (sagemaker-inference / sagemaker-pytorch-inference toolkits):
  * `model_fn(model_dir[, context])` once per worker;
  * per request `output_fn(predict_fn(input_fn(body, content_type), model), accept)`, or a single
    `transform_fn(model, body, content_type, accept)` — defining `transform_fn` together with any
    of the three is an error (the worker reports a model load failure);
  * every handler may take one extra trailing `context` argument (detected from its signature);
  * `output_fn` may return `(body, content_type)`; otherwise the response type is the Accept;
  * Accept missing or `*/*` -> `SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT` (default application/json);
  * an exception carrying an int `status_code` (the toolkit's BaseInferenceToolkitError, or the
    example models' errors) answers with that status and its `message` (or str(exc)); any other
    exception answers 500 with "<ExceptionType>: <message>".

Defaults where the module lacks a handler (a documented subset of the toolkit's):
  * model_fn: none — a missing model_fn is a model load failure (as in the toolkit);
  * input_fn: application/json -> json.loads; text/csv -> list of rows of floats;
    application/x-npy -> numpy.load (if numpy is importable); anything else -> 415;
  * predict_fn: `model(data)`;
  * output_fn: application/json -> json.dumps (tensors/arrays via .tolist()); text/csv -> rows;
    application/x-npy -> numpy.save; anything else -> 415.

Batching extension (optional, ours): a module may define `predict_batch_fn(inputs, model[, context])`
taking the list of `input_fn` results of a batch and returning one prediction per input, in order —
one forward pass for many single-item requests. Per-request semantics stay identical: `input_fn` and
`output_fn` still run per request, a request whose `input_fn` fails gets its own error, and if
`predict_batch_fn` raises (or returns the wrong number of items) the batch is re-run request by request
through `predict_fn`, so each request gets exactly the answer it would get alone. Without the hook a
batch is simply the per-request contract applied in order.

Serving: `ModelServer` is the worker's event loop. It answers the front end's batches on the socketpair
and, when given the instance's container port (`--listen-port`), the container contract on its own
SO_REUSEPORT socket on that port (container_http.py): the same handlers, its own batching, queue bound
and invocation timeout.

Parent-death guard: the worker exits when its socket to the front end reaches EOF, when its parent
pid changes (a watchdog thread), and via prctl(PR_SET_PDEATHSIG, SIGKILL) on Linux.
"""

from __future__ import annotations

import csv
import errno
import gc
import importlib
import inspect
import io
import json
import os
import signal
import socket
import struct
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple


def _load_sibling(name: str) -> Any:
    """A stdlib-only module next to this file, loaded by path under a private name.

    As a worker this file runs as a script with only the user's code/ on sys.path; putting this
    directory on the path would expose the front end's modules to the user's imports.
    """
    import importlib.util

    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), name + ".py")
    spec = importlib.util.spec_from_file_location(f"_sagemaker_worker_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


if __package__:
    from orchestrator.dataplane.sagemaker import container_http as http1
else:  # the worker process
    http1 = _load_sibling("container_http")

# ----------------------------------------------------------------------------------------------
# Wire format between the front end and a worker (one SOCK_STREAM socketpair per worker).
# frame := u32 length-of-rest | u8 kind | payload
# ----------------------------------------------------------------------------------------------
KIND_READY = 1  # worker -> front: payload = JSON {"pid": int}
KIND_LOAD_FAILED = 2  # worker -> front: payload = UTF-8 error text
KIND_REQUESTS = 3  # front -> worker: u16 count, then per request _REQ header + fields
KIND_RESPONSES = 4  # worker -> front: u16 count, then per response _RESP header + fields

_FRAME = struct.Struct("<IB")
_COUNT = struct.Struct("<H")
# request id, len(content_type), len(accept), len(custom_attributes), len(inference_id), len(body)
_REQ = struct.Struct("<IHHHHI")
# request id, status, len(content_type), len(custom_attributes), len(body)
_RESP = struct.Struct("<IHHHI")


class WireRequest(NamedTuple):
    request_id: int
    content_type: str
    accept: str
    custom_attributes: str
    inference_id: str
    body: bytes


class WireResponse(NamedTuple):
    request_id: int
    status: int
    content_type: str
    body: bytes
    custom_attributes: str = ""  # what the handler set as X-Amzn-SageMaker-Custom-Attributes, if anything


def encode_frame(kind: int, payload: bytes) -> bytes:
    return _FRAME.pack(len(payload) + 1, kind) + payload


def _b(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else value.encode()


def encode_requests(requests: list[WireRequest]) -> bytes:
    """One KIND_REQUESTS frame (string fields may already be bytes: the front end keeps them raw)."""
    parts: list[bytes] = [_COUNT.pack(len(requests))]
    append, pack = parts.append, _REQ.pack
    for r in requests:
        ct, acc, attrs, iid, body = _b(r.content_type), _b(r.accept), _b(r.custom_attributes), _b(r.inference_id), r.body
        append(pack(r.request_id, len(ct), len(acc), len(attrs), len(iid), len(body)))
        append(ct + acc + attrs + iid)
        append(body)
    payload = b"".join(parts)
    return _FRAME.pack(len(payload) + 1, KIND_REQUESTS) + payload


_strings_cache: dict[bytes, tuple[str, str, str, str]] = {}


def decode_requests(payload: memoryview) -> list[WireRequest]:
    (count,) = _COUNT.unpack_from(payload, 0)
    pos = _COUNT.size
    out: list[WireRequest] = []
    append, unpack, size, cache = out.append, _REQ.unpack_from, _REQ.size, _strings_cache
    for _ in range(count):
        rid, lct, lacc, lattr, liid, lbody = unpack(payload, pos)
        pos += size
        n = lct + lacc + lattr + liid
        raw = bytes(payload[pos : pos + n])
        fields = cache.get(raw)
        if fields is None:  # headers repeat across requests: decode each distinct combination once
            text = raw.decode()
            a, b, c = lct, lct + lacc, lct + lacc + lattr
            fields = (text[:a], text[a:b], text[b:c], text[c:])
            if len(cache) < 4096 and not liid:
                cache[raw] = fields
        pos += n
        append(WireRequest(rid, fields[0], fields[1], fields[2], fields[3], bytes(payload[pos : pos + lbody])))
        pos += lbody
    return out


def encode_responses(responses: list[WireResponse]) -> bytes:
    parts: list[bytes] = [_COUNT.pack(len(responses))]
    append, pack = parts.append, _RESP.pack
    for r in responses:
        ct, attrs = r.content_type.encode(), r.custom_attributes.encode()
        append(pack(r.request_id, r.status, len(ct), len(attrs), len(r.body)))
        append(ct + attrs)
        append(r.body)
    payload = b"".join(parts)
    return _FRAME.pack(len(payload) + 1, KIND_RESPONSES) + payload


def decode_responses(payload: memoryview) -> list[WireResponse]:
    (count,) = _COUNT.unpack_from(payload, 0)
    pos = _COUNT.size
    out: list[WireResponse] = []
    append, unpack, size = out.append, _RESP.unpack_from, _RESP.size
    for _ in range(count):
        rid, status, lct, lattrs, lbody = unpack(payload, pos)
        pos += size
        ct = bytes(payload[pos : pos + lct]).decode()
        pos += lct
        attrs = bytes(payload[pos : pos + lattrs]).decode() if lattrs else ""
        pos += lattrs
        append(WireResponse(rid, status, ct, bytes(payload[pos : pos + lbody]), attrs))
        pos += lbody
    return out


def split_frames(buf: bytearray) -> tuple[list[tuple[int, memoryview]], int]:
    """Complete frames in `buf` as (kind, payload) and the number of bytes they used."""
    frames: list[tuple[int, memoryview]] = []
    pos, n = 0, len(buf)
    view = memoryview(buf)
    while n - pos >= 5:
        length, kind = _FRAME.unpack_from(buf, pos)
        if n - pos - 4 < length:
            break
        frames.append((kind, view[pos + 5 : pos + 4 + length]))
        pos += 4 + length
    return frames, pos


# ----------------------------------------------------------------------------------------------
# The handler contract.
# ----------------------------------------------------------------------------------------------
class InferenceError(Exception):
    """An error with its own HTTP status, like the toolkit's BaseInferenceToolkitError."""

    def __init__(self, status_code: int, message: str, phrase: str = "") -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message
        self.phrase = phrase


class HandlerContractError(Exception):
    """The user module breaks the contract (e.g. transform_fn together with input_fn)."""


_CUSTOM_ATTRIBUTES = "x-amzn-sagemaker-custom-attributes"


class Context:
    """What a handler's optional trailing `context` argument receives (one per request).

    Shaped after TorchServe's Context as far as a SageMaker handler uses it: system_properties,
    model_name, the request's headers, and response headers: a handler answers SageMaker's response
    `CustomAttributes` with ``context.set_response_header(0, "X-Amzn-SageMaker-Custom-Attributes", v)``
    (SageMaker forwards it verbatim; a request's own attributes are never echoed).
    """

    __slots__ = ("model_dir", "model_name", "request_headers", "response_headers", "system_properties", "worker_id")

    def __init__(
        self,
        model_name: str,
        model_dir: str,
        worker_id: int,
        system_properties: dict[str, Any],
        request_headers: dict[str, str] | None = None,
    ) -> None:
        self.model_name = model_name
        self.model_dir = model_dir
        self.worker_id = worker_id
        self.system_properties = system_properties
        self.request_headers = request_headers or {}
        self.response_headers: dict[str, str] = {}

    def get_request_header(self, idx: int, key: str) -> str | None:  # TorchServe-compatible
        return self.request_headers.get(key)

    def set_response_header(self, idx: int, key: str, value: str) -> None:  # TorchServe-compatible
        self.response_headers[key] = str(value)

    def get_response_headers(self, idx: int) -> dict[str, str]:  # TorchServe-compatible
        return self.response_headers

    def custom_attributes(self) -> str:
        """The response's X-Amzn-SageMaker-Custom-Attributes the handler set (header names are
        case-insensitive), or ""."""
        for key, value in self.response_headers.items():
            if key.lower() == _CUSTOM_ATTRIBUTES:
                return value
        return ""

    def for_request(self, headers: dict[str, str]) -> Context:
        return Context(self.model_name, self.model_dir, self.worker_id, self.system_properties, headers)


def _accepts_context(fn: Callable[..., Any], base_args: int) -> bool:
    """True when `fn` takes one positional argument more than the contract's `base_args`."""
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return False
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if any(p.kind == p.VAR_POSITIONAL for p in params):
        return True
    return len(positional) > base_args


def _tolist(obj: Any) -> Any:
    if hasattr(obj, "tolist"):
        return obj.tolist()
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")


def default_input_fn(body: bytes, content_type: str | None) -> Any:
    media = (content_type or "").split(";")[0].strip().lower()
    if media == "application/json":
        return json.loads(body)
    if media == "text/csv":
        text = body.decode() if isinstance(body, (bytes, bytearray)) else str(body)
        return [[float(v) for v in row] for row in csv.reader(io.StringIO(text)) if row]
    if media == "application/x-npy":
        import numpy  # only when a model sends numpy arrays

        return numpy.load(io.BytesIO(body), allow_pickle=False)
    raise InferenceError(415, f"Content type {content_type} is not supported by this framework.")


def default_predict_fn(data: Any, model: Any) -> Any:
    return model(data)


def default_output_fn(prediction: Any, accept: str) -> Any:
    media = accept.split(";")[0].strip().lower()
    if media == "application/json":
        return json.dumps(prediction, default=_tolist)
    if media == "text/csv":
        rows = prediction.tolist() if hasattr(prediction, "tolist") else prediction
        if not isinstance(rows, list):
            rows = [rows]
        out = io.StringIO()
        writer = csv.writer(out)
        for row in rows:
            writer.writerow(row if isinstance(row, (list, tuple)) else [row])
        return out.getvalue()
    if media == "application/x-npy":
        import numpy

        buf = io.BytesIO()
        numpy.save(buf, numpy.asarray(prediction), allow_pickle=False)
        return buf.getvalue()
    raise InferenceError(415, f"Accept type {accept} is not supported by this framework.")


def _out_of_memory(exc: BaseException) -> bool:
    """MemoryError, torch's OutOfMemoryError, or a CUDA error (TorchServe treats those as near-OOM)."""
    return isinstance(exc, MemoryError) or type(exc).__name__ == "OutOfMemoryError" or "CUDA" in str(exc)


def error_status_and_body(exc: BaseException) -> tuple[int, bytes]:
    """The container's answer for a handler exception: its own status if it carries one; 507 "Out of
    resources" when the handler ran out of memory (the model server's answer, as TorchServe gives it);
    else 500."""
    status = getattr(exc, "status_code", None)
    if isinstance(status, int) and 400 <= status <= 599:
        message = getattr(exc, "message", None)
        text = message if isinstance(message, str) and message else str(exc)
        return status, text.encode()
    if _out_of_memory(exc):
        return 507, f"Out of resources: {type(exc).__name__}: {exc}".encode()
    return 500, f"{type(exc).__name__}: {exc}".encode()


class HandlerService:
    """Loads a user module's model once and answers requests with the SageMaker contract."""

    def __init__(
        self,
        module: Any,
        model_dir: str,
        *,
        model_name: str = "model",
        worker_id: int = 0,
        default_accept: str = "application/json",
    ) -> None:
        has_transform = hasattr(module, "transform_fn")
        three = [n for n in ("input_fn", "predict_fn", "output_fn") if hasattr(module, n)]
        if has_transform and three:
            raise HandlerContractError(
                "transform_fn cannot be defined together with " + ", ".join(three) + " in the inference script"
            )
        self.default_accept = default_accept or "application/json"
        self.base_context = Context(model_name, model_dir, worker_id, {"model_dir": model_dir, "gpu_id": None})
        model_fn = getattr(module, "model_fn", None)
        if model_fn is None:
            raise HandlerContractError(
                "Please provide a model_fn implementation. See documentation for model_fn at "
                "https://sagemaker.readthedocs.io/en/stable/frameworks/pytorch/using_pytorch.html"
            )
        self.model = self._call(model_fn, 1, (model_dir,), self.base_context)
        self.transform_fn = getattr(module, "transform_fn", None)
        self.input_fn: Callable[..., Any] = getattr(module, "input_fn", default_input_fn)
        self.predict_fn: Callable[..., Any] = getattr(module, "predict_fn", default_predict_fn)
        self.output_fn: Callable[..., Any] = getattr(module, "output_fn", default_output_fn)
        self.predict_batch_fn = getattr(module, "predict_batch_fn", None)
        self._ctx = {
            name: _accepts_context(fn, n)
            for name, fn, n in (
                ("transform_fn", self.transform_fn, 4),
                ("input_fn", self.input_fn, 2),
                ("predict_fn", self.predict_fn, 2),
                ("output_fn", self.output_fn, 2),
                ("predict_batch_fn", self.predict_batch_fn, 2),
            )
            if fn is not None
        }
        self._any_ctx = any(self._ctx.values())

    @staticmethod
    def _call(fn: Callable[..., Any], base: int, args: tuple[Any, ...], ctx: Context | None) -> Any:
        if _accepts_context(fn, base):
            return fn(*args, ctx)
        return fn(*args)

    def _context(self, req: WireRequest) -> Context | None:
        if not self._any_ctx:
            return None
        headers = {"Content-Type": req.content_type, "Accept": req.accept}
        if req.custom_attributes:
            headers["X-Amzn-SageMaker-Custom-Attributes"] = req.custom_attributes
        if req.inference_id:
            headers["X-Amzn-SageMaker-Inference-Id"] = req.inference_id
        return self.base_context.for_request(headers)

    def _accept(self, req: WireRequest) -> str:
        accept = req.accept
        if not accept or accept == "*/*":
            return self.default_accept
        return accept

    def _encode(self, rid: int, result: Any, accept: str, ctx: Context | None) -> WireResponse:
        if isinstance(result, tuple) and len(result) == 2:
            body, content_type = result
        else:
            body, content_type = result, accept
        if isinstance(body, str):
            data = body.encode()
        elif isinstance(body, (bytes, bytearray, memoryview)):
            data = bytes(body)
        else:
            data = json.dumps(body, default=_tolist).encode()
        return WireResponse(rid, 200, str(content_type), data, ctx.custom_attributes() if ctx is not None else "")

    def _fail(self, rid: int, exc: BaseException) -> WireResponse:
        status, body = error_status_and_body(exc)
        if status >= 500:
            traceback.print_exception(exc, file=sys.stderr)
        return WireResponse(rid, status, "text/plain", body)

    def _handle_one(self, r: WireRequest) -> WireResponse:
        """A batch of one, without the batch bookkeeping (the same calls, in the same order)."""
        ctx = self._context(r)
        accept = self._accept(r)
        c = self._ctx
        try:
            ct = r.content_type or None
            if self.transform_fn is not None:
                args = (self.model, r.body, ct, accept)
                res = self.transform_fn(*args, ctx) if c["transform_fn"] else self.transform_fn(*args)
            else:
                data = self.input_fn(r.body, ct, ctx) if c["input_fn"] else self.input_fn(r.body, ct)
                pred = self.predict_fn(data, self.model, ctx) if c["predict_fn"] else self.predict_fn(data, self.model)
                res = self.output_fn(pred, accept, ctx) if c["output_fn"] else self.output_fn(pred, accept)
            return self._encode(r.request_id, res, accept, ctx)
        except Exception as exc:  # noqa: BLE001 - any handler error is the request's answer
            return self._fail(r.request_id, exc)

    def handle(self, req: WireRequest) -> WireResponse:
        """One request through the contract (what a batch of one does)."""
        return self.handle_batch([req])[0]

    def handle_batch(self, reqs: list[WireRequest]) -> list[WireResponse]:
        if len(reqs) == 1:
            return [self._handle_one(reqs[0])]
        out: list[WireResponse | None] = [None] * len(reqs)
        ctxs = [self._context(r) for r in reqs]
        accepts = [self._accept(r) for r in reqs]
        c = self._ctx
        if self.transform_fn is not None:
            for i, r in enumerate(reqs):
                try:
                    args = (self.model, r.body, r.content_type or None, accepts[i])
                    res = self.transform_fn(*args, ctxs[i]) if c["transform_fn"] else self.transform_fn(*args)
                    out[i] = self._encode(r.request_id, res, accepts[i], ctxs[i])
                except Exception as exc:  # noqa: BLE001 - any handler error is the request's answer
                    out[i] = self._fail(r.request_id, exc)
            return out  # type: ignore[return-value]

        inputs: list[tuple[int, Any]] = []
        for i, r in enumerate(reqs):
            try:
                ct = r.content_type or None
                data = self.input_fn(r.body, ct, ctxs[i]) if c["input_fn"] else self.input_fn(r.body, ct)
                inputs.append((i, data))
            except Exception as exc:  # noqa: BLE001
                out[i] = self._fail(r.request_id, exc)

        predictions: dict[int, Any] = {}
        if self.predict_batch_fn is not None and len(inputs) > 1:
            try:
                batch = [d for _, d in inputs]
                if c["predict_batch_fn"]:
                    preds = self.predict_batch_fn(batch, self.model, ctxs[inputs[0][0]])
                else:
                    preds = self.predict_batch_fn(batch, self.model)
                preds = list(preds)
                if len(preds) == len(inputs):
                    predictions = {i: p for (i, _), p in zip(inputs, preds)}
            except Exception:  # noqa: BLE001 - fall back to per-request semantics below
                predictions = {}
        for i, data in inputs:
            r = reqs[i]
            try:
                if i in predictions:
                    pred = predictions[i]
                elif c["predict_fn"]:
                    pred = self.predict_fn(data, self.model, ctxs[i])
                else:
                    pred = self.predict_fn(data, self.model)
                res = self.output_fn(pred, accepts[i], ctxs[i]) if c["output_fn"] else self.output_fn(pred, accepts[i])
                out[i] = self._encode(r.request_id, res, accepts[i], ctxs[i])
            except Exception as exc:  # noqa: BLE001
                out[i] = self._fail(r.request_id, exc)
        return out  # type: ignore[return-value]


def add_site_packages(directories: list[str]) -> None:
    """The front end's site-packages, without running their .pth files (the worker starts with -S).

    Why: an editable install of the orchestrator is a .pth hook in site-packages; running it would put
    our own modules within reach of the user's code. Third-party packages (torch, numpy) need no .pth.
    """
    for directory in directories:
        if directory not in sys.path and os.path.isdir(directory):
            sys.path.append(directory)


def load_user_module(model_dir: str, program: str) -> Any:
    """Import `<model_dir>/code/<program>` with code/ first on sys.path (as the toolkit does)."""
    code_dir = os.path.join(model_dir, "code")
    if code_dir not in sys.path:
        sys.path.insert(0, code_dir)
    name = program.removesuffix(".py")
    if not os.path.exists(os.path.join(code_dir, name + ".py")):
        raise HandlerContractError(f"{program} not found in {code_dir}")
    return importlib.import_module(name)


# ----------------------------------------------------------------------------------------------
# Process entry point.
# ----------------------------------------------------------------------------------------------
def _guard_parent(parent_pid: int, pdeathsig: bool = True) -> None:
    """Die with the front end: PDEATHSIG where available, and a parent-pid watchdog everywhere.

    PDEATHSIG fires when the *thread* that forked us exits: right for workers (spawned by the
    long-lived loop thread), not for a process whose parent may spawn it from a short-lived thread."""
    if pdeathsig:
        try:
            import ctypes

            libc = ctypes.CDLL("libc.so.6", use_errno=True)
            libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent_pid:
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(0.5)
            if os.getppid() != parent_pid:
                os._exit(1)

    threading.Thread(target=watch, name="parent-watchdog", daemon=True).start()


class ServeSettings(NamedTuple):
    """How a worker serves its container port (from the model's environment, as a model server would)."""

    batch_size: int = 1  # SAGEMAKER_TS_BATCH_SIZE
    max_delay: float = 0.0  # SAGEMAKER_TS_MAX_BATCH_DELAY, in seconds (0 with batch size 1)
    timeout: float = 60.0  # SAGEMAKER_MODEL_SERVER_TIMEOUT
    queue_size: int = 100  # direct requests waiting in this worker before 503 (TS_JOB_QUEUE_SIZE / workers)
    busy_poll: float = 0.0  # seconds to poll without sleeping after a lone request (0: never)

    @classmethod
    def from_env(cls, env: Mapping[str, str], workers: int, busy_poll_us: int) -> ServeSettings:
        def number(key: str, default: float) -> float:
            try:
                return float(env.get(key, default))
            except (TypeError, ValueError):
                return default

        batch = max(1, int(number("SAGEMAKER_TS_BATCH_SIZE", 1)))
        delay = max(0.0, number("SAGEMAKER_TS_MAX_BATCH_DELAY", 100.0)) / 1000.0 if batch > 1 else 0.0
        queue = int(number("TS_JOB_QUEUE_SIZE", max(100, 100 * workers * batch)))
        return cls(batch, delay, number("SAGEMAKER_MODEL_SERVER_TIMEOUT", 60.0), max(1, queue // max(1, workers)), max(0, busy_poll_us) / 1e6)


class _Slot:
    """One response a connection owes, in request order (pipelining): filled when the answer is ready."""

    __slots__ = ("close", "data")

    def __init__(self, data: bytes | None = None, close: bool = False) -> None:
        self.data = data
        self.close = close


class _Conn:
    __slots__ = ("closed", "closing", "events", "fd", "last", "parser", "slots", "sock", "started", "wbuf")

    def __init__(self, sock: socket.socket, now: float) -> None:
        self.sock = sock
        self.fd = sock.fileno()
        self.parser = http1.RequestParser()
        self.slots: deque[_Slot] = deque()
        self.wbuf = bytearray()
        self.closing = False  # answer what is owed, then close (Connection: close, or a bad request)
        self.closed = False
        self.events = 0
        self.last = now  # perf_counter of the last bytes received or sent
        self.started = now  # perf_counter of the first bytes of the request being received


_MAX_WBUF = 4 << 20  # stop reading from a connection whose client does not read its answers
_ACCEPT_BACKOFF = 0.1  # seconds without accepting after accept() ran out of descriptors or memory
_OUT_OF_RESOURCES = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})


class RunnableTasks:
    """How many tasks the kernel has runnable right now, machine-wide (the 4th field of /proc/loadavg),
    against the cores this process may use: polling without sleeping only pays while a core is free.
    The file stays open and is re-read with pread: one cheap syscall per decision."""

    def __init__(self, path: str = "/proc/loadavg") -> None:
        try:
            self.cores = len(os.sched_getaffinity(0))
        except (AttributeError, OSError):
            self.cores = os.cpu_count() or 1
        try:
            self.fd: int | None = os.open(path, os.O_RDONLY)
        except OSError:
            self.fd = None

    def count(self) -> int | None:
        if self.fd is None:
            return None
        try:
            return int(os.pread(self.fd, 128, 0).split()[3].split(b"/")[0])
        except (OSError, ValueError, IndexError):
            return None

    def core_free(self) -> bool:
        """True when the runnable tasks (this one included) fit on the cores, or when nobody can tell."""
        running = self.count()
        return running is None or running <= self.cores


class ModelServer:
    """The worker's event loop: front-end batches on the socketpair, and the container port.

    Front-end frames are batches the front end formed; each is answered as soon as it is done. Requests
    on the container port (`GET /ping`, `POST /invocations`, keep-alive, pipelined) are batched here the
    same way the front end batches: whatever has arrived, up to the batch size, waiting at most the max
    delay and only while another request is partly received — never on an empty queue. After a lone
    request the loop polls for up to `busy_poll` seconds before it sleeps, while recent gaps between
    requests were shorter than that: a lone client's next request then costs no wake-up (on a VM, most of
    a small request's latency). A busy worker (batches of several), a worker whose clients pause longer
    than the window and a worker on a machine with no free core never poll.

    Connections that owe nothing are closed after `timeout` seconds (SAGEMAKER_MODEL_SERVER_TIMEOUT)
    without traffic, as are those whose client has not taken any of its answers for that long, and a
    request still incomplete `timeout` seconds after its first bytes gets 408: a client that stops
    half-way cannot hold a descriptor (or megabytes of answers) forever. When accept() runs out of
    descriptors the listener rests for a moment (or until a connection closes) instead of waking the
    loop in a spin.
    """

    def __init__(self, service: HandlerService, front: socket.socket | None, listener: socket.socket | None, settings: ServeSettings) -> None:
        import select

        self.service = service
        self.settings = settings
        self.front = front
        self.listener = listener
        self.ep = select.epoll()
        self._in, self._out = select.EPOLLIN, select.EPOLLOUT
        self.conns: dict[int, _Conn] = {}
        self.pending: deque[tuple[_Conn, _Slot, WireRequest, bool, float]] = deque()
        self.front_buf = bytearray()
        self.spin_armed = False
        self.gap = 0.0  # moving average of the idle time after a lone request (seconds)
        self.runnable = RunnableTasks()
        self.busy: list[tuple[_Conn, _Slot, WireRequest, bool, float]] | None = None  # the batch in the handler
        self.busy_since = 0.0
        self.sweep_every = max(0.05, min(1.0, settings.timeout / 4))
        self.next_sweep = 0.0  # perf_counter of the next idle-connection sweep
        self.accept_paused = False
        self.accept_resume = 0.0  # perf_counter when a paused listener is watched again
        if front is not None:
            self.ep.register(front.fileno(), select.EPOLLIN)
        if listener is not None:
            listener.setblocking(False)
            self._watch_listener()

    # -- loop -------------------------------------------------------------------------------------
    def run(self) -> None:
        front_fd = self.front.fileno() if self.front is not None else -1
        listen_fd = self.listener.fileno() if self.listener is not None else -1
        conns, out_flag = self.conns, self._out
        while True:
            for fd, mask in self._wait(self._timeout()):
                if fd == front_fd:
                    if not self._read_front():
                        return
                elif fd == listen_fd:
                    self._accept()
                else:
                    conn = conns.get(fd)
                    if conn is None:
                        continue
                    if mask & out_flag:
                        self._flush(conn)
                    if mask & ~out_flag and not conn.closed:
                        self._read(conn)
            if self.pending:
                self._run_direct()
            if conns or self.accept_paused:
                self._housekeeping()

    def _timeout(self) -> float | None:
        """Seconds the pending direct requests may still wait (None: nothing is pending)."""
        if not self.pending:
            return None
        wait = self._batch_wait()
        return 0.0 if wait is None else wait

    def _housekeeping_wait(self) -> float | None:
        """Seconds until the next connection sweep or listener resume (None: neither is due)."""
        if not self.conns and not self.accept_paused:
            return None
        due = min(self.next_sweep if self.conns else float("inf"), self.accept_resume if self.accept_paused else float("inf"))
        return max(0.0, due - time.perf_counter())

    def _batch_wait(self) -> float | None:
        """Seconds the next direct batch should still wait for more requests, or None: run it now."""
        s = self.settings
        if len(self.pending) >= s.batch_size or s.max_delay <= 0:
            return None
        left = s.max_delay - (time.perf_counter() - self.pending[0][4])
        if left <= 0 or not any(c.parser.partial for c in self.conns.values()):
            return None
        return left

    def _wait(self, timeout: float | None) -> list[tuple[int, int]]:
        poll = self.ep.poll
        if timeout is not None or not self.spin_armed:
            if timeout is None:
                later = self._housekeeping_wait()
                return poll(-1 if later is None else later)
            return poll(timeout)
        # After a lone request: how long until the next one? Poll for it without sleeping only while
        # the recent gaps were shorter than the busy-poll window, so the polling costs at most about
        # what the wake-up would, and only while a core is free: when more tasks are runnable than
        # there are cores (the client, the front end or the other workers need the CPU to produce the
        # next request) polling would only take it from them. Otherwise the worker sleeps at once.
        self.spin_armed = False
        start = time.perf_counter()
        busy = self.settings.busy_poll
        events: list[tuple[int, int]] = []
        if self.gap < busy and self.runnable.core_free():
            end = start + busy
            while not events and time.perf_counter() < end:
                events = poll(0)
        if not events:
            later = self._housekeeping_wait()
            events = poll(-1 if later is None else later)
        sample = min(time.perf_counter() - start, 4 * busy)  # one long pause must not disable polling for long
        self.gap += (sample - self.gap) * 0.25
        return events

    # -- the front end's batches ------------------------------------------------------------------
    def _read_front(self) -> bool:
        assert self.front is not None
        data = self.front.recv(1 << 20)
        if not data:
            return False
        buf = self.front_buf
        buf += data
        frames, used = split_frames(buf)
        if not frames:
            return True
        batches = [decode_requests(payload) for kind, payload in frames if kind == KIND_REQUESTS]
        del frames  # release the memoryviews before resizing the buffer
        del buf[:used]
        for batch in batches:  # answer each batch as soon as it is done
            self.front.sendall(encode_responses(self.service.handle_batch(batch)))
            self.spin_armed = len(batch) == 1 and self.settings.busy_poll > 0
        return True

    # -- the container port -----------------------------------------------------------------------
    def _watch_listener(self) -> None:
        assert self.listener is not None
        self.ep.register(self.listener.fileno(), self._in)
        self.accept_paused = False

    def _pause_accepting(self) -> None:
        """accept() found no descriptor or memory: the listener stays readable, so watching it would wake
        this loop again at once, forever. Rest it until a connection closes or the back-off ends; the
        clients wait in this worker's backlog meanwhile."""
        assert self.listener is not None
        if not self.accept_paused:
            self.ep.unregister(self.listener.fileno())
            self.accept_paused = True
        self.accept_resume = time.perf_counter() + _ACCEPT_BACKOFF

    def _housekeeping(self) -> None:
        now = time.perf_counter()
        if self.accept_paused and now >= self.accept_resume:
            self._watch_listener()
        if self.conns and now >= self.next_sweep:
            self.next_sweep = now + self.sweep_every
            self._sweep(now)

    def _sweep(self, now: float) -> None:
        """Close connections that went quiet: owing nothing, or with answers their client stopped reading;
        408 for one stuck half-way in a request."""
        limit = self.settings.timeout
        for conn in list(self.conns.values()):
            if conn.closed:
                continue
            if conn.wbuf:
                if now - conn.last > limit:  # nothing could be sent for that long: the client stopped reading
                    self._close(conn)
                continue
            if conn.slots:
                continue  # an answer is in the works: the invocation timeout covers it
            if conn.parser.partial:
                if now - conn.started > limit:
                    body = f"Request not received within {limit:g} s.".encode()
                    conn.slots.append(_Slot(http1.response(408, "text/plain", body, False), True))
                    conn.closing = True
                    self._flush(conn)
            elif now - conn.last > limit:
                self._close(conn)

    def _accept(self) -> None:
        """Take up to a few waiting connections per turn of the loop (the requests on connections already
        open are not held up behind a burst of new ones) and read each at once."""
        assert self.listener is not None
        for _ in range(8):
            try:
                sock, _ = self.listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                if exc.errno in _OUT_OF_RESOURCES:
                    self._pause_accepting()
                    return
                continue  # that client gave up (ECONNABORTED) or was refused: take the next one
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            now = time.perf_counter()
            if not self.conns:
                self.next_sweep = now + self.sweep_every
            conn = _Conn(sock, now)
            self.conns[conn.fd] = conn
            conn.events = self._in
            self.ep.register(conn.fd, self._in)
            self._read(conn)  # a new client usually sent its request with the handshake

    def _read(self, conn: _Conn) -> None:
        try:
            data = conn.sock.recv(1 << 18)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self._close(conn)
            return
        parser = conn.parser
        now = time.perf_counter()
        conn.last = now
        if not parser.partial:
            conn.started = now
        parser.feed(data)
        touched = False
        while not conn.closing:
            try:
                req, owe_continue = parser.next_request()
            except http1.HttpError as exc:
                conn.slots.append(_Slot(http1.response(exc.status, "text/plain", exc.message.encode(), False), True))
                conn.closing = touched = True
                break
            if req is None:
                if owe_continue and not conn.slots:
                    conn.wbuf += http1.CONTINUE
                    touched = True
                break
            touched |= self._route(conn, req, now)
            conn.started = now  # whatever follows in the buffer is the next request, begun now
        if touched:
            self._flush(conn)

    def _route(self, conn: _Conn, req: http1.HttpRequest, now: float) -> bool:
        """Queue an invocation, or answer at once; True when an answer is ready to send."""
        keep = req.keep_alive
        if not keep:
            conn.closing = True
        if req.path == "/invocations":
            if req.method != "POST":
                conn.slots.append(_Slot(http1.response(405, "text/plain", b"Method not allowed.", keep, (("Allow", "POST"),)), not keep))
                return True
            if len(self.pending) >= self.settings.queue_size:
                body = b"Model server is overloaded: its job queue is full."
                conn.slots.append(_Slot(http1.response(503, "text/plain", body, keep), not keep))
                return True
            h = req.headers
            slot = _Slot(None, not keep)
            conn.slots.append(slot)
            wreq = WireRequest(
                0,
                h.get("content-type", ""),
                h.get("accept", ""),
                h.get("x-amzn-sagemaker-custom-attributes", ""),
                h.get("x-amzn-sagemaker-inference-id", ""),
                req.body,
            )
            self.pending.append((conn, slot, wreq, keep, now))
            return False
        if req.path == "/ping":
            if req.method not in ("GET", "HEAD"):
                conn.slots.append(_Slot(http1.response(405, "text/plain", b"Method not allowed.", keep, (("Allow", "GET"),)), not keep))
            else:
                answer = http1.PING_OK_HEAD if req.method == "HEAD" else http1.PING_OK
                if not keep:
                    answer = answer.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n", 1)
                conn.slots.append(_Slot(answer, not keep))
            return True
        conn.slots.append(_Slot(http1.response(404, "text/plain", f"No route for {req.path[:200]}.".encode(), keep), not keep))
        return True

    def _run_direct(self) -> None:
        pending, size = self.pending, self.settings.batch_size
        while pending:
            if self._batch_wait() is not None:
                return
            batch = [pending.popleft() for _ in range(min(size, len(pending)))]
            self.busy, self.busy_since = batch, time.monotonic()
            try:
                responses = self.service.handle_batch([item[2] for item in batch])
            finally:
                self.busy = None
            touched: dict[int, _Conn] = {}
            for (conn, slot, _, keep, _), r in zip(batch, responses):
                ct = r.content_type if r.status < 400 else "text/plain"
                extra = (("X-Amzn-SageMaker-Custom-Attributes", r.custom_attributes),) if r.custom_attributes else ()
                slot.data = http1.response(r.status, ct, r.body, keep, extra)
                touched[conn.fd] = conn
            for conn in touched.values():
                if not conn.closed:
                    self._flush(conn)
            self.spin_armed = len(batch) == 1 and self.settings.busy_poll > 0

    def _flush(self, conn: _Conn) -> None:
        slots, wbuf = conn.slots, conn.wbuf
        while slots and slots[0].data is not None:
            slot = slots.popleft()
            wbuf += slot.data  # type: ignore[arg-type]
            if slot.close:
                slots.clear()
                conn.closing = True
                break
        if wbuf:
            try:
                sent = conn.sock.send(wbuf)
                del wbuf[:sent]
                conn.last = time.perf_counter()
            except (BlockingIOError, InterruptedError):
                pass
            except OSError:
                self._close(conn)
                return
        if not wbuf and conn.closing and not slots:
            self._close(conn)
            return
        want = (self._out if wbuf else 0) | (self._in if len(wbuf) < _MAX_WBUF and not conn.closing else 0)
        if want != conn.events:
            conn.events = want
            self.ep.modify(conn.fd, want)

    def _close(self, conn: _Conn) -> None:
        if conn.closed:
            return
        conn.closed = True
        self.conns.pop(conn.fd, None)
        try:
            self.ep.unregister(conn.fd)
        except OSError:
            pass
        conn.sock.close()
        if self.accept_paused:
            self.accept_resume = 0.0  # a descriptor is free again: accept at the next turn of the loop

    # -- invocation timeout (called from the watchdog thread) --------------------------------------
    def timed_out(self) -> bool:
        """True when a direct batch has been in the handler longer than the invocation timeout; its
        callers then get a 503 (best effort) and the worker exits, to be restarted by the front end."""
        batch = self.busy
        if batch is None or time.monotonic() - self.busy_since <= self.settings.timeout:
            return False
        body = f"Invocation timed out after {self.settings.timeout:g} s; the worker is restarted.".encode()
        for conn, slot, _, _, _ in batch:
            if not conn.closed and not conn.wbuf and conn.slots and conn.slots[0] is slot:
                try:
                    conn.sock.send(http1.response(503, "text/plain", body, False))
                except OSError:
                    pass
        return True


def listen_on(port: int) -> socket.socket:
    """This worker's own listening socket on the instance's container port. Every worker of the instance
    has one (SO_REUSEPORT), and the kernel spreads new connections over them by a hash of the client's
    address: evenly, whichever worker happens to be awake. Opened only once the model is loaded, so a
    worker never accepts a connection it cannot serve."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # past connections in TIME_WAIT
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen(1024)
    except OSError:
        listener.close()
        raise
    return listener


_LISTENER: list[socket.socket] = []  # this worker's listening socket, closed first on the way out


def _exit(code: int) -> None:
    """Leave at once, the listening socket first: the kernel closes a process's files only after it has
    torn down its memory, tens of milliseconds for a large model (about 50 ms for 512 MiB here), and
    connections hashed meanwhile to a socket still open would be reset when it closes; closed first, they
    all go to the other workers (tests/dataplane/test_container_port.py)."""
    for listener in _LISTENER:
        try:
            listener.close()
        except OSError:
            pass
    os._exit(code)


def _watch_timeouts(server: ModelServer) -> None:
    def watch() -> None:
        while True:
            time.sleep(0.25)
            if server.timed_out():
                _exit(3)

    threading.Thread(target=watch, name="invocation-timeout", daemon=True).start()


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fd", type=int, required=True)
    parser.add_argument("--listen-port", type=int, default=None, help="the instance's container port (SO_REUSEPORT)")
    parser.add_argument("--workers", type=int, default=1, help="workers listening on the container port")
    parser.add_argument("--busy-poll-us", type=int, default=0)
    parser.add_argument("--model-dir", required=True)
    parser.add_argument("--model-name", default="model")
    parser.add_argument("--worker-id", type=int, default=0)
    parser.add_argument("--parent-pid", type=int, required=True)
    parser.add_argument("--site-dir", action="append", default=[])
    args = parser.parse_args(argv)
    _guard_parent(args.parent_pid)
    signal.signal(signal.SIGTERM, lambda *_: _exit(0))
    sock = socket.socket(fileno=args.fd)
    add_site_packages(args.site_dir)
    os.chdir(args.model_dir)
    try:
        module = load_user_module(args.model_dir, os.environ.get("SAGEMAKER_PROGRAM") or "inference.py")
        service = HandlerService(
            module,
            args.model_dir,
            model_name=args.model_name,
            worker_id=args.worker_id,
            default_accept=os.environ.get("SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT", "application/json"),
        )
    except BaseException as exc:  # noqa: BLE001 - any load failure is reported, with its text
        traceback.print_exc(file=sys.stderr)
        sock.sendall(encode_frame(KIND_LOAD_FAILED, f"{type(exc).__name__}: {exc}".encode()))
        return 1
    try:
        listener = listen_on(args.listen_port) if args.listen_port is not None else None
    except OSError as exc:
        sock.sendall(encode_frame(KIND_LOAD_FAILED, f"cannot listen on the container port {args.listen_port}: {exc}".encode()))
        return 1
    if listener is not None:
        _LISTENER.append(listener)
    gc.collect()
    gc.freeze()  # the model's object graph is long-lived: keep it out of every future GC pass
    settings = ServeSettings.from_env(os.environ, args.workers, args.busy_poll_us)
    server = ModelServer(service, sock, listener, settings)
    _watch_timeouts(server)
    sock.sendall(encode_frame(KIND_READY, json.dumps({"pid": os.getpid()}).encode()))
    try:
        server.run()
    except (ConnectionError, OSError):
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
