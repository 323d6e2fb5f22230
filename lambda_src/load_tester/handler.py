"""Load-tester Lambda: triggered by the test topic (SNS), drives the API, emits the original metrics.

Environment:
  METRIC_NAMESPACE   CloudWatch namespace of the custom metrics: the project name (required)
  STAGE              value of the Stage dimension (required)
  API_URL_BASE       https://<api>.execute-api.<region>.amazonaws.com/<stage>; a case POSTs to <base>/<resource>
  API_INVOKE_URL     alternative: the full URL of POST /<resource> (SSM api-hosting/invoke_url); a case's
                     resource replaces as many trailing path segments as it has ("text" -> the last one),
                     a case without resource uses it as is
  API_KEY_PARAMETER  SSM name of the API key (SecureString, read with decryption once per container);
                     unset -> no x-api-key header
  HTTP_TIMEOUT_SEC   per-request timeout (default 30; API Gateway gives up after 29 s)
  STOP_MARGIN_SEC    stop this long before the Lambda would time out (default 5)
  METRIC_FLUSH_SEC   PutMetricData period (default 10)
  MAX_IN_FLIGHT      worker threads / concurrent requests in rate mode (default 64)
  LOG_LEVEL          default INFO
  TESTER_ID          optional, copied into the logs and the summary (which of the N testers this is)
Returns a summary: sent, ok, errors, test_pass, test_fail, p50_ms, p99_ms, ... (see runner.Runner.summary).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

import api_key
import cw_metrics
from runlog import get_logger
from runner import Limits, Runner, limits_for
from scenario import Case, MessageError, message_from_event, parse_plan

logger = get_logger()

USER_AGENT = "sagemaker-serving-platform-load-tester/1.0"
_CLIENTS: dict[str, Any] = {}


class ConfigurationError(Exception):
    """The function's environment is wrong (a deployment bug)."""


def _client(service: str) -> Any:
    if service not in _CLIENTS:
        config = Config(connect_timeout=2, read_timeout=10, retries={"total_max_attempts": 3, "mode": "standard"})
        _CLIENTS[service] = boto3.client(service, config=config)
    return _CLIENTS[service]


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    try:
        value = float(raw) if raw not in (None, "") else default
    except ValueError:
        raise ConfigurationError(f"{name} must be a number, got {raw!r}") from None
    if value <= 0:
        raise ConfigurationError(f"{name} must be > 0")
    return value


@dataclass(frozen=True)
class Settings:
    namespace: str
    stage: str
    url_base: str | None
    invoke_url: str | None
    api_key_parameter: str | None
    http_timeout_sec: float
    stop_margin_sec: float
    flush_every_sec: float
    max_in_flight: int

    @classmethod
    def from_env(cls) -> Settings:
        env = {name: (os.environ.get(name) or "").strip() for name in (
            "METRIC_NAMESPACE", "STAGE", "API_URL_BASE", "API_INVOKE_URL", "API_KEY_PARAMETER")}
        missing = [name for name in ("METRIC_NAMESPACE", "STAGE") if not env[name]]
        if missing:
            raise ConfigurationError(f"not set: {', '.join(missing)}")
        if not env["API_URL_BASE"] and not env["API_INVOKE_URL"]:
            raise ConfigurationError("set API_URL_BASE or API_INVOKE_URL")
        for name in ("API_URL_BASE", "API_INVOKE_URL"):
            if env[name] and urlsplit(env[name]).scheme not in ("http", "https"):
                raise ConfigurationError(f"{name} must be an http(s) URL")
        return cls(
            namespace=env["METRIC_NAMESPACE"],
            stage=env["STAGE"],
            url_base=env["API_URL_BASE"] or None,
            invoke_url=env["API_INVOKE_URL"] or None,
            api_key_parameter=env["API_KEY_PARAMETER"] or None,
            http_timeout_sec=_env_float("HTTP_TIMEOUT_SEC", 30.0),
            stop_margin_sec=_env_float("STOP_MARGIN_SEC", 5.0),
            flush_every_sec=_env_float("METRIC_FLUSH_SEC", 10.0),
            max_in_flight=int(_env_float("MAX_IN_FLIGHT", 64)),
        )

    def url_for(self, case: Case) -> str:
        if self.url_base:
            return self.url_base.rstrip("/") + ("/" + case.resource if case.resource else "")
        assert self.invoke_url
        if not case.resource:
            return self.invoke_url
        # The case's resource replaces as many trailing path segments as it has ("text" -> the last one).
        depth = len(case.resource.split("/"))
        return self.invoke_url.rstrip("/").rsplit("/", depth)[0] + "/" + case.resource


def _remaining_ms(context: Any) -> float | None:
    getter: Callable[[], float] | None = getattr(context, "get_remaining_time_in_millis", None)
    return float(getter()) if callable(getter) else None


def _flusher(buffer: cw_metrics.MetricBuffer, stats: dict[str, int]) -> Callable[[], None]:
    def flush() -> None:
        for batch in cw_metrics.batches(buffer.drain()):
            try:
                _client("cloudwatch").put_metric_data(Namespace=buffer.namespace, MetricData=batch)
                stats["metric_puts"] += 1
            except (ClientError, BotoCoreError) as exc:
                stats["metric_put_errors"] += 1
                logger.warning("put_metric_data failed", extra={"fields": {"error": type(exc).__name__,
                                                                             "detail": str(exc)[:300]}})
    return flush


def _log_result(case: Case, outcome: Any, test_ok: bool) -> None:
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug("result", extra={"fields": {"case": case.label, "status": outcome.status,
                                                 "ms": round(outcome.elapsed_ms, 1), "test_ok": test_ok,
                                                 "error": outcome.error}})


def lambda_handler(event: Any, context: Any) -> dict[str, Any]:
    settings = Settings.from_env()
    try:
        plan = parse_plan(message_from_event(event))
    except MessageError as exc:
        logger.error("invalid test message", extra={"fields": {"problem": str(exc)}})
        raise
    headers = {"Content-Type": "application/json", "Accept": "application/json", "User-Agent": USER_AGENT}
    if settings.api_key_parameter:
        try:
            headers["x-api-key"] = api_key.get_api_key(settings.api_key_parameter, lambda: _client("ssm"))
        except (ClientError, BotoCoreError) as exc:
            logger.error("cannot read the API key parameter", extra={"fields": {
                "parameter": settings.api_key_parameter, "error": type(exc).__name__, "detail": str(exc)[:300]}})
            raise
    # The duration counts from here (after the key read); the remaining time is read at the same moment.
    now = time.monotonic()
    limits: Limits = limits_for(plan.duration_sec, _remaining_ms(context), settings.stop_margin_sec, now)
    logger.info("load test starting", extra={"fields": {
        "mode": "rate" if plan.rate_per_sec else "closed_loop", "cases": [c.label for c in plan.cases],
        "duration_sec": plan.duration_sec, "rate_per_sec": plan.rate_per_sec,
        "send_window_sec": round(limits.send_until - now, 3), "stopped_by": limits.stopped_by,
        "api_key": "set" if "x-api-key" in headers else "none",
    }})

    buffer = cw_metrics.MetricBuffer(settings.namespace, settings.stage)
    stats = {"metric_puts": 0, "metric_put_errors": 0}
    runner = Runner(
        plan,
        url_for=settings.url_for,
        headers=headers,
        http_timeout_sec=settings.http_timeout_sec,
        limits=limits,
        metrics=buffer,
        flush=_flusher(buffer, stats),
        flush_every_sec=settings.flush_every_sec,
        max_in_flight=settings.max_in_flight,
        on_result=_log_result,
    )
    summary = runner.run()
    summary.update(stats)
    if os.environ.get("TESTER_ID"):
        summary["tester_id"] = os.environ["TESTER_ID"]
    logger.info("load test finished", extra={"fields": {"summary": summary}})
    return summary
