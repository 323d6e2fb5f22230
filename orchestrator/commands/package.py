"""``orchestrator package --env NAME``: validate, train missing models, build archives and Lambda zips."""

from __future__ import annotations

import argparse

from orchestrator.config import load_environment
from orchestrator.packaging import package_environment


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "package",
        help="build model.tar.gz per model (training missing artifacts) and the Lambda zips",
        description="Validate the environment, train models without artifacts, then build reproducible "
        "model archives and Lambda zips into .orchestrator/build/<env>/.",
    )
    parser.add_argument(
        "--env",
        required=True,
        metavar="NAME",
        help="environment name (environments/NAME.json) or a path to a JSON file",
    )
    parser.add_argument(
        "--no-train", action="store_true", help="fail instead of training a model whose artifacts are missing"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    env = load_environment(args.env)  # invalid -> exit 2 before anything runs
    result = package_environment(env, train_missing=not args.no_train)
    print(result.table(relative_to=env.root))
    return 0
