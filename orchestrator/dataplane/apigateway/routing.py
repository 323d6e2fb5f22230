"""Find the stage, resource and method a request targets, in what the stage's deployment captured.

A stage serves the snapshot its deployment took of the API (resources, methods, integrations), as
on AWS: a method added or an integration changed after ``CreateDeployment`` is not live until a new
deployment reaches the stage (``CreateDeployment`` with the stage name, or ``UpdateStage``
``/deploymentId``). The snapshot is taken inside the control plane when moto creates the deployment
(:func:`orchestrator.embedded.moto_compat.patch_apigateway_deployment_snapshots`); what is read
live per request is only what AWS does not deploy: the stage itself (variables, access log
settings, its ``deploymentId``), keys and usage plans.

Why an index of our own per deployment: a snapshot never changes, so its tree (children per parent)
is built once, on the first request that needs it, and kept as long as the deployment exists (a
weak reference to moto's deployment object); a request then costs a few dict lookups and no copy.
Matching follows API Gateway: a literal path part beats a ``{param}`` part, which beats a greedy
``{proxy+}``; a method falls back to ``ANY``. What API Gateway answers for anything that does not
match (unknown API, stage, path or method) is ``403 {"message": "Missing Authentication Token"}``.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from orchestrator.dataplane.lambdas.function_config import moto_backend
from orchestrator.embedded.moto_compat import deployment_snapshot

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RouteTree:
    """The resources of one deployment's snapshot: the root and the children of every resource."""

    root: Any
    children: dict[str | None, list[Any]]


EMPTY_TREE = RouteTree(None, {})
_TREES: weakref.WeakKeyDictionary[Any, RouteTree] = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class DeployedStage:
    """A stage of an API and the tree of the deployment it serves (empty if that deployment is gone)."""

    backend: Any
    api: Any
    stage: Any
    tree: RouteTree


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


def index_tree(resources: Iterable[Any]) -> RouteTree:
    """The tree of ``resources`` (objects with ``id``, ``parent_id``, ``path_part``)."""
    root = None
    children: dict[str | None, list[Any]] = {}
    for resource in resources:
        if resource.parent_id is None:
            root = resource
        children.setdefault(resource.parent_id, []).append(resource)
    return RouteTree(root, children)


def route_tree(deployment: Any) -> RouteTree:
    """The (cached) tree of ``deployment``'s snapshot; empty for a deployment without one."""
    tree = _TREES.get(deployment)
    if tree is None:
        resources = deployment_snapshot(deployment)
        if resources is None:
            log.warning("deployment %s has no snapshot of its API: it serves nothing", deployment.id)
            tree = EMPTY_TREE
        else:
            tree = index_tree(resources.values())
        _TREES[deployment] = tree
    return tree


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


def find_stage(account_id: str, region: str, api_id: str, stage_name: str) -> DeployedStage | None:
    """The stage ``stage_name`` of ``api_id`` with its deployment's tree, or None if there is no such
    API or stage (a request there belongs to no API: no metrics, no access log)."""
    from moto.apigateway.models import apigateway_backends

    backend = moto_backend(apigateway_backends, account_id, region)
    api = backend.apis.get(api_id)
    if api is None:
        return None
    stage = api.stages.get(stage_name)
    if stage is None:
        return None
    deployment = api.deployments.get(stage.deployment_id) if stage.deployment_id else None
    return DeployedStage(backend, api, stage, route_tree(deployment) if deployment is not None else EMPTY_TREE)


def resolve(deployed: DeployedStage, http_method: str, path: str) -> Route | None:
    """The route of ``http_method path`` (path below the stage, starting with ``/``) in what the stage
    serves, or None."""
    tree = deployed.tree
    if tree.root is None:
        return None
    parts = [p for p in path.split("/") if p]
    params: dict[str, str] = {}
    template: list[str] = []
    resource = _match(tree.children, tree.root, parts, 0, params, template)
    if resource is None:
        return None
    methods = resource.resource_methods
    method = methods.get(http_method) or methods.get("ANY")
    if method is None:
        return None
    return Route(deployed.backend, deployed.api, deployed.stage, resource, "/" + "/".join(template), method, params)
