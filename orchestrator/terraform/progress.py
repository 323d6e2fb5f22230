"""Progress while stacks run, and the summary table at the end.

Lines are prefixed by the stack name because independent stacks run in parallel; each completed
resource prints ``done/planned`` and the stack's elapsed time, from Terraform's -json events.
"""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any, TextIO


@dataclass
class StackOutcome:
    """What happened to one stack in a run."""

    stack: str
    status: str = (
        "pending"  # applied | destroyed | no-changes | planned | declined | failed | skipped | waiting-upstream
    )
    add: int = 0
    change: int = 0
    destroy: int = 0
    seconds: float = 0.0
    changes: list[tuple[str, str]] = field(default_factory=list)  # (resource address, action)
    plan_text: str = ""
    error: str = ""
    resource: str | None = None
    note: str = ""

    @property
    def failed(self) -> bool:
        return self.status == "failed"

    @property
    def has_changes(self) -> bool:
        return bool(self.add or self.change or self.destroy)


class ProgressReporter:
    """Thread-safe printer of per-stack progress lines."""

    def __init__(self, stream: TextIO | None = None):
        self.stream = stream or sys.stdout
        self._lock = threading.Lock()
        self._started: dict[str, float] = {}
        self._done: dict[str, int] = {}
        self._planned: dict[str, int] = {}

    def _print(self, text: str) -> None:
        with self._lock:
            print(text, file=self.stream, flush=True)

    def elapsed(self, stack: str) -> float:
        return time.monotonic() - self._started.get(stack, time.monotonic())

    def started(self, stack: str, phase: str) -> None:
        self._started.setdefault(stack, time.monotonic())
        self._print(f"[{stack}] {phase}...")

    def planned(self, stack: str, outcome: StackOutcome) -> None:
        self._planned[stack] = outcome.add + outcome.change + outcome.destroy
        self._done[stack] = 0
        counts = f"{outcome.add} to add, {outcome.change} to change, {outcome.destroy} to destroy"
        self._print(f"[{stack}] plan: {counts} ({self.elapsed(stack):.1f}s)")

    def on_apply_event(self, stack: str, event: dict[str, Any]) -> None:
        kind = event.get("type")
        hook = event.get("hook", {})
        address = hook.get("resource", {}).get("addr", "?")
        if hook.get("action") == "read":
            return  # data sources are read during apply too; they are not planned changes
        if kind == "apply_complete":
            self._done[stack] = self._done.get(stack, 0) + 1
            total = max(self._planned.get(stack, 0), self._done[stack])
            verb = {"create": "created", "update": "updated", "delete": "destroyed", "replace": "replaced"}.get(
                hook.get("action", ""), hook.get("action", "done")
            )
            self._print(f"[{stack}] {self._done[stack]}/{total} {address} {verb} ({self.elapsed(stack):.1f}s)")
        elif kind == "apply_errored":
            self._print(f"[{stack}] {address} failed ({self.elapsed(stack):.1f}s)")

    def message(self, stack: str, text: str) -> None:
        self._print(f"[{stack}] {text}")

    def finished(self, outcome: StackOutcome) -> None:
        detail = f": {outcome.note}" if outcome.note else ""
        self._print(f"[{outcome.stack}] {outcome.status} in {outcome.seconds:.1f}s{detail}")

    def summary(self, outcomes: list[StackOutcome], title: str) -> None:
        self._print(summary_table(outcomes, title))


def summary_table(outcomes: list[StackOutcome], title: str) -> str:
    header = ("stack", "result", "added", "changed", "destroyed", "time")
    rows = [(o.stack, o.status, str(o.add), str(o.change), str(o.destroy), f"{o.seconds:.1f}s") for o in outcomes]
    total = sum(o.seconds for o in outcomes)
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    fmt = "  ".join(f"{{:<{w}}}" if i < 2 else f"{{:>{w}}}" for i, w in enumerate(widths))
    lines = ["", title, fmt.format(*header), fmt.format(*("-" * w for w in widths))]
    lines += [fmt.format(*row) for row in rows]
    lines.append(f"(stack time {total:.1f}s)")
    return "\n".join(lines)
