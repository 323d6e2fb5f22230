"""What an SNS ``Publish`` delivers to each kind of subscription, read from moto's SNS backend.

Shared by the data planes that deliver messages moto does not (``lambda`` in
:mod:`orchestrator.dataplane.lambdas.sns_delivery`, ``email``/``email-json`` in
:mod:`orchestrator.dataplane.monitoring.email_outbox`); both run on the ``sns.message.published`` event.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from orchestrator.embedded.events import Event

log = logging.getLogger(__name__)


def subscriptions(event: Event, protocols: tuple[str, ...]) -> list[Any]:
    """The topic's subscriptions of these protocols whose filter policy accepts the message."""
    from moto.sns.models import sns_backends

    backend = sns_backends[event.account_id][event.region]
    topic_arn = event.detail["topic_arn"]
    found = []
    for sub in list(backend.subscriptions.values()):
        if sub.topic_arn != topic_arn or sub.protocol not in protocols:
            continue
        matcher = getattr(sub, "_filter_policy_matcher", None)
        if matcher is not None:
            try:
                if not matcher.matches(event.detail.get("message_attributes") or {}, event.detail.get("message")):
                    continue
            except Exception:
                log.exception("filter policy of %s failed; delivering anyway", sub.arn)
        found.append(sub)
    return found


def message_for(detail: dict[str, Any], protocol: str) -> str:
    """The message a subscription of ``protocol`` receives: with ``MessageStructure=json``, the
    protocol's own entry, else ``default`` (SNS's rule); otherwise the message as published."""
    message = detail.get("message")
    if detail.get("message_structure") != "json":
        return str(message)
    try:
        structure = json.loads(str(message))
    except ValueError:
        return str(message)
    chosen = structure.get(protocol, structure.get("default", message))
    return chosen if isinstance(chosen, str) else json.dumps(chosen)
