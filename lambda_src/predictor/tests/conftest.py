"""Fixtures for the predictor Lambda's tests (helpers live in predictor_testkit.py)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import boto3
import pytest
from botocore.stub import Stubber

sys.path.insert(0, str(Path(__file__).resolve().parent))
from predictor_testkit import ENDPOINT, load_handler


@pytest.fixture(autouse=True)
def predictor_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", "AWS_PROFILE", "MAX_BATCH",
                "MAX_BODY_BYTES", "SAGEMAKER_READ_TIMEOUT_SEC", "SAGEMAKER_MAX_ATTEMPTS", "AWS_MAX_ATTEMPTS",
                "AWS_RETRY_MODE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("SAGEMAKER_ENDPOINT", ENDPOINT)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("LOG_LEVEL", "INFO")


@pytest.fixture
def predictor() -> Iterator[ModuleType]:
    module = load_handler()
    import sm_runtime

    sm_runtime._CLIENT = None
    yield module
    sm_runtime._CLIENT = None


@pytest.fixture
def stub(predictor: ModuleType) -> Iterator[Stubber]:
    """A real sagemaker-runtime client with a Stubber, installed as the container's cached client."""
    import sm_runtime

    client = boto3.client("sagemaker-runtime", region_name="us-east-1")
    stubber = Stubber(client)
    stubber.activate()
    sm_runtime._CLIENT = client
    yield stubber
    stubber.deactivate()


