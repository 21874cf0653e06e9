"""Log records that carry the run and change they are about (the `context` filter and `json` formatter of
settings.LOGGING)."""

import json
import logging
from contextlib import contextmanager
from contextvars import ContextVar

_log_context: ContextVar[dict | None] = ContextVar("checkstack_log_context", default=None)


@contextmanager
def log_context(**fields):
    """Add fields (run_id, change_id, …) to every log record written inside the block."""
    token = _log_context.set({**(_log_context.get() or {}), **{k: str(v) for k, v in fields.items()}})
    try:
        yield
    finally:
        _log_context.reset(token)


class ContextFilter(logging.Filter):
    """Copy the current log context onto each record (`record.run_id`, `record.change_id`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = _log_context.get() or {}
        record.run_id = context.get("run_id", "-")
        record.change_id = context.get("change_id", "-")
        return True


class JSONFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, run_id, change_id (and the traceback)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "run_id": getattr(record, "run_id", "-"),
            "change_id": getattr(record, "change_id", "-"),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["traceback"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False)
