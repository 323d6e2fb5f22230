"""The stack runner over real Terraform with built-in resources only (no provider, no network)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from orchestrator.terraform.progress import ProgressReporter
from orchestrator.terraform.runner import RunOptions, StackRunner
from orchestrator.terraform.stacks import Stack
from orchestrator.terraform.workspace import StackWorkspace

pytestmark = pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform not on PATH")

GRAPH = [Stack("a"), Stack("b", ("a",)), Stack("c", ("a",)), Stack("d", ("b",))]


def _stack_tf(name: str, fail: bool = False, sleep: float = 0) -> str:
    command = "exit 3" if fail else (f"sleep {sleep}" if sleep else "true")
    return textwrap.dedent(
        f"""
        variable "label" {{
          type    = string
          default = "{name}"
        }}
        resource "terraform_data" "this" {{
          input = var.label
          provisioner "local-exec" {{
            command = "{command}"
          }}
        }}
        output "label" {{
          value = terraform_data.this.output
        }}
        """
    )


def _workspaces(tmp_path: Path, overrides: dict[str, str] | None = None) -> dict[str, StackWorkspace]:
    spaces = {}
    for stack in GRAPH:
        root = tmp_path / stack.name
        root.mkdir(exist_ok=True)
        (root / "main.tf").write_text((overrides or {}).get(stack.name, _stack_tf(stack.name)))
        var_file = root / "terraform.tfvars"
        var_file.write_text(f'label = "{stack.name}"\n')
        spaces[stack.name] = StackWorkspace(stack.name, root, var_file, None, root / "plan.tfplan")
    return spaces


def _env() -> dict[str, str]:
    return {**os.environ, "CHECKPOINT_DISABLE": "1"}


def _run(spaces: dict[str, StackWorkspace], action: str, stacks: list[Stack] = GRAPH):
    runner = StackRunner(spaces, _env(), ProgressReporter())
    return {o.stack: o for o in runner.run(stacks, RunOptions(action=action))}  # type: ignore[arg-type]


def test_apply_then_noop_then_destroy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spaces = _workspaces(tmp_path)
    first = _run(spaces, "apply")
    assert {n: o.status for n, o in first.items()} == {n: "applied" for n in "abcd"}
    assert all(o.add == 1 for o in first.values())
    printed = capsys.readouterr().out
    assert "[a] 1/1 terraform_data.this created" in printed
    # d waits for b, which waits for a: "a" completes before "b" starts.
    assert printed.index("[a] applied") < printed.index("[b] plan + apply...")
    assert printed.index("[b] applied") < printed.index("[d] plan + apply...")

    second = _run(spaces, "apply")
    assert {o.status for o in second.values()} == {"no-changes"}

    gone = _run(spaces, "destroy")
    assert {o.status for o in gone.values()} == {"destroyed"}
    printed = capsys.readouterr().out
    # Destroy walks backward: d before b before a.
    assert printed.index("[d] destroyed") < printed.index("[b] plan + destroy...")
    assert printed.index("[b] destroyed") < printed.index("[a] plan + destroy...")


def test_failure_names_stack_and_resource_and_stops_dependents(tmp_path: Path) -> None:
    spaces = _workspaces(tmp_path, {"b": _stack_tf("b", fail=True)})
    result = _run(spaces, "apply")
    assert result["a"].status == "applied"
    assert result["c"].status == "applied"  # independent of b
    assert result["b"].status == "failed"
    assert result["b"].resource == "terraform_data.this"
    assert "exit status 3" in result["b"].error
    assert result["d"].status == "skipped" and "b did not complete" in result["d"].note


def test_declined_confirmation_applies_nothing(tmp_path: Path) -> None:
    spaces = _workspaces(tmp_path)
    asked: list[str] = []

    def decline(stack: str, plan_text: str) -> bool:
        asked.append(stack)
        assert "terraform_data.this will be created" in plan_text
        return False

    runner = StackRunner(spaces, _env(), ProgressReporter())
    outcomes = runner.run([GRAPH[0]], RunOptions(action="apply", confirm=decline))
    assert asked == ["a"] and outcomes[0].status == "declined"
    assert not (spaces["a"].root / "terraform.tfstate").exists()


def test_confirmed_apply_applies_the_reviewed_plan_file(tmp_path: Path) -> None:
    spaces = _workspaces(tmp_path)
    reviewed: list[str] = []

    def approve(stack: str, plan_text: str) -> bool:
        reviewed.append(plan_text)
        return True

    runner = StackRunner(spaces, _env(), ProgressReporter())
    outcomes = runner.run([GRAPH[0]], RunOptions(action="apply", confirm=approve))
    assert outcomes[0].status == "applied" and outcomes[0].add == 1
    assert len(reviewed) == 1 and "terraform_data.this will be created" in reviewed[0]
    assert spaces["a"].plan_file.exists(), "what was shown is the saved plan that was applied"
    # Nothing to change: nothing to confirm.
    again = runner.run([GRAPH[0]], RunOptions(action="apply", confirm=approve))
    assert again[0].status == "no-changes" and len(reviewed) == 1


def test_concurrent_apply_is_refused_by_the_state_lock(tmp_path: Path) -> None:
    spaces = _workspaces(tmp_path, {"a": _stack_tf("a", sleep=6)})
    root = spaces["a"].root
    subprocess.run(["terraform", "init", "-input=false"], cwd=root, env=_env(), check=True, capture_output=True)
    holder = subprocess.Popen(
        ["terraform", "apply", "-auto-approve", "-input=false"],
        cwd=root,
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while not (root / ".terraform.tfstate.lock.info").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        result = _run(spaces, "apply", [GRAPH[0]])
        assert result["a"].status == "failed"
        assert "locked by another run" in result["a"].error
    finally:
        holder.wait(timeout=60)


_INTERRUPT_SCRIPT = """
import sys
from pathlib import Path
from orchestrator.terraform.progress import ProgressReporter
from orchestrator.terraform.runner import RunOptions, StackRunner
from orchestrator.terraform.stacks import Stack
from orchestrator.terraform.workspace import StackWorkspace
root = Path(sys.argv[1])
space = StackWorkspace("a", root, root / "terraform.tfvars", None, root / "plan.tfplan")
try:
    StackRunner({"a": space}, dict(__import__("os").environ), ProgressReporter()).run([Stack("a")], RunOptions("apply"))
except KeyboardInterrupt:
    print("INTERRUPTED", flush=True)
    sys.exit(130)
"""


def test_ctrl_c_during_apply_keeps_state_and_next_apply_converges(tmp_path: Path) -> None:
    sleeper = textwrap.dedent(
        """
        resource "terraform_data" "fast" { input = "x" }
        resource "terraform_data" "slow" {
          input = "y"
          provisioner "local-exec" { command = "sleep 4" }
        }
        """
    )
    spaces = _workspaces(tmp_path, {"a": sleeper})
    root = spaces["a"].root
    (root / "terraform.tfvars").write_text("")
    proc = subprocess.Popen(
        [sys.executable, "-c", _INTERRUPT_SCRIPT, str(root)],
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines = []
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append(line)
        if "terraform_data.fast created" in line:
            time.sleep(0.5)
            os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does
            break
    out = proc.communicate(timeout=90)[0]
    assert proc.returncode == 130, "".join(lines) + out
    assert not (root / ".terraform.tfstate.lock.info").exists(), "the lock must be released"
    # State is intact and the next apply converges.
    result = _run(spaces, "apply", [GRAPH[0]])
    assert result["a"].status in {"applied", "no-changes"}
    again = _run(spaces, "apply", [GRAPH[0]])
    assert again["a"].status == "no-changes"


def test_at_most_max_parallel_terraform_processes_run_at_once(tmp_path: Path) -> None:
    """Independent stacks wait for a free slot instead of all loading the provider at once."""
    log = tmp_path / "spans.log"
    independent = [Stack(name) for name in ("a", "b", "c", "d")]
    spaces = _workspaces(tmp_path)
    for stack in independent:
        command = f"echo start $(date +%s.%N) >> {log}; sleep 1; echo end $(date +%s.%N) >> {log}"
        (spaces[stack.name].root / "main.tf").write_text(
            _stack_tf(stack.name).replace('command = "true"', f'command = "{command}"')
        )
    runner = StackRunner(spaces, _env(), ProgressReporter(), max_parallel=2)
    outcomes = runner.run(independent, RunOptions(action="apply"))
    assert [o.status for o in outcomes] == ["applied"] * 4
    events = sorted((float(t), +1 if kind == "start" else -1) for kind, t in (line.split() for line in log.read_text().splitlines()))
    running, most = 0, 0
    for _, step in events:
        running += step
        most = max(most, running)
    assert len(events) == 8 and most == 2, log.read_text()


def test_default_parallelism_follows_the_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    from orchestrator.terraform import runner

    monkeypatch.setattr(runner.os, "cpu_count", lambda: 2)
    assert runner.default_parallelism() == 3
    monkeypatch.setattr(runner.os, "cpu_count", lambda: None)
    assert runner.default_parallelism() == 2


def test_a_stack_still_waiting_for_a_slot_when_ctrl_c_comes_never_starts(tmp_path: Path) -> None:
    """Ctrl-C sets the runner's cancel flag; a stack the pool only reaches afterwards is skipped, and no
    Terraform command runs for it (not even init)."""
    spaces = _workspaces(tmp_path)
    runner = StackRunner(spaces, _env(), ProgressReporter(), max_parallel=1)
    runner._cancelled.set()  # what the KeyboardInterrupt handler of run() does
    outcome = runner._run_stack(Stack("a"), RunOptions(action="apply"))
    assert (outcome.status, outcome.note) == ("skipped", "interrupted")
    assert not (spaces["a"].root / ".terraform").exists()
    assert not (spaces["a"].root / "terraform.tfstate").exists()
