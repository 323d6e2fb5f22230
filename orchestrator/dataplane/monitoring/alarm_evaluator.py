"""Evaluates the control plane's CloudWatch metric alarms on a timer and runs their actions.

Every ``interval`` seconds (``ORCHESTRATOR_ALARM_EVALUATION_SECONDS``, 10 by default) each metric alarm
of every account and region in moto is evaluated over its last ``EvaluationPeriods`` *complete*
periods (periods aligned to the period length, the current one excluded), with the statistics
CloudWatch would compute (:mod:`orchestrator.embedded.cloudwatch_statistics`). On a state change the
alarm's state, reason, reason data and history are written to moto (as ``SetAlarmState`` does), and,
when its actions are enabled, the new state's actions run:

* an SNS topic ARN: the notification is published to the topic (``MessageStructure=json``: the JSON
  document by default, the readable text for e-mail), so the topic's subscriptions receive it through
  the embedded services (Lambda subscriptions through the Lambda data plane, e-mail into the outbox);
* a Lambda function ARN: the function is invoked asynchronously with the alarm-action event;
* an Application Auto Scaling policy (the alarms of a target tracking policy on a SageMaker variant):
  :mod:`~orchestrator.dataplane.monitoring.target_tracking` scales the variant; CloudWatch invokes such
  an action again every period while the alarm stays in ALARM, and so does this evaluator;
* anything else (EC2, EC2 Auto Scaling, Systems Manager actions) is logged once as not emulated.

Alarms on metric math (``Metrics``) or anomaly detection, and composite alarms, are not evaluated:
they keep the state they have, and the health document counts them.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from orchestrator.dataplane.monitoring import alarm_messages
from orchestrator.dataplane.monitoring.alarm_evaluation import AlarmRule, Datapoint, Decision, evaluate
from orchestrator.dataplane.monitoring.target_tracking import ScalingDecision, TargetTrackingScaler
from orchestrator.embedded import cloudwatch_statistics as stats
from orchestrator.embedded.moto_compat import append_alarm_history

log = logging.getLogger(__name__)

INTERVAL_ENV = "ORCHESTRATOR_ALARM_EVALUATION_SECONDS"
DEFAULT_INTERVAL_S = 10.0

Clock = Callable[[], datetime]


def _utcnow() -> datetime:
    return datetime.now(UTC)


def rule_of(alarm: Any) -> AlarmRule | None:
    """The evaluation rule of a single-metric alarm; ``None`` for what this evaluator leaves alone."""
    if getattr(alarm, "rule", None) or alarm.metric_data_queries or not alarm.metric_name:
        return None
    if getattr(alarm, "threshold_metric_id", None) or alarm.comparison_operator not in (
        "GreaterThanOrEqualToThreshold", "GreaterThanThreshold", "LessThanThreshold", "LessThanOrEqualToThreshold"
    ):
        return None
    statistic = alarm.extended_statistic or alarm.statistic
    if not statistic or not alarm.period or not alarm.evaluation_periods:
        return None
    return AlarmRule(
        statistic=str(statistic),
        period=int(alarm.period),
        evaluation_periods=int(alarm.evaluation_periods),
        datapoints_to_alarm=int(alarm.datapoints_to_alarm or alarm.evaluation_periods),
        threshold=float(alarm.threshold),
        comparison=str(alarm.comparison_operator),
        treat_missing_data=str(alarm.treat_missing_data or "missing"),
        low_sample_percentile=str(alarm.evaluate_low_sample_count_percentile or "evaluate"),
    )


def evaluation_window(rule: AlarmRule, now: datetime) -> tuple[datetime, datetime]:
    """``[start, end)``: the last ``evaluation_periods`` complete periods, aligned to the period."""
    epoch = int(now.timestamp())
    end = datetime.fromtimestamp(epoch - epoch % rule.period, UTC)
    return end - timedelta(seconds=rule.period * rule.evaluation_periods), end


def datapoints_for(backend: Any, alarm: Any, rule: AlarmRule, now: datetime) -> list[Datapoint]:
    start, end = evaluation_window(rule, now)
    samples = stats.period_samples(
        backend.compat_datums(alarm.namespace, alarm.metric_name),
        namespace=alarm.namespace, metric_name=alarm.metric_name, dimensions=alarm.dimensions,
        start=start, end=end, period=rule.period, unit=alarm.unit,
    )
    by_start = {s.start: s for s in samples}
    points = []
    for i in range(rule.evaluation_periods):
        begin = start + timedelta(seconds=i * rule.period)
        s = by_start.get(begin)
        points.append(Datapoint(begin, s.statistic(rule.statistic) if s else None, s.sample_count if s else 0.0))
    return points


def _backends() -> Iterator[tuple[str, str, Any]]:
    from moto.cloudwatch.models import cloudwatch_backends

    for account_id in list(cloudwatch_backends.keys()):
        regions = cloudwatch_backends[account_id]
        for region in list(regions.keys()):
            yield account_id, region, regions[region]


class AlarmEvaluator:
    """The timer thread (see module docstring). ``evaluate_once`` is the whole of one round."""

    def __init__(self, interval: float | None = None, clock: Clock = _utcnow) -> None:
        self.interval = interval if interval is not None else float(os.environ.get(INTERVAL_ENV) or DEFAULT_INTERVAL_S)
        self.clock = clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._unsupported: set[str] = set()
        self.rounds = 0
        self.transitions = 0
        self.notifications = 0
        self.not_evaluated = 0
        self.failures = 0
        self.states: dict[str, list[str]] = {}  # state -> alarm names, as of the last round
        self.scaler = TargetTrackingScaler()
        self._scaling_invoked: dict[str, datetime] = {}  # alarm ARN -> last Auto Scaling action

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="alarm-evaluator", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.evaluate_once()
            except Exception:
                self.failures += 1
                log.exception("alarm evaluation round failed")

    def evaluate_once(self) -> list[alarm_messages.Transition]:
        """Evaluate every metric alarm once; returns the transitions made (actions already run)."""
        now = self.clock()
        made: list[alarm_messages.Transition] = []
        skipped = 0
        states: dict[str, list[str]] = {}
        for account_id, region, backend in _backends():
            for alarm in list(backend.alarms.values()):
                rule = rule_of(alarm)
                if rule is None:
                    skipped += 1
                else:
                    try:
                        decision = evaluate(rule, datapoints_for(backend, alarm, rule, now), alarm.state_value, now)
                        if decision is not None and decision.state != alarm.state_value:
                            made.append(self._transition(account_id, region, backend, alarm, decision, now))
                        elif decision is not None and alarm.state_value == "ALARM" and alarm.actions_enabled:
                            self._repeat_scaling(alarm, decision, now)
                    except Exception:  # one broken alarm must not stop the others' evaluation
                        self.failures += 1
                        log.exception("alarm %s: evaluation failed", alarm.name)
                states.setdefault(alarm.state_value, []).append(alarm.name)
        self.not_evaluated = skipped
        self.states = {state: sorted(names) for state, names in sorted(states.items())}
        self.rounds += 1
        return made

    def _transition(
        self, account_id: str, region: str, backend: Any, alarm: Any, decision: Decision, now: datetime
    ) -> alarm_messages.Transition:
        previous = (alarm.state_value, alarm.state_reason, alarm.state_reason_data, alarm.state_updated_timestamp)
        backend.set_alarm_state(alarm.name, decision.reason, decision.reason_data, decision.state)
        self.transitions += 1
        transition = alarm_messages.Transition(
            alarm, account_id, region, previous[0], decision.state, decision.reason, decision.reason_data, now
        )
        log.info("alarm %s: %s -> %s (%s)", alarm.name, previous[0], decision.state, decision.reason)
        if alarm.actions_enabled:
            actions = {"ALARM": alarm.alarm_actions, "OK": alarm.ok_actions,
                       "INSUFFICIENT_DATA": alarm.insufficient_data_actions}[decision.state]
            at = stats.as_utc(previous[3]) if isinstance(previous[3], datetime) else now
            for arn in actions or []:
                data = {"actionState": "Succeeded", "notificationResource": arn,
                        "stateUpdateTimestamp": int(now.timestamp() * 1000)}
                try:
                    done = self._act(arn, transition, previous[1], previous[2], at)
                    summary = f"Successfully executed action {arn}"
                except Exception as exc:
                    self.failures += 1
                    log.exception("alarm %s: action %s failed", alarm.name, arn)
                    done, summary = True, f"Failed to execute action {arn}. Received error: {exc}"
                    data["actionState"] = "Failed"
                if done:
                    append_alarm_history(alarm, "Action", summary, data)
        return transition

    def _repeat_scaling(self, alarm: Any, decision: Decision, now: datetime) -> None:
        """CloudWatch invokes an Auto Scaling action again every period while the alarm stays in ALARM."""
        last = self._scaling_invoked.get(alarm.alarm_arn)
        if last is not None and (now - last).total_seconds() < alarm.period:
            return
        for arn in alarm.alarm_actions or []:
            if arn.split(":")[2:3] == ["autoscaling"]:
                try:
                    scaled = self._scale(arn, alarm, decision.reason_data, now)
                except Exception:
                    self.failures += 1
                    log.exception("alarm %s: action %s failed", alarm.name, arn)
                    continue
                if scaled is not None and scaled.desired != scaled.current:
                    append_alarm_history(alarm, "Action", f"Successfully executed action {arn}",
                                         {"actionState": "Succeeded", "notificationResource": arn,
                                          "stateUpdateTimestamp": int(now.timestamp() * 1000)})

    def _scale(self, arn: str, alarm: Any, reason_data: str, now: datetime) -> ScalingDecision | None:
        self._scaling_invoked[alarm.alarm_arn] = now
        return self.scaler.run(arn, alarm, reason_data, now.timestamp())

    def _act(self, arn: str, t: alarm_messages.Transition, reason: str, reason_data: str, at: datetime) -> bool:
        """Run one action; ``False`` for a kind that is not emulated (nothing ran)."""
        parts = arn.split(":")
        service = parts[2] if len(parts) > 5 else ""
        if service == "autoscaling" and self._scale(arn, t.alarm, t.reason_data, t.at) is not None:
            return True
        if service == "sns":
            from moto.sns.models import sns_backends

            sns_backends[parts[4]][parts[3]].publish(
                alarm_messages.sns_message(t), arn=arn, subject=alarm_messages.subject(t), message_structure="json"
            )
            self.notifications += 1
            return True
        if service == "lambda":
            from orchestrator.dataplane.lambdas.runtime import active_runtime

            runtime = active_runtime()
            if runtime is None:
                raise RuntimeError("no Lambda data plane is hosted to run the alarm action")
            runtime.submit_event(arn, json.dumps(alarm_messages.lambda_event(t, reason, reason_data, at)).encode())
            self.notifications += 1
            return True
        if arn not in self._unsupported:
            self._unsupported.add(arn)
            log.warning("alarm action %s is not emulated locally (only SNS topics, Lambda functions and target "
                        "tracking on SageMaker variants)", arn)
        return False

    def health(self) -> dict[str, Any]:
        return {
            "interval_s": self.interval,
            "rounds": self.rounds,
            "transitions": self.transitions,
            "notifications": self.notifications,
            "alarms_not_evaluated": self.not_evaluated,
            "states": self.states,
            "failures": self.failures,
            "scaling_actions": self.scaler.scaled,
        }
