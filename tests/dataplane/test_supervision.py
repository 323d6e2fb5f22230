"""Worker supervision, rolling updates and clean deletion (no orphans, even if the parent dies)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from dataplane_helpers import ECHO, endpoint

from orchestrator.dataplane.sagemaker import LocalSageMakerRuntime

pytestmark = pytest.mark.timeout(120)  # a hung worker or socket must fail the test, not CI

def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is dead for our purpose
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def worker_pids(rt: LocalSageMakerRuntime, name: str) -> list[int]:
    assert rt.manager is not None
    return [p for v in rt.manager.inventory() if v.endpoint_name == name for group in v.instance_pids for p in group]


def wait_for(cond: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


@contextlib.contextmanager
def hammering(smr: Any, name: str, field: str, clients: int = 4) -> Iterator[tuple[list[Any], list[str]]]:
    """``clients`` threads invoking ``name`` back to back while the block runs: (answers' ``field``, failures)."""
    stop = threading.Event()
    seen: list[Any] = []
    failures: list[str] = []

    def hammer() -> None:
        while not stop.is_set():
            try:
                r = smr.invoke_endpoint(EndpointName=name, Body=b'{"sleep": 0.01}', ContentType="application/json")
                seen.append(json.loads(r["Body"].read())[field])
            except Exception as exc:  # noqa: BLE001
                failures.append(repr(exc))

    threads = [threading.Thread(target=hammer) for _ in range(clients)]
    for t in threads:
        t.start()
    try:
        yield seen, failures
    finally:
        stop.set()
        for t in threads:
            t.join(10)


def test_killed_worker_answers_its_requests_and_is_restarted(
    runtime: LocalSageMakerRuntime, model_factory: Callable[..., Path], smr: Any
) -> None:
    d = model_factory()
    runtime.apply(endpoint("sup", ("a", d, 1.0, {"SAGEMAKER_MODEL_SERVER_WORKERS": "2"})))
    before = worker_pids(runtime, "sup")
    assert len(before) == 2

    def slow(_: int) -> tuple[str, Any]:
        try:
            r = smr.invoke_endpoint(EndpointName="sup", Body=b'{"sleep": 1.5}', ContentType="application/json")
            return "ok", json.loads(r["Body"].read())["pid"]
        except ClientError as exc:
            return exc.response["Error"]["Code"], exc.response.get("OriginalStatusCode")

    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(slow, i) for i in range(4)]
        time.sleep(0.8)
        victim = before[0]
        os.kill(victim, signal.SIGKILL)
        t = time.monotonic()
        results = [f.result(timeout=20) for f in futures]
    assert ("ModelError", 503) in results  # held by the killed worker: answered, not hung
    assert any(r[0] == "ok" for r in results)  # the other worker kept serving
    wait_for(lambda: len(worker_pids(runtime, "sup")) == 2)
    after = worker_pids(runtime, "sup")
    assert victim not in after and time.monotonic() - t < 10
    r = smr.invoke_endpoint(EndpointName="sup", Body=b"{}", ContentType="application/json")
    assert r["InvokedProductionVariant"] == "a"


def test_update_switches_models_without_failing_a_request(
    runtime: LocalSageMakerRuntime, model_factory: Callable[..., Path], smr: Any
) -> None:
    d = model_factory()
    runtime.apply(endpoint("upd", ("blue", d, 1.0, {"SAGEMAKER_MODEL_SERVER_WORKERS": "1", "TAG": "blue"})))
    old_pids = worker_pids(runtime, "upd")
    with hammering(smr, "upd", "tag") as (tags, failures):
        time.sleep(0.3)
        state = runtime.apply(endpoint("upd", ("green", d, 1.0, {"SAGEMAKER_MODEL_SERVER_WORKERS": "1", "TAG": "green"})))
        time.sleep(0.3)
    assert state.status == "InService" and state.variants == {"green": 1}
    assert failures == []
    assert tags[0] == "blue" and tags[-1] == "green"
    wait_for(lambda: not any(alive(p) for p in old_pids))


def test_failed_update_keeps_serving_the_old_configuration(
    runtime: LocalSageMakerRuntime, model_factory: Callable[..., Path], smr: Any
) -> None:
    good = model_factory()
    bad = model_factory("def model_fn(model_dir):\n    raise RuntimeError('weights corrupt')\n", "bad")
    runtime.apply(endpoint("keep", ("a", good, 1.0, {"SAGEMAKER_MODEL_SERVER_WORKERS": "1"})))
    state = runtime.apply(endpoint("keep", ("b", bad, 1.0, {"SAGEMAKER_MODEL_SERVER_WORKERS": "1"})))
    assert state.status == "InService" and "weights corrupt" in (state.failure_reason or "")
    assert smr.invoke_endpoint(EndpointName="keep", Body=b"{}", ContentType="application/json")["InvokedProductionVariant"] == "a"


def test_delete_stops_every_process(runtime: LocalSageMakerRuntime, model_factory: Callable[..., Path], smr: Any) -> None:
    d = model_factory()
    runtime.apply(endpoint("del", ("a", d, 1.0, {"SAGEMAKER_MODEL_SERVER_WORKERS": "2"}), ("b", d, 1.0, {"SAGEMAKER_MODEL_SERVER_WORKERS": "1"})))
    pids = worker_pids(runtime, "del")
    assert len(pids) == 3 and all(alive(p) for p in pids)
    runtime.delete("del")
    assert not any(alive(p) for p in pids)
    try:
        smr.invoke_endpoint(EndpointName="del", Body=b"{}", ContentType="application/json")
    except ClientError as exc:
        assert exc.response["Error"]["Code"] == "ValidationError"
    else:
        raise AssertionError("a deleted endpoint answered")


def test_workers_die_with_their_parent(tmp_path: Path) -> None:
    """SIGKILL the process hosting the runtime: its workers must not outlive it."""
    model = tmp_path / "m"
    (model / "code").mkdir(parents=True)
    (model / "code" / "inference.py").write_text(textwrap.dedent(ECHO))
    script = textwrap.dedent(
        f"""
        import sys, time
        sys.path.insert(0, {str(Path(__file__).resolve().parent)!r})
        from dataplane_helpers import endpoint
        from orchestrator.dataplane.sagemaker import LocalSageMakerRuntime
        rt = LocalSageMakerRuntime(); rt.start()
        rt.apply(endpoint("orph", ("a", {str(model)!r}, 1.0, {{"SAGEMAKER_MODEL_SERVER_WORKERS": "2"}})))
        print(" ".join(str(p) for v in rt.manager.inventory() for g in v.instance_pids for p in g), flush=True)
        time.sleep(60)
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        pids = [int(p) for p in proc.stdout.readline().split()]
        assert len(pids) == 2 and all(alive(p) for p in pids)
        proc.kill()
        proc.wait(5)
        wait_for(lambda: not any(alive(p) for p in pids), timeout=5)
    finally:
        proc.kill()


def test_data_plane_in_its_own_process(tmp_path: Path, model_factory: Callable[..., Path]) -> None:
    """DataPlaneProcess + RemoteSageMakerRuntime: same API; SIGTERM flushes capture and stops workers."""
    import boto3

    from orchestrator.dataplane.sagemaker import DataCaptureSpec
    from orchestrator.dataplane.sagemaker.process import DataPlaneProcess

    d = model_factory()
    proc = DataPlaneProcess.spawn(control_plane_url=None, work_dir=tmp_path / "work", capture_dir=tmp_path / "s3")
    try:
        rt = proc.client
        capture = DataCaptureSpec(True, "s3://bucket/dc", 100.0, json_content_types=("application/json",), has_content_type_header=True)
        state = rt.apply(endpoint("remote", ("a", d, 1.0, {"SAGEMAKER_MODEL_SERVER_WORKERS": "2"}), capture=capture))
        assert state.status == "InService" and state.variants == {"a": 2}
        assert rt.describe("remote") == state and rt.describe("nope") is None
        smr = boto3.client("sagemaker-runtime", endpoint_url=proc.url, region_name="us-east-1",
                           aws_access_key_id="x", aws_secret_access_key="x")
        for _ in range(3):
            assert smr.invoke_endpoint(EndpointName="remote", Body=b"{}", ContentType="application/json")["InvokedProductionVariant"] == "a"
        workers = [int(p) for task in Path(f"/proc/{proc.proc.pid}/task").iterdir()
                   for p in (task / "children").read_text().split()]
        assert len(workers) == 2
    finally:
        proc.stop()
    assert proc.proc.returncode == 0
    assert not any(alive(p) for p in workers)
    lines = [line for f in (tmp_path / "s3").rglob("*.jsonl") for line in f.read_text().splitlines()]
    assert len(lines) == 3  # flushed on shutdown


def test_scaling_adds_and_removes_instances_without_restarting_the_others(
    runtime: LocalSageMakerRuntime, model_factory: Callable[..., Path], smr: Any
) -> None:
    """A new instance count for the same model, in place (UpdateEndpointWeightsAndCapacities, autoscaling),
    starts or drains only the difference: the instances that stay keep their processes, and no request
    fails. (An UpdateEndpoint to a new count brings up new instances: test_endpoint_status.)"""
    import dataclasses

    d = model_factory()
    one = endpoint("scale", ("a", d, 1.0, {"SAGEMAKER_MODEL_SERVER_WORKERS": "1"}))
    runtime.apply(one)
    first = worker_pids(runtime, "scale")
    with hammering(smr, "scale", "pid") as (pids, failures):
        three = dataclasses.replace(one, variants=(dataclasses.replace(one.variants[0], instance_count=3, weight=2.0),),
                                    in_place=True)
        state = runtime.apply(three)
        assert state.status == "InService" and state.variants == {"a": 3}
        scaled = worker_pids(runtime, "scale")
        assert len(scaled) == 3 and set(first) <= set(scaled)  # the first instance kept its worker
        time.sleep(0.5)
        served_by = set(pids)
        state = runtime.apply(dataclasses.replace(one, in_place=True))
        assert state.status == "InService" and state.variants == {"a": 1}
        time.sleep(0.3)
    assert failures == []
    assert len(served_by & set(scaled)) >= 2  # the new instances took requests
    assert worker_pids(runtime, "scale") == first
    wait_for(lambda: not any(alive(p) for p in set(scaled) - set(first)))  # the surplus drained and stopped
