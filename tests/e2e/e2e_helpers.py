"""Helpers of the end-to-end tests (importable by name: tests/e2e is on sys.path under pytest)."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrator.config import Environment

SERVING_STACKS = ["model-archive", "model-serving", "api-hosting"]
SEED_SENTENCES = [
    ("The new president has called for an emergency conference for international cooperation.", 1, "World"),
    ("Baseball is one of the most popular sports in the United States.", 2, "Sports"),
    ("Stock investing has higher returns in the long run.", 3, "Business"),
    ("The development of science accelerated the development of mankind.", 4, "Sci/Tech"),
]


def stack_args(stacks: list[str]) -> list[str]:
    return [arg for stack in stacks for arg in ("--stack", stack)]


@dataclass
class Applied:
    """An applied environment and what the tests need to reach it."""

    deployment: Any
    env_file: Path
    env: Environment
    apply_seconds: float

    def ssm(self, key: str, decrypt: bool = False) -> str:
        name = f"{self.env.ssm_prefix}/{key}"
        return str(self.deployment.control_plane.client("ssm").get_parameter(Name=name, WithDecryption=decrypt)["Parameter"]["Value"])

    def client(self, service: str, **kwargs: Any) -> Any:
        return self.deployment.control_plane.client(service, **kwargs)

    def health(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.deployment.control_plane.url}/_orchestrator/health", timeout=10) as reply:
            return dict(json.load(reply))

    def hosting(self) -> dict[str, Any]:
        return dict(self.health()["components"]["sagemaker-hosting"])

    @property
    def runtime_url(self) -> str:
        return str(self.hosting()["runtime_url"])

    def runtime_client(self, read_timeout: float = 30) -> Any:
        import boto3
        from botocore.config import Config

        config = Config(retries={"max_attempts": 1}, connect_timeout=5, read_timeout=read_timeout,
                        max_pool_connections=32)
        return boto3.client("sagemaker-runtime", endpoint_url=self.runtime_url, region_name=self.env.region,
                            aws_access_key_id="test", aws_secret_access_key="test", config=config)

    def flush_data_plane(self) -> None:
        """Publish the data plane's metrics now (they are sent every 60 s) and write buffered capture."""
        req = urllib.request.Request(f"{self.runtime_url}/_dataplane/flush", data=b"{}", method="POST",
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as reply:
            assert reply.status == 200


def wait_for(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.25) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what} (last: {value!r})")
        time.sleep(interval)


