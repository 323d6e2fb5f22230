"""The deploy pipeline behind ``plan``, ``apply`` and ``destroy``.

validate the environment -> package models and Lambda zips -> render each stack's tfvars ->
prepare working directories and the state backend -> run the stacks over the graph -> report.
Every stage is a function with plain data in and out; side effects stay at the edges.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from orchestrator import aws_clients
from orchestrator.config import Environment, load_environment
from orchestrator.errors import DeployError, UsageError
from orchestrator.paths import build_dir, project_root
from orchestrator.terraform import stacks as stack_graph
from orchestrator.terraform.plugins import cli_config_text, discover_mirror, terraform_env
from orchestrator.terraform.progress import ProgressReporter, StackOutcome
from orchestrator.terraform.render import write_tfvars
from orchestrator.terraform.runner import Action, Confirm, RunOptions, StackRunner
from orchestrator.terraform.workspace import (
    StackWorkspace,
    backend_config,
    embedded_state_bucket,
    prepare_workspaces,
    render_backend_file,
)


@dataclass
class Prepared:
    env: Environment
    stacks: list[stack_graph.Stack]
    workspaces: dict[str, StackWorkspace]
    tf_env: dict[str, str]
    init_extra: str
    control_plane_url: str | None


def render_context(env: Environment, artifacts: dict[str, Any], control_plane_url: str | None) -> dict[str, Any]:
    data = env.data
    return {
        "environment": env.name,
        "env": data,
        "names": {"prefix": env.prefix, "endpoint_name": env.endpoint_name, "ssm_prefix": env.ssm_prefix},
        "provider": {
            "aws_region": data["project"]["region"],
            "aws_endpoint_url": control_plane_url,
            "aws_profile": aws_clients.effective_profile(data),
        },
        "artifacts": artifacts,
    }


def _package(env: Environment, action: Action) -> dict[str, Any]:
    from orchestrator.packaging import package_environment

    if action == "destroy":
        # Destroy needs every variable to have a value, not fresh artifacts: reuse the last build
        # when there is one, so destroy never trains a model.
        result = package_environment(env, train_missing=False, require_artifacts=False)
    else:
        result = package_environment(env)
    return result.to_context()


def _ensure_control_plane(env: Environment) -> str:
    from orchestrator.embedded.process import ensure_running

    return ensure_running(env)


def _embedded_control_plane_listens(env: Environment) -> bool:
    from orchestrator.embedded.process import anything_listens

    return anything_listens(env)


def _ensure_state_bucket(env: Environment) -> None:
    """The embedded control plane keeps state in its own S3; create the versioned bucket once."""
    s3 = aws_clients.client(env.data, "s3")
    bucket = embedded_state_bucket(env.data)
    existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
    if bucket not in existing:
        s3.create_bucket(Bucket=bucket)
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})


def prepare(env: Environment, stack_names: Sequence[str] | None, action: Action) -> Prepared:
    selected = stack_graph.select(env.data, stack_names)
    control_plane_url = _ensure_control_plane(env) if env.is_embedded else None
    if env.is_embedded:
        _ensure_state_bucket(env)
    artifacts = _package(env, action)

    build = build_dir(env.name)
    workspaces = prepare_workspaces(project_root() / "terraform", build, [s.name for s in selected])
    context = render_context(env, artifacts, control_plane_url)
    for stack in selected:
        space = workspaces[stack.name]
        write_tfvars(stack.name, context, space.var_file.parent)
        assert space.backend_file is not None
        space.backend_file.write_text(render_backend_file(backend_config(env.data, stack.name, control_plane_url)))

    tf_env = terraform_env(build, aws_endpoint_url=control_plane_url)
    mirror = discover_mirror()
    init_extra = cli_config_text(mirror) if mirror else ""
    return Prepared(env, selected, workspaces, tf_env, init_extra, control_plane_url)


def run(
    env_name: str,
    action: Action,
    stack_names: Sequence[str] | None = None,
    *,
    auto_approve: bool = True,
    show_plan: bool = False,
    reporter: ProgressReporter | None = None,
) -> list[StackOutcome]:
    """Run ``action`` over the environment's stacks; raises DeployError on the first failed stack.

    Validation and the usage checks come first: on an invalid file or a refused confirmation
    nothing is started, packaged or written.
    """
    env = load_environment(env_name)  # ConfigError (exit 2) lists every problem
    stack_graph.select(env.data, stack_names)  # UsageError on unknown/disabled stacks
    if action == "destroy" and env.is_embedded and not _embedded_control_plane_listens(env):
        print(f"nothing to destroy: the embedded control plane of environment {env.name} is not running, and it "
              "keeps its resources and their state in memory")
        return []
    confirm = None if action == "plan" else confirmation_for(env.name, action, auto_approve)
    prepared = prepare(env, stack_names, action)
    stacks = prepared.stacks
    reporter = reporter or ProgressReporter()
    runner = StackRunner(prepared.workspaces, prepared.tf_env, reporter, prepared.init_extra)
    outcomes = runner.run(stacks, RunOptions(action=action, confirm=confirm, show_plan=show_plan))
    title = {"plan": "Plan", "apply": "Apply", "destroy": "Destroy"}[action] + f" of environment {prepared.env.name}"
    reporter.summary(outcomes, title)
    failed = [o for o in outcomes if o.failed]
    if failed:
        first = failed[0]
        raise DeployError(first.stack, first.error or "failed", resource=first.resource)
    if action == "destroy" and prepared.env.is_embedded and stack_names is None:
        _after_full_embedded_destroy(prepared)
    return outcomes


def _after_full_embedded_destroy(prepared: Prepared) -> None:
    """Destroy leaves nothing: on the embedded control plane the state bucket goes too."""
    s3 = aws_clients.client(prepared.env.data, "s3")
    bucket = embedded_state_bucket(prepared.env.data)
    try:
        versions = s3.list_object_versions(Bucket=bucket)
    except s3.exceptions.NoSuchBucket:
        return
    objects = [
        {"Key": v["Key"], "VersionId": v["VersionId"]}
        for v in versions.get("Versions", []) + versions.get("DeleteMarkers", [])
    ]
    if objects:
        s3.delete_objects(Bucket=bucket, Delete={"Objects": objects})
    s3.delete_bucket(Bucket=bucket)


def terminal_confirm(env_name: str, action: Action) -> Confirm:
    """Show each stack's plan on the terminal and ask before applying it."""

    def confirm(stack: str, plan_text: str) -> bool:
        print(plan_text)
        verb = "Apply these changes to" if action == "apply" else "Destroy"
        answer = input(f"{verb} stack {stack} of environment {env_name}? Only 'yes' proceeds: ")
        return answer.strip() == "yes"

    return confirm


def confirmation_for(env_name: str, action: Action, auto_approve: bool) -> Confirm | None:
    if auto_approve:
        return None
    if not sys.stdin.isatty():
        raise UsageError(
            f"refusing to {action} without confirmation: no terminal to ask on. "
            "Review `orchestrator plan` and pass --auto-approve to proceed non-interactively."
        )
    return terminal_confirm(env_name, action)


__all__ = ["Prepared", "confirmation_for", "prepare", "render_context", "run"]
