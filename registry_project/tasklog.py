"""Background tasks in the log and the metrics: the request id of the request that queued a
task travels in the task's headers and is the id of the task's log lines in the worker; every
run is counted and timed by task name and final state.

Celery workers are configured by Django's ``LOGGING`` (``LOG_LEVEL``, ``LOG_FORMAT``) rather
than by Celery's own logging set-up, so their lines look like the web's.

The counts live where the task ran. A worker runs on a host of its own, so the web's
``/-/metrics`` cannot sum them; with ``WORKER_METRICS_PORT`` the worker serves them itself,
summed over its pool processes through a ``PROMETHEUS_MULTIPROC_DIR`` of its own (emptied of
earlier runs' files when it starts, as gunicorn's is), and Prometheus scrapes each worker as
it scrapes each web replica.
"""

import logging
import logging.config
import os
import time
from pathlib import Path
from typing import Any

from celery.signals import (
    before_task_publish,
    setup_logging,
    task_postrun,
    task_prerun,
    worker_init,
)
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

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
    worker_init.connect(_serve_metrics)


def _configure_logging(**kwargs: Any) -> None:
    logging.config.dictConfig(settings.LOGGING)


def _serve_metrics(**kwargs: Any) -> None:
    # worker_init runs in the worker's main process before it forks its pool.
    if not settings.WORKER_METRICS_PORT:
        return
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not folder:
        raise ImproperlyConfigured("WORKER_METRICS_PORT needs PROMETHEUS_MULTIPROC_DIR")
    own = f"_{os.getpid()}.db"  # made when this process imported the metrics
    for stale in Path(folder).glob("*.db"):
        if not stale.name.endswith(own):
            stale.unlink(missing_ok=True)
    metrics.serve(
        port=settings.WORKER_METRICS_PORT,
        address=settings.WORKER_METRICS_ADDRESS,
        # The worker's entry point reaches up to the UI's check, as the URLconf does; by name,
        # so the core's commands importing this module do not depend on the UI.
        app=import_string("web.monitoring.worker_metrics"),
    )
    logger.info(
        "task metrics at http://%s:%s/",
        settings.WORKER_METRICS_ADDRESS,
        settings.WORKER_METRICS_PORT,
    )


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
