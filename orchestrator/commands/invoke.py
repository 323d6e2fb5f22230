"""``orchestrator invoke --env ENV --text "..." [--text ...] [--variant NAME] [--endpoint]``."""

from __future__ import annotations

import argparse
import json


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "invoke",
        help="classify text through the deployed API (key from SSM) or straight through the endpoint",
    )
    parser.add_argument(
        "--env", required=True, metavar="NAME", help="environment file in environments/ or a path to one"
    )
    parser.add_argument("--text", action="append", required=True, help="a sentence to classify (repeat for a batch)")
    parser.add_argument("--variant", help="send to this production variant (TargetVariant)")
    parser.add_argument("--endpoint", action="store_true", help="call SageMaker InvokeEndpoint directly, not the API")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from orchestrator.config import load_environment
    from orchestrator.invoke import via_api, via_endpoint

    env = load_environment(args.env)
    result = (via_endpoint if args.endpoint else via_api)(env, args.text, args.variant)
    print(f"HTTP {result.status} via {result.via}" + (f", variant {result.variant}" if result.variant else ""))
    print(json.dumps(result.body, indent=2) if not isinstance(result.body, str) else result.body)
    return 0 if 200 <= result.status < 300 else 1
