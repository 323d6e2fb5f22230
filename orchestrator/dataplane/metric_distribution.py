"""Latency samples kept the way CloudWatch needs them for percentiles: ``Values``/``Counts``.

AWS's services publish latencies (SageMaker ``ModelLatency``, Lambda ``Duration``, API Gateway
``Latency`` ...) so that ``p50``/``p99`` can be asked for; a statistic set (count, sum, min, max) cannot
give a percentile. Keeping every sample is out of the question at thousands of requests a second, so
a :class:`Distribution` counts samples per microsecond, and publishes them per value rounded to 8
significant bits (within 0.4 % of the sample; CloudWatch's own percentiles are approximations too).
The smallest and the largest sample are kept exact, so ``Minimum`` and ``Maximum`` are the true
ones; ``Sum`` is within 0.4 %.

:meth:`Distribution.datums` turns one into ``PutMetricData`` datums of at most 150 values each (the
API's limit per datum); CloudWatch aggregates datums of the same metric, dimensions and period.
"""

from __future__ import annotations

import math
from typing import Any

MAX_VALUES_PER_DATUM = 150
_MANTISSA_STEPS = 256.0  # frexp's mantissa is in [0.5, 1): 128 buckets per octave
_INF = math.inf
_frexp, _ldexp = math.frexp, math.ldexp


def quantize(value: float) -> float:
    """``value`` rounded to 8 significant bits (relative error at most 1/256); 0, negatives, inf and
    NaN as they are."""
    if 0.0 < value < _INF:
        mantissa, exponent = _frexp(value)
        return _ldexp(int(mantissa * _MANTISSA_STEPS + 0.5), exponent - 8)
    return value


class Distribution:
    """Samples of one metric and dimension set over one publishing window.

    The request path only counts the sample truncated to ``1 / scale`` of its unit (``scale=1`` for
    microseconds, 1000 for milliseconds: a microsecond either way), which costs a dict increment; the
    rounding to 8 significant bits happens once per key when the window is published."""

    __slots__ = ("count", "counts", "maximum", "minimum", "scale")

    def __init__(self, scale: float = 1.0) -> None:
        self.scale = scale
        self.counts: dict[int, int] = {}  # int(value * scale) -> samples
        self.count = 0
        self.minimum = math.inf
        self.maximum = -math.inf

    def add(self, value: float) -> None:
        key = int(value * self.scale)
        counts = self.counts
        counts[key] = counts.get(key, 0) + 1
        self.count += 1
        if value < self.minimum:  # noqa: PLR1730 - on every request's path: faster than min()
            self.minimum = value
        if value > self.maximum:  # noqa: PLR1730
            self.maximum = value

    def merge(self, other: Distribution) -> None:
        if other.scale != self.scale:
            raise ValueError("distributions of different scales")
        for key, n in other.counts.items():
            self.counts[key] = self.counts.get(key, 0) + n
        self.count += other.count
        self.minimum = min(self.minimum, other.minimum)
        self.maximum = max(self.maximum, other.maximum)

    def values_and_counts(self) -> list[tuple[float, int]]:
        """The histogram (values rounded to 8 significant bits), with the exact minimum and maximum in
        place of one sample of their buckets."""
        if not self.count:
            return []
        counts: dict[float, int] = {}
        for key, n in self.counts.items():
            value = quantize(key / self.scale)
            counts[value] = counts.get(value, 0) + n
        for exact in {self.minimum, self.maximum}:
            bucket = quantize(int(exact * self.scale) / self.scale)
            if bucket != exact:
                counts[bucket] -= 1
                if not counts[bucket]:
                    del counts[bucket]
                counts[exact] = counts.get(exact, 0) + 1
        return sorted(counts.items())

    def datums(self, base: dict[str, Any]) -> list[dict[str, Any]]:
        """``PutMetricData`` datums (``base`` holds MetricName, Dimensions, Unit, Timestamp)."""
        pairs = self.values_and_counts()
        return [
            {**base, "Values": [v for v, _ in chunk], "Counts": [float(n) for _, n in chunk]}
            for chunk in (pairs[i : i + MAX_VALUES_PER_DATUM] for i in range(0, len(pairs), MAX_VALUES_PER_DATUM))
        ]
