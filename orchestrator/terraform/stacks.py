"""The stack graph: which Terraform roots exist and which depend on which.

Stacks share values through SSM Parameter Store, so a dependency here means "reads a parameter
the upstream publishes". Apply walks the graph forward, starting a stack as soon as everything it
depends on is done (independent stacks run in parallel); destroy walks it backward.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from orchestrator.errors import UsageError


@dataclass(frozen=True)
class Stack:
    name: str
    depends_on: tuple[str, ...] = ()
    # Whether the environment deploys this stack at all (e.g. CI/CD is optional).
    enabled: Callable[[dict[str, Any]], bool] = lambda data: True


STACKS: tuple[Stack, ...] = (
    Stack("model-archive"),
    Stack("model-serving", ("model-archive",)),
    Stack("api-hosting", ("model-serving", "model-archive")),
    Stack("monitoring", ("model-serving", "api-hosting")),
    Stack("load-testing", ("api-hosting", "model-archive")),
    Stack("cicd-pipeline", (), enabled=lambda data: bool(data.get("cicd", {}).get("enabled", False))),
)
STACK_NAMES: tuple[str, ...] = tuple(s.name for s in STACKS)
_BY_NAME = {s.name: s for s in STACKS}


def get(name: str) -> Stack:
    return _BY_NAME[name]


def select(data: dict[str, Any], names: Sequence[str] | None = None) -> list[Stack]:
    """The stacks to run, in a dependency-respecting order.

    ``names`` restricts the run to those stacks (their upstreams must already be applied);
    disabled stacks are left out unless named explicitly, which is an error.
    """
    if names:
        unknown = [n for n in names if n not in _BY_NAME]
        if unknown:
            raise UsageError(f"unknown stack(s) {', '.join(unknown)}; stacks are: {', '.join(STACK_NAMES)}")
        disabled = [n for n in names if not _BY_NAME[n].enabled(data)]
        if disabled:
            raise UsageError(f"stack(s) {', '.join(disabled)} are disabled in this environment (see cicd.enabled)")
        wanted = set(names)
        return [s for s in topological_order() if s.name in wanted]
    return [s for s in topological_order() if s.enabled(data)]


def topological_order(stacks: Iterable[Stack] = STACKS) -> list[Stack]:
    """Kahn's algorithm, stable with respect to declaration order."""
    pending = list(stacks)
    names = {s.name for s in pending}
    done: set[str] = set()
    order: list[Stack] = []
    while pending:
        ready = [s for s in pending if all(d in done or d not in names for d in s.depends_on)]
        if not ready:
            raise ValueError(f"dependency cycle among stacks: {', '.join(s.name for s in pending)}")
        for stack in ready:
            order.append(stack)
            done.add(stack.name)
            pending.remove(stack)
    return order


def upstreams(stack: Stack, among: Iterable[Stack]) -> set[str]:
    """Direct dependencies of ``stack`` that are part of this run."""
    names = {s.name for s in among}
    return {d for d in stack.depends_on if d in names}


def downstreams(stack: Stack, among: Iterable[Stack]) -> set[str]:
    """Stacks of this run that depend directly on ``stack`` (the edges destroy waits on)."""
    return {s.name for s in among if stack.name in s.depends_on}
