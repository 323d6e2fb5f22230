"""One evaluation of a CloudWatch metric alarm, as AWS documents it: no I/O, no clock of its own.

Input: the alarm's settings and the statistic of each of its last ``EvaluationPeriods`` complete
periods (``None`` where no data arrived). Output: the state it should be in, with the reason text and
the ``StateReasonData`` document AWS writes, or ``None`` when the state is to be kept as it is.

Rules (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html):

* a datapoint breaches when ``value <op> threshold`` holds; the alarm is ``ALARM`` when at least
  ``DatapointsToAlarm`` (default: ``EvaluationPeriods``) of the evaluated datapoints breach, else ``OK``;
* missing datapoints, by ``TreatMissingData``: ``breaching`` / ``notBreaching`` count them as such;
  ``missing`` (the default) and ``ignore`` leave them out, and when every datapoint is missing the alarm
  goes to ``INSUFFICIENT_DATA`` (``missing``) or keeps its state (``ignore``);
* percentile alarms with ``EvaluateLowSampleCountPercentile = ignore`` keep their state while a period
  has fewer samples than 10/(1-p) (p >= 0.5) or 10/p (p < 0.5).
"""

from __future__ import annotations

import json
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

OK, ALARM, INSUFFICIENT_DATA = "OK", "ALARM", "INSUFFICIENT_DATA"

COMPARISONS: dict[str, tuple[Callable[[float, float], bool], str]] = {
    "GreaterThanOrEqualToThreshold": (operator.ge, "greater than or equal to"),
    "GreaterThanThreshold": (operator.gt, "greater than"),
    "LessThanThreshold": (operator.lt, "less than"),
    "LessThanOrEqualToThreshold": (operator.le, "less than or equal to"),
}
MISSING_AS = {"breaching": "Breaching", "notBreaching": "NonBreaching"}


@dataclass(frozen=True)
class AlarmRule:
    """What an evaluation needs of a metric alarm."""

    statistic: str  # Sum, Average, ... or pNN.NN
    period: int
    evaluation_periods: int
    datapoints_to_alarm: int
    threshold: float
    comparison: str
    treat_missing_data: str = "missing"
    low_sample_percentile: str = "evaluate"

    @property
    def percentile(self) -> float | None:
        return float(self.statistic[1:]) if self.statistic[:1] in ("p", "P") else None

    def low_sample(self, sample_count: float) -> bool:
        """Fewer samples than a percentile needs to be significant (AWS's rule)."""
        p = self.percentile
        if p is None or p <= 0 or p >= 100:
            return False
        p /= 100.0
        return sample_count < (10 / (1 - p) if p >= 0.5 else 10 / p)


@dataclass(frozen=True)
class Datapoint:
    start: datetime
    value: float | None  # None: no data in that period (or no percentile for it)
    sample_count: float = 0.0


@dataclass(frozen=True)
class Decision:
    state: str
    reason: str
    reason_data: str  # JSON, AWS's StateReasonData


def stamp(moment: datetime) -> str:
    """CloudWatch's timestamp in alarm documents: ``2026-11-26T07:32:00.000+0000``."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def _short(moment: datetime) -> str:
    return moment.strftime("%d/%m/%y %H:%M:%S")


def _number(value: float) -> str:
    return repr(float(value))


def _reason_data(rule: AlarmRule, points: Sequence[Datapoint], query_date: datetime, recent: list[float]) -> str:
    present = [p for p in points if p.value is not None]
    data: dict[str, object] = {
        "version": "1.0",
        "queryDate": stamp(query_date),
        "startDate": stamp(points[0].start) if points else stamp(query_date),
        "statistic": rule.statistic,
        "period": rule.period,
        "recentDatapoints": recent,
        "threshold": rule.threshold,
        "evaluatedDatapoints": [
            {"timestamp": stamp(p.start), "sampleCount": p.sample_count, "value": p.value}
            for p in sorted(present, key=lambda p: p.start, reverse=True)
        ],
    }
    return json.dumps(data)


def evaluate(rule: AlarmRule, points: Sequence[Datapoint], current: str, query_date: datetime) -> Decision | None:
    """The state the alarm should be in after this evaluation, or ``None`` to keep the current one.

    ``points``: the last ``evaluation_periods`` complete periods, oldest first. ``current`` is only used
    in the reason's wording; the caller records the decision only when its state differs (AWS writes
    the reason at state transitions)."""
    compare, words = COMPARISONS[rule.comparison]
    present = [p for p in points if p.value is not None]
    missing = len(points) - len(present)
    treat = rule.treat_missing_data or "missing"
    recent = [p.value for p in present if p.value is not None]

    if rule.low_sample_percentile == "ignore" and any(rule.low_sample(p.sample_count) for p in present):
        return None
    if not present and treat in ("missing", "ignore"):
        if treat == "ignore":
            return None
        n = len(points)
        reason = f"Insufficient Data: {n} datapoint{'s were' if n != 1 else ' was'} unknown."
        return Decision(INSUFFICIENT_DATA, reason, _reason_data(rule, points, query_date, recent))

    breaching = [p for p in present if p.value is not None and compare(p.value, rule.threshold)]
    breach_count = len(breaching) + (missing if treat == "breaching" else 0)
    state = ALARM if breach_count >= rule.datapoints_to_alarm else OK
    if not present:
        periods = f"{len(points)} period{'s' if len(points) != 1 else ''}"
        reason = (
            f"Threshold Crossed: no datapoints were received for {periods} and {missing} missing "
            f"datapoint{'s were' if missing != 1 else ' was'} treated as [{MISSING_AS[treat]}]."
        )
        return Decision(state, reason, _reason_data(rule, points, query_date, recent))

    shown = breaching if state == ALARM else present
    shown = sorted(shown, key=lambda p: p.start, reverse=True)
    listed = ", ".join(f"{_number(p.value)} ({_short(p.start)})" for p in shown if p.value is not None)
    negation = "" if state == ALARM else "not "
    if len(points) == 1 and len(shown) == 1:
        head = f"1 datapoint [{listed}] was {negation}{words}"
    else:
        verb = "were" if len(shown) != 1 else "was"
        head = f"{len(shown)} out of the last {len(points)} datapoints [{listed}] {verb} {negation}{words}"
    reason = f"Threshold Crossed: {head} the threshold ({_number(rule.threshold)})"
    if state == ALARM and len(points) > 1:
        n = rule.datapoints_to_alarm
        reason += f" (minimum {n} datapoint{'s' if n != 1 else ''} for {current} -> ALARM transition)"
    elif state == OK and len(points) > 1:
        reason += f" (minimum 1 datapoint for {current} -> OK transition)"
    if missing and treat in MISSING_AS:
        reason += f" ({missing} missing datapoint{'s were' if missing != 1 else ' was'} treated as [{MISSING_AS[treat]}])"
    return Decision(state, reason + ".", _reason_data(rule, points, query_date, recent))
