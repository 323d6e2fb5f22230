"""SNS -> Lambda delivery: each ``sns.message.published`` event runs the subscribed functions.

moto's own delivery is disabled (``moto_compat.patch_sns_lambda_delivery``); the subscriptions and
their filter policies are read from moto's SNS backend when the message arrives
(:mod:`orchestrator.dataplane.sns_subscriptions`), and a ``MessageStructure=json`` message gives the
function its ``lambda`` entry, else ``default``. Delivery is
asynchronous (``Event`` invocation), one invocation per subscription, with the event shape Lambda
receives from SNS.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from orchestrator.dataplane.lambdas.runtime import LambdaRuntime
from orchestrator.dataplane.sns_subscriptions import message_for, subscriptions
from orchestrator.embedded.events import Event

log = logging.getLogger(__name__)


def _attributes(raw: dict[str, Any]) -> dict[str, dict[str, str]]:
    """Message attributes in Lambda's ``{"Type", "Value"}`` shape.

    moto's Publish handler already converts the API's ``DataType``/``StringValue``/``BinaryValue``
    (binary base64-encoded); the API shape is accepted too, for callers of the backend itself.
    """
    converted = {}
    for name, value in (raw or {}).items():
        data_type = value.get("Type", value.get("DataType", "String"))
        content = value.get("Value", value.get("StringValue", value.get("BinaryValue", "")))
        converted[name] = {"Type": "Binary" if data_type == "Binary" else data_type, "Value": content}
    return converted


def sns_event(detail: dict[str, Any], subscription_arn: str, timestamp: str | None = None) -> dict[str, Any]:
    """The ``{"Records": [...]}`` event of one message for one subscription."""
    topic_arn = detail["topic_arn"]
    region = topic_arn.split(":")[3] if topic_arn.count(":") >= 5 else "us-east-1"
    return {
        "Records": [
            {
                "EventVersion": "1.0",
                "EventSubscriptionArn": subscription_arn,
                "EventSource": "aws:sns",
                "Sns": {
                    "SignatureVersion": "1",
                    "Timestamp": timestamp or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
                    "Signature": "EXAMPLE",
                    "SigningCertUrl": f"https://sns.{region}.amazonaws.com/SimpleNotificationService-local.pem",
                    "MessageId": detail.get("message_id"),
                    "Message": message_for(detail, "lambda"),
                    "MessageAttributes": _attributes(detail.get("message_attributes") or {}),
                    "Type": "Notification",
                    "UnsubscribeUrl": f"https://sns.{region}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={subscription_arn}",
                    "TopicArn": topic_arn,
                    "Subject": detail.get("subject"),
                },
            }
        ]
    }


class SnsDelivery:
    """Event-bus subscriber that turns a published message into asynchronous invocations."""

    def __init__(self, runtime: LambdaRuntime) -> None:
        self.runtime = runtime
        self.delivered = 0

    def __call__(self, event: Event) -> None:
        if not event.detail.get("topic_arn"):
            return
        for sub in subscriptions(event, ("lambda",)):
            payload = json.dumps(sns_event(event.detail, sub.arn)).encode()
            self.runtime.submit_event(sub.endpoint, payload, account_id=event.account_id, region=event.region)
            self.delivered += 1
