"""CloudWatch alarms and SNS e-mail as a component of the embedded service.

Spec: ``orchestrator.dataplane.monitoring.component:factory``. On start it runs the
:class:`~orchestrator.dataplane.monitoring.alarm_evaluator.AlarmEvaluator` thread and subscribes the
:class:`~orchestrator.dataplane.monitoring.email_outbox.EmailOutbox` (``<state dir>/sns-email``) to
``sns.message.published``, with :class:`~orchestrator.dataplane.monitoring.sns_metrics.SnsMetrics`
(``AWS/SNS`` metrics, flushed every 2 s). Health: evaluation rounds, transitions, notifications,
e-mails written and the outbox directory.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from orchestrator.dataplane.lambdas.cloudwatch import Flusher
from orchestrator.dataplane.monitoring.alarm_evaluator import AlarmEvaluator
from orchestrator.dataplane.monitoring.email_outbox import EmailOutbox
from orchestrator.dataplane.monitoring.sns_metrics import SnsMetrics

OUTBOX_DIR = "sns-email"


class MonitoringComponent:
    name = "monitoring"

    def __init__(self) -> None:
        self.evaluator: AlarmEvaluator | None = None
        self.outbox: EmailOutbox | None = None
        self.sns_metrics = SnsMetrics()
        self._flusher = Flusher("sns-metrics", self.sns_metrics.flush)
        self._unsubscribe: list[Callable[[], None]] = []

    def start(self, ctx: Any) -> None:
        self.outbox = EmailOutbox(Path(ctx.state_dir) / OUTBOX_DIR)
        self._unsubscribe = [
            ctx.events.subscribe("sns.message.published", self.outbox),
            ctx.events.subscribe("sns.message.published", self.sns_metrics),
        ]
        self._flusher.start()
        self.evaluator = AlarmEvaluator()
        self.evaluator.start()

    def stop(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        if self.evaluator is not None:
            self.evaluator.stop()
            self._flusher.stop()

    def health(self) -> dict[str, Any]:
        if self.evaluator is None or self.outbox is None:
            return {"ok": False}
        return {
            "ok": True,
            "alarms": self.evaluator.health(),
            "email_outbox": str(self.outbox.directory),
            "emails_written": self.outbox.written,
        }


def factory() -> MonitoringComponent:
    return MonitoringComponent()
