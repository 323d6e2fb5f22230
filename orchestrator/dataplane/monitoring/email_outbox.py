"""SNS ``email`` and ``email-json`` subscriptions, delivered as ``.eml`` files instead of mail.

moto records e-mail subscriptions and sends nothing. Here every message published to a topic (alarm
notifications included) is written, per subscription whose filter policy accepts it, to
``<outbox>/<address>/<UTC time>-<message id>.eml``: an RFC 5322 message from
``no-reply@sns.amazonaws.com`` with SNS's subject and body. ``email`` gets the message text (with
``MessageStructure=json``, its ``email`` entry) and SNS's unsubscribe footer; ``email-json`` gets the
JSON notification document. A subscription counts as confirmed: locally there is nobody to click
the confirmation link (on AWS, an unconfirmed address receives nothing).
"""

from __future__ import annotations

import json
import logging
import re
import threading
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any

from orchestrator.dataplane.sns_subscriptions import message_for, subscriptions
from orchestrator.embedded.events import Event

log = logging.getLogger(__name__)

SENDER = "AWS Notifications <no-reply@sns.amazonaws.com>"
# Files people open in an editor: long header lines unfolded, the body as it is (no quoted-printable).
_READABLE = policy.default.clone(max_line_length=998)
PROTOCOLS = ("email", "email-json")
_UNSAFE = re.compile(r"[^A-Za-z0-9@._+-]")


def _unsubscribe_url(region: str, subscription_arn: str, endpoint: str) -> str:
    return (
        f"https://sns.{region}.amazonaws.com/unsubscribe.html?SubscriptionArn={subscription_arn}&Endpoint={endpoint}"
    )


def _footer(region: str, sub: Any) -> str:
    return (
        "\n\n--\nIf you wish to stop receiving notifications from this topic, please click or visit the link "
        f"below to unsubscribe:\n{_unsubscribe_url(region, sub.arn, sub.endpoint)}\n\n"
        "Please do not reply directly to this email. If you have any questions or comments regarding this "
        "email, please contact us at https://aws.amazon.com/support\n"
    )


def _json_body(detail: dict[str, Any], region: str, sub: Any, at: datetime) -> str:
    document = {
        "Type": "Notification",
        "MessageId": detail.get("message_id"),
        "TopicArn": detail["topic_arn"],
        "Subject": detail.get("subject"),
        "Message": message_for(detail, "email-json"),
        "Timestamp": at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z",
        "SignatureVersion": "1",
        "Signature": "EXAMPLE",
        "SigningCertURL": f"https://sns.{region}.amazonaws.com/SimpleNotificationService-local.pem",
        "UnsubscribeURL": f"https://sns.{region}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={sub.arn}",
    }
    return json.dumps(document, indent=2)


class EmailOutbox:
    """Event-bus subscriber for ``sns.message.published`` (see module docstring)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.written = 0
        self._lock = threading.Lock()

    def __call__(self, event: Event) -> None:
        detail = event.detail
        if not detail.get("topic_arn"):
            return
        at = datetime.now(UTC)
        for sub in subscriptions(event, PROTOCOLS):
            try:
                self._write(detail, event.region, sub, at)
            except OSError:
                log.exception("could not write the e-mail for %s to %s", detail.get("message_id"), sub.endpoint)

    def _write(self, detail: dict[str, Any], region: str, sub: Any, at: datetime) -> Path:
        mail = EmailMessage(policy=_READABLE)
        mail["From"] = SENDER
        mail["To"] = sub.endpoint
        mail["Subject"] = detail.get("subject") or "AWS Notification Message"
        mail["Date"] = format_datetime(at)
        mail["Message-ID"] = make_msgid(domain="sns.amazonaws.com")
        mail["X-SNS-Topic-Arn"] = detail["topic_arn"]
        mail["X-SNS-Subscription-Arn"] = sub.arn
        mail["X-SNS-Message-Id"] = str(detail.get("message_id"))
        if sub.protocol == "email-json":
            mail.set_content(_json_body(detail, region, sub, at), cte="8bit")
        else:
            mail.set_content(message_for(detail, "email") + _footer(region, sub), cte="8bit")
        folder = self.directory / _UNSAFE.sub("_", str(sub.endpoint))
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{at.strftime('%Y%m%dT%H%M%S.%fZ')}-{detail.get('message_id')}.eml"
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(bytes(mail))
        tmp.replace(path)  # a reader never sees half a message
        with self._lock:
            self.written += 1
        return path
