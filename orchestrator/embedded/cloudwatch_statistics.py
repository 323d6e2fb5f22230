"""CloudWatch statistics as AWS computes them, over the datums moto stores.

moto 5.2 answers ``GetMetricStatistics`` without ``ExtendedStatistics``, gives ``None`` for a ``pNN``
``Stat`` in ``GetMetricData``, starts its periods at the first datum instead of at the request's start,
and keeps every ``Values``/``Counts`` entry as one object per count. This module is the arithmetic the
patch in :mod:`orchestrator.embedded.moto_compat` (``patch_cloudwatch_statistics``) puts in its place,
and what the local alarm evaluator (:mod:`orchestrator.dataplane.alarms`) reads:

* datums are matched on namespace, metric name and the *exact* dimension set (as CloudWatch does), and
  on unit when one is asked for;
* periods start at the request's start time, rounded down to the minute for periods of a minute or
  more (to the period within the minute for high-resolution periods), as the API reference says;
* ``SampleCount``, ``Sum``, ``Average``, ``Minimum``, ``Maximum`` and percentiles ``pNN.NN``.
  Percentiles need raw values: a statistic set counts only when its ``SampleCount`` is 1 or its
  ``Minimum`` equals its ``Maximum``; otherwise, or when any value is negative, the percentile of that
  period is unavailable (omitted), as the API reference documents. The percentile is the nearest-rank
  value of the period's samples.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

BASIC_STATISTICS = ("SampleCount", "Sum", "Average", "Minimum", "Maximum")
_PERCENTILE = re.compile(r"^[pP](\d{1,3}(?:\.\d{1,2})?)$")


class InvalidStatistic(ValueError):
    """A statistic CloudWatch would refuse (the message names it)."""


def percentile_of(stat: str) -> float | None:
    """The percentile a ``pNN.NN`` statistic asks for (0-100), ``None`` for a basic statistic.

    Raises :class:`InvalidStatistic` for anything else."""
    if stat in BASIC_STATISTICS:
        return None
    m = _PERCENTILE.match(stat)
    if m is None or float(m.group(1)) > 100:
        raise InvalidStatistic(f"The value {stat} for parameter Statistic is not supported.")
    return float(m.group(1))


def as_utc(moment: datetime) -> datetime:
    """moto stores naive UTC datetimes; requests carry aware ones. Compare them as aware UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def aligned_start(start: datetime, period: int) -> datetime:
    """The API's rounding of StartTime: down to the minute for periods of 60 s or more, down to a
    multiple of the period within the minute for high-resolution periods."""
    start = as_utc(start).replace(microsecond=0)
    if period >= 60:
        return start.replace(second=0)
    return start.replace(second=start.second - start.second % period)


@dataclass
class PeriodSamples:
    """Everything published into one period for one metric."""

    start: datetime
    sample_count: float = 0.0
    total: float = 0.0
    minimum: float = math.inf
    maximum: float = -math.inf
    unit: str | None = None
    values: dict[float, float] = field(default_factory=dict)  # value -> count (raw samples)
    raw_only: bool = True  # False once a statistic set that percentiles cannot use is added

    def add_value(self, value: float, count: float = 1.0) -> None:
        if count <= 0:
            return
        self.sample_count += count
        self.total += value * count
        self.minimum = min(self.minimum, value)
        self.maximum = max(self.maximum, value)
        self.values[value] = self.values.get(value, 0.0) + count

    def add_set(self, sample_count: float, total: float, minimum: float, maximum: float) -> None:
        if sample_count == 1 or minimum == maximum:
            self.add_value(minimum, sample_count)
            self.total += total - minimum * sample_count  # keep the published sum exact
            return
        self.raw_only = False
        self.sample_count += sample_count
        self.total += total
        self.minimum = min(self.minimum, minimum)
        self.maximum = max(self.maximum, maximum)

    def percentile(self, q: float) -> float | None:
        """Nearest-rank percentile of the raw samples; ``None`` where CloudWatch has none."""
        if not self.raw_only or not self.values or self.minimum < 0:
            return None
        rank = max(1.0, math.ceil(q / 100.0 * self.sample_count))
        seen = 0.0
        for value in sorted(self.values):
            seen += self.values[value]
            if seen >= rank:
                return value
        return self.maximum

    def statistic(self, stat: str) -> float | None:
        if self.sample_count <= 0:
            return None
        if stat == "SampleCount":
            return self.sample_count
        if stat == "Sum":
            return self.total
        if stat == "Average":
            return self.total / self.sample_count
        if stat == "Minimum":
            return self.minimum
        if stat == "Maximum":
            return self.maximum
        q = percentile_of(stat)
        assert q is not None
        return self.percentile(q)


def _dimension_key(dimensions: Iterable[Any]) -> frozenset[tuple[str, str]]:
    out = set()
    for d in dimensions:
        if isinstance(d, dict):
            out.add((str(d["Name"]), str(d.get("Value"))))
        else:  # moto's Dimension(name, value)
            out.add((str(d.name), str(d.value)))
    return frozenset(out)


def _add_datum(samples: PeriodSamples, datum: Any) -> None:
    values = getattr(datum, "distribution", None)
    if values is not None:  # a Values/Counts datum kept whole (see moto_compat)
        for value, count in values:
            samples.add_value(value, count)
    elif hasattr(datum, "value"):
        samples.add_value(float(datum.value))
    else:
        samples.add_set(float(datum.sample_count), float(datum.sum), float(datum.min), float(datum.max))
    if samples.unit is None and datum.unit:
        samples.unit = datum.unit


def period_samples(
    datums: Iterable[Any],
    *,
    namespace: str,
    metric_name: str,
    dimensions: Sequence[Any],
    start: datetime,
    end: datetime,
    period: int,
    unit: str | None = None,
) -> list[PeriodSamples]:
    """The periods of ``[start, end)`` (start aligned as the API does) that received data, oldest first."""
    if period <= 0:
        raise InvalidStatistic("The parameter Period must be greater than 0.")
    first = aligned_start(start, period)
    end = as_utc(end)
    wanted = _dimension_key(dimensions)
    buckets: dict[int, PeriodSamples] = {}
    for datum in datums:
        if datum.namespace != namespace or datum.name != metric_name:
            continue
        if unit and datum.unit != unit:
            continue
        stamp = as_utc(datum.timestamp)
        if not first <= stamp < end or _dimension_key(datum.dimensions) != wanted:
            continue
        index = int((stamp - first).total_seconds() // period)
        bucket = buckets.get(index)
        if bucket is None:
            bucket = buckets[index] = PeriodSamples(first + timedelta(seconds=index * period))
        _add_datum(bucket, datum)
    return [buckets[i] for i in sorted(buckets)]


def datapoints(
    samples: Iterable[PeriodSamples], statistics: Sequence[str], extended: Sequence[str]
) -> list[dict[str, Any]]:
    """``GetMetricStatistics`` datapoints: basic statistics, and ``ExtendedStatistics`` where available."""
    for stat in extended:
        if percentile_of(stat) is None:
            raise InvalidStatistic(f"The value {stat} for parameter ExtendedStatistics is not supported.")
    for stat in statistics:
        if stat not in BASIC_STATISTICS:
            raise InvalidStatistic(f"The value {stat} for parameter Statistics is not supported.")
    out = []
    for s in samples:
        point: dict[str, Any] = {"Timestamp": s.start}
        for stat in statistics:
            point[stat] = s.statistic(stat)
        found = {stat: s.statistic(stat) for stat in extended}
        found = {k: v for k, v in found.items() if v is not None}
        if found:
            point["ExtendedStatistics"] = found
        if s.unit:
            point["Unit"] = s.unit
        out.append(point)
    return out
