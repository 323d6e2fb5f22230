"""The embedded service: one process, one loopback port, pluggable components.

Why this shape: ``apply --env local`` needs an AWS control plane (moto) now and a data plane
(model servers, Lambda runner, API router) later, all reachable the way AWS clients expect. The
:class:`Service` owns the HTTP port and the event bus; the control plane (moto, patched) answers
every request that no component claimed; components are started in order, may claim requests on the
same port (``ServiceContext.add_route``, e.g. SageMaker runtime ``/endpoints/<name>/invocations``)
and subscribe to control-plane events (``ServiceContext.events``). The control plane knows nothing
about what components do with either — in particular it never imports torch.

A component is any object with ``name``, ``start(ctx)``, ``stop()`` and ``health() -> dict``
(:class:`Component`). The server entry point loads components from ``module:factory`` specs, where
``factory()`` returns the component (see :mod:`orchestrator.embedded.components`).
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from orchestrator.embedded.events import EventBus

log = logging.getLogger(__name__)

SERVICE_NAME = "orchestrator-embedded"
HEALTH_PATH = "/_orchestrator/health"

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
WSGIApp = Callable[[Environ, StartResponse], Iterable[bytes]]
RouteMatcher = Callable[[Environ], bool]


@runtime_checkable
class Component(Protocol):
    """Something hosted by the service next to the control plane (e.g. the model-server runtime)."""

    name: str

    def start(self, ctx: ServiceContext) -> None:
        """Start serving; subscribe to events and add routes here. Must return promptly."""

    def stop(self) -> None:
        """Release threads, subprocesses and ports; called once, in reverse start order."""

    def health(self) -> dict[str, Any]:
        """Small JSON-able status for ``/_orchestrator/health`` (``{"ok": True, ...}``)."""


@dataclass
class ServiceContext:
    """What a component gets: where the service runs, the event bus, and a way to claim requests."""

    host: str
    port: int
    state_dir: Path
    events: EventBus
    _routes: list[tuple[RouteMatcher, WSGIApp]] = field(default_factory=list)

    @property
    def url(self) -> str:
        """Base URL of the control plane (AWS SDKs/Terraform use it as the endpoint URL)."""
        return f"http://{self.host}:{self.port}"

    def add_route(self, matches: RouteMatcher, app: WSGIApp) -> None:
        """Send requests for which ``matches(environ)`` is true to ``app`` instead of moto."""
        self._routes.append((matches, app))

    def route_for(self, environ: Environ) -> WSGIApp | None:
        for matches, app in self._routes:
            try:
                if matches(environ):
                    return app
            except Exception:
                log.exception("route matcher %r failed", matches)
        return None


class Service:
    """Control plane (patched moto WSGI app) + components, behind one WSGI callable."""

    def __init__(self, host: str, port: int, state_dir: Path, components: Iterable[Component] = ()) -> None:
        self.ctx = ServiceContext(host=host, port=port, state_dir=state_dir, events=EventBus())
        self.components: list[Component] = list(components)
        self.started_at = time.time()
        self._moto_app: WSGIApp | None = None
        self._started: list[Component] = []
        self._lock = threading.Lock()

    # -- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> None:
        """Patch and load moto, hook the event bus, then start the components in order."""
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

        from orchestrator.embedded import events, moto_compat

        moto_compat.apply_all()
        events.install(self.ctx.events)
        self._moto_app = DomainDispatcherApplication(create_backend_app)
        for component in self.components:
            log.info("starting component %s", component.name)
            component.start(self.ctx)
            self._started.append(component)

    def stop(self) -> None:
        """Stop components in reverse order, then drain the event bus."""
        from orchestrator.embedded import events

        with self._lock:
            started, self._started = self._started, []
        for component in reversed(started):
            try:
                component.stop()
            except Exception:
                log.exception("component %s failed to stop", component.name)
        events.uninstall()
        self.ctx.events.close()

    # -- HTTP --------------------------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        """What ``GET /_orchestrator/health`` answers; ``process.status`` relies on ``service``/``pid``."""
        from orchestrator.embedded import moto_compat

        comps: dict[str, Any] = {}
        for component in self._started:
            try:
                comps[component.name] = component.health()
            except Exception as exc:  # noqa: BLE001 - report a broken component, do not fail the probe
                comps[component.name] = {"ok": False, "error": str(exc)}
        return {
            "service": SERVICE_NAME,
            "ok": all(c.get("ok", True) for c in comps.values()),
            "pid": os.getpid(),
            "port": self.ctx.port,
            "state_dir": str(self.ctx.state_dir),
            "started_at": self.started_at,
            "patches": moto_compat.applied_patches(),
            "components": comps,
        }

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == HEALTH_PATH:
            body = json.dumps(self.health()).encode()
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        app = self.ctx.route_for(environ) or self._moto_app
        if app is None:
            start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
            return [b"control plane not started"]
        return app(environ, start_response)


def load_component(spec: str) -> Component:
    """Build a component from ``"package.module:factory"``: ``factory()`` returns the component.

    The component gets the :class:`ServiceContext` in ``start``, so factories take no arguments.
    """
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise ValueError(f"component spec {spec!r} must look like 'package.module:factory'")
    factory = getattr(importlib.import_module(module_name), attr)
    component = factory()
    if not isinstance(component, Component):
        raise TypeError(f"{spec} did not return a Component (needs name, start, stop, health)")
    return component
