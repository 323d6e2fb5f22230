"""The CLI path end to end against a local server: summary.json (schema), report.html + PNGs."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import jsonschema
import pytest

from orchestrator.cli import main

pytestmark = pytest.mark.timeout(60)

PCT = {
    "type": "object",
    "required": ["p50", "p90", "p99", "p99_9", "max", "mean", "min"],
    "additionalProperties": False,
    "properties": {k: {"type": "number", "minimum": 0} for k in ["p50", "p90", "p99", "p99_9", "max", "mean", "min"]},
}
GROUP = {
    "type": "object",
    "required": ["count", "success", "errors", "test_success", "test_fail", "latency_ms", "labels", "statuses"],
    "properties": {"latency_ms": PCT, "labels": {"type": "object", "additionalProperties": {"type": "integer"}}},
}
SUMMARY_SCHEMA = {
    "type": "object",
    "required": [
        "schema",
        "started_at",
        "target",
        "config",
        "elapsed_s",
        "target_rate",
        "achieved_rate",
        "completed_rate",
        "requests",
        "error_rate",
        "latency_ms",
        "errors_by_status",
        "statuses",
        "send_lag_ms",
        "generator_behind",
        "warnings",
        "variants",
        "cases",
        "timeline",
        "latency_histogram",
        "percentile_distribution",
    ],
    "properties": {
        "schema": {"const": "loadtest-summary/1"},
        "requests": {
            "type": "object",
            "required": ["scheduled", "sent", "completed", "success", "errors", "timeouts", "drops"],
            "additionalProperties": {"type": "integer", "minimum": 0},
        },
        "latency_ms": PCT,
        "send_lag_ms": PCT,
        "errors_by_status": {"type": "object", "additionalProperties": {"type": "integer"}},
        "variants": {"type": "object", "minProperties": 1, "additionalProperties": GROUP},
        "cases": {"type": "object", "minProperties": 1, "additionalProperties": GROUP},
        "timeline": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["second", "sent", "completed", "errors", "drops", "p50_ms", "p99_ms"],
            },
        },
        "generator_behind": {"type": "boolean"},
    },
}


def test_cli_run_writes_summary_and_self_contained_report(
    fake_server, tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = fake_server("fixed")
    cases = tmp_path / "cases.json"
    cases.write_text(
        json.dumps(
            {
                "TestData": [
                    {"name": "world", "request": {"sentence": "a"}, "response": {"success": "true"}},
                    {"name": "sports", "request": {"sentence": "b"}, "response": {"success": "false"}},
                ]
            }
        )
    )
    monkeypatch.setenv("LT_KEY", "secret-key")
    out = tmp_path / "out"
    code = main(
        [
            "load-test",
            "--env",
            "local",
            "--url",
            f"{url}/text",
            "--api-key-env",
            "LT_KEY",
            "--cases",
            str(cases),
            "--rate",
            "200",
            "--duration",
            "2",
            "--warmup",
            "0.5",
            "--arrival",
            "poisson",
            "--seed",
            "3",
            "--out",
            str(out),
            "--quiet",
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "model-a" in printed and "model-b" in printed and "p99" in printed

    summary = json.loads((out / "summary.json").read_text())
    jsonschema.validate(summary, SUMMARY_SCHEMA)
    assert summary["requests"]["success"] == summary["requests"]["completed"] > 300
    assert set(summary["variants"]) == {"model-a", "model-b"}
    share_a = summary["variants"]["model-a"]["count"] / summary["requests"]["completed"]
    assert share_a == pytest.approx(0.75, abs=0.02)  # the fake server's 3:1 split
    labels_b = summary["variants"]["model-b"]["labels"]
    assert set(labels_b) == {"1", "2", "3", "4"} and sum(labels_b.values()) == summary["variants"]["model-b"]["count"]
    # expected response checks per case (TestSuccess / TestFail)
    assert summary["cases"]["world"]["test_fail"] == 0
    assert summary["cases"]["sports"]["test_success"] == 0

    html = (out / "report.html").read_text()
    for name in ("latency_over_time.png", "latency_distribution.png", "variants.png"):
        png = out / name
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f'href="{name}"' in html
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    assert len(images) == 3
    assert all(base64.b64decode(i)[:4] == b"\x89PNG" for i in images)
    assert "secret-key" not in html and "secret-key" not in (out / "summary.json").read_text()


def test_usage_errors_exit_2_without_traceback(capsys) -> None:
    assert main(["load-test", "--env", "local", "--url", "http://127.0.0.1:9/x"]) == 2
    assert "--rate is required" in capsys.readouterr().err
    assert main(["load-test", "--env", "local", "--find-max"]) == 2
    assert "--slo-p99" in capsys.readouterr().err
    assert main(["load-test", "--env", "local", "--rate", "5", "--url", "ftp://x/y", "--quiet"]) == 2
