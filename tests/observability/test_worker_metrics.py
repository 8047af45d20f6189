"""A Celery worker's own metrics port: what its pool processes counted, for a scraper that
reaches the worker's host (the web's /-/metrics cannot see another host's tasks)."""

import io
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.contrib.auth.models import Permission
from django.utils import timezone

from registry_project.celery import app
from storage.models import Blob
from storage.services import blob_ingest
from storage.tasks import blob_gc_task
from tests.factories import UserFactory
from tests.live import free_port, start_worker
from tests.observability.samples import metric_samples, metric_value

GC_TASK = "storage.tasks.blob_gc_task"
FSCK_TASK = "storage.tasks.blob_fsck_task"


def _scrape_when(url: str, ready, *, token: str, worker, log: Path) -> dict:
    """Scrape ``url`` until ``ready(samples)`` holds: a task's counts are written just after its
    result is (Celery's task_postrun), and the worker takes a while to start."""
    deadline = time.monotonic() + 120
    while True:
        assert worker.poll() is None, f"the worker exited: {log.read_text()[-3000:]}"
        try:
            answer = requests.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=5)
            assert answer.status_code == 200, answer.text
            samples = metric_samples(answer.text)
            if ready(samples) or time.monotonic() > deadline:
                return samples
        except requests.ConnectionError:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.2)


@pytest.mark.django_db(transaction=True)
def test_a_prefork_worker_serves_its_task_runs_failures_and_gc_bytes(tmp_path, make_token):
    if not settings.CELERY_BROKER_URL:
        pytest.skip("needs a broker (CELERY_BROKER_URL) for a real worker")
    monitor = UserFactory()
    monitor.user_permissions.add(Permission.objects.get(codename="read_metrics"))
    token = make_token(monitor, read_only=True)
    orphan = blob_ingest(stream=io.BytesIO(b"w" * 4321))
    Blob.objects.filter(pk=orphan.pk).update(last_written=timezone.now() - timedelta(days=2))
    (tmp_path / "metrics").mkdir()
    (tmp_path / "metrics" / "counter_1.db").write_bytes(b"from an earlier run")
    queue, port = f"test-{uuid.uuid4().hex[:12]}", free_port()
    worker = start_worker(
        tmp_path,
        queue,
        pool="prefork",
        hostname=f"metrics-{queue}@localhost",
        WORKER_METRICS_PORT=str(port),
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"),
    )
    try:
        url = f"http://127.0.0.1:{port}/"
        before = _scrape_when(
            url, lambda samples: True, token=token, worker=worker, log=tmp_path / "worker.log"
        )
        # The port is guarded like /-/metrics: no credentials, or a plain user's, are refused.
        assert requests.get(url, timeout=5).status_code == 401
        plain = make_token(UserFactory(), read_only=True)
        refused = requests.get(url, headers={"Authorization": f"Bearer {plain}"}, timeout=5)
        assert refused.status_code == 403

        blob_gc_task.apply_async(queue=queue).get(timeout=120)
        failed = app.send_task(FSCK_TASK, kwargs={"unknown": 1}, queue=queue)  # a TypeError
        with pytest.raises(TypeError):
            failed.get(timeout=120)

        after = _scrape_when(
            url,
            lambda samples: metric_value(
                samples, "registry_task_runs_total", task=FSCK_TASK, state="FAILURE"
            ),
            token=token,
            worker=worker,
            log=tmp_path / "worker.log",
        )
    finally:
        worker.terminate()
        worker.wait(timeout=30)

    assert metric_value(before, "registry_task_runs_total", task=GC_TASK, state="SUCCESS") == 0
    assert metric_value(after, "registry_task_runs_total", task=GC_TASK, state="SUCCESS") == 1
    assert metric_value(after, "registry_task_runs_total", task=FSCK_TASK, state="FAILURE") == 1
    assert metric_value(after, "registry_task_duration_seconds_count", task=GC_TASK) == 1
    assert metric_value(after, "registry_gc_freed_bytes_total") == 4321
    assert not Blob.objects.filter(pk=orphan.pk).exists()
