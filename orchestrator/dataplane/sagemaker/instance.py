"""A model instance: the "container" — worker processes, a bounded queue, adaptive batching, supervision.

One `ModelInstance` stands for one ML instance of a production variant: it owns
`SAGEMAKER_MODEL_SERVER_WORKERS` worker processes (see worker.py) that each loaded the model once.
The front end (this process, an asyncio loop) queues invocations here and hands each idle worker a
batch over its socketpair, in one binary frame — no pickling, one syscall per batch each way.

Adaptive batching (`SAGEMAKER_TS_BATCH_SIZE`, `SAGEMAKER_TS_MAX_BATCH_DELAY` in ms):
  * dispatch is deferred to the end of the current event-loop tick, so requests parsed in the same tick
    travel together — but nothing ever waits on an empty queue: a lone request runs at once;
  * an idle worker takes what is queued, up to the batch size (split evenly across idle workers);
  * it waits — at most the max delay after the oldest queued request — only while more requests are
    known to be arriving (HTTP messages the front end has begun but not finished reading);
  * while workers are busy, requests accumulate and form the next, larger batch on their own.

Container port: the instance also owns a loopback port that every one of its workers listens on and
serves itself (`GET /ping`, `POST /invocations`; see worker.ModelServer), the counterpart of a SageMaker
container's port 8080. The instance holds the number (a socket bound with SO_REUSEPORT that never
listens, so no connection waits on it); each worker listens on it with its own SO_REUSEPORT socket once
its model is loaded, and the kernel spreads new connections evenly over the workers' sockets. With one
shared listening socket a worker that happened to be awake took whole bursts of connections (64 of 64
was seen, halving throughput). The port outlives worker restarts and closes when the instance stops.

Supervision: a worker whose socket closes (it died, was killed) gets its held requests answered at once
with the model server's 503 "Worker died." (the runtime API turns that into a 424 ModelError), and is
restarted; the instance keeps serving on its other workers meanwhile. A request unanswered after 60 s
(SageMaker's limit, or the model server's timeout if shorter) is answered as timed out; a batch that
outlives the model server's timeout (SAGEMAKER_MODEL_SERVER_TIMEOUT) also gets its worker recycled, as
TorchServe does. A longer model-server timeout never lets a caller wait past 60 s: it only spares the
worker, whose late answer is then dropped.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import site
import socket
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable, Mapping
from pathlib import Path

from orchestrator.dataplane.sagemaker import worker as wire

log = logging.getLogger(__name__)

WORKER_SCRIPT = str(Path(wire.__file__).resolve())

STATUS_TIMEOUT = 0  # pseudo status: the container did not answer in time
# SageMaker's own limit: InvokeEndpoint answers 424 "invocation timed out" after 60 s whatever the model
# server's timeout (SAGEMAKER_MODEL_SERVER_TIMEOUT) allows. Read when an instance starts.
INVOKE_TIMEOUT_S = 60.0


class ModelLoadError(Exception):
    """A worker could not load the model; the text is the model's own error."""

    def __init__(self, model_name: str, text: str) -> None:
        super().__init__(f"Model {model_name} failed to load: {text}")
        self.model_name = model_name
        self.text = text


class Invocation:
    """One request travelling through an instance; `callback` is called exactly once."""

    __slots__ = (
        "accept",
        "body",
        "callback",
        "content_type",
        "custom_attributes",
        "done",
        "inference_id",
        "request_id",
        "response_attributes",
        "t_dispatch",
        "t_submit",
    )

    def __init__(
        self,
        content_type: str,
        accept: str,
        custom_attributes: str,
        inference_id: str,
        body: bytes,
        callback: Callable[[Invocation, int, str, bytes], None],
    ) -> None:
        self.request_id = 0
        self.content_type = content_type
        self.accept = accept
        self.custom_attributes = custom_attributes
        self.inference_id = inference_id
        self.body = body
        self.callback = callback
        self.t_submit = 0.0
        self.t_dispatch = 0.0
        self.done = False
        self.response_attributes = ""  # the CustomAttributes the model answered with, if any

    def finish(self, status: int, content_type: str, body: bytes) -> None:
        if self.done:
            return
        self.done = True
        try:
            self.callback(self, status, content_type, body)
        except Exception:  # a broken client connection must not break the worker loop
            log.exception("invocation callback failed")


class WorkerProcess(asyncio.Protocol):
    """The front end's side of one worker process."""

    def __init__(self, instance: ModelInstance, worker_id: int) -> None:
        self.instance = instance
        self.worker_id = worker_id
        self.proc: subprocess.Popen[bytes] | None = None
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.inflight: dict[int, Invocation] = {}
        self.batches = 0  # batches sent and not yet answered (at most the instance's pipeline depth)
        self.alive = False
        self.stopping = False
        self.ready: asyncio.Future[None] | None = None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    async def start(self, timeout: float) -> None:
        loop = asyncio.get_running_loop()
        self.ready = loop.create_future()
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        inst = self.instance
        env = dict(inst.process_env)
        cmd = [
            sys.executable,
            "-I",  # isolated: no PYTHON* variables, no user site, no script dir on sys.path
            "-S",  # no site processing: .pth files (the project's editable install) are not run
            WORKER_SCRIPT,
            "--fd",
            str(child.fileno()),
            "--model-dir",
            str(inst.model_dir),
            "--model-name",
            inst.model_name,
            "--worker-id",
            str(self.worker_id),
            "--parent-pid",
            str(os.getpid()),
            "--workers",
            str(inst.workers_count),
            "--busy-poll-us",
            str(inst.busy_poll_us),
        ]
        pass_fds = [child.fileno()]
        if inst.port_holder is not None:
            cmd += ["--listen-port", str(inst.port_holder.getsockname()[1])]
        if inst.requirements_dir is not None:
            cmd += ["--site-dir", str(inst.requirements_dir)]
        for directory in site.getsitepackages():  # -S also skips venv detection: name them
            cmd += ["--site-dir", directory]
        try:
            # A plain Popen on purpose: it is signalled directly and waited for in an executor (stop, kill).
            # Creating it costs a fork/exec; nothing here waits for the child to exit.
            self.proc = subprocess.Popen(  # noqa: ASYNC220
                cmd, pass_fds=pass_fds, env=env, cwd=str(inst.model_dir), stdin=subprocess.DEVNULL
            )
        finally:
            child.close()
        await loop.create_unix_connection(lambda: self, sock=parent)
        try:
            await asyncio.wait_for(asyncio.shield(self.ready), timeout)
        except TimeoutError:
            self.kill()
            raise ModelLoadError(inst.model_name, f"worker did not load the model within {timeout:.0f} s") from None
        except ModelLoadError:
            self.kill()
            raise

    # -- asyncio.Protocol ---------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        sock = transport.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
            except OSError:
                pass

    def data_received(self, data: bytes) -> None:
        buf = self.buf
        buf += data
        frames, used = wire.split_frames(buf)
        if not frames:
            return
        items = []
        for kind, payload in frames:
            if kind == wire.KIND_RESPONSES:
                items.append(wire.decode_responses(payload))
            elif kind == wire.KIND_READY:
                self.alive = True
                if self.ready and not self.ready.done():
                    self.ready.set_result(None)
            elif kind == wire.KIND_LOAD_FAILED:
                text = bytes(payload).decode(errors="replace")
                if self.ready and not self.ready.done():
                    self.ready.set_exception(ModelLoadError(self.instance.model_name, text))
        del frames, payload
        del buf[:used]
        if items:
            inflight = self.inflight
            for responses in items:
                self.batches -= 1
                for r in responses:
                    inv = inflight.pop(r.request_id, None)
                    if inv is not None:
                        inv.response_attributes = r.custom_attributes
                        inv.finish(r.status, r.content_type, r.body)
            if self.batches < 0 or not inflight:
                self.batches = 0
            self.instance.worker_idle(self)

    def connection_lost(self, exc: Exception | None) -> None:
        was_alive = self.alive
        self.alive = False
        if self.ready and not self.ready.done():
            self.ready.set_exception(ModelLoadError(self.instance.model_name, "worker exited while loading the model"))
        held = list(self.inflight.values())
        self.inflight.clear()
        self.batches = 0
        for inv in held:
            inv.finish(503, "text/plain", b"Worker died.")
        self.instance.worker_lost(self, was_alive)

    # -- control ----------------------------------------------------------------------------------
    def send(self, batch: list[Invocation]) -> None:
        now = time.perf_counter()
        self.batches += 1
        reqs = []
        inst = self.instance
        for inv in batch:
            inst.next_id = rid = (inst.next_id + 1) & 0xFFFFFFFF
            inv.request_id = rid
            inv.t_dispatch = now
            self.inflight[rid] = inv
            reqs.append(
                wire.WireRequest(rid, inv.content_type, inv.accept, inv.custom_attributes, inv.inference_id, inv.body)
            )
        assert self.transport is not None
        self.transport.write(wire.encode_requests(reqs))

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc and self.proc.poll() is None:
            try:
                self.proc.send_signal(sig)
            except ProcessLookupError:
                pass

    async def stop(self, grace: float) -> None:
        """EOF (the worker exits on its own), then SIGTERM, then SIGKILL after `grace` seconds."""
        self.stopping = True
        if self.transport is not None:
            self.transport.close()
        proc = self.proc
        if proc is None:
            return
        loop = asyncio.get_running_loop()
        try:
            await asyncio.wait_for(loop.run_in_executor(None, proc.wait), 1.0)
            return
        except TimeoutError:
            pass
        self.kill(signal.SIGTERM)
        try:
            await asyncio.wait_for(loop.run_in_executor(None, proc.wait), grace)
        except TimeoutError:
            self.kill(signal.SIGKILL)
            await loop.run_in_executor(None, proc.wait)


BUSY_POLL_ENV = "ORCHESTRATOR_BUSY_POLL_US"
DEFAULT_BUSY_POLL_US = 1000


def default_busy_poll_us() -> int:
    """How long a worker polls before sleeping after a lone request (the data plane's setting, not the model's)."""
    return max(0, _env_int(os.environ, BUSY_POLL_ENV, DEFAULT_BUSY_POLL_US))


def _env_int(env: Mapping[str, str], key: str, default: int) -> int:
    try:
        return int(env.get(key, default))
    except (TypeError, ValueError):
        return default


def _env_float(env: Mapping[str, str], key: str, default: float) -> float:
    try:
        return float(env.get(key, default))
    except (TypeError, ValueError):
        return default


def reserve_port() -> socket.socket:
    """A loopback port number held for the workers: bound with SO_REUSEPORT (which they set too, so
    they can listen on it) but never listening itself, so the kernel never hands it a connection."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(("127.0.0.1", 0))
    except OSError:
        sock.close()
        raise
    return sock


class ModelInstance:
    """One serving instance of a variant: N workers, a bounded queue, batching and supervision."""

    def __init__(
        self,
        *,
        model_name: str,
        model_dir: Path,
        env: Mapping[str, str],
        arriving: Callable[[], int] = lambda: 0,
        max_queue: int | None = None,
        load_timeout: float = 300.0,
        stop_grace: float = 30.0,
        restart_backoff: float = 0.2,
        busy_poll_us: int | None = None,
        requirements_dir: Path | None = None,
    ) -> None:
        self.model_name = model_name
        self.model_dir = model_dir
        # what code/requirements.txt added (model_requirements.py): on the workers' path before site-packages
        self.requirements_dir = requirements_dir
        self.env = dict(env)
        self.workers_count = max(1, _env_int(env, "SAGEMAKER_MODEL_SERVER_WORKERS", os.cpu_count() or 1))
        self.batch_size = max(1, _env_int(env, "SAGEMAKER_TS_BATCH_SIZE", 1))
        delay_ms = _env_float(env, "SAGEMAKER_TS_MAX_BATCH_DELAY", 100.0) if self.batch_size > 1 else 0.0
        self.max_delay = max(0.0, delay_ms) / 1000.0
        self.timeout = _env_float(env, "SAGEMAKER_MODEL_SERVER_TIMEOUT", 60.0)
        self.answer_within = min(self.timeout, INVOKE_TIMEOUT_S)
        # batch size 1: hand a busy worker its next request ahead of time, so it never idles for an IPC
        # round trip; batching: one batch at a time, so the queue grows into the next (bigger) batch
        self.depth = 2 if self.batch_size == 1 else 1
        # TorchServe's job_queue_size (env form TS_JOB_QUEUE_SIZE); full queue -> 503 ServiceUnavailable
        self.max_queue = max_queue or max(1, _env_int(env, "TS_JOB_QUEUE_SIZE", max(100, 100 * self.workers_count * self.batch_size)))
        self.arriving = arriving
        self.load_timeout = load_timeout
        self.stop_grace = stop_grace
        self.restart_backoff = restart_backoff
        self.queue: deque[Invocation] = deque()
        self.workers: list[WorkerProcess] = []
        self.idle: list[WorkerProcess] = []
        self.next_id = 0
        self.restarts = 0
        self.stopped = False
        self._dispatch_scheduled = False
        self._timer: asyncio.TimerHandle | None = None
        self._sweeper: asyncio.Task[None] | None = None
        self._restarting: set[asyncio.Task[None]] = set()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.process_env = self._process_env()
        self.busy_poll_us = default_busy_poll_us() if busy_poll_us is None else max(0, busy_poll_us)
        self.port_holder: socket.socket | None = None  # holds the container port's number (reserve_port)
        # the instance's container port (`GET /ping`, `POST /invocations`), as port 8080 in SageMaker
        self.container_url: str | None = None

    def _process_env(self) -> dict[str, str]:
        keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "TZ", "LD_LIBRARY_PATH", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
        env = {k: os.environ[k] for k in keep if k in os.environ}
        env.setdefault("OMP_NUM_THREADS", "1")  # N workers on N cores: one thread each, like TorchServe
        env["PYTHONUNBUFFERED"] = "1"
        env["SAGEMAKER_PROGRAM"] = "inference.py"
        env["SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT"] = "application/json"
        env["SM_MODEL_DIR"] = str(self.model_dir)
        env.update({k: str(v) for k, v in self.env.items()})
        return env

    # -- lifecycle --------------------------------------------------------------------------------
    async def start(self) -> None:
        """Start every worker; raise ModelLoadError (with the model's text) if any cannot load."""
        self.loop = asyncio.get_running_loop()
        if self.port_holder is None:
            self.port_holder = reserve_port()
            self.container_url = f"http://127.0.0.1:{self.port_holder.getsockname()[1]}"
        self.workers = [WorkerProcess(self, i) for i in range(self.workers_count)]
        results = await asyncio.gather(*(w.start(self.load_timeout) for w in self.workers), return_exceptions=True)
        errors = [r for r in results if isinstance(r, BaseException)]
        if errors:
            await self.stop(drain_timeout=0)
            err = errors[0]
            raise err if isinstance(err, ModelLoadError) else ModelLoadError(self.model_name, str(err))
        self.idle = list(self.workers)
        self._sweeper = self.loop.create_task(self._sweep())

    async def stop(self, drain_timeout: float = 30.0) -> None:
        """Let queued and in-flight requests finish (bounded), then stop every worker process."""
        deadline = time.monotonic() + drain_timeout
        while (self.queue or any(w.inflight for w in self.workers)) and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        self.stopped = True
        if self._sweeper:
            self._sweeper.cancel()
        if self._timer:
            self._timer.cancel()
        restarting = list(self._restarting)
        for task in restarting:
            task.cancel()
        await asyncio.gather(*restarting, return_exceptions=True)  # no half-started worker outlives us
        while self.queue:
            self.queue.popleft().finish(503, "text/plain", b"Instance stopped.")
        await asyncio.gather(*(w.stop(self.stop_grace) for w in self.workers), return_exceptions=True)
        if self.port_holder is not None:
            self.port_holder.close()
            self.port_holder, self.container_url = None, None

    def pids(self) -> list[int]:
        return [w.pid for w in self.workers if w.alive and w.pid is not None]

    @property
    def healthy_workers(self) -> int:
        return sum(1 for w in self.workers if w.alive)

    @property
    def load(self) -> int:
        return len(self.queue) + sum(len(w.inflight) for w in self.workers)

    # -- request path -----------------------------------------------------------------------------
    def submit(self, inv: Invocation) -> bool:
        """Queue an invocation; False when the queue is full (the caller answers 503)."""
        if self.stopped or len(self.queue) >= self.max_queue:
            return False
        inv.t_submit = time.perf_counter()
        self.queue.append(inv)
        if self.batch_size == 1 and self.idle and len(self.queue) == 1:
            self._send(self._pick(), 1)  # nothing to batch: skip the extra loop tick
            return True
        if not self._dispatch_scheduled and self.idle:
            self._dispatch_scheduled = True
            self.loop.call_soon(self._dispatch)  # type: ignore[union-attr]
        return True

    def _dispatch(self) -> None:
        self._dispatch_scheduled = False
        queue, idle = self.queue, self.idle
        while queue and idle:
            size = self.batch_size
            if len(queue) < size and self.max_delay > 0 and self.arriving() > 0:
                waited = time.perf_counter() - queue[0].t_submit
                if waited < self.max_delay:
                    if self._timer is None:
                        self._timer = self.loop.call_later(self.max_delay - waited, self._on_timer)  # type: ignore[union-attr]
                    return
            free = sum(1 for w in idle if w.batches == 0) or 1
            self._send(self._pick(), min(size, -(-len(queue) // free)))

    def _pick(self) -> WorkerProcess:
        """An idle worker, preferring one with nothing in flight (the most recently idle: warm caches)."""
        idle = self.idle
        for i in range(len(idle) - 1, -1, -1):
            if idle[i].batches == 0:
                return idle[i]
        return idle[-1]

    def _send(self, w: WorkerProcess, n: int) -> None:
        queue = self.queue
        w.send([queue.popleft() for _ in range(n)])
        if w.batches >= self.depth:
            self.idle.remove(w)

    def _on_timer(self) -> None:
        self._timer = None
        self.max_delay, saved = 0.0, self.max_delay
        try:
            self._dispatch()
        finally:
            self.max_delay = saved

    def worker_idle(self, w: WorkerProcess) -> None:
        if w.alive and not w.stopping and w.batches < self.depth and w not in self.idle:
            self.idle.append(w)
        if self.queue and not self._dispatch_scheduled:
            self._dispatch_scheduled = True
            self.loop.call_soon(self._dispatch)  # type: ignore[union-attr]

    def worker_lost(self, w: WorkerProcess, was_alive: bool) -> None:
        if w in self.idle:
            self.idle.remove(w)
        if self.stopped or w.stopping or not was_alive:
            return
        log.warning("worker %s of model %s died; restarting", w.pid, self.model_name)
        task = self.loop.create_task(self._restart(w))  # type: ignore[union-attr]
        self._restarting.add(task)
        task.add_done_callback(self._restarting.discard)

    async def _restart(self, old: WorkerProcess) -> None:
        if old.proc is not None:
            await self.loop.run_in_executor(None, old.proc.wait)  # type: ignore[union-attr]
        backoff = self.restart_backoff
        while not self.stopped:
            new = WorkerProcess(self, old.worker_id)
            try:
                await new.start(self.load_timeout)
            except asyncio.CancelledError:  # the instance is stopping: the half-started worker goes too
                new.kill()
                if new.transport is not None:
                    new.transport.close()
                if new.proc is not None:
                    await self.loop.run_in_executor(None, new.proc.wait)  # type: ignore[union-attr]
                raise
            except ModelLoadError as exc:
                log.error("restart of worker %s failed: %s", old.worker_id, exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            if self.stopped:
                await new.stop(1.0)
                return
            self.workers[self.workers.index(old)] = new
            self.restarts += 1
            self.worker_idle(new)
            return

    async def _sweep(self) -> None:
        """Answer requests that waited longer than `answer_within` as timed out; recycle a worker whose
        batch outlived the model server's timeout (its requests were answered by then)."""
        while True:
            await asyncio.sleep(min(1.0, self.answer_within / 4))
            now = time.perf_counter()
            answer_limit, kill_limit = now - self.answer_within, now - self.timeout
            while self.queue and self.queue[0].t_submit < answer_limit:
                self.queue.popleft().finish(STATUS_TIMEOUT, "", b"")
            for w in list(self.workers):
                if not w.inflight:
                    continue
                oldest = min(i.t_dispatch for i in w.inflight.values())
                if oldest < kill_limit:
                    held = list(w.inflight.values())
                    w.inflight.clear()
                    for inv in held:
                        inv.finish(STATUS_TIMEOUT, "", b"")
                    w.kill()  # connection_lost restarts it
                elif oldest < answer_limit:
                    for inv in w.inflight.values():  # finish() is once only: the late answer is dropped
                        if inv.t_dispatch < answer_limit:
                            inv.finish(STATUS_TIMEOUT, "", b"")


def describe_load_failure(model_name: str, variant_name: str, error: BaseException) -> str:
    """The FailureReason an endpoint gets when a variant's model cannot load."""
    text = error.text if isinstance(error, ModelLoadError) else str(error)
    return f"Model {model_name} of production variant {variant_name} failed to load: {text}"
