from __future__ import annotations

import re
from pathlib import Path

import pytest

from orchestrator.errors import UsageError
from orchestrator.terraform import stacks


def _base_data(cicd: bool = True) -> dict:
    return {"cicd": {"enabled": cicd}}


def test_order_respects_every_dependency() -> None:
    order = [s.name for s in stacks.topological_order()]
    for stack in stacks.STACKS:
        for dep in stack.depends_on:
            assert order.index(dep) < order.index(stack.name)


def test_disabled_stack_is_left_out_and_refused_by_name() -> None:
    assert "cicd-pipeline" not in [s.name for s in stacks.select(_base_data(cicd=False))]
    assert "cicd-pipeline" in [s.name for s in stacks.select(_base_data(cicd=True))]
    with pytest.raises(UsageError, match="disabled"):
        stacks.select(_base_data(cicd=False), ["cicd-pipeline"])


def test_unknown_stack_named() -> None:
    with pytest.raises(UsageError, match="unknown stack.*nope"):
        stacks.select(_base_data(), ["nope"])


def test_selection_keeps_graph_order() -> None:
    assert [s.name for s in stacks.select(_base_data(), ["monitoring", "model-archive"])] == [
        "model-archive",
        "monitoring",
    ]


def test_cycle_detected() -> None:
    a = stacks.Stack("a", ("b",))
    b = stacks.Stack("b", ("a",))
    with pytest.raises(ValueError, match="cycle"):
        stacks.topological_order([a, b])


def test_upstreams_and_downstreams_within_a_run() -> None:
    run = stacks.select(_base_data(), ["api-hosting", "monitoring", "load-testing"])
    api = stacks.get("api-hosting")
    assert stacks.upstreams(api, run) == set()  # model-serving is not part of this run
    assert stacks.downstreams(api, run) == {"monitoring", "load-testing"}


def test_declared_dependencies_are_exactly_the_parameters_each_stack_reads() -> None:
    """A stack reads upstream values from SSM under /<project>/<stage>/<stack>/: the graph must list
    every stack whose parameters it reads (or apply could start it too early, destroy remove its
    upstream first), and nothing it does not read (or stacks wait for no reason)."""
    roots = Path(__file__).resolve().parents[2] / "terraform" / "stacks"
    for stack in stacks.STACKS:
        text = "".join(p.read_text() for p in sorted((roots / stack.name).glob("*.tf")))
        reads = set(re.findall(r"\$\{local\.ssm_prefix\}/([a-z-]+)/", text)) - {stack.name}
        assert reads == set(stack.depends_on), f"{stack.name} reads {sorted(reads)}, declares {stack.depends_on}"
