"""A diagnostic component: records every control-plane event (opt-in).

Why: it shows what the data plane would hear (``orchestrator local up --component
orchestrator.embedded.event_log:EventLog``) and lets tests observe the event hooks inside the real
server process. Events are appended to ``<state dir>/events.jsonl`` and served at
``GET /_orchestrator/events`` (a JSON list, oldest first; at most the last 1000).
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Iterable
from dataclasses import asdict
from typing import Any

from orchestrator.embedded.events import Event
from orchestrator.embedded.service import Environ, ServiceContext, StartResponse

EVENTS_PATH = "/_orchestrator/events"
EVENTS_FILE = "events.jsonl"


class EventLog:
    """Component that keeps the recent events in memory and on disk."""

    name = "event-log"

    def __init__(self, keep: int = 1000) -> None:
        self._events: deque[dict[str, Any]] = deque(maxlen=keep)
        self._lock = threading.Lock()
        self._ctx: ServiceContext | None = None
        self._unsubscribe: Any = None

    def start(self, ctx: ServiceContext) -> None:
        self._ctx = ctx
        self._unsubscribe = ctx.events.subscribe("*", self._record)
        ctx.add_route(lambda environ: environ.get("PATH_INFO") == EVENTS_PATH, self._serve)

    def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()

    def health(self) -> dict[str, Any]:
        return {"ok": True, "events": len(self._events)}

    def _record(self, event: Event) -> None:
        data = asdict(event)
        line = json.dumps(data, default=str)
        with self._lock:
            self._events.append(json.loads(line))
            if self._ctx is not None:
                with (self._ctx.state_dir / EVENTS_FILE).open("a") as fh:
                    fh.write(line + "\n")

    def _serve(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        # Drain the bus first so a client that just made a change sees its event.
        if self._ctx is not None:
            self._ctx.events.flush(timeout=2.0)
        with self._lock:
            body = json.dumps(list(self._events)).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]
