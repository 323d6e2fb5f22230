"""Errors the CLI turns into a message and an exit code, never a traceback.

Exit codes: 0 success, 1 a deployment/runtime failure (Terraform, a model test, a load test),
2 a configuration or usage error (nothing was run).
"""

from __future__ import annotations

from dataclasses import dataclass

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2


class OrchestratorError(Exception):
    """Base class: a user-facing failure with a message and an exit code."""

    exit_code = EXIT_FAILURE

    def render(self) -> str:
        return str(self)


class UsageError(OrchestratorError):
    """The command line or an input file is wrong; nothing was run."""

    exit_code = EXIT_USAGE


@dataclass(frozen=True)
class Problem:
    """One validation problem, located by its JSON path (``serving.models[1].variant.weight``)."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class ConfigError(UsageError):
    """An environment file is invalid; carries every problem found, not just the first."""

    def __init__(self, source: str, problems: list[Problem]):
        self.source = source
        self.problems = list(problems)
        super().__init__(f"{source}: {len(self.problems)} problem(s)")

    def render(self) -> str:
        lines = [f"{self.source} is invalid ({len(self.problems)} problem(s)):"]
        lines += [f"  - {p}" for p in self.problems]
        return "\n".join(lines)


class DeployError(OrchestratorError):
    """A stack failed to plan/apply/destroy: names the stack and, when known, the resource."""

    def __init__(self, stack: str, message: str, resource: str | None = None):
        self.stack = stack
        self.resource = resource
        self.detail = message
        where = f"stack {stack}" + (f", resource {resource}" if resource else "")
        super().__init__(f"{where}: {message}")
