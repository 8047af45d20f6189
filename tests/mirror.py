"""The production shape of the mirror for end-to-end tests: gunicorn keeping a mirror, nginx
serving it with deploy/nginx.conf, and a Celery worker of their own writing it when a broker is
configured."""

import contextlib
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings

from formats.mirror_tasks import mirror_refresh_task
from registry_project.celery import app as celery_app
from tests.live import LiveServer, require_client, start_server, start_worker
from tests.nginx import ProductionNginx


@contextmanager
def mirror_worker(log_dir: Path, mirror_dir: Path) -> Iterator[str | None]:
    """Run a Celery worker of its own writing the mirror ``mirror_dir``; yield its queue.

    None without a broker: tasks then run in the process that sends them, as in the embedded
    default. The worker of tests/conftest.py keeps no mirror.
    """
    if not settings.CELERY_BROKER_URL:
        yield None
        return
    queue = f"mirror-{uuid.uuid4().hex[:12]}"
    worker = start_worker(log_dir, queue, MIRROR_DIR=str(mirror_dir))
    try:
        yield queue
    finally:
        worker.terminate()
        worker.wait(timeout=30)


@contextmanager
def tasks_sent_to(queue: str | None) -> Iterator[None]:
    """Send the tasks this process starts to ``queue`` (None: where they go anyway)."""
    default = celery_app.conf.task_default_queue
    celery_app.conf.task_default_queue = queue or default
    try:
        yield
    finally:
        celery_app.conf.task_default_queue = default


def mirror_settled(queue: str | None) -> None:
    """Return once the worker on ``queue`` ran every mirror refresh sent to it so far."""
    if queue is not None:
        # A solo worker takes its queue in order: once a no-op refresh (no repository 0) is
        # answered, every refresh sent before it has run.
        mirror_refresh_task.apply_async(args=(0, ""), queue=queue).get(timeout=120)


@dataclass(frozen=True)
class MirrorFront:
    """gunicorn with MIRROR_DIR, nginx in front of it, and where nginx logs the downloads."""

    server: LiveServer
    nginx: ProductionNginx
    mirror_dir: Path
    downloads_dir: Path
    queue: str | None

    def settled(self) -> None:
        """Wait until the mirror followed every change so far (at once without a broker)."""
        mirror_settled(self.queue)

    def fresh(self) -> "MirrorFront":
        """Fail if the server died; forget the downloads logged so far.

        An earlier test's downloads name its repositories, which a later test may create again
        under the same names: they must not count there. The files are emptied, not deleted:
        nginx may hold the current one open (open_log_file_cache) and go on appending to it.
        """
        if self.server.process.poll() is not None:
            pytest.fail(f"server died: {self.server.log.read_text()[-3000:]}")
        for logged in self.downloads_dir.iterdir():
            with contextlib.suppress(FileNotFoundError):  # claimed by the server meanwhile
                os.truncate(logged, 0)
        return self


@contextmanager
def mirror_front(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MirrorFront]:
    """Start the production shape of the mirror (download counts flushed every second)."""
    binary = require_client("nginx")
    mirror_dir = tmp_path_factory.mktemp("mirror")
    downloads_dir = tmp_path_factory.mktemp("mirror-downloads")
    with mirror_worker(tmp_path_factory.mktemp("mirror-worker"), mirror_dir) as queue:
        options = {"CELERY_TASK_DEFAULT_QUEUE": queue} if queue else {}
        server = start_server(
            tmp_path_factory.mktemp("mirror-server"),
            MIRROR_DIR=str(mirror_dir),
            MIRROR_DOWNLOADS_DIR=str(downloads_dir),
            DOWNLOAD_STATS_FLUSH_SECONDS="1",
            **options,
        )
        nginx = ProductionNginx(
            tmp_path_factory.mktemp("nginx"),
            upstream=server.host,
            mirror_dir=mirror_dir,
            downloads_dir=downloads_dir,
            blob_dir=Path(settings.BLOB_STORE_DIR),
            binary=binary,
        )
        try:
            nginx.start()
            yield MirrorFront(server, nginx, mirror_dir, downloads_dir, queue)
        finally:
            nginx.stop()
            server.stop()
