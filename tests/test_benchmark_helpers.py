"""The benchmarks' own parsing, figure and speed gauges (the figures in notes depend on them)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import time
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent

WRK_OUTPUT = """Running 10s test @ http://127.0.0.1:1/invocations
  1 threads and 64 connections
  Latency Distribution
     50%    2.02ms
     75%    2.80ms
     90%    3.60ms
     99%  850.00us
  271441 requests in 10.00s, 30.04MB read
  Non-2xx or 3xx responses: 3
Requests/sec:  27144.10
"""


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("serving_runtime_bench", ROOT / "benchmarks" / "serving_runtime.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_wrk_output_is_parsed_in_milliseconds() -> None:
    r = _bench().parse_wrk(WRK_OUTPUT)
    assert r["rps"] == 27144.10 and r["p50_ms"] == 2.02 and r["p99_ms"] == 0.85 and r["non2xx"] == 3.0
    assert r["socket_errors"] == 0.0 and r["requests"] == 271441
    failed = _bench().parse_wrk(WRK_OUTPUT.replace("  Non-2xx", "  Socket errors: connect 0, read 2, write 0, timeout 0\n  Non-2xx"))
    assert failed["socket_errors"] == 1.0


def test_alternating_rounds_combine_into_their_medians_and_sums() -> None:
    bench = _bench()
    rounds = [bench.parse_wrk(WRK_OUTPUT.replace("27144.10", rps).replace("850.00us", p99))
              for rps, p99 in (("9000.00", "4.00ms"), ("20000.00", "1.00ms"), ("12000.00", "2.00ms"))]
    r = bench.combine_rounds(rounds)
    assert (r["rps"], r["p99_ms"], r["p50_ms"]) == (12000.0, 2.0, 2.02)  # one slow round does not move it
    assert r["requests"] == 3 * 271441 and r["non2xx"] == 9.0 and r["socket_errors"] == 0.0
    failed = bench.combine_rounds([*rounds, bench.parse_wrk("")])  # one run gave nothing: no figure at all
    assert failed["rps"] != failed["rps"] and failed["requests"] == 3 * 271441


def test_the_paths_alternate_per_connection_count_and_swap_who_goes_first() -> None:
    order = _bench().measuring_order([1, 16], 3)
    assert order == [
        (1, "container"), (1, "invoke"), (1, "invoke"), (1, "container"), (1, "container"), (1, "invoke"),
        (16, "container"), (16, "invoke"), (16, "invoke"), (16, "container"), (16, "container"), (16, "invoke"),
    ]
    assert _bench().measuring_order([64], 1) == [(64, "container"), (64, "invoke")]


def test_plot_draws_every_server_into_a_png(tmp_path: Path) -> None:
    rows = [(server, label, c, {"rps": 1000.0 * c, "p99_ms": 1.5})
            for server in ("container port", "InvokeEndpoint", "torchserve")
            for label in ("batch1", "batch16") for c in (1, 16, 64)]
    path = _bench().plot(rows, tmp_path / "fig" / "serving.png", floor_us=120.0)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 10_000


def test_floor_is_measured_through_the_handlers_of_the_model(tmp_path: Path) -> None:
    bench = _bench()
    model = bench.build_model(tmp_path / "model")
    alone, batched = bench.measure_floor(model, lone_requests=200)
    assert 0 < batched < alone < 100_000  # batching 64 costs less per request than one at a time
    (model / "code" / "inference.py").write_text(  # a model that answers an error is no floor
        bench.INFERENCE_PY.replace('return data["sentence"]', 'raise BadRequest("no")')
    )
    with pytest.raises(subprocess.CalledProcessError):
        bench.measure_floor(model, lone_requests=200)


def test_round_trip_gauge_loads_a_real_server_that_does_nothing(tmp_path: Path) -> None:
    import urllib.request

    bench = _bench()
    lua = tmp_path / "post.lua"
    lua.write_text(bench.WRK_LUA)
    urls = []

    def fake_wrk(url: str, connections: int, seconds: int, script: Path) -> dict[str, float]:
        assert (connections, script) == (1, lua)
        with urllib.request.urlopen(urllib.request.Request(url, data=b'{"sentence": "a"}', method="POST")) as answer:
            assert answer.status == 200  # a real server answered
        urls.append(url)
        rps = 1000.0 * len(urls)
        return bench.parse_wrk(WRK_OUTPUT.replace("27144.10", f"{rps:.2f}").replace("  Non-2xx or 3xx responses: 3\n", ""))

    figures = bench.measure_round_trip(lua, seconds=1, rounds=3, run=fake_wrk)
    assert figures["rps"] == 2000.0 and figures["non2xx"] == 0 and len(set(urls)) == 1  # the median of 3 runs
    with pytest.raises(OSError):  # and the server is gone afterwards
        urllib.request.urlopen(urls[0], timeout=5)


def test_invoke_endpoint_gauge_times_real_calls_to_the_runtime(tmp_path: Path) -> None:
    from botocore.exceptions import ClientError

    from orchestrator.dataplane.sagemaker import EndpointSpec, LocalSageMakerRuntime, ModelSpec, VariantSpec

    spec = importlib.util.spec_from_file_location("api_lambda_path_bench", ROOT / "benchmarks" / "api_lambda_path.py")
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    (tmp_path / "model" / "code").mkdir(parents=True)
    (tmp_path / "model" / "code" / "inference.py").write_text(bench.TINY_MODEL)
    rt = LocalSageMakerRuntime(work_dir=tmp_path / "work")
    url = rt.start()
    try:
        variant = VariantSpec("primary", ModelSpec("tiny", str(tmp_path / "model"), {"SAGEMAKER_MODEL_SERVER_WORKERS": "1"}))
        assert rt.apply(EndpointSpec("gauge", "cfg", (variant,), None)).status == "InService"
        assert 0 < bench.invoke_endpoint_cpu_us(url, "gauge", '{"sentence": "a"}', calls=20) < 1_000_000
        with pytest.raises(ClientError):  # the calls are real: a missing endpoint fails them
            bench.invoke_endpoint_cpu_us(url, "missing", '{"sentence": "a"}', calls=1)
    finally:
        rt.stop()


def test_a_process_tree_is_found_and_waited_for() -> None:
    bench = _bench()
    parent = subprocess.Popen(["sh", "-c", "sleep 30 & sleep 30 & wait"])
    try:
        deadline = time.monotonic() + 5
        while len(bench.descendants(parent.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        tree = bench.descendants(parent.pid)
        assert len(tree) == 2 and bench.descendants(os.getpid()).count(parent.pid) == 1
        started = time.monotonic()
        bench.wait_gone(tree, timeout=0.3)  # the sleeps outlive the timeout: killed
        assert 0.3 <= time.monotonic() - started < 5
        assert not any(bench.running(p) for p in tree)
    finally:
        parent.kill()
        parent.wait()
