"""`orchestrator dashboard`: the dashboard body's widgets and lines, their data, the PNG."""

from __future__ import annotations

import datetime as dt
import json
import struct
from pathlib import Path
from typing import Any

import boto3
import pytest

from orchestrator.cli import main
from orchestrator.config import Environment
from orchestrator.dashboards.metric_data import Series
from orchestrator.dashboards.render import render
from orchestrator.dashboards.widgets import DashboardBodyError, MetricLine, parse_body
from orchestrator.embedded import moto_compat

DIMS = ["EndpointName", "ep", "VariantName", "model-a"]


def test_lines_with_shorthands_options_and_widget_defaults() -> None:
    [widget, text] = parse_body({"widgets": [
        {"type": "metric", "x": 12, "y": 6, "width": 12, "height": 6, "properties": {
            "title": "latency", "stat": "Average", "period": 60, "metrics": [
                ["AWS/SageMaker", "ModelLatency", *DIMS],
                ["...", {"stat": "p99", "label": "ModelLatency p99"}],
                [".", "OverheadLatency", ".", ".", ".", "."],
                [{"expression": "m1 / 1000", "label": "ms", "id": "e1"}],
            ]}},
        {"type": "text", "x": 0, "y": 0, "width": 24, "height": 2, "properties": {"markdown": "# Notes"}},
    ]})
    assert (widget.x, widget.y, widget.width, widget.height, widget.title) == (12, 6, 12, 6, "latency")
    plain, p99, overhead, expression = widget.lines
    assert (plain.namespace, plain.name, plain.stat, plain.period, plain.label) == ("AWS/SageMaker", "ModelLatency", "Average", 60, "ModelLatency")
    assert plain.dimensions == (("EndpointName", "ep"), ("VariantName", "model-a"))
    assert (p99.name, p99.stat, p99.label, p99.dimensions) == ("ModelLatency", "p99", "ModelLatency p99", plain.dimensions)
    assert (overhead.name, overhead.dimensions) == ("OverheadLatency", plain.dimensions)
    assert expression.expression == "m1 / 1000" and not expression.fetchable
    assert text.kind == "text" and text.markdown == "# Notes"


@pytest.mark.parametrize(("metrics", "message"), [
    ([["...", "x"]], "'...' needs a previous line"),
    ([["AWS/X"]], "expected [namespace, metric name"),
    ([["AWS/X", "M", "OnlyAName"]], "expected [namespace, metric name"),
])
def test_bad_lines_name_widget_and_line(metrics: list[Any], message: str) -> None:
    with pytest.raises(DashboardBodyError, match=r"widget 1, metric 1: .*" + message.replace("[", r"\[").replace(".", r"\.")):
        parse_body({"widgets": [{"type": "metric", "properties": {"metrics": metrics}}]})


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_render_lays_widgets_on_the_grid(tmp_path: Path) -> None:
    widgets = parse_body({"widgets": [
        {"type": "metric", "x": x, "y": y, "width": 12, "height": 6, "properties": {
            "title": f"w{x}{y}", "view": "singleValue" if y else "timeSeries", "metrics": [["N", "M", "D", str(x)]]}}
        for x in (0, 12) for y in (0, 6)]})
    start = dt.datetime(2026, 11, 26, 8, 0, tzinfo=dt.UTC)
    data = {w.lines[0]: Series(tuple(start + dt.timedelta(minutes=i) for i in range(10)), tuple(float(i) for i in range(10)))
            for w in widgets[:3]}
    out = render(widgets, data, "demo", start, start + dt.timedelta(minutes=10), tmp_path / "d.png")
    width, height = png_size(out)
    assert width == 24 * 0.75 * 80 and height > 12 * 0.75 * 80  # 24 columns, 12 rows (+ the title)


@pytest.fixture
def moto_env(local_env_on_moto: Any) -> Environment:
    """The local environment on a moto server in this process, with the CloudWatch statistics patch."""
    moto_compat.apply(moto_compat.patch_cloudwatch_statistics)
    return local_env_on_moto.used_by("commands.dashboard")


def test_command_draws_the_monitor_dashboard_with_percentiles(moto_env: Environment, tmp_path: Path, capsys: Any) -> None:
    cw = boto3.client("cloudwatch", region_name=moto_env.region, endpoint_url=f"http://127.0.0.1:{moto_env.control_plane_port}",
                      aws_access_key_id="t", aws_secret_access_key="t")
    name = "text-classification-local-monitor"
    cw.put_dashboard(DashboardName=name, DashboardBody=json.dumps({"widgets": [
        {"type": "metric", "x": 0, "y": 0, "width": 12, "height": 6, "properties": {
            "title": "Variant model-a latency", "stat": "Average", "period": 60, "metrics": [
                ["AWS/SageMaker", "ModelLatency", *DIMS],
                ["...", {"stat": "p99", "label": "ModelLatency p99"}],
                ["AWS/SageMaker", "OverheadLatency", *DIMS]]}}]}))
    now = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    cw.put_metric_data(Namespace="AWS/SageMaker", MetricData=[
        {"MetricName": "ModelLatency", "Timestamp": now - dt.timedelta(minutes=m), "Unit": "Microseconds",
         "Dimensions": [{"Name": k, "Value": v} for k, v in zip(DIMS[::2], DIMS[1::2])],
         "Values": [1000.0, 90000.0], "Counts": [99.0, 1.0 + m]} for m in (1, 2, 3)])

    out = tmp_path / "monitor.png"
    assert main(["dashboard", "--env", "local", "--since", "1h", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "ModelLatency (Average): 3 points" in printed
    assert "ModelLatency p99 (p99): 3 points, newest 90000" in printed
    assert "OverheadLatency (Average): no data" in printed
    assert png_size(out)[0] > 0

    assert main(["dashboard", "--env", "local", "--name", "nope", "--out", str(out)]) == 1
    assert "no dashboard 'nope'" in capsys.readouterr().out


def test_metric_line_is_hashable_and_fetchable() -> None:
    line = MetricLine("N", "M", (), "Sum", 60, "M")
    assert {line: 1}[MetricLine("N", "M", (), "Sum", 60, "M")] == 1 and line.fetchable
