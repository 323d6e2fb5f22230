"""The original custom metrics, aggregated per flush and sent in few PutMetricData calls.

Namespace: METRIC_NAMESPACE (the project name). Dimensions: Stage, Type = ``ApiGateway/<case label>``.
Metrics: ResponseTime (Milliseconds), StatusSuccess, StatusError, TestSuccess, TestFail (Count).

The original put one datum per request (value 1 for a count, the time for ResponseTime). Here each
flush sends, per case and metric, ``Values``/``Counts`` arrays: counts as ``Values=[1], Counts=[n]`` and
response times grouped by value (rounded to 0.1 ms, at most 150 distinct values per datum). CloudWatch
statistics (Sum, SampleCount, Average, percentiles) therefore come out as if each request had been
put on its own. A metric with no sample in a window is not sent (as in the original).
"""

from __future__ import annotations

import json
import threading
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

RESPONSE_TIME = "ResponseTime"
COUNT_METRICS = ("StatusSuccess", "StatusError", "TestSuccess", "TestFail")
MAX_VALUES_PER_DATUM = 150
MAX_DATA_PER_CALL = 1000
MAX_CALL_BYTES = 800_000  # PutMetricData accepts 1 MB; stay well under it


class MetricBuffer:
    """Thread-safe accumulator (workers add, the main loop drains)."""

    def __init__(self, namespace: str, stage: str) -> None:
        self.namespace = namespace
        self.stage = stage
        self._lock = threading.Lock()
        self._times: dict[str, Counter[float]] = defaultdict(Counter)
        self._counts: dict[tuple[str, str], int] = defaultdict(int)

    def add(self, metric_type: str, *, response_ms: float | None, status_ok: bool, test_ok: bool) -> None:
        with self._lock:
            if response_ms is not None:
                self._times[metric_type][round(response_ms, 1)] += 1
            self._counts[(metric_type, "StatusSuccess" if status_ok else "StatusError")] += 1
            self._counts[(metric_type, "TestSuccess" if test_ok else "TestFail")] += 1

    def drain(self) -> list[dict[str, Any]]:
        with self._lock:
            times, counts = self._times, self._counts
            self._times, self._counts = defaultdict(Counter), defaultdict(int)
        now = datetime.now(UTC)
        data: list[dict[str, Any]] = []
        for metric_type, values in sorted(times.items()):
            items = sorted(values.items())
            for start in range(0, len(items), MAX_VALUES_PER_DATUM):
                chunk = items[start:start + MAX_VALUES_PER_DATUM]
                data.append(self._datum(metric_type, RESPONSE_TIME, "Milliseconds", now,
                                        [v for v, _ in chunk], [float(c) for _, c in chunk]))
        for (metric_type, name), count in sorted(counts.items()):
            data.append(self._datum(metric_type, name, "Count", now, [1.0], [float(count)]))
        return data

    def _datum(self, metric_type: str, name: str, unit: str, timestamp: datetime,
               values: list[float], counts: list[float]) -> dict[str, Any]:
        return {
            "MetricName": name,
            "Dimensions": [{"Name": "Stage", "Value": self.stage}, {"Name": "Type", "Value": metric_type}],
            "Timestamp": timestamp,
            "Unit": unit,
            "Values": values,
            "Counts": counts,
        }


def _encoded_size(datum: dict[str, Any]) -> int:
    """Upper estimate of a datum's size on the wire. Older botocore (the Lambda runtime's) sends the query
    protocol, where each value and count costs ~48 bytes (``MetricData.member.N.Values.member.M=...&``);
    newer botocore sends CBOR, which is smaller."""
    return 400 + len(json.dumps(datum.get("Dimensions", []))) + 96 * len(datum.get("Values", ()))


def batches(data: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    """Split into PutMetricData calls: <= 1000 data and well under 1 MB each."""
    batch: list[dict[str, Any]] = []
    size = 0
    for datum in data:
        datum_size = _encoded_size(datum)
        if batch and (len(batch) >= MAX_DATA_PER_CALL or size + datum_size > MAX_CALL_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(datum)
        size += datum_size
    if batch:
        yield batch
