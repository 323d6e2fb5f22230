"""Packaging failures: what is wrong and with which file."""

from __future__ import annotations

from orchestrator.errors import OrchestratorError, UsageError


class ModelFolderError(UsageError):
    """A model folder cannot be packaged as it is (missing entry module or handlers, unsafe content)."""

    def __init__(self, folder: str, problems: list[str]):
        self.folder = folder
        self.problems = list(problems)
        super().__init__(f"{folder}: " + "; ".join(self.problems))

    def render(self) -> str:
        if len(self.problems) == 1:
            return f"cannot package {self.folder}: {self.problems[0]}"
        return f"cannot package {self.folder}:\n" + "\n".join(f"  - {p}" for p in self.problems)


class TrainingError(OrchestratorError):
    """``train.py`` failed or did not produce artifacts."""


class UnsafeArchiveError(OrchestratorError, ValueError):
    """A tar archive has a member that could write outside the destination or is not a plain file."""

    def __init__(self, archive: str, problems: list[str]):
        self.archive = archive
        self.problems = list(problems)
        super().__init__(f"refusing to extract {archive}: " + "; ".join(self.problems))
