"""find-max against a server with a known capacity, and the cost arithmetic."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orchestrator.cli import main
from orchestrator.loadtest import capacity

pytestmark = pytest.mark.timeout(90)


def test_find_max_finds_the_capacity_of_a_serial_server(fake_server, tmp_path: Path, capsys) -> None:
    # one request at a time, 20 ms each: capacity 50 req/s (long enough that scheduler noise of a
    # busy machine stays well under the SLO)
    url = fake_server("serial", service_ms=20)
    out = tmp_path / "cap"
    code = main(
        [
            "load-test",
            "--env",
            "local",
            "--url",
            f"{url}/text",
            "--find-max",
            "--slo-p99",
            "150",
            "--start-rate",
            "20",
            "--step-factor",
            "1.5",
            "--step-duration",
            "1.5",
            "--warmup",
            "0.3",
            "--bisect-steps",
            "2",
            "--out",
            str(out),
            "--quiet",
            "--no-report",
        ]
    )
    assert code == 0
    doc = json.loads((out / "capacity.json").read_text())
    rates = [s["rate"] for s in doc["steps"]]
    assert rates[:3] == [20, 30, 45]
    assert 42 <= doc["max_sustainable_rate"] <= 58, doc["steps"]
    assert any(not s["ok"] for s in doc["steps"])
    # cost: the local environment serves model-a and model-b on 1 x ml.c5.large each
    cost = doc["cost"]
    assert cost["cost_per_hour"] == pytest.approx(2 * 0.102)
    assert cost["cost_per_1000_inferences"] == pytest.approx(1000 * 0.204 / (doc["max_sustainable_rate"] * 3600))
    assert (out / "steps").is_dir() and not (out / "report.html").exists()  # --no-report
    assert "per 1,000 inferences" in capsys.readouterr().out


def test_find_max_search_logic_without_a_server() -> None:
    def fake(rate: float) -> dict:
        p99 = 10.0 if rate <= 333 else 500.0
        return {
            "latency_ms": {"p99": p99},
            "error_rate": 0.0,
            "completed_rate": rate,
            "achieved_rate": rate,
            "generator_behind": False,
        }

    found = capacity.find_max(fake, capacity.Slo(100), start_rate=100, step_factor=2, bisect_steps=5)
    assert [s.rate for s in found.steps][:3] == [100, 200, 400]
    assert 300 <= found.max_rate <= 333
    nothing = capacity.find_max(
        lambda r: {**fake(r), "error_rate": 0.5}, capacity.Slo(100), start_rate=100, bisect_steps=2
    )
    assert nothing.max_rate is None


def test_cost_per_inference_like_inference_recommender() -> None:
    table = capacity.PriceTable("2026-11-25", "test", {"us-east-1": {"ml.c5.large": 0.1, "ml.m5.xlarge": 0.25}})
    variants = [capacity.VariantCapacity("a", "ml.c5.large", 2), capacity.VariantCapacity("b", "ml.m5.xlarge", 1)]
    c = capacity.cost(variants, "us-east-1", 100.0, table)
    assert c["cost_per_hour"] == pytest.approx(0.45)
    assert c["cost_per_inference"] == pytest.approx(0.45 / (100 * 3600))
    assert c["cost_per_1000_inferences"] == pytest.approx(0.45 / 360)
    with pytest.raises(KeyError, match="ml.p3.2xlarge"):
        capacity.cost([capacity.VariantCapacity("x", "ml.p3.2xlarge", 1)], "us-east-1", 1.0, table)


def test_shipped_price_table_is_dated_and_covers_both_regions() -> None:
    data = json.loads(capacity.PRICES_PATH.read_text())
    assert data["_meta"]["written"] and "refresh" in data["_meta"] and data["_meta"]["source"]
    for region in ("us-east-1", "us-east-2"):
        prices = data["regions"][region]
        for itype in ("ml.c5.large", "ml.c5.xlarge", "ml.m5.large", "ml.m5.xlarge", "ml.t2.medium"):
            assert 0 < prices[itype] < 10
    table = capacity.load_prices()
    assert table.price("us-east-2", "ml.c5.large") == data["regions"]["us-east-2"]["ml.c5.large"]
