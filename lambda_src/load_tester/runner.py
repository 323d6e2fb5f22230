"""The two ways to drive the API, both bounded by the test duration and the Lambda's remaining time.

Closed loop (default, the original semantics): for each case in order, POST, record, pause the case's
interval; after each round pause Config.IntervalInSec; stop when the duration is over. (The original
checked the duration only after a full round; here no request starts after it.)

Open loop (Config.RatePerSec): send k is scheduled at ``start + k / rate`` whatever the earlier responses
did, cases in round robin, on up to MAX_IN_FLIGHT worker threads. A send whose turn comes while every
worker is busy is dropped and counted (never queued, so the rate cannot build an unbounded backlog).
Besides ResponseTime (service time of the request) the summary reports latency measured from the
*intended* send time, which is what a user would see (no coordinated omission).

Deadlines: no request starts after ``send_until`` = min(start + duration, hard_stop), where
``hard_stop`` = now + remaining Lambda time - STOP_MARGIN_SEC; every request's timeout is cut to end by
``hard_stop``, which leaves the margin for the final metric flush and the summary.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import probe
from cw_metrics import MetricBuffer
from scenario import Case, Plan

MIN_REQUEST_TIMEOUT_SEC = 0.05
PostFn = Callable[[str, bytes, Mapping[str, str], float], probe.Outcome]


@dataclass(frozen=True)
class Limits:
    send_until: float  # time.monotonic() values
    hard_stop: float
    stopped_by: str  # "duration" or "remaining_time"


def limits_for(duration_sec: float, remaining_ms: float | None, margin_sec: float, now: float) -> Limits:
    hard_stop = now + remaining_ms / 1000.0 - margin_sec if remaining_ms is not None else math.inf
    end_of_duration = now + duration_sec
    if end_of_duration <= hard_stop:
        return Limits(end_of_duration, hard_stop, "duration")
    return Limits(hard_stop, hard_stop, "remaining_time")


def percentile(sorted_values: list[float], pct: float) -> float | None:
    """Nearest-rank percentile of already sorted values."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(pct / 100.0 * len(sorted_values)))
    return round(sorted_values[rank - 1], 1)


@dataclass
class Recorder:
    """Thread-safe run totals for the summary."""

    sent: int = 0
    ok: int = 0
    errors: int = 0
    transport_errors: int = 0
    test_pass: int = 0
    test_fail: int = 0
    dropped: int = 0
    response_ms: list[float] = field(default_factory=list)
    from_intended_ms: list[float] = field(default_factory=list)
    cases: dict[str, dict[str, int]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, case: Case, outcome: probe.Outcome, test_ok: bool, from_intended_ms: float | None) -> None:
        with self.lock:
            self.sent += 1
            per_case = self.cases.setdefault(case.label, {"sent": 0, "ok": 0, "test_pass": 0, "test_fail": 0})
            per_case["sent"] += 1
            if outcome.status_ok:
                self.ok += 1
                per_case["ok"] += 1
            else:
                self.errors += 1
                if outcome.status is None:
                    self.transport_errors += 1
            if test_ok:
                self.test_pass += 1
                per_case["test_pass"] += 1
            else:
                self.test_fail += 1
                per_case["test_fail"] += 1
            if outcome.status is not None:
                self.response_ms.append(outcome.elapsed_ms)
            if from_intended_ms is not None:
                self.from_intended_ms.append(from_intended_ms)

    def drop(self) -> None:
        with self.lock:
            self.dropped += 1


class Runner:
    def __init__(
        self,
        plan: Plan,
        *,
        url_for: Callable[[Case], str],
        headers: Mapping[str, str],
        http_timeout_sec: float,
        limits: Limits,
        metrics: MetricBuffer,
        flush: Callable[[], None],
        flush_every_sec: float,
        max_in_flight: int,
        post: PostFn = probe.post,
        on_result: Callable[[Case, probe.Outcome, bool], None] | None = None,
    ) -> None:
        self.plan = plan
        self.url_for = url_for
        self.headers = dict(headers)
        self.http_timeout_sec = http_timeout_sec
        self.limits = limits
        self.metrics = metrics
        self.flush = flush
        self.flush_every_sec = flush_every_sec
        self.max_in_flight = max_in_flight
        self.post = post
        self.on_result = on_result
        self.recorder = Recorder()
        self._next_flush = time.monotonic() + flush_every_sec
        self._in_flight = 0
        self._idle = threading.Condition()

    # --- shared pieces -------------------------------------------------------------------------

    def _maybe_flush(self) -> None:
        if time.monotonic() >= self._next_flush:
            self.flush()
            self._next_flush = time.monotonic() + self.flush_every_sec

    def _wait_until(self, moment: float) -> None:
        """Sleep until ``moment`` (monotonic), flushing metrics when a flush falls due meanwhile."""
        while True:
            self._maybe_flush()
            now = time.monotonic()
            if now >= moment:
                return
            time.sleep(min(moment - now, max(self._next_flush - now, 0.001)))

    def _send(self, case: Case, intended: float | None = None) -> None:
        timeout = min(self.http_timeout_sec, self.limits.hard_stop - time.monotonic())
        if timeout < MIN_REQUEST_TIMEOUT_SEC:
            self.recorder.drop()
            return
        outcome = self.post(self.url_for(case), case.body, self.headers, timeout)
        test_ok = probe.passed(outcome, case.expected, case.expected_status)
        from_intended = (time.monotonic() - intended) * 1000 if intended is not None else None
        self.recorder.record(case, outcome, test_ok, from_intended)
        self.metrics.add(
            case.metric_type,
            response_ms=outcome.elapsed_ms if outcome.status is not None else None,
            status_ok=outcome.status_ok,
            test_ok=test_ok,
        )
        if self.on_result:
            self.on_result(case, outcome, test_ok)

    # --- modes ---------------------------------------------------------------------------------

    def _closed_loop(self) -> None:
        while True:
            for case in self.plan.cases:
                if time.monotonic() >= self.limits.send_until:
                    return
                self._send(case)
                self._wait_until(min(time.monotonic() + case.interval_sec, self.limits.send_until))
            self._wait_until(min(time.monotonic() + self.plan.interval_sec, self.limits.send_until))

    def _send_tracked(self, case: Case, intended: float) -> None:
        try:
            self._send(case, intended)
        finally:
            with self._idle:
                self._in_flight -= 1
                self._idle.notify_all()

    def _open_loop(self, rate: float) -> None:
        start = time.monotonic()
        pool = ThreadPoolExecutor(max_workers=self.max_in_flight, thread_name_prefix="load")
        try:
            k = 0
            while True:
                intended = start + k / rate
                if intended >= self.limits.send_until:
                    break
                self._wait_until(intended)
                case = self.plan.cases[k % len(self.plan.cases)]
                k += 1
                with self._idle:
                    if self._in_flight >= self.max_in_flight:
                        self.recorder.drop()
                        continue
                    self._in_flight += 1
                pool.submit(self._send_tracked, case, intended)
            while True:  # let in-flight requests finish, but not past the hard stop
                self._maybe_flush()
                with self._idle:
                    remaining = self.limits.hard_stop - time.monotonic()
                    if self._in_flight == 0 or remaining <= 0:
                        break
                    self._idle.wait(min(remaining, 0.1))
        finally:
            pool.shutdown(wait=False, cancel_futures=True)

    def run(self) -> dict[str, Any]:
        started = time.monotonic()
        rate = self.plan.rate_per_sec
        if rate:
            self._open_loop(rate)
        else:
            self._closed_loop()
        elapsed = time.monotonic() - started
        self.flush()
        return self.summary(elapsed)

    def summary(self, elapsed_sec: float) -> dict[str, Any]:
        r = self.recorder
        with r.lock:
            times = sorted(r.response_ms)
            lags = sorted(r.from_intended_ms)
            result: dict[str, Any] = {
                "mode": "rate" if self.plan.rate_per_sec else "closed_loop",
                "sent": r.sent,
                "ok": r.ok,
                "errors": r.errors,
                "transport_errors": r.transport_errors,
                "dropped": r.dropped,
                "test_pass": r.test_pass,
                "test_fail": r.test_fail,
                "p50_ms": percentile(times, 50),
                "p99_ms": percentile(times, 99),
                "max_ms": round(times[-1], 1) if times else None,
                "elapsed_sec": round(elapsed_sec, 3),
                "achieved_rate_per_sec": round(r.sent / elapsed_sec, 3) if elapsed_sec > 0 else None,
                "stopped_by": self.limits.stopped_by,
                "cases": {label: dict(counts) for label, counts in r.cases.items()},
            }
            if self.plan.rate_per_sec:
                result.update(
                    target_rate_per_sec=self.plan.rate_per_sec,
                    p50_from_intended_ms=percentile(lags, 50),
                    p99_from_intended_ms=percentile(lags, 99),
                )
        return result
