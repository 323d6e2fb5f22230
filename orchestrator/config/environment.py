"""A loaded environment: the merged, validated document plus typed views and derived names."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestrator.config.names import DerivedNames, derive_names
from orchestrator.config.rules import entry_program


def _optional_str(value: Any) -> str | None:
    return None if value is None else str(value)


@dataclass(frozen=True)
class Autoscaling:
    enabled: bool
    min_capacity: int
    max_capacity: int
    target_invocations_per_instance: float
    scale_in_cooldown_sec: int
    scale_out_cooldown_sec: int


@dataclass(frozen=True)
class ModelSpec:
    """One served model (a folder) and the production variant that serves it."""

    name: str
    path: Path  # absolute model folder
    variant_name: str
    weight: float
    traffic_share: float  # weight / sum of weights, 0..1
    instance_count: int
    instance_type: str
    workers: int | None
    env: dict[str, str]
    program: str  # entry module in code/ (SAGEMAKER_PROGRAM, default inference.py)
    image: str | None
    autoscaling: Autoscaling

    @property
    def code_dir(self) -> Path:
        return self.path / "code"

    @property
    def artifacts_dir(self) -> Path:
        return self.path / "artifacts"

    def container_env(self) -> dict[str, str]:
        """Container environment of the SageMaker model: user env plus the managed variables."""
        env = {"SAGEMAKER_PROGRAM": self.program, **self.env}
        if self.workers is not None:
            env["SAGEMAKER_MODEL_SERVER_WORKERS"] = str(self.workers)
        return env


@dataclass(frozen=True)
class TestCase:
    """A request and the response keys it must return (the original tester's message format)."""

    __test__ = False  # not a pytest class

    name: str
    type: str
    resource: str
    request: dict[str, Any]
    response: dict[str, Any]
    interval_sec: float = 1.0

    def to_message(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "resource": self.resource,
            "request": self.request,
            "response": self.response,
            "interval": self.interval_sec,
        }


@dataclass(frozen=True)
class Environment:
    """A validated environment. ``data`` is the merged document with defaults applied,
    without ``$schema``/``extends``; treat it as read-only."""

    name: str
    path: Path
    data: dict[str, Any]
    root: Path
    files: tuple[Path, ...] = field(default=())  # the extends chain, most derived first

    # -- identity -------------------------------------------------------------------------
    @property
    def project(self) -> str:
        return str(self.data["project"]["name"])

    @property
    def stage(self) -> str:
        return str(self.data["project"]["stage"])

    @property
    def region(self) -> str:
        return str(self.data["project"]["region"])

    @property
    def account(self) -> str | None:
        return _optional_str(self.data["project"]["account"])

    @property
    def profile(self) -> str | None:
        return _optional_str(self.data["project"]["profile"])

    @property
    def names(self) -> DerivedNames:
        return derive_names(self.data)

    @property
    def prefix(self) -> str:
        return f"{self.project}-{self.stage}"

    @property
    def endpoint_name(self) -> str:
        return self.names.endpoint_name

    @property
    def ssm_prefix(self) -> str:
        return f"/{self.project}/{self.stage}"

    # -- target ---------------------------------------------------------------------------
    @property
    def target_kind(self) -> str:
        return str(self.data["target"]["kind"])

    @property
    def is_embedded(self) -> bool:
        return self.target_kind == "embedded"

    @property
    def control_plane_port(self) -> int:
        return int(self.data["target"]["control_plane_port"])

    @property
    def state_bucket(self) -> str | None:
        return _optional_str(self.data["target"]["state_bucket"])

    @property
    def state_region(self) -> str:
        return str(self.data["target"]["state_region"] or self.region)

    # -- serving --------------------------------------------------------------------------
    @property
    def models(self) -> list[ModelSpec]:
        serving = self.data["serving"]
        entries = serving["models"]
        total = sum(float(m["variant"]["weight"]) for m in entries)
        specs = []
        for model in entries:
            variant, scaling = model["variant"], model["autoscaling"]
            specs.append(
                ModelSpec(
                    name=model["name"],
                    path=(self.root / model["path"]).resolve(),
                    variant_name=variant["name"],
                    weight=float(variant["weight"]),
                    traffic_share=float(variant["weight"]) / total,
                    instance_count=int(variant["instance_count"]),
                    instance_type=variant["instance_type"],
                    workers=variant["workers"],
                    env=dict(variant["env"]),
                    program=entry_program(model),
                    image=model["image"] or serving["image"],
                    autoscaling=Autoscaling(**scaling),
                )
            )
        return specs

    def model(self, name: str) -> ModelSpec:
        for spec in self.models:
            if spec.name == name:
                return spec
        raise KeyError(f"environment {self.name} has no model {name!r}")

    @property
    def test_cases(self) -> list[TestCase]:
        return [
            TestCase(
                name=c["name"],
                type=c["type"],
                resource=c["resource"],
                request=dict(c["request"]),
                response=dict(c["response"]),
                interval_sec=float(c["interval_sec"]),
            )
            for c in self.data["load_testing"]["test_cases"]
        ]

    def summary(self) -> str:
        """``project text-classification-local, 2 models (model-a 75%, model-b 25%), target embedded``."""
        shares = ", ".join(f"{m.name} {m.traffic_share * 100:.3g}%" for m in self.models)
        count = len(self.models)
        return f"project {self.prefix}, {count} model{'s' if count != 1 else ''} ({shares}), target {self.target_kind}"
