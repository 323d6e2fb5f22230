"""Report files of a run: summary.json, report.html and the PNG figures it embeds.

The HTML is self-contained (figures inlined as base64 data URIs); the same PNGs are written beside
it for slides and tickets.
"""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from orchestrator.loadtest.summary import render_text

FIGURES = ("latency_over_time.png", "latency_distribution.png", "variants.png")


def write_summary(summary: dict[str, Any], out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "summary.json"
    path.write_text(json.dumps(summary, indent=2) + "\n")
    return path


def write_report(summary: dict[str, Any], out_dir: Path, title: str = "Load test") -> dict[str, Path]:
    """Write summary.json, the figures and report.html into ``out_dir``; returns their paths."""
    paths = {"summary": write_summary(summary, out_dir), "html": out_dir / "report.html"}
    figures = {
        "latency_over_time.png": _latency_over_time(summary),
        "latency_distribution.png": _distribution(summary),
        "variants.png": _variants(summary),
    }
    for name, fig in figures.items():
        path = out_dir / name
        fig.savefig(path, dpi=90)
        plt.close(fig)
        paths[name] = path
    paths["html"].write_text(_html(summary, title, {n: paths[n] for n in figures}))
    return paths


def _latency_over_time(s: dict[str, Any]) -> Figure:
    rows = s["timeline"]
    fig, ax = plt.subplots(figsize=(10, 4))
    x = [r["second"] for r in rows]
    ax.plot(x, [r["p50_ms"] for r in rows], label="p50", marker=".")
    ax.plot(x, [r["p99_ms"] for r in rows], label="p99", marker=".")
    ax.plot(x, [r["max_ms"] for r in rows], label="max", alpha=0.4, linestyle=":")
    ax.set_xlabel("second of the run (by intended send time)")
    ax.set_ylabel("latency (ms)")
    ax.set_title(f"Latency per second at {s['target_rate']:g} req/s target")
    ax.grid(alpha=0.3)
    ax2 = ax.twinx()
    ax2.bar(x, [r["sent"] for r in rows], alpha=0.12, color="grey", label="sent/s")
    bad = [(r["second"], r["errors"] + r["drops"]) for r in rows if r["errors"] + r["drops"]]
    if bad:
        ax2.bar([b[0] for b in bad], [b[1] for b in bad], alpha=0.5, color="red", label="errors+drops/s")
    ax2.set_ylabel("requests / s")
    lines, labels = ax.get_legend_handles_labels()
    lines2, labels2 = ax2.get_legend_handles_labels()
    ax.legend(lines + lines2, labels + labels2, loc="upper left", fontsize="small")
    fig.tight_layout()
    return fig


def _distribution(s: dict[str, Any]) -> Figure:
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4))
    buckets = s["latency_histogram"]
    if buckets:
        left.bar(range(len(buckets)), [b["count"] for b in buckets], width=0.9)
        step = max(1, len(buckets) // 10)
        left.set_xticks(range(0, len(buckets), step))
        left.set_xticklabels([f"{buckets[i]['le_ms']:.3g}" for i in range(0, len(buckets), step)], rotation=45)
    left.set_xlabel("latency ≤ (ms, log buckets)")
    left.set_ylabel("requests")
    left.set_title("Latency histogram")
    curve = [p for p in s["percentile_distribution"] if p["percentile"] < 100]
    if curve:
        xs = [1 / (1 - p["percentile"] / 100) for p in curve]
        right.plot(xs, [p["latency_ms"] for p in curve])
        right.set_xscale("log")
        ticks = [1, 2, 10, 100, 1000, 10000]
        right.set_xticks(ticks)
        right.set_xticklabels(["0%", "50%", "90%", "99%", "99.9%", "99.99%"])
    right.set_xlabel("percentile")
    right.set_ylabel("latency (ms)")
    right.set_title("Percentile distribution")
    right.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def _variants(s: dict[str, Any]) -> Figure:
    variants = s["variants"]
    names = list(variants)
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4))
    width = 0.2
    for k, key in enumerate(("p50", "p90", "p99", "p99_9")):
        left.bar(
            [i + (k - 1.5) * width for i in range(len(names))],
            [variants[n]["latency_ms"][key] for n in names],
            width,
            label=key.replace("_", "."),
        )
    left.set_xticks(range(len(names)))
    left.set_xticklabels(names)
    left.set_ylabel("latency (ms)")
    left.set_title("Latency by variant")
    left.legend(fontsize="small")
    labels = sorted({lab for n in names for lab in variants[n]["labels"]})
    bottom = [0.0] * len(names)
    for lab in labels:
        shares = []
        for n in names:
            total = sum(variants[n]["labels"].values()) or 1
            shares.append(variants[n]["labels"].get(lab, 0) * 100 / total)
        right.bar(names, shares, bottom=bottom, label=f"label {lab}")
        bottom = [b + v for b, v in zip(bottom, shares)]
    right.set_ylabel("% of responses")
    right.set_title("Label distribution by variant")
    if labels:
        right.legend(fontsize="small")
    fig.tight_layout()
    return fig


def _img(path: Path, alt: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode()
    return (
        f'<figure><img src="data:image/png;base64,{data}" alt="{html.escape(alt)}" '
        f'data-file="{html.escape(path.name)}"><figcaption>{html.escape(alt)} '
        f'(<a href="{html.escape(path.name)}">{html.escape(path.name)}</a>)</figcaption></figure>'
    )


def _html(s: dict[str, Any], title: str, figures: dict[str, Path]) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(n)}</td><td>{v['count']}</td><td>{v['latency_ms']['p50']:.2f}</td>"
        f"<td>{v['latency_ms']['p90']:.2f}</td><td>{v['latency_ms']['p99']:.2f}</td>"
        f"<td>{v['latency_ms']['p99_9']:.2f}</td><td>{v['latency_ms']['max']:.2f}</td><td>{v['errors']}</td>"
        f"<td>{html.escape(json.dumps(v['labels']))}</td></tr>"
        for n, v in s["variants"].items()
    )
    warnings = "".join(f'<p class="warn">{html.escape(w)}</p>' for w in s["warnings"])
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; max-width: 1200px; }}
table {{ border-collapse: collapse; }} td, th {{ border: 1px solid #ccc; padding: 4px 8px; text-align: right; }}
td:first-child, th:first-child {{ text-align: left; }} .warn {{ color: #b00; font-weight: bold; }}
img {{ max-width: 100%; }} pre {{ background: #f6f6f6; padding: 1em; overflow-x: auto; }}
</style></head><body>
<h1>{html.escape(title)}</h1>
<p>Started {html.escape(s["started_at"])}; {html.escape(s["target"]["kind"])} target
<code>{html.escape(s["target"]["url"])}</code>. Latency is measured from each request's intended send time
(open loop, no coordinated omission).</p>
{warnings}
<pre>{html.escape(render_text(s))}</pre>
<h2>Variants</h2>
<table><tr><th>variant</th><th>count</th><th>p50 ms</th><th>p90 ms</th><th>p99 ms</th><th>p99.9 ms</th>
<th>max ms</th><th>errors</th><th>labels</th></tr>{rows}</table>
<h2>Latency over time</h2>{_img(figures["latency_over_time.png"], "p50/p99/max latency per second")}
<h2>Latency distribution</h2>{_img(figures["latency_distribution.png"], "latency histogram and percentiles")}
<h2>A/B comparison</h2>{_img(figures["variants.png"], "latency and label distribution per variant")}
<p>Raw figures: <a href="summary.json">summary.json</a></p>
</body></html>
"""
