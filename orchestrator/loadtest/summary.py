"""The figures of a run as plain data (summary.json) and as the printed table."""

from __future__ import annotations

import datetime as dt
from typing import Any

from orchestrator.loadtest.engine import RunResult
from orchestrator.loadtest.recorder import log_buckets, percentiles_ms

SCHEMA_VERSION = "loadtest-summary/1"


def summarize(result: RunResult) -> dict[str, Any]:
    cfg, rec = result.config, result.recorder
    window = cfg.duration
    if rec.last_send is not None:  # a generator that fell behind stretched its own window
        window = max(window, rec.last_send - cfg.warmup)
    scheduled = rec.sent_measured + rec.drops
    attempted = rec.completed + rec.drops
    return {
        "schema": SCHEMA_VERSION,
        "started_at": dt.datetime.fromtimestamp(result.started_at, dt.UTC).isoformat(timespec="seconds"),
        "target": {"kind": result.target.kind, "url": result.target.url},
        "config": {
            "target_rate": cfg.rate,
            "duration_s": cfg.duration,
            "warmup_s": cfg.warmup,
            "arrival": cfg.arrival,
            "seed": cfg.seed,
            "max_in_flight": cfg.max_in_flight,
            "timeout_s": cfg.timeout,
            "concurrency": cfg.concurrency if cfg.arrival == "closed" else None,
            "cases": list(result.target.case_names),
        },
        "elapsed_s": round(result.elapsed, 3),
        "target_rate": cfg.rate,
        "achieved_rate": round(rec.sent_measured / window, 3) if window > 0 else 0.0,
        # throughput: responses that arrived within the measured window (a backlog drained after
        # the last send does not count), per second
        "completed_rate": round(rec.completed_in_window / cfg.duration, 3),
        "requests": {
            "scheduled": scheduled,
            "sent": rec.sent_measured,
            "completed": rec.completed,
            "success": rec.success,
            "errors": rec.errors,
            "timeouts": rec.timeouts,
            "drops": rec.drops,
        },
        "error_rate": round((rec.errors + rec.drops) / attempted, 6) if attempted else 0.0,
        "latency_ms": percentiles_ms(rec.latency_tally),
        "errors_by_status": dict(sorted(rec.errors_by_status.items())),
        "statuses": dict(sorted(rec.statuses.items())),
        "send_lag_ms": percentiles_ms(rec.send_lag_tally),
        "generator_behind": any("fell behind" in w for w in result.warnings),
        "connections_opened": result.connections_opened,
        "warnings": list(result.warnings),
        "variants": {name: g.summary() for name, g in sorted(rec.variants.items())},
        "cases": {name: rec.cases[i].summary() for i, name in enumerate(rec.case_names)},
        "timeline": rec.timeline(),
        "latency_histogram": log_buckets(rec.latency),
        "percentile_distribution": [{"percentile": p, "latency_ms": v} for p, v in rec.percentile_curve()],
    }


def _table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    line = "  ".join(h.rjust(w) if i else h.ljust(w) for i, (h, w) in enumerate(zip(headers, widths)))
    out = [line, "  ".join("-" * w for w in widths)]
    for row in rows:
        out.append("  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths))))
    return "\n".join(out)


def _label_mix(labels: dict[str, int]) -> str:
    total = sum(labels.values())
    if not total:
        return "-"
    return " ".join(f"{k}:{v * 100 / total:.0f}%" for k, v in labels.items())


def render_text(summary: dict[str, Any]) -> str:
    """The printed result: headline, per-variant table (the A/B comparison), errors and warnings."""
    r, lat, lag = summary["requests"], summary["latency_ms"], summary["send_lag_ms"]
    lines = [
        f"target   {summary['target']['kind']} {summary['target']['url']}",
        (
            f"rate     target {summary['target_rate']:g}/s  achieved {summary['achieved_rate']:.1f}/s  "
            f"completed {summary['completed_rate']:.1f}/s  ({summary['config']['arrival']}, "
            f"{summary['config']['duration_s']:g}s + {summary['config']['warmup_s']:g}s warmup)"
        ),
        (
            f"requests sent {r['sent']}  ok {r['success']}  errors {r['errors']}  timeouts {r['timeouts']}  "
            f"drops {r['drops']}  error rate {summary['error_rate'] * 100:.2f}%"
        ),
        (
            f"latency  p50 {lat['p50']:.2f}  p90 {lat['p90']:.2f}  p99 {lat['p99']:.2f}  p99.9 {lat['p99_9']:.2f}  "
            f"max {lat['max']:.2f} ms (from the intended send time)"
        ),
        f"send lag p50 {lag['p50']:.3f}  p99 {lag['p99']:.3f}  max {lag['max']:.3f} ms (the generator's own delay)",
        "",
    ]
    rows = []
    for name, v in summary["variants"].items():
        vl = v["latency_ms"]
        share = v["count"] * 100 / r["completed"] if r["completed"] else 0.0
        rows.append(
            [
                name,
                str(v["count"]),
                f"{share:.1f}%",
                f"{vl['p50']:.2f}",
                f"{vl['p90']:.2f}",
                f"{vl['p99']:.2f}",
                f"{vl['p99_9']:.2f}",
                f"{vl['max']:.2f}",
                str(v["errors"]),
                _label_mix(v["labels"]),
            ]
        )
    lines.append(
        _table(
            ["variant", "count", "share", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms", "errors", "labels"], rows
        )
    )
    if summary["errors_by_status"] or r["timeouts"] or r["drops"]:
        parts = [f"{k}: {v}" for k, v in summary["errors_by_status"].items()]
        parts += [f"timeout: {r['timeouts']}"] if r["timeouts"] else []
        parts += [f"dropped: {r['drops']}"] if r["drops"] else []
        lines += ["", "errors   " + ", ".join(parts)]
    for warning in summary["warnings"]:
        lines.append(f"WARNING  {warning}")
    return "\n".join(lines)
