"""A console logger for people watching a run: our own progress lines, not Dagster's event stream."""

from __future__ import annotations

import logging
import sys

import dagster as dg


class _UserMessagesOnly(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return (
            getattr(record, "dagster_meta", {}).get("dagster_event") is None
            or record.levelno >= logging.ERROR
        )


@dg.logger(description="Prints the assets' progress lines (rows, seconds) and errors, one line each.")
def progress_logger(init_context: dg.InitLoggerContext) -> logging.Logger:
    logger = logging.getLogger("entity_lakehouse.progress")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(_StepFormatter())
        handler.addFilter(_UserMessagesOnly())
        logger.addHandler(handler)
    return logger


class _StepFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        meta = getattr(record, "dagster_meta", {})
        step = meta.get("step_key") or meta.get("job_name") or ""
        message = meta.get("orig_message") or record.getMessage()
        return f"  {step:<34} {message}"
