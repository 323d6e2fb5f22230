"""Per-environment Terraform working directories under the build directory.

The source tree is never a working directory: ``terraform/`` is synced (symlinks dereferenced)
into ``<build>/terraform/`` and each stack runs there, so ``.terraform/``, lock files and plan
files never land in the repository and two environments never share a working directory.
Initialisation is skipped when nothing that affects it (root *.tf files, backend and CLI
configuration) changed since the last successful init.
"""

from __future__ import annotations

import filecmp
import hashlib
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrator.aws_clients import effective_profile
from orchestrator.terraform.render import to_hcl

_KEEP = {".terraform", ".terraform.lock.hcl"}
_INIT_STAMP = "orchestrator-init.sha256"


@dataclass(frozen=True)
class StackWorkspace:
    stack: str
    root: Path  # the stack's working directory (a synced copy of terraform/stacks/<stack>)
    var_file: Path
    backend_file: Path | None
    plan_file: Path

    def init_fingerprint(self, extra: str = "") -> str:
        digest = hashlib.sha256(extra.encode())
        for path in sorted(self.root.glob("*.tf")):
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
        if self.backend_file is not None and self.backend_file.exists():
            digest.update(self.backend_file.read_bytes())
        return digest.hexdigest()

    def needs_init(self, extra: str = "") -> bool:
        stamp = self.root / ".terraform" / _INIT_STAMP
        return not stamp.exists() or stamp.read_text() != self.init_fingerprint(extra)

    def mark_initialised(self, extra: str = "") -> None:
        stamp = self.root / ".terraform" / _INIT_STAMP
        stamp.parent.mkdir(parents=True, exist_ok=True)
        stamp.write_text(self.init_fingerprint(extra))


def sync_tree(src: Path, dst: Path) -> None:
    """Make ``dst`` a copy of ``src`` (symlinks followed), keeping Terraform's own state dirs."""
    dst.mkdir(parents=True, exist_ok=True)
    wanted = {p.name for p in src.iterdir() if p.name not in _KEEP}
    for existing in dst.iterdir():
        if existing.name in _KEEP or existing.name in wanted:
            continue
        if existing.is_dir() and not existing.is_symlink():
            shutil.rmtree(existing)
        else:
            existing.unlink()
    for name in sorted(wanted):
        source = src / name
        target = dst / name
        if source.is_dir():
            if target.exists() and not target.is_dir():
                target.unlink()
            sync_tree(source, target)
        elif not target.exists() or not filecmp.cmp(source, target, shallow=False):
            if target.is_dir():
                shutil.rmtree(target)
            shutil.copyfile(source, target)


def backend_config(data: dict[str, Any], stack: str, control_plane_url: str | None) -> dict[str, Any]:
    """Settings of the S3 backend (state locking with ``use_lockfile``) for one stack.

    On AWS the state lives in the environment's own state bucket. On the embedded control plane it
    lives in a bucket of the embedded S3, beside the resources it describes: moto honours the
    conditional writes that ``use_lockfile`` relies on, so locking behaves as on AWS, and state
    never outlives (or predates) the resources.
    """
    project = data["project"]
    target = data.get("target", {})
    key = f"{project['name']}/{project['stage']}/{stack}.tfstate"
    if control_plane_url is not None:
        return {
            "bucket": embedded_state_bucket(data),
            "key": key,
            "region": project["region"],
            "use_lockfile": True,
            "encrypt": True,
            "access_key": "test",
            "secret_key": "test",
            "skip_credentials_validation": True,
            "skip_requesting_account_id": True,
            "skip_metadata_api_check": True,
            "skip_region_validation": True,
            "use_path_style": True,
            "endpoints": {"s3": control_plane_url},
        }
    settings: dict[str, Any] = {
        "bucket": target["state_bucket"],
        "key": key,
        "region": target.get("state_region") or project["region"],
        "use_lockfile": True,
        "encrypt": True,
    }
    profile = effective_profile(data)
    if profile:
        settings["profile"] = profile
    return settings


def embedded_state_bucket(data: dict[str, Any]) -> str:
    project = data["project"]
    return f"{project['name']}-{project['stage']}-tfstate"


def render_backend_file(settings: dict[str, Any]) -> str:
    lines = [f"{key} = {to_hcl(value)}" for key, value in settings.items()]
    return "\n".join(lines) + "\n"


def prepare_workspaces(source_terraform: Path, build: Path, stacks: list[str]) -> dict[str, StackWorkspace]:
    """Sync terraform/ into the build dir and return each stack's workspace paths."""
    tree = build / "terraform"
    sync_tree(source_terraform, tree)
    spaces = {}
    for stack in stacks:
        root = tree / "stacks" / stack
        out = build / "stacks" / stack
        out.mkdir(parents=True, exist_ok=True)
        spaces[stack] = StackWorkspace(
            stack=stack,
            root=root,
            var_file=out / "terraform.tfvars",
            backend_file=out / "backend.hcl",
            plan_file=out / "plan.tfplan",
        )
    return spaces


__all__ = [
    "StackWorkspace",
    "backend_config",
    "embedded_state_bucket",
    "prepare_workspaces",
    "render_backend_file",
    "sync_tree",
]
