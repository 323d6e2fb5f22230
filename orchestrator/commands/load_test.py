"""``orchestrator load-test``: open-loop load test of an environment's API or endpoint; ``--find-max``
searches the highest rate meeting a p99/error SLO and prices it.

Argument parsing only: the verb's pipeline is :mod:`orchestrator.loadtest.run`, imported when the verb
runs (it pulls in matplotlib, httptools and uvloop, which every other verb can do without)."""

from __future__ import annotations

import argparse
from pathlib import Path

from orchestrator.errors import OrchestratorError
from orchestrator.loadtest.durations import positive_float, seconds


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "load-test",
        help="open-loop load test (HDR percentiles per variant, report.html); --find-max for capacity and cost",
        description="Send requests on a fixed schedule (constant or Poisson arrivals), independent of responses; "
        "latency is measured from each request's intended send time. Results per variant.",
    )
    p.add_argument("--env", required=True, metavar="NAME", help="environment name or path")
    p.add_argument("--rate", type=positive_float, help="target requests per second (required unless --find-max)")
    p.add_argument("--duration", type=seconds, default=30.0, help="measured duration after warmup (30s)")
    p.add_argument("--warmup", type=seconds, default=None, help="warmup excluded from results (default 2s)")
    p.add_argument(
        "--arrival",
        choices=["constant", "poisson", "closed"],
        default="constant",
        help="arrival process; 'closed' is the coordinated-omission-prone closed loop, for comparison",
    )
    p.add_argument("--concurrency", type=int, default=4, help="workers of --arrival closed (4)")
    p.add_argument("--seed", type=int, default=0, help="seed of Poisson arrivals (0)")
    p.add_argument(
        "--target",
        choices=["api", "endpoint"],
        default="api",
        help="the API (URL + key from SSM) or the SageMaker runtime (SigV4)",
    )
    p.add_argument("--variant", help="ask for this production variant (header) on every request")
    p.add_argument(
        "--cases", metavar="FILE", help="JSON test cases (default: the environment's load_testing.test_cases)"
    )
    p.add_argument("--max-in-flight", type=int, default=256, help="outstanding requests beyond which sends are dropped")
    p.add_argument("--timeout", type=seconds, default=30.0, help="per-request timeout (30s)")
    p.add_argument(
        "--max-send-lag-ms",
        type=positive_float,
        default=10.0,
        help="warn when the generator's own p99 send lag exceeds this (10)",
    )
    p.add_argument(
        "--url",
        help="send here instead of the environment's URL: the full URL of the POST (api), "
        "the runtime base URL or a full .../invocations URL (endpoint)",
    )
    p.add_argument("--api-key-env", metavar="VAR", help="read the API key from this environment variable")
    p.add_argument("--out", type=Path, help="report directory (default loadtest-results/<env>-<time>)")
    p.add_argument(
        "--publish-metrics", action="store_true", help="publish the run to CloudWatch under the tester's metric names"
    )
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.add_argument("--no-report", action="store_true", help="write summary.json only (no figures, no HTML)")
    g = p.add_argument_group("capacity search (--find-max)")
    g.add_argument("--find-max", action="store_true", help="step the rate up until the SLO breaks, then bisect")
    g.add_argument("--slo-p99", type=positive_float, metavar="MS", help="p99 latency objective in ms")
    g.add_argument("--max-error-rate", type=float, default=0.01, help="error+drop rate objective (0.01)")
    g.add_argument("--start-rate", type=positive_float, default=10.0, help="first step's rate (10)")
    g.add_argument("--step-factor", type=float, default=1.5, help="rate multiplier between steps (1.5)")
    g.add_argument("--step-duration", type=seconds, default=20.0, help="measured duration of each step (20s)")
    g.add_argument("--bisect-steps", type=int, default=3, help="bisection runs after the first failing step (3)")
    g.add_argument("--max-rate", type=positive_float, default=100_000.0, help="stop climbing here")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        from orchestrator.loadtest.run import load_test
    except ImportError as exc:  # httptools/uvloop come with the 'local' extra
        raise OrchestratorError(
            f"load-test needs the Python package {exc.name!r}: pip install httptools uvloop (or -e '.[local]')"
        ) from None
    return load_test(args)
