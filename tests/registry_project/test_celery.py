"""The in-process schedule: the stored periodic tasks run without a broker, in one process."""

import io
import time
from datetime import timedelta

import pytest
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from registry_project.beat import InProcessSchedule
from registry_project.schedules import schedule_set, schedules_install
from storage.models import Blob
from storage.services import blob_ingest


def _only(name: str, *, every_seconds: int) -> None:
    """Leave ``name`` the one enabled periodic task, running every ``every_seconds``."""
    schedules_install()
    PeriodicTask.objects.exclude(name=name).update(enabled=False)
    schedule_set(name=name, every_seconds=every_seconds, enabled=True)


def _wait(condition, limit: float = 60) -> bool:
    deadline = time.monotonic() + limit
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)
    return condition()


@pytest.mark.django_db(transaction=True)
def test_schedule_runs_its_tasks_in_exactly_one_of_the_processes(tmp_path):
    orphan = blob_ingest(stream=io.BytesIO(b"nobody needs this"))
    Blob.objects.filter(pk=orphan.pk).update(last_written=timezone.now() - timedelta(days=2))
    _only("blob-gc", every_seconds=1)
    # Two web processes start a schedule each; the lock file lets one run it.
    schedules = [InProcessSchedule(state_dir=tmp_path, poll=0.1) for _ in range(2)]
    for schedule in schedules:
        schedule.start()
    try:
        gone = _wait(lambda: not Blob.objects.filter(pk=orphan.pk).exists())
        running = [schedule.running.is_set() for schedule in schedules]
    finally:
        for schedule in schedules:
            schedule.stop()

    assert gone is True
    assert sorted(running) == [False, True]
    row = PeriodicTask.objects.get(name="blob-gc")
    assert row.total_run_count >= 1
    assert row.last_run_at is not None


@pytest.mark.django_db(transaction=True)
def test_a_task_first_runs_one_interval_after_its_row_changed(tmp_path):
    _only("blob-gc", every_seconds=3600)
    schedule = InProcessSchedule(state_dir=tmp_path, poll=7200)

    wait = schedule.run_due()

    assert PeriodicTask.objects.get(name="blob-gc").total_run_count == 0
    assert 3500 < wait <= 3600  # it sleeps until then
