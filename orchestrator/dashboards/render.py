"""A dashboard drawn as one PNG, laid out as CloudWatch lays it out (24 columns, rows of widget units).

``metric`` widgets: ``timeSeries`` as lines (one per metric line, labelled as on the console),
``singleValue`` as the newest value of each line; a line without data says so in its legend. ``text``
widgets show their markdown as plain text. Other kinds (alarm, log ...) get a box naming the kind.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates
import matplotlib.pyplot as plt

from orchestrator.dashboards.metric_data import Series
from orchestrator.dashboards.widgets import GRID_COLUMNS, MetricLine, Widget

UNIT_INCHES = 0.75  # one grid unit, both ways


def _number(value: float) -> str:
    if abs(value) >= 100 or value == int(value):
        return f"{value:,.0f}"
    return f"{value:,.3g}"


def render(widgets: list[Widget], data: dict[MetricLine, Series], title: str, start: dt.datetime,
           end: dt.datetime, out: Path) -> Path:
    rows = max((w.y + w.height for w in widgets), default=1)
    fig = plt.figure(figsize=(GRID_COLUMNS * UNIT_INCHES, rows * UNIT_INCHES + 0.8))
    fig.suptitle(f"{title}   {start:%Y-%m-%d %H:%M} - {end:%H:%M} UTC", fontsize=13, x=0.01, ha="left")
    top = 1 - 0.8 / (rows * UNIT_INCHES + 0.8)
    for w in widgets:
        # axes box in figure fractions, with a margin for titles and tick labels
        left = w.x / GRID_COLUMNS + 0.035
        width = w.width / GRID_COLUMNS - 0.05
        height = (w.height / rows) * top - 0.35 / (rows * UNIT_INCHES + 0.8) * 2.2
        bottom = top - (w.y + w.height) / rows * top + 0.45 / (rows * UNIT_INCHES + 0.8)
        ax = fig.add_axes((left, bottom, max(width, 0.01), max(height, 0.01)))
        ax.set_title(w.title, fontsize=9, loc="left")
        if w.kind == "metric" and w.view == "singleValue":
            _single_value(ax, w, data)
        elif w.kind == "metric":
            _time_series(ax, w, data, start, end)
        else:
            ax.axis("off")
            text = w.markdown if w.kind == "text" else f"({w.kind} widget: not drawn here)"
            ax.text(0, 1, text, va="top", ha="left", fontsize=8, wrap=True, transform=ax.transAxes)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=80)
    plt.close(fig)
    return out


def _time_series(ax: plt.Axes, w: Widget, data: dict[MetricLine, Series], start: dt.datetime, end: dt.datetime) -> None:
    # A date axis (ticks at whole minutes or hours), as plotting datetimes would make it; matplotlib's stubs
    # take numbers, so the datetimes go in as date numbers.
    ax.xaxis_date(start.tzinfo)
    drawn = False
    for line in w.lines:
        series = data.get(line)
        if line.expression is not None:
            ax.plot([], [], label=f"{line.label} (expression: not drawn)")
        elif series is None or not series.values:
            ax.plot([], [], label=f"{line.label} (no data)")
        else:
            marker = "o" if len(series.values) < 4 else None
            ax.plot(mdates.date2num(series.timestamps), series.values, label=line.label, marker=marker, markersize=3,
                    linewidth=1.2)
            drawn = True
    ax.set_xlim(mdates.date2num(start), mdates.date2num(end))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M"))
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3)
    values = [v for line in w.lines if line in data for v in data[line].values]
    if not drawn:
        ax.set_yticks([])
        ax.text(0.5, 0.5, "no data in this window", ha="center", va="center", fontsize=9, color="grey",
                transform=ax.transAxes)
    elif min(values) >= 0:
        ax.set_ylim(bottom=0)
    if w.lines:
        ax.legend(fontsize=6, loc="upper left", frameon=False)


def _single_value(ax: plt.Axes, w: Widget, data: dict[MetricLine, Series]) -> None:
    ax.axis("off")
    for i, line in enumerate(w.lines):
        series = data.get(line)
        value = _number(series.values[-1]) if series and series.values else "-"
        ax.text(i / max(1, len(w.lines)), 0.5, f"{value}\n{line.label}", fontsize=10, va="center", ha="left",
                transform=ax.transAxes)
