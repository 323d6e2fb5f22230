"""Where a load test sends its requests, and how they are authenticated.

Small seams, each a function: :func:`api_target` (the API's invoke URL and key, from SSM),
:func:`runtime_url` (the SageMaker runtime) and :func:`fast_local_url` (on the embedded target, the
data plane's own ports instead of the control plane's WSGI port). ``--url`` (+ ``--api-key-env VAR``)
overrides them all, so the generator can be pointed at anything without an applied environment.

Runtime URL resolution, first hit wins: ``--url`` > ``AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME`` > the SSM
parameter ``<ssm_prefix>/model-serving/runtime_url`` > embedded: the ``runtime_url`` the data plane
publishes in the service health document (``GET <control plane>/_orchestrator/health``,
``components.sagemaker-hosting``), else the control plane's own port (it routes InvokeEndpoint too)
> AWS: ``https://runtime.sagemaker.<region>.amazonaws.com``.
"""

from __future__ import annotations

import json
import os
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials, ReadOnlyCredentials

from orchestrator.errors import OrchestratorError, UsageError
from orchestrator.loadtest.cases import Case
from orchestrator.loadtest.wire import Target, parse_url, render_request

RUNTIME_ENV_VAR = "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME"
HEALTH_PATH = "/_orchestrator/health"
SAGEMAKER_COMPONENT = "sagemaker-hosting"
APIGATEWAY_COMPONENT = "apigateway-execution"
SIGNATURE_REFRESH_SEC = 60.0  # SigV4 signatures are accepted for 5 minutes
API_VARIANT_HEADER = "X-Target-Variant"  # the predictor Lambda's header
RUNTIME_VARIANT_HEADER = "X-Amzn-SageMaker-Target-Variant"

# get(name, decrypt) -> value or None: an SSM lookup, injectable in tests.
ParameterGetter = Callable[[str, bool], str | None]


@dataclass(frozen=True)
class Signer:
    """SigV4 for the SageMaker runtime (service name ``sagemaker``)."""

    credentials: ReadOnlyCredentials
    region: str

    def headers(self, url: str, body: bytes, headers: Mapping[str, str]) -> dict[str, str]:
        request = AWSRequest(method="POST", url=url, data=body, headers=dict(headers))
        creds = Credentials(self.credentials.access_key, self.credentials.secret_key, self.credentials.token)
        SigV4Auth(creds, "sagemaker", self.region).add_auth(request)
        return {k: v for k, v in request.headers.items()}


def ssm_getter(env_data: dict[str, Any]) -> ParameterGetter:
    from orchestrator import aws_clients

    ssm = aws_clients.client(env_data, "ssm")

    def get(name: str, decrypt: bool) -> str | None:
        try:
            return ssm.get_parameter(Name=name, WithDecryption=decrypt)["Parameter"]["Value"]
        except ssm.exceptions.ParameterNotFound:
            return None

    return get


def api_target(ssm_prefix: str, get: ParameterGetter) -> tuple[str, str | None]:
    """(invoke URL, API key) published by the api-hosting stack."""
    url = get(f"{ssm_prefix}/api-hosting/invoke_url", False)
    if not url:
        raise OrchestratorError(
            f"{ssm_prefix}/api-hosting/invoke_url is not published: apply the api-hosting stack first, or pass --url"
        )
    return url, get(f"{ssm_prefix}/api-hosting/api_key", True)


def service_health(control_plane: str, timeout: float = 2.0) -> dict[str, Any]:
    """The embedded service's health document ({} when it does not answer)."""
    try:
        with urllib.request.urlopen(control_plane.rstrip("/") + HEALTH_PATH, timeout=timeout) as reply:
            doc = json.loads(reply.read())
    except (OSError, ValueError):
        return {}
    return doc if isinstance(doc, dict) else {}


def _component(health: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    found = (health.get("components") or {}).get(name)
    return found if isinstance(found, dict) else {}


def fast_local_url(invoke_url: str, control_plane: str, health: Mapping[str, Any]) -> str:
    """An API invoke URL on the control plane's port, moved to the API data plane's fast port when the
    health document advertises one (same path: ``/restapis/<api>/<stage>/_user_request_/...``)."""
    base = _component(health, APIGATEWAY_COMPONENT).get("invoke_base_url")
    prefix = control_plane.rstrip("/")
    if isinstance(base, str) and base and invoke_url.startswith(prefix + "/"):
        return base.rstrip("/") + invoke_url[len(prefix) :]
    return invoke_url


def runtime_url(
    *,
    ssm_prefix: str,
    region: str,
    embedded: bool,
    get: ParameterGetter | None,
    environ: Mapping[str, str] = os.environ,
    control_plane: str | None = None,
    health: Mapping[str, Any] | None = None,
) -> str:
    """Base URL of the SageMaker runtime for an environment (see the module docstring for the order).

    ``control_plane``/``health``: the embedded service's URL and health document, when embedded."""
    if environ.get(RUNTIME_ENV_VAR):
        return environ[RUNTIME_ENV_VAR].rstrip("/")
    published = get(f"{ssm_prefix}/model-serving/runtime_url", False) if get else None
    if published:
        return published.rstrip("/")
    if embedded and control_plane:
        published_rt = _component(health or {}, SAGEMAKER_COMPONENT).get("runtime_url")
        return str(published_rt).rstrip("/") if published_rt else control_plane.rstrip("/")
    if embedded:
        raise OrchestratorError(
            f"no SageMaker runtime URL for this local environment: set {RUNTIME_ENV_VAR} or pass --url"
        )
    return f"https://runtime.sagemaker.{region}.amazonaws.com"


def invocations_url(runtime: str, endpoint_name: str) -> str:
    return f"{runtime.rstrip('/')}/endpoints/{quote(endpoint_name, safe='')}/invocations"


def build_target(
    url: str,
    cases: list[Case],
    *,
    kind: str,
    api_key: str | None = None,
    variant: str | None = None,
    signer: Signer | None = None,
) -> Target:
    """An engine target whose requests are rendered once (and re-signed every minute for SigV4)."""
    try:
        parsed = parse_url(url)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if signer is not None and kind != "endpoint":
        raise UsageError("SigV4 signing applies to --target endpoint only")

    def render() -> list[bytes]:
        out = []
        for case in cases:
            headers = {"Content-Type": case.content_type, "Accept": "application/json"}
            if api_key:
                headers["x-api-key"] = api_key
            if variant:
                headers[API_VARIANT_HEADER if kind == "api" else RUNTIME_VARIANT_HEADER] = variant
            if signer is not None:
                headers = signer.headers(url, case.body, headers)
            out.append(render_request(parsed, case.body, headers))
        return out

    return Target(
        url=url,
        render=render,
        case_names=[c.name for c in cases],
        expected=[c.expected for c in cases],
        refresh_sec=SIGNATURE_REFRESH_SEC if signer else None,
        kind=kind,
        description=f"{kind} {url}",
    )
