"""Unit tests of the load tester's pieces: message parsing, response checks, metric batching, limits."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

import cw_metrics
import probe
import runner
from load_tester_testkit import load_handler
from scenario import MessageError, message_from_event, parse_plan

pytestmark = pytest.mark.timeout(10)

ORIGINAL_MESSAGE = {
    "Config": {"IntervalInSec": 10, "DurationInSec": 600},
    "TestData": [
        {"type": "tc-001", "resource": "text", "request": {"sentence": "The new president ..."},
         "response": {"success": "true", "label": 1}, "interval": 1},
        {"type": "tc-002", "resource": "text", "request": {"sentence": "Baseball ..."},
         "response": {"success": "true", "label": 2}, "interval": 1},
    ],
}


def test_original_message_keeps_the_original_type_dimension() -> None:
    plan = parse_plan(ORIGINAL_MESSAGE)
    assert (plan.interval_sec, plan.duration_sec, plan.rate_per_sec) == (10.0, 600.0, None)
    assert [c.metric_type for c in plan.cases] == ["ApiGateway/tc-001", "ApiGateway/tc-002"]
    assert plan.cases[0].interval_sec == 1.0
    assert json.loads(plan.cases[0].body) == {"sentence": "The new president ..."}
    assert plan.cases[0].expected == {"success": "true", "label": 1}


def test_project_test_cases_use_their_name() -> None:
    base = json.loads((Path(__file__).resolve().parents[3] / "environments" / "base.json").read_text())
    test_cases = base["load_testing"]["test_cases"]
    plan = parse_plan({"Config": {"RatePerSec": 2.5}, "TestData": test_cases})
    assert [c.metric_type for c in plan.cases] == [f"ApiGateway/{c['name']}" for c in test_cases]
    assert plan.cases[0].interval_sec == test_cases[0]["interval_sec"]
    assert plan.rate_per_sec == 2.5


def test_label_falls_back_to_the_index() -> None:
    plan = parse_plan({"TestData": [{"type": "ApiGateway", "request": {}}, {"request": "raw text"}]})
    assert [c.label for c in plan.cases] == ["0", "1"]
    assert plan.cases[1].body == b"raw text"
    assert (plan.interval_sec, plan.duration_sec) == (10.0, 600.0)


def test_sns_event_and_direct_message() -> None:
    event = {"Records": [{"Sns": {"Message": json.dumps(ORIGINAL_MESSAGE)}}]}
    assert message_from_event(event) == ORIGINAL_MESSAGE
    assert message_from_event(ORIGINAL_MESSAGE) is ORIGINAL_MESSAGE


@pytest.mark.parametrize(
    ("message", "where"),
    [
        ({"TestData": []}, "TestData"),
        ({"TestData": [{"request": {}, "response": [1]}]}, r"TestData\[0\]\.response"),
        ({"TestData": [{"request": {}, "interval": -1}]}, r"TestData\[0\]\.interval"),
        ({"TestData": [{"request": {}, "status": 999}]}, r"TestData\[0\]\.status"),
        ({"Config": {"RatePerSec": 0}, "TestData": [{"request": {}}]}, "RatePerSec"),
        ({"Config": {"DurationInSec": "600"}, "TestData": [{"request": {}}]}, "DurationInSec"),
        ({"TestData": [{"name": "a", "request": {}}, {"name": "a", "request": {}}]}, "unique"),
    ],
)
def test_malformed_messages_say_where(message: dict, where: str) -> None:
    with pytest.raises(MessageError, match=where):
        parse_plan(message)


def test_sns_record_with_bad_json() -> None:
    with pytest.raises(MessageError, match="not JSON"):
        message_from_event({"Records": [{"Sns": {"Message": "{oops"}}]})


def test_expected_values_match_strictly() -> None:
    body = {"success": "true", "label": 1, "variant": "model-a", "flag": True}
    assert probe.matches({"success": "true", "label": 1}, body)
    assert probe.matches({}, body)
    assert not probe.matches({"label": 2}, body)
    assert not probe.matches({"missing": 1}, body)
    assert not probe.matches({"label": True}, body)  # JSON true is not 1
    assert not probe.matches({"flag": 1}, body)
    assert not probe.matches({"label": 1}, [body])


def test_passed_needs_the_expected_status() -> None:
    ok = probe.Outcome(200, 5.0, {"label": 1})
    bad = probe.Outcome(400, 5.0, {"label": 1})
    none = probe.Outcome(None, 5.0, None, "timeout")
    assert probe.passed(ok, {"label": 1}, None) and not probe.passed(bad, {"label": 1}, None)
    assert probe.passed(bad, {"label": 1}, 400) and not probe.passed(none, {}, None)


def test_metric_buffer_aggregates_values_and_counts() -> None:
    buffer = cw_metrics.MetricBuffer("text-classification", "local")
    for ms in (10.04, 10.01, 12.5):
        buffer.add("ApiGateway/a", response_ms=ms, status_ok=True, test_ok=ms < 12)
    buffer.add("ApiGateway/a", response_ms=None, status_ok=False, test_ok=False)
    data = {d["MetricName"]: d for d in buffer.drain()}
    assert data["ResponseTime"]["Values"] == [10.0, 12.5] and data["ResponseTime"]["Counts"] == [2.0, 1.0]
    assert data["ResponseTime"]["Unit"] == "Milliseconds"
    assert (data["StatusSuccess"]["Values"], data["StatusSuccess"]["Counts"]) == ([1.0], [3.0])
    assert data["StatusError"]["Counts"] == [1.0] and data["TestSuccess"]["Counts"] == [2.0]
    assert data["TestFail"]["Counts"] == [2.0] and data["TestFail"]["Unit"] == "Count"
    assert data["TestFail"]["Dimensions"] == [{"Name": "Stage", "Value": "local"},
                                              {"Name": "Type", "Value": "ApiGateway/a"}]
    assert buffer.drain() == []  # drained


def test_many_distinct_times_split_into_150_value_data() -> None:
    buffer = cw_metrics.MetricBuffer("ns", "local")
    for i in range(400):
        buffer.add("ApiGateway/a", response_ms=i * 0.5, status_ok=True, test_ok=True)
    times = [d for d in buffer.drain() if d["MetricName"] == "ResponseTime"]
    assert [len(d["Values"]) for d in times] == [150, 150, 100]
    assert sum(sum(d["Counts"]) for d in times) == 400


def test_batches_hold_at_most_1000_data_and_stay_under_1_mb() -> None:
    small = [{"MetricName": "StatusSuccess", "Values": [1.0], "Counts": [1.0]}] * 2500
    assert [len(b) for b in cw_metrics.batches(small)] == [1000, 1000, 500]
    big = [{"MetricName": "ResponseTime", "Values": [1234.5] * 150, "Counts": [17.0] * 150}] * 300
    batches = list(cw_metrics.batches(big))
    assert sum(len(b) for b in batches) == 300 and len(batches) > 1
    # Query-protocol size of a batch (the heaviest encoding botocore may use) stays under 1 MB.
    for batch in batches:
        query_size = sum(len(f"MetricData.member.{n}.Values.member.{m}=1234.5&") * 2
                         for n in range(1, len(batch) + 1) for m in range(1, 151))
        assert query_size < 1_000_000


def test_percentiles_are_nearest_rank() -> None:
    values = sorted(float(v) for v in range(1, 101))
    assert runner.percentile(values, 50) == 50.0
    assert runner.percentile(values, 99) == 99.0
    assert runner.percentile([7.0], 99) == 7.0
    assert runner.percentile([], 50) is None


def test_limits() -> None:
    assert runner.limits_for(600, 900_000, 5, now=100.0) == runner.Limits(700.0, 995.0, "duration")
    assert runner.limits_for(600, 60_000, 5, now=100.0) == runner.Limits(155.0, 155.0, "remaining_time")
    unbounded = runner.limits_for(10, None, 5, now=0.0)
    assert unbounded.send_until == 10 and math.isinf(unbounded.hard_stop)


def test_urls_from_base_or_invoke_url(monkeypatch: pytest.MonkeyPatch) -> None:
    handler = load_handler()
    plan = parse_plan({"TestData": [{"resource": "/text/", "request": {}}, {"name": "x", "request": {}}]})
    text_case, no_resource = plan.cases
    monkeypatch.setenv("METRIC_NAMESPACE", "ns")
    monkeypatch.setenv("STAGE", "demo")
    monkeypatch.setenv("API_URL_BASE", "https://abc.execute-api.us-east-2.amazonaws.com/demo/")
    settings = handler.Settings.from_env()
    assert settings.url_for(text_case) == "https://abc.execute-api.us-east-2.amazonaws.com/demo/text"
    assert settings.url_for(no_resource) == "https://abc.execute-api.us-east-2.amazonaws.com/demo"
    monkeypatch.delenv("API_URL_BASE")
    monkeypatch.setenv("API_INVOKE_URL", "https://abc.execute-api.us-east-2.amazonaws.com/demo/text")
    settings = handler.Settings.from_env()
    assert settings.url_for(text_case) == "https://abc.execute-api.us-east-2.amazonaws.com/demo/text"
    assert settings.url_for(no_resource) == "https://abc.execute-api.us-east-2.amazonaws.com/demo/text"
    nested = parse_plan({"TestData": [{"resource": "v1/other", "request": {}}]}).cases[0]
    monkeypatch.setenv("API_INVOKE_URL", "http://127.0.0.1:4566/restapis/abc/demo/_user_request_/v1/text")
    assert handler.Settings.from_env().url_for(nested) == (
        "http://127.0.0.1:4566/restapis/abc/demo/_user_request_/v1/other")
    monkeypatch.setenv("API_INVOKE_URL", "file:///etc/passwd")
    with pytest.raises(handler.ConfigurationError, match="http"):
        handler.Settings.from_env()
