"""``orchestrator local up|down|status``: the embedded control plane as a background service.

``apply --env local`` starts the service by itself; these verbs are for starting it ahead of time,
checking on it and stopping it. The port is ``--port``, else ``target.control_plane_port`` of the
environment (``--env``, default ``local``), else 4566. State (pid file, metadata, log) lives in
``<state dir>/embedded`` (``ORCHESTRATOR_STATE_DIR`` or ``.orchestrator/state``; ``--state-dir``
overrides).

Exit codes of ``status``: 0 running and healthy, 1 running but not answering its health check,
3 not running (like ``systemctl status``). ``up`` and ``down`` exit 0 when the service ends up in
the requested state, 1 when it cannot (port taken by another program, start-up failure).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from orchestrator.embedded import DEFAULT_PORT

EXIT_NOT_RUNNING = 3
EXIT_UNHEALTHY = 1


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "local",
        help="start, stop or inspect the embedded AWS control plane (moto) on loopback",
        description=__doc__.split("\n\n", 1)[1] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="local_action", metavar="ACTION", required=True)

    up = actions.add_parser("up", help="start the service unless it runs already; wait until healthy")
    up.add_argument("--port", type=_port, help=f"loopback port (default: the environment's, else {DEFAULT_PORT})")
    up.add_argument("--env", default="local", metavar="NAME", help="environment whose control_plane_port to use (default: local)")
    up.add_argument("--component", action="append", default=[], metavar="MODULE:FACTORY",
                    help="also host this component (repeatable)")
    up.add_argument("--no-default-components", action="store_true", help="host the control plane only")
    up.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for health (default 60)")

    down = actions.add_parser("down", help="stop the service started by `local up` (only that process)")
    down.add_argument("--timeout", type=float, default=10.0, help="seconds between SIGTERM and SIGKILL (default 10)")

    status = actions.add_parser("status", help="show URL, pid, uptime, log file; exit 0 running, 3 not running")
    status.add_argument("--json", action="store_true", help="print the status as JSON")

    for sub in (up, down, status):
        sub.add_argument("--state-dir", type=Path, help="state directory (default: <state dir>/embedded)")
        sub.set_defaults(func=run)


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is not a port number (1-65535)")
    return value


def run(args: argparse.Namespace) -> int:
    if args.local_action == "up":
        return _up(args)
    if args.local_action == "down":
        return _down(args)
    return _status(args)


def _port_for(args: argparse.Namespace) -> int:
    if args.port is not None:
        return int(args.port)
    from orchestrator.config import load_environment

    env = load_environment(args.env)  # ConfigError (exit 2) names every problem
    return int(env.data.get("target", {}).get("control_plane_port", DEFAULT_PORT))


def _up(args: argparse.Namespace) -> int:
    from orchestrator.embedded import process

    result = process.up(_port_for(args), args.state_dir, components=args.component,
                        default_components=not args.no_default_components, timeout=args.timeout)
    for note in result.notes:
        print(note)
    verb = "started" if result.started else "already running"
    print(f"embedded control plane {verb}: {result.status.url} (pid {result.status.pid})")
    print(f"  log file:  {result.status.log_path}")
    return 0


def _down(args: argparse.Namespace) -> int:
    from orchestrator.embedded import process

    _, message = process.down(args.state_dir, timeout=args.timeout)
    print(f"embedded control plane: {message}")
    return 0


def _status(args: argparse.Namespace) -> int:
    from orchestrator.embedded import process

    st = process.status(args.state_dir)
    code = 0 if st.running and st.healthy else EXIT_UNHEALTHY if st.running else EXIT_NOT_RUNNING
    if args.json:
        print(json.dumps({**st.to_dict(), "exit_code": code}, indent=2))
        return code
    if not st.running:
        print(f"embedded control plane: not running ({st.note})")
        print(f"  state dir: {st.state_dir}")
        print(f"  log file:  {st.log_path}")
        return code
    components = ", ".join(sorted((st.health or {}).get("components", {}))) or "none"
    print(f"embedded control plane: running ({'healthy' if st.healthy else st.note})")
    print(f"  url:        {st.url}")
    print(f"  pid:        {st.pid}")
    print(f"  uptime:     {_duration(st.uptime_seconds or 0.0)}")
    print(f"  log file:   {st.log_path}")
    print(f"  state dir:  {st.state_dir}")
    print(f"  components: {components}")
    for line in _endpoint_lines((st.health or {}).get("components", {}).get(SAGEMAKER_COMPONENT)):
        print(line)
    for line in _monitoring_lines((st.health or {}).get("components", {}).get(MONITORING_COMPONENT)):
        print(line)
    return code


SAGEMAKER_COMPONENT = "sagemaker-hosting"
MONITORING_COMPONENT = "monitoring"


def _monitoring_lines(monitoring: dict[str, Any] | None) -> list[str]:
    """CloudWatch alarms by state (names of those in ALARM) and where SNS e-mail goes."""
    if not monitoring or not monitoring.get("ok"):
        return []
    states: dict[str, list[str]] = monitoring.get("alarms", {}).get("states", {})
    counts = ", ".join(f"{len(names)} {state}" for state, names in states.items()) or "none"
    lines = [f"  alarms:     {counts}"]
    if states.get("ALARM"):
        lines.append(f"    in ALARM: {', '.join(states['ALARM'])}")
    lines.append(f"  e-mail:     {monitoring.get('emails_written', 0)} written to {monitoring.get('email_outbox')}")
    return lines


def _endpoint_lines(hosting: dict[str, Any] | None) -> list[str]:
    """The local data plane's endpoints: status, variants, instances, worker pids and health."""
    if not hosting:
        return []
    if "endpoints" not in hosting:
        reason = hosting.get("endpoints_error") or "the data plane did not report them"
        return [f"  endpoints:  unknown ({reason})"]
    endpoints = hosting["endpoints"]
    lines = [f"  runtime:    {hosting.get('runtime_url')} (data plane pid {hosting.get('pid')})"]
    if not endpoints:
        return [*lines, "  endpoints:  none"]
    lines.append("  endpoints:")
    for name, ep in sorted(endpoints.items()):
        lines.append(f"    {name}  {ep.get('status')}  (config {ep.get('config_name')})")
        if ep.get("failure_reason"):
            lines.append(f"      failure: {ep['failure_reason']}")
        for variant in ep.get("variants", []):
            health = "healthy" if variant.get("healthy") else "DEGRADED"
            lines.append(f"      variant {variant['name']}: model {variant.get('model')}, weight {variant.get('weight')}, "
                         f"{len(variant.get('instances', []))} instance(s), {health}")
            for index, inst in enumerate(variant.get("instances", []), 1):
                pids = ", ".join(str(pid) for pid in inst.get("pids", [])) or "none"
                lines.append(f"        instance {index}: {inst.get('healthy_workers')}/{inst.get('workers')} workers up, "
                             f"pids {pids}, restarts {inst.get('restarts', 0)}, queued {inst.get('queued', 0)}")
                if inst.get("container_url"):
                    lines.append(f"          container: {inst['container_url']} (GET /ping, POST /invocations)")
    return lines


def _duration(seconds: float) -> str:
    total = int(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h {minutes:02d}m {secs:02d}s" if hours else f"{minutes}m {secs:02d}s"
