"""What one invocation needs to know about a function, read from moto's Lambda backend in-process.

Why a snapshot per invocation rather than a registry of our own: the control plane owns the
function (Terraform may change its environment, timeout or code at any time, with or without an
event we observe). Reading it costs a couple of dict lookups; ``fingerprint`` tells the worker pool
when the code or configuration its warm workers were started with no longer matches.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

DEFAULT_ACCOUNT = "123456789012"
DEFAULT_REGION = "us-east-1"


class FunctionNotFound(LookupError):
    """No such function (or version) in the control plane."""


@dataclass(frozen=True)
class FunctionConfig:
    """The parts of a ``LambdaFunction`` the runtime uses (code bytes are read lazily)."""

    account_id: str
    region: str
    name: str
    arn: str
    version: str
    handler: str
    runtime: str
    timeout_s: float
    memory_mb: int
    environment: tuple[tuple[str, str], ...]
    reserved_concurrency: int | None
    code_sha256: str
    package_type: str
    qualifier: str | None = None  # as the caller gave it (version, alias or $LATEST), None if unqualified

    @property
    def fingerprint(self) -> tuple[Any, ...]:
        """Everything a started worker depends on: a change means new workers."""
        return (self.code_sha256, self.handler, self.runtime, self.memory_mb, self.environment, self.version)

    @property
    def invoked_arn(self) -> str:
        """``context.invoked_function_arn``: the function's ARN with the qualifier the caller used."""
        return self.arn if self.qualifier is None else f"{self.arn}:{self.qualifier}"

    @property
    def log_group(self) -> str:
        return f"/aws/lambda/{self.name}"


def moto_backend(backends: Any, account_id: str, region: str) -> Any:
    """``backends[account_id][region]`` without moto's global lock on the hot path.

    ``BackendDict.__getitem__`` takes a process-wide lock and scans its keys on every access (about
    40 us, contended by the WSGI threads); once the account and region exist, plain ``dict`` reads
    give the same objects. A reset control plane simply misses and takes moto's path again.
    """
    per_account = dict.get(backends, account_id)
    if per_account is not None:
        backend = dict.get(per_account, region)
        if backend is not None:
            return backend
    return backends[account_id][region]


def parse_function_name(name_or_arn: str) -> tuple[str, str | None, str | None, str | None]:
    """``name``, ``arn:aws:lambda:<region>:<acct>:function:<name>[:<qualifier>]`` or ``<acct>:function:<name>``.

    Returns ``(name, qualifier, region, account)`` (``None`` where the reference does not say).
    """
    if name_or_arn.startswith("arn:"):
        parts = name_or_arn.split(":")
        if len(parts) >= 7 and parts[5] == "function":
            return parts[6], (parts[7] if len(parts) > 7 else None), parts[3], parts[4]
        raise FunctionNotFound(name_or_arn)
    if ":function:" in name_or_arn:
        account, _, rest = name_or_arn.partition(":function:")
        name, _, qualifier = rest.partition(":")
        return name, qualifier or None, None, account
    name, _, qualifier = name_or_arn.partition(":")
    return name, qualifier or None, None, None


def read_function(
    name_or_arn: str, qualifier: str | None = None, *, account_id: str | None = None, region: str | None = None
) -> tuple[FunctionConfig, Any]:
    """The function's config and the moto object (for its ``code_bytes``); raises FunctionNotFound."""
    from moto.awslambda.models import lambda_backends

    name, arn_qualifier, arn_region, arn_account = parse_function_name(name_or_arn)
    account = arn_account or account_id or DEFAULT_ACCOUNT
    region = arn_region or region or DEFAULT_REGION
    invoked_qualifier = qualifier or arn_qualifier
    lookup = None if invoked_qualifier == "$LATEST" else invoked_qualifier
    try:
        fn = moto_backend(lambda_backends, account, region).get_function(name, lookup)
    except Exception as exc:  # moto raises its own UnknownFunctionException / ValueError
        raise FunctionNotFound(name_or_arn) from exc
    if fn is None:
        raise FunctionNotFound(name_or_arn)
    reserved = getattr(fn, "reserved_concurrency", None)
    env = getattr(fn, "environment_vars", None) or {}
    config = FunctionConfig(
        account_id=account,
        region=region,
        name=fn.function_name,
        arn=f"arn:aws:lambda:{region}:{account}:function:{fn.function_name}",
        version=str(getattr(fn, "version", "$LATEST") or "$LATEST"),
        handler=str(fn.handler or "lambda_function.lambda_handler"),
        runtime=str(fn.run_time or "python3.11"),
        timeout_s=float(fn.timeout or 3),
        memory_mb=int(fn.memory_size or 128),
        environment=tuple(sorted((str(k), str(v)) for k, v in env.items())),
        reserved_concurrency=int(reserved) if reserved not in (None, "") else None,
        code_sha256=str(fn.code_sha_256 or ""),
        package_type=str(getattr(fn, "package_type", "Zip") or "Zip"),
        qualifier=invoked_qualifier,
    )
    return config, fn
