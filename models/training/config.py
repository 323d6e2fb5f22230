"""The ``training`` section of model.json, with the reference example's values as defaults."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any


@dataclass(frozen=True)
class TrainingConfig:
    epochs: int = 5
    lr: float = 4.0
    batch_size: int = 16
    lr_step_size: int = 1
    """StepLR: multiply the learning rate by ``lr_gamma`` every ``lr_step_size`` epochs."""
    lr_gamma: float = 0.1
    grad_clip_norm: float = 0.1
    init_range: float = 0.5
    seed: int = 0

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrainingConfig:
        known = {item.name: item for item in fields(cls)}
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise ValueError(f"model.json: unknown training key(s) {', '.join(unknown)}")
        values: dict[str, Any] = {}
        for name, value in data.items():
            kind = int if known[name].type == "int" else float
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or (kind is int and not isinstance(value, int))
            ):
                raise ValueError(f"model.json: training.{name} must be a number ({known[name].type})")
            values[name] = kind(value)
        config = cls(**values)
        for name in ("epochs", "batch_size", "lr_step_size"):
            if getattr(config, name) < 1:
                raise ValueError(f"model.json: training.{name} must be >= 1")
        for name in ("lr", "lr_gamma", "grad_clip_norm", "init_range"):
            if getattr(config, name) <= 0:
                raise ValueError(f"model.json: training.{name} must be > 0")
        return config

    def with_overrides(self, **overrides: Any) -> TrainingConfig:
        return replace(self, **{key: value for key, value in overrides.items() if value is not None})
