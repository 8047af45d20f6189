"""The Prometheus metrics every part of the registry records; ``/-/metrics`` exposes them.

Under gunicorn each worker writes its values to files in ``PROMETHEUS_MULTIPROC_DIR`` (which
``deploy/gunicorn.conf.py`` sets and empties at start) and a scrape sums them over the workers;
without it (tests, ``manage.py``) the values live in this process. A Celery worker, on a host
of its own, serves the task metrics its pool processes write on a port of its own (``serve``,
started by ``registry_project.tasklog``). Imports no app.
"""

import os
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.registry import Collector


class ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


if folder := os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    Path(folder).mkdir(parents=True, exist_ok=True)  # each metric below opens its file there

REQUESTS = Counter(
    "registry_http_requests", "HTTP requests answered", ["format", "method", "status"]
)
REQUEST_SECONDS = Histogram(
    "registry_http_request_duration_seconds",
    "Time from a request's arrival to its last byte sent",
    ["format", "operation"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)
BYTES_IN = Counter("registry_http_received_bytes", "Request body bytes received", ["format"])
BYTES_OUT = Counter("registry_http_sent_bytes", "Response body bytes sent", ["format"])
UPSTREAM_FETCHES = Counter(
    "registry_upstream_fetches", "Requests a proxy repository sent upstream", ["proxy", "result"]
)
TASK_RUNS = Counter("registry_task_runs", "Background task runs", ["task", "state"])
TASK_SECONDS = Histogram(
    "registry_task_duration_seconds",
    "Background task run time",
    ["task"],
    buckets=(0.01, 0.1, 1, 10, 60, 300, 1800, 3600, 4 * 3600),
)
GC_FREED_BYTES = Counter("registry_gc_freed_bytes", "Blob bytes freed by garbage collection")


def _registry(*collectors: Collector) -> CollectorRegistry:
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(REGISTRY)
    for collector in collectors:
        registry.register(collector)
    return registry


def exposition(*collectors: Collector) -> bytes:
    """Return every metric of this process (or of all gunicorn workers) and ``collectors``'."""
    return generate_latest(_registry(*collectors))


def serve(*, port: int, address: str, app: Callable[..., Iterable[bytes]]) -> None:
    """Answer requests to ``address:port`` with the WSGI ``app``, from a thread of this process
    (a Celery worker's metrics port; its pool writes to the shared folder)."""
    server = make_server(address, port, app, ThreadingWSGIServer, handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass  # scrapes are not news; refusals are logged by the check
