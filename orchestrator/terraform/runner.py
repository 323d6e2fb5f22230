"""Run plan / apply / destroy over the stack graph.

Apply starts a stack as soon as its upstreams are applied (independent stacks run in parallel);
destroy waits for a stack's downstreams instead. Plans read only what upstreams already published
(SSM), so every stack of a plan runs at once; a stack whose upstream is not applied yet is reported
as such instead of failing the run. A failed stack stops its dependents; running stacks finish.
Ctrl-C reaches Terraform too (same process group): it stops gracefully and keeps state and lock
consistent; we stop scheduling, wait for running stacks, and re-raise.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any, Literal

from orchestrator.terraform.adapter import TerraformCli, TerraformResult
from orchestrator.terraform.progress import ProgressReporter, StackOutcome
from orchestrator.terraform.stacks import Stack, downstreams, upstreams
from orchestrator.terraform.workspace import StackWorkspace

Action = Literal["plan", "apply", "destroy"]
# confirm(stack, plan_text) -> proceed?
Confirm = Callable[[str, str], bool]

_UPSTREAM_MISSING = re.compile(r"(ParameterNotFound|parameter .* not found|couldn't find resource)", re.IGNORECASE)
_LOCKED = re.compile(r"(Error acquiring the state lock|PreconditionFailed|state lock)", re.IGNORECASE)


def default_parallelism() -> int:
    """How many Terraform processes run at once: one per core, plus one for a stack waiting on AWS.

    Each process loads the ~700 MB AWS provider and spends seconds of CPU on its schema; beyond the
    core count they only fight over CPU and memory. Planning the six stacks on 2 cores took 20.8 s
    with all six at once and 17.3 s three at a time (benchmarks/deploy_local.py).
    """
    return (os.cpu_count() or 1) + 1


@dataclass
class RunOptions:
    action: Action
    confirm: Confirm | None = None  # None: auto-approve
    show_plan: bool = False  # keep the human-readable plan (markdown reports)


class StackRunner:
    def __init__(
        self,
        workspaces: dict[str, StackWorkspace],
        tf_env: dict[str, str],
        reporter: ProgressReporter,
        init_extra: str = "",
        max_parallel: int | None = None,
    ):
        self.workspaces = workspaces
        self.max_parallel = max_parallel or default_parallelism()
        self.tf_env = tf_env
        self.reporter = reporter
        self.init_extra = init_extra
        self._confirm_lock = threading.Lock()
        self._cancelled = threading.Event()

    # -- graph walk ------------------------------------------------------------------------
    def run(self, stacks: list[Stack], options: RunOptions) -> list[StackOutcome]:
        outcomes: dict[str, StackOutcome] = {}
        if options.action == "plan":
            waits_on: dict[str, set[str]] = {s.name: set() for s in stacks}
        elif options.action == "apply":
            waits_on = {s.name: upstreams(s, stacks) for s in stacks}
        else:
            waits_on = {s.name: downstreams(s, stacks) for s in stacks}
        by_name = {s.name: s for s in stacks}
        pending = [s.name for s in stacks]
        running: dict[Future[StackOutcome], str] = {}
        interrupted = False

        with ThreadPoolExecutor(max_workers=max(1, min(self.max_parallel, len(stacks))), thread_name_prefix="stack") as pool:
            while pending or running:
                if not self._cancelled.is_set():
                    for name in list(pending):
                        blockers = waits_on[name]
                        if any(b in pending or b in running.values() for b in blockers):
                            continue
                        pending.remove(name)
                        bad = [b for b in sorted(blockers) if outcomes[b].status not in _OK_STATUSES]
                        if bad:
                            outcomes[name] = StackOutcome(
                                name, status="skipped", note=f"{', '.join(bad)} did not complete"
                            )
                            self.reporter.finished(outcomes[name])
                            continue
                        running[pool.submit(self._run_stack, by_name[name], options)] = name
                else:
                    for name in pending:
                        outcomes[name] = StackOutcome(name, status="skipped", note="interrupted")
                    pending.clear()
                if not running:
                    continue
                try:
                    done, _ = wait(list(running), return_when=FIRST_COMPLETED)
                except KeyboardInterrupt:
                    # Terraform got the SIGINT too and is stopping gracefully: let it finish.
                    interrupted = True
                    self._cancelled.set()
                    continue
                for future in done:
                    name = running.pop(future)
                    outcomes[name] = future.result()
        ordered = [outcomes[s.name] for s in stacks]
        if interrupted:
            raise KeyboardInterrupt
        return ordered

    # -- one stack -------------------------------------------------------------------------
    def _run_stack(self, stack: Stack, options: RunOptions) -> StackOutcome:
        if self._cancelled.is_set():  # queued for a free slot when Ctrl-C came: never started
            outcome = StackOutcome(stack.name, status="skipped", note="interrupted")
            self.reporter.finished(outcome)
            return outcome
        started = time.monotonic()
        outcome = StackOutcome(stack.name)
        try:
            self._run_stack_phases(stack, options, outcome)
        finally:
            outcome.seconds = time.monotonic() - started
            self.reporter.finished(outcome)
        return outcome

    def _run_stack_phases(self, stack: Stack, options: RunOptions, outcome: StackOutcome) -> None:
        space = self.workspaces[stack.name]
        tf = TerraformCli(space.root, self.tf_env)

        if space.needs_init(self.init_extra):
            self.reporter.started(stack.name, "init")
            init = tf.init(space.backend_file)
            if not init.ok:
                self._fail(outcome, init, "terraform init failed")
                return
            space.mark_initialised(self.init_extra)

        if options.action != "plan" and options.confirm is None:
            self._apply_in_one_pass(tf, space, stack, options, outcome)
            return

        self.reporter.started(stack.name, "plan" if options.action != "destroy" else "plan (destroy)")
        plan = tf.plan(space.var_file, space.plan_file, destroy=options.action == "destroy")
        if not plan.ok:
            text = plan.error_text()
            if options.action == "plan" and _UPSTREAM_MISSING.search(text) and stack.depends_on:
                outcome.status = "waiting-upstream"
                outcome.note = (
                    f"upstream stack(s) {', '.join(stack.depends_on)} not applied yet; "
                    "this stack can be planned once they are"
                )
                outcome.error = text
                return
            if options.action == "destroy" and _UPSTREAM_MISSING.search(text) and not tf.state_list():
                # Upstream parameters are gone and this stack holds nothing: nothing to destroy.
                outcome.status = "no-changes"
                outcome.note = "nothing deployed"
                return
            self._fail(outcome, plan, "terraform plan failed")
            return
        _count_plan(plan, outcome)
        self.reporter.planned(stack.name, outcome)
        if options.show_plan or (options.confirm is not None and outcome.has_changes):
            outcome.plan_text = tf.show(space.plan_file)

        if options.action == "plan":
            outcome.status = "planned" if outcome.has_changes else "no-changes"
            return
        if not outcome.has_changes:
            outcome.status = "no-changes"
            return
        if options.confirm is not None:
            with self._confirm_lock:
                if self._cancelled.is_set() or not options.confirm(stack.name, outcome.plan_text):
                    outcome.status = "declined"
                    return

        self.reporter.started(stack.name, "apply" if options.action == "apply" else "destroy")
        applied = tf.apply(space.plan_file, on_event=lambda e: self.reporter.on_apply_event(stack.name, e))
        if not applied.ok:
            self._fail(outcome, applied, f"terraform {options.action} failed")
            return
        outcome.status = "applied" if options.action == "apply" else "destroyed"

    def _apply_in_one_pass(
        self, tf: TerraformCli, space: StackWorkspace, stack: Stack, options: RunOptions, outcome: StackOutcome
    ) -> None:
        """--auto-approve: plan and apply in one Terraform process, progress from the same event stream."""
        destroy = options.action == "destroy"
        self.reporter.started(stack.name, "plan + destroy" if destroy else "plan + apply")

        def on_event(event: dict[str, Any]) -> None:
            kind = event.get("type")
            if kind == "planned_change":
                change = event.get("change", {})
                outcome.changes.append((change.get("resource", {}).get("addr", "?"), change.get("action", "?")))
            elif kind == "change_summary" and event.get("changes", {}).get("operation") == "plan":
                _set_counts(outcome, event)
                self.reporter.planned(stack.name, outcome)
            else:
                self.reporter.on_apply_event(stack.name, event)

        result = tf.apply_auto(space.var_file, destroy=destroy, on_event=on_event)
        if not result.ok:
            if destroy and _UPSTREAM_MISSING.search(result.error_text()) and not tf.state_list():
                outcome.status = "no-changes"
                outcome.note = "nothing deployed"
                return
            self._fail(outcome, result, f"terraform {options.action} failed")
            return
        if not outcome.has_changes:
            outcome.status = "no-changes"
        else:
            outcome.status = "destroyed" if destroy else "applied"

    def _fail(self, outcome: StackOutcome, result: TerraformResult, what: str) -> None:
        outcome.status = "failed"
        text = result.error_text() or what
        if _LOCKED.search(text):
            text = (
                "the stack's state is locked by another run on this environment "
                "(a concurrent apply or destroy). Wait for it to finish and run again; if that run "
                f"crashed, release the lock with `terraform force-unlock`.\nTerraform said: {text}"
            )
        outcome.error = text
        outcome.resource = _failed_resource(result)


_OK_STATUSES = {"applied", "destroyed", "no-changes", "planned", "waiting-upstream"}


def _count_plan(plan: TerraformResult, outcome: StackOutcome) -> None:
    for event in plan.events:
        kind = event.get("type")
        if kind == "planned_change":
            change = event.get("change", {})
            address = change.get("resource", {}).get("addr", "?")
            outcome.changes.append((address, change.get("action", "?")))
        elif kind == "change_summary":
            _set_counts(outcome, event)


def _set_counts(outcome: StackOutcome, event: dict[str, Any]) -> None:
    changes: dict[str, Any] = event.get("changes", {})
    outcome.add = int(changes.get("add", 0))
    outcome.change = int(changes.get("change", 0))
    outcome.destroy = int(changes.get("remove", 0))


def _failed_resource(result: TerraformResult) -> str | None:
    for event in result.events:
        if event.get("type") == "apply_errored":
            return event.get("hook", {}).get("resource", {}).get("addr")
    for diag in result.diagnostics():
        if diag.get("address"):
            return str(diag["address"])
    return None
