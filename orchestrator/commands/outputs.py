"""``orchestrator outputs --env ENV [--json]``: URLs, names and ARNs of an applied environment."""

from __future__ import annotations

import argparse
import json

from orchestrator.config import load_environment
from orchestrator.outputs import environment_outputs, format_outputs


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("outputs", help="show the API URL, endpoint, buckets, dashboards and topics")
    parser.add_argument(
        "--env", required=True, metavar="NAME", help="environment file in environments/ or a path to one"
    )
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    env = load_environment(args.env)
    outputs = environment_outputs(env)
    print(json.dumps(outputs, indent=2, sort_keys=True) if args.json else format_outputs(outputs))
    return 0
