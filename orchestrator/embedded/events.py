"""Control-plane events: what the data plane needs to hear about, fed by moto's own backends.

Why: the data plane (model servers, Lambda runner, API router) must react when Terraform creates,
updates or deletes an endpoint, a function or an API deployment, and when SNS gets a subscription or
a message. moto holds that state; rather than polling it, we wrap the few backend methods that change
it and publish a small :class:`Event` after each *successful* call. Subscribers then read whatever
else they need from moto's backends (same process), so the state is never duplicated.

Delivery is asynchronous and ordered: one dispatcher thread per bus calls subscribers, so a slow
subscriber (starting a model server) never blocks the API call that triggered it, and a failing
subscriber is logged, never surfaced to the AWS client. Tests call :meth:`EventBus.flush`.

Event kinds (``Event.kind``) and ``Event.detail`` keys:

=====================================  ==========================================================
``sagemaker.endpoint.created``         endpoint_name, endpoint_arn, endpoint_config_name
``sagemaker.endpoint.updated``         endpoint_name, endpoint_arn, endpoint_config_name; capacity_update
                                       (UpdateEndpointWeightsAndCapacities)
``sagemaker.endpoint.deleted``         endpoint_name
``lambda.function.created``            function_name, function_arn
``lambda.function.code_updated``       function_name, function_arn
``lambda.function.config_updated``     function_name, function_arn (environment, handler, timeout...)
``lambda.function.deleted``            function_name, qualifier
``apigateway.deployment.created``      rest_api_id, deployment_id, stage_name
``apigateway.rest_api.deleted``        rest_api_id
``sns.subscription.created``           topic_arn, subscription_arn, protocol, endpoint
``sns.subscription.deleted``           subscription_arn
``sns.message.published``              topic_arn, message_id, message, subject, message_attributes,
                                       message_structure (``json``: one message per protocol)
=====================================  ==========================================================
"""

from __future__ import annotations

import fnmatch
import functools
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Event:
    """One change of control-plane state, published after moto applied it."""

    kind: str
    account_id: str
    region: str
    detail: dict[str, Any] = field(default_factory=dict)


Subscriber = Callable[[Event], None]
_STOP = object()


class EventBus:
    """Publish/subscribe with glob patterns on ``Event.kind`` (``"sagemaker.endpoint.*"``, ``"*"``)."""

    def __init__(self) -> None:
        self._subscribers: list[tuple[str, Subscriber]] = []
        self._lock = threading.Lock()
        self._queue: queue.Queue[Any] = queue.Queue()
        self._thread: threading.Thread | None = None

    def subscribe(self, pattern: str, callback: Subscriber) -> Callable[[], None]:
        """Call ``callback(event)`` for every event whose kind matches ``pattern``; returns an unsubscribe."""
        entry = (pattern, callback)
        with self._lock:
            self._subscribers.append(entry)

        def unsubscribe() -> None:
            with self._lock:
                if entry in self._subscribers:
                    self._subscribers.remove(entry)

        return unsubscribe

    def publish(self, event: Event) -> None:
        """Queue ``event`` for delivery (never blocks, never raises into the publisher)."""
        self._ensure_thread()
        self._queue.put(event)

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until every event published so far was delivered; ``False`` on timeout."""
        done = threading.Event()
        self._ensure_thread()
        self._queue.put(done)
        return done.wait(timeout)

    def close(self, timeout: float = 5.0) -> None:
        """Deliver what is queued, then stop the dispatcher thread."""
        thread = self._thread
        if thread is None:
            return
        self._queue.put(_STOP)
        thread.join(timeout)
        self._thread = None

    def deliver(self, event: Event) -> None:
        """Call the matching subscribers now, in this thread (the dispatcher uses this)."""
        with self._lock:
            targets = [cb for pattern, cb in self._subscribers if fnmatch.fnmatchcase(event.kind, pattern)]
        for callback in targets:
            try:
                callback(event)
            except Exception:  # a data-plane bug must not break the control plane
                log.exception("event subscriber %r failed on %s", callback, event.kind)

    def _ensure_thread(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="embedded-events", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            if isinstance(item, threading.Event):
                item.set()
                continue
            self.deliver(item)


# --------------------------------------------------------------------------------------------------
# Feeding the bus from moto's backends
# --------------------------------------------------------------------------------------------------
_current_bus: EventBus | None = None
_WRAPPED_MARK = "__orchestrator_observed__"

# (detail builder) receives the backend, the call's args/kwargs and the result.
DetailBuilder = Callable[[Any, tuple[Any, ...], dict[str, Any], Any], dict[str, Any]]


def _arg(args: tuple[Any, ...], kwargs: dict[str, Any], index: int, name: str) -> Any:
    if name in kwargs:
        return kwargs[name]
    return args[index] if len(args) > index else None


def _observe(cls: type, method: str, kind: str, detail: DetailBuilder) -> None:
    """Wrap ``cls.method`` so that a successful call publishes ``kind`` on the current bus."""
    original = getattr(cls, method)
    if getattr(original, _WRAPPED_MARK, False):
        return

    @functools.wraps(original)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        result = original(self, *args, **kwargs)
        bus = _current_bus
        if bus is not None:
            try:
                event = Event(kind, self.account_id, self.region_name, detail(self, args, kwargs, result))
            except Exception:
                log.exception("could not describe %s for the event bus", kind)
            else:
                bus.publish(event)
        return result

    setattr(wrapper, _WRAPPED_MARK, True)
    setattr(cls, method, wrapper)


def _endpoint_detail(backend: Any, args: tuple[Any, ...], kwargs: dict[str, Any], result: Any) -> dict[str, Any]:
    return {
        "endpoint_name": result.endpoint_name,
        "endpoint_arn": result.arn,
        "endpoint_config_name": result.endpoint_config_name,
    }


def _function_detail(backend: Any, args: tuple[Any, ...], kwargs: dict[str, Any], result: Any) -> dict[str, Any]:
    name = _arg(args, kwargs, 0, "function_name")
    fn = backend.get_function(name)
    return {"function_name": fn.function_name, "function_arn": fn.function_arn}


def install(bus: EventBus) -> None:
    """Make ``bus`` the target of moto's observed methods (wrapping them on first use).

    Call after :func:`orchestrator.embedded.moto_compat.apply_all` so ``update_endpoint`` exists.
    """
    global _current_bus
    from moto.apigateway.models import APIGatewayBackend
    from moto.awslambda.models import LambdaBackend
    from moto.sagemaker.models import SageMakerModelBackend
    from moto.sns.models import SNSBackend

    _observe(SageMakerModelBackend, "create_endpoint", "sagemaker.endpoint.created", _endpoint_detail)
    if hasattr(SageMakerModelBackend, "update_endpoint"):
        _observe(SageMakerModelBackend, "update_endpoint", "sagemaker.endpoint.updated", _endpoint_detail)
    _observe(  # AWS scales a variant's instances or changes its weight without a new configuration
        SageMakerModelBackend, "update_endpoint_weights_and_capacities", "sagemaker.endpoint.updated",
        lambda b, a, k, r: {**_endpoint_detail(b, a, k, b.endpoints[_arg(a, k, 0, "endpoint_name")]),
                            "capacity_update": True},
    )
    _observe(
        SageMakerModelBackend, "delete_endpoint", "sagemaker.endpoint.deleted",
        lambda b, a, k, r: {"endpoint_name": _arg(a, k, 0, "endpoint_name")},
    )
    _observe(
        LambdaBackend, "create_function", "lambda.function.created",
        lambda b, a, k, r: {"function_name": r.function_name, "function_arn": r.function_arn},
    )
    _observe(LambdaBackend, "update_function_code", "lambda.function.code_updated", _function_detail)
    _observe(LambdaBackend, "update_function_configuration", "lambda.function.config_updated", _function_detail)
    _observe(
        LambdaBackend, "delete_function", "lambda.function.deleted",
        lambda b, a, k, r: {"function_name": _arg(a, k, 0, "function_name"), "qualifier": _arg(a, k, 1, "qualifier")},
    )
    _observe(
        APIGatewayBackend, "create_deployment", "apigateway.deployment.created",
        lambda b, a, k, r: {"rest_api_id": _arg(a, k, 0, "function_id"), "deployment_id": r.id,
                            "stage_name": _arg(a, k, 1, "name")},
    )
    _observe(
        APIGatewayBackend, "delete_rest_api", "apigateway.rest_api.deleted",
        lambda b, a, k, r: {"rest_api_id": _arg(a, k, 0, "function_id")},
    )
    _observe(
        SNSBackend, "subscribe", "sns.subscription.created",
        lambda b, a, k, r: {"topic_arn": r.topic.arn, "subscription_arn": r.arn,
                            "protocol": r.protocol, "endpoint": r.endpoint},
    )
    _observe(
        SNSBackend, "unsubscribe", "sns.subscription.deleted",
        lambda b, a, k, r: {"subscription_arn": _arg(a, k, 0, "subscription_arn")},
    )
    _observe(
        SNSBackend, "publish", "sns.message.published",
        lambda b, a, k, r: {"topic_arn": _arg(a, k, 1, "arn"), "message_id": r,
                            "message": _arg(a, k, 0, "message"), "subject": _arg(a, k, 3, "subject"),
                            "message_attributes": _arg(a, k, 4, "message_attributes") or {},
                            "message_structure": _arg(a, k, 7, "message_structure")},
    )
    _current_bus = bus


def uninstall() -> None:
    """Stop publishing (the wrappers stay, as no-ops)."""
    global _current_bus
    _current_bus = None
