"""The original serverless tester's side: its trigger message and its CloudWatch metrics.

Metrics (namespace = project name, dims ``Stage``, ``Type = <type>/<case>``): ``ResponseTime`` (ms),
``StatusSuccess``, ``StatusError``, ``TestSuccess``, ``TestFail``. ``load-test --publish-metrics``
writes a run's figures under the same names, so the tester dashboard shows both kinds of runs.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

from orchestrator.loadtest.recorder import Group, ms

COUNT_METRICS = ("StatusSuccess", "StatusError", "TestSuccess", "TestFail")
MAX_VALUES_PER_DATUM = 150  # PutMetricData limit for Values/Counts
DATA_PER_CALL = 20


def trigger_message(load_testing: dict[str, Any], test_cases: list[dict[str, Any]]) -> dict[str, Any]:
    """``{"Config": {"IntervalInSec", "DurationInSec"}, "TestData": [...]}`` from an environment."""
    return {
        "Config": {"IntervalInSec": load_testing["interval_sec"], "DurationInSec": load_testing["duration_sec"]},
        "TestData": test_cases,
    }


def validate_message(message: Any) -> list[str]:
    problems = []
    if not isinstance(message, dict):
        return ["the message must be a JSON object"]
    config = message.get("Config")
    values = [config.get(k) for k in ("IntervalInSec", "DurationInSec")] if isinstance(config, dict) else [None]
    if not all(isinstance(v, (int, float)) and v > 0 for v in values):
        problems.append("Config needs positive IntervalInSec and DurationInSec")
    data = message.get("TestData")
    if not isinstance(data, list) or not data:
        problems.append("TestData must be a non-empty list")
    else:
        for i, case in enumerate(data):
            if not isinstance(case, dict) or "request" not in case:
                problems.append(f"TestData[{i}] needs a request")
    return problems


def _values_counts(group: Group) -> tuple[list[float], list[float]]:
    """ResponseTime samples as at most 150 (value ms, count) pairs from the case's histogram."""
    h = group.histogram
    if h.get_total_count() == 0:
        return [], []
    pairs = [(ms(it.value_iterated_to), float(it.count_at_value_iterated_to)) for it in h.get_recorded_iterator()]
    if len(pairs) > MAX_VALUES_PER_DATUM:  # merge neighbours, keeping each bucket's upper value
        size = math.ceil(len(pairs) / MAX_VALUES_PER_DATUM)
        pairs = [
            (chunk[-1][0], sum(c for _, c in chunk))
            for chunk in (pairs[i : i + size] for i in range(0, len(pairs), size))
        ]
    return [p[0] for p in pairs], [p[1] for p in pairs]


def metric_data(stage: str, type_prefix: str, cases: dict[str, Group], timestamp: dt.datetime) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = []
    for name, group in cases.items():
        dims = [{"Name": "Stage", "Value": stage}, {"Name": "Type", "Value": f"{type_prefix}/{name}"}]
        values, counts = _values_counts(group)
        if values:
            data.append(
                {
                    "MetricName": "ResponseTime",
                    "Dimensions": dims,
                    "Timestamp": timestamp,
                    "Values": values,
                    "Counts": counts,
                    "Unit": "Milliseconds",
                }
            )
        for metric, value in zip(COUNT_METRICS, (group.success, group.errors, group.test_success, group.test_fail)):
            data.append(
                {
                    "MetricName": metric,
                    "Dimensions": dims,
                    "Timestamp": timestamp,
                    "Value": float(value),
                    "Unit": "Count",
                }
            )
    return data


def publish(cloudwatch: Any, namespace: str, data: list[dict[str, Any]]) -> int:
    for i in range(0, len(data), DATA_PER_CALL):
        cloudwatch.put_metric_data(Namespace=namespace, MetricData=data[i : i + DATA_PER_CALL])
    return len(data)


@dataclass
class CaseView:
    type: str
    count: float
    average_ms: float | None
    p50_ms: float | None
    p90_ms: float | None
    p99_ms: float | None
    sums: dict[str, float]


def _query(i: int, namespace: str, metric: str, dims: list[dict[str, str]], stat: str, period: int) -> dict[str, Any]:
    return {
        "Id": f"q{i}",
        "ReturnData": True,
        "MetricStat": {
            "Metric": {"Namespace": namespace, "MetricName": metric, "Dimensions": dims},
            "Period": period,
            "Stat": stat,
        },
    }


def _fetch(
    cloudwatch: Any, queries: list[dict[str, Any]], start: dt.datetime, end: dt.datetime
) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    kwargs: dict[str, Any] = {"MetricDataQueries": queries, "StartTime": start, "EndTime": end}
    while True:
        page = cloudwatch.get_metric_data(**kwargs)
        for r in page.get("MetricDataResults", []):
            out.setdefault(r["Id"], []).extend(v for v in r.get("Values", []) if v is not None)
        token = page.get("NextToken")
        if not token:
            return out
        kwargs["NextToken"] = token


def read_results(
    cloudwatch: Any, namespace: str, stage: str, since: dt.timedelta, now: dt.datetime | None = None
) -> list[CaseView]:
    """The tester-dashboard view per test case over the last ``since``."""
    end = (now or dt.datetime.now(dt.UTC)) + dt.timedelta(minutes=1)
    start = end - since - dt.timedelta(minutes=1)
    period = max(60, math.ceil((end - start).total_seconds() / 60) * 60)
    types: set[str] = set()
    for page in cloudwatch.get_paginator("list_metrics").paginate(Namespace=namespace, MetricName="ResponseTime"):
        for metric in page.get("Metrics", []):
            found = {d["Name"]: d["Value"] for d in metric.get("Dimensions", [])}
            if found.get("Stage") == stage and "Type" in found:
                types.add(found["Type"])
    views = []
    percentiles = True
    for type_ in sorted(types):
        dims = [{"Name": "Stage", "Value": stage}, {"Name": "Type", "Value": type_}]
        basic = [
            _query(0, namespace, "ResponseTime", dims, "SampleCount", period),
            _query(1, namespace, "ResponseTime", dims, "Average", period),
        ]
        basic += [_query(2 + i, namespace, m, dims, "Sum", period) for i, m in enumerate(COUNT_METRICS)]
        got = _fetch(cloudwatch, basic, start, end)
        pct: dict[str, list[float]] = {}
        if percentiles:
            try:  # percentile statistics: CloudWatch has them; an emulator may not (then n/a, once)
                pct = _fetch(
                    cloudwatch,
                    [
                        _query(10 + i, namespace, "ResponseTime", dims, p, period)
                        for i, p in enumerate(("p50", "p90", "p99"))
                    ],
                    start,
                    end,
                )
            except Exception:  # noqa: BLE001 - shown as n/a, not fatal
                percentiles = False
        count = sum(got.get("q0", []))
        avg = got.get("q1") or []
        views.append(
            CaseView(
                type=type_,
                count=count,
                average_ms=sum(avg) / len(avg) if avg else None,
                p50_ms=_first(pct.get("q10")),
                p90_ms=_first(pct.get("q11")),
                p99_ms=_first(pct.get("q12")),
                sums={m: sum(got.get(f"q{2 + i}", [])) for i, m in enumerate(COUNT_METRICS)},
            )
        )
    return views


def _first(values: list[float] | None) -> float | None:
    return max(values) if values else None


def render_views(views: list[CaseView]) -> str:
    if not views:
        return "no tester metrics in this window"
    head = ["test case (Type)", "count", "avg ms", "p50 ms", "p90 ms", "p99 ms", *COUNT_METRICS]

    def f(v: float | None) -> str:
        return "n/a" if v is None else f"{v:.2f}"

    rows = [
        [
            v.type,
            f"{v.count:.0f}",
            f(v.average_ms),
            f(v.p50_ms),
            f(v.p90_ms),
            f(v.p99_ms),
            *(f"{v.sums[m]:.0f}" for m in COUNT_METRICS),
        ]
        for v in views
    ]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]
    lines = [
        "  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(head, widths))),
        "  ".join("-" * w for w in widths),
    ]
    lines += ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))) for r in rows]
    return "\n".join(lines)
