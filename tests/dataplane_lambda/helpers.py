"""Helpers of the Lambda / API Gateway data-plane tests (zips, invoke, polling, logs)."""

from __future__ import annotations

import io
import json
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from orchestrator.embedded.testing import ControlPlane

COMPONENTS = [
    "orchestrator.dataplane.lambdas.component:factory",
    "orchestrator.dataplane.apigateway.component:factory",
]
ROLE_NAME = "lambda-role"
ROLE = f"arn:aws:iam::123456789012:role/{ROLE_NAME}"
TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


def create_role(control_plane: ControlPlane) -> str:
    """The execution role every test function uses (moto checks that Lambda may assume it)."""
    control_plane.client("iam").create_role(RoleName=ROLE_NAME, AssumeRolePolicyDocument=json.dumps(TRUST))
    return ROLE


def make_zip(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def invoke(lambda_client: Any, name: str, event: Any = None, **kwargs: Any) -> tuple[dict[str, Any], Any]:
    """Invoke synchronously; returns (response metadata, decoded payload)."""
    response = lambda_client.invoke(FunctionName=name, Payload=json.dumps(event or {}).encode(), **kwargs)
    body = response["Payload"].read()
    return response, json.loads(body) if body else None


def wait_for(predicate: Callable[[], Any], timeout: float = 10.0, interval: float = 0.2) -> Any:
    """Poll ``predicate`` until it returns something truthy (returned), or fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(interval)


def log_messages(control_plane: ControlPlane, function_name: str) -> list[str]:
    logs = control_plane.client("logs")
    group = f"/aws/lambda/{function_name}"
    try:
        streams = logs.describe_log_streams(logGroupName=group)["logStreams"]
    except logs.exceptions.ResourceNotFoundException:
        return []
    messages: list[str] = []
    for stream in streams:
        events = logs.get_log_events(logGroupName=group, logStreamName=stream["logStreamName"], startFromHead=True)
        messages += [e["message"] for e in events["events"]]
    return messages


def metric_total(
    control_plane: ControlPlane,
    namespace: str,
    metric: str,
    dims: dict[str, str],
    statistic: str = "Sum",
    unit: str | None = None,
) -> float:
    """``statistic`` of ``metric`` (recorded with ``unit``, if given) over the last few minutes, summed
    over its datapoints (0 if none)."""
    now = datetime.now(UTC)
    points = control_plane.client("cloudwatch").get_metric_statistics(
        Namespace=namespace,
        MetricName=metric,
        Dimensions=[{"Name": k, "Value": v} for k, v in dims.items()],
        StartTime=now - timedelta(minutes=5),
        EndTime=now + timedelta(minutes=5),
        Period=600,
        Statistics=[statistic],
        **({"Unit": unit} if unit else {}),
    )["Datapoints"]
    return float(sum(p[statistic] for p in points))


@dataclass
class InProcessLambda:
    """A LambdaRuntime in this process (so tests can patch its constants) on moto's in-process backends
    (``in_process_lambda`` fixture); the clients are boto3's, served by ``mock_aws``."""

    runtime: Any
    client: Any
    role: str
    sqs: Any
    sns: Any

    def create(self, name: str, source: str, timeout: int = 3, **extra: Any) -> str:
        """Create ``name`` from ``source`` (``app.py``); returns its ARN."""
        return str(
            self.client.create_function(FunctionName=name, Runtime="python3.11", Role=self.role,
                                        Handler="app.handler", Code={"ZipFile": make_zip({"app.py": source})},
                                        Timeout=timeout, **extra)["FunctionArn"]
        )

    def queue(self, name: str) -> tuple[str, str]:
        """A new SQS queue: ``(url, arn)``."""
        url = self.sqs.create_queue(QueueName=name)["QueueUrl"]
        return url, self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]

    def messages(self, url: str, count: int = 1, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Wait for ``count`` messages of the queue (with their message attributes) and return them."""
        received: list[dict[str, Any]] = []

        def enough() -> bool:
            received.extend(
                self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"])
                .get("Messages", [])
            )
            return len(received) >= count

        wait_for(enough, timeout=timeout, interval=0.05)
        return received


def lambda_proxy_uri(function_arn: str, region: str = "us-east-1") -> str:
    return f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{function_arn}/invocations"


def put_proxy_method(apigw: Any, api_id: str, resource_id: str, method: str, uri: str, *,
                     key_required: bool = False, **integration: Any) -> None:
    """A method with no authorizer and its AWS_PROXY integration (what the api-hosting module makes)."""
    apigw.put_method(restApiId=api_id, resourceId=resource_id, httpMethod=method, authorizationType="NONE",
                     apiKeyRequired=key_required)
    apigw.put_integration(restApiId=api_id, resourceId=resource_id, httpMethod=method, type="AWS_PROXY",
                          integrationHttpMethod="POST", uri=uri, **integration)
