"""Command-line entry point: ``orchestrator <verb> ...``.

Verbs are discovered from :mod:`orchestrator.commands`; each module registers its own parser.
User mistakes and deployment failures are printed once as a message with a documented exit code.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence

from botocore.exceptions import BotoCoreError

from orchestrator import __version__, aws_errors, commands
from orchestrator.errors import EXIT_FAILURE, OrchestratorError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="orchestrator",
        description="Deploy, test and load-test a SageMaker model-serving platform as code.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2)
        return int(exc.code or 0)
    try:
        return int(args.func(args) or 0)
    except OrchestratorError as exc:
        print(f"error: {exc.render()}", file=sys.stderr)
        return exc.exit_code
    except BotoCoreError as exc:  # setup problems (endpoint down, no credentials) as a message, bugs as they are
        explained = aws_errors.explain(exc, getattr(args, "env", None))
        if explained is None:
            raise
        print(f"error: {explained.render()}", file=sys.stderr)
        return explained.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_FAILURE


if __name__ == "__main__":
    raise SystemExit(main())
