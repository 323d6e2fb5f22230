"""Live progress: one refreshing line on a TTY, one line per period otherwise (logs, CI)."""

from __future__ import annotations

import sys
from typing import TextIO

from orchestrator.loadtest.recorder import Recorder, counts_percentile_ms


class Progress:
    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        max_send_lag_ms: float = 10.0,
        enabled: bool = True,
        tty: bool | None = None,
    ) -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.enabled = enabled
        self.max_send_lag_ms = max_send_lag_ms
        self.behind_periods = 0
        self._last_len = 0

    def update(self, elapsed: float, recorder: Recorder, in_flight: int, phase: str) -> None:
        """Print one progress line about the interval since the last one."""
        lat, lag = recorder.take_interval()
        p50 = counts_percentile_ms(lat, 50)
        p99 = counts_percentile_ms(lat, 99)
        lag99 = counts_percentile_ms(lag, 99)
        rate = recorder.sent_total / elapsed if elapsed > 0 else 0.0
        behind = lag99 > self.max_send_lag_ms
        if behind:
            self.behind_periods += 1
        if not self.enabled:
            return
        line = (
            f"[{phase:7}] {elapsed:7.1f}s sent {recorder.sent_total:>8} ({rate:8.1f}/s) "
            f"in-flight {in_flight:>5} errors {recorder.errors_total:>6} drops {recorder.drops_total:>6} "
            f"p50 {p50:8.2f}ms p99 {p99:8.2f}ms"
        )
        if behind:
            line += f"  WARNING: generator behind schedule (send lag p99 {lag99:.1f} ms)"
        if self.tty:
            pad = max(0, self._last_len - len(line))
            self.stream.write("\r" + line + " " * pad)
            self._last_len = len(line)
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def finish(self) -> None:
        if self.enabled and self.tty and self._last_len:
            self.stream.write("\n")
            self.stream.flush()
