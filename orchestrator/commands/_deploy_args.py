"""Arguments shared by the plan/apply/destroy verbs."""

from __future__ import annotations

import argparse

from orchestrator.terraform.stacks import STACK_NAMES


def add_env_and_stacks(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--env", required=True, metavar="NAME", help="environment file in environments/ or a path to one"
    )
    parser.add_argument(
        "--stack",
        dest="stacks",
        action="append",
        choices=STACK_NAMES,
        metavar="NAME",
        help=f"run only this stack (repeatable): {', '.join(STACK_NAMES)}",
    )
