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


def ms(us: float) -> float:
    return round(us / 1000.0, 3)


def percentiles_ms(h: HdrHistogram) -> dict[str, float]:
    """p50/p90/p99/p99.9/max/mean in milliseconds (zeros when empty)."""
    if h.get_total_count() == 0:
        return {"p50": 0.0, "p90": 0.0, "p99": 0.0, "p99_9": 0.0, "max": 0.0, "mean": 0.0, "min": 0.0}
    out = {f"p{p:g}".replace(".", "_"): ms(h.get_value_at_percentile(p)) for p in PERCENTILES}
    out["max"] = ms(h.get_max_value())
    out["min"] = ms(h.get_min_value())
    out["mean"] = ms(h.get_mean_value())
    return out


@dataclass
class Group:
    """Latency and outcomes of a subset of requests (a variant or a test case)."""

    histogram: HdrHistogram = field(default_factory=new_histogram)
    count: int = 0
    success: int = 0  # 2xx
    errors: int = 0  # non-2xx responses, connection failures, timeouts
    test_success: int = 0  # 2xx and every expected key/value matched
    test_fail: int = 0
    labels: Counter[str] = field(default_factory=Counter)
    statuses: Counter[str] = field(default_factory=Counter)

    def summary(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "success": self.success,
            "errors": self.errors,
            "test_success": self.test_success,
            "test_fail": self.test_fail,
            "latency_ms": percentiles_ms(self.histogram),
            "labels": dict(sorted(self.labels.items())),
            "statuses": dict(sorted(self.statuses.items())),
        }


@dataclass
class Second:
    """Per-second view (by intended send second) for the latency-over-time figure."""

    histogram: HdrHistogram = field(default_factory=lambda: new_histogram(2))
    sent: int = 0
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

    def __init__(self, warmup: float, case_names: list[str], expected: list[dict[str, Any] | None]) -> None:
        self.warmup = warmup
        self.case_names = case_names
        self.expected = expected
        self.latency = new_histogram()
        self.send_lag = new_histogram()
        self.interval = new_histogram()  # latency since the last progress line (reset by it)
        self.interval_lag = new_histogram()  # send lag since the last progress line, warmup included
        self.variants: dict[str, Group] = {}
        self.cases: list[Group] = [Group() for _ in case_names]
        self.seconds: dict[int, Second] = {}
        self.statuses: Counter[str] = Counter()
        self.errors_by_status: Counter[str] = Counter()
        self.sent_total = 0  # warmup included (progress)
        self.sent_measured = 0
        self.completed = 0
        self.success = 0
        self.errors = 0
        self.errors_total = 0  # warmup included (progress)
        self.timeouts = 0
        self.drops = 0
        self.drops_total = 0
        self.first_send: float | None = None  # offsets of measured sends
        self.last_send: float | None = None

    # ---- called by the engine -------------------------------------------------------------
    def sent(self, intended: float, lag: float) -> None:
        self.sent_total += 1
        lag_us = max(LOWEST_US, min(HIGHEST_US, int(lag * 1e6)))
        self.interval_lag.record_value(lag_us)
        if intended < self.warmup:
            return
        self.sent_measured += 1
        if self.first_send is None:
            self.first_send = intended
        self.last_send = intended + lag
        self.send_lag.record_value(lag_us)
        self._second(intended).sent += 1

    def dropped(self, intended: float) -> None:
        self.drops_total += 1
        if intended < self.warmup:
            return
        self.drops += 1
        self._second(intended).drops += 1

    def result(self, intended: float, latency: float, case: int, status: int, headers: dict[bytes, bytes],
               body: bytes, error: str | None) -> None:
        us = max(LOWEST_US, min(HIGHEST_US, int(latency * 1e6)))
        self.interval.record_value(us)
        ok = 200 <= status < 300
        if not ok:
            self.errors_total += 1
        if intended < self.warmup:
            return
        self.completed += 1
        self.latency.record_value(us)
        key = error or str(status)
        self.statuses[key] += 1
        second = self._second(intended)
        second.histogram.record_value(us)
        parsed = _parse(body) if body[:1] == b"{" else None
        variant = _variant(headers, parsed)
        label = str(parsed["label"]) if isinstance(parsed, dict) and "label" in parsed else None
        passed = ok and _matches(self.expected[case], parsed)
        for group in (self._variant(variant), self.cases[case]):
            group.histogram.record_value(us)
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

    # ---- views ---------------------------------------------------------------------------
    def _second(self, intended: float) -> Second:
        key = int(intended - self.warmup)
        second = self.seconds.get(key)
        if second is None:
            second = self.seconds[key] = Second()
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
            p = percentiles_ms(s.histogram)
            rows.append({"second": key, "sent": s.sent, "completed": s.histogram.get_total_count(),
                         "errors": s.errors, "drops": s.drops, "p50_ms": p["p50"], "p99_ms": p["p99"],
                         "max_ms": p["max"]})
        return rows

    def percentile_curve(self) -> list[tuple[float, float]]:
        """(percentile, latency ms) points of the whole distribution, for the percentile plot."""
        if self.latency.get_total_count() == 0:
            return []
        return [(item.percentile_level_iterated_to, ms(item.value_iterated_to))
                for item in self.latency.get_percentile_iterator(5)]


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
    return [{"le_ms": ms(it.value_iterated_to), "count": it.count_added_in_this_iter_step}
            for it in h.get_log_iterator(first_us, base)]
