"""The API key, read once per container from SSM Parameter Store (SecureString, decrypted)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_CACHE: dict[str, str] = {}


def get_api_key(parameter_name: str, ssm_client: Callable[[], Any]) -> str:
    """``ssm_client`` is only called on a cache miss (warm invocations make no SSM call)."""
    if parameter_name not in _CACHE:
        response = ssm_client().get_parameter(Name=parameter_name, WithDecryption=True)
        _CACHE[parameter_name] = response["Parameter"]["Value"]
    return _CACHE[parameter_name]


def clear_cache() -> None:
    _CACHE.clear()
