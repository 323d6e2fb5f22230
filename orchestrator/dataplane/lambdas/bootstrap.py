"""Worker process of the local Lambda runtime: one warm "container" of one function version.

Started as ``python -I bootstrap.py <task_root> <handler>`` by :mod:`worker_pool`. It must not import
``orchestrator`` (the function sees only its own code, the standard library and the site-packages
that stand in for the Lambda Python runtime, boto3 included), so everything it needs is in this file.

Why a pipe protocol instead of the Lambda Runtime API over HTTP: one persistent pair of pipes per
worker costs a few microseconds per invocation, which is what lets the API -> Lambda path sustain
thousands of requests per second on two cores. The protocol (mirrored in :mod:`protocol`):

* init frame on the original stdout, once, before any request: header ``{"ok", "log", "init_ms",
  "mem_mb"}`` after the handler module is imported (the init phase), body empty. The service waits for
  it with the init budget (10 s) and only then hands the worker an invocation, so the handler's own
  timeout starts when its invocation does, as on Lambda;
* request frame on stdin:  ``!II`` (header length, body length) + header JSON + body bytes, where the
  header is ``{"rid", "deadline_ms", "arn"}`` and the body the event JSON;
* reply frame on the original stdout: same framing, header ``{"ok", "log", "mem_mb"}`` and
  the body the result JSON (``ok``) or the error JSON (``errorMessage``/``errorType``/...).

``print`` and :mod:`logging` output of the function is collected per invocation and shipped back in
the reply header (``log``) so that the service writes it to CloudWatch Logs between the START and
END lines. File descriptor 1 is pointed at stderr so that C-level writes cannot corrupt the protocol.

Module state persists between invocations of one worker, exactly like a warm Lambda container. An
init error (import failure, missing handler) is answered to every invocation of the worker.
"""

from __future__ import annotations

import importlib
import io
import json
import logging
import os
import resource
import struct
import sys
import time
import traceback
from typing import Any, BinaryIO

_FRAME = struct.Struct("!II")


class LambdaContext:
    """The ``context`` argument, with the attributes of awslambdaric's ``LambdaContext``."""

    def __init__(self, request_id: str, deadline_ms: int, invoked_function_arn: str) -> None:
        self.aws_request_id = request_id
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        # A string in the real runtime too (it is read from the environment).
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.invoked_function_arn = invoked_function_arn
        self.client_context = None
        self.identity = None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_ms - int(time.time() * 1000))

    def log(self, message: str) -> None:
        sys.stdout.write(message)


class _RequestIdFilter(logging.Filter):
    """Adds ``aws_request_id`` to every record, as the Lambda runtime's root handler does."""

    request_id = ""

    def filter(self, record: logging.LogRecord) -> bool:
        record.aws_request_id = self.request_id
        return True


def _read_exact(stream: BinaryIO, size: int) -> bytes | None:
    data = b""
    while len(data) < size:
        chunk = stream.read(size - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def _write_frame(stream: BinaryIO, header: dict[str, Any], body: bytes) -> None:
    head = json.dumps(header).encode()
    stream.write(_FRAME.pack(len(head), len(body)) + head + body)
    stream.flush()


def _error(exc: BaseException, request_id: str, error_type: str | None = None) -> dict[str, Any]:
    return {
        "errorMessage": str(exc),
        "errorType": error_type or type(exc).__name__,
        "requestId": request_id,
        "stackTrace": traceback.format_list(traceback.extract_tb(exc.__traceback__))[1:],
    }


def _load_handler(spec: str) -> Any:
    """Import ``module.function`` the way the Python runtime does, with its error types."""
    module_name, _, function_name = spec.rpartition(".")
    if not module_name:
        raise _InitError(
            "Runtime.MalformedHandlerName", f"Bad handler '{spec}': not enough values to unpack (expected 2, got 1)"
        )
    try:
        module = importlib.import_module(module_name.replace("/", "."))
    except ImportError as exc:
        raise _InitError("Runtime.ImportModuleError", f"Unable to import module '{module_name}': {exc}") from None
    except SyntaxError as exc:
        raise _InitError("Runtime.UserCodeSyntaxError", f"Syntax error in module '{module_name}': {exc}") from None
    handler = getattr(module, function_name, None)
    if handler is None:
        raise _InitError("Runtime.HandlerNotFound", f"Handler '{function_name}' missing on module '{module_name}'")
    return handler


_STATUS_FD: list[int] = []


def _peak_memory_mb() -> int:
    """Peak RSS of this process since exec (VmHWM; ``ru_maxrss`` would include the forking parent).

    /proc/self/status stays open and is re-read with pread: one syscall per invocation.
    """
    try:
        if not _STATUS_FD:
            _STATUS_FD.append(os.open("/proc/self/status", os.O_RDONLY))
        status = os.pread(_STATUS_FD[0], 4096, 0)
        start = status.find(b"VmHWM:")
        if start >= 0:
            return int(status[start + 6 : status.index(b"kB", start)]) // 1024
    except (OSError, ValueError):
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


class _InitError(Exception):
    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type


def _initialise(handler_spec: str) -> tuple[Any, _InitError | None, float]:
    """The init phase: import the handler module; returns (handler, init error, duration in ms)."""
    started = time.perf_counter()
    handler: Any = None
    error: _InitError | None = None
    try:
        handler = _load_handler(handler_spec)
    except _InitError as exc:
        error = exc
    except Exception as exc:  # noqa: BLE001 - the module raised at import time: report it, as Lambda does
        error = _InitError("Runtime.ImportModuleError", f"Unable to import module: {exc!r}")
    return handler, error, (time.perf_counter() - started) * 1000


def _drain(captured: io.StringIO) -> str:
    """The output collected since the last frame (and forget it)."""
    text = captured.getvalue()
    captured.seek(0)
    captured.truncate()
    return text


def main() -> int:
    task_root, handler_spec = sys.argv[1], sys.argv[2]
    requests = sys.stdin.buffer
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # stray C-level writes go to the service log, never into the protocol
    os.chdir(task_root)
    sys.path.insert(0, task_root)

    captured = io.StringIO()
    sys.stdout = sys.stderr = captured
    request_filter = _RequestIdFilter()
    root_handler = logging.StreamHandler(captured)
    root_handler.setFormatter(
        logging.Formatter(
            "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n", "%Y-%m-%dT%H:%M:%S"
        )
    )
    logging.Formatter.converter = time.gmtime
    root_handler.addFilter(request_filter)
    root_handler.terminator = ""
    logging.getLogger().addHandler(root_handler)

    handler, init_error, init_ms = _initialise(handler_spec)
    if init_error is not None:
        captured.write(f"[ERROR] {init_error.error_type}: {init_error}\n")
    mem_mb = _peak_memory_mb()
    _write_frame(
        replies, {"ok": init_error is None, "log": _drain(captured), "init_ms": init_ms, "mem_mb": mem_mb}, b""
    )
    while True:
        sizes = _read_exact(requests, _FRAME.size)
        if sizes is None:
            return 0
        head_len, body_len = _FRAME.unpack(sizes)
        header = json.loads(_read_exact(requests, head_len) or b"{}")
        body = _read_exact(requests, body_len) or b""
        request_id = header["rid"]
        request_filter.request_id = request_id
        ok = False
        if init_error is not None:
            result: Any = {
                "errorMessage": str(init_error),
                "errorType": init_error.error_type,
                "requestId": request_id,
                "stackTrace": [],
            }
        else:
            context = LambdaContext(request_id, int(header["deadline_ms"]), header.get("arn", ""))
            try:
                event = json.loads(body) if body else {}  # no payload: Lambda passes an empty object
                result = handler(event, context)
                ok = True
            except Exception as exc:  # noqa: BLE001 - any handler error is the invocation's result
                result = _error(exc, request_id)
        try:
            payload = b"null" if result is None else json.dumps(result).encode()
        except (TypeError, ValueError) as exc:
            ok = False
            payload = json.dumps(
                {
                    "errorMessage": f"Unable to marshal response: {exc}",
                    "errorType": "Runtime.MarshalError",
                    "requestId": request_id,
                    "stackTrace": [],
                }
            ).encode()
        if not ok and init_error is None:
            captured.write(f"[ERROR] {json.loads(payload)['errorType']}: {json.loads(payload)['errorMessage']}\n")
        _write_frame(replies, {"ok": ok, "log": _drain(captured), "mem_mb": _peak_memory_mb()}, payload)


if __name__ == "__main__":
    sys.exit(main())
