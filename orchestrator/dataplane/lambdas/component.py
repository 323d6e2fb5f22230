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
import threading
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
RESOLVE_TIMEOUT_S = 30.0  # the SageMaker component starts its runtime within this


class EndpointResolver:
    """The endpoint URLs a function gets; the SageMaker runtime URL is read from the health document.

    Components start in order inside ``Service.start``, before the HTTP server serves, and the
    SageMaker component may come after this one or not be hosted at all; so a background thread
    polls ``/_orchestrator/health`` (it answers once the server serves) until the document either
    advertises ``components.sagemaker-hosting.runtime_url`` or shows no such component. Invocations
    before that wait for the answer (bounded), so workers never start with an endpoint that is about
    to change: a change retires every warm worker of every function.
    """

    def __init__(self, control_plane_url: str) -> None:
        self.control_plane_url = control_plane_url
        override = os.environ.get(SAGEMAKER_URL_ENV) or None
        self._env = WorkerEnv(control_plane_url, override)
        self._settled = threading.Event()
        if override:
            self._settled.set()
        self._stop = threading.Event()

    def start(self) -> None:
        if not self._settled.is_set():
            threading.Thread(target=self._poll, name="lambda-endpoint-resolver", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()

    def _poll(self) -> None:
        deadline = time.monotonic() + RESOLVE_TIMEOUT_S
        while not self._stop.is_set() and time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.control_plane_url + HEALTH_PATH, timeout=5) as resp:
                    components = json.loads(resp.read()).get("components", {})
            except (OSError, ValueError):
                components = None
            if components is not None:
                url = (components.get(SAGEMAKER_COMPONENT) or {}).get("runtime_url")
                if url:
                    self._env = WorkerEnv(self.control_plane_url, str(url))
                    break
                if SAGEMAKER_COMPONENT not in components:
                    break  # not hosted: functions reach SageMaker through the control plane's URL
            self._stop.wait(0.5)
        self._settled.set()

    @property
    def current(self) -> WorkerEnv:
        return self._env

    async def __call__(self) -> WorkerEnv:
        if not self._settled.is_set():
            await asyncio.get_running_loop().run_in_executor(None, self._settled.wait, RESOLVE_TIMEOUT_S)
        return self._env


class LambdaExecutionComponent:
    """Hosts the Lambda runtime next to the control plane (see module docstring)."""

    name = "lambda-execution"

    def __init__(self) -> None:
        self.runtime: LambdaRuntime | None = None
        self.resolver: EndpointResolver | None = None
        self.sns: SnsDelivery | None = None
        self._unsubscribe: list[Callable[[], None]] = []

    def start(self, ctx: Any) -> None:
        self.resolver = EndpointResolver(ctx.url)
        self.runtime = LambdaRuntime(Path(ctx.state_dir) / "lambda-dataplane", self.resolver)
        self.runtime.start()
        self.resolver.start()
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
        if self.resolver is not None:
            self.resolver.stop()
        if self.runtime is not None:
            self.runtime.stop()

    def health(self) -> dict[str, Any]:
        if self.runtime is None:
            return {"ok": False}
        return {
            "ok": True,
            **self.runtime.health(),
            "sns_deliveries": self.sns.delivered if self.sns else 0,
            "sagemaker_runtime_url": self.resolver.current.sagemaker_runtime_url if self.resolver else None,
        }


def factory() -> LambdaExecutionComponent:
    return LambdaExecutionComponent()
