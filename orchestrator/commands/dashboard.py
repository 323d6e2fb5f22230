"""``orchestrator dashboard --env ENV [--name monitor|tester|NAME] [--since 3h] [--out FILE.png]``:
draw a deployed CloudWatch dashboard as a PNG, from its own body and ``GetMetricData``.

The same on AWS and on the embedded default, where there is no console to look at: the dashboard the
monitoring (``monitor``) or load-testing (``tester``) stack deployed, or any dashboard by name.
Prints each line's datapoints and newest value, so an empty graph is explained, not guessed at.
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

from orchestrator import aws_clients
from orchestrator.config import load_environment
from orchestrator.config.names import derive_names
from orchestrator.dashboards.metric_data import fetch
from orchestrator.dashboards.render import render
from orchestrator.dashboards.widgets import DashboardBodyError, parse_body
from orchestrator.loadtest.durations import seconds


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser("dashboard", help="draw a deployed CloudWatch dashboard as a PNG",
                              description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--env", required=True, metavar="NAME", help="environment name or path")
    p.add_argument("--name", default="monitor",
                   help="monitor (the monitoring stack's), tester (the load-testing stack's) or a dashboard name")
    p.add_argument("--since", type=seconds, default=3 * 3600.0, help="window ending now (3h)")
    p.add_argument("--out", type=Path, default=None, help="PNG to write (<dashboard name>.png)")
    p.set_defaults(func=run)


def dashboard_name(env_data: dict[str, object], name: str) -> str:
    names = derive_names(env_data)
    return {"monitor": names.monitor_dashboard, "tester": names.tester_dashboard}.get(name, name)


def run(args: argparse.Namespace) -> int:
    env = load_environment(args.env)
    name = dashboard_name(env.data, args.name)
    cloudwatch = aws_clients.client(env.data, "cloudwatch")
    try:
        body = cloudwatch.get_dashboard(DashboardName=name)["DashboardBody"]
    except cloudwatch.exceptions.ResourceNotFound:
        print(f"error: no dashboard {name!r} in this environment (is the stack applied?)")
        return 1
    try:
        widgets = parse_body(body)
    except (DashboardBodyError, ValueError) as exc:
        print(f"error: dashboard {name!r}: {exc}")
        return 1
    end = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
    start = end - dt.timedelta(seconds=args.since)
    data = fetch(cloudwatch, [line for w in widgets for line in w.lines], start, end)
    out = render(widgets, data, name, start, end, args.out or Path(f"{name}.png"))
    for w in widgets:
        print(w.title or f"({w.kind} widget)")
        for line in w.lines:
            series = data.get(line)
            if line.expression is not None:
                print(f"  {line.label}: expression, not drawn")
            elif series is None or not series.values:
                print(f"  {line.label} ({line.stat}): no data")
            else:
                print(f"  {line.label} ({line.stat}): {len(series.values)} points, newest {series.values[-1]:g}")
    print(f"wrote {out}")
    return 0
