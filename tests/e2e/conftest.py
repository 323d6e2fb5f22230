"""End-to-end fixtures: one environment applied for real on a private embedded control plane.

The control plane, its project root and build/state dirs come from the integration suite's
``deployment`` fixture (tests/integration/conftest.py), re-used here rather than copied: pytest only
lets the root conftest declare ``pytest_plugins``, so the module is loaded by path and its fixture
re-exported. ``applied`` deploys the serving path once per session (archive -> serving -> API).
"""

from __future__ import annotations

import importlib.util
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from e2e_helpers import SERVING_STACKS, Applied, stack_args

from orchestrator.cli import main
from orchestrator.config import load_environment

ROOT = Path(__file__).resolve().parents[2]


def _load_integration_conftest() -> Any:
    name = "_integration_conftest_for_e2e"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "tests" / "integration" / "conftest.py")
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


_integration = _load_integration_conftest()
deployment = _integration.deployment  # the session fixture: private root, tmp build/state, control plane
needs_terraform = _integration.needs_terraform


@pytest.fixture(scope="session")
def applied(deployment: Any) -> Applied:
    env_file = deployment.env_file("e2e")
    started = time.monotonic()
    code = main(["apply", "--env", str(env_file), "--auto-approve", *stack_args(SERVING_STACKS)])
    assert code == 0, "apply of the serving stacks failed"
    return Applied(deployment, env_file, load_environment(str(env_file)), time.monotonic() - started)
