"""The ``load-test`` verb as a pipeline: resolve cases and target -> run (or search) -> summarize ->
print, report, publish. Argument parsing lives in :mod:`orchestrator.commands.load_test`."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from pathlib import Path
from typing import Any

from orchestrator.config import Environment, load_environment
from orchestrator.errors import OrchestratorError, UsageError
from orchestrator.loadtest import capacity, engine, report, targets, tester
from orchestrator.loadtest import cases as cases_mod
from orchestrator.loadtest import summary as summary_mod
from orchestrator.loadtest.progress import Progress
from orchestrator.paths import project_root


def load_test(args: argparse.Namespace) -> int:
    _check(args)
    env = load_environment(args.env)
    cases = cases_mod.load_file(args.cases) if args.cases else cases_mod.from_environment(env.data)
    target = resolve_target(args, env, cases)
    out = args.out or project_root() / "loadtest-results" / f"{env.name}-{dt.datetime.now():%Y%m%d-%H%M%S}"
    limits = usage_plan_warnings(args, env)
    for line in limits:
        print(f"warning: {line}", file=sys.stderr)
    if args.find_max:
        return _find_max(args, env, target, out)
    result = engine.run(_config(args, args.rate, args.duration), target, _progress(args))
    summary = summary_mod.summarize(result)
    summary["environment"] = env.name
    print(summary_mod.render_text(summary))
    if limits and result_has_status(summary, 429):
        print("\n429s above: " + " ".join(limits))
    if args.no_report:
        print(f"\nsummary  {report.write_summary(summary, out)}")
    else:
        paths = report.write_report(summary, out, title=f"Load test of {env.name} ({target.kind})")
        print(f"\nreport   {paths['html']}\nsummary  {paths['summary']}")
    if args.publish_metrics:
        _publish(env, target.kind, result)
    return 0


def _check(args: argparse.Namespace) -> None:
    if args.find_max:
        if args.slo_p99 is None:
            raise UsageError("--find-max needs --slo-p99 MS")
        if args.step_factor <= 1:
            raise UsageError("--step-factor must be > 1")
    elif args.rate is None:
        raise UsageError("--rate is required (or use --find-max)")
    if args.max_in_flight < 1 or args.concurrency < 1:
        raise UsageError("--max-in-flight and --concurrency must be >= 1")
    if not 0 <= args.max_error_rate <= 1:
        raise UsageError("--max-error-rate is a fraction between 0 and 1")
    if args.api_key_env and args.api_key_env not in os.environ:
        raise UsageError(f"--api-key-env {args.api_key_env}: the variable is not set")


def usage_plan_warnings(args: argparse.Namespace, env: Environment) -> list[str]:
    """What the environment's own API will refuse in this run: its usage plan throttles every key to
    ``api.throttle.rate_limit`` requests/s (429 above it) and stops it for the rest of the period past
    ``api.quota.limit`` requests. Said before the run, so that 429s are not taken for the model's doing.
    Empty for ``--target endpoint`` and ``--url`` (not the environment's API)."""
    if args.target != "api" or args.url:
        return []
    api = env.data.get("api") or {}
    throttle, quota = api.get("throttle") or {}, api.get("quota") or {}
    rate_limit, quota_limit = throttle.get("rate_limit"), quota.get("limit")
    where = f"(api.throttle.rate_limit of environment {env.name})"
    warmup = _warmup(args, args.duration)
    out: list[str] = []
    if isinstance(rate_limit, (int, float)) and rate_limit > 0:
        if args.find_max and args.max_rate > rate_limit:
            out.append(
                f"the API's usage plan throttles each key to {rate_limit:g} requests/s {where}: the search will "
                "find that limit, not the model's; --target endpoint measures the model"
            )
        elif not args.find_max and args.rate > rate_limit:
            # A token bucket: `burst` requests banked, `rate_limit` more each second; the warmup spends the bank.
            burst = throttle.get("burst_limit") if isinstance(throttle.get("burst_limit"), (int, float)) else 0
            total = args.duration + warmup
            refused = max(0.0, (args.rate - rate_limit) * total - burst) / (args.rate * args.duration)
            refused = min(refused, 1 - rate_limit / args.rate)
            expect = (
                f"expect about {refused:.0%} of the requests to get 429"
                if refused >= 0.005
                else f"its burst of {burst:g} covers this run, a longer one gets 429s"
            )
            out.append(
                f"--rate {args.rate:g} is above the API's usage plan throttle of {rate_limit:g} requests/s per key "
                f"{where}: {expect}; --target endpoint skips the API"
            )
    if isinstance(quota_limit, int) and quota_limit > 0 and not args.find_max:
        planned = args.rate * (args.duration + warmup)
        if planned > quota_limit:
            out.append(
                f"this run sends about {planned:,.0f} requests, more than the key's quota of {quota_limit:,} per "
                f"{quota.get('period', 'period')} (api.quota.limit): past it the API answers 429 until the period ends"
            )
    return out


def result_has_status(summary: dict[str, Any], status: int) -> bool:
    return str(status) in (summary.get("errors_by_status") or {})


def resolve_target(args: argparse.Namespace, env: Environment, cases: list[cases_mod.Case]) -> engine.Target:
    """The URL, key and signer for ``--target``, from ``--url``/``--api-key-env`` or the environment."""
    from orchestrator import aws_clients

    api_key = os.environ[args.api_key_env] if args.api_key_env else None
    control_plane = aws_clients.control_plane_url(env.data) if env.is_embedded else None
    if args.target == "api":
        if args.url:
            url = args.url
        else:
            url, published_key = targets.api_target(env.ssm_prefix, targets.ssm_getter(env.data))
            api_key = api_key or published_key
            if control_plane:
                url = targets.fast_local_url(url, control_plane, targets.service_health(control_plane))
        return targets.build_target(url, cases, kind="api", api_key=api_key, variant=args.variant)
    if args.url and args.url.rstrip("/").endswith("/invocations"):
        url = args.url
    elif args.url:  # a runtime base URL
        url = targets.invocations_url(args.url, env.endpoint_name)
    else:
        get = targets.ssm_getter(env.data)
        runtime = targets.runtime_url(
            ssm_prefix=env.ssm_prefix,
            region=env.region,
            embedded=env.is_embedded,
            get=get,
            control_plane=control_plane,
            health=targets.service_health(control_plane) if control_plane else None,
        )
        endpoint = get(f"{env.ssm_prefix}/model-serving/endpoint_name", False) or env.endpoint_name
        url = targets.invocations_url(runtime, endpoint)
    creds = aws_clients.session_for(env.data).get_credentials()
    if creds is None:
        raise OrchestratorError("no AWS credentials to sign SageMaker runtime requests (profile/default chain)")
    signer = targets.Signer(creds.get_frozen_credentials(), env.region)
    return targets.build_target(url, cases, kind="endpoint", api_key=api_key, variant=args.variant, signer=signer)


def _warmup(args: argparse.Namespace, duration: float) -> float:
    return float(args.warmup) if args.warmup is not None else min(2.0, duration / 5)


def _config(args: argparse.Namespace, rate: float, duration: float) -> engine.RunConfig:
    return engine.RunConfig(
        rate=rate,
        duration=duration,
        warmup=_warmup(args, duration),
        arrival=args.arrival,
        seed=args.seed,
        max_in_flight=args.max_in_flight,
        timeout=args.timeout,
        concurrency=args.concurrency,
        max_send_lag_ms=args.max_send_lag_ms,
    )


def _progress(args: argparse.Namespace) -> Progress:
    return Progress(sys.stderr, max_send_lag_ms=args.max_send_lag_ms, enabled=not args.quiet)


def _find_max(args: argparse.Namespace, env: Environment, target: engine.Target, out: Path) -> int:
    slo = capacity.Slo(args.slo_p99, args.max_error_rate)
    steps_dir = out / "steps"
    summaries: dict[float, dict[str, Any]] = {}

    def run_step(rate: float) -> dict[str, Any]:
        print(f"step: {rate:.1f} req/s for {args.step_duration:g}s", file=sys.stderr)
        result = engine.run(_config(args, rate, args.step_duration), target, _progress(args))
        s = summary_mod.summarize(result)
        summaries[rate] = s
        step_dir = steps_dir / f"{len(summaries):02d}-{rate:.1f}rps"
        step_dir.mkdir(parents=True, exist_ok=True)
        (step_dir / "summary.json").write_text(json.dumps(s, indent=2) + "\n")
        return s

    def on_step(step: capacity.Step) -> None:
        verdict = "ok  " if step.ok else "FAIL"
        print(
            f"  {verdict} {step.rate:9.1f} req/s  p99 {step.p99_ms:8.2f} ms  errors {step.error_rate * 100:6.2f}%  "
            f"completed {step.completed_rate:9.1f}/s  {step.reason}",
            file=sys.stderr,
        )

    found = capacity.find_max(
        run_step,
        slo,
        start_rate=args.start_rate,
        step_factor=args.step_factor,
        max_rate=args.max_rate,
        bisect_steps=args.bisect_steps,
        on_step=on_step,
    )
    variants = [capacity.VariantCapacity(m.variant_name, m.instance_type, m.instance_count) for m in env.models]
    try:
        costs = capacity.cost(variants, env.region, found.max_rate)
    except KeyError as exc:
        costs = {"error": str(exc.args[0])}
    doc = {
        "environment": env.name,
        "target": {"kind": target.kind, "url": target.url},
        **found.to_dict(),
        "cost": costs,
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "capacity.json").write_text(json.dumps(doc, indent=2) + "\n")
    if found.max_rate is not None and not args.no_report:
        report.write_report(summaries[found.max_rate], out, title=f"Best sustainable step of {env.name}")
    print(_render_capacity(doc))
    print(f"\ncapacity {out / 'capacity.json'}")
    return 0 if found.max_rate is not None else 1


def _render_capacity(doc: dict[str, Any]) -> str:
    slo = doc["slo"]
    lines = [f"SLO      p99 <= {slo['p99_ms']:g} ms, errors+drops <= {slo['max_error_rate'] * 100:g}%"]
    if doc["max_sustainable_rate"] is None:
        lines.append("max      no rate met the SLO (lower --start-rate)")
    else:
        lines.append(f"max      {doc['max_sustainable_rate']:.1f} req/s sustainable")
    if doc["limited_by_generator"]:
        lines.append("WARNING  the generator could not send a step's rate: the limit found is the client's")
    elif doc["lagging_steps"]:
        lines.append(
            f"WARNING  the generator's send lag exceeded its threshold in {doc['lagging_steps']} step(s): "
            "its host is busy; latencies include that delay"
        )
    c = doc["cost"]
    if "error" in c:
        lines.append(f"cost     unknown: {c['error']}")
    else:
        fleet = ", ".join(
            f"{v['variant']} {v['instance_count']} x {v['instance_type']} @ ${v['price_per_instance_hour']}/h"
            for v in c["variants"]
        )
        lines.append(f"fleet    {fleet} = ${c['cost_per_hour']:.4f}/h ({c['region']}, prices of {c['prices_written']})")
        if c["cost_per_1000_inferences"] is not None:
            lines.append(
                f"cost     ${c['cost_per_1000_inferences']:.6f} per 1,000 inferences at the max rate "
                f"(${c['cost_per_inference']:.3e} each)"
            )
    return "\n".join(lines)


def _publish(env: Environment, kind: str, result: engine.RunResult) -> None:
    from orchestrator import aws_clients

    get = targets.ssm_getter(env.data)
    namespace = get(f"{env.ssm_prefix}/load-testing/metric_namespace", False) or env.project
    rec = result.recorder
    groups = {name: rec.cases[i] for i, name in enumerate(rec.case_names)}
    prefix = "ApiGateway" if kind == "api" else "SageMakerEndpoint"
    data = tester.metric_data(env.stage, prefix, groups, dt.datetime.now(dt.UTC))
    n = tester.publish(aws_clients.client(env.data, "cloudwatch"), namespace, data)
    print(f"metrics  {n} data points published to CloudWatch namespace {namespace} (Stage={env.stage})")
