"""SNS -> Lambda: a message published to a topic runs each subscribed function with the SNS event."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from orchestrator.embedded.testing import ControlPlane

from .helpers import log_messages, wait_for

pytestmark = pytest.mark.timeout(60)

RECORDER = """
import json

def handler(event, context):
    print("SNS-EVENT " + json.dumps(event))
    return "ok"
"""


def sns_events(control_plane: ControlPlane, name: str) -> list[dict[str, Any]]:
    prefix = "SNS-EVENT "
    return [json.loads(m[len(prefix) :]) for m in log_messages(control_plane, name) if m.startswith(prefix)]


def test_published_message_reaches_every_subscribed_function(
    control_plane: ControlPlane, lambda_client: Any, deploy: Callable[..., str]
) -> None:
    sns = control_plane.client("sns")
    topic = sns.create_topic(Name="trigger-tests")["TopicArn"]
    names = [deploy({"app.py": RECORDER}) for _ in range(2)]
    subscriptions = {}
    for name in names:
        arn = lambda_client.get_function(FunctionName=name)["Configuration"]["FunctionArn"]
        subscriptions[name] = sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=arn)["SubscriptionArn"]
    message_id = sns.publish(
        TopicArn=topic,
        Message=json.dumps({"case": "smoke"}),
        Subject="run",
        MessageAttributes={"kind": {"DataType": "String", "StringValue": "load"}},
    )["MessageId"]
    for name in names:
        events = wait_for(lambda name=name: sns_events(control_plane, name))
        assert len(events) == 1
        record = events[0]["Records"][0]
        assert record["EventSource"] == "aws:sns"
        assert record["EventSubscriptionArn"] == subscriptions[name]
        message = record["Sns"]
        assert message["MessageId"] == message_id
        assert message["TopicArn"] == topic
        assert message["Subject"] == "run"
        assert json.loads(message["Message"]) == {"case": "smoke"}
        assert message["MessageAttributes"] == {"kind": {"Type": "String", "Value": "load"}}
        assert message["Type"] == "Notification"
        assert message["Timestamp"].endswith("Z")


def test_json_message_structure_gives_the_function_its_lambda_entry(
    control_plane: ControlPlane, lambda_client: Any, deploy: Callable[..., str]
) -> None:
    """``MessageStructure=json``: each protocol gets its own entry, else ``default`` (what CloudWatch
    alarm notifications use: JSON for functions and queues, a readable text for e-mail)."""
    sns = control_plane.client("sns")
    topic = sns.create_topic(Name="structured")["TopicArn"]
    plain, specific = deploy({"app.py": RECORDER}), deploy({"app.py": RECORDER})
    other = sns.create_topic(Name="structured-lambda")["TopicArn"]
    for name, target in ((plain, topic), (specific, other)):
        arn = lambda_client.get_function(FunctionName=name)["Configuration"]["FunctionArn"]
        sns.subscribe(TopicArn=target, Protocol="lambda", Endpoint=arn)
    sns.publish(TopicArn=topic, MessageStructure="json",
                Message=json.dumps({"default": "for everyone", "email": "for people"}))
    sns.publish(TopicArn=other, MessageStructure="json",
                Message=json.dumps({"default": "for everyone", "lambda": "for functions"}))
    assert wait_for(lambda: sns_events(control_plane, plain))[0]["Records"][0]["Sns"]["Message"] == "for everyone"
    assert wait_for(lambda: sns_events(control_plane, specific))[0]["Records"][0]["Sns"]["Message"] == "for functions"
