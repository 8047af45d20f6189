"""The in-process schedule: beat's entries run without a broker, in one process at a time."""

import io
import json
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from registry_project.celery import InProcessSchedule
from storage.models import Blob
from storage.services import blob_ingest

SCHEDULE = {"blob-gc": {"task": "storage.tasks.blob_gc_task", "schedule": 0.2}}


@pytest.mark.django_db(transaction=True)
def test_schedule_runs_its_entries_in_exactly_one_of_the_processes(tmp_path):
    orphan = blob_ingest(stream=io.BytesIO(b"nobody needs this"))
    Blob.objects.filter(pk=orphan.pk).update(last_written=timezone.now() - timedelta(days=2))
    # Two web processes start a schedule each; the lock file lets one run it.
    schedules = [
        InProcessSchedule(schedule=SCHEDULE, state_dir=tmp_path, poll=0.1) for _ in range(2)
    ]
    for schedule in schedules:
        schedule.start()
    try:
        deadline = time.monotonic() + 60
        while Blob.objects.filter(pk=orphan.pk).exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        running = [schedule.running.is_set() for schedule in schedules]
    finally:
        for schedule in schedules:
            schedule.stop()

    assert Blob.objects.filter(pk=orphan.pk).exists() is False
    assert sorted(running) == [False, True]
    assert list(json.loads((tmp_path / "schedule.json").read_text())) == ["blob-gc"]


def test_entries_beat_alone_can_run_are_left_to_it(tmp_path):
    from celery.schedules import crontab

    schedule = InProcessSchedule(
        schedule={"nightly": {"task": "storage.tasks.blob_gc_task", "schedule": crontab()}},
        state_dir=tmp_path,
    )

    assert schedule.entries == {}
