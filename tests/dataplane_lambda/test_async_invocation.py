"""Event invocations as Lambda's queue runs them: retries of function errors, MaximumEventAgeInSeconds,
destinations (SQS, SNS, Lambda, EventBridge) and dead-letter queues, per qualifier.

In process (``in_process_lambda``) so the waits shrink: Lambda waits 1 then 2 minutes before retries."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from orchestrator.dataplane.lambdas import runtime as runtime_module

from .helpers import InProcessLambda, wait_for

pytestmark = pytest.mark.timeout(60)

ACCOUNT = "123456789012"
# Each run appends its request ID to event["runs"]; "fail" decides between an exception and a result.
# From SNS, the event is the message.
COUNTS_RUNS = """
import json


def handler(event, context):
    if "Records" in event:
        event = json.loads(event["Records"][0]["Sns"]["Message"])
    with open(event["runs"], "a") as runs:
        runs.write(context.aws_request_id + "\\n")
    if event.get("fail"):
        raise ValueError("no good: " + event["fail"])
    return {"ok": event.get("value")}
"""
# A destination function: writes the record it gets where the original event said.
WRITES_RECORD = """
import json
import pathlib


def handler(record, context):
    pathlib.Path(record["requestPayload"]["into"]).write_text(json.dumps(record))
"""


@pytest.fixture(autouse=True)
def short_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runtime_module, "FUNCTION_ERROR_RETRY_WAITS_S", (0.05, 0.1))
    monkeypatch.setattr(runtime_module, "EVENT_RETRY_FIRST_S", 0.1)
    monkeypatch.setattr(runtime_module, "EVENT_RETRY_MAX_S", 0.2)


def _runs(path: Path) -> list[str]:
    return path.read_text().split() if path.exists() else []


def _metric(lam: InProcessLambda, name: str, function: str) -> float:
    buffer = lam.runtime.metrics[(ACCOUNT, "us-east-1")]
    return sum(s.total for (metric, dims), s in buffer._stats.items()
               if metric == name and dict(dims).get("FunctionName") == function)


def _deliver(lam: InProcessLambda, function: str, event: dict[str, Any], **kwargs: Any) -> Any:
    """Queue an Event invocation and wait until the queue is done with it; the last attempt's result."""
    return lam.runtime.submit_event(function, json.dumps(event).encode(), **kwargs).result(timeout=30)


def test_a_failing_event_runs_three_times_and_its_record_goes_to_the_on_failure_queue(
    in_process_lambda: InProcessLambda, tmp_path: Path
) -> None:
    """Default MaximumRetryAttempts (2): three runs with one request ID, each an invocation (Invocations,
    Errors); then the documented record, RetriesExhausted, to the OnFailure queue."""
    lam = in_process_lambda
    lam.create("fails", COUNTS_RUNS)
    url, arn = lam.queue("failures")
    lam.client.put_function_event_invoke_config(FunctionName="fails",
                                                DestinationConfig={"OnFailure": {"Destination": arn}})
    runs = tmp_path / "runs"
    event = {"runs": str(runs), "fail": "always"}
    result = _deliver(lam, "fails", event, request_id="3f1c5e2a-0000-4000-8000-000000000001")

    assert result.status == "error"
    assert _runs(runs) == ["3f1c5e2a-0000-4000-8000-000000000001"] * 3
    assert _metric(lam, "Invocations", "fails") == 3 and _metric(lam, "Errors", "fails") == 3
    [message] = lam.messages(url)
    record = json.loads(message["Body"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", record.pop("timestamp"))
    response = record.pop("responsePayload")
    assert response["errorType"] == "ValueError" and response["errorMessage"] == "no good: always"
    assert record == {
        "version": "1.0",
        "requestContext": {
            "requestId": "3f1c5e2a-0000-4000-8000-000000000001",
            "functionArn": f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:fails:$LATEST",
            "condition": "RetriesExhausted",
            "approximateInvokeCount": 3,
        },
        "requestPayload": event,
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
    }


def test_no_retries_and_the_dead_letter_queue_without_a_destination(
    in_process_lambda: InProcessLambda, tmp_path: Path
) -> None:
    """MaximumRetryAttempts 0: one run. No OnFailure destination: the event itself goes to the function's
    DeadLetterConfig queue, with RequestID, ErrorCode and ErrorMessage attributes."""
    lam = in_process_lambda
    url, arn = lam.queue("dead-letters")
    lam.create("fails-once", COUNTS_RUNS, DeadLetterConfig={"TargetArn": arn})
    lam.client.put_function_event_invoke_config(FunctionName="fails-once", MaximumRetryAttempts=0)
    runs = tmp_path / "runs"
    event = {"runs": str(runs), "fail": "once"}
    result = _deliver(lam, "fails-once", event)

    assert len(_runs(runs)) == 1
    [message] = lam.messages(url)
    assert json.loads(message["Body"]) == event
    attributes = {name: (value["DataType"], value["StringValue"]) for name, value in message["MessageAttributes"].items()}
    assert attributes == {
        "RequestID": ("String", result.request_id),
        "ErrorCode": ("Number", "200"),
        "ErrorMessage": ("String", "no good: once"),
    }


def test_a_held_event_is_discarded_at_its_maximum_event_age(in_process_lambda: InProcessLambda) -> None:
    """Reserved concurrency 0, no failure target: the event is held (Throttles) until
    MaximumEventAgeInSeconds ends the wait; the function never ran."""
    import time

    from moto.awslambda.models import lambda_backends

    lam = in_process_lambda
    lam.create("paused", COUNTS_RUNS)
    lam.client.put_function_concurrency(FunctionName="paused", ReservedConcurrentExecutions=0)
    # The API's minimum is 60 s; the backend takes less, so the test need not wait a minute.
    lambda_backends[ACCOUNT]["us-east-1"].put_function_event_invoke_config("paused", {"MaximumEventAgeInSeconds": 1})
    started = time.monotonic()
    result = _deliver(lam, "paused", {"runs": "/nonexistent"})

    assert result.status == "throttled" and 0.5 < time.monotonic() - started < 5
    assert _metric(lam, "Throttles", "paused") >= 3 and _metric(lam, "Invocations", "paused") == 0


def test_at_reserved_concurrency_zero_an_event_goes_straight_to_the_failure_target(
    in_process_lambda: InProcessLambda,
) -> None:
    """AWS: "When you set reserved concurrency to zero for an asynchronously invoked function, Lambda
    begins sending new events to the configured dead-letter queue or the on-failure event destination,
    without any retries." One throttle, no wait, a record of an event that never ran."""
    import time

    lam = in_process_lambda
    url, arn = lam.queue("paused-failures")
    lam.create("paused-with-target", COUNTS_RUNS)
    lam.client.put_function_concurrency(FunctionName="paused-with-target", ReservedConcurrentExecutions=0)
    lam.client.put_function_event_invoke_config(
        FunctionName="paused-with-target", DestinationConfig={"OnFailure": {"Destination": arn}})
    started = time.monotonic()
    result = _deliver(lam, "paused-with-target", {"runs": "/nonexistent"})

    assert result.status == "throttled" and time.monotonic() - started < 0.5  # no backoff (0.1 s here)
    assert _metric(lam, "Throttles", "paused-with-target") == 1
    record = json.loads(lam.messages(url)[0]["Body"])
    assert record["requestContext"]["condition"] == runtime_module.ZERO_CONCURRENCY_CONDITION
    assert record["requestContext"]["approximateInvokeCount"] == 0
    assert "responseContext" not in record and record["requestPayload"] == {"runs": "/nonexistent"}


def test_a_successful_event_is_recorded_to_the_on_success_queue(
    in_process_lambda: InProcessLambda, tmp_path: Path
) -> None:
    lam = in_process_lambda
    lam.create("works", COUNTS_RUNS)
    url, arn = lam.queue("successes")
    failures_url, failures_arn = lam.queue("unused-failures")
    lam.client.put_function_event_invoke_config(
        FunctionName="works",
        DestinationConfig={"OnSuccess": {"Destination": arn}, "OnFailure": {"Destination": failures_arn}},
    )
    event = {"runs": str(tmp_path / "runs"), "value": 7}
    result = _deliver(lam, "works", event)

    record = json.loads(lam.messages(url)[0]["Body"])
    assert record["requestContext"] == {
        "requestId": result.request_id,
        "functionArn": f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:works:$LATEST",
        "condition": "Success",
        "approximateInvokeCount": 1,
    }
    assert record["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST"}
    assert record["requestPayload"] == event and record["responsePayload"] == {"ok": 7}
    assert not lam.sqs.receive_message(QueueUrl=failures_url).get("Messages")


def test_destinations_sns_topic_and_lambda_function(in_process_lambda: InProcessLambda, tmp_path: Path) -> None:
    """OnFailure to a topic (its SQS subscription gets the record as the Message); OnSuccess to a function
    (invoked asynchronously with the record as its event)."""
    lam = in_process_lambda
    url, queue_arn = lam.queue("topic-copy")
    topic = lam.sns.create_topic(Name="failures")["TopicArn"]
    lam.sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    receiver = lam.create("receiver", WRITES_RECORD)
    lam.create("sender", COUNTS_RUNS)
    lam.client.put_function_event_invoke_config(
        FunctionName="sender", MaximumRetryAttempts=0,
        DestinationConfig={"OnFailure": {"Destination": topic}, "OnSuccess": {"Destination": receiver}},
    )
    received = tmp_path / "received.json"
    _deliver(lam, "sender", {"runs": str(tmp_path / "runs"), "fail": "x"})
    _deliver(lam, "sender", {"runs": str(tmp_path / "runs"), "into": str(received)})

    notification = json.loads(lam.messages(url)[0]["Body"])
    assert notification["TopicArn"] == topic
    assert json.loads(notification["Message"])["requestContext"]["condition"] == "RetriesExhausted"
    wait_for(received.exists, timeout=20, interval=0.05)
    record = json.loads(received.read_text())
    assert record["requestContext"]["condition"] == "Success" and record["responsePayload"] == {"ok": None}


def test_an_event_bus_destination_gets_the_record_as_detail(in_process_lambda: InProcessLambda, tmp_path: Path) -> None:
    import boto3

    lam = in_process_lambda
    events = boto3.client("events")
    bus = events.create_event_bus(Name="results")["EventBusArn"]
    url, queue_arn = lam.queue("bus-copy")
    events.put_rule(Name="all-lambda", EventBusName="results", EventPattern=json.dumps({"source": ["lambda"]}))
    events.put_targets(Rule="all-lambda", EventBusName="results", Targets=[{"Id": "q", "Arn": queue_arn}])
    lam.create("to-bus", COUNTS_RUNS)
    lam.client.put_function_event_invoke_config(FunctionName="to-bus",
                                                DestinationConfig={"OnSuccess": {"Destination": bus}})
    _deliver(lam, "to-bus", {"runs": str(tmp_path / "runs")})

    event = json.loads(lam.messages(url)[0]["Body"])
    assert event["source"] == "lambda" and event["detail-type"] == "Lambda Function Invocation Result - Success"
    assert event["detail"]["requestContext"]["condition"] == "Success"
    assert event["resources"] == [f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:to-bus:$LATEST", bus]


def test_the_configuration_of_the_invoked_qualifier_applies(in_process_lambda: InProcessLambda, tmp_path: Path) -> None:
    """An alias has its own configuration: invoked through it, its retries and destination apply (the
    record names the alias and the version that ran); unqualified, $LATEST's do."""
    lam = in_process_lambda
    lam.create("versioned", COUNTS_RUNS)
    version = lam.client.publish_version(FunctionName="versioned")["Version"]
    lam.client.create_alias(FunctionName="versioned", Name="live", FunctionVersion=version)
    url, arn = lam.queue("live-failures")
    lam.client.put_function_event_invoke_config(FunctionName="versioned", MaximumRetryAttempts=0)
    lam.client.put_function_event_invoke_config(FunctionName="versioned", Qualifier="live", MaximumRetryAttempts=1,
                                                DestinationConfig={"OnFailure": {"Destination": arn}})
    latest_runs, live_runs = tmp_path / "latest", tmp_path / "live"
    _deliver(lam, "versioned", {"runs": str(latest_runs), "fail": "latest"})
    _deliver(lam, "versioned", {"runs": str(live_runs), "fail": "live"}, qualifier="live")

    assert len(_runs(latest_runs)) == 1 and len(_runs(live_runs)) == 2
    [message] = lam.messages(url)
    record = json.loads(message["Body"])
    assert record["requestContext"]["functionArn"].endswith(":function:versioned:live")
    assert record["requestContext"]["approximateInvokeCount"] == 2
    assert record["responseContext"]["executedVersion"] == version


def test_an_sns_delivery_is_an_event_of_the_same_queue(in_process_lambda: InProcessLambda, tmp_path: Path) -> None:
    """A message for a function's SNS subscription is retried and recorded like any Event invocation."""
    from orchestrator.dataplane.lambdas.sns_delivery import SnsDelivery
    from orchestrator.embedded.events import Event

    lam = in_process_lambda
    function_arn = lam.create("from-sns", COUNTS_RUNS)
    url, arn = lam.queue("sns-failures")
    lam.client.put_function_event_invoke_config(FunctionName="from-sns", MaximumRetryAttempts=1,
                                                DestinationConfig={"OnFailure": {"Destination": arn}})
    topic = lam.sns.create_topic(Name="triggers")["TopicArn"]
    lam.sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=function_arn)
    # The service's event bus sends this after moto's Publish; published here directly (no bus in process).
    runs = tmp_path / "runs"
    message = json.dumps({"runs": str(runs), "fail": "from sns"})
    SnsDelivery(lam.runtime)(Event("sns.message.published", ACCOUNT, "us-east-1",
                                   {"topic_arn": topic, "message_id": "m-1", "message": message}))

    record = json.loads(lam.messages(url)[0]["Body"])
    assert len(_runs(runs)) == 2 and record["requestContext"]["approximateInvokeCount"] == 2
    [sns_record] = record["requestPayload"]["Records"]
    assert sns_record["EventSource"] == "aws:sns" and sns_record["Sns"]["Message"] == message


def test_an_undeliverable_record_is_logged_and_counted(
    in_process_lambda: InProcessLambda, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A destination or dead-letter queue that does not exist: logged, DestinationDeliveryFailures /
    DeadLetterErrors counted, and the runtime goes on serving."""
    lam = in_process_lambda
    missing = f"arn:aws:sqs:us-east-1:{ACCOUNT}:no-such-queue"
    lam.create("lost", COUNTS_RUNS, DeadLetterConfig={"TargetArn": missing})
    lam.create("lost-record", COUNTS_RUNS)
    lam.client.put_function_event_invoke_config(FunctionName="lost", MaximumRetryAttempts=0)
    lam.client.put_function_event_invoke_config(FunctionName="lost-record", MaximumRetryAttempts=0,
                                                DestinationConfig={"OnFailure": {"Destination": missing}})
    event = {"runs": str(tmp_path / "runs"), "fail": "x"}
    _deliver(lam, "lost", event)
    _deliver(lam, "lost-record", event)

    assert _metric(lam, "DeadLetterErrors", "lost") == 1
    assert _metric(lam, "DestinationDeliveryFailures", "lost-record") == 1
    assert sum("not delivered" in r.getMessage() and "no-such-queue" in r.getMessage() for r in caplog.records) == 2
    assert _deliver(lam, "lost", {"runs": str(tmp_path / "runs")}).status == "ok"
