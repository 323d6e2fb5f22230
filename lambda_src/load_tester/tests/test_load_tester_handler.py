"""The load tester end to end: SNS event in, requests to a fake API on 127.0.0.1, metrics into moto."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any

import pytest

from load_tester_testkit import API_KEY, NAMESPACE, STAGE, FakeApi, FakeContext, cases, sns_event

pytestmark = pytest.mark.timeout(30)

WORLD = ("world", "text", {"sentence": "The new president ..."}, {"success": "true", "label": 1})
SPORTS = ("sports", "text", {"sentence": "Baseball ..."}, {"success": "true", "label": 2})


def _stats(cloudwatch: Any, metric: str, case: str, statistic: str) -> float:
    now = datetime.now(UTC)
    points = cloudwatch.get_metric_statistics(
        Namespace=NAMESPACE, MetricName=metric,
        Dimensions=[{"Name": "Stage", "Value": STAGE}, {"Name": "Type", "Value": f"ApiGateway/{case}"}],
        StartTime=now - timedelta(minutes=5), EndTime=now + timedelta(minutes=5), Period=600,
        Statistics=[statistic],
    )["Datapoints"]
    return sum(point[statistic] for point in points)


def test_closed_loop_counts_checks_and_emits_the_original_metrics(
    tester: ModuleType, aws: dict[str, Any], api: FakeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    api.routes["/local/text"] = (200, {"success": "true", "label": 1, "variant": "model-a"})
    message = {"Config": {"IntervalInSec": 0.05, "DurationInSec": 0.6}, "TestData": cases(WORLD, SPORTS, interval=0.02)}
    monkeypatch.setenv("TESTER_ID", "3")
    summary = tester.lambda_handler(sns_event(message), FakeContext(30_000))

    assert summary["mode"] == "closed_loop" and summary["tester_id"] == "3"
    assert summary["stopped_by"] == "duration"
    assert summary["sent"] == len(api.requests) >= 4
    assert summary["ok"] == summary["sent"] and summary["errors"] == 0
    world, sports = summary["cases"]["world"], summary["cases"]["sports"]
    assert world["test_pass"] == world["sent"] and world["test_fail"] == 0
    assert sports["test_fail"] == sports["sent"] and sports["test_pass"] == 0  # label 1 != expected 2
    assert summary["test_pass"] + summary["test_fail"] == summary["sent"]
    assert summary["p50_ms"] is not None and summary["p99_ms"] >= summary["p50_ms"]
    assert summary["metric_put_errors"] == 0 and summary["metric_puts"] >= 1

    request = api.requests[0]
    assert request["headers"]["x-api-key"] == API_KEY  # decrypted SecureString
    assert request["headers"]["content-type"] == "application/json"
    assert json.loads(request["body"]) == {"sentence": "The new president ..."}

    # Names, dimensions and units as the original sent them.
    data = [datum for call in aws["put_metric_data"] for datum in call["MetricData"]]
    assert all(call["Namespace"] == NAMESPACE and len(call["MetricData"]) <= 1000 for call in aws["put_metric_data"])
    units = {datum["MetricName"]: datum["Unit"] for datum in data}
    assert units == {"ResponseTime": "Milliseconds", "StatusSuccess": "Count", "TestSuccess": "Count",
                     "TestFail": "Count"}
    assert {tuple((d["Name"], d["Value"]) for d in datum["Dimensions"]) for datum in data} == {
        (("Stage", "local"), ("Type", "ApiGateway/world")), (("Stage", "local"), ("Type", "ApiGateway/sports"))}

    # And CloudWatch (moto) holds the same numbers as the summary.
    cloudwatch = aws["cloudwatch"]
    listed = {m["MetricName"] for m in cloudwatch.list_metrics(Namespace=NAMESPACE)["Metrics"]}
    assert listed == {"ResponseTime", "StatusSuccess", "TestSuccess", "TestFail"}
    assert _stats(cloudwatch, "StatusSuccess", "world", "Sum") == world["sent"]
    assert _stats(cloudwatch, "TestFail", "sports", "Sum") == sports["sent"]
    assert _stats(cloudwatch, "ResponseTime", "world", "SampleCount") == world["sent"]


def test_response_time_covers_the_full_response(tester: ModuleType, aws: dict[str, Any], api: FakeApi) -> None:
    api.routes["/local/text"] = (200, {"success": "true", "label": 1})
    api.delay = 0.3  # headers go out at once, the body 300 ms later
    message = {"Config": {"IntervalInSec": 0, "DurationInSec": 0.1}, "TestData": cases(WORLD)}
    summary = tester.lambda_handler(sns_event(message), FakeContext(30_000))
    assert summary["sent"] == 1
    assert summary["p50_ms"] >= 300
    times = [v for call in aws["put_metric_data"] for d in call["MetricData"]
             if d["MetricName"] == "ResponseTime" for v in d["Values"]]
    assert times and min(times) >= 300


def test_http_errors_and_transport_errors(tester: ModuleType, aws: dict[str, Any], api: FakeApi, monkeypatch) -> None:
    api.routes["/local/text"] = (503, {"error": "Throttled"})
    message = {"Config": {"IntervalInSec": 0, "DurationInSec": 0.3},
               "TestData": cases(WORLD, ("gone", "nowhere", {"sentence": "x"}, {}), interval=0.05)}
    summary = tester.lambda_handler(sns_event(message), FakeContext(30_000))
    assert summary["ok"] == 0 and summary["errors"] == summary["sent"] > 0
    assert summary["test_pass"] == 0  # a 404 fails even with nothing expected in the body
    assert _stats(aws["cloudwatch"], "StatusError", "world", "Sum") == summary["cases"]["world"]["sent"]

    # Nothing listening at all: counted as a transport error, no ResponseTime.
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("API_URL_BASE", f"http://127.0.0.1:{port}/local")
    summary = tester.lambda_handler(sns_event({"Config": {"DurationInSec": 0.1}, "TestData": cases(WORLD)}),
                                    FakeContext(30_000))
    assert summary["transport_errors"] == summary["sent"] == 1
    assert summary["p50_ms"] is None


def test_expected_status_lets_a_case_expect_a_400(tester: ModuleType, aws: dict[str, Any], api: FakeApi) -> None:
    api.routes["/local/text"] = (400, {"error": "InvalidRequest", "field": "sentence"})
    case = {"name": "empty", "resource": "text", "request": {"sentence": ""}, "status": 400,
            "response": {"field": "sentence"}}
    summary = tester.lambda_handler(sns_event({"Config": {"DurationInSec": 0.1}, "TestData": [case]}),
                                    FakeContext(30_000))
    assert summary["test_pass"] == 1 and summary["errors"] == 1


def test_stops_before_the_lambda_runs_out_of_time(tester: ModuleType, aws: dict[str, Any], api: FakeApi,
                                                  monkeypatch) -> None:
    monkeypatch.setenv("STOP_MARGIN_SEC", "1.5")
    api.routes["/local/text"] = (200, {"success": "true", "label": 1})
    api.delay = 0.2
    message = {"Config": {"IntervalInSec": 0.05, "DurationInSec": 600}, "TestData": cases(WORLD)}
    context = FakeContext(3_000)
    summary = tester.lambda_handler(sns_event(message), context)
    assert summary["stopped_by"] == "remaining_time"
    # Sends stop 1.5 s before the end; the last request and the final flush fit in that margin.
    assert context.get_remaining_time_in_millis() > 300
    assert summary["elapsed_sec"] < 1.6
    assert summary["sent"] >= 2
    assert summary["metric_puts"] >= 1


def test_request_timeout_is_cut_to_the_hard_stop(tester: ModuleType, aws: dict[str, Any], api: FakeApi,
                                                 monkeypatch) -> None:
    monkeypatch.setenv("STOP_MARGIN_SEC", "0.5")
    api.routes["/local/text"] = (200, {"success": "true", "label": 1})
    api.delay = 5.0  # longer than the whole invocation
    started = time.monotonic()
    summary = tester.lambda_handler(sns_event({"Config": {"DurationInSec": 600}, "TestData": cases(WORLD)}),
                                    FakeContext(1_500))
    assert time.monotonic() - started < 1.4
    assert summary["transport_errors"] >= 1


def test_rate_mode_is_open_loop(tester: ModuleType, aws: dict[str, Any], api: FakeApi) -> None:
    api.routes["/local/text"] = (200, {"success": "true", "label": 1})
    api.delay = 0.25  # a closed loop could do at most 4 requests per second
    message = {"Config": {"RatePerSec": 20, "DurationInSec": 1.0, "IntervalInSec": 10}, "TestData": cases(WORLD, SPORTS)}
    summary = tester.lambda_handler(sns_event(message), FakeContext(30_000))
    assert summary["mode"] == "rate" and summary["target_rate_per_sec"] == 20
    assert summary["sent"] == 20 and summary["dropped"] == 0
    assert summary["cases"]["world"]["sent"] == pytest.approx(summary["cases"]["sports"]["sent"], abs=1)
    assert summary["p50_ms"] >= 250 and summary["p50_from_intended_ms"] >= 250
    starts = sorted(r["at"] for r in api.requests)
    assert starts[-1] - starts[0] < 1.2  # sends followed the schedule, not the responses


def test_rate_mode_drops_sends_when_all_workers_are_busy(tester: ModuleType, aws: dict[str, Any], api: FakeApi,
                                                         monkeypatch) -> None:
    monkeypatch.setenv("MAX_IN_FLIGHT", "2")
    api.routes["/local/text"] = (200, {"success": "true", "label": 1})
    api.delay = 1.0  # both workers stay busy for the whole 0.5 s schedule
    message = {"Config": {"RatePerSec": 20, "DurationInSec": 0.5}, "TestData": cases(WORLD)}
    summary = tester.lambda_handler(sns_event(message), FakeContext(30_000))
    assert summary["sent"] == 2 and summary["dropped"] == 8


def test_periodic_flushes_stay_batched(tester: ModuleType, aws: dict[str, Any], api: FakeApi, monkeypatch) -> None:
    monkeypatch.setenv("METRIC_FLUSH_SEC", "0.2")
    api.routes["/local/text"] = (200, {"success": "true", "label": 1})
    message = {"Config": {"IntervalInSec": 0.01, "DurationInSec": 0.7}, "TestData": cases(WORLD)}
    summary = tester.lambda_handler(sns_event(message), FakeContext(30_000))
    assert summary["metric_puts"] >= 3
    assert summary["metric_puts"] < summary["sent"]  # not one call per request
    assert _stats(aws["cloudwatch"], "StatusSuccess", "world", "Sum") == summary["sent"]


def test_api_key_is_read_once_per_container(tester: ModuleType, aws: dict[str, Any], api: FakeApi) -> None:
    api.routes["/local/text"] = (200, {"success": "true", "label": 1})
    event = sns_event({"Config": {"DurationInSec": 0.05}, "TestData": cases(WORLD)})
    tester.lambda_handler(event, FakeContext(30_000))
    tester.lambda_handler(event, FakeContext(30_000))
    assert aws["get_parameter"] == [{"Name": "/text-classification/local/api-hosting/api_key", "WithDecryption": True}]
    assert [r["headers"]["x-api-key"] for r in api.requests] == [API_KEY, API_KEY]


def test_the_api_key_never_reaches_the_logs(tester: ModuleType, aws: dict[str, Any], api: FakeApi, monkeypatch,
                                            capsys) -> None:
    monkeypatch.setenv("LOG_LEVEL", "DEBUG")
    import runlog

    runlog.get_logger()
    api.routes["/local/text"] = (200, {"success": "true", "label": 1})
    tester.lambda_handler(sns_event({"Config": {"DurationInSec": 0.1}, "TestData": cases(WORLD)}), FakeContext(30_000))
    out = capsys.readouterr().out
    monkeypatch.setenv("LOG_LEVEL", "INFO")
    runlog.get_logger()
    assert '"message":"result"' in out and '"message":"load test finished"' in out
    assert API_KEY not in out


def test_without_key_parameter_no_key_is_sent(tester: ModuleType, aws: dict[str, Any], api: FakeApi,
                                              monkeypatch) -> None:
    monkeypatch.delenv("API_KEY_PARAMETER")
    api.routes["/local/text"] = (200, {"success": "true", "label": 1})
    tester.lambda_handler(sns_event({"Config": {"DurationInSec": 0.05}, "TestData": cases(WORLD)}), FakeContext(30_000))
    assert "x-api-key" not in api.requests[0]["headers"]


def test_invoke_url_and_direct_invocation(tester: ModuleType, aws: dict[str, Any], api: FakeApi, monkeypatch) -> None:
    monkeypatch.delenv("API_URL_BASE")
    monkeypatch.setenv("API_INVOKE_URL", api.base + "/text")
    api.routes["/local/text"] = (200, {"success": "true", "label": 1})
    api.routes["/local/other"] = (200, {"success": "true", "label": 1})
    # One round: IntervalInSec (default 10) outlasts the duration; the duration outlasts the round.
    message = {"Config": {"DurationInSec": 1.0},
               "TestData": cases(WORLD, ("other", "other", {"sentence": "y"}, {}))}
    summary = tester.lambda_handler(message, None)  # direct invoke: the message is the event
    assert summary["test_pass"] == 2
    assert [r["path"] for r in api.requests] == ["/local/text", "/local/other"]


def test_metric_put_failures_do_not_stop_the_test(tester: ModuleType, aws: dict[str, Any], api: FakeApi,
                                                  monkeypatch) -> None:
    from botocore.exceptions import ClientError

    def refuse(**_: Any) -> None:
        raise ClientError({"Error": {"Code": "Throttling", "Message": "Rate exceeded"}}, "PutMetricData")

    monkeypatch.setattr(aws["cloudwatch"], "put_metric_data", refuse)
    api.routes["/local/text"] = (200, {"success": "true", "label": 1})
    summary = tester.lambda_handler(sns_event({"Config": {"DurationInSec": 0.05}, "TestData": cases(WORLD)}),
                                    FakeContext(30_000))
    assert summary["sent"] == 1 and summary["ok"] == 1
    assert summary["metric_put_errors"] == 1 and summary["metric_puts"] == 0


def test_bad_message_and_missing_settings_fail_clearly(tester: ModuleType, aws: dict[str, Any], api: FakeApi,
                                                       monkeypatch) -> None:
    from scenario import MessageError

    with pytest.raises(MessageError, match=r"TestData\[0\]\.request"):
        tester.lambda_handler(sns_event({"Config": {}, "TestData": [{"resource": "text"}]}), FakeContext(30_000))
    monkeypatch.delenv("METRIC_NAMESPACE")
    with pytest.raises(tester.ConfigurationError, match="METRIC_NAMESPACE"):
        tester.lambda_handler(sns_event({"TestData": cases(WORLD)}), FakeContext(30_000))
    assert api.requests == []
