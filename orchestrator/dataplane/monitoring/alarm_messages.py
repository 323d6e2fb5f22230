"""What a CloudWatch alarm sends when its state changes: the SNS notification (JSON for every protocol,
a readable text for ``email``), and the event a Lambda alarm action receives.

Shapes follow AWS's notifications (``AlarmName``, ``NewStateValue``, ``Trigger`` ...; subject
``ALARM: "name" in US East (N. Virginia)``) and the Lambda alarm-action event
(``source: aws.cloudwatch``, ``alarmData``).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from orchestrator.dataplane.monitoring.alarm_evaluation import stamp

SUBJECT_MAX = 100  # SNS subjects are at most 100 characters


@dataclass(frozen=True)
class Transition:
    """An alarm's state change, with the alarm's settings at that moment."""

    alarm: Any  # moto's Alarm (read only)
    account_id: str
    region: str
    old_state: str
    new_state: str
    reason: str
    reason_data: str
    at: datetime


@functools.cache
def region_name(region: str) -> str:
    """``US East (N. Virginia)`` for ``us-east-1``, from botocore's endpoint data."""
    from botocore.loaders import create_loader

    for partition in create_loader().load_data("endpoints")["partitions"]:
        found = partition.get("regions", {}).get(region)
        if found and found.get("description"):
            return str(found["description"])
    return region


def _statistic(alarm: Any) -> tuple[str, str | None, str | None]:
    """(StatisticType, Statistic in upper case, ExtendedStatistic)."""
    if alarm.extended_statistic:
        return "ExtendedStatistic", None, alarm.extended_statistic
    return "Statistic", str(alarm.statistic or "").upper(), None


def subject(t: Transition) -> str:
    text = f'{t.new_state}: "{t.alarm.name}" in {region_name(t.region)}'
    return text if len(text) <= SUBJECT_MAX else text[: SUBJECT_MAX - 3] + "..."


def notification(t: Transition) -> dict[str, Any]:
    """The JSON document SNS subscribers (Lambda, SQS, HTTP, email-json) receive as the message."""
    a = t.alarm
    statistic_type, statistic, extended = _statistic(a)
    trigger: dict[str, Any] = {
        "MetricName": a.metric_name,
        "Namespace": a.namespace,
        "StatisticType": statistic_type,
        "Unit": a.unit,
        "Dimensions": [{"value": d.value, "name": d.name} for d in a.dimensions],
        "Period": a.period,
        "EvaluationPeriods": a.evaluation_periods,
        "DatapointsToAlarm": a.datapoints_to_alarm or a.evaluation_periods,
        "ComparisonOperator": a.comparison_operator,
        "Threshold": float(a.threshold),
        "TreatMissingData": a.treat_missing_data or "missing",
        "EvaluateLowSampleCountPercentile": a.evaluate_low_sample_count_percentile or "",
    }
    if extended:
        trigger["ExtendedStatistic"] = extended
    else:
        trigger["Statistic"] = statistic
    return {
        "AlarmName": a.name,
        "AlarmDescription": a.description or None,
        "AWSAccountId": t.account_id,
        "AlarmConfigurationUpdatedTimestamp": stamp(a.configuration_updated_timestamp),
        "NewStateValue": t.new_state,
        "NewStateReason": t.reason,
        "StateChangeTime": stamp(t.at),
        "Region": region_name(t.region),
        "AlarmArn": a.alarm_arn,
        "OldStateValue": t.old_state,
        "OKActions": list(a.ok_actions),
        "AlarmActions": list(a.alarm_actions),
        "InsufficientDataActions": list(a.insufficient_data_actions),
        "Trigger": trigger,
    }


def _long_time(moment: datetime) -> str:
    return moment.strftime("%A %d %B, %Y %H:%M:%S UTC")


def email_text(t: Transition) -> str:
    """The readable notification email subscribers receive."""
    a = t.alarm
    region = region_name(t.region)
    _, statistic, extended = _statistic(a)
    dims = " ".join(f"[{d.name} = {d.value}]" for d in a.dimensions)
    to_alarm = a.datapoints_to_alarm or a.evaluation_periods

    def actions(arns: list[str]) -> str:
        return " ".join(f"[{arn}]" for arn in arns)

    return "\n".join([
        (
            f'You are receiving this email because your Amazon CloudWatch Alarm "{a.name}" in the {region} region '
            f'has entered the {t.new_state} state, because "{t.reason}" at "{_long_time(t.at)}".'
        ),
        "",
        "Alarm Details:",
        f"- Name:                       {a.name}",
        f"- Description:                {a.description or ''}",
        f"- State Change:               {t.old_state} -> {t.new_state}",
        f"- Reason for State Change:    {t.reason}",
        f"- Timestamp:                  {_long_time(t.at)}",
        f"- AWS Account:                {t.account_id}",
        f"- Alarm Arn:                  {a.alarm_arn}",
        "",
        "Threshold:",
        (
            f"- The alarm is in the ALARM state when the metric is {a.comparison_operator} {float(a.threshold)} "
            f"for at least {to_alarm} of the last {a.evaluation_periods} period(s) of {a.period} seconds."
        ),
        "",
        "Monitored Metric:",
        f"- MetricNamespace:                     {a.namespace}",
        f"- MetricName:                          {a.metric_name}",
        f"- Dimensions:                          {dims}",
        f"- Period:                              {a.period} seconds",
        f"- Statistic:                           {extended or (statistic or '').capitalize()}",
        f"- Unit:                                {a.unit or 'not specified'}",
        f"- TreatMissingData:                    {a.treat_missing_data or 'missing'}",
        "",
        "State Change Actions:",
        f"- OK: {actions(a.ok_actions)}",
        f"- ALARM: {actions(a.alarm_actions)}",
        f"- INSUFFICIENT_DATA: {actions(a.insufficient_data_actions)}",
        "",
    ])


def sns_message(t: Transition) -> str:
    """``MessageStructure=json``: the JSON notification by default, the readable text for ``email``."""
    return json.dumps({"default": json.dumps(notification(t)), "email": email_text(t)})


def lambda_event(t: Transition, previous_reason: str, previous_reason_data: str, previous_at: datetime) -> dict[str, Any]:
    """The event a Lambda function gets as an alarm action."""
    a = t.alarm
    extended = a.extended_statistic
    metric_stat = {
        "metric": {
            "namespace": a.namespace,
            "name": a.metric_name,
            "dimensions": {d.name: d.value for d in a.dimensions},
        },
        "period": a.period,
        "stat": extended or str(a.statistic),
    }
    if a.unit:
        metric_stat["unit"] = a.unit
    return {
        "source": "aws.cloudwatch",
        "alarmArn": a.alarm_arn,
        "accountId": t.account_id,
        "time": stamp(t.at),
        "region": t.region,
        "alarmData": {
            "alarmName": a.name,
            "state": {"value": t.new_state, "reason": t.reason, "reasonData": t.reason_data, "timestamp": stamp(t.at)},
            "previousState": {
                "value": t.old_state,
                "reason": previous_reason,
                "reasonData": previous_reason_data,
                "timestamp": stamp(previous_at),
            },
            "configuration": {
                "description": a.description or "",
                "metrics": [{"id": "m1", "metricStat": metric_stat, "returnData": True}],
            },
        },
    }
