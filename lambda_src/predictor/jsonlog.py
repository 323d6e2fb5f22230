"""One JSON object per log line, written to stdout (CloudWatch Logs in Lambda).

The logger does not propagate to the root logger, so the Lambda runtime's own formatter does not wrap
our lines in a text prefix and CloudWatch Logs Insights sees plain JSON. Only the level of *our*
logger is set from LOG_LEVEL: botocore stays at the runtime's level (its DEBUG logs would show bodies).

Callers pass structured fields with ``extra={"fields": {...}}``. Nothing here inspects them: keeping
API keys and request/response bodies out of the fields is the caller's job (see handler.py).
"""

from __future__ import annotations

import json
import logging
import os
import sys

LOGGER_NAME = "predictor"


class JsonLineFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {"level": record.levelname, "message": record.getMessage()}
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update(fields)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, separators=(",", ":"))


class StdoutHandler(logging.Handler):
    """Writes to whatever sys.stdout is at emit time (so test capture and the Lambda runtime both work)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stdout.write(self.format(record) + "\n")
            sys.stdout.flush()
        except Exception:  # pragma: no cover  # noqa: BLE001 - logging must never break a request (handleError reports it)
            self.handleError(record)


def get_logger() -> logging.Logger:
    logger = logging.getLogger(LOGGER_NAME)
    if not any(isinstance(h, StdoutHandler) for h in logger.handlers):
        handler = StdoutHandler()
        handler.setFormatter(JsonLineFormatter())
        logger.addHandler(handler)
        logger.propagate = False
    level = os.environ.get("LOG_LEVEL", "INFO").upper()
    logger.setLevel(level if level in logging.getLevelNamesMapping() else "INFO")
    return logger
