"""The AWS client failures a user causes by setup rather than by a bug, told as what to do next.

A command that reaches AWS (or the embedded control plane) can fail before any request is answered:
nothing listens at the endpoint, the environment's named profile is not configured on this machine, or
there are no credentials at all. botocore raises those as exceptions whose traceback says little to
someone who only ran `orchestrator invoke`; the CLI turns them into one line naming the environment and
the fix (exit 1 for an unreachable endpoint, 2 for missing credentials: nothing was run).
"""

from __future__ import annotations

from urllib.parse import urlparse

from botocore.exceptions import BotoCoreError, EndpointConnectionError, NoCredentialsError, ProfileNotFound

from orchestrator.config.loader import environment_file
from orchestrator.errors import OrchestratorError, UsageError

_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


class EndpointUnreachable(OrchestratorError):
    """Nothing answered at an AWS endpoint URL."""


def explain(exc: BotoCoreError, env: str | None) -> OrchestratorError | None:
    """The user-facing error for `exc`, or None when it is not a setup problem (let it surface)."""
    flag = f"--env {env}" if env else "--env ENV"
    if isinstance(exc, EndpointConnectionError):
        url = str(exc.kwargs.get("endpoint_url", ""))
        if urlparse(url).hostname in _LOOPBACK:
            return EndpointUnreachable(
                f"nothing answers at {url}: the embedded control plane of this environment is not running, "
                f"so nothing is deployed there (it keeps its state in memory). `orchestrator apply {flag}` "
                "starts it and deploys; `orchestrator local status` shows what runs."
            )
        return EndpointUnreachable(f"cannot reach {url}: {exc.kwargs.get('error', exc)}. Check the network and the "
                                   "environment's project.region.")
    where = _file_of(env)
    if isinstance(exc, ProfileNotFound):
        return UsageError(
            f"the AWS profile {exc.kwargs.get('profile')!r} (project.profile in {where}) is not configured on this "
            "machine: add it to ~/.aws/config, or supply credentials through the environment "
            "(AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, a web identity token, a container role), which take precedence."
        )
    if isinstance(exc, NoCredentialsError):
        return UsageError(
            f"no AWS credentials found for {flag}: set project.profile in {where} to a configured profile, or supply "
            "credentials through the environment (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, a role)."
        )
    return None


def _file_of(env: str | None) -> str:
    try:
        return str(environment_file(env)) if env else "the environment file"
    except OrchestratorError:
        return "the environment file"
