"""``orchestrator validate --env NAME``: check an environment file and print a one-line summary."""

from __future__ import annotations

import argparse

from orchestrator.config import load_environment
from orchestrator.config.sources import display_path


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "validate",
        help="check an environment file (schema, names, model folders) without running anything",
        description="Validate environments/NAME.json merged over its extends chain; list every problem at once.",
    )
    parser.add_argument(
        "--env",
        required=True,
        metavar="NAME",
        help="environment name (environments/NAME.json) or a path to a JSON file",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    env = load_environment(args.env)  # ConfigError -> exit 2 with every problem
    print(f"{display_path(env.path, env.root)}: valid — {env.summary()}")
    return 0
