"""The test message (published on the trigger topic) parsed into a plan.

Message format, as in the original project, plus two additions (``RatePerSec``, a case ``name``)::

    {"Config": {"IntervalInSec": 10, "DurationInSec": 600, "RatePerSec": 5},
     "TestData": [{"name": "world", "type": "tc-001", "resource": "text",
                   "request": {"sentence": "..."}, "response": {"success": "true", "label": 1},
                   "interval": 1}]}

- ``IntervalInSec`` (default 10): pause after each round over the cases (closed-loop mode).
- ``DurationInSec`` (default 600): how long to send; the Lambda's remaining time also bounds it.
- ``RatePerSec`` (optional, > 0): open-loop mode at that rate per tester; intervals are then ignored.
- A case's label (the ``Type`` dimension is ``ApiGateway/<label>``): ``name``, else the original's
  ``type`` (which held the case id, e.g. ``tc-001``) unless it is just ``ApiGateway``, else the case's
  0-based index in TestData.
- ``interval`` (or ``interval_sec``, default 0): pause after this case (closed-loop mode).
- ``response`` (default {}): every key/value must equal the JSON response's for TestSuccess.
- ``status`` (optional): the HTTP status the case expects (default: any 2xx). Lets a case test a 400.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

METRIC_TYPE_PREFIX = "ApiGateway"


class MessageError(ValueError):
    """The test message is malformed; the message says where."""


@dataclass(frozen=True)
class Case:
    label: str
    resource: str
    body: bytes
    expected: dict[str, Any]
    expected_status: int | None
    interval_sec: float

    @property
    def metric_type(self) -> str:
        return f"{METRIC_TYPE_PREFIX}/{self.label}"


@dataclass(frozen=True)
class Plan:
    interval_sec: float
    duration_sec: float
    rate_per_sec: float | None
    cases: tuple[Case, ...]


def message_from_event(event: Any) -> Mapping[str, Any]:
    """The test message from an SNS event (first record), or the event itself when invoked directly."""
    if isinstance(event, Mapping) and isinstance(event.get("Records"), list) and event["Records"]:
        record = event["Records"][0]
        raw = (record.get("Sns") or {}).get("Message") if isinstance(record, Mapping) else None
        if not isinstance(raw, str):
            raise MessageError("Records[0].Sns.Message: missing (is this an SNS event?)")
        try:
            message = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise MessageError(f"Records[0].Sns.Message: not JSON ({exc.msg})") from None
    else:
        message = event
    if not isinstance(message, Mapping):
        raise MessageError("message: must be a JSON object with Config and TestData")
    return message


def _number(value: Any, path: str, *, default: float | None, positive: bool = False) -> float | None:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise MessageError(f"{path}: must be a number")
    if value < 0 or (positive and value == 0):
        raise MessageError(f"{path}: must be {'> 0' if positive else '>= 0'}")
    return float(value)


def _label(case: Mapping[str, Any], index: int) -> str:
    for key in ("name", "type"):
        value = case.get(key)
        if isinstance(value, str) and value.strip() and value.strip() != METRIC_TYPE_PREFIX:
            return value.strip()
    return str(index)


def _case(raw: Any, index: int) -> Case:
    path = f"TestData[{index}]"
    if not isinstance(raw, Mapping):
        raise MessageError(f"{path}: must be an object")
    if "request" not in raw:
        raise MessageError(f"{path}.request: required")
    request = raw["request"]
    body = request.encode("utf-8") if isinstance(request, str) else json.dumps(request).encode("utf-8")
    expected = raw.get("response") or {}
    if not isinstance(expected, Mapping):
        raise MessageError(f"{path}.response: must be an object of expected key/values")
    resource = raw.get("resource") or ""
    if not isinstance(resource, str):
        raise MessageError(f"{path}.resource: must be a string")
    status = raw.get("status")
    if status is not None and (isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599):
        raise MessageError(f"{path}.status: must be an HTTP status code")
    interval_key = "interval" if "interval" in raw else "interval_sec"
    interval = _number(raw.get(interval_key), f"{path}.{interval_key}", default=0.0)
    return Case(_label(raw, index), resource.strip("/"), body, dict(expected), status, interval or 0.0)


def parse_plan(message: Mapping[str, Any]) -> Plan:
    config = message.get("Config") or {}
    if not isinstance(config, Mapping):
        raise MessageError("Config: must be an object")
    data = message.get("TestData")
    if not isinstance(data, list) or not data:
        raise MessageError("TestData: must be a non-empty list of test cases")
    cases = tuple(_case(raw, i) for i, raw in enumerate(data))
    labels = [case.label for case in cases]
    duplicates = sorted({label for label in labels if labels.count(label) > 1})
    if duplicates:
        raise MessageError(f"TestData: case labels must be unique (duplicated: {', '.join(duplicates)})")
    return Plan(
        interval_sec=_number(config.get("IntervalInSec"), "Config.IntervalInSec", default=10.0) or 0.0,
        duration_sec=_number(config.get("DurationInSec"), "Config.DurationInSec", default=600.0, positive=True)
        or 0.0,
        rate_per_sec=_number(config.get("RatePerSec"), "Config.RatePerSec", default=None, positive=True),
        cases=cases,
    )
