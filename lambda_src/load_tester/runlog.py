"""JSON log lines on stdout for the load tester (never the API key, never request/response bodies)."""

from __future__ import annotations

import json
import logging
import os
import sys

LOGGER_NAME = "load_tester"


class _JsonLines(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        entry: dict[str, object] = {"level": record.levelname, "message": record.getMessage()}
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update(fields)
        if record.exc_info:
            entry["exception"] = logging.Formatter().formatException(record.exc_info)
        try:
            sys.stdout.write(json.dumps(entry, default=str, separators=(",", ":")) + "\n")
            sys.stdout.flush()
        except Exception:  # pragma: no cover  # noqa: BLE001 - Handler.emit's contract: report via handleError, never raise
            self.handleError(record)


def get_logger() -> logging.Logger:
    logger = logging.getLogger(LOGGER_NAME)
    if not any(isinstance(h, _JsonLines) for h in logger.handlers):
        logger.addHandler(_JsonLines())
        logger.propagate = False
    level = os.environ.get("LOG_LEVEL", "INFO").upper()
    logger.setLevel(level if level in logging.getLevelNamesMapping() else "INFO")
    return logger
