"""A server that accepts and reads but never answers: sends beyond --max-in-flight are dropped and
counted, outstanding requests time out, and the run ends on time."""

from __future__ import annotations

import time

import pytest

from orchestrator.loadtest import engine
from orchestrator.loadtest.summary import summarize

from .helpers import target

pytestmark = pytest.mark.timeout(30)


def test_drops_and_timeouts_when_the_server_hangs(fake_server) -> None:
    url = fake_server("hang")
    started = time.monotonic()
    result = engine.run(engine.RunConfig(rate=200, duration=2, warmup=0, max_in_flight=20, timeout=0.5), target(url))
    took = time.monotonic() - started
    s = summarize(result)
    r = s["requests"]
    assert took < 2 + 0.5 + 1.5  # duration + timeout (drain) + slack
    assert r["scheduled"] == 400
    assert r["sent"] + r["drops"] == 400
    assert r["drops"] >= 300  # 20 in flight per 0.5 s timeout: at most ~100 sent
    assert r["timeouts"] == r["sent"] and r["success"] == 0
    assert s["error_rate"] == 1.0
    assert any("dropped" in w for w in s["warnings"])
    assert s["latency_ms"]["p50"] >= 500  # timeouts are recorded at (at least) the timeout


def test_connection_refused_is_an_error_not_a_hang() -> None:
    from .helpers import target as make_target

    result = engine.run(engine.RunConfig(rate=50, duration=0.5, timeout=1), make_target("http://127.0.0.1:9"))
    s = summarize(result)
    assert s["requests"]["success"] == 0
    assert s["errors_by_status"].get("connection", 0) == s["requests"]["sent"] > 0


def test_closed_loop_times_out_and_ends_when_the_server_hangs(fake_server) -> None:
    url = fake_server("hang")
    started = time.monotonic()
    cfg = engine.RunConfig(rate=50, duration=1, warmup=0, arrival="closed", concurrency=2, timeout=0.3)
    s = summarize(engine.run(cfg, target(url)))
    assert time.monotonic() - started < 1 + 0.3 + 1.5
    assert s["requests"]["timeouts"] == s["requests"]["sent"] > 0
