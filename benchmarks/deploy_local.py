"""Time the main job on the embedded default: cold apply, no-op apply, plan, destroy.

Runs against a fresh embedded control plane on a free port with a fresh build directory (model
archives and Lambda zips are packaged once before timing; trained weights are reused when present),
so nothing of a developer's own ``--env local`` is touched. Prints each figure with the per-stack
breakdown. Targets on the 2-core reference machine: cold apply <= 90 s, no-op apply <= 30 s,
plan of all stacks <= 20 s.

    python benchmarks/deploy_local.py
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from orchestrator import deploy
from orchestrator.embedded.testing import running_control_plane
from orchestrator.terraform.progress import ProgressReporter, StackOutcome

TARGETS = {"cold apply": 90.0, "no-op apply": 30.0, "plan": 20.0}


def _env_file(tmp: Path, port: int) -> Path:
    doc = {
        "$schema": str(ROOT / "environments" / "schema.json"),
        "extends": str(ROOT / "environments" / "local.json"),
        "target": {"kind": "embedded", "control_plane_port": port},
    }
    path = tmp / "bench.json"
    path.write_text(json.dumps(doc, indent=2))
    return path


def _timed(label: str, env_file: Path, action: str) -> tuple[float, list[StackOutcome]]:
    started = time.monotonic()
    outcomes = deploy.run(str(env_file), action, None, auto_approve=True, reporter=ProgressReporter(io.StringIO()))  # type: ignore[arg-type]
    return time.monotonic() - started, outcomes


def _print(label: str, seconds: float, outcomes: list[StackOutcome]) -> None:
    target = TARGETS.get(label)
    verdict = "" if target is None else (f"  (target <= {target:.0f} s: {'met' if seconds <= target else 'MISSED'})")
    print(f"\n{label}: {seconds:.1f} s{verdict}")
    for o in outcomes:
        print(f"  {o.stack:<15} {o.status:<11} +{o.add} ~{o.change} -{o.destroy}  {o.seconds:6.1f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="deploy-bench-") as tmp_name:
        tmp = Path(tmp_name)
        os.environ["ORCHESTRATOR_BUILD_DIR"] = str(tmp / "build")
        os.environ["ORCHESTRATOR_STATE_DIR"] = str(tmp / "state")
        with running_control_plane(tmp / "state", default_components=True) as cp:
            env_file = _env_file(tmp, cp.port)
            # Package once up front so the figures are about Terraform, not model training.
            from orchestrator.config import load_environment
            from orchestrator.packaging import package_environment

            package_environment(load_environment(str(env_file)))
            print(f"embedded deploy of all stacks on {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
            for label, action in (
                ("cold apply", "apply"),
                ("no-op apply", "apply"),
                ("plan", "plan"),
                ("destroy", "destroy"),
            ):
                _print(label, *_timed(label, env_file, action))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
