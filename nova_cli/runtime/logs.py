"""The servers' logs: one logging configuration for uvicorn's loggers and Nova's.

`nova run` and `nova serve` hand uvicorn `logging_config(...)` as its
`log_config`, so that the supervisor and every worker configure the same
loggers the same way:

- `uvicorn.error` (the server), `uvicorn.access` (a line per request) and
  `nova_cli.*` at the app's `log_level`; the library loggers (root) at warning;
- "text": uvicorn's own format, coloured only on a terminal and never with
  NO_COLOR set (FORCE_COLOR forces it), as the rest of the `nova` command;
- "json": one object a line for log shippers, carrying the request's
  correlation id while the correlation plugin has set one.

Server lines go to stderr and access lines to stdout, as uvicorn does.
"""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from nova_cli.core.config import LOG_LEVELS
from nova_cli.core.terminal import use_color

# Set by the correlation plugin for the rest of the request; the request's
# log lines (the access line included) are written in the same task.
correlation_id: ContextVar[str | None] = ContextVar("nova_correlation_id", default=None)


def logging_config(level: str, fmt: str) -> dict[str, Any]:
    """A `logging.config.dictConfig` for `level` (a LOG_LEVELS name) and `fmt` ("text"|"json")."""
    number = LOG_LEVELS[level]
    logger = {"handlers": ["default"], "level": number, "propagate": False}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"correlation": {"()": CorrelationFilter}},
        "formatters": _formatters(fmt),
        "handlers": {
            "default": _handler("default", "ext://sys.stderr", fmt),
            "access": _handler("access", "ext://sys.stdout", fmt),
        },
        "loggers": {
            "uvicorn": logger,
            "uvicorn.error": {"level": number},
            "uvicorn.access": {"handlers": ["access"], "level": number, "propagate": False},
            "nova_cli": logger,
        },
        "root": {"handlers": ["default"], "level": logging.WARNING},
    }


def _formatters(fmt: str) -> dict[str, Any]:
    if fmt == "json":
        return {"default": {"()": JsonFormatter}, "access": {"()": JsonFormatter}}
    return {
        "default": {
            "()": "uvicorn.logging.DefaultFormatter",
            "fmt": "%(levelprefix)s %(message)s",
            "use_colors": use_color(sys.stderr),
        },
        "access": {
            "()": "uvicorn.logging.AccessFormatter",
            "fmt": '%(levelprefix)s %(client_addr)s - "%(request_line)s" %(status_code)s',
            "use_colors": use_color(sys.stdout),
        },
    }


def _handler(formatter: str, stream: str, fmt: str) -> dict[str, Any]:
    handler: dict[str, Any] = {
        "formatter": formatter,
        "class": "logging.StreamHandler",
        "stream": stream,
    }
    if fmt == "json":
        handler["filters"] = ["correlation"]
    return handler


class CorrelationFilter(logging.Filter):
    """Puts the current request's correlation id (or None) on every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.correlation_id = correlation_id.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, pid, message, and what the record adds.

    An access line also carries its parts (client, method, path, status), a
    record with an exception its traceback, as strings inside the one line.
    """

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "pid": record.process,
            "message": record.getMessage(),
        }
        correlation = getattr(record, "correlation_id", None)
        if correlation is not None:
            entry["correlation_id"] = correlation
        args = record.args
        if record.name == "uvicorn.access" and isinstance(args, tuple) and len(args) == 5:
            client, method, path, _version, status = args
            entry.update(client=client, method=method, path=path, status=status)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)
