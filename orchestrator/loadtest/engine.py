"""The driver: open loop (the real measurement) and closed loop (for comparison only).

Open loop: send offsets come from :mod:`schedule` and are kept whatever the server does. A request
whose slot comes while ``max_in_flight`` requests are outstanding is *dropped* (counted, never sent
late). Latency runs from the intended send time, so a stalled server shows up in the percentiles
instead of silently slowing the generator down (coordinated omission).

Closed loop: ``concurrency`` workers each wait for their response before sending the next request
and time from the actual send, like the original tester. It under-reports stalls; it exists so the
difference can be shown and tested.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from orchestrator.loadtest.client import Pool, parse_url
from orchestrator.loadtest.progress import Progress
from orchestrator.loadtest.recorder import Recorder
from orchestrator.loadtest.schedule import send_offsets
from orchestrator.loadtest.wire import Target

HOUSEKEEPING_SEC = 0.05
# uvloop's loop.time() is libuv's millisecond clock cached per loop iteration: too coarse for
# latencies. Every timestamp of a sample comes from the high-resolution monotonic clock instead.
clock = time.perf_counter
START_LEAD_SEC = 0.02


@dataclass
class RunConfig:
    rate: float
    duration: float
    warmup: float = 0.0
    arrival: str = "constant"  # constant | poisson | closed
    seed: int = 0
    max_in_flight: int = 256
    timeout: float = 30.0
    concurrency: int = 4  # closed loop only
    max_send_lag_ms: float = 10.0
    progress_interval: float = 1.0


@dataclass
class RunResult:
    config: RunConfig
    target: Target
    recorder: Recorder
    started_at: float  # wall clock (epoch seconds)
    elapsed: float
    behind_periods: int = 0
    connections_opened: int = 0
    warnings: list[str] = field(default_factory=list)


def run(config: RunConfig, target: Target, progress: Progress | None = None) -> RunResult:
    """Run one load test to completion (bounded: duration + warmup + at most ``timeout`` of drain)."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is part of the local extra
        return asyncio.run(run_async(config, target, progress))
    return uvloop.run(run_async(config, target, progress))


async def run_async(config: RunConfig, target: Target, progress: Progress | None = None) -> RunResult:
    if config.rate <= 0 or config.duration <= 0:
        raise ValueError("rate and duration must be positive")
    progress = progress or Progress(enabled=False, max_send_lag_ms=config.max_send_lag_ms)
    recorder = Recorder(config.warmup, target.case_names, target.expected, config.warmup + config.duration)
    started = time.time()
    if config.arrival == "closed":
        elapsed, opened = await _closed_loop(config, target, recorder, progress)
    else:
        elapsed, opened = await _open_loop(config, target, recorder, progress)
    progress.finish()
    result = RunResult(config, target, recorder, started, elapsed, progress.behind_periods, opened)
    lag_p99_ms = recorder.send_lag.get_value_at_percentile(99) / 1000 if recorder.sent_measured else 0.0
    if lag_p99_ms > config.max_send_lag_ms:
        result.warnings.append(
            f"the load generator fell behind its own schedule (send lag p99 {lag_p99_ms:.1f} ms > "
            f"{config.max_send_lag_ms:g} ms): the client was saturated; latencies include its own delay"
        )
    if recorder.drops:
        result.warnings.append(
            f"{recorder.drops} request(s) dropped: --max-in-flight {config.max_in_flight} "
            "was reached (the server did not keep up)"
        )
    return result


async def _open_loop(cfg: RunConfig, target: Target, recorder: Recorder, progress: Progress) -> tuple[float, int]:
    loop = asyncio.get_running_loop()
    requests = target.render()
    n_cases = len(requests)
    t0 = clock() + START_LEAD_SEC
    timeout = cfg.timeout

    def on_result(
        ctx: tuple[float, int], status: int, headers: dict[bytes, bytes], body: bytes, error: str | None
    ) -> None:
        intended, case = ctx
        recorder.result(intended, clock() - t0 - intended, case, status, headers, body, error)

    pool = Pool(loop, parse_url(target.url), on_result, connect_timeout=timeout, clock=clock)
    deadline_of: Callable[[tuple[float, int]], float] = lambda ctx: t0 + ctx[0] + timeout
    end = cfg.warmup + cfg.duration
    offsets = send_offsets(cfg.rate, cfg.arrival, cfg.seed)  # type: ignore[arg-type]
    next_t = next(offsets)
    i = 0
    max_in_flight = cfg.max_in_flight
    next_housekeeping = HOUSEKEEPING_SEC
    next_progress = cfg.progress_interval
    next_refresh = target.refresh_sec or float("inf")
    submit, sent, dropped = pool.submit, recorder.sent, recorder.dropped
    try:
        while next_t < end:
            now = clock() - t0
            while next_t <= now:
                if pool.in_flight >= max_in_flight:
                    dropped(next_t)
                else:
                    case = i % n_cases
                    sent(next_t, clock() - t0 - next_t)
                    submit(requests[case], (next_t, case))
                i += 1
                next_t = next(offsets)
                if next_t >= end:
                    break
            if now >= next_housekeeping:
                next_housekeeping = now + HOUSEKEEPING_SEC
                pool.expire(deadline_of, clock())
                if now >= next_progress:
                    next_progress += cfg.progress_interval
                    progress.update(now, recorder, pool.in_flight, "warmup" if now < cfg.warmup else "run")
                if now >= next_refresh:
                    next_refresh += target.refresh_sec or float("inf")
                    requests = target.render()
            delay = next_t - (clock() - t0)
            # libuv timers have millisecond resolution: a send may leave up to ~1 ms late. That lag
            # is measured (send_lag) and included in latency; no busy-waiting to hide it. Low rates
            # still wake every HOUSEKEEPING_SEC for timeouts and progress.
            await asyncio.sleep(min(max(0.0, delay), HOUSEKEEPING_SEC))
        # drain: wait for outstanding responses, at most until the last request's deadline
        drain_end = t0 + end + timeout
        while pool.in_flight and clock() < drain_end:
            await asyncio.sleep(HOUSEKEEPING_SEC)
            pool.expire(deadline_of, clock())
            now = clock() - t0
            if now >= next_progress:
                next_progress += cfg.progress_interval
                progress.update(now, recorder, pool.in_flight, "drain")
        pool.expire(lambda ctx: 0.0, clock())  # whatever is still out when the drain ends timed out
    finally:
        pool.close()
    return clock() - t0, pool.connections_opened


async def _closed_loop(cfg: RunConfig, target: Target, recorder: Recorder, progress: Progress) -> tuple[float, int]:
    loop = asyncio.get_running_loop()
    requests = target.render()
    t0 = clock() + START_LEAD_SEC
    end = cfg.warmup + cfg.duration
    period = cfg.concurrency / cfg.rate

    def on_result(
        ctx: tuple[asyncio.Future[Any], float],
        status: int,
        headers: dict[bytes, bytes],
        body: bytes,
        error: str | None,
    ) -> None:
        if not ctx[0].done():
            ctx[0].set_result((status, headers, body, error))

    pool = Pool(loop, parse_url(target.url), on_result, connect_timeout=cfg.timeout, clock=clock)
    counter = [0]

    async def worker(w: int) -> None:
        slot = w / cfg.rate
        while slot < end:
            now = clock() - t0
            if slot > now:
                await asyncio.sleep(slot - now)
            sent_at = clock() - t0
            case = counter[0] % len(requests)
            counter[0] += 1
            recorder.sent(sent_at, 0.0)
            fut: asyncio.Future[Any] = loop.create_future()
            pool.submit(requests[case], (fut, t0 + sent_at + cfg.timeout))  # timed out by the ticker
            status, headers, body, error = await fut
            done_at = clock() - t0
            recorder.result(sent_at, done_at - sent_at, case, status, headers, body, error)
            slot = max(slot + period, done_at)  # a late worker sends at once; missed slots are lost

    async def ticker() -> None:
        next_progress = cfg.progress_interval
        while True:
            await asyncio.sleep(HOUSEKEEPING_SEC)
            pool.expire(lambda ctx: ctx[1], clock())
            now = clock() - t0
            if now >= next_progress:
                next_progress += cfg.progress_interval
                progress.update(now, recorder, pool.in_flight, "closed")

    tick = loop.create_task(ticker())
    try:
        await asyncio.gather(*(worker(w) for w in range(cfg.concurrency)))
    finally:
        tick.cancel()
        pool.close()
    return clock() - t0, pool.connections_opened
