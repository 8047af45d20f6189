"""Background tasks in the log and the metrics: the request id of the request that queued a
task travels in the task's headers and is the id of the task's log lines in the worker; every
run is counted and timed by task name and final state.

Celery workers are configured by Django's ``LOGGING`` (``LOG_LEVEL``, ``LOG_FORMAT``) rather
than by Celery's own logging set-up, so their lines look like the web's.
"""

import logging
import logging.config
import time
from typing import Any

from celery.signals import before_task_publish, setup_logging, task_postrun, task_prerun
from django.conf import settings

from registry_project import metrics
from registry_project.logs import (
    NO_REQUEST,
    WorkContext,
    current_request_id,
    work_context,
    work_context_set,
)

logger = logging.getLogger(__name__)
REQUEST_ID_HEADER = "registry_request_id"
_started: dict[str, tuple[float, WorkContext | None]] = {}  # task id -> start, caller's context


def connect() -> None:
    """Connect the handlers below to Celery's signals (once; Celery ignores repeats)."""
    setup_logging.connect(_configure_logging)
    before_task_publish.connect(_carry_request_id)
    task_prerun.connect(_task_started)
    task_postrun.connect(_task_finished)


def _configure_logging(**kwargs: Any) -> None:
    logging.config.dictConfig(settings.LOGGING)


def _carry_request_id(headers: dict[str, Any] | None = None, **kwargs: Any) -> None:
    request_id = current_request_id()
    if headers is not None and request_id != NO_REQUEST:
        headers[REQUEST_ID_HEADER] = request_id


def _task_started(task_id: str, task: Any, **kwargs: Any) -> None:
    caller = work_context()  # an eager task runs inside the request that called it
    request_id = getattr(task.request, REQUEST_ID_HEADER, None)
    if request_id is not None:
        work_context_set(WorkContext(request_id=request_id))
    _started[task_id] = (time.monotonic(), caller)


def _task_finished(task_id: str, task: Any, state: str | None = None, **kwargs: Any) -> None:
    started, caller = _started.pop(task_id, (time.monotonic(), None))
    duration = time.monotonic() - started
    metrics.TASK_RUNS.labels(task.name, state or "UNKNOWN").inc()
    metrics.TASK_SECONDS.labels(task.name).observe(duration)
    log = logger.warning if state == "FAILURE" else logger.info
    log("task %s %s in %.3fs", task.name, state, duration)
    work_context_set(caller)
