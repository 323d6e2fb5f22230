"""Fixtures for the load tester's tests (helpers live in load_tester_testkit.py)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from moto import mock_aws

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load_tester_testkit import API_KEY, KEY_PARAMETER, NAMESPACE, STAGE, FakeApi, load_handler

FAKE_AWS_ENV = {"AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing"}


@pytest.fixture(autouse=True)
def tester_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "API_URL_BASE", "API_INVOKE_URL", "API_KEY_PARAMETER",
                "HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "MAX_IN_FLIGHT", "TESTER_ID"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "*")
    monkeypatch.setenv("no_proxy", "*")
    for var, value in FAKE_AWS_ENV.items():
        monkeypatch.setenv(var, value)
    monkeypatch.setenv("METRIC_NAMESPACE", NAMESPACE)
    monkeypatch.setenv("STAGE", STAGE)
    monkeypatch.setenv("METRIC_FLUSH_SEC", "10")
    monkeypatch.setenv("STOP_MARGIN_SEC", "0.5")
    monkeypatch.setenv("HTTP_TIMEOUT_SEC", "5")


@pytest.fixture(scope="session")
def shared_clients() -> dict[str, Any]:
    """boto3 clients are slow to build (~0.4 s each, moto resets boto3's default session); moto intercepts
    any client while a mock is active, so the suite builds them once and hands them to each test."""
    module = load_handler()
    module._CLIENTS.clear()
    with pytest.MonkeyPatch.context() as patch, mock_aws():
        for var in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
            patch.delenv(var, raising=False)
        for var, value in FAKE_AWS_ENV.items():
            patch.setenv(var, value)
        return {"ssm": module._client("ssm"), "cloudwatch": module._client("cloudwatch")}


@pytest.fixture
def tester(shared_clients: dict[str, Any]) -> Iterator[ModuleType]:
    module = load_handler()
    import api_key

    module._CLIENTS.clear()
    module._CLIENTS.update(shared_clients)
    api_key.clear_cache()
    yield module
    module._CLIENTS.clear()
    api_key.clear_cache()


@pytest.fixture
def aws(tester: ModuleType, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """moto for SSM + CloudWatch, the key stored as a SecureString, and every PutMetricData call recorded."""
    with mock_aws():
        ssm, cloudwatch = tester._client("ssm"), tester._client("cloudwatch")
        ssm.put_parameter(Name=KEY_PARAMETER, Value=API_KEY, Type="SecureString")
        monkeypatch.setenv("API_KEY_PARAMETER", KEY_PARAMETER)
        calls: list[dict[str, Any]] = []
        ssm_calls: list[dict[str, Any]] = []
        hooks = [
            (cloudwatch, "provide-client-params.cloudwatch.PutMetricData", "test-record-put-metric-data",
             lambda params, **_: calls.append(params)),
            (ssm, "provide-client-params.ssm.GetParameter", "test-record-get-parameter",
             lambda params, **_: ssm_calls.append(params)),
        ]
        for client, event, unique_id, hook in hooks:
            client.meta.events.register(event, hook, unique_id=unique_id)
        try:
            yield {"put_metric_data": calls, "get_parameter": ssm_calls, "cloudwatch": cloudwatch}
        finally:
            for client, event, unique_id, _ in hooks:
                client.meta.events.unregister(event, unique_id=unique_id)


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeApi]:
    fake = FakeApi()
    monkeypatch.setenv("API_URL_BASE", fake.base)
    yield fake
    fake.close()
