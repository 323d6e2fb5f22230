"""Plain results of packaging, and their mapping to the ``artifacts`` render context."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestrator.packaging.digests import sha256_file, terraform_source_code_hash


@dataclass(frozen=True)
class Artifact:
    """A built file: absolute path, SHA-256 (hex), size in bytes and Terraform's source_code_hash."""

    name: str
    path: Path
    sha256: str
    size: int
    source_code_hash: str
    missing: bool = False  # True only for placeholders (destroy without a previous build)

    @classmethod
    def of(cls, name: str, path: Path) -> Artifact:
        hexdigest, size, raw = sha256_file(path)
        return cls(
            name=name,
            path=path.resolve(),
            sha256=hexdigest,
            size=size,
            source_code_hash=terraform_source_code_hash(raw),
        )

    @classmethod
    def placeholder(cls, name: str, path: Path) -> Artifact:
        return cls(name=name, path=path.resolve(), sha256="0" * 64, size=0, source_code_hash="", missing=True)


@dataclass
class PackageResult:
    """Everything ``package_environment`` built for one environment."""

    env_name: str
    models: dict[str, Artifact] = field(default_factory=dict)
    lambdas: dict[str, Artifact] = field(default_factory=dict)
    trained: list[str] = field(default_factory=list)  # models whose train.py ran

    def to_context(self) -> dict[str, Any]:
        """The ``artifacts`` render context of the stack templates."""
        return {
            "models": {n: {"path": str(a.path), "sha256": a.sha256, "size": a.size} for n, a in self.models.items()},
            "lambdas": {
                n: {"path": str(a.path), "sha256": a.sha256, "size": a.size, "source_code_hash": a.source_code_hash}
                for n, a in self.lambdas.items()
            },
        }

    def table(self, relative_to: Path | None = None) -> str:
        """An aligned table: kind, name, size, sha256, path."""
        rows = [("KIND", "NAME", "SIZE", "SHA256", "PATH")]
        for kind, group in (("model", self.models), ("lambda", self.lambdas)):
            for name, artifact in group.items():
                path = artifact.path
                if relative_to is not None and path.is_relative_to(relative_to):
                    path = path.relative_to(relative_to)
                size = "missing" if artifact.missing else _human_size(artifact.size)
                rows.append(
                    (kind, name, size, artifact.sha256[:16] if artifact.missing else artifact.sha256, str(path))
                )
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        lines = []
        for row in rows:
            cells = [
                row[0].ljust(widths[0]),
                row[1].ljust(widths[1]),
                row[2].rjust(widths[2]),
                row[3].ljust(widths[3]),
                row[4],
            ]
            lines.append("  ".join(cells).rstrip())
        return "\n".join(lines)


def _human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{size} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"
