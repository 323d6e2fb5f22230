"""Intended send times of an open-loop run, as offsets in seconds from the start.

The schedule depends only on the rate, the arrival process and the seed, never on responses:
that independence is what makes the measurement free of coordinated omission.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Literal

Arrival = Literal["constant", "poisson"]
ARRIVALS: tuple[str, ...] = ("constant", "poisson", "closed")


def send_offsets(rate: float, arrival: Arrival = "constant", seed: int = 0) -> Iterator[float]:
    """Endless, non-decreasing send offsets (seconds) for ``rate`` requests per second.

    ``constant``: ``i / rate``. ``poisson``: exponential inter-arrival gaps with mean ``1 / rate``
    drawn from a generator seeded with ``seed`` (reproducible).
    """
    if rate <= 0:
        raise ValueError("rate must be positive")
    if arrival == "constant":
        i = 0
        while True:
            yield i / rate
            i += 1
    elif arrival == "poisson":
        rng = random.Random(seed)
        t = 0.0
        while True:
            yield t
            t += rng.expovariate(rate)
    else:
        raise ValueError(f"unknown arrival process {arrival!r}")


def offsets_until(end: float, rate: float, arrival: Arrival = "constant", seed: int = 0) -> Iterator[float]:
    """The send offsets strictly before ``end`` seconds."""
    for t in send_offsets(rate, arrival, seed):
        if t >= end:
            return
        yield t
