"""A stage serves what its deployment captured: changes to methods and integrations are live only once
a new deployment reaches the stage (CreateDeployment with the stage, or UpdateStage /deploymentId)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

from orchestrator.embedded.testing import ControlPlane

from .helpers import lambda_proxy_uri, put_proxy_method
from .test_api_gateway import PROXY, fast_base_url, make_api, request

pytestmark = pytest.mark.timeout(60)

WHO = """
import json
import os


def handler(event, context):
    return {"statusCode": 200, "body": json.dumps({"who": os.environ["WHO"], "path": event["path"]})}
"""
MISSING = (403, {"message": "Missing Authentication Token"})


def lambda_uri(control_plane: ControlPlane, function_name: str) -> str:
    arn = control_plane.client("lambda").get_function(FunctionName=function_name)["Configuration"]["FunctionArn"]
    return lambda_proxy_uri(arn)


def add_route(apigw: Any, api_id: str, parent_id: str, path_part: str, method: str, uri: str) -> str:
    """A resource ``path_part`` below ``parent_id`` with ``method`` (no API key) -> ``uri``; its id."""
    resource = apigw.create_resource(restApiId=api_id, parentId=parent_id, pathPart=path_part)["id"]
    put_proxy_method(apigw, api_id, resource, method, uri)
    return str(resource)


def switch(apigw: Any, api_id: str, stage: str, deployment_id: str) -> None:
    apigw.update_stage(
        restApiId=api_id,
        stageName=stage,
        patchOperations=[{"op": "replace", "path": "/deploymentId", "value": deployment_id}],
    )


def test_a_method_added_after_the_deployment_is_served_once_redeployed(
    control_plane: ControlPlane, deploy: Callable[..., str]
) -> None:
    api = make_api(control_plane, deploy({"app.py": PROXY}))
    apigw = control_plane.client("apigateway")
    resource = next(r["id"] for r in apigw.get_resources(restApiId=api.api_id)["items"] if r["path"] == "/text")
    put_proxy_method(apigw, api.api_id, resource, "GET", lambda_uri(control_plane, deploy({"app.py": PROXY})))

    assert request(api.fast_url, method="GET")[::2] == MISSING  # not deployed yet
    assert request(api.control_url, method="GET")[::2] == MISSING  # the control plane's port serves the same
    apigw.create_deployment(restApiId=api.api_id, stageName=api.stage)
    status, _, body = request(api.fast_url, method="GET")
    assert (status, body["event"]["httpMethod"]) == (201, "GET")
    assert request(api.fast_url, {}, {"x-api-key": api.key})[0] == 201  # what was deployed before still is


def test_an_integration_changed_after_the_deployment_keeps_its_old_target_until_redeployed(
    control_plane: ControlPlane, deploy: Callable[..., str]
) -> None:
    """Terraform's way: a deployment without a stage, then the stage moved to it (UpdateStage)."""
    old, new = deploy({"app.py": WHO}, env={"WHO": "old"}), deploy({"app.py": WHO}, env={"WHO": "new"})
    apigw = control_plane.client("apigateway")
    api_id = apigw.create_rest_api(name=f"swap-{uuid.uuid4().hex[:8]}")["id"]
    root = next(r["id"] for r in apigw.get_resources(restApiId=api_id)["items"] if r["path"] == "/")
    resource = add_route(apigw, api_id, root, "who", "GET", lambda_uri(control_plane, old))
    first = apigw.create_deployment(restApiId=api_id)["id"]
    apigw.create_stage(restApiId=api_id, stageName="live", deploymentId=first)
    url = fast_base_url(control_plane) + f"/restapis/{api_id}/live/_user_request_/who"
    assert request(url, method="GET")[::2] == (200, {"who": "old", "path": "/who"})

    put_proxy_method(apigw, api_id, resource, "GET", lambda_uri(control_plane, new))  # PutIntegration replaces it
    assert apigw.get_integration(restApiId=api_id, resourceId=resource, httpMethod="GET")["uri"].endswith(
        f":function:{new}/invocations"
    )
    assert request(url, method="GET")[::2] == (200, {"who": "old", "path": "/who"})
    second = apigw.create_deployment(restApiId=api_id)["id"]
    assert request(url, method="GET")[::2] == (200, {"who": "old", "path": "/who"})  # not on the stage yet
    switch(apigw, api_id, "live", second)
    assert request(url, method="GET")[::2] == (200, {"who": "new", "path": "/who"})


def test_a_stage_serves_the_deployment_it_points_to(control_plane: ControlPlane, deploy: Callable[..., str]) -> None:
    """Two stages, two deployments: each stage serves its own; moving a stage back and forth switches what
    it serves; a deployment a stage still uses cannot be deleted."""
    uri = lambda_uri(control_plane, deploy({"app.py": WHO}, env={"WHO": "fn"}))
    apigw = control_plane.client("apigateway")
    api_id = apigw.create_rest_api(name=f"stages-{uuid.uuid4().hex[:8]}")["id"]
    root = next(r["id"] for r in apigw.get_resources(restApiId=api_id)["items"] if r["path"] == "/")
    add_route(apigw, api_id, root, "one", "GET", uri)
    v1 = apigw.create_deployment(restApiId=api_id)["id"]
    add_route(apigw, api_id, root, "two", "GET", uri)
    v2 = apigw.create_deployment(restApiId=api_id)["id"]
    apigw.create_stage(restApiId=api_id, stageName="blue", deploymentId=v1)
    apigw.create_stage(restApiId=api_id, stageName="green", deploymentId=v2)
    base = fast_base_url(control_plane) + f"/restapis/{api_id}"

    def status(stage: str, path: str) -> int:
        return request(f"{base}/{stage}/_user_request_/{path}", method="GET")[0]

    assert [status("blue", "one"), status("blue", "two")] == [200, 403]
    assert [status("green", "one"), status("green", "two")] == [200, 200]
    switch(apigw, api_id, "blue", v2)
    assert status("blue", "two") == 200
    switch(apigw, api_id, "blue", v1)
    assert status("blue", "two") == 403

    with pytest.raises(apigw.exceptions.BadRequestException, match="Active stages"):
        apigw.delete_deployment(restApiId=api_id, deploymentId=v1)
    switch(apigw, api_id, "blue", v2)
    apigw.delete_deployment(restApiId=api_id, deploymentId=v1)
    assert [status("blue", "two"), status("green", "two")] == [200, 200]
