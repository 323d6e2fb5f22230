"""``orchestrator local status`` lists the local data plane's endpoints from the health document."""

from __future__ import annotations

from orchestrator.commands.local import _endpoint_lines

HOSTING = {
    "ok": True, "runtime_url": "http://127.0.0.1:5001", "pid": 42,
    "endpoints": {
        "ep": {"status": "InService", "config_name": "ep-cfg", "failure_reason": None, "variants": [
            {"name": "model-a", "model": "model-a", "weight": 3.0, "healthy": True,
             "instances": [{"pids": [101, 102], "workers": 2, "healthy_workers": 2, "restarts": 1, "queued": 0,
                            "container_url": "http://127.0.0.1:40001"}]},
            {"name": "model-b", "model": "model-b", "weight": 1.0, "healthy": False,
             "instances": [{"pids": [201], "workers": 2, "healthy_workers": 1, "restarts": 0, "queued": 3}]},
        ]},
        "bad": {"status": "Failed", "config_name": "bad-cfg", "failure_reason": "model broken: boom", "variants": []},
    },
}


def test_endpoints_variants_instances_pids_and_health() -> None:
    text = "\n".join(_endpoint_lines(HOSTING))
    assert "runtime:    http://127.0.0.1:5001 (data plane pid 42)" in text
    assert "ep  InService  (config ep-cfg)" in text and "bad  Failed" in text and "failure: model broken: boom" in text
    assert "variant model-a: model model-a, weight 3.0, 1 instance(s), healthy" in text
    assert "variant model-b" in text and "DEGRADED" in text
    assert "instance 1: 2/2 workers up, pids 101, 102, restarts 1" in text
    assert "instance 1: 1/2 workers up, pids 201, restarts 0, queued 3" in text
    assert "container: http://127.0.0.1:40001 (GET /ping, POST /invocations)" in text
    assert text.count("container:") == 1  # an instance without a port (older data plane) prints none


def test_no_component_no_endpoints_or_unknown() -> None:
    assert _endpoint_lines(None) == []
    assert _endpoint_lines({"runtime_url": "u", "pid": 1, "endpoints": {}})[-1] == "  endpoints:  none"
    assert "unknown (TimeoutError" in _endpoint_lines({"endpoints_error": "TimeoutError: slow"})[0]


def test_monitoring_lines_show_alarms_by_state_and_the_outbox() -> None:
    from orchestrator.commands.local import _monitoring_lines

    health = {"ok": True, "emails_written": 2, "email_outbox": "/s/sns-email",
              "alarms": {"states": {"ALARM": ["api-5xx"], "OK": ["a", "b"]}}}
    assert _monitoring_lines(health) == [
        "  alarms:     1 ALARM, 2 OK", "    in ALARM: api-5xx", "  e-mail:     2 written to /s/sns-email"]
    assert _monitoring_lines(None) == [] and _monitoring_lines({"ok": False}) == []
