"""The event bus in isolation: pattern matching, ordering, isolation of failing subscribers."""

from __future__ import annotations

import threading

import pytest

from orchestrator.embedded.events import Event, EventBus

pytestmark = pytest.mark.timeout(10)


def ev(kind: str, **detail: object) -> Event:
    return Event(kind=kind, account_id="123456789012", region="us-east-1", detail=dict(detail))


def test_subscribers_get_matching_events_in_order() -> None:
    bus = EventBus()
    endpoint_events: list[str] = []
    everything: list[str] = []
    bus.subscribe("sagemaker.endpoint.*", lambda e: endpoint_events.append(e.detail["n"]))
    bus.subscribe("*", lambda e: everything.append(e.kind))
    for n in range(5):
        bus.publish(ev("sagemaker.endpoint.updated", n=str(n)))
    bus.publish(ev("lambda.function.created"))
    assert bus.flush()
    assert endpoint_events == ["0", "1", "2", "3", "4"]
    assert everything[-1] == "lambda.function.created" and len(everything) == 6
    bus.close()


def test_failing_subscriber_does_not_stop_delivery() -> None:
    bus = EventBus()
    got: list[Event] = []

    def broken(event: Event) -> None:
        raise RuntimeError("data-plane bug")

    bus.subscribe("*", broken)
    bus.subscribe("*", got.append)
    bus.publish(ev("sns.message.published"))
    assert bus.flush()
    assert [e.kind for e in got] == ["sns.message.published"]
    bus.close()


def test_unsubscribe_and_delivery_off_the_publishing_thread() -> None:
    bus = EventBus()
    threads: list[str] = []
    unsubscribe = bus.subscribe("*", lambda e: threads.append(threading.current_thread().name))
    bus.publish(ev("a"))
    assert bus.flush()
    unsubscribe()
    bus.publish(ev("b"))
    assert bus.flush()
    assert threads == ["embedded-events"]
    bus.close()


@pytest.mark.timeout(90)
def test_control_plane_modules_stay_light_and_patches_are_idempotent() -> None:
    """In a fresh interpreter: patches apply once, hooks install, and nothing pulls in torch."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from orchestrator.embedded import events, moto_compat, process, server, service\n"
        "first = moto_compat.apply_all(); second = moto_compat.apply_all()\n"
        "events.install(events.EventBus()); events.install(events.EventBus())\n"
        "assert len(first) == len(moto_compat.PATCHES) and second == [], (first, second)\n"
        "assert 'torch' not in sys.modules, 'the control plane must not import torch'\n"
        "from moto.sagemaker.models import SageMakerModelBackend as B\n"
        "assert getattr(B.update_endpoint, '__orchestrator_observed__', False)\n"
        "assert not hasattr(B.update_endpoint.__wrapped__, '__orchestrator_observed__')\n"
        "print('ok')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr
