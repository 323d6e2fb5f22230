"""Benchmark of the embedded API Gateway -> Lambda path (and API -> predictor -> SageMaker runtime), with `wrk`.

Starts the embedded service (control plane + lambda-execution + apigateway-execution, plus
sagemaker-hosting for the predictor case), deploys through boto3 what the api-hosting stack deploys
(REST API, POST /text, AWS_PROXY, API key + usage plan), then runs wrk at 1, 16 and 64 connections
against the fast data-plane port and prints req/s, p50 and p99.

With the predictor case it also prints what one boto3 ``invoke_endpoint`` call costs alone (CPU per
call, measured before the runs): the figure the whole path's throughput follows from one hour to the next.

Cases:
  echo       a trivial Lambda returning the request body (the data plane's own overhead)
  predictor  lambda_src/predictor (unmodified) -> InvokeEndpoint on the local SageMaker runtime serving
             a tiny non-torch model (the end-to-end path; the model costs almost nothing)

    .venv/bin/python benchmarks/api_lambda_path.py [--duration 10] [--cases echo,predictor] [--control-port]

``--control-port`` also measures the same API through the control plane's WSGI port, for comparison.
Needs `wrk` (Debian: apt-get install -y wrk).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import textwrap
import time
import urllib.request
import uuid
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from serving_runtime import parse_wrk  # one reading of wrk's output for every benchmark

from orchestrator.embedded.testing import ControlPlane, running_control_plane

LAMBDA = "orchestrator.dataplane.lambdas.component:factory"
APIGW = "orchestrator.dataplane.apigateway.component:factory"
SAGEMAKER = "orchestrator.dataplane.sagemaker.component:factory"
ROLE_NAME = "bench-lambda-role"

ECHO = textwrap.dedent(
    """
    def handler(event, context):
        return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": event["body"] or "{}"}
    """
)

# A model the SageMaker runtime serves without torch: the end-to-end path without model cost.
TINY_MODEL = textwrap.dedent(
    """
    import json

    def model_fn(model_dir):
        return {"labels": ["World", "Sports", "Business", "Sci/Tech"]}

    def input_fn(body, content_type):
        return json.loads(body)

    def predict_fn(data, model):
        sentences = data.get("sentences") or [data.get("sentence", "")]
        return [{"label": model["labels"][len(s) % 4], "score": 0.9} for s in sentences]

    def output_fn(prediction, accept):
        return json.dumps(prediction[0] if len(prediction) == 1 else prediction), "application/json"
    """
)

SENTENCE = "Baseball is one of the most popular sports in the United States."


def wrk_lua(body: str, key: str) -> str:
    return textwrap.dedent(
        f"""
        wrk.method = "POST"
        wrk.body = {json.dumps(body)}
        wrk.headers["Content-Type"] = "application/json"
        wrk.headers["x-api-key"] = {json.dumps(key)}
        """
    )


def _cpu_seconds(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        return 0.0


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                found += [int(c) for c in f.read().split()]
    except OSError:
        pass
    return found


def _is_lambda_worker(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return b"lambdas/bootstrap.py" in f.read()
    except OSError:
        return False


def service_cpu(pid: int) -> tuple[float, float, float]:
    """CPU seconds so far: the service process, its Lambda workers, its other children (model servers)."""
    children = _children(pid)
    lambdas = [c for c in children if _is_lambda_worker(c)]
    others = [c for c in children if c not in lambdas]
    others += [g for c in others for g in _children(c)]
    return _cpu_seconds(pid), sum(map(_cpu_seconds, lambdas)), sum(map(_cpu_seconds, others))


def run_wrk(url: str, connections: int, duration: int, lua: Path, pid: int | None = None) -> dict[str, float]:
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency", "-s", str(lua), url]
    before = service_cpu(pid) if pid else (0.0, 0.0, 0.0)
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60, check=False).stdout
    after = service_cpu(pid) if pid else (0.0, 0.0, 0.0)
    result = parse_wrk(out)
    count = max(result["requests"], 1.0)
    result["service_cpu_ms"] = (after[0] - before[0]) * 1000 / count
    result["lambda_cpu_ms"] = (after[1] - before[1]) * 1000 / count
    result["model_cpu_ms"] = (after[2] - before[2]) * 1000 / count
    return result


def zip_bytes(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def predictor_zip() -> bytes:
    source = ROOT / "lambda_src" / "predictor"
    return zip_bytes({p.name: p.read_bytes() for p in sorted(source.glob("*.py"))})


def health(cp: ControlPlane) -> dict[str, Any]:
    with urllib.request.urlopen(cp.url + "/_orchestrator/health", timeout=5) as resp:
        return dict(json.loads(resp.read()))


def deploy_function(cp: ControlPlane, name: str, code: bytes, handler: str, env: dict[str, str]) -> str:
    iam = cp.client("iam")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    try:
        iam.create_role(RoleName=ROLE_NAME, AssumeRolePolicyDocument=json.dumps(trust))
    except iam.exceptions.EntityAlreadyExistsException:
        pass
    fn = cp.client("lambda").create_function(
        FunctionName=name,
        Runtime="python3.11",
        Role=f"arn:aws:iam::123456789012:role/{ROLE_NAME}",
        Handler=handler,
        Code={"ZipFile": code},
        Timeout=30,
        MemorySize=256,
        Environment={"Variables": env},
    )
    return str(fn["FunctionArn"])


def deploy_api(cp: ControlPlane, function_arn: str) -> tuple[str, str]:
    """REST API POST /text -> function, key + usage plan; returns (path below the port, key value)."""
    apigw = cp.client("apigateway")
    api_id = apigw.create_rest_api(name=f"bench-{uuid.uuid4().hex[:6]}", apiKeySource="HEADER")["id"]
    root = next(r["id"] for r in apigw.get_resources(restApiId=api_id)["items"] if r["path"] == "/")
    resource = apigw.create_resource(restApiId=api_id, parentId=root, pathPart="text")["id"]
    apigw.put_method(
        restApiId=api_id, resourceId=resource, httpMethod="POST", authorizationType="NONE", apiKeyRequired=True
    )
    apigw.put_integration(
        restApiId=api_id,
        resourceId=resource,
        httpMethod="POST",
        type="AWS_PROXY",
        integrationHttpMethod="POST",
        uri=f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{function_arn}/invocations",
    )
    apigw.create_deployment(restApiId=api_id, stageName="local")
    key = apigw.create_api_key(name=f"bench-key-{api_id}", enabled=True)
    plan = apigw.create_usage_plan(
        name=f"bench-plan-{api_id}",
        apiStages=[{"apiId": api_id, "stage": "local"}],
        throttle={"rateLimit": 100000.0, "burstLimit": 100000},
    )
    apigw.create_usage_plan_key(usagePlanId=plan["id"], keyId=key["id"], keyType="API_KEY")
    return f"/restapis/{api_id}/local/_user_request_/text", str(key["value"])


def deploy_endpoint(cp: ControlPlane, name: str, model_dir: Path | None = None, env: dict[str, str] | None = None) -> None:
    """A SageMaker endpoint (1 instance) serving `model_dir` (default: TINY_MODEL) from the control plane's
    S3, with `env` as the model's container environment."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        if model_dir is not None:
            tar.add(model_dir, arcname=".")
        else:
            data = TINY_MODEL.encode()
            info = tarfile.TarInfo("code/inference.py")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    s3 = cp.client("s3")
    s3.create_bucket(Bucket="bench-models")
    s3.put_object(Bucket="bench-models", Key="tiny/model.tar.gz", Body=buffer.getvalue())
    sm = cp.client("sagemaker")
    sm.create_model(
        ModelName=f"{name}-model",
        ExecutionRoleArn="arn:aws:iam::123456789012:role/sm",
        PrimaryContainer={"Image": "local", "ModelDataUrl": "s3://bench-models/tiny/model.tar.gz", "Environment": env or {}},
    )
    sm.create_endpoint_config(
        EndpointConfigName=f"{name}-config",
        ProductionVariants=[
            {
                "VariantName": "primary",
                "ModelName": f"{name}-model",
                "InitialInstanceCount": 1,
                "InstanceType": "ml.c5.large",
                "InitialVariantWeight": 1.0,
            }
        ],
    )
    sm.create_endpoint(EndpointName=name, EndpointConfigName=f"{name}-config")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        status = sm.describe_endpoint(EndpointName=name)["EndpointStatus"]
        if status == "InService":
            return
        if status == "Failed":
            raise RuntimeError(sm.describe_endpoint(EndpointName=name).get("FailureReason"))
        time.sleep(0.5)
    raise RuntimeError("endpoint did not come InService")


def invoke_endpoint_cpu_us(runtime_url: str, endpoint: str, body: str, calls: int = 500) -> float:
    """CPU microseconds (of the calling thread; median of 3 rounds) of one boto3 ``invoke_endpoint`` call
    to the same runtime: the bulk of the predictor's share of every request, and a gauge of the machine's
    speed of the hour. This VM's speed drifts by 2x and more (0.9 ms one evening, 2.1-2.6 ms the next
    night, both about 80 % in the interpreter); a run's req/s moves with this figure."""
    import boto3
    from botocore.config import Config

    client = boto3.client(
        "sagemaker-runtime", endpoint_url=runtime_url, region_name="us-east-1", aws_access_key_id="test",
        aws_secret_access_key="test", config=Config(retries={"max_attempts": 1, "mode": "standard"}),
    )
    rounds = []
    for _ in range(3):
        started = time.thread_time()
        for _ in range(calls):
            client.invoke_endpoint(EndpointName=endpoint, Body=body, ContentType="application/json")["Body"].read()
        rounds.append((time.thread_time() - started) / calls * 1e6)
    return sorted(rounds)[1]


def check(url: str, body: str, key: str) -> tuple[int, str]:
    req = urllib.request.Request(
        url, data=body.encode(), method="POST", headers={"Content-Type": "application/json", "x-api-key": key}
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


Row = tuple[str, str, int, dict[str, float]]  # case, port, connections, figures


def measure_cases(
    cases: list[str],
    conns: list[int],
    duration: int,
    warmup: int,
    tmp: Path,
    *,
    control_port: bool = False,
    model_dir: Path | None = None,
    model_env: dict[str, str] | None = None,
    show: Callable[[Row], None] | None = None,
) -> tuple[float | None, list[Row]]:
    """Deploy each case behind a REST API on a fresh embedded service and run wrk on it at each connection
    count. Returns the boto3 `invoke_endpoint` gauge (µs of CPU per call; None without the predictor case)
    and the rows, each also passed to `show` as it is measured. The predictor's endpoint serves
    `model_dir` (with `model_env`) when given, else TINY_MODEL."""
    components = [LAMBDA, APIGW] + ([SAGEMAKER] if "predictor" in cases else [])
    body = json.dumps({"sentence": SENTENCE})
    gauge: float | None = None
    rows: list[Row] = []
    tmp.mkdir(parents=True, exist_ok=True)
    with running_control_plane(tmp, components=components) as cp:
        fast = str(health(cp)["components"]["apigateway-execution"]["invoke_base_url"])
        targets: list[tuple[str, str, str]] = []
        if "echo" in cases:
            arn = deploy_function(cp, "bench-echo", zip_bytes({"app.py": ECHO.encode()}), "app.handler", {})
            path, key = deploy_api(cp, arn)
            targets.append(("echo", path, key))
        if "predictor" in cases:
            deploy_endpoint(cp, "bench-endpoint", model_dir, model_env)
            arn = deploy_function(
                cp,
                "bench-predictor",
                predictor_zip(),
                "handler.lambda_handler",
                {"SAGEMAKER_ENDPOINT": "bench-endpoint", "LOG_LEVEL": "WARNING"},
            )
            path, key = deploy_api(cp, arn)
            targets.append(("predictor", path, key))
            gauge = invoke_endpoint_cpu_us(str(health(cp)["components"]["sagemaker-hosting"]["runtime_url"]),
                                           "bench-endpoint", body)
        for case, path, key in targets:
            bases = [("fast", fast)] + ([("control", cp.url)] if control_port else [])
            for port_name, base in bases:
                url = base + path
                status, text = check(url, body, key)
                if status != 200:
                    raise RuntimeError(f"{case}: sanity request failed: {status} {text}")
                lua = tmp / f"{case}.lua"
                lua.write_text(wrk_lua(body, key))
                run_wrk(url, max(conns), warmup, lua)  # warm-up: start every worker (cold starts)
                for c in conns:
                    row = (case, port_name, c, run_wrk(url, c, duration, lua, cp.pid))
                    rows.append(row)
                    if show is not None:
                        show(row)
    return gauge, rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", default="1,16,64")
    parser.add_argument("--cases", default="echo,predictor")
    parser.add_argument("--warmup", type=int, default=5, help="seconds at the highest concurrency before measuring")
    parser.add_argument("--control-port", action="store_true", help="also measure through the control plane's port")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is not installed (apt-get install -y wrk)", file=sys.stderr)
        return 2
    print(f"load average before: {os.getloadavg()[0]:.1f} (other processes share the {os.cpu_count()} cores)")
    print(
        f"{'case':<10} {'port':<8} {'conns':>5} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8} "
        f"{'cpu ms/req: service':>19} {'lambda':>7} {'model':>6}"
    )

    def show(row: Row) -> None:
        case, port_name, c, r = row
        print(
            f"{case:<10} {port_name:<8} {c:>5} {r['rps']:>9.0f} {r['p50_ms']:>8.2f} "
            f"{r['p99_ms']:>8.2f} {int(r['non2xx']):>8} {r['service_cpu_ms']:>19.3f} "
            f"{r['lambda_cpu_ms']:>7.3f} {r['model_cpu_ms']:>6.3f}",
            flush=True,
        )

    with tempfile.TemporaryDirectory() as tmp_name:
        try:
            gauge, _ = measure_cases(args.cases.split(","), [int(c) for c in args.connections.split(",")],
                                     args.duration, args.warmup, Path(tmp_name), control_port=args.control_port,
                                     show=show)
        except RuntimeError as exc:
            print(exc, file=sys.stderr)
            return 1
    if gauge is not None:
        print(f"boto3 invoke_endpoint alone, in one process: {gauge:.0f} us of CPU per call (inside every "
              "predictor request; this machine's speed of the hour)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
