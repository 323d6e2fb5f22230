"""Every sample of a run, in HDR histograms (microseconds), plus the counters the report needs.

Latency is measured from the *intended* send time. Responses of any status are latency samples;
a timed-out request is recorded at its timeout (a lower bound of its latency); dropped requests
(over --max-in-flight) were never sent and are only counted. Samples whose intended send time falls
in the warmup are ignored entirely.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from hdrh.histogram import HdrHistogram

LOWEST_US = 1
HIGHEST_US = 3_600_000_000  # one hour
PERCENTILES = (50.0, 90.0, 99.0, 99.9)
UNKNOWN_VARIANT = "(none)"
VARIANT_HEADERS = (b"x-invoked-variant", b"x-amzn-invoked-production-variant")


def new_histogram(significant_figures: int = 3) -> HdrHistogram:
    return HdrHistogram(LOWEST_US, HIGHEST_US, significant_figures)


SUB_BUCKET_BITS = 11  # 2048 sub-buckets: the resolution of a 3-significant-figure HdrHistogram


def quantize(us: int) -> int:
    """``us`` rounded down to its HdrHistogram bucket (3 significant figures): lossless for hdrh."""
    shift = us.bit_length() - SUB_BUCKET_BITS
    return us if shift <= 0 else (us >> shift) << shift


class Tally:
    """An HdrHistogram fed in batches: the hot path only counts quantized values in a dict
    (``pending[q] += 1``, ~0.1 us); ``flush`` records each distinct value once with its count
    (hdrh's pure-Python ``record_value`` costs ~1.5 us a call). Reading always flushes first."""

    __slots__ = ("_histogram", "pending", "sum_us")

    def __init__(self, significant_figures: int = 3) -> None:
        self._histogram = new_histogram(significant_figures)
        self.pending: dict[int, int] = {}
        self.sum_us = 0  # for the mean: hdrh's get_mean_value walks every bucket in Python (slow)

    @property
    def histogram(self) -> HdrHistogram:
        if self.pending:
            record = self._histogram.record_value
            for value, count in self.pending.items():
                record(value, count)
                self.sum_us += value * count
            self.pending = {}
        return self._histogram


def ms(us: float) -> float:
    return round(us / 1000.0, 3)


def counts_percentile_ms(counts: dict[int, int], percentile: float) -> float:
    """A percentile of ``{value us: count}`` in ms (cheap for the few hundred distinct values of an
    interval; walking a full HdrHistogram's buckets in Python takes milliseconds and would stall sends)."""
    total = sum(counts.values())
    if not total:
        return 0.0
    target = max(1, -(-total * percentile // 100))
    seen = 0
    for value in sorted(counts):
        seen += counts[value]
        if seen >= target:
            return ms(value)
    return ms(max(counts))


def percentiles_ms(tally: Tally) -> dict[str, float]:
    """p50/p90/p99/p99.9/max/min/mean in milliseconds (zeros when empty)."""
    h = tally.histogram
    total = h.get_total_count()
    if total == 0:
        return {"p50": 0.0, "p90": 0.0, "p99": 0.0, "p99_9": 0.0, "max": 0.0, "mean": 0.0, "min": 0.0}
    values = h.get_percentile_to_value_dict(list(PERCENTILES))  # one pass over the buckets
    out = {f"p{p:g}".replace(".", "_"): ms(values[p]) for p in PERCENTILES}
    out["max"] = ms(h.get_max_value())
    out["min"] = ms(h.get_min_value())
    out["mean"] = ms(tally.sum_us / total)
    return out


@dataclass
class Group:
    """Latency and outcomes of a subset of requests (a variant or a test case)."""

    tally: Tally = field(default_factory=Tally)
    count: int = 0
    success: int = 0  # 2xx
    errors: int = 0  # non-2xx responses, connection failures, timeouts
    test_success: int = 0  # 2xx and every expected key/value matched
    test_fail: int = 0
    labels: Counter[str] = field(default_factory=Counter)
    statuses: Counter[str] = field(default_factory=Counter)

    @property
    def histogram(self) -> HdrHistogram:
        return self.tally.histogram

    def summary(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "success": self.success,
            "errors": self.errors,
            "test_success": self.test_success,
            "test_fail": self.test_fail,
            "latency_ms": percentiles_ms(self.tally),
            "labels": dict(sorted(self.labels.items())),
            "statuses": dict(sorted(self.statuses.items())),
        }


@dataclass
class Second:
    """Per-second view (by intended send second) for the latency-over-time figure: a plain
    ``{quantized us: count}`` (a few hundred entries), so hour-long runs stay small."""

    latency: dict[int, int] = field(default_factory=dict)
    sent: int = 0
    completed: int = 0
    errors: int = 0
    drops: int = 0


def _matches(expected: dict[str, Any] | None, got: Any) -> bool:
    if not expected:
        return True
    if not isinstance(got, dict):
        return False
    return all(str(got.get(k)) == str(v) for k, v in expected.items())


class Recorder:
    """Collects samples; the engine calls ``sent``/``dropped``/``result`` with intended offsets (s)."""

    def __init__(
        self,
        warmup: float,
        case_names: list[str],
        expected: list[dict[str, Any] | None],
        window_end: float = float("inf"),
    ) -> None:
        self.warmup = warmup
        self.window_end = window_end  # warmup + duration: responses after it are not throughput
        self.case_names = case_names
        self.expected = expected
        self._latency = Tally()
        self._send_lag = Tally()
        self._interval: dict[int, int] = {}  # latency since the last progress line (taken by it)
        self._interval_lag: dict[int, int] = {}  # send lag since the last progress line, warmup included
        self.variants: dict[str, Group] = {}
        self.cases: list[Group] = [Group() for _ in case_names]
        self.seconds: dict[int, Second] = {}
        self.statuses: Counter[str] = Counter()
        self.errors_by_status: Counter[str] = Counter()
        self.sent_total = 0  # warmup included (progress)
        self.sent_measured = 0
        self.completed = 0
        self.completed_in_window = 0  # responses (any status) that arrived before window_end
        self.success = 0
        self.errors = 0
        self.errors_total = 0  # warmup included (progress)
        self.timeouts = 0
        self.drops = 0
        self.drops_total = 0
        self._last_key = -1
        self._last_second = Second()
        self.first_send: float | None = None  # offsets of measured sends
        self.last_send: float | None = None

    # ---- called by the engine -------------------------------------------------------------
    def sent(self, intended: float, lag: float) -> None:
        self.sent_total += 1
        q = quantize(max(LOWEST_US, min(HIGHEST_US, int(lag * 1e6))))
        p = self._interval_lag
        p[q] = p.get(q, 0) + 1
        if intended < self.warmup:
            return
        self.sent_measured += 1
        if self.first_send is None:
            self.first_send = intended
        self.last_send = intended + lag
        p = self._send_lag.pending
        p[q] = p.get(q, 0) + 1
        self._second(intended).sent += 1

    def dropped(self, intended: float) -> None:
        self.drops_total += 1
        if intended < self.warmup:
            return
        self.drops += 1
        self._second(intended).drops += 1

    def result(
        self,
        intended: float,
        latency: float,
        case: int,
        status: int,
        headers: dict[bytes, bytes],
        body: bytes,
        error: str | None,
    ) -> None:
        q = quantize(max(LOWEST_US, min(HIGHEST_US, int(latency * 1e6))))
        p = self._interval
        p[q] = p.get(q, 0) + 1
        ok = 200 <= status < 300
        if not ok:
            self.errors_total += 1
        if intended < self.warmup:
            return
        self.completed += 1
        if intended + latency <= self.window_end:
            self.completed_in_window += 1
        p = self._latency.pending
        p[q] = p.get(q, 0) + 1
        key = error or str(status)
        self.statuses[key] += 1
        second = self._second(intended)
        second.completed += 1
        p = second.latency
        p[q] = p.get(q, 0) + 1
        parsed = _parse(body) if body[:1] == b"{" else None
        variant = _variant(headers, parsed)
        label = str(parsed["label"]) if isinstance(parsed, dict) and "label" in parsed else None
        passed = ok and _matches(self.expected[case], parsed)
        for group in (self._variant(variant), self.cases[case]):
            p = group.tally.pending
            p[q] = p.get(q, 0) + 1
            group.count += 1
            group.statuses[key] += 1
            if ok:
                group.success += 1
            else:
                group.errors += 1
            if passed:
                group.test_success += 1
            else:
                group.test_fail += 1
            if label is not None:
                group.labels[label] += 1
        if ok:
            self.success += 1
        else:
            self.errors += 1
            second.errors += 1
            if error == "timeout":
                self.timeouts += 1
            else:
                self.errors_by_status[key] += 1

    # ---- views (each flushes its tallies) ------------------------------------------------
    @property
    def latency(self) -> HdrHistogram:
        return self._latency.histogram

    @property
    def latency_tally(self) -> Tally:
        return self._latency

    @property
    def send_lag_tally(self) -> Tally:
        return self._send_lag

    @property
    def send_lag(self) -> HdrHistogram:
        return self._send_lag.histogram

    def take_interval(self) -> tuple[dict[int, int], dict[int, int]]:
        """(latency, send lag) counts since the last call, quantized microseconds -> count."""
        taken = self._interval, self._interval_lag
        self._interval, self._interval_lag = {}, {}
        return taken

    def _second(self, intended: float) -> Second:
        key = int(intended - self.warmup)
        if key == self._last_key:
            return self._last_second
        second = self.seconds.get(key)
        if second is None:
            second = self.seconds[key] = Second()
        self._last_key, self._last_second = key, second
        return second

    def _variant(self, name: str) -> Group:
        group = self.variants.get(name)
        if group is None:
            group = self.variants[name] = Group()
        return group

    def timeline(self) -> list[dict[str, Any]]:
        rows = []
        for key in sorted(self.seconds):
            s = self.seconds[key]
            lat = s.latency
            rows.append(
                {
                    "second": key,
                    "sent": s.sent,
                    "completed": s.completed,
                    "errors": s.errors,
                    "drops": s.drops,
                    "p50_ms": counts_percentile_ms(lat, 50),
                    "p99_ms": counts_percentile_ms(lat, 99),
                    "max_ms": ms(max(lat)) if lat else 0.0,
                }
            )
        return rows

    def percentile_curve(self) -> list[tuple[float, float]]:
        """(percentile, latency ms) points of the whole distribution, for the percentile plot."""
        if self.latency.get_total_count() == 0:
            return []
        return [
            (item.percentile_level_iterated_to, ms(item.value_iterated_to))
            for item in self.latency.get_percentile_iterator(5)
        ]


def _parse(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


def _variant(headers: dict[bytes, bytes], parsed: Any) -> str:
    for name in VARIANT_HEADERS:
        value = headers.get(name)
        if value:
            return value.decode("latin-1")
    if isinstance(parsed, dict) and isinstance(parsed.get("variant"), str):
        return parsed["variant"]
    return UNKNOWN_VARIANT


def log_buckets(h: HdrHistogram, first_us: int = 10, base: float = 1.25) -> list[dict[str, float]]:
    """Counts in logarithmic latency buckets (upper bound in ms), for the histogram figure."""
    if h.get_total_count() == 0:
        return []
    return [
        {"le_ms": ms(it.value_iterated_to), "count": it.count_added_in_this_iter_step}
        for it in h.get_log_iterator(first_us, base)
    ]
