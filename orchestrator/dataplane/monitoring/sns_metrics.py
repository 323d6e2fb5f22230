"""SNS's own metrics, which moto does not publish: ``AWS/SNS`` per ``TopicName``.

Every ``Publish`` counts ``NumberOfMessagesPublished`` and its ``PublishSize`` (Bytes); every
subscription whose filter policy accepts the message counts ``NumberOfNotificationsDelivered``, or
``NumberOfNotificationsFailed`` when its endpoint does not exist (a deleted function or queue), as SNS
counts a delivery it could not make. They are buffered and written to the embedded CloudWatch every
``ORCHESTRATOR_DATAPLANE_FLUSH_SECONDS`` (2 s), like the other data planes' metrics. The load-testing
stack's dashboard graphs them for its trigger topic.
"""

from __future__ import annotations

import threading
from typing import Any

from orchestrator.dataplane.lambdas.cloudwatch import MetricBuffer, write_metrics
from orchestrator.dataplane.sns_subscriptions import subscriptions
from orchestrator.embedded.events import Event

NAMESPACE = "AWS/SNS"
UNITS = {
    "NumberOfMessagesPublished": "Count",
    "NumberOfNotificationsDelivered": "Count",
    "NumberOfNotificationsFailed": "Count",
    "PublishSize": "Bytes",
}
PROTOCOLS = ("lambda", "sqs", "email", "email-json", "http", "https", "application", "sms", "firehose")


def _endpoint_exists(sub: Any, account_id: str) -> bool:
    """Whether SNS could hand the message over: the function or queue is there (others: assumed)."""
    arn = str(sub.endpoint)
    parts = arn.split(":")
    try:
        if sub.protocol == "lambda" and len(parts) >= 7:
            from moto.awslambda.models import lambda_backends

            lambda_backends[parts[4] or account_id][parts[3]].get_function(parts[6])
        elif sub.protocol == "sqs" and len(parts) >= 6:
            from moto.sqs.models import sqs_backends

            sqs_backends[parts[4] or account_id][parts[3]].get_queue(parts[5])
    except Exception:  # noqa: BLE001 - moto's not-found errors of either service
        return False
    return True


class SnsMetrics:
    """Event-bus subscriber for ``sns.message.published`` (see module docstring)."""

    def __init__(self) -> None:
        self._buffers: dict[tuple[str, str], MetricBuffer] = {}
        self._lock = threading.Lock()

    def _buffer(self, account_id: str, region: str) -> MetricBuffer:
        key = (account_id, region)
        with self._lock:
            buffer = self._buffers.get(key)
            if buffer is None:
                buffer = self._buffers[key] = MetricBuffer(NAMESPACE, dict(UNITS))
            return buffer

    def __call__(self, event: Event) -> None:
        topic_arn = event.detail.get("topic_arn")
        if not topic_arn:
            return
        dims = (("TopicName", str(topic_arn).split(":")[-1]),)
        buffer = self._buffer(event.account_id, event.region)
        buffer.add("NumberOfMessagesPublished", dims, 1.0)
        buffer.add("PublishSize", dims, float(len(str(event.detail.get("message") or "").encode())))
        for sub in subscriptions(event, PROTOCOLS):
            delivered = _endpoint_exists(sub, event.account_id)
            buffer.add("NumberOfNotificationsDelivered" if delivered else "NumberOfNotificationsFailed", dims, 1.0)

    def flush(self) -> None:
        with self._lock:
            buffers = list(self._buffers.items())
        for (account_id, region), buffer in buffers:
            write_metrics(account_id, region, buffer)
