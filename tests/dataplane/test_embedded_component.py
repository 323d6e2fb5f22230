"""The data plane hosted by the embedded service: Terraform-style calls to moto drive real models."""

from __future__ import annotations

import io
import json
import tarfile
import textwrap
import time
from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from dataplane_helpers import ECHO

pytest.importorskip("moto")
from orchestrator.embedded.testing import running_control_plane

pytestmark = pytest.mark.integration
COMPONENT = "orchestrator.dataplane.sagemaker.component:factory"


def model_archive(source: str) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        data = textwrap.dedent(source).encode()
        info = tarfile.TarInfo("code/inference.py")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def wait_status(sm, name: str, timeout: float = 60) -> dict:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        d = sm.describe_endpoint(EndpointName=name)
        if d["EndpointStatus"] in ("InService", "Failed"):
            return d
        assert time.monotonic() < deadline, d
        time.sleep(0.2)


def test_endpoint_lifecycle_through_the_control_plane(tmp_path: Path) -> None:
    with running_control_plane(tmp_path, components=[COMPONENT]) as cp:
        s3, sm, smr = cp.client("s3"), cp.client("sagemaker"), cp.client("sagemaker-runtime")
        s3.create_bucket(Bucket="models")
        s3.create_bucket(Bucket="capture")
        s3.put_object(Bucket="models", Key="echo/model.tar.gz", Body=model_archive(ECHO))
        s3.put_object(Bucket="models", Key="broken/model.tar.gz", Body=model_archive("def model_fn(d):\n    raise ValueError('no weights here')\n"))
        role = "arn:aws:iam::123456789012:role/sm"
        for name in ("echo", "broken"):
            sm.create_model(ModelName=name, ExecutionRoleArn=role, PrimaryContainer={
                "Image": "local", "ModelDataUrl": f"s3://models/{name}/model.tar.gz",
                "Environment": {"SAGEMAKER_MODEL_SERVER_WORKERS": "1"}})
            sm.create_endpoint_config(
                EndpointConfigName=f"{name}-cfg",
                ProductionVariants=[{"VariantName": "primary", "ModelName": name, "InitialInstanceCount": 1,
                                     "InstanceType": "ml.c5.large", "InitialVariantWeight": 1.0}],
                DataCaptureConfig={"EnableCapture": True, "InitialSamplingPercentage": 100,
                                   "DestinationS3Uri": "s3://capture/dc",
                                   "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
                                   "CaptureContentTypeHeader": {"JsonContentTypes": ["application/json"]}},
            )
            sm.create_endpoint(EndpointName=name, EndpointConfigName=f"{name}-cfg")
        assert wait_status(sm, "echo")["EndpointStatus"] == "InService"
        failed = wait_status(sm, "broken")
        assert failed["EndpointStatus"] == "Failed" and "no weights here" in failed["FailureReason"]

        r = smr.invoke_endpoint(EndpointName="echo", Body=b'{"x": 1}', ContentType="application/json")
        assert json.loads(r["Body"].read())["echo"] == {"x": 1} and r["InvokedProductionVariant"] == "primary"
        with pytest.raises(ClientError) as info:
            smr.invoke_endpoint(EndpointName="echo", Body=b'{"bad": 1}', ContentType="application/json")
        assert info.value.response["OriginalStatusCode"] == 400

        deadline = time.monotonic() + 10
        while not s3.list_objects_v2(Bucket="capture", Prefix="dc/echo/primary/").get("KeyCount"):
            assert time.monotonic() < deadline, "no capture file written to S3"
            time.sleep(0.2)
        sm.delete_endpoint(EndpointName="echo")
        deadline = time.monotonic() + 10
        while True:
            try:
                smr.invoke_endpoint(EndpointName="echo", Body=b"{}", ContentType="application/json")
            except ClientError as exc:
                assert exc.response["Error"]["Code"] == "ValidationError"
                break
            assert time.monotonic() < deadline
            time.sleep(0.2)


def test_update_endpoint_weights_and_capacities_scales_the_variant(tmp_path: Path) -> None:
    """UpdateEndpointWeightsAndCapacities (what autoscaling calls) really adds and removes instances:
    Updating while they start, InService once they serve, the instance that stays keeps its worker."""
    with running_control_plane(tmp_path, components=[COMPONENT]) as cp:
        s3, sm, smr = cp.client("s3"), cp.client("sagemaker"), cp.client("sagemaker-runtime")
        s3.create_bucket(Bucket="models")
        s3.put_object(Bucket="models", Key="echo/model.tar.gz", Body=model_archive(ECHO))
        sm.create_model(ModelName="echo", ExecutionRoleArn="arn:aws:iam::123456789012:role/sm", PrimaryContainer={
            "Image": "local", "ModelDataUrl": "s3://models/echo/model.tar.gz",
            "Environment": {"SAGEMAKER_MODEL_SERVER_WORKERS": "1"}})
        sm.create_endpoint_config(EndpointConfigName="echo-cfg", ProductionVariants=[
            {"VariantName": "primary", "ModelName": "echo", "InitialInstanceCount": 1, "InstanceType": "ml.c5.large",
             "InitialVariantWeight": 1.0}])
        sm.create_endpoint(EndpointName="scaled", EndpointConfigName="echo-cfg")
        assert wait_status(sm, "scaled")["EndpointStatus"] == "InService"

        def pids() -> set[int]:
            seen = set()
            for _ in range(40):
                r = smr.invoke_endpoint(EndpointName="scaled", Body=b"{}", ContentType="application/json")
                seen.add(json.loads(r["Body"].read())["pid"])
            return seen

        first = pids()
        sm.update_endpoint_weights_and_capacities(EndpointName="scaled", DesiredWeightsAndCapacities=[
            {"VariantName": "primary", "DesiredInstanceCount": 3, "DesiredWeight": 2.0}])
        assert sm.describe_endpoint(EndpointName="scaled")["EndpointStatus"] == "Updating"
        described = wait_status(sm, "scaled")
        assert described["EndpointStatus"] == "InService"
        assert described["ProductionVariants"][0]["DesiredInstanceCount"] == 3
        scaled = pids()
        assert len(scaled) == 3 and first <= scaled

        sm.update_endpoint_weights_and_capacities(EndpointName="scaled", DesiredWeightsAndCapacities=[
            {"VariantName": "primary", "DesiredInstanceCount": 1}])
        assert wait_status(sm, "scaled")["EndpointStatus"] == "InService"
        deadline = time.monotonic() + 15
        while pids() != first:
            assert time.monotonic() < deadline, "the surplus instances still answer"
            time.sleep(0.2)
