"""Lambda execution as a component of the embedded service.

Spec: ``orchestrator.dataplane.lambdas.component:factory``. On start it

* starts :class:`~orchestrator.dataplane.lambdas.runtime.LambdaRuntime` (loop thread + telemetry),
* claims ``POST /2015-03-31/functions/{name}/invocations`` on the service port (Invoke API),
* subscribes to ``sns.message.published`` (SNS -> Lambda) and to ``lambda.function.code_updated`` /
  ``lambda.function.deleted`` (warm workers retire).

Functions get ``AWS_ENDPOINT_URL`` = the control plane and, once the SageMaker hosting component
publishes its runtime URL in the service health document (``components.sagemaker-hosting.runtime_url``),
``AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME`` = that URL, so unmodified boto3 code reaches both.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from orchestrator.dataplane.lambdas.invoke_api import is_invoke, make_app
from orchestrator.dataplane.lambdas.runtime import LambdaRuntime
from orchestrator.dataplane.lambdas.sns_delivery import SnsDelivery
from orchestrator.dataplane.lambdas.worker_pool import WorkerEnv
from orchestrator.embedded.events import Event
from orchestrator.embedded.service import HEALTH_PATH

log = logging.getLogger(__name__)

SAGEMAKER_COMPONENT = "sagemaker-hosting"
SAGEMAKER_URL_ENV = "ORCHESTRATOR_SAGEMAKER_RUNTIME_URL"  # explicit override (tests, debugging)
RECHECK_S = 5.0


class EndpointResolver:
    """The endpoint URLs a function gets; the SageMaker runtime URL is found lazily and cached.

    Lazily because components start in order inside ``Service.start`` before the HTTP server
    serves, and the SageMaker component may come up after this one or not at all.
    """

    def __init__(self, control_plane_url: str) -> None:
        self.control_plane_url = control_plane_url
        self._env = WorkerEnv(control_plane_url, os.environ.get(SAGEMAKER_URL_ENV) or None)
        self._checked_at = 0.0

    def _fetch_sagemaker_url(self) -> str | None:
        try:
            with urllib.request.urlopen(self.control_plane_url + HEALTH_PATH, timeout=2) as resp:
                health = json.loads(resp.read())
        except (OSError, ValueError):
            return None
        url = (health.get("components", {}).get(SAGEMAKER_COMPONENT) or {}).get("runtime_url")
        return str(url) if url else None

    async def __call__(self) -> WorkerEnv:
        if self._env.sagemaker_runtime_url or time.monotonic() - self._checked_at < RECHECK_S:
            return self._env
        self._checked_at = time.monotonic()
        url = await asyncio.get_running_loop().run_in_executor(None, self._fetch_sagemaker_url)
        if url:
            self._env = WorkerEnv(self.control_plane_url, url)
        return self._env


class LambdaExecutionComponent:
    """Hosts the Lambda runtime next to the control plane (see module docstring)."""

    name = "lambda-execution"

    def __init__(self) -> None:
        self.runtime: LambdaRuntime | None = None
        self.sns: SnsDelivery | None = None
        self._unsubscribe: list[Callable[[], None]] = []

    def start(self, ctx: Any) -> None:
        self.runtime = LambdaRuntime(Path(ctx.state_dir) / "lambda-dataplane", EndpointResolver(ctx.url))
        self.runtime.start()
        self.sns = SnsDelivery(self.runtime)
        ctx.add_route(is_invoke, make_app(self.runtime))
        self._unsubscribe = [
            ctx.events.subscribe("sns.message.published", self.sns),
            ctx.events.subscribe("lambda.function.code_updated", self._retire),
            ctx.events.subscribe("lambda.function.deleted", self._retire),
        ]

    def _retire(self, event: Event) -> None:
        assert self.runtime is not None
        name = str(event.detail.get("function_name") or "")
        self.runtime.retire(name.split(":function:")[-1].split(":")[0])

    def stop(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        if self.runtime is not None:
            self.runtime.stop()

    def health(self) -> dict[str, Any]:
        if self.runtime is None:
            return {"ok": False}
        return {"ok": True, **self.runtime.health(), "sns_deliveries": self.sns.delivered if self.sns else 0}


def factory() -> LambdaExecutionComponent:
    return LambdaExecutionComponent()
