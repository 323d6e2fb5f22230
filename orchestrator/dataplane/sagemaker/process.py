"""The data plane in its own process, and the client that drives it (same API as LocalSageMakerRuntime).

Why a process of its own: the front end is one event-loop thread; sharing a process with the control
plane (moto's request threads, Terraform polling, S3 puts) means queueing for the GIL after every
syscall. In its own process it keeps a core's worth of Python to itself.

    proc = DataPlaneProcess.spawn(control_plane_url="http://127.0.0.1:4566", work_dir=state_dir)
    rt = proc.client                       # RemoteSageMakerRuntime: apply / apply_async / delete / describe
    rt.apply(spec)                         # -> EndpointState
    proc.stop()                            # SIGTERM: flush capture/metrics, stop every worker

`python -m orchestrator.dataplane.sagemaker.process --control-plane-url URL` runs the server; it
prints one JSON line {"url": ...} when ready, and dies with its parent (PDEATHSIG + watchdog).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import gc
import json
import os
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from orchestrator.dataplane.sagemaker.spec import EndpointSpec, EndpointState, spec_to_dict


class RemoteSageMakerRuntime:
    """Blocking client of a data-plane process's /_dataplane/ control API."""

    def __init__(self, url: str, timeout: float = 900.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self._pool = concurrent.futures.ThreadPoolExecutor(4, thread_name_prefix="dataplane-client")

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(f"{self.url}/_dataplane/{path}", data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                return resp.status, json.loads(resp.read() or b"{}")
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"{}")

    def apply(self, spec: EndpointSpec, timeout: float | None = None) -> EndpointState:
        status, body = self._call("POST", "endpoints", spec_to_dict(spec))
        if status != 200:
            raise RuntimeError(f"data plane refused {spec.name}: {body.get('message')}")
        return EndpointState(**body)

    def apply_async(self, spec: EndpointSpec) -> concurrent.futures.Future[EndpointState]:
        return self._pool.submit(self.apply, spec)

    def delete(self, name: str, timeout: float | None = None) -> None:
        self._call("DELETE", f"endpoints/{name}")

    def describe(self, name: str) -> EndpointState | None:
        status, body = self._call("GET", f"endpoints/{name}")
        return EndpointState(**body) if status == 200 else None

    def flush(self) -> None:
        self._call("POST", "flush", {})

    def status_document(self, timeout: float = 2.0) -> dict[str, Any]:
        """Endpoints, variants, instances, worker pids and health (EndpointManager.status_document)."""
        req = urllib.request.Request(f"{self.url}/_dataplane/endpoints", method="GET")
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return dict(json.loads(resp.read() or b"{}"))


class DataPlaneProcess:
    """A child process running the data plane; `client` talks to it."""

    def __init__(self, proc: subprocess.Popen[str], url: str) -> None:
        self.proc = proc
        self.url = url
        self.client = RemoteSageMakerRuntime(url)

    @classmethod
    def spawn(
        cls,
        *,
        control_plane_url: str | None,
        work_dir: Path,
        port: int = 0,
        region: str = "us-east-1",
        capture_dir: Path | None = None,
        start_timeout: float = 60.0,
    ) -> DataPlaneProcess:
        cmd = [sys.executable, "-m", "orchestrator.dataplane.sagemaker.process", "--port", str(port),
               "--work-dir", str(work_dir), "--region", region, "--parent-pid", str(os.getpid())]
        if control_plane_url:
            cmd += ["--control-plane-url", control_plane_url]
        if capture_dir:
            cmd += ["--capture-dir", str(capture_dir)]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
        assert proc.stdout is not None
        result: list[str] = []
        reader = threading.Thread(target=lambda: result.append(proc.stdout.readline()), daemon=True)  # type: ignore[union-attr]
        reader.start()
        reader.join(start_timeout)
        if not result or not result[0].strip():
            proc.kill()
            raise RuntimeError(f"the data-plane process did not start (exit code {proc.poll()})")
        return cls(proc, json.loads(result[0])["url"])

    def stop(self, timeout: float = 60.0) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def main(argv: list[str] | None = None) -> int:
    from orchestrator.dataplane.sagemaker.capture import LocalDirCaptureSink, S3CaptureSink
    from orchestrator.dataplane.sagemaker.local_runtime import LocalSageMakerRuntime
    from orchestrator.dataplane.sagemaker.metrics import CloudWatchMetricsSink
    from orchestrator.dataplane.sagemaker.worker import _guard_parent

    parser = argparse.ArgumentParser(description="Run the local SageMaker data plane in this process.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--work-dir", required=True)
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--control-plane-url", default=None, help="S3/CloudWatch endpoint (embedded control plane)")
    parser.add_argument("--capture-dir", default=None, help="write capture files here instead of S3")
    parser.add_argument("--parent-pid", type=int, default=None)
    args = parser.parse_args(argv)
    if args.parent_pid:
        _guard_parent(args.parent_pid, pdeathsig=False)
    capture_sink: Any = None
    metrics_sink: Any = None
    fetch_s3: Any = None
    if args.control_plane_url:
        import boto3

        def client(service: str) -> Any:
            return boto3.client(service, endpoint_url=args.control_plane_url, region_name=args.region,
                                aws_access_key_id="local", aws_secret_access_key="local")

        s3 = client("s3")
        capture_sink = S3CaptureSink(s3)
        metrics_sink = CloudWatchMetricsSink(client("cloudwatch"))
        fetch_s3 = lambda bucket, key, dest: s3.download_file(bucket, key, str(dest))
    if args.capture_dir:
        capture_sink = LocalDirCaptureSink(Path(args.capture_dir))
    rt = LocalSageMakerRuntime(host=args.host, port=args.port, work_dir=Path(args.work_dir), capture_sink=capture_sink,
                               metrics_sink=metrics_sink, fetch_s3=fetch_s3, region=args.region)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    url = rt.start()
    gc.collect()
    gc.freeze()  # boto3 & co. are long-lived: keep them out of every later full collection (p99 pauses)
    print(json.dumps({"url": url, "pid": os.getpid()}), flush=True)
    while not stop.wait(1.0):
        pass
    rt.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
