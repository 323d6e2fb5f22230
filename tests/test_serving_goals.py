"""The verdicts of benchmarks/serving_goals.py: each goal decided by the right rows, errors never count."""

from __future__ import annotations

import importlib.util
import statistics
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def goals() -> ModuleType:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        spec = importlib.util.spec_from_file_location("serving_goals_bench", ROOT / "benchmarks" / "serving_goals.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # dataclasses look their module up there
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))


def _rows(goals: ModuleType, **overrides: tuple[float, float]) -> list:
    """A run where every goal is met; `overrides` replaces (req/s, p99) of `<path>_<config>_<conns>`."""
    figures = {
        (goals.CONTAINER, "batch16", 1): (3200, 0.8), (goals.CONTAINER, "batch16", 16): (15000, 3.0),
        (goals.CONTAINER, "batch16", 64): (20000, 7.0), (goals.INVOKE, "batch16", 1): (2000, 1.5),
        (goals.INVOKE, "batch16", 16): (8000, 6.0), (goals.INVOKE, "batch16", 64): (10000, 12.0),
        (goals.TORCHSERVE, "batch16", 64): (13000, 9.0), (goals.API, "batch16", 16): (900, 40.0),
        (goals.API, "batch16", 64): (1100, 90.0),
    }
    keys = {f"{p.split()[0]}_{cfg}_{c}": (p, cfg, c) for p, cfg, c in figures}
    for name, value in overrides.items():
        figures[keys[name]] = value
    return [goals.row(p, cfg, c, {"rps": rps, "p50_ms": p99 / 2, "p99_ms": p99, "non2xx": 0.0, "socket_errors": 0.0})
            for (p, cfg, c), (rps, p99) in figures.items()]


def _met(goals: ModuleType, rows: list) -> list[bool | None]:
    return [v.met for v in goals.evaluate(rows)]


def test_a_run_meeting_every_goal_is_judged_so(goals: ModuleType) -> None:
    verdicts = goals.evaluate(_rows(goals))
    assert [v.met for v in verdicts] == [True, True, True, True]
    assert "1.5x" in verdicts[0].evidence and "best 1,100 req/s" in verdicts[3].evidence


@pytest.mark.parametrize(
    ("override", "failed"),
    [
        ({"container_batch16_64": (12000, 7.0)}, 0),  # slower than TorchServe
        ({"container_batch16_64": (20000, 9.5)}, 0),  # faster, but a worse p99
        ({"container_batch16_1": (2999, 0.8)}, 1),
        ({"container_batch16_1": (3500, 1.01)}, 1),  # fast enough, p99 above 1 ms
        ({"InvokeEndpoint_batch16_16": (7400, 6.0)}, 2),  # 49 % at 16 connections
        ({"API_batch16_64": (999, 90.0)}, 3),
    ],
)
def test_each_goal_fails_on_its_own_figure(goals: ModuleType, override: dict, failed: int) -> None:
    expected: list[bool | None] = [True] * 4
    expected[failed] = False
    assert _met(goals, _rows(goals, **override)) == expected


def _paired(goals: ModuleType, port_rounds: tuple[float, ...], invoke_rounds: tuple[float, ...]) -> list:
    """The all-met run, with InvokeEndpoint at 16 connections measured in alternating rounds."""
    rows = [r for r in _rows(goals) if r.connections != 16 or r.path not in (goals.CONTAINER, goals.INVOKE)]
    for path, rounds in ((goals.CONTAINER, port_rounds), (goals.INVOKE, invoke_rounds)):
        figures = {"rps": statistics.median(rounds), "p50_ms": 1.0, "p99_ms": 3.0, "non2xx": 0.0, "socket_errors": 0.0}
        rows.append(goals.row(path, "batch16", 16, figures, rounds))
    return rows


def test_the_share_is_judged_on_rounds_measured_back_to_back(goals: ModuleType) -> None:
    # the port's second round fell in a slow minute: the medians' ratio (7,000 / 16,000) says 44 %, but
    # each pair says InvokeEndpoint kept 44 %, 88 % and 51 % of what the port did in the same minute
    verdict = goals.evaluate(_paired(goals, (16000, 8000, 16000), (7000, 7000, 8100)))[2]
    assert verdict.met is True and "51% at 16 (rounds 44%-88%)" in verdict.evidence
    verdict = goals.evaluate(_paired(goals, (15000, 15000, 15000), (7400, 7600, 7400)))[2]
    assert verdict.met is False and "49%" in verdict.evidence
    # rounds that do not pair up (a different count) fall back to the rows' ratio
    assert goals.evaluate(_paired(goals, (16000, 8000, 16000), (7000, 7000)))[2].met is False


def test_rows_with_errors_or_missing_rows_are_not_measured(goals: ModuleType) -> None:
    rows = _rows(goals)
    for errors in ({"non2xx": 5.0, "socket_errors": 0.0}, {"non2xx": 0.0, "socket_errors": 1.0}):
        fast = {"rps": 30000.0, "p50_ms": 0.1, "p99_ms": 0.2, **errors}
        broken = [goals.row(r.path, r.config, r.connections, fast)
                  if r.path == goals.CONTAINER and r.connections == 1 else r for r in rows]
        assert _met(goals, broken)[1] is None  # a fast run with errors proves nothing
    without_torchserve = [r for r in rows if r.path != goals.TORCHSERVE]
    assert _met(goals, without_torchserve) == [None, True, True, True]
    assert _met(goals, []) == [None, None, None, None]


def test_the_gauges_say_what_the_machine_did_beside_the_two_hardest_goals(goals: ModuleType) -> None:
    gauges = {"floor_us": 200.0, "round_trip_rps": 5000.0, "round_trip_p99_ms": 1.83,
              "cores": 2.0, "invoke_endpoint_cpu_us": 1742.0}
    rows = _rows(goals, container_batch16_1=(2400, 2.0), API_batch16_64=(420, 200.0))
    verdicts = goals.evaluate(rows, gauges)
    assert "5,000 req/s (200 us a round trip), p99 1.83 ms" in verdicts[1].limit
    assert "model alone takes 200 us" in verdicts[1].limit
    assert "2,000 us of CPU" in verdicts[3].limit and "1,742 us (87%)" in verdicts[3].limit
    # an API row measured with its processes' CPU says how many cores the goal's rate would take
    api = goals.row(goals.API, "batch16", 64, {"rps": 450.0, "p50_ms": 100.0, "p99_ms": 190.0, "non2xx": 0.0,
                                              "socket_errors": 0.0, "service_cpu_ms": 0.6, "lambda_cpu_ms": 2.5,
                                              "model_cpu_ms": 0.4})
    limit = goals.evaluate([*(r for r in rows if r.path != goals.API), api], gauges)[3].limit
    assert "the path took 3,500 us a request at 64 connections (3.5 cores at 1,000 req/s" in limit
    assert [v.met for v in verdicts] == [True, False, True, False]  # the limits explain, they never judge
    assert [(v.met, v.evidence) for v in goals.evaluate(rows)] == [(v.met, v.evidence) for v in verdicts]
    assert verdicts[0].limit == verdicts[2].limit == ""
    # without the gauges (or with some missing) nothing is claimed about the machine
    assert all(v.limit == "" for v in goals.evaluate(rows))
    assert goals.evaluate(rows, {"floor_us": 200.0, "cores": 2.0})[1].limit == ""
