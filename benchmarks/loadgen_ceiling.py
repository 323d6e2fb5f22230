#!/usr/bin/env python3
"""The load generator's own ceiling on this machine, side by side with wrk, against a trivial server.

The server (orchestrator.loadtest.fakeserver, uvloop + httptools, fixed JSON response) runs in its own
process pinned to the last CPU; the generator (a fresh process per step) and wrk are pinned to CPU 0.
Reported per core (the generator is single-threaded; wrk runs with -t1):

- open loop: the highest constant rate the generator sustains (completed >= 99% of target, no drops,
  send lag p50 < --max-lag-p50-ms, default 5 ms: the median request leaves on time), stepping up;
- closed loop, unpaced: ``concurrency`` connections each sending back-to-back (wrk's own method),
  for the generator's client and, for comparison, aiohttp's (the alternative it was chosen over);
- CPU time per request of the generator (process time / requests): 1e6 / that is the ceiling of a
  fully busy core, and is far less sensitive to noisy neighbours than the throughput figures.

    .venv/bin/python benchmarks/loadgen_ceiling.py [--step-sec 5] [--connections 50]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BODY = '{"sentence":"Baseball is one of the most popular sports in the United States."}'
RATES = [1000, 2000, 3000, 4000, 5000, 6000, 8000, 10000, 12000, 14000, 16000, 20000]


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "n/a"


def cpus() -> tuple[int | None, int | None]:
    """(generator CPU, server CPU), or Nones when affinity is not available / one CPU."""
    if not hasattr(os, "sched_getaffinity"):
        return None, None
    available = sorted(os.sched_getaffinity(0))
    if len(available) < 2:
        return None, None
    return available[0], available[-1]


def start_server(cpu: int | None) -> tuple[subprocess.Popen[str], str]:
    from orchestrator.loadtest import fakeserver

    proc, port = fakeserver.spawn() if cpu is None else fakeserver.spawn(cpu=cpu)
    return proc, f"http://127.0.0.1:{port}/text"


def child(args: argparse.Namespace) -> None:
    """One generator step in this (pinned) process; prints a JSON line."""
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})
    from orchestrator.loadtest import engine
    from orchestrator.loadtest.cases import Case
    from orchestrator.loadtest.summary import summarize
    from orchestrator.loadtest.targets import build_target

    target = build_target(args.url, [Case("bench", BODY.encode())], kind="api")
    closed = args.mode == "closed"
    config = engine.RunConfig(
        rate=args.rate,
        duration=args.duration,
        warmup=1.0,
        arrival="closed" if closed else "constant",
        concurrency=args.connections,
        max_in_flight=args.connections if not closed else 1024,
        timeout=5.0,
    )
    cpu0 = time.process_time()
    result = engine.run(config, target)
    cpu = time.process_time() - cpu0  # the run only, not the end-of-run percentile walks
    s = summarize(result)
    rec = result.recorder
    total = rec.completed + rec.sent_total - rec.sent_measured  # warmup requests cost CPU too
    print(
        json.dumps(
            {
                "rate": args.rate,
                "achieved": s["achieved_rate"],
                "completed": s["completed_rate"],
                "drops": s["requests"]["drops"],
                "errors": s["requests"]["errors"],
                "lag_p50": s["send_lag_ms"]["p50"],
                "lag_p99": s["send_lag_ms"]["p99"],
                "lat_p50": s["latency_ms"]["p50"],
                "lat_p99": s["latency_ms"]["p99"],
                "cpu_us_per_req": cpu / max(1.0, total) * 1e6,
            }
        )
    )


def aiohttp_child(args: argparse.Namespace) -> None:
    """aiohttp's client, closed loop with ``connections`` workers: the alternative the hand-rolled client
    was measured against (same core, same server)."""
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})
    import asyncio

    import aiohttp
    import uvloop

    async def main() -> tuple[float, int]:
        connector = aiohttp.TCPConnector(limit=args.connections)
        done = 0
        async with aiohttp.ClientSession(connector=connector) as session:
            end = time.perf_counter() + args.duration

            async def worker() -> None:
                nonlocal done
                while time.perf_counter() < end:
                    async with session.post(args.url, data=BODY, headers={"Content-Type": "application/json"}) as r:
                        await r.read()
                    done += 1

            await asyncio.gather(*(worker() for _ in range(args.connections)))
        return done / args.duration, done

    cpu0 = time.process_time()
    rate, done = uvloop.run(main())
    cpu = time.process_time() - cpu0
    print(json.dumps({"completed": rate, "cpu_us_per_req": cpu / max(1, done) * 1e6}))


def run_child(url: str, cpu: int | None, mode: str, rate: float, duration: float, connections: int) -> dict:
    cmd = [
        sys.executable,
        __file__,
        "--child",
        "--url",
        url,
        "--mode",
        mode,
        "--rate",
        str(rate),
        "--duration",
        str(duration),
        "--connections",
        str(connections),
    ]
    if cpu is not None:
        cmd += ["--cpu", str(cpu)]
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=duration + 60, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_wrk(url: str, cpu: int | None, duration: float, connections: int) -> dict[str, float] | None:
    """wrk's requests/s and its CPU time per request (from the children's rusage)."""
    if shutil.which("wrk") is None:
        return None
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(
            f'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nwrk.body = {json.dumps(BODY)}\n'
        )
        script = f.name
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{int(duration)}s", "-s", script, url]
    if cpu is not None and shutil.which("taskset"):
        cmd = ["taskset", "-c", str(cpu), *cmd]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 30, check=True).stdout
    finally:
        os.unlink(script)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_s = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    if not rps or not total:
        return None
    return {"completed": float(rps.group(1)), "cpu_us_per_req": cpu_s / max(1, int(total.group(1))) * 1e6}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--step-sec", type=float, default=5.0, help="measured seconds per step (5)")
    parser.add_argument("--connections", type=int, default=50, help="connections of the closed loop and wrk (50)")
    parser.add_argument("--rates", help="comma-separated open-loop rates (default: a ladder 1000..20000)")
    parser.add_argument("--tries", type=int, default=2, help="runs of an open-loop step before it fails (2)")
    parser.add_argument("--max-lag-p50-ms", type=float, default=5.0, help="open-loop step fails above this (5)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--mode", default="open", help=argparse.SUPPRESS)
    parser.add_argument("--rate", type=float, default=1000.0, help=argparse.SUPPRESS)
    parser.add_argument("--duration", type=float, default=5.0, help=argparse.SUPPRESS)
    parser.add_argument("--cpu", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        aiohttp_child(args) if args.mode == "aiohttp" else child(args)
        return 0

    gen_cpu, server_cpu = cpus()
    print(f"CPUs: generator/wrk on {gen_cpu}, server on {server_cpu}; load average before: {loadavg()}")
    server, url = start_server(server_cpu)
    try:
        best_open, cpu_per_req, failures = 0.0, [], 0
        print(
            f"{'target/s':>9} {'achieved':>9} {'completed':>9} {'drops':>6} {'lag p50':>8} {'lag p99':>8} "
            f"{'lat p50':>8} {'lat p99':>8} {'cpu us/req':>10}  verdict"
        )
        rates = [float(r) for r in args.rates.split(",")] if args.rates else RATES
        for rate in rates:
            for _ in range(args.tries):  # a busy host can spoil one step: retry before calling it a failure
                r = run_child(url, gen_cpu, "open", rate, args.step_sec, 1024)
                ok = (
                    r["achieved"] >= 0.99 * rate
                    and r["completed"] >= 0.99 * rate
                    and r["drops"] == 0
                    and r["errors"] == 0
                    and r["lag_p50"] < args.max_lag_p50_ms
                )
                if ok:
                    break
            cpu_per_req.append(r["cpu_us_per_req"])
            print(
                f"{rate:>9.0f} {r['achieved']:>9.0f} {r['completed']:>9.0f} {r['drops']:>6} {r['lag_p50']:>8.3f} "
                f"{r['lag_p99']:>8.2f} {r['lat_p50']:>8.3f} {r['lat_p99']:>8.2f} {r['cpu_us_per_req']:>10.1f}  "
                f"{'ok' if ok else 'FAIL'}",
                flush=True,
            )
            if ok:
                best_open = rate
                failures = 0
            else:
                failures += 1
                if failures >= 2:
                    break
        closed = run_child(url, gen_cpu, "closed", 1e7, args.step_sec, args.connections)
        aio = run_child(url, gen_cpu, "aiohttp", 0, args.step_sec, args.connections)
        wrk = run_wrk(url, gen_cpu, args.step_sec, args.connections)
    finally:
        server.kill()
        server.wait()
    cpu_floor = min(cpu_per_req) if cpu_per_req else float("nan")
    conns = args.connections
    rows = [
        ("generator, open loop, sustained", best_open, cpu_floor),
        (f"generator, closed loop, {conns} conns", closed["completed"], closed["cpu_us_per_req"]),
        (f"aiohttp client, closed, {conns} conns", aio["completed"], aio["cpu_us_per_req"]),
    ]
    if wrk is not None:
        rows.append((f"wrk -t1 -c{conns}", wrk["completed"], wrk["cpu_us_per_req"]))
    print()
    print(f"{'client, pinned to 1 core':<34} {'req/s':>9} {'CPU us/req':>11} {'1e6/CPU us':>11}")
    print(f"{'-' * 34} {'-' * 9} {'-' * 11} {'-' * 11}")
    for name, rps, cpu_us in rows:
        print(f"{name:<34} {rps:>9.0f} {cpu_us:>11.1f} {1e6 / cpu_us:>11.0f}")
    if wrk is None:
        print("(wrk not installed: apt-get install -y wrk)")
    print("req/s: measured; 1e6/CPU us: what one fully busy core would do at that CPU cost per request")
    print("(the generator's open-loop CPU cost is its lowest over the steps: its cost when saturated)")
    print(f"load average after: {loadavg()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
