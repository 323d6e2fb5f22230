"""Every serving path of the local data plane side by side in one run, and a verdict on each goal.

One run measures, in this order on the same machine:
  * the model's floor (its handlers in one process, no HTTP), a gauge of the machine's speed: every
    figure below scales with it, and this VM drifts by 2x;
  * the machine's own round trip: wrk at 1 connection against a server that does nothing (the second
    gauge: a comparison for the one-connection figures, not a bound, since our workers poll for the
    next request after a lone one and that server sleeps);
  * the runtime serving one variant, batch 1 and batch 16 / 5 ms, at 1, 16 and 64 connections, through
    the instance's container port and through InvokeEndpoint with 100 % data capture, the issue's path
    "variant routing, capture, metrics" (`serving_runtime.bench_runtime`). At each connection count the
    two paths alternate in `--rounds` short runs, and a row is the median of its runs: on this VM two
    paths measured half a minute apart differed by the minute more than by the path;
  * one boto3 `invoke_endpoint` call's CPU (the third gauge), then API Gateway -> the unmodified
    predictor Lambda -> InvokeEndpoint (`api_lambda_path.measure_cases`);
  * TorchServe with the same model, both configs (skipped when its venv is missing: TORCHSERVE_VENV).

Then it prints one table and the goals, each with the figures that decide it:
  1. batched: the container port at 64 connections (batch 16) >= TorchServe batch 16 at 64, p99 no worse;
  2. one connection: the same configuration at 1 connection >= 3,000 req/s with p99 <= 1 ms;
  3. InvokeEndpoint keeps >= 50 % of the container port's throughput (batch 16, every connection count;
     the share is the median of the rounds' paired shares, each pair measured back to back);
  4. API -> Lambda -> runtime sustains >= 1,000 req/s (its best connection count).
A row with non-2xx answers or socket errors counts as not measured. Goals 2 and 4 also print, from the
gauges, what this machine did in the hour of the run: the do-nothing server's req/s and p99 at one
connection next to the model's floor (a comparison: the workers poll after a lone request, that server
sleeps); the CPU each API request may use at 1,000 req/s on these cores, against what the predictor's
boto3 call alone takes (a budget: every request makes that call).

    .venv/bin/python benchmarks/serving_goals.py [--duration 10] [--rounds 5] [--plot goals.png] [--json out.json]

Needs `wrk` (Debian: apt-get install -y wrk); the TorchServe side needs its venv
(`pip install torchserve torch-model-archiver pyyaml` in TORCHSERVE_VENV, default /tmp/ts-venv).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import sys
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import api_lambda_path
import serving_runtime

CONNECTIONS = (1, 16, 64)
CONFIGS = (("batch1", 1, 100), ("batch16", 16, 5))  # label, SAGEMAKER_TS_BATCH_SIZE, max delay (ms)

CONTAINER, INVOKE, API, TORCHSERVE = "container port", "InvokeEndpoint", "API -> Lambda -> runtime", "torchserve"


@dataclass(frozen=True)
class Row:
    """One measured point: a path, a serving configuration, a connection count and wrk's figures."""

    path: str
    config: str
    connections: int
    rps: float
    p50_ms: float
    p99_ms: float
    clean: bool  # every answer 2xx and no socket error
    round_rps: tuple[float, ...] = ()  # req/s of each alternating round, in order (paired across paths)
    cpu_us: float = math.nan  # API rows: CPU per request of the service, the Lambdas and the runtime (not wrk)


@dataclass(frozen=True)
class Verdict:
    goal: str
    met: bool | None  # None: not measured in this run
    evidence: str
    limit: str = ""  # what this machine did in this hour (from the gauges), beside the verdict; never decides it


def row(path: str, config: str, connections: int, figures: dict[str, float], round_rps: tuple[float, ...] = ()) -> Row:
    clean = figures["non2xx"] == 0 and figures["socket_errors"] == 0 and not math.isnan(figures["rps"])
    parts = [figures[k] for k in ("service_cpu_ms", "lambda_cpu_ms", "model_cpu_ms") if k in figures]
    cpu_us = sum(parts) * 1000 if parts else math.nan
    return Row(path, config, connections, figures["rps"], figures["p50_ms"], figures["p99_ms"], clean, round_rps, cpu_us)


def share(invoke: Row, port: Row) -> tuple[float, tuple[float, ...]]:
    """InvokeEndpoint's share of the container port's req/s: the median of the paired rounds' shares
    (each pair measured back to back), or the rows' ratio when they were not measured in pairs."""
    if invoke.round_rps and len(invoke.round_rps) == len(port.round_rps):
        pairs = tuple(i / p for i, p in zip(invoke.round_rps, port.round_rps, strict=True))
        return statistics.median(pairs), pairs
    return invoke.rps / port.rps, ()


def _find(rows: Iterable[Row], path: str, config: str, connections: int) -> Row | None:
    for r in rows:
        if (r.path, r.config, r.connections) == (path, config, connections) and r.clean:
            return r
    return None


def _fig(r: Row) -> str:
    return f"{r.rps:,.0f} req/s, p99 {r.p99_ms:.2f} ms"


def one_connection_limit(gauges: Mapping[str, float]) -> str:
    """One connection on this machine this hour: the do-nothing server's figures and the model's floor.

    A comparison, not a bound: the workers poll for the next request after a lone one (the do-nothing
    server sleeps), so the container port's round trip can be shorter than that server's; but the p99
    of a server that does nothing says how much of a 1 ms tail the machine itself takes."""
    if not {"floor_us", "round_trip_rps", "round_trip_p99_ms"} <= gauges.keys():
        return ""
    return (f"for comparison, this hour: a server that does nothing answers 1 connection at "
            f"{gauges['round_trip_rps']:,.0f} req/s ({1e6 / gauges['round_trip_rps']:.0f} us a round trip), "
            f"p99 {gauges['round_trip_p99_ms']:.2f} ms; the model alone takes {gauges['floor_us']:.0f} us a request")


def api_limit(gauges: Mapping[str, float], best: Row, goal_rps: float = 1000) -> str:
    """The CPU each API request may take at the goal's rate on these cores, against the predictor's own
    boto3 call (which every request makes) and what the path took per request at its best point."""
    if not {"cores", "invoke_endpoint_cpu_us"} <= gauges.keys():
        return ""
    budget = gauges["cores"] * 1e6 / goal_rps
    call = gauges["invoke_endpoint_cpu_us"]
    text = (f"at {goal_rps:,.0f} req/s, {gauges['cores']:.0f} cores give each request {budget:,.0f} us of CPU for "
            f"everything (wrk, gateway, Lambda, runtime, model); the predictor's boto3 call alone takes "
            f"{call:,.0f} us ({call / budget:.0%})")
    if not math.isnan(best.cpu_us):
        text += (f"; the path took {best.cpu_us:,.0f} us a request at {best.connections} connections "
                 f"({best.cpu_us * goal_rps / 1e6:.1f} cores at {goal_rps:,.0f} req/s, wrk aside)")
    return text


def evaluate(rows: list[Row], gauges: Mapping[str, float] | None = None) -> list[Verdict]:
    """The issue's four performance goals against one run's rows (and, with its gauges, what the
    machine did beside the two goals they concern)."""
    gauges = gauges or {}
    verdicts = []
    ours, theirs = _find(rows, CONTAINER, "batch16", 64), _find(rows, TORCHSERVE, "batch16", 64)
    goal = "batched: container port >= TorchServe batch 16 at 64 connections, p99 no worse"
    if ours is None or theirs is None:
        verdicts.append(Verdict(goal, None, "not measured" + ("" if ours else " (ours)") + ("" if theirs else " (TorchServe)")))
    else:
        met = ours.rps >= theirs.rps and ours.p99_ms <= theirs.p99_ms
        verdicts.append(Verdict(goal, met, f"ours {_fig(ours)}; TorchServe {_fig(theirs)} ({ours.rps / theirs.rps:.1f}x)"))

    lone = _find(rows, CONTAINER, "batch16", 1)
    goal = "one connection: >= 3,000 req/s with p99 <= 1 ms (batch 16 / 5 ms, the same configuration)"
    verdicts.append(
        Verdict(goal, None, "not measured")
        if lone is None
        else Verdict(goal, lone.rps >= 3000 and lone.p99_ms <= 1.0, _fig(lone), one_connection_limit(gauges))
    )

    shares = []
    for c in CONNECTIONS:
        port, invoke = _find(rows, CONTAINER, "batch16", c), _find(rows, INVOKE, "batch16", c)
        if port is not None and invoke is not None:
            shares.append((c, *share(invoke, port)))
    goal = "InvokeEndpoint >= 50 % of the container port's throughput (batch 16, each connection count)"

    def told(c: int, median: float, pairs: tuple[float, ...]) -> str:
        spread = f" (rounds {min(pairs):.0%}-{max(pairs):.0%})" if len(pairs) > 1 else ""
        return f"{median:.0%} at {c}{spread}"

    verdicts.append(
        Verdict(goal, None, "not measured")
        if len(shares) < len(CONNECTIONS)
        else Verdict(goal, all(s >= 0.5 for _, s, _ in shares), ", ".join(told(*s) for s in shares))
    )

    api = [r for r in rows if r.path == API and r.clean]
    goal = "API -> Lambda -> runtime sustains >= 1,000 req/s"
    if not api:
        verdicts.append(Verdict(goal, None, "not measured"))
    else:
        best = max(api, key=lambda r: r.rps)
        verdicts.append(Verdict(goal, best.rps >= 1000, f"best {_fig(best)} at {best.connections} connections",
                                api_limit(gauges, best)))
    return verdicts


def measure(duration: int, torchserve_venv: Path, tmp: Path, rounds: int = 5) -> tuple[dict[str, float], list[Row]]:
    """Run every path; returns the gauges and the rows, printing each row as it is measured."""
    model_dir = serving_runtime.build_model(tmp / "model")
    lua = tmp / "post.lua"
    lua.write_text(serving_runtime.WRK_LUA)
    alone, batched = serving_runtime.measure_floor(model_dir)
    gauges = {"floor_us": alone, "floor_batched_us": batched, "speed_vs_issue": 85 / alone,
              "cores": float(len(os.sched_getaffinity(0)))}
    print(f"floor: {alone:.0f} us per request alone, {batched:.1f} batched by 64 "
          f"({gauges['speed_vs_issue']:.0%} of the issue machine's speed, which measured ~80-90 and ~11)", flush=True)
    trip = serving_runtime.measure_round_trip(lua)
    if row("do-nothing server", "", 1, trip).clean:  # the same rule as every row: no errors, a figure
        gauges["round_trip_rps"], gauges["round_trip_p99_ms"] = trip["rps"], trip["p99_ms"]
        print(f"a server that does nothing, 1 connection: {trip['rps']:,.0f} req/s, p50 {trip['p50_ms']:.2f} ms, "
              f"p99 {trip['p99_ms']:.2f} ms (this machine's own round trip)", flush=True)
    else:
        print("the do-nothing server's round trip could not be measured", flush=True)
    rows: list[Row] = []

    def show(r: Row) -> None:
        rows.append(r)
        print(f"{r.path:<26}{r.config:<9}{r.connections:>6}{r.rps:>10.0f}{r.p50_ms:>9.2f}{r.p99_ms:>9.2f}"
              f"{'' if r.clean else '   errors'}", flush=True)

    print(f"InvokeEndpoint with 100 % data capture; each runtime row the median of {rounds} runs alternating "
          "with the other path's", flush=True)
    print(f"{'path':<26}{'config':<9}{'conns':>6}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}", flush=True)
    envs = {label: {"SAGEMAKER_MODEL_SERVER_WORKERS": "2", "SAGEMAKER_TS_BATCH_SIZE": str(batch),
                    "SAGEMAKER_TS_MAX_BATCH_DELAY": str(delay)} for label, batch, delay in CONFIGS}
    for label, env in envs.items():
        points = serving_runtime.bench_runtime(model_dir, env, list(CONNECTIONS), duration, tmp / f"capture-{label}", lua, rounds)
        for path, c, r, round_rps in points:
            show(row(CONTAINER if path == "container" else INVOKE, label, c, r, round_rps))
    # the same model behind the API, in the batched configuration: the predictor sends one sentence a call
    gauge, _ = api_lambda_path.measure_cases(
        ["predictor"], list(CONNECTIONS), duration, 5, tmp / "api", model_dir=model_dir, model_env=envs["batch16"],
        show=lambda api_row: show(row(API, "batch16", api_row[2], api_row[3])),
    )
    if gauge is not None:
        gauges["invoke_endpoint_cpu_us"] = gauge
        print(f"boto3 invoke_endpoint alone: {gauge:.0f} us of CPU per call (inside every predictor request)", flush=True)
    # TorchServe last: a JVM shutting down slowed whatever was measured right after it.
    if (torchserve_venv / "bin" / "torchserve").exists():
        for label, batch, delay in CONFIGS:
            for c, r in serving_runtime.bench_torchserve(model_dir, batch, delay, list(CONNECTIONS), duration, lua, torchserve_venv):
                show(row(TORCHSERVE, label, c, r))
    else:
        print(f"TorchServe not found in {torchserve_venv}: its rows and the batched goal are not measured", flush=True)
    return gauges, rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds of wrk per point")
    parser.add_argument("--rounds", type=int, default=5,
                        help="container port and InvokeEndpoint alternate in this many runs per point")
    parser.add_argument("--torchserve-venv", type=Path, default=Path(os.environ.get("TORCHSERVE_VENV", "/tmp/ts-venv")))
    parser.add_argument("--plot", type=Path, default=None, metavar="PNG", help="req/s and p99 of every path, as bars")
    parser.add_argument("--json", type=Path, default=None, help="write the gauges, rows and verdicts here")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is not installed (apt-get install -y wrk)", file=sys.stderr)
        return 2
    tmp = Path(tempfile.mkdtemp(prefix="serving-goals-"))
    try:
        gauges, rows = measure(args.duration, args.torchserve_venv, tmp, max(1, args.rounds))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    verdicts = evaluate(rows, gauges)
    print("\ngoals:")
    for v in verdicts:
        mark = "not measured" if v.met is None else "MET" if v.met else "not met"
        print(f"  [{mark}] {v.goal}: {v.evidence}")
        if v.limit:
            print(f"      {v.limit}")
    if args.plot:
        plotted = [(r.path, r.config, r.connections, {"rps": r.rps, "p99_ms": r.p99_ms}) for r in rows]
        print(f"figure: {serving_runtime.plot(plotted, args.plot, gauges['floor_us'])}")
    if args.json:
        args.json.write_text(json.dumps({"gauges": gauges, "rows": [asdict(r) for r in rows],
                                         "verdicts": [asdict(v) for v in verdicts]}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
