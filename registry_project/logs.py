"""Logging of the whole process: configuration from the environment, the request id of the work
being done (a request or a task it queued), and the formatters that print it.

Every log line carries ``request_id``: the ``RequestIdFilter`` on the handler reads it from a
context variable that the request middleware (``registry_project.requestlog``) and the task
signals (``registry_project.tasklog``) set. It imports no app and no Django settings.
"""

import json
import logging
import os
import re
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

# What a client may send as X-Request-ID: a proxy's or another service's id, not a log injection.
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:@/+=-]{1,128}")
NO_REQUEST = "-"


@dataclass
class WorkContext:
    """What is known of the request (or task) being served, for its log lines and metrics."""

    request_id: str
    repository: str = ""
    format: str = ""
    operation: str = ""  # the view serving it, a label of the latency histogram


_current: ContextVar[WorkContext | None] = ContextVar("work_context", default=None)


def request_id_accept(header: str | None) -> str:
    """Return ``header`` if it is a safe request id (bounded, plain characters), else a new one."""
    if header and _REQUEST_ID.fullmatch(header):
        return header
    return os.urandom(16).hex()  # as random as a uuid4, without building one


def work_context_set(context: WorkContext | None) -> None:
    """Make ``context`` the current one of this thread (None: no request, no task)."""
    _current.set(context)


def work_context() -> WorkContext | None:
    return _current.get()


def work_context_note(*, repository: str, format: str, operation: str) -> None:
    """Record which repository (of which format) the current request is about, and its view."""
    context = _current.get()
    if context is not None:
        context.repository, context.format, context.operation = repository, format, operation


def current_request_id() -> str:
    context = _current.get()
    return context.request_id if context is not None else NO_REQUEST


class RequestIdFilter(logging.Filter):
    """Put the current request id on every record as ``request_id``."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id()
        return True


# Attributes every LogRecord has; the others were passed with ``extra=`` and are fields.
_RECORD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id and ``extra`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(
            (key, value) for key, value in vars(record).items() if key not in _RECORD_ATTRIBUTES
        )
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


def logging_config(*, level: str, format: str) -> dict[str, Any]:
    """Return the ``LOGGING`` dictionary: one stream handler, ``json`` or ``text`` lines."""
    formatter: dict[str, Any] = (
        {"()": JsonFormatter} if format == "json" else {"format": TEXT_FORMAT}
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": RequestIdFilter}},
        "formatters": {"line": formatter},
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "filters": ["request_id"],
                "formatter": "line",
            }
        },
        "root": {"handlers": ["console"], "level": level.upper()},
    }
