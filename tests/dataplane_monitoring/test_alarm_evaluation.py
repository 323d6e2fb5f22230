"""The alarm rules (orchestrator.dataplane.monitoring.alarm_evaluation): M of N, missing data, reasons."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from orchestrator.dataplane.monitoring.alarm_evaluation import (
    ALARM,
    INSUFFICIENT_DATA,
    OK,
    AlarmRule,
    Datapoint,
    evaluate,
)

T0 = datetime(2026, 11, 26, 7, 30, tzinfo=UTC)
NOW = T0 + timedelta(minutes=3, seconds=12)


def rule(**kw: object) -> AlarmRule:
    base: dict[str, object] = {"statistic": "Sum", "period": 60, "evaluation_periods": 3, "datapoints_to_alarm": 2,
                               "threshold": 5.0, "comparison": "GreaterThanOrEqualToThreshold"}
    return AlarmRule(**{**base, **kw})  # type: ignore[arg-type]


def points(*values: float | None) -> list[Datapoint]:
    return [Datapoint(T0 + timedelta(minutes=i), v, 0.0 if v is None else 10.0) for i, v in enumerate(values)]


def test_m_of_n_breaching_datapoints_alarm_with_aws_reason_and_data() -> None:
    d = evaluate(rule(), points(1.0, 7.0, 5.0), OK, NOW)
    assert d is not None and d.state == ALARM
    assert d.reason == (
        "Threshold Crossed: 2 out of the last 3 datapoints [5.0 (26/11/26 07:32:00), 7.0 (26/11/26 07:31:00)] "
        "were greater than or equal to the threshold (5.0) (minimum 2 datapoints for OK -> ALARM transition)."
    )
    data = json.loads(d.reason_data)
    assert data["statistic"] == "Sum" and data["period"] == 60 and data["threshold"] == 5.0
    assert data["startDate"] == "2026-11-26T07:30:00.000+0000" and data["queryDate"] == "2026-11-26T07:33:12.000+0000"
    assert [p["value"] for p in data["evaluatedDatapoints"]] == [5.0, 7.0, 1.0]  # newest first


def test_fewer_breaching_than_datapoints_to_alarm_is_ok() -> None:
    d = evaluate(rule(), points(1.0, 7.0, 4.9), ALARM, NOW)
    assert d is not None and d.state == OK
    assert "were not greater than or equal to the threshold (5.0)" in d.reason
    assert "(minimum 1 datapoint for ALARM -> OK transition)" in d.reason


def test_single_period_wording() -> None:
    d = evaluate(rule(evaluation_periods=1, datapoints_to_alarm=1, comparison="GreaterThanThreshold"),
                 points(6.0), INSUFFICIENT_DATA, NOW)
    assert d is not None and d.reason == (
        "Threshold Crossed: 1 datapoint [6.0 (26/11/26 07:30:00)] was greater than the threshold (5.0)."
    )


@pytest.mark.parametrize(
    ("treat", "current", "expected"),
    [
        ("missing", OK, INSUFFICIENT_DATA),
        ("ignore", ALARM, None),  # keeps its state
        ("notBreaching", ALARM, OK),
        ("breaching", OK, ALARM),
    ],
)
def test_no_data_at_all_by_treat_missing_data(treat: str, current: str, expected: str | None) -> None:
    d = evaluate(rule(treat_missing_data=treat), points(None, None, None), current, NOW)
    assert (d.state if d else None) == expected
    if treat == "notBreaching":
        assert d is not None and d.reason == (
            "Threshold Crossed: no datapoints were received for 3 periods and 3 missing datapoints were treated "
            "as [NonBreaching]."
        )


def test_missing_datapoints_count_as_breaching_only_when_told() -> None:
    assert evaluate(rule(), points(None, 9.0, None), OK, NOW).state == OK  # type: ignore[union-attr]
    d = evaluate(rule(treat_missing_data="breaching"), points(None, 9.0, None), OK, NOW)
    assert d is not None and d.state == ALARM and "2 missing datapoints were treated as [Breaching]" in d.reason
    assert evaluate(rule(treat_missing_data="notBreaching"), points(None, 9.0, None), OK, NOW).state == OK  # type: ignore[union-attr]


def test_low_sample_percentiles_are_ignored_only_when_asked() -> None:
    p99 = rule(statistic="p99", evaluation_periods=1, datapoints_to_alarm=1)
    few = [Datapoint(T0, 9.0, 999.0)]  # p99 needs 1,000 samples to be significant
    assert evaluate(p99, few, OK, NOW).state == ALARM  # type: ignore[union-attr]
    ignoring = rule(statistic="p99", evaluation_periods=1, datapoints_to_alarm=1, low_sample_percentile="ignore")
    assert evaluate(ignoring, few, OK, NOW) is None
    assert evaluate(ignoring, [Datapoint(T0, 9.0, 1000.0)], OK, NOW).state == ALARM  # type: ignore[union-attr]
    assert rule(statistic="p10").low_sample(99.0) and not rule(statistic="p10").low_sample(100.0)
