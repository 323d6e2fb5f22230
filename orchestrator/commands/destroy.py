"""``orchestrator destroy --env ENV [--stack NAME ...] [--auto-approve]``: reverse dependency order."""

from __future__ import annotations

import argparse

from orchestrator import deploy
from orchestrator.commands._deploy_args import add_env_and_stacks


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("destroy", help="destroy the stacks in reverse dependency order")
    add_env_and_stacks(parser)
    parser.add_argument("--auto-approve", action="store_true", help="destroy without asking (needed with no terminal)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    deploy.run(args.env, "destroy", args.stacks, auto_approve=args.auto_approve)
    return 0
