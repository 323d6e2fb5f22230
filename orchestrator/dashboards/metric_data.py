"""The data of a dashboard's metric lines, with ``GetMetricData`` (the API the console uses too)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from orchestrator.dashboards.widgets import MetricLine

MAX_QUERIES = 500  # GetMetricData's limit per call


@dataclass(frozen=True)
class Series:
    timestamps: tuple[dt.datetime, ...]
    values: tuple[float, ...]


def fetch(cloudwatch: Any, lines: Iterable[MetricLine], start: dt.datetime, end: dt.datetime) -> dict[MetricLine, Series]:
    """Each fetchable line's datapoints over ``[start, end)``, oldest first (empty when it has none)."""
    wanted = list(dict.fromkeys(line for line in lines if line.fetchable))
    out: dict[MetricLine, Series] = {}
    for offset in range(0, len(wanted), MAX_QUERIES):
        batch = wanted[offset : offset + MAX_QUERIES]
        queries = [
            {
                "Id": f"m{i}",
                "MetricStat": {
                    "Metric": {
                        "Namespace": line.namespace,
                        "MetricName": line.name,
                        "Dimensions": [{"Name": k, "Value": v} for k, v in line.dimensions],
                    },
                    "Period": line.period,
                    "Stat": line.stat,
                },
                "ReturnData": True,
            }
            for i, line in enumerate(batch)
        ]
        found: dict[str, tuple[list[dt.datetime], list[float]]] = {}
        token = None
        while True:
            kwargs: dict[str, Any] = {"MetricDataQueries": queries, "StartTime": start, "EndTime": end,
                                      "ScanBy": "TimestampAscending"}
            if token:
                kwargs["NextToken"] = token
            response = cloudwatch.get_metric_data(**kwargs)
            for result in response.get("MetricDataResults", []):
                times, values = found.setdefault(result["Id"], ([], []))
                times.extend(result.get("Timestamps", []))
                values.extend(float(v) for v in result.get("Values", []))
            token = response.get("NextToken")
            if not token:
                break
        for i, line in enumerate(batch):
            times, values = found.get(f"m{i}", ([], []))
            pairs = sorted(zip(times, values))
            out[line] = Series(tuple(t for t, _ in pairs), tuple(v for _, v in pairs))
    return out
