"""``orchestrator trigger-tests --env ENV [--message FILE]``: start the serverless testers by publishing
their test message to the trigger topic (SSM ``<prefix>/load-testing/trigger_topic_arn``)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from orchestrator import aws_clients
from orchestrator.config import load_environment
from orchestrator.errors import OrchestratorError, UsageError
from orchestrator.loadtest import targets, tester
from orchestrator.loadtest.durations import positive_float, seconds


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "trigger-tests",
        help="publish the tester message to the load-testing trigger topic",
        description="Build {Config: {IntervalInSec, DurationInSec}, TestData: [...]} from the environment's "
        "load_testing section (or read --message FILE) and publish it to the trigger topic.",
    )
    p.add_argument("--env", required=True, metavar="NAME", help="environment name or path")
    p.add_argument("--message", type=Path, metavar="FILE", help="publish this JSON message instead")
    p.add_argument("--duration", type=seconds, help="override Config.DurationInSec")
    p.add_argument("--interval", type=seconds, help="override Config.IntervalInSec")
    p.add_argument(
        "--rate-per-sec",
        type=positive_float,
        help="Config.RatePerSec: each tester sends open loop at this rate instead of rounds",
    )
    p.add_argument("--dry-run", action="store_true", help="print the message, publish nothing")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    env = load_environment(args.env)
    if args.message:
        try:
            message = json.loads(args.message.read_text())
        except (OSError, ValueError) as exc:
            raise UsageError(f"--message {args.message}: {exc}") from None
    else:
        message = tester.trigger_message(env.data["load_testing"], [c.to_message() for c in env.test_cases])
    if isinstance(message, dict) and isinstance(message.get("Config"), dict):
        for key, value in (
            ("DurationInSec", args.duration),
            ("IntervalInSec", args.interval),
            ("RatePerSec", args.rate_per_sec),
        ):
            if value is not None:
                message["Config"][key] = value
    problems = tester.validate_message(message)
    if problems:
        raise UsageError("invalid test message: " + "; ".join(problems))
    body = json.dumps(message)
    if args.dry_run:
        print(body)
        return 0
    name = f"{env.ssm_prefix}/load-testing/trigger_topic_arn"
    topic = targets.ssm_getter(env.data)(name, False)
    if not topic:
        raise OrchestratorError(f"{name} is not published: apply the load-testing stack first")
    reply = aws_clients.client(env.data, "sns").publish(TopicArn=topic, Message=body, Subject="load-test")
    config = message["Config"]
    print(
        f"published test message {reply['MessageId']} to {topic}: {len(message['TestData'])} case(s), "
        f"every {config['IntervalInSec']}s for {config['DurationInSec']}s"
    )
    print(f"results: orchestrator test-results --env {env.name} --since {int(config['DurationInSec']) // 60 + 1}m")
    return 0
