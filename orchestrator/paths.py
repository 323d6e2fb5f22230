"""Where things live: the project root, environment files, build and state directories."""

from __future__ import annotations

import os
from pathlib import Path


def project_root() -> Path:
    """The directory holding ``environments/`` and ``terraform/``.

    ``ORCHESTRATOR_ROOT`` wins; otherwise the current directory or one of its parents; otherwise
    the source checkout this package was imported from.
    """
    env = os.environ.get("ORCHESTRATOR_ROOT")
    if env:
        return Path(env).resolve()
    here = Path.cwd().resolve()
    for candidate in (here, *here.parents):
        if (candidate / "environments").is_dir() and (candidate / "terraform").is_dir():
            return candidate
    return Path(__file__).resolve().parent.parent


def environments_dir() -> Path:
    return project_root() / "environments"


def build_dir(env_name: str) -> Path:
    """Generated files for one environment (archives, zips, rendered tfvars); never committed.

    ``ORCHESTRATOR_BUILD_DIR`` moves every environment's build directory (tests use a tmp dir).
    """
    env = os.environ.get("ORCHESTRATOR_BUILD_DIR")
    base = Path(env).resolve() if env else project_root() / ".orchestrator" / "build"
    return base / env_name


def state_dir() -> Path:
    """Runtime state of the embedded services (pid files, logs); ``ORCHESTRATOR_STATE_DIR`` wins."""
    env = os.environ.get("ORCHESTRATOR_STATE_DIR")
    return Path(env).resolve() if env else project_root() / ".orchestrator" / "state"
