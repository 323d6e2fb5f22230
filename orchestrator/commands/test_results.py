"""``orchestrator test-results --env ENV [--since 10m]``: the tester dashboard's view per test case, read
back from CloudWatch (namespace = project name, dims Stage/Type)."""

from __future__ import annotations

import argparse
import datetime as dt
import json

from orchestrator import aws_clients
from orchestrator.config import load_environment
from orchestrator.loadtest import targets, tester
from orchestrator.loadtest.durations import seconds


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "test-results",
        help="read the testers' metrics back from CloudWatch: count, ResponseTime p50/p90/p99, success/fail",
        description="Per test case (metric dimension Type): sample count, ResponseTime average and p50/p90/p99, "
        "and the sums of StatusSuccess, StatusError, TestSuccess and TestFail over --since.",
    )
    p.add_argument("--env", required=True, metavar="NAME", help="environment name or path")
    p.add_argument("--since", type=seconds, default=600.0, help="window ending now (10m)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    env = load_environment(args.env)
    namespace = targets.ssm_getter(env.data)(f"{env.ssm_prefix}/load-testing/metric_namespace", False) or env.project
    views = tester.read_results(
        aws_clients.client(env.data, "cloudwatch"), namespace, env.stage, dt.timedelta(seconds=args.since)
    )
    if args.json:
        print(json.dumps([vars(v) for v in views], indent=2))
    else:
        print(f"namespace {namespace}, Stage={env.stage}, last {args.since:g}s")
        print(tester.render_views(views))
    return 0
