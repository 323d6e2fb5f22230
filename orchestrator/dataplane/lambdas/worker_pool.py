"""Warm worker processes per function, with Lambda's concurrency semantics.

Why processes: functions must not share interpreter state with each other or with the service
(module globals, ``os.environ``, monkey patches), and a runaway invocation must be killable at its
timeout. Why warm pools: a real Lambda container keeps the handler module imported between
invocations (clients, caches), and spawning per request would cap the API path at a few dozen
requests per second.

Concurrency, as AWS counts it: every invocation in flight (waiting for a worker or running) counts.
Above the function's reserved concurrency (or the account limit when none is reserved) a
synchronous invocation is throttled (429 ``TooManyRequestsException``); asynchronous ones wait, as
Lambda's internal queue retries them. Separately, a machine cannot run an account's 1,000
containers, so at most ``max_workers`` processes run per function; invocations beyond that (but
within concurrency) wait for the next free worker instead of failing. That is the one deliberate
deviation from AWS and it only adds latency.

Workers started for an older fingerprint (code, handler, memory, environment) are retired: idle
ones at once, busy ones when their invocation ends.
"""

from __future__ import annotations

import asyncio
import collections
import ctypes
import json
import logging
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestrator.dataplane.lambdas import protocol
from orchestrator.dataplane.lambdas.function_config import FunctionConfig

log = logging.getLogger(__name__)

BOOTSTRAP = Path(__file__).with_name("bootstrap.py")
ACCOUNT_CONCURRENCY_LIMIT = 1000  # AWS's default per-region limit


def default_max_workers(env: Mapping[str, str] = os.environ, cores: int | None = None) -> int:
    """Worker processes per function: ``ORCHESTRATOR_LAMBDA_MAX_WORKERS``, else twice the cores (at least 4).

    Locally a function mostly waits on services of the same machine (the SageMaker runtime, moto), so a
    few workers per core keep the cores busy, and more only make them take turns with cold caches. The
    predictor behind the API on 2 cores (benchmarks/api_lambda_path.py, 64 connections): 2 workers
    728-759 req/s, 4 workers 884-997, 6 workers 831-967, 10 workers 777-911, with the Lambda CPU per
    request rising from 1.23-1.56 ms at 4 to 1.55-1.86 ms at 10 (back-to-back pairs).
    """
    raw = env.get("ORCHESTRATOR_LAMBDA_MAX_WORKERS", "").strip()
    if raw:
        try:
            value = int(raw)
        except ValueError:
            raise ValueError(f"ORCHESTRATOR_LAMBDA_MAX_WORKERS must be a whole number, got {raw!r}") from None
        if value < 1:
            raise ValueError(f"ORCHESTRATOR_LAMBDA_MAX_WORKERS must be at least 1, got {value}")
        return value
    return max(4, 2 * (cores if cores is not None else os.cpu_count() or 1))


DEFAULT_MAX_WORKERS = default_max_workers()
# Lambda gives the init phase its own 10 s budget, apart from the function timeout. An init that
# exceeds it is retried within the first invocation, bounded by the function's timeout instead.
INIT_TIMEOUT_S = 10.0
_PR_SET_PDEATHSIG = 1


class Throttled(Exception):
    """Concurrency limit reached (``reason`` is the AWS ``Reason`` string)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class WorkerTimeout(Exception):
    """The invocation ran past the function's timeout; the worker was killed."""


class WorkerDied(Exception):
    """The worker process exited in the middle of an invocation."""


class InitFailed(Exception):
    """A new worker did not finish its init phase (``cause``: WorkerTimeout or WorkerDied); it is gone.

    Carries the worker's log stream, where the invocation that waited for it is logged.
    """

    def __init__(self, cause: WorkerTimeout | WorkerDied, log_stream: str) -> None:
        super().__init__(str(cause))
        self.cause = cause
        self.log_stream = log_stream


def _prepare_child() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Die with the service (no orphaned workers) and do not preempt it on wake-up.

    SCHED_BATCH: when the service writes an invocation into a worker's pipe, the woken worker would
    otherwise preempt the service's event loop on the same core and hold it up for the whole
    invocation; as a batch task it waits for the loop to block first. Nothing else changes: the
    worker still gets its fair share of the CPU.
    """
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except OSError:
        pass
    try:
        os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))
    except (AttributeError, OSError):
        pass


@dataclass(frozen=True)
class WorkerEnv:
    """What the service adds to every function's environment (endpoints of the embedded services)."""

    control_plane_url: str
    sagemaker_runtime_url: str | None = None


@dataclass
class Reply:
    """One finished invocation as the worker reported it."""

    ok: bool
    body: bytes
    log: str
    init_ms: float
    mem_mb: int


def _log_stream_name(version: str) -> str:
    return time.strftime("%Y/%m/%d", time.gmtime()) + f"/[{version}]{uuid.uuid4().hex}"


class Worker:
    """One process running one function version; handles one invocation at a time."""

    def __init__(self, config: FunctionConfig, code_dir: Path, env: WorkerEnv) -> None:
        self.config = config
        self.fingerprint = (config.fingerprint, env)
        self.code_dir = code_dir
        self.log_stream = _log_stream_name(config.version)
        self._transport: asyncio.SubprocessTransport | None = None
        self._protocol: _WorkerProtocol | None = None
        self._stdin: Any = None
        self._killed = False
        self.invocations = 0
        self._init: Reply | None = None
        # seconds of a retried init (past INIT_TIMEOUT_S): spent within the first invocation's timeout
        self.init_in_invocation_s = 0.0
        self._env = self._environment(env)

    def _environment(self, env: WorkerEnv) -> dict[str, str]:
        cfg = self.config
        values = dict(cfg.environment)
        values.update(
            {
                "AWS_LAMBDA_FUNCTION_NAME": cfg.name,
                "AWS_LAMBDA_FUNCTION_VERSION": cfg.version,
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(cfg.memory_mb),
                "AWS_LAMBDA_LOG_GROUP_NAME": cfg.log_group,
                "AWS_LAMBDA_LOG_STREAM_NAME": self.log_stream,
                "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
                "AWS_EXECUTION_ENV": f"AWS_Lambda_{cfg.runtime}",
                "AWS_REGION": cfg.region,
                "AWS_DEFAULT_REGION": cfg.region,
                "AWS_ACCESS_KEY_ID": "test",
                "AWS_SECRET_ACCESS_KEY": "test",
                "AWS_SESSION_TOKEN": "test",
                "AWS_ENDPOINT_URL": env.control_plane_url,
                "LAMBDA_TASK_ROOT": str(self.code_dir),
                "LAMBDA_RUNTIME_DIR": str(BOOTSTRAP.parent),
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                "LANG": "C.UTF-8",
                "TZ": ":UTC",
                "PYTHONDONTWRITEBYTECODE": "1",
                "HOME": "/tmp",
            }
        )
        if env.sagemaker_runtime_url:
            values["AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME"] = env.sagemaker_runtime_url
        return values

    async def start(self, budget_s: float | None = None) -> None:
        """Start the process and wait for its init phase (the handler module's import), at most
        ``budget_s`` (default ``INIT_TIMEOUT_S``).

        Why wait here rather than in the first invocation: Lambda bounds init by its own budget
        (``INIT_TIMEOUT_S``) and then gives the handler its full timeout; so the invocation is handed
        over only once the worker is initialised. Raises InitFailed (the worker is killed).
        """
        loop = asyncio.get_running_loop()
        self._transport, self._protocol = await loop.subprocess_exec(
            lambda: _WorkerProtocol(loop),
            sys.executable,
            "-I",
            str(BOOTSTRAP),
            str(self.code_dir),
            self.config.handler,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=None,
            env=self._env,
            cwd=str(self.code_dir),
            preexec_fn=_prepare_child,
        )
        self._stdin = self._transport.get_pipe_transport(0)
        ready = self._protocol.ready
        timer = loop.call_later(INIT_TIMEOUT_S if budget_s is None else budget_s, self._protocol.time_out, ready)
        try:
            self._init = await ready
        except (WorkerTimeout, WorkerDied) as exc:
            self.kill()
            raise InitFailed(exc, self.log_stream) from None
        finally:
            timer.cancel()

    def pop_init(self) -> Reply | None:
        """The init phase's report (duration, output), once: for the first invocation's log."""
        init, self._init = self._init, None
        return init

    def pop_init_in_invocation(self) -> float:
        """Seconds a retried init took, once: the first invocation's timeout and duration include them."""
        spent, self.init_in_invocation_s = self.init_in_invocation_s, 0.0
        return spent

    @property
    def alive(self) -> bool:
        return self._protocol is not None and not self._protocol.exited and not self._killed

    async def invoke(self, request_id: str, payload: bytes, timeout_s: float, invoked_arn: str) -> Reply:
        """Run one invocation (the worker is initialised); raises WorkerTimeout (worker killed) or WorkerDied."""
        protocol_ = self._protocol
        assert protocol_ is not None and self._stdin is not None
        if protocol_.exited:
            raise WorkerDied("worker exited before the invocation")
        self.invocations += 1
        deadline_ms = int((time.time() + timeout_s) * 1000)
        reply = protocol_.expect_reply()
        timer = protocol_.loop.call_later(timeout_s, protocol_.time_out, reply)
        try:
            self._stdin.write(
                protocol.encode({"rid": request_id, "deadline_ms": deadline_ms, "arn": invoked_arn}, payload)
            )
            return await reply
        except WorkerTimeout:
            self.kill()
            raise WorkerTimeout(request_id) from None
        except WorkerDied:
            self.kill()
            raise
        except (ConnectionError, BrokenPipeError, RuntimeError) as exc:
            self.kill()
            raise WorkerDied(f"worker exited: {exc}") from None
        finally:
            timer.cancel()

    def kill(self) -> None:
        self._killed = True
        if self._transport is not None and self._protocol is not None and not self._protocol.exited:
            try:
                self._transport.kill()
            except ProcessLookupError:
                pass

    def close(self) -> None:
        """Ask the worker to exit (end of its stdin); kill as a fallback is the pool's job."""
        if self._stdin is not None and self._protocol is not None and not self._protocol.exited:
            try:
                self._stdin.close()
            except (OSError, RuntimeError):
                self.kill()


class _WorkerProtocol(asyncio.SubprocessProtocol):
    """Reads reply frames from the worker's stdout and resolves the one pending invocation.

    A protocol rather than a StreamReader + ``wait_for``: no task, no intermediate buffers per
    reply, which is a measurable share of the per-request cost on the API path.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.exited = False
        self._buffer = bytearray()
        # The first frame is the init report; expecting it from the start means it cannot arrive unseen.
        self.ready: asyncio.Future[Reply] = loop.create_future()
        self._pending: asyncio.Future[Reply] | None = self.ready

    def expect_reply(self) -> asyncio.Future[Reply]:
        self._pending = self.loop.create_future()
        return self._pending

    def time_out(self, reply: asyncio.Future[Reply]) -> None:
        if not reply.done():
            reply.set_exception(WorkerTimeout("timed out"))

    def pipe_data_received(self, fd: int, data: bytes) -> None:
        if fd != 1:
            return
        buffer = self._buffer
        buffer += data
        size = protocol.FRAME.size
        while len(buffer) >= size:
            head_len, body_len = protocol.decode_sizes(bytes(buffer[:size]))
            total = size + head_len + body_len
            if len(buffer) < total:
                return
            header = json.loads(bytes(buffer[size : size + head_len]))
            body = bytes(buffer[size + head_len : total])
            del buffer[:total]
            pending, self._pending = self._pending, None
            if pending is not None and not pending.done():
                pending.set_result(
                    Reply(
                        bool(header.get("ok")),
                        body,
                        str(header.get("log", "")),
                        float(header.get("init_ms", 0.0)),
                        int(header.get("mem_mb", 0)),
                    )
                )

    def process_exited(self) -> None:
        self.exited = True
        pending, self._pending = self._pending, None
        if pending is not None and not pending.done():
            pending.set_exception(WorkerDied("worker exited during the invocation"))


@dataclass
class FunctionPool:
    """Workers and in-flight accounting of one function (all access on the runtime's loop)."""

    name: str
    max_workers: int = DEFAULT_MAX_WORKERS
    fingerprint: tuple[Any, ...] | None = None
    idle: collections.deque[Worker] = field(default_factory=collections.deque)
    workers: set[Worker] = field(default_factory=set)
    waiters: collections.deque[asyncio.Future[Worker]] = field(default_factory=collections.deque)
    in_flight: int = 0
    peak_in_flight: int = 0

    def limit(self, config: FunctionConfig) -> int:
        if config.reserved_concurrency is not None and config.reserved_concurrency >= 0:
            return config.reserved_concurrency
        return ACCOUNT_CONCURRENCY_LIMIT

    def retire_all(self) -> None:
        """Forget the current fingerprint: idle workers exit now, busy ones after their invocation."""
        self.fingerprint = None
        while self.idle:
            worker = self.idle.popleft()
            self.workers.discard(worker)
            worker.close()

    async def acquire(self, config: FunctionConfig, code_dir: Path, env: WorkerEnv, *, throttle: bool) -> Worker:
        """A worker for ``config`` (counts the invocation as in flight; pair with :meth:`release`)."""
        if (config.fingerprint, env) != self.fingerprint:
            self.retire_all()
            self.fingerprint = (config.fingerprint, env)
        limit = self.limit(config)
        if throttle and self.in_flight >= limit:
            reason = (
                "ReservedFunctionConcurrentInvocationLimitExceeded"
                if config.reserved_concurrency is not None
                else "ConcurrentInvocationLimitExceeded"
            )
            raise Throttled(reason)
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            while self.idle:
                worker = self.idle.pop()  # most recently used: warmest caches
                if worker.alive and worker.fingerprint == self.fingerprint:
                    return worker
                self.workers.discard(worker)
                worker.close()
            if len(self.workers) < max(1, min(limit, self.max_workers)):
                return await self._spawn(config, code_dir, env)
            waiter: asyncio.Future[Worker] = asyncio.get_running_loop().create_future()
            self.waiters.append(waiter)
            try:
                return await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                    self.idle.append(waiter.result())  # handed over just as we gave up: keep it
                raise
        except BaseException:
            self.in_flight -= 1
            raise

    async def _spawn(self, config: FunctionConfig, code_dir: Path, env: WorkerEnv) -> Worker:
        """A new, initialised worker. An init past ``INIT_TIMEOUT_S`` is retried once, as Lambda does
        "at the time of the first function invocation with the configured function timeout": the
        invocation waiting for it then has what is left of its timeout for the handler."""
        try:
            return await self._start(Worker(config, code_dir, env), None)
        except InitFailed as exc:
            if not isinstance(exc.cause, WorkerTimeout):
                raise
        worker = Worker(config, code_dir, env)
        started = time.perf_counter()
        worker = await self._start(worker, config.timeout_s)
        worker.init_in_invocation_s = time.perf_counter() - started
        return worker

    async def _start(self, worker: Worker, budget_s: float | None) -> Worker:
        self.workers.add(worker)
        try:
            await worker.start(budget_s)
        except BaseException:
            self.workers.discard(worker)
            worker.kill()
            raise
        return worker

    def release(self, worker: Worker, config: FunctionConfig, code_dir: Path, env: WorkerEnv) -> None:
        """End of an invocation: hand the worker to the next waiter, park it, or replace a dead one."""
        self.in_flight -= 1
        reusable = worker.alive and worker.fingerprint == self.fingerprint
        if not reusable:
            self.workers.discard(worker)
            worker.close()
        while self.waiters and self.waiters[0].done():
            self.waiters.popleft()
        if self.waiters:
            waiter = self.waiters.popleft()
            if reusable:
                waiter.set_result(worker)
            else:
                task = asyncio.ensure_future(self._spawn(config, code_dir, env))
                task.add_done_callback(lambda t: self._hand_over(t, waiter))
            return
        if reusable:
            self.idle.append(worker)

    def _hand_over(self, spawned: asyncio.Task[Worker], waiter: asyncio.Future[Worker]) -> None:
        if spawned.cancelled():
            return
        error = spawned.exception()
        if waiter.done():  # the waiter gave up meanwhile: keep the new worker warm
            if error is None:
                self.idle.append(spawned.result())
        elif error is not None:
            waiter.set_exception(error)
        else:
            waiter.set_result(spawned.result())

    def close(self) -> None:
        for worker in list(self.workers):
            worker.close()
            worker.kill()
        self.workers.clear()
        self.idle.clear()
