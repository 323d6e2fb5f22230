"""The local Lambda service: invoke a function deployed in the control plane, as Lambda would.

One asyncio loop (uvloop when installed) in its own thread owns every worker pipe, so an invocation
costs no thread hand-off beyond the caller's: the API Gateway data plane runs on the same loop and
awaits :meth:`LambdaRuntime.invoke` directly; WSGI threads (the ``Invoke`` API) and the event bus
(SNS) use :meth:`invoke_threadsafe` / :meth:`submit_event`.

Per invocation: read the function from moto (:mod:`.function_config`), get a warm worker
(:mod:`.worker_pool`), run, then record START/END/REPORT and the function's output for
``/aws/lambda/<fn>`` and the ``AWS/Lambda`` metrics (:mod:`.cloudwatch`, flushed in the background).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import json
import logging
import math
import random
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

from orchestrator.dataplane.lambdas.cloudwatch import (
    Flusher,
    LogBuffer,
    MetricBuffer,
    freeze_long_lived_objects,
    write_logs,
    write_metrics,
)
from orchestrator.dataplane.lambdas.code_store import CodeStore, UnsafeCodeError
from orchestrator.dataplane.lambdas.destinations import DeliveryFailed, send_dead_letter, send_record
from orchestrator.dataplane.lambdas.event_invoke_config import EventInvokeSettings, read_event_invoke_settings
from orchestrator.dataplane.lambdas.function_config import FunctionConfig, FunctionNotFound, read_function
from orchestrator.dataplane.lambdas.invocation_records import dead_letter_attributes, invocation_record
from orchestrator.dataplane.lambdas.worker_pool import (
    FunctionPool,
    InitFailed,
    Reply,
    Throttled,
    WorkerDied,
    WorkerEnv,
    WorkerTimeout,
)

log = logging.getLogger(__name__)

T = TypeVar("T")
NAMESPACE = "AWS/Lambda"
_UNITS = {
    "Duration": "Milliseconds",
    "Invocations": "Count",
    "Errors": "Count",
    "Throttles": "Count",
    "ConcurrentExecutions": "Count",
    "DestinationDeliveryFailures": "Count",
    "DeadLetterErrors": "Count",
}

RESPONSE_PAYLOAD_LIMIT = 6291556  # bytes, as Lambda's Function.ResponseSizeTooLarge message states it
_RESPONSE_TOO_LARGE = json.dumps(
    {
        "errorMessage": f"Response payload size exceeded maximum allowed payload size ({RESPONSE_PAYLOAD_LIMIT} bytes).",
        "errorType": "Function.ResponseSizeTooLarge",
    }
).encode()

LOG_TAIL_BYTES = 4096  # what ``LogType: Tail`` returns of the execution log
# Lambda's internal queue for Event invocations. A throttled event is retried with a backoff (1 s
# doubling to 5 minutes); a function error is retried after 1 minute, then after 2 (up to the
# function's MaximumRetryAttempts). Either way the event is discarded once it would be older than
# its MaximumEventAgeInSeconds (event_invoke_config), and recorded to its destination / DLQ.
EVENT_RETRY_FIRST_S = 1.0
EVENT_RETRY_MAX_S = 300.0
FUNCTION_ERROR_RETRY_WAITS_S = (60.0, 120.0)  # before the first and the second retry
# The record's condition for an event sent to the failure target because the function's reserved
# concurrency is 0: AWS documents the behaviour, not the string; this is LocalStack's name for it.
ZERO_CONCURRENCY_CONDITION = "ZeroReservedConcurrency"

_active: LambdaRuntime | None = None


def active_runtime() -> LambdaRuntime | None:
    """The runtime hosted by this process, if any (the API Gateway component invokes through it)."""
    return _active


@dataclass(frozen=True)
class InvokeResult:
    """Outcome of one invocation, in the terms of the Invoke API.

    ``status``: ``ok`` (payload = result JSON), ``error`` (function error, payload = error JSON,
    ``function_error`` = ``Unhandled``), ``throttled`` (429), ``not_found`` (404), ``failed``
    (the service could not run the code: 502-class, payload = error JSON).
    """

    status: str
    payload: bytes
    request_id: str
    function_error: str | None = None
    log_tail: str = ""
    duration_ms: float = 0.0
    executed_version: str = "$LATEST"  # the version that ran (an alias's target)


def new_request_id() -> str:
    """A version-4 UUID string without a syscall (``uuid.uuid4`` reads os.urandom each time)."""
    return str(uuid.UUID(int=random.getrandbits(128), version=4))


def log_tail(lines: list[tuple[int, str]]) -> str:
    """The last ``LOG_TAIL_BYTES`` bytes of an invocation's log events, one per line, as ``LogType: Tail``
    returns them; a character cut by the limit is dropped whole, so the tail is valid UTF-8."""
    data = "".join(text + "\n" for _, text in lines).encode()
    return data[-LOG_TAIL_BYTES:].decode("utf-8", "ignore")


def _failure(exc: WorkerTimeout | WorkerDied, config: FunctionConfig, request_id: str) -> tuple[str, InvokeResult]:
    """(log outcome, result) of an invocation whose worker timed out or died: Lambda's Unhandled errors."""
    if isinstance(exc, WorkerTimeout):
        message = f"RequestId: {request_id} Error: Task timed out after {config.timeout_s:.2f} seconds"
        error = _error_json(message, "Sandbox.Timedout", request_id)
        return "timeout", InvokeResult("error", error, request_id, "Unhandled")
    message = f"RequestId: {request_id} Error: Runtime exited unexpectedly ({exc})"
    return "died", InvokeResult("error", _error_json(message, "Runtime.ExitError", request_id), request_id, "Unhandled")


def _completed(
    result: InvokeResult, config: FunctionConfig, lines: list[tuple[int, str]] | None, duration_ms: float
) -> InvokeResult:
    """``result`` with what only the end of the invocation knows: its log tail (when asked for, i.e.
    ``lines`` given), the handler's duration and the version that ran."""
    return replace(result, log_tail=log_tail(lines) if lines is not None else "", duration_ms=duration_ms,
                   executed_version=config.version)


def _error_json(message: str, error_type: str, request_id: str) -> bytes:
    return json.dumps(
        {"errorMessage": message, "errorType": error_type, "requestId": request_id, "stackTrace": []}
    ).encode()


class LambdaRuntime:
    """Runs functions of the control plane in warm worker processes (see module docstring)."""

    def __init__(
        self, work_dir: Path, worker_env: Callable[[], Awaitable[WorkerEnv]], *, flush_interval: float | None = None
    ) -> None:
        self.code_store = CodeStore(work_dir / "code")
        self.worker_env = worker_env
        self.pools: dict[tuple[str, str, str, str], FunctionPool] = {}  # account, region, name, version
        self.logs = LogBuffer()
        self.metrics: dict[tuple[str, str], MetricBuffer] = {}
        self.loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._flusher = Flusher(
            "lambda-telemetry", self.flush_telemetry, **({"interval": flush_interval} if flush_interval else {})
        )
        self.errors: list[str] = []
        self.invocations = 0

    # -- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> None:
        global _active
        try:
            import uvloop

            loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
        except ImportError:  # pragma: no cover - uvloop is a dependency of the data plane
            loop = asyncio.new_event_loop()
        self.loop = loop
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(loop)
            loop.call_soon(ready.set)
            loop.run_forever()

        self._thread = threading.Thread(target=run, name="lambda-runtime-loop", daemon=True)
        self._thread.start()
        ready.wait(10)
        self._flusher.start()
        freeze_long_lived_objects()  # moto and its backends are loaded by now
        _active = self

    def stop(self) -> None:
        global _active
        if _active is self:
            _active = None
        loop = self.loop
        if loop is not None and loop.is_running():

            async def close_all() -> None:
                for pool in self.pools.values():
                    pool.close()

            try:
                asyncio.run_coroutine_threadsafe(close_all(), loop).result(5)
            except Exception:
                log.exception("could not stop Lambda workers")
            loop.call_soon_threadsafe(loop.stop)
            if self._thread is not None:
                self._thread.join(5)
        self._flusher.stop()

    def call(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run ``coro`` on the runtime's loop from another thread and wait for its result."""
        assert self.loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    # -- control-plane events ----------------------------------------------------------------------
    def retire(self, function_name: str) -> None:
        """New code or deletion: warm workers of ``function_name`` (any account/region) exit."""

        def retire_now() -> None:
            for (_, _, name, _), pool in self.pools.items():
                if name == function_name:
                    pool.retire_all()

        if self.loop is not None:
            self.loop.call_soon_threadsafe(retire_now)

    # -- invocation --------------------------------------------------------------------------------
    @staticmethod
    def exists(
        function: str, *, qualifier: str | None = None, account_id: str | None = None, region: str | None = None
    ) -> bool:
        """Whether ``function`` (name or ARN) and ``qualifier`` exist in the control plane (any thread)."""
        try:
            read_function(function, qualifier, account_id=account_id, region=region)
        except FunctionNotFound:
            return False
        return True

    def invoke_threadsafe(self, function: str, payload: bytes, **kwargs: Any) -> InvokeResult:
        """:meth:`invoke` for threads other than the loop's (WSGI handlers)."""
        return self.call(self.invoke(function, payload, **kwargs))

    def submit_event(self, function: str, payload: bytes, **kwargs: Any) -> concurrent.futures.Future[InvokeResult]:
        """Asynchronous (``Event``) invocation from any thread: queued, result ignored (see deliver_event)."""
        assert self.loop is not None
        return asyncio.run_coroutine_threadsafe(self.deliver_event(function, payload, **kwargs), self.loop)

    async def deliver_event(
        self,
        function: str,
        payload: bytes,
        *,
        qualifier: str | None = None,
        account_id: str | None = None,
        region: str | None = None,
        request_id: str | None = None,
    ) -> InvokeResult:
        """Run an ``Event`` invocation as Lambda's internal queue does (returns the last attempt's result).

        * A function error (handled or unhandled error, timeout, runtime exit) is retried up to the
          function's ``MaximumRetryAttempts`` (2 by default), after ``FUNCTION_ERROR_RETRY_WAITS_S``
          (1 then 2 minutes); each retry is an invocation of its own (START/REPORT, Invocations,
          Errors) with the same request ID.
        * An event refused at reserved concurrency 0 (Throttles counted) goes at once to the OnFailure
          destination or the dead-letter queue when the function has one, as AWS documents ("without
          any retries"); otherwise, like one the service could not run, it is held and retried with a
          backoff (1 s doubling to 5 min) until it runs.
        * An event whose next attempt would come after its ``MaximumEventAgeInSeconds`` (6 h by
          default) is discarded, as is one whose retries are exhausted.

        A discarded event's record goes to the OnFailure destination, else the event to the
        function's dead-letter queue; a successful one's record to the OnSuccess destination. The
        configuration is read at each decision, so a change applies to events already queued.
        """
        request_id = request_id or new_request_id()
        received = time.monotonic()
        throttle_delay = EVENT_RETRY_FIRST_S
        runs = 0  # attempts the function ran: the record's approximateInvokeCount
        last_run: InvokeResult | None = None
        while True:
            result = await self.invoke(function, payload, asynchronous=True, request_id=request_id,
                                       qualifier=qualifier, account_id=account_id, region=region)
            try:
                settings = read_event_invoke_settings(function, qualifier, account_id=account_id, region=region)
            except FunctionNotFound:
                log.warning("event %s for %s dropped: the function no longer exists", request_id, function)
                return result
            if result.status == "ok":
                if settings.on_success:
                    record = invocation_record(request_id=request_id, function_arn=settings.function_arn,
                                               condition="Success", invoke_count=runs + 1, payload=payload,
                                               result=result)
                    await self._send_record(settings, settings.on_success, record, success=True)
                return result
            if result.status == "error":
                runs += 1
                last_run = result
                if runs > settings.maximum_retry_attempts:
                    await self._discard(settings, "RetriesExhausted", request_id, payload, runs, result, last_run)
                    return result
                waits = FUNCTION_ERROR_RETRY_WAITS_S
                wait = waits[min(runs, len(waits)) - 1]
            elif result.status == "throttled" and (settings.on_failure or settings.dead_letter_target):
                # AWS: at reserved concurrency 0, new events go to the on-failure destination or the
                # dead-letter queue at once, without retries (only functions without one hold them).
                await self._discard(settings, ZERO_CONCURRENCY_CONDITION, request_id, payload, runs, result, last_run)
                return result
            else:  # throttled (reserved concurrency 0) or failed (the service could not run it): held
                wait = throttle_delay
                throttle_delay = min(throttle_delay * 2, EVENT_RETRY_MAX_S)
            if time.monotonic() - received + wait > settings.maximum_event_age_s:
                await self._discard(settings, "EventAgeExceeded", request_id, payload, runs, result, last_run)
                return result
            await asyncio.sleep(wait)

    async def _discard(
        self,
        settings: EventInvokeSettings,
        condition: str,
        request_id: str,
        payload: bytes,
        runs: int,
        result: InvokeResult,
        last_run: InvokeResult | None,
    ) -> None:
        """An event Lambda gives up on: its record to the OnFailure destination, else the event to the
        dead-letter queue, else it is only logged (as Lambda drops it)."""
        log.warning("event %s for %s discarded (%s after %d runs)", request_id, settings.function_arn, condition, runs)
        if settings.on_failure:
            record = invocation_record(request_id=request_id, function_arn=settings.function_arn, condition=condition,
                                       invoke_count=runs, payload=payload, result=last_run)
            await self._send_record(settings, settings.on_failure, record, success=False)
        elif settings.dead_letter_target:
            attributes = dead_letter_attributes(request_id, result)
            send = functools.partial(send_dead_letter, settings.dead_letter_target, payload, attributes)
            await self._deliver(settings, send, "DeadLetterErrors", f"dead-letter message of event {request_id}")

    async def _send_record(self, settings: EventInvokeSettings, target: str, record: dict[str, Any], *,
                           success: bool) -> None:
        send = functools.partial(send_record, target, record, success=success, exists=self.exists,
                                 invoke_event=self._invoke_destination)
        what = f"invocation record of event {record['requestContext']['requestId']}"
        await self._deliver(settings, send, "DestinationDeliveryFailures", what)

    async def _deliver(self, settings: EventInvokeSettings, send: Callable[[], None], failure_metric: str,
                       what: str) -> None:
        """Run ``send`` off the loop (moto's SNS may call HTTP subscribers). A failure is logged and
        counted in ``failure_metric``, never raised: the event is then gone, as on AWS."""
        try:
            await asyncio.to_thread(send)
        except DeliveryFailed as exc:
            log.warning("%s not delivered: %s", what, exc)
            self._count_delivery_failure(settings, failure_metric)
        except Exception:  # a fault of ours in delivery must not end the runtime's loop
            log.exception("%s not delivered", what)
            self._count_delivery_failure(settings, failure_metric)

    def _invoke_destination(self, function_arn: str, payload: bytes) -> None:
        """A Lambda destination: an asynchronous invocation of its own (retries, destinations)."""
        self.submit_event(function_arn, payload)

    def _count_delivery_failure(self, settings: EventInvokeSettings, metric: str) -> None:
        _, _, _, region, account, _, name, *_ = settings.function_arn.split(":")
        self.metrics_for(account, region).add(metric, (("FunctionName", name),), 1)

    async def invoke(
        self,
        function: str,
        payload: bytes,
        *,
        qualifier: str | None = None,
        account_id: str | None = None,
        region: str | None = None,
        request_id: str | None = None,
        asynchronous: bool = False,
        tail: bool = False,
    ) -> InvokeResult:
        """Invoke ``function`` (name or ARN) with ``payload`` (event JSON bytes).

        ``tail``: fill ``log_tail`` (``LogType: Tail``); only then is the log text joined.

        Only the function's timeout stops an invocation. A caller that waits less (API Gateway's
        integration timeout) runs this in a task of its own and abandons it: it completes as on AWS.
        """
        request_id = request_id or new_request_id()
        try:
            config, fn = read_function(function, qualifier, account_id=account_id, region=region)
        except FunctionNotFound:
            message = f"Function not found: {function}"
            return InvokeResult("not_found", json.dumps({"Type": "User", "Message": message}).encode(), request_id)
        if config.package_type != "Zip" or not config.runtime.startswith("python"):
            return InvokeResult(
                "failed",
                _error_json(
                    f"runtime {config.runtime} ({config.package_type}) is not supported by the local data plane",
                    "Runtime.InvalidRuntime",
                    request_id,
                ),
                request_id,
            )
        key = (config.account_id, config.region, config.name, config.version)
        pool = self.pools.get(key)
        if pool is None:
            pool = self.pools[key] = FunctionPool(config.name)
        try:
            code_dir = self.code_store.directory_for(config.code_sha256, fn.code_bytes)
        except UnsafeCodeError as exc:
            self.errors.append(f"{config.name}: {exc}")
            return InvokeResult("failed", _error_json(str(exc), "Runtime.InvalidEntrypoint", request_id), request_id)
        metrics = self._metrics(config)
        dims = (("FunctionName", config.name),)
        env = await self.worker_env()
        acquiring = time.perf_counter()
        try:
            if asynchronous and pool.limit(config) == 0:
                raise Throttled("ReservedFunctionConcurrentInvocationLimitExceeded")  # held (deliver_event)
            worker = await pool.acquire(config, code_dir, env, throttle=not asynchronous)
        except Throttled as exc:
            metrics.add("Throttles", dims, 1)
            body = {"Reason": exc.reason, "Type": "User", "message": "Rate Exceeded."}
            return InvokeResult("throttled", json.dumps(body).encode(), request_id)
        except InitFailed as exc:
            duration_ms = (time.perf_counter() - acquiring) * 1000
            outcome, result = _failure(exc.cause, config, request_id)
            self._count(config, duration_ms, ok=False)
            started_ms = int(time.time() * 1000 - duration_ms)
            lines = self._record_log(config, exc.log_stream, request_id, started_ms, duration_ms, None, None, outcome)
            return _completed(result, config, lines if tail else None, duration_ms)
        metrics.add("ConcurrentExecutions", dims, pool.in_flight)
        init = worker.pop_init()  # set on a worker's first invocation: its init phase, reported apart
        retried_init_s = worker.pop_init_in_invocation()  # an init retried past its budget: part of this one
        started = time.perf_counter() - retried_init_s
        started_ms = int(time.time() * 1000 - retried_init_s * 1000)
        reply: Reply | None = None
        outcome = "ok"
        try:
            handler_timeout_s = max(0.001, config.timeout_s - retried_init_s)
            reply = await worker.invoke(request_id, payload, handler_timeout_s, config.invoked_arn)
            if len(reply.body) > RESPONSE_PAYLOAD_LIMIT and not asynchronous:
                result = InvokeResult("error", _RESPONSE_TOO_LARGE, request_id, "Unhandled")
            elif reply.ok:
                result = InvokeResult("ok", reply.body, request_id)
            else:
                result = InvokeResult("error", reply.body, request_id, "Unhandled")
        except (WorkerTimeout, WorkerDied) as exc:
            outcome, result = _failure(exc, config, request_id)
        finally:
            duration_ms = (time.perf_counter() - started) * 1000
            pool.release(worker, config, code_dir, env)
        self._count(config, duration_ms, ok=result.status == "ok")
        lines = self._record_log(
            config, worker.log_stream, request_id, started_ms, duration_ms, init, reply, outcome,
            init_reported_apart=not retried_init_s,
        )
        return _completed(result, config, lines if tail else None, duration_ms)

    # -- telemetry ---------------------------------------------------------------------------------
    def _count(self, config: FunctionConfig, duration_ms: float, *, ok: bool) -> None:
        """``Invocations``, ``Duration`` (the handler's time, init excluded) and ``Errors`` of one invocation."""
        self.invocations += 1
        metrics = self._metrics(config)
        dims = (("FunctionName", config.name),)
        metrics.add("Invocations", dims, 1)
        metrics.add("Duration", dims, duration_ms)
        if not ok:
            metrics.add("Errors", dims, 1)

    def _metrics(self, config: FunctionConfig) -> MetricBuffer:
        return self.metrics_for(config.account_id, config.region)

    def metrics_for(self, account_id: str, region: str) -> MetricBuffer:
        key = (account_id, region)
        buffer = self.metrics.get(key)
        if buffer is None:
            buffer = self.metrics[key] = MetricBuffer(NAMESPACE, dict(_UNITS))
        return buffer

    def _record_log(
        self,
        config: FunctionConfig,
        log_stream: str,
        request_id: str,
        started_ms: int,
        duration_ms: float,
        init: Reply | None,
        reply: Reply | None,
        outcome: str,
        *,
        init_reported_apart: bool = True,
    ) -> list[tuple[int, str]]:
        """Log START / output / END / REPORT of one invocation (returned), after the init phase's output.

        ``init_reported_apart``: False for an init retried within the invocation (it exceeded its own
        budget); its time is then in ``Duration`` and REPORT has no ``Init Duration``, as on AWS."""
        if init is not None and init.log:
            init_lines = [(started_ms, line) for line in init.log.splitlines() if line]
            self.logs.add(config.account_id, config.region, config.log_group, log_stream, init_lines)
        lines = [(started_ms, f"START RequestId: {request_id} Version: {config.version}")]
        end_ms = started_ms + int(duration_ms)
        if reply is not None and reply.log:
            lines += [(end_ms, line) for line in reply.log.splitlines() if line]
        if outcome == "timeout":
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(end_ms / 1000))
            timed_out = f"{stamp}.{end_ms % 1000:03d}Z {request_id} Task timed out after {config.timeout_s:.2f} seconds"
            lines.append((end_ms, timed_out))
        lines.append((end_ms, f"END RequestId: {request_id}"))
        report = (
            f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms\t"
            f"Billed Duration: {max(1, math.ceil(duration_ms))} ms\tMemory Size: {config.memory_mb} MB\t"
            f"Max Memory Used: {reply.mem_mb if reply else 0} MB"
        )
        if init is not None and init_reported_apart:
            report += f"\tInit Duration: {init.init_ms:.2f} ms"
        if outcome == "timeout":
            report += "\tStatus: timeout"
        lines.append((end_ms, report))
        self.logs.add(config.account_id, config.region, config.log_group, log_stream, lines)
        return lines

    def flush_telemetry(self) -> None:
        """Move buffered log events and metrics into moto (the flusher thread calls this)."""
        write_logs(self.logs.drain())
        for (account, region), buffer in list(self.metrics.items()):
            write_metrics(account, region, buffer)
        freeze_long_lived_objects()

    def health(self) -> dict[str, Any]:
        return {
            "functions": {
                name if version == "$LATEST" else f"{name}:{version}": {
                    "workers": len(pool.workers),
                    "in_flight": pool.in_flight,
                }
                for (_, _, name, version), pool in list(self.pools.items())
            },
            "invocations": self.invocations,
            "errors": self.errors[-5:],
        }
