"""``orchestrator test-model MODEL_DIR [--cases FILE]``: run a model's handlers locally on test cases."""

from __future__ import annotations

import argparse
from pathlib import Path

from orchestrator.errors import EXIT_FAILURE, EXIT_OK
from orchestrator.modeltest import default_cases, load_cases, run_model_test


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "test-model",
        help="package a model folder, then run its SageMaker handlers on test cases in this process",
        description="Build (or use) MODEL_DIR's model.tar.gz, extract it safely, call model_fn once and run each "
        "case through input_fn -> predict_fn -> output_fn (or transform_fn). Exit 1 if any case fails.",
    )
    parser.add_argument(
        "model", metavar="MODEL_DIR", type=Path, help="model folder (e.g. models/model-a) or a model.tar.gz"
    )
    parser.add_argument(
        "--cases",
        type=Path,
        metavar="FILE",
        help='JSON file {"TestData": [{"request": {...}, "response": {...}}]}; default: the four seed sentences',
    )
    parser.add_argument(
        "--program",
        default="inference.py",
        metavar="FILE",
        help="entry module in code/ (SAGEMAKER_PROGRAM); default inference.py",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    cases = load_cases(args.cases) if args.cases else default_cases()
    report = run_model_test(args.model, cases, program=args.program)
    for line in report.lines():
        print(line)
    return EXIT_OK if report.passed else EXIT_FAILURE
