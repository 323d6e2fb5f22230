"""How Lambda handles a function's ``Event`` invocations: its event invoke config and dead-letter queue.

Read from moto's Lambda backend in-process at each decision of an event's life (the control plane owns
them: ``PutFunctionEventInvokeConfig`` or a changed ``DeadLetterConfig`` applies to events already
queued, as on AWS). The configuration is the one of the qualifier the event was invoked with
(``$LATEST`` when unqualified, a version, or an alias), as ``moto_compat`` stores it per qualifier;
without one, Lambda's defaults apply. The dead-letter queue is part of the version that runs (an
alias's target), as on AWS.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from orchestrator.dataplane.lambdas.function_config import FunctionNotFound, moto_backend, read_function

DEFAULT_MAXIMUM_RETRY_ATTEMPTS = 2
DEFAULT_MAXIMUM_EVENT_AGE_S = 21600.0  # 6 hours


@dataclass(frozen=True)
class EventInvokeSettings:
    """What decides an event's retries and where its invocation record goes."""

    function_arn: str  # the invoked ARN, always qualified (``...:$LATEST``), as records name it
    maximum_retry_attempts: int = DEFAULT_MAXIMUM_RETRY_ATTEMPTS
    maximum_event_age_s: float = DEFAULT_MAXIMUM_EVENT_AGE_S
    on_success: str | None = None
    on_failure: str | None = None
    dead_letter_target: str | None = None


def _destination(config: dict[str, Any], condition: str) -> str | None:
    return ((config.get("DestinationConfig") or {}).get(condition) or {}).get("Destination") or None


def read_event_invoke_settings(
    function: str, qualifier: str | None = None, *, account_id: str | None = None, region: str | None = None
) -> EventInvokeSettings:
    """The settings of ``function`` (name or ARN) invoked with ``qualifier``; raises FunctionNotFound."""
    from moto.awslambda.models import lambda_backends

    config, fn = read_function(function, qualifier, account_id=account_id, region=region)
    invoked = config.qualifier or "$LATEST"
    dead_letter = (getattr(fn, "dead_letter_config", None) or {}).get("TargetArn") or None
    backend = moto_backend(lambda_backends, config.account_id, config.region)
    try:
        stored: dict[str, Any] = backend.get_function_event_invoke_config(config.name, invoked)
    except Exception as exc:  # moto's UnknownEventConfig: none for this qualifier, Lambda's defaults
        if type(exc).__name__ == "UnknownFunctionException":
            raise FunctionNotFound(function) from exc
        stored = {}
    retries = stored.get("MaximumRetryAttempts")
    age = stored.get("MaximumEventAgeInSeconds")
    return EventInvokeSettings(
        function_arn=f"{config.arn}:{invoked}",
        maximum_retry_attempts=DEFAULT_MAXIMUM_RETRY_ATTEMPTS if retries is None else int(retries),
        maximum_event_age_s=DEFAULT_MAXIMUM_EVENT_AGE_S if age is None else float(age),
        on_success=_destination(stored, "OnSuccess"),
        on_failure=_destination(stored, "OnFailure"),
        dead_letter_target=dead_letter,
    )
