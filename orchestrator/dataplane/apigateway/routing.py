"""Find the resource and method a request targets, in moto's API Gateway backend.

Why no route table of our own: the REST API (resources, methods, integrations, stages) lives in
moto and Terraform may change it at any time; the tree of a REST API is a handful of resources, so
walking it per request costs microseconds and is never stale. Matching follows API Gateway: a
literal path part beats a ``{param}`` part, which beats a greedy ``{proxy+}``; a method falls back
to ``ANY``. What API Gateway answers for anything that does not match (unknown API, stage, path or
method) is ``403 {"message": "Missing Authentication Token"}``.

Resources are served as they are now, not as they were at the stage's deployment (moto keeps no
snapshot per deployment): a change is live without a new deployment, unlike AWS.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from orchestrator.dataplane.lambdas.function_config import moto_backend


@dataclass(frozen=True)
class Route:
    """A matched request: everything the gateway needs from the control plane."""

    backend: Any
    api: Any
    stage: Any
    resource: Any
    resource_path: str
    method: Any
    path_parameters: dict[str, str]

    @property
    def integration(self) -> Any:
        return self.method.method_integration


def _children(api: Any) -> tuple[Any, dict[str | None, list[Any]]]:
    root = None
    children: dict[str | None, list[Any]] = {}
    for resource in list(api.resources.values()):
        if resource.parent_id is None:
            root = resource
        children.setdefault(resource.parent_id, []).append(resource)
    return root, children


def _match(
    children: dict[str | None, list[Any]],
    node: Any,
    parts: list[str],
    index: int,
    params: dict[str, str],
    template: list[str],
) -> Any | None:
    """Depth-first match of ``parts[index:]`` below ``node``; fills ``params``/``template``."""
    if index == len(parts):
        return node
    segment = parts[index]
    candidates = children.get(node.id, [])
    for resource in candidates:  # literal first
        part = resource.path_part
        if not part.startswith("{") and part == segment:
            template.append(part)
            found = _match(children, resource, parts, index + 1, params, template)
            if found is not None:
                return found
            template.pop()
    for resource in candidates:  # then {param}
        part = resource.path_part
        if part.startswith("{") and not part.endswith("+}"):
            name = part[1:-1]
            params[name] = segment
            template.append(part)
            found = _match(children, resource, parts, index + 1, params, template)
            if found is not None:
                return found
            template.pop()
            del params[name]
    for resource in candidates:  # then {greedy+}
        part = resource.path_part
        if part.startswith("{") and part.endswith("+}"):
            params[part[1:-2]] = "/".join(parts[index:])
            template.append(part)
            return resource
    return None


def deployed_api_name(account_id: str, region: str, api_id: str, stage_name: str) -> str | None:
    """The name of the API when ``api_id`` has a stage ``stage_name``: a request there that matches no
    route is still the API's (counted in its metrics, as on AWS), unlike one for an unknown API."""
    from moto.apigateway.models import apigateway_backends

    api = moto_backend(apigateway_backends, account_id, region).apis.get(api_id)
    return api.name if api is not None and stage_name in api.stages else None


def resolve(account_id: str, region: str, api_id: str, stage_name: str, http_method: str, path: str) -> Route | None:
    """The route of ``http_method path`` (path below the stage, starting with ``/``), or None."""
    from moto.apigateway.models import apigateway_backends

    backend = moto_backend(apigateway_backends, account_id, region)
    api = backend.apis.get(api_id)
    if api is None:
        return None
    stage = api.stages.get(stage_name)
    if stage is None:
        return None
    root, children = _children(api)
    if root is None:
        return None
    parts = [p for p in path.split("/") if p]
    params: dict[str, str] = {}
    template: list[str] = []
    resource = _match(children, root, parts, 0, params, template)
    if resource is None:
        return None
    methods = resource.resource_methods
    method = methods.get(http_method) or methods.get("ANY")
    if method is None:
        return None
    return Route(backend, api, stage, resource, "/" + "/".join(template), method, params)
