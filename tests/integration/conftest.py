"""An environment deployed on a private embedded control plane, shared by the integration tests.

The control plane runs on a free loopback port with its own state directory, and the build
directory is a tmp dir, so nothing of a developer's own ``--env local`` is touched.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from orchestrator.embedded.testing import ControlPlane, running_control_plane

ROOT = Path(__file__).resolve().parents[2]

needs_terraform = pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform not on PATH")


@dataclass
class Deployment:
    control_plane: ControlPlane
    tmp: Path
    root: Path  # a private project root: models/ copied (tests may retrain them), the rest linked

    def env_file(self, name: str, overrides: dict[str, Any] | None = None) -> Path:
        """An environment extending local.json, aimed at this control plane."""
        doc: dict[str, Any] = {
            "$schema": str(ROOT / "environments" / "schema.json"),
            "extends": str(ROOT / "environments" / "local.json"),
            "project": {"stage": name},
            "target": {"kind": "embedded", "control_plane_port": self.control_plane.port},
        }
        for key, value in (overrides or {}).items():
            doc[key] = value
        path = self.tmp / f"{name}.json"
        path.write_text(json.dumps(doc, indent=2))
        return path


def _private_root(tmp: Path) -> Path:
    root = tmp / "project"
    root.mkdir()
    for name in ("terraform", "lambda_src", "environments"):
        (root / name).symlink_to(ROOT / name)
    shutil.copytree(ROOT / "models", root / "models", ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache"))
    return root


@pytest.fixture(scope="session")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    tmp = tmp_path_factory.mktemp("deploy")
    root = _private_root(tmp)
    keys = ("ORCHESTRATOR_BUILD_DIR", "ORCHESTRATOR_STATE_DIR", "ORCHESTRATOR_ROOT")
    saved = {k: os.environ.get(k) for k in keys}
    os.environ["ORCHESTRATOR_BUILD_DIR"] = str(tmp / "build")
    os.environ["ORCHESTRATOR_STATE_DIR"] = str(tmp / "state")
    os.environ["ORCHESTRATOR_ROOT"] = str(root)
    try:
        with running_control_plane(tmp / "state", default_components=True) as cp:
            yield Deployment(cp, tmp, root)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
