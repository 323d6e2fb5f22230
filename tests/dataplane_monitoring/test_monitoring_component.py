"""The monitoring component in the embedded service: an alarm fires from published metrics and its
notification reaches an e-mail subscription's outbox, through the real server process."""

from __future__ import annotations

import datetime as dt
import email
import json
import time
import urllib.request
from collections.abc import Iterator
from email import policy
from pathlib import Path

import pytest

from orchestrator.embedded.testing import ControlPlane

from .helpers import service_evaluating_every_second, wait_for

pytestmark = pytest.mark.timeout(90)

COMPONENT = "orchestrator.dataplane.monitoring.component:factory"


@pytest.fixture(scope="module")
def control_plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    with service_evaluating_every_second(tmp_path_factory.mktemp("monitoring"), [COMPONENT]) as cp:
        yield cp


def test_alarm_fires_and_emails_the_subscriber(control_plane: ControlPlane) -> None:
    sns, cw = control_plane.client("sns"), control_plane.client("cloudwatch")
    topic = sns.create_topic(Name="endpoint-alarms")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="oncall@example.com")
    dims = [{"Name": "ApiName", "Value": "demo-api"}, {"Name": "Stage", "Value": "local"}]
    cw.put_metric_alarm(AlarmName="demo-api-5xx", Namespace="AWS/ApiGateway", MetricName="5XXError",
                        Dimensions=dims, Statistic="Sum", Period=10, EvaluationPeriods=3, DatapointsToAlarm=1,
                        Threshold=1.0, ComparisonOperator="GreaterThanOrEqualToThreshold",
                        TreatMissingData="notBreaching", AlarmActions=[topic], OKActions=[topic])
    assert cw.describe_alarms(AlarmNames=["demo-api-5xx"])["MetricAlarms"][0]["StateValue"] == "INSUFFICIENT_DATA"
    now = int(time.time())
    in_last_period = dt.datetime.fromtimestamp(now - now % 10 - 5, dt.UTC)  # complete, within the 30 s window
    cw.put_metric_data(Namespace="AWS/ApiGateway", MetricData=[
        {"MetricName": "5XXError", "Dimensions": dims, "Timestamp": in_last_period, "Value": 2.0, "StorageResolution": 1}])

    alarm = wait_for(lambda: next((a for a in cw.describe_alarms(AlarmNames=["demo-api-5xx"])["MetricAlarms"]
                                   if a["StateValue"] == "ALARM"), None))
    assert "was greater than or equal to the threshold (1.0)" in alarm["StateReason"]

    outbox = control_plane.state_dir / "sns-email" / "oncall@example.com"
    [mail_path] = wait_for(lambda: list(outbox.glob("*.eml")) if outbox.exists() else None)
    mail = email.message_from_bytes(Path(mail_path).read_bytes(), policy=policy.default)
    assert mail["Subject"] == 'ALARM: "demo-api-5xx" in US East (N. Virginia)'
    body = mail.get_content()  # type: ignore[attr-defined]
    assert 'your Amazon CloudWatch Alarm "demo-api-5xx" in the US East (N. Virginia) region has entered the ALARM' in body
    assert "- MetricName:                          5XXError" in body and "[ApiName = demo-api] [Stage = local]" in body

    def published() -> float:  # AWS/SNS metrics of the alarm's notification, flushed within seconds
        points = cw.get_metric_statistics(
            Namespace="AWS/SNS", MetricName="NumberOfNotificationsDelivered", Statistics=["Sum"], Period=3600,
            Dimensions=[{"Name": "TopicName", "Value": "endpoint-alarms"}],
            StartTime=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1), EndTime=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1),
        )["Datapoints"]
        return sum(p["Sum"] for p in points)

    assert wait_for(published, timeout=15) >= 1

    with urllib.request.urlopen(control_plane.url + "/_orchestrator/health", timeout=5) as response:
        health = json.loads(response.read())["components"]["monitoring"]
    assert health["alarms"]["transitions"] >= 1 and health["emails_written"] >= 1
    assert "demo-api-5xx" in health["alarms"]["states"]["ALARM"]
