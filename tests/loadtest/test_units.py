"""Fast unit tests: target resolution and signing, request rendering, cases, quantization, progress."""

from __future__ import annotations

import argparse
import io
import json
import random
from pathlib import Path

import pytest
from botocore.credentials import ReadOnlyCredentials

from orchestrator.errors import OrchestratorError, UsageError
from orchestrator.loadtest import cases, targets, tester
from orchestrator.loadtest.durations import seconds
from orchestrator.loadtest.progress import Progress
from orchestrator.loadtest.recorder import Recorder, Tally, counts_percentile_ms, new_histogram, quantize
from orchestrator.loadtest.wire import parse_url, render_request

PREFIX = "/text-classification/local"


def getter(values: dict[str, str]):
    return lambda name, decrypt: values.get(name)


def test_runtime_url_resolution_order() -> None:
    ssm = getter({f"{PREFIX}/model-serving/runtime_url": "http://127.0.0.1:7001/"})
    env_var = {targets.RUNTIME_ENV_VAR: "http://127.0.0.1:7000"}
    kw = {"ssm_prefix": PREFIX, "region": "us-east-2"}
    assert targets.runtime_url(**kw, embedded=True, get=ssm, environ=env_var) == "http://127.0.0.1:7000"
    assert targets.runtime_url(**kw, embedded=True, get=ssm, environ={}) == "http://127.0.0.1:7001"
    assert (
        targets.runtime_url(**kw, embedded=False, get=getter({}), environ={})
        == "https://runtime.sagemaker.us-east-2.amazonaws.com"
    )
    with pytest.raises(OrchestratorError, match=targets.RUNTIME_ENV_VAR):
        targets.runtime_url(**kw, embedded=True, get=getter({}), environ={})
    cp = "http://127.0.0.1:4566"
    health = {"components": {"sagemaker-hosting": {"runtime_url": "http://127.0.0.1:7002"}}}
    assert (
        targets.runtime_url(**kw, embedded=True, get=getter({}), environ={}, control_plane=cp, health=health)
        == "http://127.0.0.1:7002"
    )
    assert targets.runtime_url(**kw, embedded=True, get=getter({}), environ={}, control_plane=cp, health={}) == cp
    assert targets.invocations_url("http://h:1/", "my ep") == "http://h:1/endpoints/my%20ep/invocations"


def test_local_api_url_moves_to_the_fast_port_when_advertised() -> None:
    cp = "http://127.0.0.1:4566"
    url = f"{cp}/restapis/abc/local/_user_request_/text"
    health = {"components": {"apigateway-execution": {"invoke_base_url": "http://127.0.0.1:7100"}}}
    assert targets.fast_local_url(url, cp, health) == "http://127.0.0.1:7100/restapis/abc/local/_user_request_/text"
    assert targets.fast_local_url(url, cp, {}) == url
    assert targets.fast_local_url("https://x.execute-api.us-east-1.amazonaws.com/local/text", cp, health).startswith(
        "https://x.execute-api"
    )
    assert targets.service_health("http://127.0.0.1:9", timeout=0.5) == {}


def test_api_target_reads_url_and_secure_key() -> None:
    seen = []

    def get(name: str, decrypt: bool):
        seen.append((name, decrypt))
        return {
            f"{PREFIX}/api-hosting/invoke_url": "https://x.example/local/text",
            f"{PREFIX}/api-hosting/api_key": "k",
        }.get(name)

    assert targets.api_target(PREFIX, get) == ("https://x.example/local/text", "k")
    assert (f"{PREFIX}/api-hosting/api_key", True) in seen
    with pytest.raises(OrchestratorError, match="invoke_url"):
        targets.api_target(PREFIX, getter({}))


def test_api_requests_carry_key_and_variant_header() -> None:
    t = targets.build_target(
        "http://127.0.0.1:8080/local/text?x=1",
        [cases.Case("a", b'{"s":1}')],
        kind="api",
        api_key="KEY",
        variant="model-b",
    )
    raw = t.render()[0]
    head, body = raw.split(b"\r\n\r\n", 1)
    assert head.startswith(b"POST /local/text?x=1 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nContent-Length: 7")
    assert b"x-api-key: KEY" in head and b"X-Target-Variant: model-b" in head and body == b'{"s":1}'
    assert t.refresh_sec is None


def test_endpoint_requests_are_sigv4_signed_and_refreshed() -> None:
    signer = targets.Signer(ReadOnlyCredentials("AKIDEXAMPLE", "secret", None), "us-east-1")
    url = "https://runtime.sagemaker.us-east-1.amazonaws.com/endpoints/ep/invocations"
    t = targets.build_target(url, [cases.Case("a", b"{}")], kind="endpoint", variant="model-a", signer=signer)
    head = t.render()[0].split(b"\r\n\r\n")[0].decode()
    assert "Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/" in head and "/sagemaker/aws4_request" in head
    assert "X-Amz-Date: " in head and "X-Amzn-SageMaker-Target-Variant: model-a" in head
    assert "Host: runtime.sagemaker.us-east-1.amazonaws.com\r\n" in head
    assert t.refresh_sec == targets.SIGNATURE_REFRESH_SEC
    with pytest.raises(UsageError):
        targets.build_target("ftp://x/y", [cases.Case("a", b"{}")], kind="api")


def test_parse_url_defaults() -> None:
    u = parse_url("https://api.example.com/prod/text")
    assert (u.port, u.tls, u.host_header, u.path) == (443, True, "api.example.com", "/prod/text")
    assert render_request(parse_url("http://h/"), b"", {"Host": "evil"}).count(b"Host:") == 1


def test_cases_from_files_and_environment(tmp_path: Path) -> None:
    f = tmp_path / "c.json"
    f.write_text(
        json.dumps(
            [
                {"name": "a", "request": {"sentence": "x"}, "response": {"label": 1}},
                {"request": "raw text", "content_type": "text/csv"},
            ]
        )
    )
    loaded = cases.load_file(f)
    assert [c.name for c in loaded] == ["a", "case-2"]
    assert loaded[0].body == b'{"sentence":"x"}' and loaded[0].expected == {"label": 1}
    assert loaded[1].body == b"raw text" and loaded[1].content_type == "text/csv"
    f.write_text(json.dumps({"TestData": []}))
    with pytest.raises(UsageError):
        cases.load_file(f)
    with pytest.raises(UsageError):
        cases.load_file(tmp_path / "missing.json")
    env_cases = cases.from_environment({"load_testing": {"test_cases": [{"name": "w", "request": {"s": 1}}]}})
    assert env_cases[0].name == "w"


def test_quantized_tallies_match_direct_hdr_recording() -> None:
    rng = random.Random(1)
    direct, tally = new_histogram(), Tally()
    for _ in range(20000):
        us = int(rng.lognormvariate(8, 1.5)) + 1
        direct.record_value(us)
        q = quantize(us)
        tally.pending[q] = tally.pending.get(q, 0) + 1
    h = tally.histogram
    assert h.get_total_count() == direct.get_total_count() == 20000
    for p in (50, 90, 99, 99.9, 100):
        assert h.get_value_at_percentile(p) == direct.get_value_at_percentile(p)
    assert quantize(2047) == 2047 and quantize(123_456_789) <= 123_456_789 < quantize(123_456_789) * 1.001
    assert counts_percentile_ms({1000: 99, 200_000: 1}, 99) == 1.0
    assert counts_percentile_ms({1000: 98, 200_000: 2}, 99) == 200.0


def test_recorder_excludes_warmup_and_splits_variants() -> None:
    rec = Recorder(warmup=1.0, case_names=["a"], expected=[{"success": "true"}])
    rec.sent(0.5, 0.0)
    rec.result(0.5, 0.001, 0, 200, {}, b'{"success":"true","label":1,"variant":"v1"}', None)
    rec.sent(1.5, 0.0)
    rec.result(1.5, 0.002, 0, 200, {b"x-amzn-invoked-production-variant": b"v2"}, b'{"success":"true","label":2}', None)
    rec.sent(1.6, 0.0)
    rec.result(1.6, 0.003, 0, 503, {}, b'{"message":"busy"}', None)
    rec.dropped(0.9)
    rec.dropped(1.7)
    assert rec.sent_measured == 2 and rec.completed == 2 and rec.drops == 1
    assert set(rec.variants) == {"v2", "(none)"}
    assert rec.variants["v2"].labels == {"2": 1}
    assert rec.errors_by_status == {"503": 1}
    assert rec.cases[0].test_success == 1 and rec.cases[0].test_fail == 1


def test_progress_lines_on_a_pipe_and_a_tty() -> None:
    rec = Recorder(0.0, ["a"], [None])
    rec.sent(0.0, 0.050)  # 50 ms late
    rec.result(0.0, 0.060, 0, 200, {}, b"", None)
    pipe = io.StringIO()
    Progress(pipe, max_send_lag_ms=10, tty=False).update(1.0, rec, 3, "run")
    line = pipe.getvalue()
    assert line.endswith("\n") and "in-flight     3" in line and "WARNING: generator behind schedule" in line
    tty = io.StringIO()
    p = Progress(tty, tty=True)
    p.update(1.0, rec, 0, "run")
    p.update(2.0, rec, 0, "run")
    p.finish()
    assert tty.getvalue().count("\r") == 2 and tty.getvalue().endswith("\n")


def test_durations_and_trigger_message_validation() -> None:
    assert seconds("90") == 90 and seconds("2m") == 120 and seconds("500ms") == 0.5 and seconds("1h") == 3600
    with pytest.raises(argparse.ArgumentTypeError):
        seconds("soon")
    msg = tester.trigger_message({"interval_sec": 10, "duration_sec": 600}, [{"name": "a", "request": {}}])
    assert msg["Config"] == {"IntervalInSec": 10, "DurationInSec": 600} and tester.validate_message(msg) == []
    assert tester.validate_message({"Config": {"IntervalInSec": 0}, "TestData": [{}]})


def test_cli_resolves_an_endpoint_target_from_a_runtime_base_url(monkeypatch: pytest.MonkeyPatch) -> None:
    from orchestrator.config import load_environment
    from orchestrator.loadtest.run import resolve_target

    env = load_environment("local")
    args = argparse.Namespace(target="endpoint", url="http://127.0.0.1:7000", api_key_env=None, variant="model-b")
    t = resolve_target(args, env, [cases.Case("a", b"{}")])
    assert t.url == f"http://127.0.0.1:7000/endpoints/{env.endpoint_name}/invocations"
    head = t.render()[0].split(b"\r\n\r\n")[0]
    assert b"Authorization: AWS4-HMAC-SHA256 Credential=test/" in head  # embedded: test credentials
    assert b"X-Amzn-SageMaker-Target-Variant: model-b" in head


def _args(**overrides: object) -> argparse.Namespace:
    base: dict[str, object] = {
        "target": "api", "url": None, "find_max": False, "rate": 50.0, "duration": 30.0, "warmup": None,
        "max_rate": 100_000.0,
    }
    return argparse.Namespace(**{**base, **overrides})


def test_a_rate_above_the_usage_plan_throttle_is_called_out_before_the_run() -> None:
    from orchestrator.config import load_environment
    from orchestrator.loadtest.run import result_has_status, usage_plan_warnings

    env = load_environment("local")  # base.json: 100 requests/s per key, 100,000 a day
    assert usage_plan_warnings(_args(), env) == []
    [over] = usage_plan_warnings(_args(rate=200.0), env)
    assert "throttle of 100 requests/s" in over and "about 50% of the requests to get 429" in over
    assert "api.throttle.rate_limit of environment local" in over
    # The bucket banks a burst of 200, spent in the warmup: 5 s at 200/s after 1 s loses 400 of 1,000.
    assert "about 40% of the requests" in usage_plan_warnings(_args(rate=200.0, duration=5.0, warmup=1.0), env)[0]
    assert "its burst of 200 covers this run" in usage_plan_warnings(_args(rate=110.0, duration=10.0), env)[0]
    [search] = usage_plan_warnings(_args(find_max=True, rate=None), env)
    assert "the search will find that limit, not the model's" in search
    assert usage_plan_warnings(_args(find_max=True, rate=None, max_rate=80.0), env) == []
    [quota] = usage_plan_warnings(_args(rate=90.0, duration=1200.0), env)  # 108,000 requests
    assert "more than the key's quota of 100,000 per DAY" in quota
    # Not the environment's API: its usage plan does not apply.
    assert usage_plan_warnings(_args(rate=200.0, url="http://127.0.0.1:9/x"), env) == []
    assert usage_plan_warnings(_args(rate=200.0, target="endpoint"), env) == []
    assert result_has_status({"errors_by_status": {"429": 3}}, 429)
    assert not result_has_status({"errors_by_status": {"503": 3}}, 429)


def test_the_throttle_warning_is_printed_for_the_environments_api(
    monkeypatch: pytest.MonkeyPatch, fake_server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from orchestrator.cli import main
    from orchestrator.loadtest import run

    from .helpers import target

    url = fake_server("fixed")
    monkeypatch.setattr(run, "resolve_target", lambda args, env, cases: target(url))  # no deployed API here
    argv = ["load-test", "--env", "local", "--rate", "150", "--duration", "1", "--warmup", "0.2", "--quiet",
            "--no-report", "--out", str(tmp_path)]
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert "warning: --rate 150 is above the API's usage plan throttle of 100 requests/s" in captured.err
    assert "429s above" not in captured.out  # the fake API throttles nothing
