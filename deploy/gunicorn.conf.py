"""gunicorn settings shared by ``make run``, docker-compose and the live test servers.

Access lines come from the registry's own middleware (``registry.access``, with request ids,
users and repositories), so gunicorn writes none. Metrics of every worker go to files in
``PROMETHEUS_MULTIPROC_DIR`` (under ``REGISTRY_VAR_DIR`` unless set): emptied when the master
starts, and a dead worker's live gauges are dropped by ``child_exit``.
"""

import os
import shutil
from pathlib import Path
from typing import Any

from prometheus_client import multiprocess

worker_class = "gthread"
timeout = 0  # 20 GiB uploads and downloads stream for as long as they take
accesslog = None

_metrics_dir = Path(
    os.environ.setdefault(
        "PROMETHEUS_MULTIPROC_DIR",
        str(Path(os.environ.get("REGISTRY_VAR_DIR", "var")).resolve() / "prometheus"),
    )
)


def on_starting(server: Any) -> None:
    shutil.rmtree(_metrics_dir, ignore_errors=True)
    _metrics_dir.mkdir(parents=True)


def post_worker_init(worker: Any) -> None:
    # Each worker flushes download counts, nginx's log of the mirror's downloads included.
    from formats.downloads import downloads_flusher_start

    downloads_flusher_start()


def child_exit(server: Any, worker: Any) -> None:
    multiprocess.mark_process_dead(worker.pid)
