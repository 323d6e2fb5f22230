"""Application Auto Scaling target tracking for SageMaker variants, run when its alarms fire.

A target tracking policy's alarms (``moto_compat`` x12: AlarmHigh above the target for 3 minutes,
AlarmLow under 90 % of it for 15) name the policy as their action. When the local alarm evaluator
runs that action, :class:`TargetTrackingScaler` does what Application Auto Scaling does:

* the new capacity is ``ceil(current x metric / target)`` (the metric being the alarm's newest
  datapoint), only up for AlarmHigh and only down for AlarmLow (never with ``DisableScaleIn``), within
  the scalable target's ``MinCapacity``/``MaxCapacity``;
* nothing happens while dynamic scaling is suspended, during the scale-out cooldown after a scale-out
  (for a scale-out or a scale-in), during the scale-in cooldown after a scale-in (for a scale-in), or
  while the endpoint is not ``InService`` (a change in progress);
* otherwise ``UpdateEndpointWeightsAndCapacities`` sets the variant's ``DesiredInstanceCount``, which the
  SageMaker data plane applies (instances started or drained), and an activity is recorded for
  ``DescribeScalingActivities`` (``moto_compat`` x13).

The evaluator invokes an alarm's scaling action at its transition to ALARM and again every period
while it stays there, as CloudWatch does for Auto Scaling actions, so a sustained load keeps scaling
out step by step until the metric is back under the target or the maximum is reached.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

from orchestrator.embedded.moto_compat import record_scaling_activity

log = logging.getLogger(__name__)

DIMENSION = "sagemaker:variant:DesiredInstanceCount"


@dataclass(frozen=True)
class ScalingDecision:
    resource_id: str
    current: int
    desired: int
    reason: str = ""  # why not, when desired == current
    code: str = ""  # DescribeScalingActivities' NotScaledReasons code


def policy_arn_of(action_arn: str) -> str:
    """The policy ARN of an alarm action (``<policy arn>:createdBy/<uuid>``)."""
    return action_arn.split(":createdBy/")[0]


def _newest_value(reason_data: str) -> float | None:
    try:
        points = json.loads(reason_data).get("evaluatedDatapoints") or []
    except (ValueError, AttributeError):
        return None
    values = [p.get("value") for p in points if p.get("value") is not None]
    return float(values[0]) if values else None  # newest first


class TargetTrackingScaler:
    """Runs target tracking scaling actions against moto's backends (see module docstring)."""

    def __init__(self) -> None:
        self._last_scale_out: dict[str, float] = {}
        self._last_scale_in: dict[str, float] = {}
        self._lock = threading.Lock()
        self.scaled = 0

    def run(self, action_arn: str, alarm: Any, reason_data: str, now: float | None = None) -> ScalingDecision | None:
        """Apply the policy behind ``action_arn`` for ``alarm``; ``None`` if the policy is not ours to run."""
        from moto.applicationautoscaling.models import applicationautoscaling_backends

        now = time.time() if now is None else now
        arn = policy_arn_of(action_arn)
        parts = arn.split(":")
        backend = applicationautoscaling_backends[parts[4]][parts[3]]
        policy = next((p for p in list(backend.policies.values()) if p.policy_arn == arn), None)
        if policy is None:
            raise LookupError(f"no scaling policy {arn}")
        if policy.policy_type != "TargetTrackingScaling" or policy.scalable_dimension != DIMENSION:
            return None
        with self._lock:
            decision = self._decide(backend, policy, alarm, reason_data, now)
            if decision.desired != decision.current:
                self._apply(parts[4], parts[3], policy, decision)
                (self._last_scale_out if decision.desired > decision.current else self._last_scale_in)[policy.resource_id] = now
                self.scaled += 1
            self._record(backend, policy, alarm, decision, now)
        return decision

    def _decide(self, backend: Any, policy: Any, alarm: Any, reason_data: str, now: float) -> ScalingDecision:
        from moto.sagemaker.models import sagemaker_backends

        config = policy.target_tracking_scaling_policy_configuration or {}
        resource = policy.resource_id
        _, endpoint_name, _, variant_name = resource.split("/")
        target = backend.targets.get(DIMENSION, {}).get(resource)
        endpoint = sagemaker_backends[policy.account_id][policy.region_name].endpoints.get(endpoint_name)
        variant = next((v for v in (endpoint.production_variants if endpoint else []) if v.get("VariantName") == variant_name), None)
        current = int((variant or {}).get("DesiredInstanceCount") or 0)

        def no(reason: str, code: str = "NotScaled") -> ScalingDecision:
            return ScalingDecision(resource, current, current, reason, code)

        if target is None or endpoint is None or variant is None:
            return no("the scalable target, endpoint or variant no longer exists")
        if endpoint.endpoint_status != "InService":
            return no(f"the endpoint is {endpoint.endpoint_status}")
        value, target_value = _newest_value(reason_data), float(config.get("TargetValue") or 0)
        if value is None or target_value <= 0:
            return no("no datapoint to scale on")
        out = alarm.comparison_operator.startswith("Greater")
        suspended = target.suspended_state or {}
        if suspended.get("DynamicScalingOutSuspended" if out else "DynamicScalingInSuspended"):
            return no("dynamic scaling is suspended")
        desired = max(int(target.min_capacity), min(int(target.max_capacity), math.ceil(current * value / target_value)))
        since_out = now - self._last_scale_out.get(resource, -math.inf)
        since_in = now - self._last_scale_in.get(resource, -math.inf)
        if out:
            if desired <= current:
                at_max = current >= int(target.max_capacity)
                return no(f"already at {current} (maximum {target.max_capacity})",
                          "AlreadyAtMaxCapacity" if at_max else "AlreadyAtDesiredCapacity")
            if since_out < float(config.get("ScaleOutCooldown") or 0):
                return no("scale-out cooldown")
        else:
            if config.get("DisableScaleIn"):
                return no("scale-in is disabled")
            if desired >= current:
                at_min = current <= int(target.min_capacity)
                return no(f"already at {current} (minimum {target.min_capacity})",
                          "AlreadyAtMinCapacity" if at_min else "AlreadyAtDesiredCapacity")
            if since_out < float(config.get("ScaleOutCooldown") or 0) or since_in < float(config.get("ScaleInCooldown") or 0):
                return no("cooldown")
        return ScalingDecision(resource, current, desired)

    @staticmethod
    def _apply(account_id: str, region: str, policy: Any, decision: ScalingDecision) -> None:
        from moto.sagemaker.models import sagemaker_backends

        _, endpoint_name, _, variant_name = policy.resource_id.split("/")
        log.info("autoscaling %s: %d -> %d instances", policy.resource_id, decision.current, decision.desired)
        sagemaker_backends[account_id][region].update_endpoint_weights_and_capacities(
            endpoint_name, [{"VariantName": variant_name, "DesiredInstanceCount": decision.desired}]
        )

    @staticmethod
    def _record(backend: Any, policy: Any, alarm: Any, decision: ScalingDecision, now: float) -> None:
        cause = (f"monitor alarm {alarm.name} in state {alarm.state_value} triggered policy {policy.policy_name}")
        activity: dict[str, Any] = {
            "ActivityId": str(uuid.uuid4()),
            "ServiceNamespace": policy.service_namespace,
            "ResourceId": policy.resource_id,
            "ScalableDimension": policy.scalable_dimension,
            "Cause": cause,
            "StartTime": now,
        }
        if decision.desired != decision.current:
            activity.update(
                Description=f"Setting desired instance count to {decision.desired}.",
                EndTime=now, StatusCode="Successful",
                StatusMessage=f"Successfully set desired instance count to {decision.desired}. Change successfully fulfilled by sagemaker.",
            )
        else:
            activity.update(
                Description="Not scaled.", EndTime=now, StatusCode="Successful",
                NotScaledReasons=[{"Code": decision.code, "CurrentCapacity": decision.current}],
                StatusMessage=decision.reason,
            )
        record_scaling_activity(backend, activity)
