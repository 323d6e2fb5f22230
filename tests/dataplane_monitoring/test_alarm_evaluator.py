"""The alarm evaluator on moto's in-process backends: transitions, history and actions (SNS, Lambda)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from orchestrator.dataplane.monitoring import alarm_evaluator
from orchestrator.dataplane.monitoring.alarm_evaluator import AlarmEvaluator

NOW = datetime(2026, 11, 26, 7, 33, 12, tzinfo=UTC)
DIMS = [{"Name": "EndpointName", "Value": "ep"}, {"Name": "VariantName", "Value": "model-a"}]


@pytest.fixture
def aws(in_process_aws: None) -> Iterator[dict[str, Any]]:
    import boto3

    sns, sqs = boto3.client("sns"), boto3.client("sqs")
    topic = sns.create_topic(Name="alarms")["TopicArn"]
    queue = sqs.create_queue(QueueName="alarm-inbox")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    yield {"cw": boto3.client("cloudwatch"), "sqs": sqs, "queue": queue, "topic": topic}


def put_alarm(cw: Any, topic: str, **kw: Any) -> None:
    cw.put_metric_alarm(**{
        "AlarmName": "ep-model-a-5xx", "AlarmDescription": "5xx of model-a", "Namespace": "AWS/SageMaker",
        "MetricName": "Invocation5XXErrors", "Dimensions": DIMS, "Statistic": "Sum", "Period": 60,
        "EvaluationPeriods": 2, "DatapointsToAlarm": 1, "Threshold": 3.0,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold", "TreatMissingData": "notBreaching",
        "AlarmActions": [topic], "OKActions": [topic], **kw,
    })


def errors(cw: Any, minute: datetime, count: float, dims: list[dict[str, str]] = DIMS) -> None:
    cw.put_metric_data(Namespace="AWS/SageMaker", MetricData=[
        {"MetricName": "Invocation5XXErrors", "Dimensions": dims, "Timestamp": minute + timedelta(seconds=5),
         "StatisticValues": {"SampleCount": count, "Sum": count, "Minimum": 1, "Maximum": 1}, "Unit": "None"},
    ])


def inbox(aws: dict[str, Any]) -> list[dict[str, Any]]:
    messages = aws["sqs"].receive_message(QueueUrl=aws["queue"], MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(m["Body"]) for m in messages]


def state(cw: Any) -> dict[str, Any]:
    return cw.describe_alarms(AlarmNames=["ep-model-a-5xx"])["MetricAlarms"][0]


def test_breach_alarms_notifies_then_recovers(aws: dict[str, Any]) -> None:
    cw = aws["cw"]
    put_alarm(cw, aws["topic"])
    assert state(cw)["StateValue"] == "INSUFFICIENT_DATA"
    errors(cw, datetime(2026, 11, 26, 7, 32, tzinfo=UTC), 4)   # last complete minute at 07:33:12
    errors(cw, datetime(2026, 11, 26, 7, 33, tzinfo=UTC), 50)  # the current minute: not evaluated yet
    errors(cw, datetime(2026, 11, 26, 7, 32, tzinfo=UTC), 90, DIMS[:1])  # other dimensions: not this alarm

    evaluator = AlarmEvaluator(interval=3600, clock=lambda: NOW)
    [transition] = evaluator.evaluate_once()
    got = state(cw)
    assert (got["StateValue"], transition.old_state) == ("ALARM", "INSUFFICIENT_DATA")
    assert got["StateReason"].startswith("Threshold Crossed: 1 out of the last 2 datapoints [4.0 (26/11/26 07:32:00)]")
    assert json.loads(got["StateReasonData"])["recentDatapoints"] == [4.0]

    [envelope] = inbox(aws)
    assert envelope["Subject"] == 'ALARM: "ep-model-a-5xx" in US East (N. Virginia)'
    note = json.loads(envelope["Message"])  # SQS gets the JSON document ("default"), not the e-mail text
    assert (note["NewStateValue"], note["OldStateValue"], note["AlarmName"]) == ("ALARM", "INSUFFICIENT_DATA", "ep-model-a-5xx")
    assert note["Trigger"]["Statistic"] == "SUM" and note["Trigger"]["Threshold"] == 3.0
    assert {"name": "VariantName", "value": "model-a"} in note["Trigger"]["Dimensions"]
    assert note["Region"] == "US East (N. Virginia)" and note["AWSAccountId"] == "123456789012"

    assert evaluator.evaluate_once() == []  # still breaching: no new transition, no new message
    assert inbox(aws) == []

    later = NOW + timedelta(minutes=2)  # 07:33 (50 errors) and 07:34 (none) are evaluated now
    evaluator.clock = lambda: later
    assert evaluator.evaluate_once() == [] and state(cw)["StateValue"] == "ALARM"  # 50 >= 3 in 07:33
    evaluator.clock = lambda: later + timedelta(minutes=1)  # 07:34 and 07:35: no data, notBreaching
    [recovered] = evaluator.evaluate_once()
    assert (recovered.old_state, recovered.new_state) == ("ALARM", "OK")
    assert "no datapoints were received for 2 periods" in state(cw)["StateReason"]
    [ok] = inbox(aws)
    assert ok["Subject"].startswith("OK: ") and json.loads(ok["Message"])["OldStateValue"] == "ALARM"
    history = cw.describe_alarm_history(AlarmName="ep-model-a-5xx")["AlarmHistoryItems"]
    assert [h["HistorySummary"] for h in history if h["HistoryItemType"] == "StateUpdate"] == [
        "Alarm updated from ALARM to OK", "Alarm updated from INSUFFICIENT_DATA to ALARM"]
    assert [h["HistorySummary"] for h in history if h["HistoryItemType"] == "Action"] == [
        f"Successfully executed action {aws['topic']}"] * 2
    assert history[-1]["HistorySummary"] == 'Alarm "ep-model-a-5xx" created'
    newest_change = next(h for h in history if h["HistoryItemType"] == "StateUpdate")
    assert json.loads(newest_change["HistoryData"])["newState"]["stateValue"] == "OK"


def test_disabled_actions_change_state_without_notifying(aws: dict[str, Any]) -> None:
    cw = aws["cw"]
    put_alarm(cw, aws["topic"], ActionsEnabled=False)
    errors(cw, datetime(2026, 11, 26, 7, 32, tzinfo=UTC), 4)
    AlarmEvaluator(interval=3600, clock=lambda: NOW).evaluate_once()
    assert state(cw)["StateValue"] == "ALARM" and inbox(aws) == []


def test_percentile_alarm_reads_values_and_counts(aws: dict[str, Any]) -> None:
    cw = aws["cw"]
    cw.put_metric_alarm(AlarmName="p99", Namespace="AWS/SageMaker", MetricName="ModelLatency", Dimensions=DIMS,
                        ExtendedStatistic="p99", Period=60, EvaluationPeriods=1, Threshold=200_000.0,
                        ComparisonOperator="GreaterThanThreshold", TreatMissingData="notBreaching")
    minute = datetime(2026, 11, 26, 7, 32, 30, tzinfo=UTC)
    cw.put_metric_data(Namespace="AWS/SageMaker", MetricData=[{
        "MetricName": "ModelLatency", "Dimensions": DIMS, "Timestamp": minute, "Unit": "Microseconds",
        "Values": [1_000.0, 250_000.0], "Counts": [980.0, 20.0]}])  # p99 = 250 ms, the average only 5.9 ms
    AlarmEvaluator(interval=3600, clock=lambda: NOW).evaluate_once()
    alarm = cw.describe_alarms(AlarmNames=["p99"])["MetricAlarms"][0]
    assert alarm["StateValue"] == "ALARM" and "[250000.0 (26/11/26 07:32:00)]" in alarm["StateReason"]


def test_lambda_action_gets_the_alarm_event(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[tuple[str, dict[str, Any]]] = []

    class Runtime:
        def submit_event(self, function: str, payload: bytes) -> None:
            sent.append((function, json.loads(payload)))

    import orchestrator.dataplane.lambdas.runtime as lambda_runtime

    monkeypatch.setattr(lambda_runtime, "active_runtime", lambda: Runtime())
    fn = "arn:aws:lambda:us-east-1:123456789012:function:on-alarm"
    put_alarm(aws["cw"], fn)
    errors(aws["cw"], datetime(2026, 11, 26, 7, 32, tzinfo=UTC), 4)
    AlarmEvaluator(interval=3600, clock=lambda: NOW).evaluate_once()
    [(function, event)] = sent
    assert function == fn and event["source"] == "aws.cloudwatch"
    assert event["alarmData"]["state"]["value"] == "ALARM"
    assert event["alarmData"]["previousState"]["value"] == "INSUFFICIENT_DATA"
    assert event["alarmData"]["configuration"]["metrics"][0]["metricStat"]["stat"] == "Sum"


def test_metric_math_and_composite_alarms_are_left_alone(aws: dict[str, Any]) -> None:
    cw = aws["cw"]
    cw.put_metric_alarm(AlarmName="math", EvaluationPeriods=1, Threshold=1.0, ComparisonOperator="GreaterThanThreshold",
                        Metrics=[{"Id": "e", "Expression": "m * 2", "ReturnData": True},
                                 {"Id": "m", "MetricStat": {"Metric": {"Namespace": "n", "MetricName": "x"},
                                                            "Period": 60, "Stat": "Sum"}, "ReturnData": False}])
    evaluator = AlarmEvaluator(interval=3600, clock=lambda: NOW)
    assert evaluator.evaluate_once() == [] and evaluator.health()["alarms_not_evaluated"] == 1
    assert alarm_evaluator.rule_of(type("A", (), {"rule": "ALARM(x)", "metric_data_queries": [], "metric_name": None})()) is None


def test_one_broken_alarm_does_not_stop_the_others(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    cw = aws["cw"]
    put_alarm(cw, aws["topic"])
    put_alarm(cw, aws["topic"], AlarmName="broken", Namespace="Broken")
    errors(cw, datetime(2026, 11, 26, 7, 32, tzinfo=UTC), 4)
    real = alarm_evaluator.datapoints_for

    def flaky(backend: Any, alarm: Any, rule: Any, now: datetime) -> Any:
        if alarm.name == "broken":
            raise RuntimeError("bad alarm")
        return real(backend, alarm, rule, now)

    monkeypatch.setattr(alarm_evaluator, "datapoints_for", flaky)
    evaluator = AlarmEvaluator(interval=3600, clock=lambda: NOW)
    [transition] = evaluator.evaluate_once()
    assert transition.alarm.name == "ep-model-a-5xx" and evaluator.health()["failures"] == 1
