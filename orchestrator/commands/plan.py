"""``orchestrator plan --env ENV [--stack NAME ...] [--format text|markdown] [--out FILE]``."""

from __future__ import annotations

import argparse
from pathlib import Path

from orchestrator import deploy
from orchestrator.commands._deploy_args import add_env_and_stacks
from orchestrator.terraform.plan_report import render_markdown


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("plan", help="show what apply would change, stack by stack")
    add_env_and_stacks(parser)
    parser.add_argument(
        "--format", choices=("text", "markdown"), default="text", help="markdown: a pull-request summary"
    )
    parser.add_argument("--out", type=Path, help="write the markdown summary to this file (default: stdout)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    markdown = args.format == "markdown"
    outcomes = deploy.run(args.env, "plan", args.stacks, show_plan=markdown)
    if markdown:
        env_name = Path(args.env).stem
        text = render_markdown(env_name, outcomes)
        if args.out:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(text)
            print(f"wrote {args.out} ({len(text):,} characters)")
        else:
            print(text)
    return 0
