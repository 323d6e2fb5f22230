"""Endpoint status like AWS with the data plane hosted: Creating/Updating when the call returns, then
InService once every instance answers, or Failed with a FailureReason naming the model and its error."""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path

import pytest

pytest.importorskip("moto")
from test_embedded_component import model_archive

from orchestrator.embedded.testing import running_control_plane

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]
COMPONENT = "orchestrator.dataplane.sagemaker.component:factory"
ROLE = "arn:aws:iam::123456789012:role/sm"

SLOW = """
import json, time

def model_fn(model_dir):
    time.sleep(1.5)  # long enough to observe Creating/Updating
    return "ok"

def input_fn(body, content_type):
    return json.loads(body)

def predict_fn(data, model):
    return {"model": model, "data": data}
"""
BROKEN = """
def model_fn(model_dir):
    raise RuntimeError("weights file is corrupt: tensor size mismatch")
"""


def _model(s3, sm, name: str, source: str) -> None:  # type: ignore[no-untyped-def]
    s3.put_object(Bucket="models", Key=f"{name}/model.tar.gz", Body=model_archive(source))
    sm.create_model(ModelName=name, ExecutionRoleArn=ROLE, PrimaryContainer={
        "Image": "local", "ModelDataUrl": f"s3://models/{name}/model.tar.gz",
        "Environment": {"SAGEMAKER_MODEL_SERVER_WORKERS": "1"}})


def _config(sm, name: str, model: str, instances: int = 2) -> None:  # type: ignore[no-untyped-def]
    sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[
        {"VariantName": "primary", "ModelName": model, "InitialInstanceCount": instances,
         "InstanceType": "ml.c5.large", "InitialVariantWeight": 1.0}])


def _statuses_until_settled(sm, name: str, timeout: float = 90) -> tuple[list[str], dict]:  # type: ignore[no-untyped-def]
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while True:
        d = sm.describe_endpoint(EndpointName=name)
        if not seen or seen[-1] != d["EndpointStatus"]:
            seen.append(d["EndpointStatus"])
        if d["EndpointStatus"] in ("InService", "Failed"):
            return seen, d
        assert time.monotonic() < deadline, (seen, d)
        time.sleep(0.1)


def test_creating_then_in_service_updating_then_failed(tmp_path: Path) -> None:
    with running_control_plane(tmp_path, components=[COMPONENT]) as cp:
        s3, sm = cp.client("s3"), cp.client("sagemaker")
        s3.create_bucket(Bucket="models")
        _model(s3, sm, "slow", SLOW)
        _model(s3, sm, "broken", BROKEN)
        _config(sm, "slow-cfg", "slow")
        _config(sm, "slow-cfg-1", "slow", instances=1)  # new instances: the update loads the model again
        _config(sm, "broken-cfg", "broken")

        sm.create_endpoint(EndpointName="ep", EndpointConfigName="slow-cfg")
        assert sm.describe_endpoint(EndpointName="ep")["EndpointStatus"] == "Creating"  # synchronously, like AWS
        seen, d = _statuses_until_settled(sm, "ep")
        assert seen == ["Creating", "InService"] and "FailureReason" not in d, (seen, d)
        smr = cp.client("sagemaker-runtime")
        body = smr.invoke_endpoint(EndpointName="ep", Body=b"[1]", ContentType="application/json")["Body"].read()
        assert body == b'{"model": "ok", "data": [1]}'

        with urllib.request.urlopen(f"{cp.url}/_orchestrator/health", timeout=10) as reply:
            hosting = json.load(reply)["components"]["sagemaker-hosting"]
        ep = hosting["endpoints"]["ep"]
        assert ep["status"] == "InService" and [v["name"] for v in ep["variants"]] == ["primary"]
        instances = ep["variants"][0]["instances"]
        assert len(instances) == 2 and all(len(i["pids"]) == 1 and i["healthy_workers"] == 1 for i in instances)

        sm.update_endpoint(EndpointName="ep", EndpointConfigName="slow-cfg-1")
        assert sm.describe_endpoint(EndpointName="ep")["EndpointStatus"] == "Updating"
        seen, d = _statuses_until_settled(sm, "ep")
        assert seen == ["Updating", "InService"], (seen, d)

        sm.create_endpoint(EndpointName="bad", EndpointConfigName="broken-cfg")
        assert sm.describe_endpoint(EndpointName="bad")["EndpointStatus"] == "Creating"
        seen, d = _statuses_until_settled(sm, "bad")
        assert seen[-1] == "Failed", (seen, d)
        assert "broken" in d["FailureReason"] and "weights file is corrupt: tensor size mismatch" in d["FailureReason"], d
