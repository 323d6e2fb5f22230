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
from orchestrator.embedded.testing import running_control_plane  # noqa: E402

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
