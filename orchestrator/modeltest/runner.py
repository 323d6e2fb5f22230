"""Run cases through a model's handlers as the SageMaker model server would, and compare."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestrator.modeltest.cases import ModelCase
from orchestrator.modeltest.handlers import Handlers

_MISSING = object()


@dataclass(frozen=True)
class CaseResult:
    name: str
    passed: bool
    expected: dict[str, Any]
    got: Any  # the decoded output (or None)
    elapsed_ms: float
    status: int | None = None  # HTTP-like status of a handler error (500 when the error has none)
    error: str | None = None
    mismatched: tuple[str, ...] = ()


@dataclass
class ModelTestReport:
    model_dir: str
    load_ms: float
    results: list[CaseResult] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return bool(self.results) and all(r.passed for r in self.results)

    def lines(self) -> list[str]:
        width = max((len(r.name) for r in self.results), default=0)
        out = []
        for r in self.results:
            verdict = "PASS" if r.passed else "FAIL"
            head = f"{verdict}  {r.name:<{width}}  {r.elapsed_ms:8.1f} ms  expected {_compact(r.expected)}"
            if r.error is not None:
                out.append(f"{head}  got status {r.status}: {r.error}")
            elif r.passed:
                out.append(f"{head}  got {_compact({k: r.got[k] for k in r.expected})}")
            else:
                out.append(f"{head}  got {_compact(r.got, 200)}")
        count = sum(r.passed for r in self.results)
        out.append(f"{count}/{len(self.results)} cases passed ({self.model_dir}; model_fn {self.load_ms:.1f} ms)")
        return out


def _compact(value: Any, limit: int = 120) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def error_status(exc: BaseException) -> int:
    """The status a handler error carries (``status_code``, as the inference toolkit's errors), else 500."""
    for attribute in ("status_code", "status"):
        value = getattr(exc, attribute, None)
        if isinstance(value, int) and 100 <= value <= 599:
            return value
    return 500


def _error_text(exc: BaseException) -> str:
    message = getattr(exc, "message", None)
    text = message if isinstance(message, str) and message else str(exc)
    return f"{type(exc).__name__}: {text}" if error_status(exc) == 500 else text


def decode_output(output: Any) -> Any:
    """Body of ``output_fn``/``transform_fn`` (which may return ``(body, content_type)``) -> JSON value."""
    if isinstance(output, tuple) and len(output) == 2:
        output = output[0]
    if isinstance(output, (bytes, bytearray)):
        output = bytes(output).decode("utf-8")
    if isinstance(output, str):
        return json.loads(output)
    return output


def invoke(handlers: Handlers, model: Any, case: ModelCase) -> Any:
    body = case.body()
    if handlers.transform_fn is not None:
        return handlers.transform_fn(model, body, case.content_type, case.accept)
    assert handlers.input_fn and handlers.predict_fn and handlers.output_fn
    data = handlers.input_fn(body, case.content_type)
    prediction = handlers.predict_fn(data, model)
    return handlers.output_fn(prediction, case.accept)


def compare(expected: dict[str, Any], got: Any) -> tuple[str, ...]:
    """Keys of ``expected`` whose value differs in ``got`` (all of them if ``got`` is no object)."""
    if not isinstance(got, dict):
        return tuple(expected)
    return tuple(
        k for k, v in expected.items() if got.get(k, _MISSING) != v or type(got.get(k)) is bool and type(v) is not bool
    )


def run_cases(handlers: Handlers, model_dir: Path, cases: list[ModelCase]) -> ModelTestReport:
    """``model_fn`` once, then every case; handler errors become failed results, never exceptions."""
    started = time.perf_counter()
    model = handlers.model_fn(str(model_dir))
    report = ModelTestReport(model_dir=str(model_dir), load_ms=(time.perf_counter() - started) * 1000)
    for case in cases:
        started = time.perf_counter()
        try:
            got = decode_output(invoke(handlers, model, case))
        except Exception as exc:  # noqa: BLE001 (a handler error is a test result)
            elapsed = (time.perf_counter() - started) * 1000
            report.results.append(
                CaseResult(
                    case.name, False, case.response, None, elapsed, status=error_status(exc), error=_error_text(exc)
                )
            )
            continue
        elapsed = (time.perf_counter() - started) * 1000
        mismatched = compare(case.response, got)
        report.results.append(CaseResult(case.name, not mismatched, case.response, got, elapsed, mismatched=mismatched))
    return report
