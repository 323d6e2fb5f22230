"""Benchmark of the local SageMaker data plane (container port and InvokeEndpoint), driven by `wrk`.

Builds a synthetic model folder of the size the issue talks about (EmbeddingBag 20k x 32 -> 4 classes,
a tokenizer-like preprocessing: lower-case, regex split, vocabulary look-up), serves it with
LocalSageMakerRuntime (2 workers), and runs wrk at 1, 16 and 64 connections for batch size 1 and for
batch 16 / 5 ms, printing req/s, p50 and p99 for two paths into the same variant: the instance's
container port (the model server alone, what TorchServe is compared with) and InvokeEndpoint (variant
routing, metrics, and with `--capture` 100 % data capture to a local dir).

It first prints the floor: the model's handlers in one process without HTTP, per request alone and
per request in a batch of 64, which the issue put at ~80-90 us and ~11 us on this machine. Every
figure of a run scales with it, and this VM's speed drifts by up to 2x within an hour, so compare runs
through it, never across hours by their raw req/s.

    .venv/bin/python benchmarks/serving_runtime.py [--duration 10] [--rounds 5] [--capture] [--torchserve] [--model-dir D] [--plot out.png]

(--rounds N: the two paths alternate in N runs of duration/N seconds at each connection count, and each
row is the median of its runs: compare the paths that way, since this VM's speed moves within a minute.)

(--model-dir: an extracted model directory answering {"sentence": ...}, e.g. model-a's code/ + artifacts;
the TorchServe side needs the synthetic model's predict_batch_fn, so use it without --model-dir.)

Needs `wrk` (Debian: apt-get install -y wrk). With --torchserve it also runs the same model under
TorchServe from a separate venv (TORCHSERVE_VENV, default /tmp/ts-venv) for a side-by-side figure.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SENTENCE = "Baseball is one of the most popular sports in the United States."

INFERENCE_PY = textwrap.dedent(
    '''
    """Synthetic text classifier: EmbeddingBag(20000, 32, mean) -> Linear(32, 4)."""
    import json
    import os
    import re

    import torch

    torch.set_num_threads(1)
    _TOKEN = re.compile(r"[a-z0-9']+")


    class Net(torch.nn.Module):
        def __init__(self, vocab_size=20000, dim=32, classes=4):
            super().__init__()
            self.embedding = torch.nn.EmbeddingBag(vocab_size, dim, mode="mean")
            self.fc = torch.nn.Linear(dim, classes)

        def forward(self, tokens, offsets):
            return self.fc(self.embedding(tokens, offsets))


    class BadRequest(Exception):
        def __init__(self, message):
            super().__init__(message)
            self.status_code = 400
            self.message = message


    def model_fn(model_dir):
        net = Net()
        net.load_state_dict(torch.load(os.path.join(model_dir, "model.pt"), weights_only=True))
        net.eval()
        with open(os.path.join(model_dir, "vocab.json")) as f:
            vocab = json.load(f)
        return net, vocab


    def _ids(sentence, vocab):
        return [vocab.get(t, hash(t) % 19999 + 1) for t in _TOKEN.findall(sentence.lower())] or [0]


    def input_fn(body, content_type):
        if content_type != "application/json":
            raise BadRequest("content type must be application/json")
        data = json.loads(body)
        if not isinstance(data, dict) or not isinstance(data.get("sentence"), str):
            raise BadRequest('expected {"sentence": "..."}')
        return data["sentence"]


    def _forward(sentences, model):
        net, vocab = model
        ids, offsets = [], []
        for s in sentences:
            offsets.append(len(ids))
            ids.extend(_ids(s, vocab))
        with torch.inference_mode():
            logits = net(torch.tensor(ids), torch.tensor(offsets))
        return (logits.argmax(1) + 1).tolist()


    def predict_fn(sentence, model):
        return _forward([sentence], model)[0]


    def predict_batch_fn(sentences, model):
        return _forward(sentences, model)


    def output_fn(label, accept):
        return json.dumps({"label": label}), "application/json"
    '''
)

WRK_LUA = textwrap.dedent(
    f"""
    wrk.method = "POST"
    wrk.body = {json.dumps(json.dumps({"sentence": SENTENCE}))}
    wrk.headers["Content-Type"] = "application/json"
    """
)


# The "floor": the model's own handlers in one process, no HTTP, no second process. Run through the
# worker's HandlerService (the code the workers run) in a fresh interpreter, so that the figure tells how
# fast this machine is today: this VM's speed drifts by up to 2x within an hour, and every figure above
# it scales with it.
FLOOR_PY = textwrap.dedent(
    """
    import importlib.util, json, statistics, sys, time
    worker_path, model_dir, body, lone = sys.argv[1], sys.argv[2], sys.argv[3].encode(), int(sys.argv[4])
    spec = importlib.util.spec_from_file_location("sm_worker", worker_path)
    w = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(w)
    svc = w.HandlerService(w.load_user_module(model_dir, "inference.py"), model_dir)
    out = {}
    for size, n in ((1, lone), (64, max(1, lone // 50))):
        batch = [w.WireRequest(i, "application/json", "application/json", "", "", body) for i in range(size)]
        assert all(r.status == 200 for r in svc.handle_batch(batch)), "the model did not answer 200"
        rounds = []
        for _ in range(7):
            started = time.perf_counter()
            for _ in range(n):
                svc.handle_batch(batch)
            rounds.append((time.perf_counter() - started) / (n * size) * 1e6)
        out[size] = statistics.median(rounds)
    print(json.dumps(out))
    """
)


def measure_floor(model_dir: Path, lone_requests: int = 2000) -> tuple[float, float]:
    """Microseconds per request alone and per request in a batch of 64, in one process without HTTP
    (the median of 7 rounds of `lone_requests` requests alone, and of a 50th as many batches)."""
    worker = ROOT / "orchestrator" / "dataplane" / "sagemaker" / "worker.py"
    body = json.dumps({"sentence": SENTENCE})
    done = subprocess.run(
        [sys.executable, "-I", "-c", FLOOR_PY, str(worker), str(model_dir), body, str(lone_requests)],
        capture_output=True, text=True, check=True, cwd=model_dir,
    )
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    return float(figures["1"]), float(figures["64"])


def measure_round_trip(lua: Path, seconds: int = 3, rounds: int = 3, run: Callable[..., dict[str, float]] | None = None) -> dict[str, float]:
    """This machine's own HTTP round trip at 1 connection, the second speed gauge: wrk against a server
    that does nothing (`orchestrator.loadtest.fakeserver`: uvloop + httptools, a fixed answer), the
    same request as the model's, the median of `rounds` runs. A comparison, not a bound: a server that
    polls for the next request (our workers, after a lone one) can answer faster than this one, which
    sleeps; its p99 is the tail this machine gives a server that does no work. `run` stands in for
    run_wrk (tests)."""
    from orchestrator.loadtest import fakeserver

    run = run or run_wrk
    server, port = fakeserver.spawn()
    try:
        url = f"http://127.0.0.1:{port}/invocations"
        return combine_rounds([run(url, 1, seconds, lua) for _ in range(rounds)])
    finally:
        server.terminate()
        server.wait(timeout=10)


def build_model(dest: Path) -> Path:
    import torch

    (dest / "code").mkdir(parents=True, exist_ok=True)
    (dest / "code" / "inference.py").write_text(INFERENCE_PY)
    torch.manual_seed(0)
    state = {
        "embedding.weight": torch.randn(20000, 32),
        "fc.weight": torch.randn(4, 32) * 0.1,
        "fc.bias": torch.zeros(4),
    }
    torch.save(state, dest / "model.pt")
    words = re.findall(r"[a-z0-9']+", (SENTENCE + " the a of and to in is world sports business science").lower())
    (dest / "vocab.json").write_text(json.dumps({w: i + 1 for i, w in enumerate(dict.fromkeys(words))}))
    return dest


def parse_wrk(out: str) -> dict[str, float]:
    def lat(label: str) -> float:
        m = re.search(rf"^\s*{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.MULTILINE)
        if not m:
            return float("nan")
        v = float(m.group(1))
        return v / 1000 if m.group(2) == "us" else v * 1000 if m.group(2) == "s" else v

    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    total = re.search(r"(\d+) requests in", out)
    return {
        "rps": float(rps.group(1)) if rps else float("nan"),
        "p50_ms": lat("50%"),
        "p99_ms": lat("99%"),
        "requests": float(total.group(1)) if total else 0.0,
        "non2xx": float(non2xx.group(1)) if non2xx else 0.0,
        "socket_errors": 1.0 if errors else 0.0,
    }


def cpu_seconds(pids: list[int]) -> float:
    """utime + stime of processes (to report CPU per request, robust to a busy machine)."""
    total = 0.0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except OSError:
            pass
    return total


def run_wrk(url: str, connections: int, duration: int, lua: Path, threads: int = 1) -> dict[str, float]:
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency", "-s", str(lua), url]
    # No check: a failed run parses to NaN in the table instead of aborting the remaining measurements.
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 30, check=False).stdout
    return parse_wrk(out)


def combine_rounds(rounds: list[dict[str, float]]) -> dict[str, float]:
    """One point from several short wrk runs of it: the median req/s, p50 and p99 (one disturbed round
    does not move it), the requests and error counts summed."""
    def median(key: str) -> float:
        values = [r[key] for r in rounds]
        return float("nan") if any(math.isnan(v) for v in values) else statistics.median(values)

    return {
        "rps": median("rps"),
        "p50_ms": median("p50_ms"),
        "p99_ms": median("p99_ms"),
        "requests": sum(r["requests"] for r in rounds),
        "non2xx": sum(r["non2xx"] for r in rounds),
        "socket_errors": sum(r["socket_errors"] for r in rounds),
    }


def measuring_order(conns: list[int], rounds: int, paths: tuple[str, ...] = ("container", "invoke")) -> list[tuple[int, str]]:
    """The (connections, path) runs in order: per connection count, `rounds` rounds of every path, the
    order reversed every other round (A B, B A, ...), so that neither path always runs first in a pair."""
    order = []
    for c in conns:
        for i in range(rounds):
            order += [(c, path) for path in (paths if i % 2 == 0 else paths[::-1])]
    return order


class Point(NamedTuple):
    """One path at one connection count: the combined figures and each round's req/s, in order."""

    path: str  # "container" or "invoke"
    connections: int
    figures: dict[str, float]
    round_rps: tuple[float, ...]


def bench_runtime(
    model_dir: Path, env: dict[str, str], conns: list[int], duration: int, capture_dir: Path | None, lua: Path,
    rounds: int = 1,
) -> list[Point]:
    """Both ways into one served variant: its container port, and InvokeEndpoint (routing, metrics, and
    with `capture_dir` 100 % data capture; the container port never captures, as on SageMaker).

    At each connection count the two paths alternate in `rounds` runs of duration/rounds seconds each
    (`measuring_order`), so that both see the same minutes of this drifting VM: measured one after the
    other, half a minute apart, their ratio moved by more than the paths differ. Round i of one path and
    round i of the other are a pair (`Point.round_rps`)."""
    from orchestrator.dataplane.sagemaker import (
        DataCaptureSpec,
        EndpointSpec,
        LocalDirCaptureSink,
        LocalSageMakerRuntime,
        ModelSpec,
        VariantSpec,
    )

    sink = LocalDirCaptureSink(capture_dir) if capture_dir else None
    capture = (
        DataCaptureSpec(True, "s3://capture/bench", 100.0, json_content_types=("application/json",), has_content_type_header=True)
        if capture_dir
        else None
    )
    rt = LocalSageMakerRuntime(capture_sink=sink)
    url = rt.start()
    gc.collect()
    gc.freeze()  # as the data-plane process does (process.py)
    try:
        spec = EndpointSpec("bench", "bench-config", (VariantSpec("primary", ModelSpec("bench-model", str(model_dir), env)),), capture)
        state = rt.apply(spec)
        if state.status != "InService":
            raise SystemExit(f"endpoint failed: {state.failure_reason}")
        assert rt.manager is not None
        [instance] = rt.manager.status_document()["bench"]["variants"][0]["instances"]  # type: ignore[index]
        targets = {"container": f"{instance['container_url']}/invocations", "invoke": f"{url}/endpoints/bench/invocations"}
        pids = [p for v in rt.manager.inventory() for group in v.instance_pids for p in group]
        paths = ("container", "invoke")
        runs: dict[tuple[str, int], list[dict[str, float]]] = {}
        cpu: dict[tuple[str, int], list[float]] = {}

        def measure(path: str, c: int, seconds: int) -> None:
            front0, workers0 = cpu_seconds([os.getpid()]), cpu_seconds(pids)
            r = run_wrk(targets[path], c, seconds, lua)
            front1, workers1 = cpu_seconds([os.getpid()]), cpu_seconds(pids)
            runs.setdefault((path, c), []).append(r)
            totals = cpu.setdefault((path, c), [0.0, 0.0])
            totals[0] += front1 - front0
            totals[1] += workers1 - workers0

        for path in paths:
            run_wrk(targets[path], 16, 2, lua)  # warm-up
        for c, path in measuring_order(conns, rounds, paths):
            measure(path, c, max(1, round(duration / rounds)))
        results = []
        for path in paths:
            for c in conns:
                measured = runs[(path, c)]
                r = combine_rounds(measured)
                n = max(1.0, r["requests"])
                r["front_us"] = cpu[(path, c)][0] / n * 1e6
                r["worker_us"] = cpu[(path, c)][1] / n * 1e6
                results.append(Point(path, c, r, tuple(m["rps"] for m in measured)))
        return results
    finally:
        rt.stop()


def bench_torchserve(model_dir: Path, batch: int, delay_ms: int, conns: list[int], duration: int, lua: Path, venv: Path) -> list[tuple[int, dict[str, float]]]:
    """The same model under TorchServe (2 workers), from its own venv; skipped if it is missing."""
    import urllib.request

    work = Path(tempfile.mkdtemp(prefix="ts-bench-"))
    handler = work / "handler.py"
    handler.write_text(
        textwrap.dedent(
            f'''
            import json, sys
            sys.path.insert(0, {str(model_dir / "code")!r})
            import inference

            class H:
                def initialize(self, ctx):
                    self.model = inference.model_fn({str(model_dir)!r})
                def handle(self, data, ctx):
                    sentences = []
                    for row in data:
                        body = row.get("body") or row.get("data")
                        if isinstance(body, (bytes, bytearray)):
                            body = json.loads(body)
                        sentences.append(body["sentence"])
                    labels = inference.predict_batch_fn(sentences, self.model)
                    return [json.dumps({{"label": l}}) for l in labels]

            _h = H()
            def handle(data, ctx):
                if not hasattr(_h, "model"):
                    _h.initialize(ctx)
                return _h.handle(data, ctx) if data else None
            '''
        )
    )
    store = work / "store"
    store.mkdir()
    subprocess.run(
        [str(venv / "bin" / "torch-model-archiver"), "--model-name", "bench", "--version", "1.0", "--handler", str(handler), "--export-path", str(store)],
        check=True,
    )
    (work / "config.properties").write_text(
        "inference_address=http://127.0.0.1:18080\nmanagement_address=http://127.0.0.1:18081\n"
        "metrics_address=http://127.0.0.1:18082\ndisable_token_authorization=true\nenable_envvars_config=true\n"
        f"default_workers_per_model=2\n"
        'models={"bench":{"1.0":{"defaultVersion":true,"marName":"bench.mar","minWorkers":2,"maxWorkers":2,'
        f'"batchSize":{batch},"maxBatchDelay":{delay_ms},"responseTimeout":60}}}}}}\n'
    )
    env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "OMP_NUM_THREADS": "1", "TS_DISABLE_SYSTEM_METRICS": "true"}
    proc = subprocess.Popen(
        [str(venv / "bin" / "torchserve"), "--start", "--foreground", "--ncs", "--model-store", str(store), "--models", "bench=bench.mar", "--ts-config", str(work / "config.properties")],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                req = urllib.request.Request("http://127.0.0.1:18080/predictions/bench", data=json.dumps({"sentence": SENTENCE}).encode(), headers={"Content-Type": "application/json"})
                if urllib.request.urlopen(req, timeout=2).status == 200:
                    break
            except OSError:
                time.sleep(1)
        target = "http://127.0.0.1:18080/predictions/bench"
        run_wrk(target, 16, 2, lua)
        return [(c, run_wrk(target, c, duration, lua)) for c in conns]
    finally:
        tree = descendants(proc.pid)  # the JVM and its Python model workers
        subprocess.run([str(venv / "bin" / "torchserve"), "--stop"], env=env, capture_output=True, check=False)  # best effort
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
        # The next measurement must not share the cores with a TorchServe still shutting down (seen, when
        # ours ran next: our batch 16 at 1 connection at 749 req/s right after it, 2,367-2,477 alone).
        wait_gone(tree, timeout=30)
        shutil.rmtree(work, ignore_errors=True)


def descendants(pid: int) -> list[int]:
    """Every live process below `pid` (children, grandchildren, ...), from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def running(pid: int) -> bool:
    """The process exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def wait_gone(pids: list[int], timeout: float) -> None:
    """Wait until none of `pids` runs; SIGKILL what is left at the timeout, and wait for that too."""
    deadline = time.monotonic() + timeout
    while any(running(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    for pid in pids:
        if running(pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
    deadline = time.monotonic() + 5
    while any(running(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.01)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", default="1,16,64")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--capture", action="store_true", help="100%% data capture to a local directory")
    parser.add_argument("--rounds", type=int, default=1,
                        help="alternate the two paths in this many runs per point (the figures: their medians)")
    parser.add_argument("--only", choices=["batch1", "batch16"], default=None)
    parser.add_argument("--model-dir", default=None, help="serve this extracted model dir instead of the synthetic one")
    parser.add_argument("--torchserve", action="store_true")
    parser.add_argument("--torchserve-venv", default="/tmp/ts-venv")
    parser.add_argument("--plot", default=None, metavar="PNG", help="also draw req/s and p99 per server into this PNG")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is not installed (apt-get install -y wrk)", file=sys.stderr)
        return 2
    conns = [int(c) for c in args.connections.split(",")]
    tmp = Path(tempfile.mkdtemp(prefix="serving-bench-"))
    try:
        model_dir = Path(args.model_dir).resolve() if args.model_dir else build_model(tmp / "model")
        lua = tmp / "post.lua"
        lua.write_text(WRK_LUA)
        configs = [("batch1", 1, 100), ("batch16", 16, 5)]
        if args.only:
            configs = [c for c in configs if c[0] == args.only]
        rows: list[tuple[str, str, int, dict[str, float]]] = []
        alone, batched = measure_floor(model_dir)
        print(
            f"floor, one process without HTTP: {alone:.0f} us per request alone, {batched:.1f} us per request "
            f"batched by 64 (the issue measured ~80-90 and ~11 on this machine: today it runs at "
            f"{85 / alone:.0%} of that speed)",
            flush=True,
        )
        print(f"{'server':<24}{'config':<10}{'conns':>6}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'non2xx':>8}{'front us/req':>14}{'worker us/req':>15}")
        for label, batch, delay in configs:
            env = {
                "SAGEMAKER_MODEL_SERVER_WORKERS": str(args.workers),
                "SAGEMAKER_TS_BATCH_SIZE": str(batch),
                "SAGEMAKER_TS_MAX_BATCH_DELAY": str(delay),
            }
            capture_dir = tmp / f"capture-{label}" if args.capture else None
            suffix = "+capture" if args.capture else ""
            for path, c, r, _ in bench_runtime(model_dir, env, conns, args.duration, capture_dir, lua, args.rounds):
                name = "container port" if path == "container" else f"InvokeEndpoint{suffix}"
                rows.append((name, label, c, r))
                print(
                    f"{name:<24}{label:<10}{c:>6}{r['rps']:>10.0f}{r['p50_ms']:>9.2f}{r['p99_ms']:>9.2f}{r['non2xx']:>8.0f}"
                    f"{r['front_us']:>14.1f}{r['worker_us']:>15.1f}",
                    flush=True,
                )
        # TorchServe last, once ours are done: a JVM leaving the machine slowed the next measurement.
        venv = Path(args.torchserve_venv)
        if args.torchserve and not (venv / "bin" / "torchserve").exists():
            print(f"torchserve not found in {venv}; skipped", file=sys.stderr)
        elif args.torchserve:
            for label, batch, delay in configs:
                for c, r in bench_torchserve(model_dir, batch, delay, conns, args.duration, lua, venv):
                    rows.append(("torchserve", label, c, r))
                    print(f"{'torchserve':<24}{label:<10}{c:>6}{r['rps']:>10.0f}{r['p50_ms']:>9.2f}{r['p99_ms']:>9.2f}{r['non2xx']:>8.0f}", flush=True)
        if args.plot:
            print(f"figure: {plot(rows, Path(args.plot), alone)}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


def plot(rows: list[tuple[str, str, int, dict[str, float]]], path: Path, floor_us: float | None = None) -> Path:
    """Grouped bars: req/s (log scale) and p99 latency per server, for each config x connections; the
    title carries the floor of the run (`floor_us` per request alone), the machine's speed that day."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    servers = list(dict.fromkeys(name for name, _, _, _ in rows))
    groups = list(dict.fromkeys((label, c) for _, label, c, _ in rows))
    value = {(name, label, c): r for name, label, c, r in rows}
    fig, axes = plt.subplots(2, 1, figsize=(10, 7), sharex=True)
    width = 0.8 / max(1, len(servers))
    for k, server in enumerate(servers):
        xs = [i + (k - (len(servers) - 1) / 2) * width for i in range(len(groups))]
        for ax, key in zip(axes, ("rps", "p99_ms")):
            ax.bar(xs, [value.get((server, g[0], g[1]), {}).get(key, 0.0) for g in groups], width, label=server)
    axes[0].set_yscale("log")
    axes[0].set_ylabel("requests / s (log)")
    axes[1].set_yscale("log")
    axes[1].set_ylabel("p99 latency (ms, log)")
    axes[1].set_xticks(range(len(groups)), [f"{label}\n{c} conn" for label, c in groups])
    axes[0].legend(loc="upper left", fontsize=8)
    floor = f", floor {floor_us:.0f} us/request in-process" if floor_us else ""
    axes[0].set_title(f"Serving one variant: EmbeddingBag 20k x 32 -> 4, 2 workers (wrk){floor}")
    for ax in axes:
        ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


if __name__ == "__main__":
    sys.exit(main())
