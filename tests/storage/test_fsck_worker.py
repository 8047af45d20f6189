"""The scheduled fsck task on a real Celery worker (in process without a broker)."""

import os

import pytest
from django.conf import settings

from audit.models import Action, AuditEvent
from registry_project.celery import app
from storage.models import Blob
from storage.services import blob_ingest_bytes
from storage.tasks import blob_fsck_task
from tests.storage.conftest import store_overwrite

pytestmark = pytest.mark.environment_store


def test_the_fsck_task_runs_on_the_worker_and_marks_what_rotted(celery_worker):
    blob = blob_ingest_bytes(content=os.urandom(500))
    store_overwrite(blob.path, os.urandom(500))

    summary = blob_fsck_task.delay(sample=100).get(timeout=120)

    assert {key: summary[key] for key in ("blobs", "hashed", "missing", "corrupt")} == {
        "blobs": 1,
        "hashed": 1,
        "missing": 0,
        "corrupt": 1,
    }
    assert Blob.objects.get(pk=blob.pk).corrupt is not None
    run = AuditEvent.objects.get(action=Action.FSCK_RUN)
    assert (run.username, run.details["corrupt"], run.details["sample"]) == ("", 1, 100)


def test_fsck_is_in_the_beat_schedule():
    entry = settings.CELERY_BEAT_SCHEDULE["blob-fsck"]
    assert entry["task"] in app.tasks
    assert 0 < entry["kwargs"]["sample"] <= 100
