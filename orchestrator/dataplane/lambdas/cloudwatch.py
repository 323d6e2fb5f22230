"""CloudWatch Logs and metrics of the data plane, written into moto's backends in-process.

Why in-process and batched: the hot path (thousands of invocations per second) must only append
to a list; a background thread moves what accumulated into moto's logs and cloudwatch backends
every ``interval`` seconds (PutLogEvents-shaped events; PutMetricData, one entry per metric and
dimension set per flush: a statistic set for counts, ``Values``/``Counts`` for time metrics such as
Lambda ``Duration`` and API Gateway ``Latency``, so that their percentiles exist, as on AWS).
Nothing goes over HTTP and nothing is kept once flushed: moto holds the logs and metrics, as
CloudWatch would.
"""

from __future__ import annotations

import gc
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from orchestrator.dataplane.metric_distribution import Distribution

log = logging.getLogger(__name__)

FLUSH_INTERVAL_S = float(os.environ.get("ORCHESTRATOR_DATAPLANE_FLUSH_SECONDS", "2"))
# Local retention bound: a load test at 1,000 req/s writes 4,000 events/s; keep the newest N per stream.
MAX_EVENTS_PER_STREAM = int(os.environ.get("ORCHESTRATOR_LAMBDA_LOG_EVENTS_PER_STREAM", "10000"))

Dims = tuple[tuple[str, str], ...]


@dataclass
class _Stat:
    count: float = 0.0
    total: float = 0.0
    minimum: float = float("inf")
    maximum: float = float("-inf")

    def add(self, value: float) -> None:
        self.count += 1
        self.total += value
        self.minimum = min(self.minimum, value)
        self.maximum = max(self.maximum, value)


TIME_SCALES = {"Seconds": 1e6, "Milliseconds": 1e3, "Microseconds": 1.0}  # per microsecond


@dataclass
class MetricBuffer:
    """Per (metric, dimensions) since the last flush, for one namespace: a statistic set, or for a
    metric whose unit is a time a :class:`~orchestrator.dataplane.metric_distribution.Distribution`."""

    namespace: str
    units: dict[str, str] = field(default_factory=dict)
    _stats: dict[tuple[str, Dims], _Stat | Distribution] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, metric: str, dims: Dims, value: float) -> None:
        key = (metric, dims)
        stat = self._stats.get(key)
        if stat is None:
            with self._lock:
                unit = self.units.get(metric)
                fresh = Distribution(TIME_SCALES[unit]) if unit in TIME_SCALES else _Stat()
                stat = self._stats.setdefault(key, fresh)
        stat.add(value)

    def drain(self) -> list[dict[str, Any]]:
        with self._lock:
            stats, self._stats = self._stats, {}
        out: list[dict[str, Any]] = []
        for (metric, dims), s in stats.items():
            if not s.count:
                continue
            base = {"MetricName": metric, "Dimensions": [{"Name": k, "Value": v} for k, v in dims],
                    "Unit": self.units.get(metric, "Count")}
            if isinstance(s, Distribution):
                out += s.datums(base)
            else:
                stats_set = {"SampleCount": s.count, "Sum": s.total, "Minimum": s.minimum, "Maximum": s.maximum}
                out.append({**base, "StatisticValues": stats_set})
        return out


@dataclass
class LogBuffer:
    """Log events per (account, region, group, stream) since the last flush."""

    _events: list[tuple[str, str, str, str, int, str]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, account: str, region: str, group: str, stream: str, lines: list[tuple[int, str]]) -> None:
        with self._lock:
            self._events.extend((account, region, group, stream, ts, msg) for ts, msg in lines)

    def drain(self) -> dict[tuple[str, str, str, str], list[dict[str, Any]]]:
        with self._lock:
            events, self._events = self._events, []
        grouped: dict[tuple[str, str, str, str], list[dict[str, Any]]] = {}
        for account, region, group, stream, ts, msg in events:
            grouped.setdefault((account, region, group, stream), []).append({"timestamp": ts, "message": msg})
        return grouped


def write_logs(grouped: dict[tuple[str, str, str, str], list[dict[str, Any]]], *, create_groups: bool = True) -> int:
    """PutLogEvents into moto, creating the stream and, with ``create_groups``, the group (as Lambda does
    when it is missing); without it, events for a missing group are dropped. Returns how many were."""
    from moto.logs.models import logs_backends

    dropped = 0
    for (account, region, group, stream), events in grouped.items():
        backend = logs_backends[account][region]
        if group not in backend.groups:
            if not create_groups:
                dropped += len(events)
                continue
            backend.create_log_group(group, {})
        if stream not in backend.groups[group].streams:
            backend.create_log_stream(group, stream)
        events.sort(key=lambda e: e["timestamp"])
        for start in range(0, len(events), 10_000):  # PutLogEvents' batch limit
            backend.put_log_events(group, stream, events[start : start + 10_000])
        stored = backend.groups[group].streams[stream].events
        if len(stored) > MAX_EVENTS_PER_STREAM:
            del stored[: len(stored) - MAX_EVENTS_PER_STREAM]
    return dropped


def write_metrics(account: str, region: str, buffer: MetricBuffer) -> None:
    from moto.cloudwatch.models import cloudwatch_backends

    data = buffer.drain()
    for start in range(0, len(data), 1000):
        cloudwatch_backends[account][region].put_metric_data(buffer.namespace, data[start : start + 1000])


def freeze_long_lived_objects() -> None:
    """Keep the cyclic garbage collector off moto's heap and the telemetry stored in it.

    Why: the service process holds moto's backends (hundreds of thousands of objects) and, under
    load, a stream of log events and metric datums that live as long as the process. A full
    collection rescans all of them: 150-300 ms with every thread stopped, which was the p99 of the
    API path. ``gc.collect(1)`` first reclaims young garbage, then ``gc.freeze()`` moves the
    survivors out of the collector's sight. The cost: cyclic garbage already in the oldest
    generation at that moment is never reclaimed (small: deleted control-plane objects).
    ``ORCHESTRATOR_DATAPLANE_GC_FREEZE=0`` turns this off.
    """
    if os.environ.get("ORCHESTRATOR_DATAPLANE_GC_FREEZE", "1") == "0":
        return
    gc.collect(1)
    gc.freeze()


class Flusher:
    """A daemon thread calling ``flush()`` every ``interval`` seconds, and once more at stop."""

    def __init__(self, name: str, flush: Callable[[], None], interval: float = FLUSH_INTERVAL_S) -> None:
        self._flush = flush
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def flush_now(self) -> None:
        try:
            self._flush()
        except Exception:
            log.exception("telemetry flush failed")

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.flush_now()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.flush_now()


def now_ms() -> int:
    return int(time.time() * 1000)
