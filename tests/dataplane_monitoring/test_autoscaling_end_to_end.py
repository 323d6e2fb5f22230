"""Local autoscaling end to end, through the real service: a target tracking policy on a SageMaker
variant, its alarm firing on InvocationsPerInstance, and the data plane starting the new instances."""

from __future__ import annotations

import datetime as dt
import io
import json
import tarfile
from collections.abc import Iterator

import pytest

from orchestrator.embedded.testing import ControlPlane

from .helpers import service_evaluating_every_second, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

COMPONENTS = ["orchestrator.dataplane.sagemaker.component:factory", "orchestrator.dataplane.monitoring.component:factory"]
PID_MODEL = b"""
import json, os

def model_fn(model_dir):
    return None

def transform_fn(model, body, content_type, accept):
    return json.dumps({"pid": os.getpid()}), "application/json"
"""
RESOURCE = "endpoint/scaled/variant/primary"


@pytest.fixture(scope="module")
def control_plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    with service_evaluating_every_second(tmp_path_factory.mktemp("autoscaling"), COMPONENTS) as cp:
        yield cp


def archive() -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        info = tarfile.TarInfo("code/inference.py")
        info.size = len(PID_MODEL)
        tar.addfile(info, io.BytesIO(PID_MODEL))
    return buf.getvalue()


def test_sustained_invocations_scale_the_variant_out(control_plane: ControlPlane) -> None:
    s3, sm, smr = control_plane.client("s3"), control_plane.client("sagemaker"), control_plane.client("sagemaker-runtime")
    aas, cw = control_plane.client("application-autoscaling"), control_plane.client("cloudwatch")
    s3.create_bucket(Bucket="models")
    s3.put_object(Bucket="models", Key="pid/model.tar.gz", Body=archive())
    sm.create_model(ModelName="pid", ExecutionRoleArn="arn:aws:iam::123456789012:role/sm", PrimaryContainer={
        "Image": "local", "ModelDataUrl": "s3://models/pid/model.tar.gz", "Environment": {"SAGEMAKER_MODEL_SERVER_WORKERS": "1"}})
    sm.create_endpoint_config(EndpointConfigName="pid-cfg", ProductionVariants=[
        {"VariantName": "primary", "ModelName": "pid", "InitialInstanceCount": 1, "InstanceType": "ml.c5.large"}])
    sm.create_endpoint(EndpointName="scaled", EndpointConfigName="pid-cfg")
    wait_for(lambda: sm.describe_endpoint(EndpointName="scaled")["EndpointStatus"] == "InService")
    aas.register_scalable_target(ServiceNamespace="sagemaker", ResourceId=RESOURCE,
                                 ScalableDimension="sagemaker:variant:DesiredInstanceCount", MinCapacity=1, MaxCapacity=3)
    aas.put_scaling_policy(
        PolicyName="invocations", ServiceNamespace="sagemaker", ResourceId=RESOURCE,
        ScalableDimension="sagemaker:variant:DesiredInstanceCount", PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": 100.0, "ScaleOutCooldown": 300, "ScaleInCooldown": 300,
            "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"}})

    # The last three complete minutes at 250 invocations per instance (what the runtime publishes
    # under load; written directly so the test need not run three minutes of traffic).
    minute = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    cw.put_metric_data(Namespace="AWS/SageMaker", MetricData=[
        {"MetricName": "InvocationsPerInstance", "Unit": "Count", "Value": 250.0,
         "Timestamp": minute - dt.timedelta(minutes=m, seconds=-5),
         "Dimensions": [{"Name": "EndpointName", "Value": "scaled"}, {"Name": "VariantName", "Value": "primary"}]}
        for m in (1, 2, 3)])

    wait_for(lambda: sm.describe_endpoint(EndpointName="scaled")["ProductionVariants"][0].get("DesiredInstanceCount") == 3)
    wait_for(lambda: sm.describe_endpoint(EndpointName="scaled")["EndpointStatus"] == "InService")
    pids = {json.loads(smr.invoke_endpoint(EndpointName="scaled", Body=b"{}", ContentType="application/json")["Body"].read())["pid"]
            for _ in range(30)}
    assert len(pids) == 3  # ceil(1 x 250 / 100) = 3 instances, each its own worker
    [activity] = aas.describe_scaling_activities(ServiceNamespace="sagemaker", ResourceId=RESOURCE)["ScalingActivities"]
    assert activity["Description"] == "Setting desired instance count to 3." and "AlarmHigh" in activity["Cause"]
