"""API keys, usage-plan throttling and quotas, as API Gateway enforces them for REST APIs.

The keys, plans and plan-key attachments are read from moto on every request (a few dict
lookups). What is ours is only what API Gateway itself keeps at run time: a token bucket per
(plan, key) for the plan's ``throttle`` (``rateLimit`` tokens per second, ``burstLimit`` capacity)
and a request counter per (plan, key, quota period) for its ``quota`` (``limit`` per ``DAY``,
``WEEK`` or ``MONTH``, ``offset`` requests already used in the first period).

Outcomes, as AWS answers them: no key, unknown or disabled key, or a key not attached to a plan
that includes this API stage -> ``403 {"message": "Forbidden"}``; bucket empty ->
``429 {"message": "Too Many Requests"}``; quota used -> ``429 {"message": "Limit Exceeded"}``.
Stage- and method-level throttle settings are not enforced (only usage plans).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True)
class KeyDecision:
    """``status`` 0 = allowed; otherwise the HTTP status and message to answer."""

    status: int
    message: str = ""
    api_key: Any = None


ALLOWED_WITHOUT_KEY = KeyDecision(0)


class TokenBucket:
    """``rate`` tokens per second up to ``burst``; starts full, as API Gateway's does."""

    __slots__ = ("burst", "rate", "stamp", "tokens")

    def __init__(self, rate: float, burst: float) -> None:
        self.rate = rate
        self.burst = max(burst, 1.0)
        self.tokens = self.burst
        self.stamp = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


def quota_period(period: str, now: datetime | None = None) -> str:
    """A name of the current quota window (UTC), which changes when the window does."""
    now = now or datetime.now(UTC)
    if period == "DAY":
        return now.strftime("%Y-%m-%d")
    if period == "WEEK":
        year, week, _ = now.isocalendar()
        return f"{year}-W{week:02d}"
    return now.strftime("%Y-%m")


def _header(headers: dict[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


class UsagePlanEnforcer:
    """API key check + throttle + quota (state: buckets and counters only; see module docstring)."""

    def __init__(self) -> None:
        self._buckets: dict[tuple[str, str], tuple[tuple[float, float], TokenBucket]] = {}
        self._quota: dict[tuple[str, str, str], int] = {}

    @staticmethod
    def _find_key(backend: Any, value: str) -> Any | None:
        for key in list(backend.keys.values()):
            if key.value == value:
                return key
        return None

    @staticmethod
    def _plan_for(backend: Any, key_id: str, api_id: str, stage: str) -> Any | None:
        for plan_id, plan_keys in list(backend.usage_plan_keys.items()):
            if key_id not in plan_keys:
                continue
            plan = backend.usage_plans.get(plan_id)
            if plan is None:
                continue
            for api_stage in plan.api_stages or []:
                if api_stage.get("apiId") == api_id and api_stage.get("stage") == stage:
                    return plan
        return None

    def check(self, backend: Any, api_id: str, stage: str, headers: dict[str, str], key_required: bool) -> KeyDecision:
        """Decide one request (call once per request: it consumes a token and a quota unit)."""
        if not key_required:
            return ALLOWED_WITHOUT_KEY
        value = _header(headers, "x-api-key")
        if not value:
            return KeyDecision(403, "Forbidden")
        key = self._find_key(backend, value)
        if key is None or not key.enabled:
            return KeyDecision(403, "Forbidden")
        plan = self._plan_for(backend, key.id, api_id, stage)
        if plan is None:
            return KeyDecision(403, "Forbidden")
        throttle = plan.throttle or {}
        if throttle.get("rateLimit") is not None or throttle.get("burstLimit") is not None:
            params = (float(throttle.get("rateLimit") or 0.0), float(throttle.get("burstLimit") or 0.0))
            entry = self._buckets.get((plan.id, key.id))
            if entry is None or entry[0] != params:
                entry = (params, TokenBucket(*params))
                self._buckets[(plan.id, key.id)] = entry
            if not entry[1].take():
                return KeyDecision(429, "Too Many Requests", key)
        quota = plan.quota or {}
        if quota.get("limit") is not None:
            window = (plan.id, key.id, quota_period(str(quota.get("period", "MONTH"))))
            used = self._quota.get(window)
            if used is None:
                used = int(quota.get("offset") or 0)
            if used >= int(quota["limit"]):
                return KeyDecision(429, "Limit Exceeded", key)
            self._quota[window] = used + 1
        return KeyDecision(0, "", key)
