"""A CloudWatch dashboard body (the JSON of ``PutDashboard``) read into widgets and metric lines.

Follows the dashboard body structure AWS documents: widgets with ``type``, ``x``/``y``/``width``/
``height`` on a 24-column grid, and for ``metric`` widgets ``properties.metrics``: one array per line,
``[namespace, metric name, dim name, dim value, ..., {rendering options}]``, where ``"..."`` repeats
the previous line's namespace, name and dimensions and ``"."`` repeats the previous line's item at the
same position. A line's ``stat``, ``period`` and ``label`` come from its options, else the widget's
properties (``stat`` defaults to ``Average``, ``period`` to 300). Math ``expression`` lines and
``visible: false`` lines are kept but not fetched.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

GRID_COLUMNS = 24
DEFAULT_STAT = "Average"
DEFAULT_PERIOD = 300


class DashboardBodyError(ValueError):
    """The dashboard body is not what CloudWatch accepts (the message names the widget and line)."""


@dataclass(frozen=True)
class MetricLine:
    namespace: str
    name: str
    dimensions: tuple[tuple[str, str], ...]
    stat: str
    period: int
    label: str
    expression: str | None = None
    visible: bool = True

    @property
    def fetchable(self) -> bool:
        return self.expression is None and self.visible


@dataclass(frozen=True)
class Widget:
    kind: str  # metric, text, alarm, log ...
    x: int
    y: int
    width: int
    height: int
    title: str
    view: str = "timeSeries"
    lines: tuple[MetricLine, ...] = ()
    markdown: str = ""
    properties: dict[str, Any] = field(default_factory=dict)


def _line(widget_index: int, line_index: int, raw: Any, previous: list[Any] | None, props: dict[str, Any]) -> tuple[MetricLine, list[Any]]:
    where = f"widget {widget_index + 1}, metric {line_index + 1}"
    if not isinstance(raw, list) or not raw:
        raise DashboardBodyError(f"{where}: a metric line is a non-empty array")
    options: dict[str, Any] = raw[-1] if isinstance(raw[-1], dict) else {}
    items = list(raw[:-1] if options else raw)
    if "expression" in options:
        label = str(options.get("label") or options.get("id") or options["expression"])
        return MetricLine("", "", (), "", int(options.get("period") or props.get("period") or DEFAULT_PERIOD), label,
                          expression=str(options["expression"]), visible=options.get("visible", True) is not False), items
    if items and items[0] == "...":
        if previous is None:
            raise DashboardBodyError(f"{where}: '...' needs a previous line")
        items = previous + items[1:]
    resolved = []
    for i, item in enumerate(items):
        if item == ".":
            if previous is None or i >= len(previous):
                raise DashboardBodyError(f"{where}: '.' at position {i + 1} has nothing to repeat")
            item = previous[i]
        resolved.append(str(item))
    if len(resolved) < 2 or len(resolved) % 2:
        raise DashboardBodyError(f"{where}: expected [namespace, metric name, (dimension name, value)...]")
    dims = tuple(zip(resolved[2::2], resolved[3::2]))
    stat = str(options.get("stat") or props.get("stat") or DEFAULT_STAT)
    period = int(options.get("period") or props.get("period") or DEFAULT_PERIOD)
    label = str(options.get("label") or resolved[1])
    return MetricLine(resolved[0], resolved[1], dims, stat, period, label,
                      visible=options.get("visible", True) is not False), resolved


def parse_body(body: dict[str, Any] | str) -> list[Widget]:
    """The widgets of a dashboard body, in the body's order."""
    import json

    data = json.loads(body) if isinstance(body, str) else body
    widgets = []
    for w_index, raw in enumerate(data.get("widgets") or []):
        props = dict(raw.get("properties") or {})
        kind = str(raw.get("type") or "metric")
        lines: list[MetricLine] = []
        previous: list[Any] | None = None
        if kind == "metric":
            for l_index, item in enumerate(props.get("metrics") or []):
                line, resolved = _line(w_index, l_index, item, previous, props)
                lines.append(line)
                if line.expression is None:
                    previous = resolved
        widgets.append(Widget(
            kind=kind,
            x=int(raw.get("x") or 0), y=int(raw.get("y") or 0),
            width=int(raw.get("width") or 6), height=int(raw.get("height") or 6),
            title=str(props.get("title") or ""),
            view=str(props.get("view") or "timeSeries"),
            lines=tuple(lines),
            markdown=str(props.get("markdown") or ""),
            properties=props,
        ))
    return widgets
