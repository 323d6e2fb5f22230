"""One embedded service (control plane + Lambda + API Gateway data planes) for this directory.

Starting the service costs seconds, so the tests share one per session; each test deploys
functions and APIs under its own names. Tests that patch the runtime's constants use
``in_process_lambda`` instead: a runtime in the test's process on moto's in-process backends.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from orchestrator.dataplane.lambdas.component import SAGEMAKER_URL_ENV
from orchestrator.embedded.testing import ControlPlane, running_control_plane

from .helpers import COMPONENTS, ROLE, InProcessLambda, create_role, make_zip

SAGEMAKER_RUNTIME_URL = "http://127.0.0.1:9/stand-in-sagemaker-runtime"
# In the service's own environment only: functions must not see it (see the env test).
SERVICE_ONLY_VARIABLE = ("SERVICE_SECRET", "not-for-functions")


@pytest.fixture(scope="session")
def control_plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    # The SageMaker component is not hosted here; its advertised URL is stood in for by the override.
    # The override (and a variable only the service should see) is set only while the service process
    # starts (it inherits them), never for the rest of the session: other suites' services must find
    # the real runtime.
    overrides = {SAGEMAKER_URL_ENV: SAGEMAKER_RUNTIME_URL, SERVICE_ONLY_VARIABLE[0]: SERVICE_ONLY_VARIABLE[1]}
    with ExitStack() as stack:
        saved = {name: os.environ.get(name) for name in overrides}
        os.environ.update(overrides)
        try:
            cp = stack.enter_context(running_control_plane(tmp_path_factory.mktemp("lambda-dp"), components=COMPONENTS))
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
        yield cp


@pytest.fixture(scope="session")
def lambda_client(control_plane: ControlPlane) -> Any:
    create_role(control_plane)
    return control_plane.client("lambda")


@pytest.fixture()
def deploy(lambda_client: Any) -> Callable[..., str]:
    """Create a function from ``{file: source}``; returns its (unique) name."""

    def create(
        files: dict[str, str],
        *,
        handler: str = "app.handler",
        timeout: int = 3,
        env: dict[str, str] | None = None,
        name: str | None = None,
        **extra: Any,
    ) -> str:
        function_name = name or f"fn-{uuid.uuid4().hex[:10]}"
        lambda_client.create_function(
            FunctionName=function_name,
            Runtime="python3.11",
            Role=ROLE,
            Handler=handler,
            Code={"ZipFile": make_zip(files)},
            Timeout=timeout,
            Environment={"Variables": env or {}},
            **extra,
        )
        return function_name

    return create


@pytest.fixture
def in_process_lambda(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[InProcessLambda]:
    import boto3
    from moto import mock_aws

    from orchestrator.dataplane.lambdas.runtime import LambdaRuntime
    from orchestrator.dataplane.lambdas.worker_pool import WorkerEnv
    from orchestrator.embedded import moto_compat

    # What the runtime reads of the control plane beyond moto's own model (the service applies all).
    moto_compat.apply(moto_compat.patch_lambda_event_invoke_config_per_qualifier,
                      moto_compat.patch_lambda_dead_letter_config)
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(key, value)

    async def worker_env() -> WorkerEnv:
        return WorkerEnv("http://127.0.0.1:9")

    with mock_aws():
        role = boto3.client("iam").create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        rt = LambdaRuntime(tmp_path / "runtime", worker_env, flush_interval=3600)  # metrics stay in the buffer
        rt.start()
        try:
            yield InProcessLambda(rt, boto3.client("lambda"), role, boto3.client("sqs"), boto3.client("sns"))
        finally:
            rt.stop()
