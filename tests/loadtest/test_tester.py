"""trigger-tests and test-results (and load-test --publish-metrics) against moto on loopback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from orchestrator.cli import main
from orchestrator.config import Environment

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def moto_env(local_env_on_moto: Any) -> Environment:
    """The local environment, its embedded control plane replaced by a ThreadedMotoServer."""
    return local_env_on_moto.used_by("commands.trigger_tests", "commands.test_results", "loadtest.run")


def _client(env: Environment, service: str):
    return boto3.client(
        service,
        region_name=env.region,
        endpoint_url=f"http://127.0.0.1:{env.control_plane_port}",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def test_trigger_tests_publishes_the_original_message(moto_env: Environment, tmp_path: Path, capsys) -> None:
    sns, sqs, ssm = (_client(moto_env, s) for s in ("sns", "sqs", "ssm"))
    topic = sns.create_topic(Name="text-classification-local-test-trigger")["TopicArn"]
    queue = sqs.create_queue(QueueName="tester")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)

    assert main(["trigger-tests", "--env", "local"]) == 1  # the topic is not published yet
    assert "trigger_topic_arn is not published" in capsys.readouterr().err
    ssm.put_parameter(Name=f"{moto_env.ssm_prefix}/load-testing/trigger_topic_arn", Value=topic, Type="String")

    assert main(["trigger-tests", "--env", "local"]) == 0
    messages = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1).get("Messages", [])
    assert len(messages) == 1
    message = json.loads(json.loads(messages[0]["Body"])["Message"])
    assert message["Config"] == {"IntervalInSec": 10, "DurationInSec": 600}
    assert [c["name"] for c in message["TestData"]] == ["world", "sports", "business", "scitech"]
    first = message["TestData"][0]
    assert set(first) >= {"type", "resource", "request", "response", "interval"}
    assert first["response"] == {"success": "true", "label": 1}

    custom = tmp_path / "m.json"
    custom.write_text(
        json.dumps({"Config": {"IntervalInSec": 1, "DurationInSec": 5}, "TestData": [{"request": {"sentence": "x"}}]})
    )
    assert main(["trigger-tests", "--env", "local", "--message", str(custom)]) == 0
    got = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1)["Messages"]
    assert json.loads(json.loads(got[0]["Body"])["Message"])["Config"]["DurationInSec"] == 5
    custom.write_text(json.dumps({"Config": {}, "TestData": []}))
    assert main(["trigger-tests", "--env", "local", "--message", str(custom)]) == 2


def test_published_run_reads_back_as_the_tester_dashboard_view(
    moto_env: Environment, fake_server, tmp_path: Path, capsys
) -> None:
    url = fake_server("fixed")
    assert (
        main(
            [
                "load-test",
                "--env",
                "local",
                "--url",
                f"{url}/text",
                "--rate",
                "100",
                "--duration",
                "1",
                "--warmup",
                "0.2",
                "--out",
                str(tmp_path / "o"),
                "--quiet",
                "--no-report",
                "--publish-metrics",
            ]
        )
        == 0
    )
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert "published to CloudWatch namespace text-classification" in capsys.readouterr().out

    assert main(["test-results", "--env", "local", "--since", "10m", "--json"]) == 0
    views = {v["type"]: v for v in json.loads(capsys.readouterr().out)}
    assert set(views) == {f"ApiGateway/{c}" for c in ("world", "sports", "business", "scitech")}
    for name, case in summary["cases"].items():
        view = views[f"ApiGateway/{name}"]
        assert view["count"] == case["count"] > 0
        assert view["sums"]["StatusSuccess"] == case["success"]
        assert view["sums"]["StatusError"] == 0
        assert view["sums"]["TestSuccess"] + view["sums"]["TestFail"] == case["count"]
        assert view["average_ms"] is not None and view["average_ms"] >= 0

    assert main(["test-results", "--env", "local"]) == 0
    table = capsys.readouterr().out
    assert "ApiGateway/world" in table and "StatusSuccess" in table
