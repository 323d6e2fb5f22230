"""The embedded default really serves the models: a real `orchestrator apply` on a private control plane,
then requests through the API, the runtime and the CLI; traffic split, capture, metrics, logs, worker
supervision, a broken model failing the apply, and destroy leaving no data-plane process behind.

One applied environment (session fixture ``applied``) serves every test but the broken-model one;
tests run in file order and the destroy test comes last.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from e2e_helpers import SEED_SENTENCES, Applied, stack_args, wait_for

from orchestrator.cli import main

pytestmark = [pytest.mark.integration, pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform not on PATH"), pytest.mark.timeout(420)]
ROOT = Path(__file__).resolve().parents[2]
WORKER_MARKERS = ("dataplane/sagemaker/worker.py", "dataplane/lambdas/bootstrap.py")


def _post(url: str, body: bytes, headers: dict[str, str], timeout: float = 30) -> tuple[int, Any]:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json", **headers})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def _invoke(applied: Applied, runtime: Any, sentence: str, **kwargs: Any) -> tuple[str, dict[str, Any]]:
    reply = runtime.invoke_endpoint(EndpointName=applied.env.endpoint_name, ContentType="application/json",
                                     Accept="application/json", Body=json.dumps({"sentence": sentence}), **kwargs)
    return reply["InvokedProductionVariant"], json.loads(reply["Body"].read())


def _processes() -> dict[int, tuple[int, str]]:
    """pid -> (ppid, command line), from /proc (no psutil)."""
    out = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        out[int(entry)] = (ppid, cmdline)
    return out


def _descendants(root_pid: int) -> dict[int, str]:
    procs = _processes()
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in procs.items():
        children.setdefault(ppid, []).append(pid)
    found, todo = {}, [root_pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found[child] = procs[child][1]
            todo.append(child)
    return found


def _worker_pids(applied: Applied) -> dict[str, list[int]]:
    endpoint = applied.hosting()["endpoints"][applied.env.endpoint_name]
    return {v["name"]: [pid for i in v["instances"] for pid in i["pids"]] for v in endpoint["variants"]}


# -- requests -------------------------------------------------------------------------------------


def test_seed_sentences_through_the_api_with_the_key(applied: Applied) -> None:
    url, key = applied.ssm("api-hosting/invoke_url"), applied.ssm("api-hosting/api_key", decrypt=True)
    for sentence, label, name in SEED_SENTENCES:
        status, body = _post(url, json.dumps({"sentence": sentence}).encode(), {"x-api-key": key})
        assert status == 200, body
        assert (body["label"], body["label_name"]) == (label, name), (sentence, body)


def test_the_api_refuses_a_missing_key_and_a_malformed_body(applied: Applied) -> None:
    url, key = applied.ssm("api-hosting/invoke_url"), applied.ssm("api-hosting/api_key", decrypt=True)
    assert _post(url, b'{"sentence": "Baseball"}', {}) == (403, {"message": "Forbidden"})
    status, body = _post(url, b'{"sentence": ', {"x-api-key": key})
    assert status == 400 and isinstance(body.get("message"), str) and body["message"], body


def test_seed_sentences_through_invoke_endpoint(applied: Applied) -> None:
    # the runtime URL the sagemaker component advertises, and the control plane's port (it routes too)
    clients = [applied.runtime_client(), applied.client("sagemaker-runtime")]
    for runtime in clients:
        for sentence, label, name in SEED_SENTENCES:
            variant, body = _invoke(applied, runtime, sentence)
            assert variant in ("model-a", "model-b")
            assert (body["label"], body["label_name"]) == (label, name), (variant, sentence, body)


def test_seed_sentences_on_each_instance_container_port(applied: Applied) -> None:
    """The packaged models answer the container contract directly, as on port 8080 of a SageMaker container."""
    endpoint = applied.hosting()["endpoints"][applied.env.endpoint_name]
    for variant in endpoint["variants"]:
        for instance in variant["instances"]:
            url = instance["container_url"]
            with urllib.request.urlopen(url + "/ping", timeout=10) as reply:
                assert reply.status == 200
            for sentence, label, name in SEED_SENTENCES:
                status, body = _post(url + "/invocations", json.dumps({"sentence": sentence}).encode(), {})
                assert status == 200 and (body["label"], body["label_name"]) == (label, name), (variant["name"], body)


@pytest.mark.parametrize("via_endpoint", [False, True], ids=["api", "endpoint"])
def test_invoke_verb_prints_the_label(applied: Applied, via_endpoint: bool, capsys: pytest.CaptureFixture[str]) -> None:
    sentence, label, name = SEED_SENTENCES[1]
    capsys.readouterr()
    code = main(["invoke", "--env", str(applied.env_file), "--text", sentence, *(["--endpoint"] if via_endpoint else [])])
    out = capsys.readouterr().out
    assert code == 0, out
    assert out.startswith("HTTP 200 via " + ("endpoint" if via_endpoint else "api")), out
    body = json.loads(out.split("\n", 1)[1])
    assert (body["label"], body["label_name"]) == (label, name), out


# -- traffic split --------------------------------------------------------------------------------


def test_traffic_split_3_to_1_and_target_variant(applied: Applied) -> None:
    runtime = applied.runtime_client()
    n, p = 1000, 3 / 4  # weights 3 (model-a) : 1 (model-b)
    sentence = SEED_SENTENCES[0][0]
    with ThreadPoolExecutor(8) as pool:
        variants = Counter(v for v, _ in pool.map(lambda _: _invoke(applied, runtime, sentence), range(n)))
    assert set(variants) == {"model-a", "model-b"} and sum(variants.values()) == n
    # 99.9 % two-sided binomial interval (normal approximation; n p (1-p) = 187.5)
    z = 3.2905
    half = z * math.sqrt(n * p * (1 - p))
    assert n * p - half <= variants["model-a"] <= n * p + half, variants
    for target in ("model-a", "model-b"):
        got = Counter(_invoke(applied, runtime, sentence, TargetVariant=target)[0] for _ in range(20))
        assert got == {target: 20}


# -- data capture, metrics, logs ------------------------------------------------------------------


def _capture_records(applied: Applied, bucket: str) -> list[tuple[str, dict[str, Any]]]:
    s3 = applied.client("s3")
    records = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for obj in page.get("Contents", []):
            body = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read().decode()
            records += [(obj["Key"], json.loads(line)) for line in body.splitlines() if line.strip()]
    return records


def test_data_capture_records_every_answered_request_in_the_reference_format(applied: Applied) -> None:
    bucket = applied.ssm("model-serving/capture_bucket_name")

    def settled() -> tuple[int] | None:  # the writer flushes on a short interval: wait until the count stops moving
        first = len(_capture_records(applied, bucket))
        time.sleep(2.5)
        return (first,) if len(_capture_records(applied, bucket)) == first else None

    (before,) = wait_for(settled, 30, "capture files to settle", interval=0)
    runtime = applied.runtime_client()
    n = 40
    answered = [_invoke(applied, runtime, SEED_SENTENCES[i % 4][0], InferenceId=f"e2e-{i}") for i in range(n)]
    assert len(answered) == n
    records = wait_for(lambda: (r := _capture_records(applied, bucket)) and len(r) >= before + n and r, 30,
                       f"{before + n} capture records")
    time.sleep(2.5)  # and nothing more arrives
    records = _capture_records(applied, bucket)
    assert len(records) == before + n
    ours = [(key, r) for key, r in records if r["eventMetadata"].get("inferenceId", "").startswith("e2e-")]
    assert sorted(r["eventMetadata"]["inferenceId"] for _, r in ours) == sorted(f"e2e-{i}" for i in range(n))
    import re

    endpoint = applied.env.endpoint_name
    key_pattern = re.compile(rf"^data-capture/{re.escape(endpoint)}/(model-a|model-b)/\d{{4}}/\d{{2}}/\d{{2}}/\d{{2}}/\d{{2}}-\d{{2}}-\d{{3}}-[0-9a-f-]+\.jsonl$")
    for key, record in ours:
        assert key_pattern.match(key), key
        assert record["eventVersion"] == "0"
        assert set(record["captureData"]) == {"endpointInput", "endpointOutput"}
        inp, out = record["captureData"]["endpointInput"], record["captureData"]["endpointOutput"]
        assert inp["mode"] == "INPUT" and out["mode"] == "OUTPUT"
        assert inp["observedContentType"] == out["observedContentType"] == "application/json"
        assert inp["encoding"] == out["encoding"] == "JSON"
        assert "sentence" in json.loads(inp["data"]) and "label" in json.loads(out["data"])
        assert re.match(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$", record["eventMetadata"]["inferenceTime"])
        assert record["eventMetadata"]["eventId"]


def test_sagemaker_metrics_and_predictor_logs(applied: Applied) -> None:
    applied.flush_data_plane()  # metrics are published every 60 s; do not wait a minute
    cw = applied.client("cloudwatch")
    endpoint = applied.env.endpoint_name

    def dims() -> set[tuple[str, str]]:
        found = set()
        for metric in cw.list_metrics(Namespace="AWS/SageMaker", MetricName="Invocations")["Metrics"]:
            d = {x["Name"]: x["Value"] for x in metric["Dimensions"]}
            if d.get("EndpointName") == endpoint:
                found.add((d["EndpointName"], d.get("VariantName", "")))
        return found

    assert wait_for(dims, 30, "AWS/SageMaker Invocations") == {(endpoint, "model-a"), (endpoint, "model-b")}
    names = {m["MetricName"] for m in cw.list_metrics(Namespace="AWS/SageMaker")["Metrics"]}
    assert {"Invocations", "ModelLatency", "OverheadLatency"} <= names, names
    # ModelLatency p99 (what the monitoring stack's latency alarm reads) exists, as on AWS.
    now = dt.datetime.now(dt.UTC)
    p99 = cw.get_metric_statistics(
        Namespace="AWS/SageMaker", MetricName="ModelLatency", ExtendedStatistics=["p99"], Period=3600,
        Dimensions=[{"Name": "EndpointName", "Value": endpoint}, {"Name": "VariantName", "Value": "model-a"}],
        StartTime=now - dt.timedelta(hours=1), EndTime=now + dt.timedelta(minutes=1),
    )["Datapoints"]
    assert p99 and all(0 < p["ExtendedStatistics"]["p99"] < 60e6 for p in p99), p99

    function = applied.ssm("api-hosting/function_name")
    logs = applied.client("logs")
    group = f"/aws/lambda/{function}"
    events = wait_for(lambda: logs.filter_log_events(logGroupName=group, limit=50).get("events"), 30, f"log events in {group}")
    assert any("request_id" in e["message"] or "START" in e["message"] for e in events), events[:3]


# -- supervision ----------------------------------------------------------------------------------


def test_a_killed_worker_is_restarted_and_no_request_hangs(applied: Applied) -> None:
    before = _worker_pids(applied)
    victim = before["model-a"][0]
    runtime = applied.runtime_client(read_timeout=20)
    results: list[int | str] = []
    stop = threading.Event()

    def client() -> None:
        while not stop.is_set():
            try:
                _invoke(applied, runtime, SEED_SENTENCES[2][0], TargetVariant="model-a")
                results.append(200)
            except Exception as exc:  # noqa: BLE001 - an answered error is fine, a hang is not
                status = getattr(exc, "response", {}).get("ResponseMetadata", {}).get("HTTPStatusCode")
                results.append(status or f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=client) for _ in range(6)]
    for t in threads:
        t.start()
    time.sleep(1.0)
    os.kill(victim, signal.SIGKILL)
    time.sleep(2.0)
    stop.set()
    for t in threads:
        t.join(30)
    assert not any(t.is_alive() for t in threads), "a request hung"
    unanswered = [r for r in results if isinstance(r, str)]
    assert not unanswered, unanswered[:3]  # every request got an HTTP answer within the client timeout
    assert results.count(200) >= len(results) - 6, Counter(results)  # at most the victim's in-flight ones failed

    def restarted() -> bool:
        endpoint = applied.hosting()["endpoints"][applied.env.endpoint_name]
        variant = next(v for v in endpoint["variants"] if v["name"] == "model-a")
        pids = [pid for i in variant["instances"] for pid in i["pids"]]
        return variant["healthy"] and victim not in pids and len(pids) == len(before["model-a"])

    wait_for(restarted, 60, "the killed worker to be replaced")
    assert _invoke(applied, runtime, SEED_SENTENCES[2][0], TargetVariant="model-a")[1]["label"] == 3


# -- local status ---------------------------------------------------------------------------------


def test_local_status_lists_endpoints_variants_instances_and_workers(applied: Applied) -> None:
    state_dir = applied.deployment.control_plane.state_dir
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-m", "orchestrator", "local", "status", "--state-dir", str(state_dir)],
                            check=False, capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    pids = _worker_pids(applied)
    assert applied.env.endpoint_name in out and "InService" in out, out
    instances = [i for v in applied.hosting()["endpoints"][applied.env.endpoint_name]["variants"] for i in v["instances"]]
    assert all(f"container: {i['container_url']} " in out for i in instances), out
    for variant, variant_pids in pids.items():
        assert variant in out
        assert all(str(pid) in out for pid in variant_pids), out


# -- a broken model -------------------------------------------------------------------------------


BROKEN_MODEL_FN = '''

def model_fn(model_dir, context=None):  # the e2e test's broken model: loading always fails
    raise RuntimeError("checkpoint is corrupt: e2e-broken-model")
'''


def test_a_model_whose_model_fn_raises_fails_the_apply_with_its_error(
    applied: Applied, capsys: pytest.CaptureFixture[str]
) -> None:
    deployment = applied.deployment
    broken = deployment.root / "models" / "broken"
    if not broken.exists():
        shutil.copytree(deployment.root / "models" / "model-a", broken)
        with (broken / "code" / "inference.py").open("a") as handle:  # a complete handler whose model_fn raises
            handle.write(BROKEN_MODEL_FN)
    models = json.loads((ROOT / "environments" / "base.json").read_text())["serving"]["models"][:1]
    models[0] = {**models[0], "name": "broken", "path": "models/broken",  # relative to the deployment's project root
                 "variant": {**models[0]["variant"], "name": "broken", "weight": 1}}
    env_file = deployment.env_file("e2ebroken", {"serving": {"models": models}})
    stacks = stack_args(["model-archive", "model-serving"])
    capsys.readouterr()
    started = time.monotonic()
    try:
        code = main(["apply", "--env", str(env_file), "--auto-approve", *stacks])
        captured = capsys.readouterr()
        assert code == 1, captured.out[-2000:] + captured.err[-2000:]
        assert "checkpoint is corrupt: e2e-broken-model" in captured.err, captured.err[-3000:]
        assert time.monotonic() - started < 300
    finally:
        main(["destroy", "--env", str(env_file), "--auto-approve", *stacks])


# -- destroy (last) -------------------------------------------------------------------------------


def test_destroy_stops_every_data_plane_process(applied: Applied) -> None:
    service_pid = applied.deployment.control_plane.pid
    workers = {pid for pids in _worker_pids(applied).values() for pid in pids}
    running = {pid: cmd for pid, cmd in _descendants(service_pid).items() if any(m in cmd for m in WORKER_MARKERS)}
    assert workers <= set(running), (workers, running)
    assert any("lambdas/bootstrap.py" in cmd for cmd in running.values()), running  # the predictor's warm worker

    assert main(["destroy", "--env", str(applied.env_file), "--auto-approve", *stack_args(["model-archive", "model-serving", "api-hosting"])]) == 0

    def gone() -> bool:
        left = {pid: cmd for pid, cmd in _descendants(service_pid).items() if any(m in cmd for m in WORKER_MARKERS)}
        return not left and applied.hosting().get("endpoints") == {}

    wait_for(gone, 60, "every model worker and Lambda worker to exit")
    assert not (set(_processes()) & workers)
