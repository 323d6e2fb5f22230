"""Deliver what Lambda sends about an ``Event`` invocation through the embedded services.

Like the rest of the data plane, this reaches moto's backends in the same process (no HTTP, no
credentials): SQS ``send_message``, SNS ``publish`` (so the topic's subscriptions get it, Lambda
subscriptions through the event bus as for any Publish) and EventBridge ``put_events``. A Lambda
destination is invoked asynchronously through the runtime. Each call raises
:class:`DeliveryFailed` when the target cannot take the message; the caller logs it and counts
``DestinationDeliveryFailures`` / ``DeadLetterErrors``, as Lambda does, and the event is gone.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from orchestrator.dataplane.lambdas.function_config import moto_backend
from orchestrator.dataplane.lambdas.invocation_records import DETAIL_TYPES

InvokeEvent = Callable[[str, bytes], None]  # asynchronous invocation of a function ARN with a payload


class DeliveryFailed(Exception):
    """The destination or dead-letter target refused the message (unknown, or of a kind Lambda lacks)."""


def _arn(target: str) -> tuple[str, str, str, str]:
    """``(service, region, account, resource)`` of an ARN."""
    parts = target.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        raise DeliveryFailed(f"not an ARN: {target}")
    return parts[2], parts[3], parts[4], parts[5]


def _send_sqs(target: str, body: str, attributes: dict[str, tuple[str, str]]) -> None:
    from moto.sqs.models import sqs_backends

    _, region, account, queue = _arn(target)
    message_attributes = {name: {"DataType": kind, "StringValue": value} for name, (kind, value) in attributes.items()}
    try:
        moto_backend(sqs_backends, account, region).send_message(queue, body, message_attributes=message_attributes)
    except Exception as exc:  # moto's QueueDoesNotExist, InvalidParameterValue ...
        raise DeliveryFailed(f"SQS {target}: {exc}") from exc


def _publish_sns(target: str, body: str, attributes: dict[str, tuple[str, str]]) -> None:
    from moto.sns.models import sns_backends

    _, region, account, _ = _arn(target)
    message_attributes = {name: {"Type": kind, "Value": value} for name, (kind, value) in attributes.items()}
    try:
        moto_backend(sns_backends, account, region).publish(body, arn=target, message_attributes=message_attributes)
    except Exception as exc:  # moto's TopicNotFound ...
        raise DeliveryFailed(f"SNS {target}: {exc}") from exc


def _put_event(target: str, record: dict[str, Any], function_arn: str, success: bool) -> None:
    from moto.events.models import events_backends

    _, region, account, _ = _arn(target)
    entry = {
        "Source": "lambda",
        "DetailType": DETAIL_TYPES[success],
        "Detail": json.dumps(record),
        "Resources": [function_arn, target],
        "EventBusName": target,
    }
    try:
        results = moto_backend(events_backends, account, region).put_events([entry])
    except Exception as exc:  # moto's ResourceNotFoundException for an unknown bus
        raise DeliveryFailed(f"EventBridge {target}: {exc}") from exc
    if results and "ErrorCode" in results[0]:
        raise DeliveryFailed(f"EventBridge {target}: {results[0].get('ErrorMessage')}")


def send_record(
    target: str, record: dict[str, Any], *, success: bool, exists: Callable[[str], bool], invoke_event: InvokeEvent
) -> None:
    """Send an invocation record to a destination: an SQS queue or SNS topic (the record is the message
    body), a Lambda function (the record is the event of an asynchronous invocation) or an EventBridge
    bus (the record is the ``detail``, source ``lambda``)."""
    service = _arn(target)[0]
    function_arn = str(record["requestContext"]["functionArn"])
    if service == "sqs":
        _send_sqs(target, json.dumps(record), {})
    elif service == "sns":
        _publish_sns(target, json.dumps(record), {})
    elif service == "lambda":
        if not exists(target):
            raise DeliveryFailed(f"Lambda {target}: function not found")
        invoke_event(target, json.dumps(record).encode())
    elif service == "events":
        _put_event(target, record, function_arn, success)
    else:
        raise DeliveryFailed(f"{target}: not a destination type Lambda supports locally")


def send_dead_letter(target: str, payload: bytes, attributes: dict[str, tuple[str, str]]) -> None:
    """Send a discarded event to its dead-letter queue (SQS) or topic (SNS): the event as it came, with
    the attributes of :func:`~.invocation_records.dead_letter_attributes`."""
    service = _arn(target)[0]
    body = payload.decode("utf-8", "replace") if payload else "{}"
    if service == "sqs":
        _send_sqs(target, body, attributes)
    elif service == "sns":
        _publish_sns(target, body, attributes)
    else:
        raise DeliveryFailed(f"{target}: a dead-letter target is an SQS queue or an SNS topic")
