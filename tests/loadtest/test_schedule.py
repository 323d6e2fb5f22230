from __future__ import annotations

import itertools
import statistics

import pytest

from orchestrator.loadtest.schedule import offsets_until, send_offsets


def test_constant_schedule_is_exact() -> None:
    offsets = list(offsets_until(2.0, 500))
    assert len(offsets) == 1000
    assert offsets[:3] == [0.0, 0.002, 0.004]
    assert offsets[-1] == pytest.approx(1.998)


def test_poisson_schedule_is_seeded_and_has_the_right_mean() -> None:
    a = list(itertools.islice(send_offsets(1000, "poisson", seed=7), 20000))
    b = list(itertools.islice(send_offsets(1000, "poisson", seed=7), 20000))
    c = list(itertools.islice(send_offsets(1000, "poisson", seed=8), 20000))
    assert a == b and a != c
    gaps = [y - x for x, y in itertools.pairwise(a)]
    assert statistics.fmean(gaps) == pytest.approx(0.001, rel=0.03)
    assert statistics.pstdev(gaps) == pytest.approx(0.001, rel=0.05)  # exponential: sd == mean
    assert all(g >= 0 for g in gaps)


def test_bad_rate_is_refused() -> None:
    with pytest.raises(ValueError):
        next(send_offsets(0))
