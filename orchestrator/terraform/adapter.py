"""The one place that runs Terraform.

Command lines are built by python-terraform's ``generate_cmd_string`` with every flag spelled
out here: its method defaults are not relied on (its ``destroy`` adds ``-force``, which
Terraform >= 0.15 rejects, and its ``cmd`` leaks helper kwargs into the command line). We own the
subprocess so that we can choose the environment (offline provider mirror, embedded endpoints),
stream Terraform's ``-json`` event lines as they arrive, and survive Ctrl-C without corrupting
state: the child gets the same SIGINT, stops gracefully and releases its lock, and we wait.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from python_terraform import IsFlagged, Terraform

from orchestrator.errors import UsageError

EventHandler = Callable[[dict[str, Any]], None]

# After Ctrl-C, Terraform finishes in-flight operations and writes state; give it this long.
_INTERRUPT_GRACE_SECONDS = 120.0


@dataclass
class TerraformResult:
    """Outcome of one Terraform command."""

    args: list[str]
    returncode: int
    events: list[dict[str, Any]] = field(default_factory=list)
    stdout: str = ""
    stderr: str = ""
    interrupted: bool = False

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.interrupted

    def diagnostics(self, severity: str = "error") -> list[dict[str, Any]]:
        return [
            e["diagnostic"]
            for e in self.events
            if e.get("type") == "diagnostic" and e.get("diagnostic", {}).get("severity") == severity
        ]

    def error_text(self) -> str:
        """Terraform's own error text: diagnostics when -json was used, stderr otherwise."""
        parts = []
        for diag in self.diagnostics():
            text = diag.get("summary", "")
            if diag.get("detail"):
                text += f": {diag['detail']}"
            if diag.get("address"):
                text = f"{diag['address']}: {text}"
            parts.append(text)
        for event in self.events:
            if event.get("type") == "apply_errored":
                parts.append(event.get("@message", ""))
        if not parts:
            parts.append((self.stderr or self.stdout).strip())
        return "\n".join(p for p in parts if p)


class _CommandBuilder(Terraform):
    """python-terraform used only to build command lines.

    Its constructor reads the working directory's state file, which another process may be
    writing at that moment (and which may be remote anyway): we never need it.
    """

    def read_state_file(self, file_path: str | None = None) -> None:
        self.tfstate = None


def terraform_binary() -> str:
    binary = shutil.which("terraform")
    if binary is None:
        raise UsageError(
            "terraform is not on PATH: install Terraform >= 1.5 (https://developer.hashicorp.com/terraform/install)"
        )
    return binary


class TerraformCli:
    """Terraform in one working directory with a fixed environment."""

    def __init__(self, working_dir: Path, env: Mapping[str, str], binary: str | None = None):
        self.working_dir = Path(working_dir)
        self.env = dict(env)
        self._builder = _CommandBuilder(
            working_dir=str(self.working_dir),
            terraform_bin_path=binary or terraform_binary(),
            is_env_vars_included=False,
        )

    # -- command lines ---------------------------------------------------------------------
    def _argv(self, command: str, *args: str, **options: Any) -> list[str]:
        return list(self._builder.generate_cmd_string(command, *args, **options))

    def init_args(self, backend_config_file: Path | None) -> list[str]:
        options: dict[str, Any] = {"input": False, "no_color": IsFlagged, "upgrade": False}
        if backend_config_file is None:
            options["backend"] = False
        else:
            options["backend_config"] = [str(backend_config_file)]
            options["reconfigure"] = IsFlagged
        return self._argv("init", **options)

    def plan_args(
        self, var_file: Path, plan_file: Path, *, destroy: bool = False, lock_timeout: str = "0s"
    ) -> list[str]:
        return self._argv(
            "plan",
            input=False,
            no_color=IsFlagged,
            json=IsFlagged,
            lock_timeout=lock_timeout,
            var_file=[str(var_file)],
            out=str(plan_file),
            destroy=IsFlagged if destroy else None,
        )

    def apply_args(self, plan_file: Path, lock_timeout: str = "0s") -> list[str]:
        # Applying a saved plan never prompts; -auto-approve is not needed and not passed.
        return self._argv(
            "apply", str(plan_file), input=False, no_color=IsFlagged, json=IsFlagged, lock_timeout=lock_timeout
        )

    def apply_auto_args(self, var_file: Path, *, destroy: bool = False, lock_timeout: str = "0s") -> list[str]:
        """Plan and apply in one Terraform process (one provider start, one refresh): --auto-approve runs."""
        return self._argv(
            "apply",
            input=False,
            no_color=IsFlagged,
            json=IsFlagged,
            auto_approve=IsFlagged,
            lock_timeout=lock_timeout,
            var_file=[str(var_file)],
            destroy=IsFlagged if destroy else None,
        )

    # -- execution -------------------------------------------------------------------------
    def run(
        self, argv: list[str], on_event: EventHandler | None = None, timeout: float | None = None
    ) -> TerraformResult:
        """Run Terraform, streaming JSON event lines to ``on_event`` as they arrive."""
        result = TerraformResult(args=argv, returncode=-1)
        proc = subprocess.Popen(
            argv,
            cwd=self.working_dir,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        stderr_chunks: list[str] = []
        stdout_lines: list[str] = []
        # Drain stderr concurrently so a chatty stderr can never fill its pipe and stall Terraform.
        assert proc.stderr is not None
        drain = threading.Thread(target=lambda: stderr_chunks.append(proc.stderr.read()), daemon=True)  # type: ignore[union-attr]
        drain.start()
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            self._pump(proc, result, stdout_lines, on_event, deadline)
        except KeyboardInterrupt:
            # The child received the same SIGINT: let it stop gracefully and keep its state intact.
            result.interrupted = True
            try:
                self._pump(proc, result, stdout_lines, on_event, time.monotonic() + _INTERRUPT_GRACE_SECONDS)
            except KeyboardInterrupt:
                proc.send_signal(signal.SIGINT)
                proc.wait(timeout=_INTERRUPT_GRACE_SECONDS)
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            drain.join(timeout=10)
        result.returncode = proc.returncode
        result.stdout = "".join(stdout_lines)
        result.stderr = "".join(stderr_chunks)
        if result.interrupted:
            raise KeyboardInterrupt
        return result

    @staticmethod
    def _pump(
        proc: subprocess.Popen[str],
        result: TerraformResult,
        stdout_lines: list[str],
        on_event: EventHandler | None,
        deadline: float | None,
    ) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            stdout_lines.append(line)
            event = _parse_event(line)
            if event is not None:
                result.events.append(event)
                if on_event is not None:
                    on_event(event)
            if deadline is not None and time.monotonic() > deadline:
                proc.send_signal(signal.SIGINT)
                deadline = None
        proc.wait()

    def init(self, backend_config_file: Path | None, timeout: float = 300) -> TerraformResult:
        return self.run(self.init_args(backend_config_file), timeout=timeout)

    def plan(
        self, var_file: Path, plan_file: Path, *, destroy: bool = False, on_event: EventHandler | None = None
    ) -> TerraformResult:
        return self.run(self.plan_args(var_file, plan_file, destroy=destroy), on_event=on_event)

    def apply(self, plan_file: Path, on_event: EventHandler | None = None) -> TerraformResult:
        return self.run(self.apply_args(plan_file), on_event=on_event)

    def apply_auto(
        self, var_file: Path, *, destroy: bool = False, on_event: EventHandler | None = None
    ) -> TerraformResult:
        return self.run(self.apply_auto_args(var_file, destroy=destroy), on_event=on_event)

    def show(self, plan_file: Path) -> str:
        """The human-readable plan."""
        result = self.run(self._argv("show", str(plan_file), no_color=IsFlagged))
        return result.stdout

    def show_json(self, plan_file: Path) -> dict[str, Any]:
        result = self.run(self._argv("show", str(plan_file), no_color=IsFlagged, json=IsFlagged))
        return json.loads(result.stdout) if result.ok and result.stdout.strip() else {}

    def state_list(self) -> list[str]:
        """Addresses in the stack's state; empty when nothing is deployed (or no state exists)."""
        result = self.run(self._argv("state list", no_color=IsFlagged))
        return [line.strip() for line in result.stdout.splitlines() if line.strip()] if result.ok else []

    def outputs(self) -> dict[str, Any]:
        result = self.run(self._argv("output", no_color=IsFlagged, json=IsFlagged))
        return json.loads(result.stdout) if result.ok and result.stdout.strip() else {}


def _parse_event(line: str) -> dict[str, Any] | None:
    line = line.strip()
    if not line.startswith("{"):
        return None
    try:
        event = json.loads(line)
    except json.JSONDecodeError:
        return None
    return event if isinstance(event, dict) else None
