"""Target tracking on SageMaker variants: the policy's alarms fire on InvocationsPerInstance and the
scaler sets the variant's instance count (in process, on moto's backends, with a fixed clock)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from orchestrator.dataplane.monitoring.alarm_evaluator import AlarmEvaluator

T0 = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
RESOURCE = "endpoint/ep/variant/model-a"


@pytest.fixture
def aws(in_process_aws: None) -> Iterator[dict[str, Any]]:
    import boto3

    sm, aas = boto3.client("sagemaker"), boto3.client("application-autoscaling")
    sm.create_model(ModelName="m", ExecutionRoleArn="arn:aws:iam::123456789012:role/r",
                    PrimaryContainer={"Image": "i", "ModelDataUrl": "s3://b/m.tar.gz"})
    sm.create_endpoint_config(EndpointConfigName="c", ProductionVariants=[
        {"VariantName": "model-a", "ModelName": "m", "InitialInstanceCount": 1, "InstanceType": "ml.c5.large",
         "InitialVariantWeight": 1.0}])
    sm.create_endpoint(EndpointName="ep", EndpointConfigName="c")
    aas.register_scalable_target(ServiceNamespace="sagemaker", ResourceId=RESOURCE,
                                 ScalableDimension="sagemaker:variant:DesiredInstanceCount", MinCapacity=1, MaxCapacity=4)
    yield {"sm": sm, "aas": aas, "cw": boto3.client("cloudwatch")}


def policy(aas: Any, **config: Any) -> None:
    aas.put_scaling_policy(
        PolicyName="invocations", ServiceNamespace="sagemaker", ResourceId=RESOURCE,
        ScalableDimension="sagemaker:variant:DesiredInstanceCount", PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": 70.0, "ScaleOutCooldown": 120, "ScaleInCooldown": 120,
            "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"},
            **config,
        })


def traffic(cw: Any, start: datetime, minutes: int, per_instance: float) -> None:
    cw.put_metric_data(Namespace="AWS/SageMaker", MetricData=[
        {"MetricName": "InvocationsPerInstance", "Timestamp": start + timedelta(minutes=i, seconds=10), "Unit": "Count",
         "Value": per_instance,
         "Dimensions": [{"Name": "EndpointName", "Value": "ep"}, {"Name": "VariantName", "Value": "model-a"}]}
        for i in range(minutes)])


def instances(sm: Any) -> int:
    return int(sm.describe_endpoint(EndpointName="ep")["ProductionVariants"][0]["DesiredInstanceCount"])


def activities(aas: Any, not_scaled: bool = False) -> list[dict[str, Any]]:
    return aas.describe_scaling_activities(ServiceNamespace="sagemaker", ResourceId=RESOURCE,
                                           IncludeNotScaledActivities=not_scaled)["ScalingActivities"]


def test_the_policy_creates_aws_alarms_and_replacing_it_replaces_them(aws: dict[str, Any]) -> None:
    cw, aas = aws["cw"], aws["aas"]
    policy(aas)
    alarms = {a["AlarmName"].split("-")[-6]: a for a in cw.describe_alarms(AlarmNamePrefix="TargetTracking-")["MetricAlarms"]}
    high, low = alarms["AlarmHigh"], alarms["AlarmLow"]
    assert high["AlarmName"].startswith(f"TargetTracking-{RESOURCE}-AlarmHigh-")
    assert (high["MetricName"], high["Namespace"], high["Statistic"], high["Period"]) == ("InvocationsPerInstance", "AWS/SageMaker", "Sum", 60)
    assert (high["EvaluationPeriods"], high["DatapointsToAlarm"], high["Threshold"], high["ComparisonOperator"]) == (3, 3, 70.0, "GreaterThanThreshold")
    assert (low["EvaluationPeriods"], low["Threshold"], low["ComparisonOperator"]) == (15, 63.0, "LessThanThreshold")
    assert {d["Name"]: d["Value"] for d in high["Dimensions"]} == {"EndpointName": "ep", "VariantName": "model-a"}
    arn = aas.describe_scaling_policies(ServiceNamespace="sagemaker")["ScalingPolicies"][0]["PolicyARN"]
    assert high["AlarmActions"][0].startswith(arn + ":createdBy/")

    policy(aas, TargetValue=100.0, DisableScaleIn=True)  # replaced: the old alarms go, no AlarmLow now
    [only] = cw.describe_alarms(AlarmNamePrefix="TargetTracking-")["MetricAlarms"]
    assert "-AlarmHigh-" in only["AlarmName"] and only["Threshold"] == 100.0
    assert activities(aas) == []


def test_sustained_load_scales_out_to_the_maximum_then_back_in(aws: dict[str, Any]) -> None:
    sm, aas, cw = aws["sm"], aws["aas"], aws["cw"]
    policy(aas)
    traffic(cw, T0, 3, 300.0)  # 300 a minute per instance, target 70: 3 breaching minutes
    evaluator = AlarmEvaluator(interval=3600, clock=lambda: T0 + timedelta(minutes=3, seconds=5))
    evaluator.evaluate_once()
    assert instances(sm) == 4  # ceil(1 x 300 / 70) = 5, capped at MaxCapacity 4
    [scaled] = activities(aas)
    assert scaled["StatusCode"] == "Successful" and "desired instance count to 4" in scaled["StatusMessage"]
    assert "AlarmHigh" in scaled["Cause"] and "triggered policy invocations" in scaled["Cause"]

    evaluator.clock = lambda: T0 + timedelta(minutes=3, seconds=35)
    evaluator.evaluate_once()  # still in ALARM, but less than a period since the action: not invoked
    assert len(activities(aas, not_scaled=True)) == 1
    traffic(cw, T0 + timedelta(minutes=3), 1, 300.0)
    evaluator.clock = lambda: T0 + timedelta(minutes=4, seconds=10)
    evaluator.evaluate_once()  # invoked again a period later: already at the maximum
    not_scaled = activities(aas, not_scaled=True)[0]
    assert not_scaled["NotScaledReasons"][0]["Code"] == "AlreadyAtMaxCapacity" and instances(sm) == 4

    quiet = T0 + timedelta(minutes=4)
    traffic(cw, quiet, 15, 20.0)  # 20 per instance, under 90 % of 70 for 15 minutes
    evaluator.clock = lambda: quiet + timedelta(minutes=15, seconds=5)
    evaluator.evaluate_once()
    assert instances(sm) == 2  # ceil(4 x 20 / 70) = 2
    assert [a["Description"] for a in activities(aas)] == [
        "Setting desired instance count to 2.", "Setting desired instance count to 4."]


def test_scale_in_never_leaves_the_remaining_instances_above_the_target(aws: dict[str, Any]) -> None:
    """AWS: below the target, the policy does not scale in when removing capacity would likely put the
    metric above the target again; it removes capacity only once demand really fell."""
    sm, aas, cw = aws["sm"], aws["aas"], aws["cw"]
    policy(aas)
    traffic(cw, T0, 3, 100.0)
    evaluator = AlarmEvaluator(interval=3600, clock=lambda: T0 + timedelta(minutes=3, seconds=5))
    evaluator.evaluate_once()
    assert instances(sm) == 2  # ceil(1 x 100 / 70)

    quiet = T0 + timedelta(minutes=4)
    traffic(cw, quiet, 15, 60.0)  # under 90 % of 70 (AlarmLow fires), but 1 instance would get 120
    evaluator.clock = lambda: quiet + timedelta(minutes=15, seconds=5)
    evaluator.evaluate_once()
    assert instances(sm) == 2
    held = activities(aas, not_scaled=True)[0]
    assert held["NotScaledReasons"][0]["Code"] == "AlreadyAtDesiredCapacity" and "AlarmLow" in held["Cause"]

    quieter = quiet + timedelta(minutes=15)
    traffic(cw, quieter, 15, 30.0)  # demand halved: 1 instance would get 60, under the target
    evaluator.clock = lambda: quieter + timedelta(minutes=15, seconds=5)
    evaluator.evaluate_once()
    assert instances(sm) == 1
    assert activities(aas)[0]["Description"] == "Setting desired instance count to 1."


def test_no_scaling_while_the_endpoint_changes_or_scaling_is_suspended(aws: dict[str, Any]) -> None:
    from moto.sagemaker.models import sagemaker_backends

    sm, aas, cw = aws["sm"], aws["aas"], aws["cw"]
    policy(aas)
    traffic(cw, T0, 3, 300.0)
    endpoint = sagemaker_backends["123456789012"]["us-east-1"].endpoints["ep"]
    endpoint.endpoint_status = "Updating"
    evaluator = AlarmEvaluator(interval=3600, clock=lambda: T0 + timedelta(minutes=3, seconds=5))
    evaluator.evaluate_once()
    assert instances(sm) == 1
    assert activities(aas, not_scaled=True)[0]["StatusMessage"] == "the endpoint is Updating"

    endpoint.endpoint_status = "InService"
    aas.register_scalable_target(ServiceNamespace="sagemaker", ResourceId=RESOURCE,
                                 ScalableDimension="sagemaker:variant:DesiredInstanceCount",
                                 SuspendedState={"DynamicScalingOutSuspended": True})
    evaluator.clock = lambda: T0 + timedelta(minutes=4, seconds=10)
    traffic(cw, T0 + timedelta(minutes=3), 1, 300.0)
    evaluator.evaluate_once()
    assert instances(sm) == 1 and activities(aas, not_scaled=True)[0]["StatusMessage"] == "dynamic scaling is suspended"


def test_a_step_scaling_policy_action_is_not_run_nor_recorded(aws: dict[str, Any]) -> None:
    """Only target tracking is emulated: an alarm whose action is a step scaling policy changes state,
    scales nothing and records no executed action (the evaluator logs it once as not emulated)."""
    sm, aas, cw = aws["sm"], aws["aas"], aws["cw"]
    arn = aas.put_scaling_policy(
        PolicyName="steps", ServiceNamespace="sagemaker", ResourceId=RESOURCE,
        ScalableDimension="sagemaker:variant:DesiredInstanceCount", PolicyType="StepScaling",
        StepScalingPolicyConfiguration={"AdjustmentType": "ChangeInCapacity", "StepAdjustments": [
            {"MetricIntervalLowerBound": 0.0, "ScalingAdjustment": 1}]})["PolicyARN"]
    cw.put_metric_alarm(AlarmName="steps", Namespace="AWS/SageMaker", MetricName="InvocationsPerInstance",
                        Dimensions=[{"Name": "EndpointName", "Value": "ep"}, {"Name": "VariantName", "Value": "model-a"}],
                        Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=70.0,
                        ComparisonOperator="GreaterThanThreshold", AlarmActions=[arn])
    traffic(cw, T0, 3, 300.0)
    AlarmEvaluator(interval=3600, clock=lambda: T0 + timedelta(minutes=3, seconds=5)).evaluate_once()
    assert cw.describe_alarms(AlarmNames=["steps"])["MetricAlarms"][0]["StateValue"] == "ALARM"
    assert instances(sm) == 1 and activities(aas, not_scaled=True) == []
    history = cw.describe_alarm_history(AlarmName="steps")["AlarmHistoryItems"]
    assert [h for h in history if h["HistoryItemType"] == "Action"] == []
