"""gunicorn settings shared by ``make run``, docker-compose and the live test servers.

Access lines come from the registry's own middleware (``registry.access``, with request ids,
users and repositories), so gunicorn writes none. Metrics of every worker go to files in
``PROMETHEUS_MULTIPROC_DIR`` (under ``REGISTRY_VAR_DIR`` unless set): emptied when the master
starts, and a dead worker's live gauges are dropped by ``child_exit``.

glibc's malloc is bounded before the workers fork (they inherit it): by default each thread
may get its own arena, and after the first part-sized buffer (8 MiB, storage/s3.py) is freed
glibc raises its mmap threshold, so later ones come from arenas that keep the memory. On the
object store a 1 GiB upload and download then grew the four workers by 371 MB; with at most
two arenas and a fixed 1 MiB threshold (large buffers go back to the system when freed) by
58 MB (bench/s3.py). ``MALLOC_ARENA_MAX`` or ``MALLOC_MMAP_THRESHOLD_`` in the environment
win over these.
"""

import ctypes
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


# mallopt parameters (glibc's malloc.h).
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
MALLOC_SETTINGS = {
    "MALLOC_ARENA_MAX": (M_ARENA_MAX, 2),
    "MALLOC_MMAP_THRESHOLD_": (M_MMAP_THRESHOLD, 1024 * 1024),
}


def _bound_malloc() -> None:
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return  # not glibc (musl has no arenas to bound)
    for variable, (parameter, value) in MALLOC_SETTINGS.items():
        if variable not in os.environ:
            libc.mallopt(parameter, value)


def on_starting(server: Any) -> None:
    shutil.rmtree(_metrics_dir, ignore_errors=True)
    _metrics_dir.mkdir(parents=True)
    _bound_malloc()


def post_worker_init(worker: Any) -> None:
    # Each worker flushes download counts, nginx's log of the mirror's downloads included.
    from formats.downloads import downloads_flusher_start

    downloads_flusher_start()


def child_exit(server: Any, worker: Any) -> None:
    multiprocess.mark_process_dead(worker.pid)
