"""Latency distributions sent as Values/Counts (orchestrator.dataplane.metric_distribution)."""

from __future__ import annotations

import random

from orchestrator.dataplane.metric_distribution import MAX_VALUES_PER_DATUM, Distribution, quantize


def test_quantize_keeps_eight_significant_bits() -> None:
    rng = random.Random(7)
    for _ in range(10_000):
        value = rng.uniform(0.001, 1e8)
        assert abs(quantize(value) - value) <= value / 256
    assert quantize(0.0) == 0.0 and quantize(255.0) == 255.0 and quantize(12_345.0) != 12_345.0


def test_exact_extremes_counts_and_chunks_of_150() -> None:
    d = Distribution()
    values = [1.0 + i * 37.3 for i in range(5000)]  # many distinct buckets
    for v in values:
        d.add(v)
    pairs = d.values_and_counts()
    assert sum(n for _, n in pairs) == 5000
    assert pairs[0][0] == min(values) and pairs[-1][0] == max(values)  # exact, not rounded
    assert abs(sum(v * n for v, n in pairs) - sum(values)) <= sum(values) / 256
    datums = d.datums({"MetricName": "ModelLatency", "Unit": "Microseconds"})
    assert len(datums) > 1 and all(len(x["Values"]) <= MAX_VALUES_PER_DATUM for x in datums)
    assert sum(sum(x["Counts"]) for x in datums) == 5000 and datums[0]["MetricName"] == "ModelLatency"


def test_merge_and_empty() -> None:
    a, b = Distribution(), Distribution()
    for v in (3.0, 3.0, 900.0):
        a.add(v)
    b.add(0.5)
    a.merge(b)
    assert (a.count, a.minimum, a.maximum) == (4, 0.5, 900.0)
    assert dict(a.values_and_counts()) == {0.5: 1, 3.0: 2, 900.0: 1}
    assert Distribution().datums({"MetricName": "x"}) == []


def test_lambda_and_api_gateway_time_metrics_are_distributions() -> None:
    from orchestrator.dataplane.lambdas.cloudwatch import MetricBuffer

    buffer = MetricBuffer("AWS/Lambda", {"Duration": "Milliseconds", "Invocations": "Count"})
    dims = (("FunctionName", "f"),)
    for ms in (1.5, 2.5, 250.0):
        buffer.add("Duration", dims, ms)
        buffer.add("Invocations", dims, 1.0)
    got = {d["MetricName"]: d for d in buffer.drain()}
    assert got["Duration"]["Values"] == [1.5, 2.5, 250.0] and got["Duration"]["Counts"] == [1.0, 1.0, 1.0]
    assert got["Duration"]["Unit"] == "Milliseconds" and "StatisticValues" not in got["Duration"]
    assert got["Invocations"]["StatisticValues"]["Sum"] == 3.0
    assert buffer.drain() == []
