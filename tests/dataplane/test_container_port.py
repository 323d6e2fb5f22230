"""Each instance's container port: `GET /ping` and `POST /invocations` answered by the workers themselves."""

from __future__ import annotations

import json
import os
import signal
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from dataplane_helpers import ECHO, endpoint

from orchestrator.dataplane.sagemaker import LocalSageMakerRuntime
from orchestrator.dataplane.sagemaker.worker import ServeSettings

pytestmark = pytest.mark.timeout(120)

BATCHING = """
import json, os, time

def model_fn(model_dir):
    return None

def input_fn(body, content_type):
    data = json.loads(body)
    if data.get("sleep"):
        time.sleep(float(data["sleep"]))
    return data

def predict_batch_fn(inputs, model):
    return [{"n": d.get("n"), "batch": len(inputs), "pid": os.getpid()} for d in inputs]

def predict_fn(data, model):
    return {"n": data.get("n"), "batch": 1, "pid": os.getpid()}

def output_fn(prediction, accept):
    return json.dumps(prediction), "application/json"
"""


def instances(rt: LocalSageMakerRuntime, name: str) -> list[dict[str, Any]]:
    assert rt.manager is not None
    return [i for v in rt.manager.status_document()[name]["variants"] for i in v["instances"]]  # type: ignore[attr-defined]


def container_url(rt: LocalSageMakerRuntime, name: str) -> str:
    url = instances(rt, name)[0]["container_url"]
    assert url and url.startswith("http://127.0.0.1:")
    return str(url)


def post(url: str, payload: object, headers: dict[str, str] | None = None, timeout: float = 30) -> tuple[int, str, bytes]:
    req = urllib.request.Request(
        url + "/invocations", data=json.dumps(payload).encode(), headers={"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.headers["Content-Type"], resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers["Content-Type"], err.read()


def read_response(sock: socket.socket, buf: bytes = b"") -> tuple[int, bytes, bytes]:
    """The next answer on `sock` (status, body) and whatever followed it; `buf` is what was read before."""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        assert chunk, "connection closed before a complete response"
        buf += chunk
    head, buf = buf.split(b"\r\n\r\n", 1)
    lines = head.decode().split("\r\n")
    length = next(int(line.split(":")[1]) for line in lines if line.lower().startswith("content-length:"))
    while len(buf) < length:
        buf += sock.recv(65536)
    return int(lines[0].split()[1]), buf[:length], buf[length:]


def raw_exchange(url: str, data: bytes, responses: int, timeout: float = 10) -> list[tuple[int, bytes]]:
    """Send `data` on one connection and read `responses` answers (status, body), in order."""
    host, port = url.removeprefix("http://").split(":")
    out: list[tuple[int, bytes]] = []
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.sendall(data)
        buf = b""
        while len(out) < responses:
            status, body, buf = read_response(sock, buf)
            out.append((status, body))
    return out


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) the process has used so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def fully_exited(pid: int) -> bool:
    """Every thread of the process is gone (a zombie or reaped): its files are closed."""
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
        with open(f"/proc/{pid}/status") as f:
            return tasks == [str(pid)] and "\nState:\tZ" in f.read()
    except FileNotFoundError:
        return True


def listening_sockets(port: int) -> int:
    """TCP sockets in LISTEN state on `port` (IPv4, this network namespace)."""
    with open("/proc/net/tcp") as f:
        rows = [line.split() for line in f.readlines()[1:]]
    return sum(1 for row in rows if row[3] == "0A" and int(row[1].rsplit(":", 1)[1], 16) == port)


def invocation(payload: object, extra: str = "") -> bytes:
    body = json.dumps(payload).encode()
    return b"POST /invocations HTTP/1.1\r\nContent-Type: application/json\r\n%sContent-Length: %d\r\n\r\n%s" % (
        extra.encode(), len(body), body)


def test_ping_and_invocations_follow_the_container_contract(
    runtime: LocalSageMakerRuntime, model_factory: Callable[..., Path], smr: Any
) -> None:
    runtime.apply(endpoint("cp", ("a", model_factory(), 1.0, {"SAGEMAKER_MODEL_SERVER_WORKERS": "2"})))
    url = container_url(runtime, "cp")
    with urllib.request.urlopen(url + "/ping", timeout=5) as resp:
        assert resp.status == 200
    status, ctype, body = post(url, {"x": 1})
    assert (status, ctype) == (200, "application/json")
    direct = json.loads(body)
    via_api = json.loads(smr.invoke_endpoint(EndpointName="cp", Body=json.dumps({"x": 1}), ContentType="application/json")["Body"].read())
    assert direct["echo"] == via_api["echo"] == {"x": 1}  # the same handlers answer both paths
    assert direct["pid"] in instances(runtime, "cp")[0]["pids"]

    status, ctype, body = post(url, {"bad": "no"})  # the handler's own status and message
    assert (status, body) == (400, b"bad input: no")
    status, _, body = post(url, {"boom": 1})
    assert status == 500 and body.startswith(b"RuntimeError: boom")
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:  # HEAD: a head, no body
        sock.sendall(b"HEAD /ping HTTP/1.1\r\n\r\nGET /ping HTTP/1.0\r\n\r\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, get = data.split(b"HTTP/1.1 200 OK", 2)[1:]
    assert head.endswith(b"\r\n\r\n") and b"Content-Length: 22" in head and b"Connection" not in head
    assert get.endswith(b'\r\n\r\n{"status": "Healthy"}\n') and b"Connection: close" in get  # 1.0: then EOF
    assert raw_exchange(url, b"GET /nowhere HTTP/1.1\r\n\r\n", 1)[0][0] == 404
    assert raw_exchange(url, b"GET /invocations HTTP/1.1\r\n\r\n", 1)[0][0] == 405
    assert raw_exchange(url, b"POST /ping HTTP/1.1\r\nContent-Length: 0\r\n\r\n", 1)[0][0] == 405
    assert raw_exchange(url, b"GARBAGE\r\n\r\n", 1)[0][0] == 400


def test_pipelined_chunked_and_expect_continue_requests(
    runtime: LocalSageMakerRuntime, model_factory: Callable[..., Path]
) -> None:
    runtime.apply(endpoint("pipe", ("a", model_factory(), 1.0, {"SAGEMAKER_MODEL_SERVER_WORKERS": "1"})))
    url = container_url(runtime, "pipe")
    pipelined = b"".join(invocation({"i": i}) for i in range(5)) + b"GET /ping HTTP/1.1\r\n\r\n" + invocation({"i": 5})
    answers = raw_exchange(url, pipelined, 7)
    assert [s for s, _ in answers] == [200] * 7
    assert [json.loads(b)["echo"]["i"] for i, (_, b) in enumerate(answers) if i != 5] == [0, 1, 2, 3, 4, 5]  # in order

    chunked = b'POST /invocations HTTP/1.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{"c"\r\n4\r\n: 7}\r\n0\r\n\r\n'
    [(status, body)] = raw_exchange(url, chunked, 1)
    assert status == 200 and json.loads(body)["echo"] == {"c": 7}

    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(b"POST /invocations HTTP/1.1\r\nContent-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: 8\r\n\r\n")
        assert sock.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(b'{"e": 1}')
        reply = sock.recv(65536)
        assert reply.startswith(b"HTTP/1.1 200 OK") and b'"echo": {"e": 1}' in reply

    # Connection: close is honoured: the answer, then EOF
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(invocation({"z": 1}, "Connection: close\r\n"))
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
        assert data.startswith(b"HTTP/1.1 200 OK") and b"Connection: close" in data


def test_direct_requests_are_batched_and_a_lone_one_never_waits(
    runtime: LocalSageMakerRuntime, model_factory: Callable[..., Path]
) -> None:
    env = {"SAGEMAKER_MODEL_SERVER_WORKERS": "1", "SAGEMAKER_TS_BATCH_SIZE": "8", "SAGEMAKER_TS_MAX_BATCH_DELAY": "3000"}
    runtime.apply(endpoint("batch", ("a", model_factory(BATCHING), 1.0, env)))
    url = container_url(runtime, "batch")
    started = time.monotonic()
    status, _, body = post(url, {"n": 0})
    assert status == 200 and json.loads(body)["batch"] == 1
    assert time.monotonic() - started < 1.0  # not the 3 s max delay: nothing else was arriving

    # requests queued behind a slow one travel together, at most the batch size at a time
    pipelined = invocation({"n": 0, "sleep": 0.5}) + b"".join(invocation({"n": i}) for i in range(1, 12))
    answers = [json.loads(b) for _, b in raw_exchange(url, pipelined, 12)]
    assert [a["n"] for a in answers] == list(range(12))
    assert max(a["batch"] for a in answers) == 8
    assert all(a["batch"] <= 8 for a in answers)

    with ThreadPoolExecutor(16) as pool:  # concurrent connections share batches too
        batches = [json.loads(b)["batch"] for _, _, b in pool.map(lambda n: post(url, {"n": n, "sleep": 0.05}), range(64))]
    assert max(batches) > 1


def test_batch_size_one_never_batches_and_the_queue_bound_answers_503(
    runtime: LocalSageMakerRuntime, model_factory: Callable[..., Path]
) -> None:
    env = {"SAGEMAKER_MODEL_SERVER_WORKERS": "1", "TS_JOB_QUEUE_SIZE": "3"}
    runtime.apply(endpoint("bound", ("a", model_factory(BATCHING), 1.0, env)))
    url = container_url(runtime, "bound")
    answers = raw_exchange(url, b"".join(invocation({"n": i}) for i in range(6)), 6)
    assert [s for s, _ in answers] == [200, 200, 200, 503, 503, 503]
    assert all(json.loads(b)["batch"] == 1 for s, b in answers if s == 200)
    assert b"queue is full" in answers[3][1]
    assert post(url, {"n": 9})[0] == 200  # the bound is on waiting requests, not a lifetime count


def test_timed_out_invocation_is_answered_and_the_worker_replaced(
    runtime: LocalSageMakerRuntime, model_factory: Callable[..., Path]
) -> None:
    env = {"SAGEMAKER_MODEL_SERVER_WORKERS": "1", "SAGEMAKER_MODEL_SERVER_TIMEOUT": "1"}
    runtime.apply(endpoint("slow", ("a", model_factory(), 1.0, env)))
    url = container_url(runtime, "slow")
    [before] = instances(runtime, "slow")[0]["pids"]
    started = time.monotonic()
    status, _, body = post(url, {"sleep": 30}, timeout=20)
    assert status == 503 and b"timed out after 1 s" in body
    assert time.monotonic() - started < 5
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        pids = instances(runtime, "slow")[0]["pids"]
        if pids and pids != [before]:
            break
        time.sleep(0.1)
    assert pids and pids != [before]
    assert post(url, {"x": 1})[0] == 200  # the same port, served by the new worker


def test_port_survives_a_killed_worker_and_closes_with_the_endpoint(
    runtime: LocalSageMakerRuntime, model_factory: Callable[..., Path]
) -> None:
    runtime.apply(endpoint("life", ("a", model_factory(), 1.0, {"SAGEMAKER_MODEL_SERVER_WORKERS": "2"})))
    url = container_url(runtime, "life")
    victim = instances(runtime, "life")[0]["pids"][0]
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while not fully_exited(victim) and time.monotonic() < deadline:
        time.sleep(0.01)
    # While a killed worker's threads were still exiting (tens of ms), a new connection could be hashed
    # to its socket and reset with it, as its open connections are; now all go to the surviving worker.
    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda i: post(url, {"i": i})[0], range(40)))
    assert statuses == [200] * 40
    runtime.delete("life")
    host, port = url.removeprefix("http://").split(":")
    with pytest.raises(OSError):
        socket.create_connection((host, int(port)), timeout=2).close()


def test_an_idle_worker_does_not_spin(runtime: LocalSageMakerRuntime, model_factory: Callable[..., Path]) -> None:
    """Busy-polling follows a lone request only briefly: an idle worker sleeps."""
    runtime.apply(endpoint("idle", ("a", model_factory(), 1.0, {"SAGEMAKER_MODEL_SERVER_WORKERS": "1"})))
    url = container_url(runtime, "idle")
    [pid] = instances(runtime, "idle")[0]["pids"]
    for i in range(20):
        assert post(url, {"i": i})[0] == 200
    time.sleep(0.2)
    before = process_cpu(pid)
    time.sleep(1.0)
    assert process_cpu(pid) - before < 0.1


def test_serve_settings_come_from_the_model_environment() -> None:
    env = {"SAGEMAKER_TS_BATCH_SIZE": "16", "SAGEMAKER_TS_MAX_BATCH_DELAY": "5", "SAGEMAKER_MODEL_SERVER_TIMEOUT": "30"}
    s = ServeSettings.from_env(env, workers=2, busy_poll_us=500)
    assert s == ServeSettings(batch_size=16, max_delay=0.005, timeout=30.0, queue_size=1600, busy_poll=0.0005)
    assert ServeSettings.from_env({"SAGEMAKER_TS_MAX_BATCH_DELAY": "5"}, 1, 0).max_delay == 0.0  # batch 1: no delay
    assert ServeSettings.from_env({"TS_JOB_QUEUE_SIZE": "10", "SAGEMAKER_TS_BATCH_SIZE": "x"}, 4, 0).queue_size == 2


class _Runnable:
    def __init__(self, free: bool) -> None:
        self.free = free

    def core_free(self) -> bool:
        return self.free


@pytest.mark.parametrize(("gap", "core_free", "spins"), [(0.0, True, True), (0.5, True, False), (0.0, False, False)])
def test_busy_poll_only_while_requests_follow_each_other_closely(gap: float, core_free: bool, spins: bool) -> None:
    """After a lone request the worker polls instead of sleeping only if recent gaps were short and a
    core is free (polling on a crowded machine takes the CPU the client needs to send the next one)."""
    import threading

    from orchestrator.dataplane.sagemaker.worker import ModelServer

    front, peer = socket.socketpair()
    try:
        server = ModelServer(object(), front, None, ServeSettings(busy_poll=0.2))  # type: ignore[arg-type]
        server.spin_armed, server.gap = True, gap
        server.runnable = _Runnable(core_free)  # type: ignore[assignment]
        threading.Timer(0.1, lambda: peer.sendall(b"x")).start()
        cpu0 = time.process_time()
        events = server._wait(None)
        used = time.process_time() - cpu0
        assert events  # the write woke it either way
        assert (used > 0.05) is spins, used
        assert 0.0 < server.gap < max(gap, 0.2)  # the moving average follows the observed gap
    finally:
        front.close()
        peer.close()


def test_direct_calls_are_not_invoke_endpoint_calls_no_capture_no_metrics(
    runtime: LocalSageMakerRuntime, model_factory: Callable[..., Path], smr: Any, tmp_path: Path
) -> None:
    """As on AWS: calling the container yourself bypasses SageMaker's front end (capture, AWS/SageMaker)."""
    from orchestrator.dataplane.sagemaker import DataCaptureSpec

    capture = DataCaptureSpec(True, "s3://capture-bucket/direct", 100.0, json_content_types=("application/json",),
                              has_content_type_header=True)
    runtime.apply(endpoint("direct", ("a", model_factory(), 1.0, {"SAGEMAKER_MODEL_SERVER_WORKERS": "1"}), capture=capture))
    url = container_url(runtime, "direct")
    for i in range(5):
        assert post(url, {"i": i})[0] == 200
    runtime.flush()
    assert not list((tmp_path / "s3").rglob("*.jsonl"))
    invocations = [d for ns, d in runtime.metrics_sink.data if ns == "AWS/SageMaker" and d["MetricName"] == "Invocations"]
    assert sum(d.get("Value", 0) for d in invocations) == 0

    smr.invoke_endpoint(EndpointName="direct", Body=json.dumps({"i": 9}), ContentType="application/json")["Body"].read()
    runtime.flush()  # the same endpoint through InvokeEndpoint: one record, one invocation
    assert len(list((tmp_path / "s3").rglob("*.jsonl"))) == 1
    invocations = [d for ns, d in runtime.metrics_sink.data if ns == "AWS/SageMaker" and d["MetricName"] == "Invocations"]
    assert sum(d.get("Value", 0) for d in invocations) == 1


def _read_until_closed(sock: socket.socket, limit: float) -> tuple[bytes, float]:
    """Everything the server sends until it closes the connection, and how long that took."""
    started, data = time.monotonic(), b""
    sock.settimeout(limit)
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return data, time.monotonic() - started
        data += chunk


def test_quiet_and_half_sent_connections_are_closed_after_the_timeout(
    runtime: LocalSageMakerRuntime, model_factory: Callable[..., Path]
) -> None:
    """A connection owing nothing is closed after SAGEMAKER_MODEL_SERVER_TIMEOUT without traffic; a
    request still incomplete that long after its first byte gets 408, however slowly it trickles in;
    a connection in use stays open."""
    env = {"SAGEMAKER_MODEL_SERVER_WORKERS": "1", "SAGEMAKER_MODEL_SERVER_TIMEOUT": "1"}
    runtime.apply(endpoint("quiet", ("a", model_factory(), 1.0, env)))
    host, port = container_url(runtime, "quiet").removeprefix("http://").split(":")
    addr = (host, int(port))
    with (
        socket.create_connection(addr) as idle,
        socket.create_connection(addr) as half,
        socket.create_connection(addr) as trickle,
        socket.create_connection(addr) as busy,
    ):
        half.sendall(b"POST /invocations HTTP/1.1\r\nContent-Length: 10\r\n")
        head = b"POST /invocations HTTP/1.1\r\nContent-Type: application/json\r\n"
        started = time.monotonic()
        answers: list[bytes] = []
        for i in range(10):  # 2.5 s: a byte of `trickle` and a whole request on `busy` every 0.25 s
            try:
                trickle.sendall(head[i : i + 1])
            except OSError:
                break  # closed by the server, as expected: checked below
            busy.sendall(invocation({"i": i}))
            answers.append(busy.recv(65536))
            time.sleep(0.25)
        assert all(a.startswith(b"HTTP/1.1 200 ") for a in answers) and len(answers) >= 5
        for sock in (idle, half, trickle):
            sock.settimeout(5)
        idle_data, _ = _read_until_closed(idle, 5)
        assert idle_data == b""  # closed silently: it owed nothing and asked nothing
        for sock in (half, trickle):
            data, _ = _read_until_closed(sock, 5)
            assert data.startswith(b"HTTP/1.1 408 "), data
            assert b"Connection: close" in data and b"not received within 1 s" in data
        assert time.monotonic() - started < 6
        busy.sendall(invocation({"i": "last"}))  # the connection in use was never cut
        assert busy.recv(65536).startswith(b"HTTP/1.1 200 ")


def test_out_of_descriptors_the_worker_rests_instead_of_spinning_and_recovers(
    runtime: LocalSageMakerRuntime, model_factory: Callable[..., Path]
) -> None:
    """accept() failing with EMFILE leaves the listener readable; the worker must not poll it in a loop,
    and must take the waiting clients once a descriptor is free again."""
    import resource

    runtime.apply(endpoint("nofile", ("a", model_factory(), 1.0, {"SAGEMAKER_MODEL_SERVER_WORKERS": "1"})))
    url = container_url(runtime, "nofile")
    [pid] = instances(runtime, "nofile")[0]["pids"]
    open_fds = [int(fd) for fd in os.listdir(f"/proc/{pid}/fd")]
    limit = max(open_fds) + 1
    free = limit - len(open_fds)  # descriptor numbers below the limit still free (gaps)
    resource.prlimit(pid, resource.RLIMIT_NOFILE, (limit, limit))
    host, port = url.removeprefix("http://").split(":")
    socks = [socket.create_connection((host, int(port)), timeout=10) for _ in range(free + 2)]
    try:
        for i, sock in enumerate(socks[:free]):  # these got a descriptor
            sock.sendall(invocation({"i": i}))
            assert sock.recv(65536).startswith(b"HTTP/1.1 200 ")
        waiting = socks[free]
        waiting.sendall(invocation({"i": "waiting"}))
        time.sleep(0.3)
        before = process_cpu(pid)
        time.sleep(1.0)
        assert process_cpu(pid) - before < 0.2  # resting, not spinning on a readable listener
        if free:
            socks[0].close()  # frees a descriptor in the worker once it sees the close
        else:
            pytest.skip("no descriptor could be freed in the worker")
        assert waiting.recv(65536).startswith(b"HTTP/1.1 200 ")
    finally:
        for sock in socks:
            sock.close()


def test_a_client_that_stops_reading_its_answer_is_cut_off_after_the_timeout(
    runtime: LocalSageMakerRuntime, model_factory: Callable[..., Path]
) -> None:
    env = {"SAGEMAKER_MODEL_SERVER_WORKERS": "1", "SAGEMAKER_MODEL_SERVER_TIMEOUT": "1"}
    runtime.apply(endpoint("reader", ("a", model_factory(), 1.0, env)))
    host, port = container_url(runtime, "reader").removeprefix("http://").split(":")
    [pid] = instances(runtime, "reader")[0]["pids"]

    def sockets() -> int:
        return sum(os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:") for fd in os.listdir(f"/proc/{pid}/fd"))

    before = sockets()
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)  # before connecting: a small window
    sock.connect((host, int(port)))
    with sock:
        sock.sendall(invocation({"pad": "x" * 5_000_000}))  # its echo is ~5 MB: more than the kernel holds
        time.sleep(3.0)  # not reading: the worker keeps the rest of the answer, then gives up on us
        received, _ = _read_until_closed(sock, 10)
    assert received.startswith(b"HTTP/1.1 200 ")
    assert len(received) < 5_000_000  # cut off: the worker did not keep the rest for us
    assert sockets() == before  # the worker let go of the connection


def test_runnable_tasks_read_from_loadavg(tmp_path: Path) -> None:
    from orchestrator.dataplane.sagemaker.worker import RunnableTasks

    loadavg = tmp_path / "loadavg"
    loadavg.write_text("0.52 0.61 0.70 3/412 99871\n")
    tasks = RunnableTasks(str(loadavg))
    tasks.cores = 2
    assert tasks.count() == 3 and not tasks.core_free()  # this worker and two others on two cores
    loadavg.write_text("0.52 0.61 0.70 2/412 99871\n")  # re-read on every call, not cached
    assert tasks.count() == 2 and tasks.core_free()
    loadavg.write_text("garbage\n")
    assert tasks.count() is None and tasks.core_free()  # unreadable: behave as before (poll)
    missing = RunnableTasks(str(tmp_path / "absent"))
    assert missing.count() is None and missing.core_free()
    real = RunnableTasks()
    assert real.cores >= 1 and (real.count() or 1) >= 1  # this process is running while it reads


def test_new_connections_spread_evenly_over_the_workers(
    runtime: LocalSageMakerRuntime, model_factory: Callable[..., Path]
) -> None:
    """Each worker listens on the port with its own SO_REUSEPORT socket: the kernel hashes new connections
    over them, so a worker that happens to be awake (polling after a lone client) cannot take a whole
    burst. With one shared listening socket, 64 of 64 connections on one worker were seen."""
    runtime.apply(endpoint("spread", ("a", model_factory(), 1.0, {"SAGEMAKER_MODEL_SERVER_WORKERS": "2"})))
    url = container_url(runtime, "spread")
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as hot:  # one worker busy-polls after these
        for i in range(50):
            hot.sendall(invocation({"i": i}))
            assert hot.recv(65536).startswith(b"HTTP/1.1 200 ")
        socks = [socket.create_connection((host, int(port)), timeout=10) for _ in range(32)]
    try:
        pids = []
        for i, sock in enumerate(socks):
            sock.sendall(invocation({"n": i}))
            status, body, _ = read_response(sock)
            assert status == 200
            pids.append(json.loads(body)["pid"])
    finally:
        for sock in socks:
            sock.close()
    counts = sorted(pids.count(pid) for pid in set(pids))
    assert len(counts) == 2 and counts[0] >= 4, counts  # Binomial(32, 1/2) falls below 4 once in 10^6 runs


def test_a_worker_told_to_stop_closes_its_listener_before_it_exits(
    runtime: LocalSageMakerRuntime, model_factory: Callable[..., Path]
) -> None:
    """SIGTERM (or the invocation timeout) closes the worker's listening socket first, then exits. Exiting
    takes tens of milliseconds for a process with a large memory (here 512 MiB of model, about 50 ms on
    this machine); a socket still listening meanwhile would take connections only to reset them."""
    ballast = ECHO + "\n_WEIGHTS = bytearray(b'\\x01') * (512 << 20)  # a large model in memory\n"
    runtime.apply(endpoint("stop", ("a", model_factory(ballast), 1.0, {"SAGEMAKER_MODEL_SERVER_WORKERS": "2"})))
    url = container_url(runtime, "stop")
    port = int(url.rsplit(":", 1)[1])
    victim = instances(runtime, "stop")[0]["pids"][0]
    assert listening_sockets(port) == 2
    os.kill(victim, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while listening_sockets(port) > 1 and time.monotonic() < deadline:
        pass
    answered = 0
    while not fully_exited(victim):  # every connection now goes to the other worker's socket
        assert post(url, {"i": answered}, timeout=5)[0] == 200
        answered += 1
    # Closed only by the exit itself, the socket would outlive the memory teardown and this window be empty.
    assert answered >= 3, answered
