"""The SageMaker hosting data plane as a component of the embedded service (control plane + moto).

Factory spec for `orchestrator.embedded.components`: "orchestrator.dataplane.sagemaker.component:factory".

The data plane runs in a child process of the service (process.DataPlaneProcess; `in_process=True`
hosts it in the service's own process instead). What it does, per the control plane's events (orchestrator.embedded.events):
  * `sagemaker.endpoint.created` / `.updated` -> read the endpoint, its endpoint configuration and
    models from moto's backend (same process; the state is never copied), mark the endpoint
    Creating/Updating, `LocalSageMakerRuntime.apply(spec)`, then write back InService, or Failed
    with the model's FailureReason;
  * `sagemaker.endpoint.deleted` -> `delete(name)` (every worker process stops).
Capture files go to S3 and metrics to CloudWatch of the same control plane (boto3 at ctx.url), and
model archives are fetched from its S3. InvokeEndpoint is served on the runtime's own port
(`health()["runtime_url"]`, for AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME: the fast path) and also on the
control plane's port (a route forwards POST /endpoints/<name>/invocations), so clients configured
with AWS_ENDPOINT_URL alone reach real models too.
"""

from __future__ import annotations

import dataclasses
import functools
import http.client
import logging
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from orchestrator.dataplane.sagemaker.capture import S3CaptureSink
from orchestrator.dataplane.sagemaker.local_runtime import LocalSageMakerRuntime
from orchestrator.dataplane.sagemaker.metrics import CloudWatchMetricsSink
from orchestrator.dataplane.sagemaker.process import DataPlaneProcess, RemoteSageMakerRuntime
from orchestrator.dataplane.sagemaker.spec import EndpointSpec, endpoint_spec_from_api

log = logging.getLogger(__name__)

_FORWARDED = ("CONTENT_TYPE", "HTTP_ACCEPT", "HTTP_X_AMZN_SAGEMAKER_CUSTOM_ATTRIBUTES",
              "HTTP_X_AMZN_SAGEMAKER_TARGET_VARIANT", "HTTP_X_AMZN_SAGEMAKER_INFERENCE_ID")


def _client(service: str, url: str, region: str) -> Any:
    import boto3

    return boto3.client(service, endpoint_url=url, region_name=region, aws_access_key_id="local", aws_secret_access_key="local")


def spec_from_moto(account_id: str, region: str, endpoint_name: str) -> EndpointSpec:
    """An EndpointSpec read from moto's SageMaker backend (API-shaped dicts, as Describe* returns)."""
    from moto.sagemaker.models import sagemaker_backends

    backend = sagemaker_backends[account_id][region]
    endpoint = backend.endpoints[endpoint_name]
    config = backend.endpoint_configs[endpoint.endpoint_config_name]
    models: dict[str, dict[str, Any]] = {}
    for pv in config.production_variants:
        model = backend._models[pv["ModelName"]]
        models[pv["ModelName"]] = {"PrimaryContainer": model.primary_container or {}, "Containers": model.containers}
    # The endpoint's own variants carry what UpdateEndpointWeightsAndCapacities (autoscaling) set since
    # the configuration was applied: the desired instance count and weight win over the initial ones.
    desired = {v.get("VariantName"): v for v in endpoint.production_variants or []}
    variants = []
    for pv in config.production_variants:
        now = desired.get(pv["VariantName"], {})
        variant = dict(pv)
        if now.get("DesiredInstanceCount") is not None:
            variant["InitialInstanceCount"] = now["DesiredInstanceCount"]
        if now.get("DesiredWeight") is not None:
            variant["InitialVariantWeight"] = now["DesiredWeight"]
        variants.append(variant)
    described = {
        "EndpointConfigName": config.endpoint_config_name,
        "ProductionVariants": variants,
        "DataCaptureConfig": config.data_capture_config or None,
    }
    return endpoint_spec_from_api(endpoint_name, described, models)


# Serialises status writes: the CreateEndpoint/UpdateEndpoint wrappers hold it while moto applies the
# call (which queues the event) and the status is set to Creating/Updating, so the component's final
# InService/Failed -- written from another thread -- always lands after it, never before.
_STATUS_LOCK = threading.RLock()
_WRAPPED_MARK = "__sagemaker_hosting_status__"
_active_hosts = 0  # components started in this process; the wrappers are no-ops when none is
# successful Create/UpdateEndpoint calls per (account, region, endpoint): an outcome is written only by
# the apply of the latest call (a slow create finishing after an UpdateEndpoint must not say InService)
_calls: dict[tuple[str, str, str], int] = {}


def _set_status(account_id: str, region: str, name: str, status: str, reason: str | None = None) -> None:
    from moto.sagemaker.models import sagemaker_backends

    with _STATUS_LOCK:
        endpoint = sagemaker_backends[account_id][region].endpoints.get(name)
        if endpoint is not None:
            endpoint.endpoint_status = status
            # moto only ever sets None here, so its inferred type is None; DescribeEndpoint's FailureReason is a string
            endpoint.failure_reason = reason  # type: ignore[assignment]


def install_status_wrappers() -> None:
    """Make moto's CreateEndpoint/UpdateEndpoint(/WeightsAndCapacities) answer like AWS while the data
    plane is hosted.

    AWS: the endpoint is ``Creating`` (``Updating``) when the call returns, then ``InService`` once
    every instance passes its health check, or ``Failed`` with a FailureReason.
    moto 5.2 (and our UpdateEndpoint patch): ``InService`` at once, so a waiter could see InService
    before any model loaded. We: wrap both backend methods (same process as moto) so the endpoint
    leaves the call Creating/Updating; the component writes the outcome when the data plane is done.
    Wrapped once per process, on top of the event bus's observer (which queues the event inside the
    call, under the lock).
    """
    from moto.sagemaker.models import SageMakerModelBackend

    for method, status in (("create_endpoint", "Creating"), ("update_endpoint", "Updating")):
        original = getattr(SageMakerModelBackend, method, None)
        if original is None or getattr(original, _WRAPPED_MARK, False):
            continue

        def wrapper(self: Any, *args: Any, __original: Any = original, __status: str = status, **kwargs: Any) -> Any:
            with _STATUS_LOCK:
                result = __original(self, *args, **kwargs)
                if _active_hosts > 0 and result is not None:
                    result.endpoint_status = __status
                    result.failure_reason = None
                    key = (self.account_id, self.region_name, result.endpoint_name)
                    _calls[key] = _calls.get(key, 0) + 1
                return result

        functools.update_wrapper(wrapper, original)
        setattr(wrapper, _WRAPPED_MARK, True)
        setattr(SageMakerModelBackend, method, wrapper)

    original_scale = SageMakerModelBackend.update_endpoint_weights_and_capacities
    if not getattr(original_scale, _WRAPPED_MARK, False):

        def scale(self: Any, endpoint_name: str, *args: Any, **kwargs: Any) -> Any:
            with _STATUS_LOCK:
                result = original_scale(self, endpoint_name, *args, **kwargs)
                endpoint = self.endpoints.get(endpoint_name)
                if _active_hosts > 0 and endpoint is not None:
                    endpoint.endpoint_status = "Updating"  # until the instances are up (or drained)
                    key = (self.account_id, self.region_name, endpoint_name)
                    _calls[key] = _calls.get(key, 0) + 1
                return result

        functools.update_wrapper(scale, original_scale)
        setattr(scale, _WRAPPED_MARK, True)
        SageMakerModelBackend.update_endpoint_weights_and_capacities = scale  # type: ignore[method-assign]


class SageMakerHostingComponent:
    """Hosts LocalSageMakerRuntime inside the embedded service and follows its endpoint events."""

    name = "sagemaker-hosting"

    def __init__(self, runtime_port: int = 0, in_process: bool = False) -> None:
        self.runtime_port = runtime_port
        self.in_process = in_process
        self.process: DataPlaneProcess | None = None
        self.runtime: LocalSageMakerRuntime | RemoteSageMakerRuntime | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self.errors: list[str] = []
        self._started = False
        self._seen: dict[tuple[str, str, str], int] = {}

    def start(self, ctx: Any) -> None:
        global _active_hosts
        region = "us-east-1"
        work_dir = Path(ctx.state_dir) / "sagemaker-dataplane"
        if self.in_process:
            s3 = _client("s3", ctx.url, region)
            runtime = LocalSageMakerRuntime(
                port=self.runtime_port,
                work_dir=work_dir,
                capture_sink=S3CaptureSink(s3),
                metrics_sink=CloudWatchMetricsSink(_client("cloudwatch", ctx.url, region)),
                fetch_s3=lambda bucket, key, dest: s3.download_file(bucket, key, str(dest)),
            )
            runtime.start()
            self.runtime = runtime
        else:  # default: its own process, so the control plane's threads never hold its GIL
            self.process = DataPlaneProcess.spawn(control_plane_url=ctx.url, work_dir=work_dir, port=self.runtime_port, region=region)
            self.runtime = self.process.client
        install_status_wrappers()
        _active_hosts += 1
        self._started = True
        self._unsubscribe = ctx.events.subscribe("sagemaker.endpoint.*", self.on_event)
        ctx.add_route(self._is_invocation, self._proxy)

    def on_event(self, event: Any) -> None:
        assert self.runtime is not None
        name = event.detail.get("endpoint_name")
        if not name:
            return
        if event.kind == "sagemaker.endpoint.deleted":
            self.runtime.delete(name)
            return
        key = (event.account_id, event.region, name)
        seq = self._seen[key] = self._seen.get(key, 0) + 1

        def outcome(status: str, reason: str | None) -> None:
            with _STATUS_LOCK:  # a later Create/UpdateEndpoint call owns the status now
                if _calls.get(key, seq) <= seq:
                    _set_status(event.account_id, event.region, name, status, reason)

        try:
            spec = spec_from_moto(event.account_id, event.region, name)
            if event.detail.get("capacity_update"):
                spec = dataclasses.replace(spec, in_place=True)
        except KeyError as exc:
            self.errors.append(f"{name}: {exc}")
            outcome("Failed", f"Could not read the endpoint configuration: {exc}")
            return
        # do not hold the event thread while models load (other endpoints, Lambdas wait behind it)
        future = self.runtime.apply_async(spec)

        def done(f: Any) -> None:
            try:
                state = f.result()
            except Exception as exc:
                log.exception("endpoint %s: apply failed", name)
                self.errors.append(f"{name}: {exc}")
                outcome("Failed", f"Internal error of the local data plane: {exc}")
                return
            outcome(state.status, state.failure_reason)

        future.add_done_callback(done)

    def stop(self) -> None:
        global _active_hosts
        if self._started:
            self._started = False
            _active_hosts -= 1
        if self._unsubscribe:
            self._unsubscribe()
        if self.process is not None:
            self.process.stop()
        elif isinstance(self.runtime, LocalSageMakerRuntime):
            self.runtime.stop()

    def health(self) -> dict[str, Any]:
        rt = self.runtime
        alive = self.process is None or self.process.proc.poll() is None
        doc: dict[str, Any] = {"ok": alive and rt is not None and rt.url is not None, "runtime_url": rt.url if rt else None,
                               "pid": self.process.proc.pid if self.process else None, "errors": self.errors[-5:]}
        if rt is not None and alive:
            try:  # endpoints -> variants -> instances (worker pids, health): `orchestrator local status`
                doc["endpoints"] = rt.status_document()
            except Exception as exc:  # noqa: BLE001 - a slow data plane must not fail the health probe
                doc["endpoints_error"] = f"{type(exc).__name__}: {exc}"
        return doc

    # -- InvokeEndpoint on the control plane's port -----------------------------------------------
    @staticmethod
    def _is_invocation(environ: dict[str, Any]) -> bool:
        path = environ.get("PATH_INFO", "")
        return environ.get("REQUEST_METHOD") == "POST" and path.startswith("/endpoints/") and path.endswith("/invocations")

    def _proxy(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        assert self.runtime is not None and self.runtime.url is not None
        target = urlsplit(self.runtime.url)
        assert target.hostname is not None, self.runtime.url
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        headers = {k[5:].replace("_", "-").title() if k.startswith("HTTP_") else "Content-Type": environ[k] for k in _FORWARDED if k in environ}
        conn = http.client.HTTPConnection(target.hostname, target.port, timeout=90)
        try:
            conn.request("POST", environ.get("PATH_INFO", ""), body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            start_response(f"{resp.status} {resp.reason}", [(k, v) for k, v in resp.getheaders() if k.lower() not in ("connection", "transfer-encoding")])
            return [data]
        finally:
            conn.close()


def factory() -> SageMakerHostingComponent:
    return SageMakerHostingComponent()
