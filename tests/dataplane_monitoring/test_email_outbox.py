"""SNS e-mail subscriptions delivered as .eml files (orchestrator.dataplane.monitoring.email_outbox)."""

from __future__ import annotations

import email
import json
from collections.abc import Iterator
from email import policy
from pathlib import Path
from typing import Any

import pytest

from orchestrator.dataplane.monitoring.email_outbox import EmailOutbox
from orchestrator.embedded.events import Event


@pytest.fixture
def sns(in_process_aws: None) -> Iterator[Any]:
    import boto3

    yield boto3.client("sns")


def published(topic: str, message: str, structure: str | None = None, attributes: dict[str, Any] | None = None) -> Event:
    return Event("sns.message.published", "123456789012", "us-east-1", {
        "topic_arn": topic, "message_id": "m-1", "message": message, "subject": 'ALARM: "a" in US East (N. Virginia)',
        "message_attributes": attributes or {}, "message_structure": structure,
    })


def read(path: Path) -> email.message.EmailMessage:
    return email.message_from_bytes(path.read_bytes(), policy=policy.default)  # type: ignore[return-value]


def test_each_email_subscription_gets_its_protocols_message(sns: Any, tmp_path: Path) -> None:
    topic = sns.create_topic(Name="alarms")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="ops@example.com")
    sns.subscribe(TopicArn=topic, Protocol="email-json", Endpoint="bot@example.com")
    sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="vip@example.com",
                  Attributes={"FilterPolicy": json.dumps({"severity": ["critical"]})})
    outbox = EmailOutbox(tmp_path)
    structure = json.dumps({"default": '{"NewStateValue": "ALARM"}', "email": "You are receiving this email because"})
    outbox(published(topic, structure, "json"))

    [ops] = list((tmp_path / "ops@example.com").glob("*.eml"))
    mail = read(ops)
    assert mail["To"] == "ops@example.com" and mail["From"] == "AWS Notifications <no-reply@sns.amazonaws.com>"
    assert mail["Subject"] == 'ALARM: "a" in US East (N. Virginia)'
    body = mail.get_content()
    assert body.startswith("You are receiving this email because") and "unsubscribe" in body
    assert b"\nYou are receiving this email because" in ops.read_bytes()  # readable as a file, not quoted-printable

    [bot] = list((tmp_path / "bot@example.com").glob("*.eml"))
    document = json.loads(read(bot).get_content())
    assert document["Type"] == "Notification" and document["TopicArn"] == topic
    assert document["Message"] == '{"NewStateValue": "ALARM"}'  # no "email-json" entry: the default

    assert not (tmp_path / "vip@example.com").exists()  # the filter policy did not match
    assert outbox.written == 2
    assert not list(tmp_path.rglob("*.tmp"))


def test_plain_message_and_other_topics(sns: Any, tmp_path: Path) -> None:
    mine = sns.create_topic(Name="mine")["TopicArn"]
    other = sns.create_topic(Name="other")["TopicArn"]
    sns.subscribe(TopicArn=other, Protocol="email", Endpoint="someone@example.com")
    sns.subscribe(TopicArn=mine, Protocol="email", Endpoint="me@example.com")
    outbox = EmailOutbox(tmp_path)
    outbox(published(mine, "plain text", None))
    [mail] = list((tmp_path / "me@example.com").glob("*.eml"))
    assert read(mail).get_content().startswith("plain text\n\n--\n")
    assert not (tmp_path / "someone@example.com").exists()


def test_sns_metrics_count_publishes_deliveries_and_failures(sns: Any) -> None:
    import datetime as dt

    import boto3

    from orchestrator.dataplane.monitoring.sns_metrics import SnsMetrics

    topic = sns.create_topic(Name="trigger")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="ops@example.com")
    sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint="arn:aws:lambda:us-east-1:123456789012:function:gone")
    metrics = SnsMetrics()
    for _ in range(2):
        metrics(published(topic, "0123456789"))
    metrics.flush()
    cw = boto3.client("cloudwatch")
    now = dt.datetime.now(dt.UTC)

    def total(name: str, stat: str = "Sum") -> float:
        points = cw.get_metric_statistics(Namespace="AWS/SNS", MetricName=name, Statistics=[stat], Period=3600,
                                          Dimensions=[{"Name": "TopicName", "Value": "trigger"}],
                                          StartTime=now - dt.timedelta(hours=1), EndTime=now + dt.timedelta(minutes=1))["Datapoints"]
        return sum(p[stat] for p in points)

    assert total("NumberOfMessagesPublished") == 2
    assert total("NumberOfNotificationsDelivered") == 2  # the e-mail, twice
    assert total("NumberOfNotificationsFailed") == 2  # the missing function, twice
    assert total("PublishSize", "Maximum") == 10
