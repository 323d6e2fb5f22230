"""find-max: the highest rate that meets an SLO, and what an inference costs at that rate.

The search steps the rate up geometrically until a step breaks the SLO (p99, error rate with drops
counted as errors), then bisects between the last good and the first bad rate. Cost follows
SageMaker Inference Recommender: CostPerInference = CostPerHour / (MaxRequestsPerSec x 3600), with
CostPerHour = sum over variants of instance_count x price per instance-hour (a dated table in
``orchestrator/data/sagemaker_prices.json``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PRICES_PATH = Path(__file__).resolve().parent.parent / "data" / "sagemaker_prices.json"
# A step whose completed rate falls this far below its target did not sustain it.
MIN_COMPLETED_SHARE = 0.95


@dataclass(frozen=True)
class Slo:
    p99_ms: float
    max_error_rate: float = 0.01


@dataclass
class Step:
    rate: float
    p99_ms: float
    error_rate: float
    completed_rate: float
    achieved_rate: float
    generator_behind: bool
    ok: bool
    reason: str


@dataclass
class FindMaxResult:
    slo: Slo
    max_rate: float | None  # highest rate that met the SLO (None: even the start rate failed)
    steps: list[Step] = field(default_factory=list)
    limited_by_generator: bool = False  # a step could not send its rate: the limit is the client's
    lagging_steps: int = 0  # steps whose send lag p99 exceeded --max-send-lag-ms (noisy client host)

    def to_dict(self) -> dict[str, Any]:
        return {
            "slo": {"p99_ms": self.slo.p99_ms, "max_error_rate": self.slo.max_error_rate},
            "max_sustainable_rate": self.max_rate,
            "limited_by_generator": self.limited_by_generator,
            "lagging_steps": self.lagging_steps,
            "steps": [vars(s) for s in self.steps],
        }


def judge(rate: float, summary: dict[str, Any], slo: Slo) -> Step:
    p99 = float(summary["latency_ms"]["p99"])
    err = float(summary["error_rate"])
    completed = float(summary["completed_rate"])
    reasons = []
    if p99 > slo.p99_ms:
        reasons.append(f"p99 {p99:.1f} ms > {slo.p99_ms:g} ms")
    if err > slo.max_error_rate:
        reasons.append(f"error rate {err * 100:.2f}% > {slo.max_error_rate * 100:g}%")
    if completed < MIN_COMPLETED_SHARE * rate:
        reasons.append(f"completed {completed:.1f}/s < {MIN_COMPLETED_SHARE:.0%} of target")
    achieved = float(summary.get("achieved_rate", rate))
    return Step(
        rate,
        p99,
        err,
        completed,
        achieved,
        bool(summary.get("generator_behind")),
        not reasons,
        "; ".join(reasons) or "meets SLO",
    )


def find_max(
    run_step: Callable[[float], dict[str, Any]],
    slo: Slo,
    *,
    start_rate: float,
    step_factor: float = 1.5,
    max_rate: float = 100_000.0,
    bisect_steps: int = 3,
    resolution: float = 0.05,
    on_step: Callable[[Step], None] | None = None,
) -> FindMaxResult:
    """Step up from ``start_rate`` by ``step_factor`` until the SLO breaks, then bisect.

    ``run_step(rate)`` runs one load test and returns its summary. Bisection stops after
    ``bisect_steps`` runs or when bad/good is within ``resolution``.
    """
    if start_rate <= 0 or step_factor <= 1:
        raise ValueError("start rate must be positive and step factor > 1")
    result = FindMaxResult(slo, None)

    def attempt(rate: float) -> Step:
        step = judge(rate, run_step(rate), slo)
        result.steps.append(step)
        result.lagging_steps += step.generator_behind
        if on_step:
            on_step(step)
        return step

    good: float | None = None
    bad: float | None = None
    rate = start_rate
    while rate <= max_rate:
        step = attempt(rate)
        if not step.ok:
            bad = rate
            break
        good = rate
        if step.achieved_rate < MIN_COMPLETED_SHARE * rate:  # the client could not even send: stop climbing
            result.limited_by_generator = True
            break
        rate = rate * step_factor
    if bad is not None:
        low = good if good is not None else 0.0
        for _ in range(bisect_steps):
            if low > 0 and bad / low <= 1 + resolution:
                break
            mid = (low + bad) / 2 if low > 0 else bad / step_factor
            if attempt(mid).ok:
                low = good = mid
            else:
                bad = mid
    result.max_rate = good
    return result


# ---- cost ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PriceTable:
    written: str
    source: str
    regions: dict[str, dict[str, float]]

    def price(self, region: str, instance_type: str) -> float:
        try:
            return self.regions[region][instance_type]
        except KeyError:
            raise KeyError(
                f"no price for {instance_type} in {region} (table of {self.written}); add it to {PRICES_PATH.name}"
            ) from None


def load_prices(path: Path = PRICES_PATH) -> PriceTable:
    data = json.loads(path.read_text())
    meta = data.get("_meta", {})
    return PriceTable(
        str(meta.get("written", "unknown")),
        str(meta.get("source", "")),
        {r: {k: float(v) for k, v in t.items()} for r, t in data["regions"].items()},
    )


@dataclass(frozen=True)
class VariantCapacity:
    name: str
    instance_type: str
    instance_count: int


def cost(
    variants: list[VariantCapacity], region: str, max_rps: float | None, prices: PriceTable | None = None
) -> dict[str, Any]:
    """CostPerHour (sum of instance_count x price) and cost per inference / per 1,000 at ``max_rps``."""
    prices = prices or load_prices()
    lines = []
    per_hour = 0.0
    for v in variants:
        price = prices.price(region, v.instance_type)
        per_hour += price * v.instance_count
        lines.append(
            {
                "variant": v.name,
                "instance_type": v.instance_type,
                "instance_count": v.instance_count,
                "price_per_instance_hour": price,
                "cost_per_hour": round(price * v.instance_count, 6),
            }
        )
    per_inference = per_hour / (max_rps * 3600) if max_rps else None
    return {
        "region": region,
        "prices_written": prices.written,
        "variants": lines,
        "cost_per_hour": round(per_hour, 6),
        "max_requests_per_sec": max_rps,
        "cost_per_inference": per_inference,
        "cost_per_1000_inferences": per_inference * 1000 if per_inference is not None else None,
    }
