"""Logging: a readable line in development, one JSON object per line in production (HOTLINE_LOG_FORMAT=json).

Ids that tie a line to a case (ticket_id, call_id, inbound_id, outbound_id) travel as fields, not inside the
text, so a log search can find every line of one ticket or one call. Set them for a stretch of work with
`log_context(ticket_id=12)` (a contextvar: per thread and per asyncio task), or for one line with
`log.info("...", extra={"ticket_id": 12})`."""

from __future__ import annotations

import contextvars
import json
import logging
import logging.config
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")
CONTEXT_FIELDS = ("ticket_id", "call_id", "inbound_id", "outbound_id")
_context: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("hotline_log_context", default=None)


@contextmanager
def log_context(**fields: Any) -> Iterator[None]:
    """Add these fields to every log line written inside the block (None values are left out)."""
    token = _context.set({**(_context.get() or {}), **{k: v for k, v in fields.items() if v is not None}})
    try:
        yield
    finally:
        _context.reset(token)


def bind(**fields: Any) -> None:
    """Add fields to the current context until it ends (e.g. the ticket id, once a job has made it)."""
    _context.set({**(_context.get() or {}), **{k: v for k, v in fields.items() if v is not None}})


def current_fields(record: logging.LogRecord) -> dict[str, Any]:
    fields = dict(_context.get() or {})
    for name in CONTEXT_FIELDS:
        value = getattr(record, name, None)
        if value is not None:
            fields[name] = value
    return fields


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            **current_fields(record),
        }
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """The development line, with the case ids appended when there are any."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = current_fields(record)
        if not fields:
            return line
        head, sep, rest = line.partition("\n")  # keep a traceback below the ids
        return head + " [" + " ".join(f"{k}={v}" for k, v in fields.items()) + "]" + sep + rest


def dict_config(level: str = "INFO", log_format: str = "text") -> dict[str, Any]:
    """For logging.config.dictConfig, and for uvicorn's log_config (applied again in each worker process)."""
    formatter = "hotline.logs.JsonFormatter" if log_format == "json" else "hotline.logs.TextFormatter"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"hotline": {"()": formatter}},
        "handlers": {"default": {"class": "logging.StreamHandler", "formatter": "hotline"}},
        "root": {"handlers": ["default"], "level": level},
        # uvicorn's own loggers write through the root handler, in the same format
        "loggers": {
            **{name: {"handlers": [], "propagate": True} for name in UVICORN_LOGGERS},
            "twilio.http_client": {"level": "WARNING"},  # it logs every request's headers at INFO
        },
    }


def configure(level: str = "INFO", log_format: str = "text") -> None:
    logging.config.dictConfig(dict_config(level, log_format))
