"""``/api/v1/schedules/``: administrators list the periodic tasks, change their interval, switch
them off and run them now; beat, a real worker and the in-process runner follow the rows."""

import base64
import io
import time
from datetime import datetime, timedelta

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone
from django_celery_beat.models import PeriodicTask
from rest_framework.test import APIClient

from access.services import token_create
from audit.models import Action, AuditEvent
from registry_project.beat import InProcessSchedule
from registry_project.celery import app as celery_app
from registry_project.schedules import schedules_install
from tests.factories import PASSWORD, RepositoryFactory, UserFactory
from tests.live import settled_text, start_beat


def _basic(username: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{PASSWORD}".encode()).decode()


@pytest.fixture
def admin_api(db) -> APIClient:
    UserFactory(username="root", is_superuser=True)
    client = APIClient(REMOTE_ADDR="192.0.2.9")
    client.credentials(HTTP_AUTHORIZATION=_basic("root"))
    return client


def _stale_audit_event() -> AuditEvent:
    """An event past the retention period: what the audit-prune task removes."""
    old = timezone.now() - timedelta(days=settings.AUDIT_RETENTION_DAYS + 1)
    return AuditEvent.objects.create(action=Action.LOGIN_FAILED, username="x", at=old)


def _wait(condition, limit: float = 90) -> bool:
    deadline = time.monotonic() + limit
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.1)
    return condition()


@pytest.mark.django_db
def test_the_list_shows_every_default_task_with_its_interval(admin_api):
    response = admin_api.get("/api/v1/schedules/")

    assert response.status_code == 200
    listed = {entry["name"]: entry for entry in response.json()}
    assert set(listed) == set(settings.CELERY_BEAT_SCHEDULE)
    for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
        assert listed[name]["task"] == entry["task"]
        assert listed[name]["every_seconds"] == int(entry["schedule"])
        assert listed[name]["enabled"] is True
        assert listed[name]["last_run_at"] is None
    assert PeriodicTask.objects.get(name="blob-fsck").kwargs == '{"sample": 10.0}'


@pytest.mark.django_db
def test_an_interval_and_the_switch_change_and_are_audited(admin_api):
    before = admin_api.get("/api/v1/schedules/blob-gc/").json()

    faster = admin_api.patch("/api/v1/schedules/blob-gc/", {"every_seconds": 60}, format="json")
    off = admin_api.patch("/api/v1/schedules/blob-gc/", {"enabled": False}, format="json")

    assert faster.status_code == 200
    assert faster.json()["every_seconds"] == 60
    assert datetime.fromisoformat(faster.json()["next_run_at"]) < datetime.fromisoformat(
        before["next_run_at"]
    )
    assert off.status_code == 200
    assert off.json() | {"next_run_at": "-"} == faster.json() | {
        "enabled": False,
        "next_run_at": "-",
    }
    assert off.json()["next_run_at"] is None
    row = PeriodicTask.objects.get(name="blob-gc")
    assert (row.interval.every, row.interval.period, row.enabled) == (60, "seconds", False)
    events = AuditEvent.objects.filter(action=Action.SCHEDULE_SET).order_by("id")
    assert [(e.username, e.address, e.details) for e in events] == [
        ("root", "192.0.2.9", {"schedule": "blob-gc", "every_seconds": {"from": 21600, "to": 60}}),
        ("root", "192.0.2.9", {"schedule": "blob-gc", "enabled": {"from": True, "to": False}}),
    ]


@pytest.mark.django_db
def test_an_operators_change_survives_the_defaults_being_installed_again(admin_api):
    admin_api.patch("/api/v1/schedules/cleanup/", {"every_seconds": 120}, format="json")

    call_command("bootstrap", stdout=io.StringIO())
    assert schedules_install() == []

    assert PeriodicTask.objects.get(name="cleanup").interval.every == 120


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("_case", "body", "field"),
    [
        ("zero seconds", {"every_seconds": 0}, "every_seconds"),
        ("not a number", {"every_seconds": "often"}, "every_seconds"),
        ("not a boolean", {"enabled": "perhaps"}, "enabled"),
    ],
)
def test_bad_changes_answer_400_and_change_nothing(admin_api, _case, body, field):
    schedules_install()

    response = admin_api.patch("/api/v1/schedules/blob-gc/", body, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert field in response.json()["detail"]
    assert PeriodicTask.objects.get(name="blob-gc").interval.every == 21600
    assert not AuditEvent.objects.filter(action=Action.SCHEDULE_SET).exists()


@pytest.mark.django_db
def test_an_unknown_task_answers_404(admin_api):
    for response in (
        admin_api.get("/api/v1/schedules/nightly/"),
        admin_api.patch("/api/v1/schedules/nightly/", {"enabled": False}, format="json"),
        admin_api.post("/api/v1/schedules/nightly/run/"),
    ):
        assert response.status_code == 404
        assert response.json()["code"] == "SCHEDULE_UNKNOWN"


@pytest.mark.django_db
def test_only_administrators_with_a_full_credential_see_or_change_schedules(make_user):
    repository = RepositoryFactory(name="raw-a", format="raw")
    staff = make_user(username="staff", is_staff=True)
    root = UserFactory(username="root", is_superuser=True)
    scoped = token_create(user=root, repositories=[repository]).secret
    read_only = token_create(user=root, read_only=True).secret
    callers = {
        "anonymous": (None, 401),
        "a staff user without the permission": (_basic(staff.username), 403),
        "a superuser's repository-scoped token": (f"Bearer {scoped}", 403),
        "a superuser's read-only token": (f"Bearer {read_only}", 403),
    }
    for case, (credential, expected) in callers.items():
        client = APIClient()
        if credential:
            client.credentials(HTTP_AUTHORIZATION=credential)
        answers = [
            client.get("/api/v1/schedules/").status_code,
            client.patch("/api/v1/schedules/blob-gc/", {"enabled": False}).status_code,
            client.post("/api/v1/schedules/blob-gc/run/").status_code,
        ]
        assert answers == [expected] * 3, case
    schedules_install()
    assert PeriodicTask.objects.filter(enabled=False).exists() is False
    assert AuditEvent.objects.filter(action__in=[Action.SCHEDULE_SET, Action.TASK_RUN]).count() == 0


@pytest.mark.django_db
def test_run_now_without_a_broker_runs_in_process_and_answers_the_result(
    admin_api, tasks_in_process
):
    stale = _stale_audit_event()

    response = admin_api.post("/api/v1/schedules/audit-prune/run/")

    assert response.status_code == 200
    body = response.json()
    assert (body["name"], body["task"], body["queued"], body["result"]) == (
        "audit-prune",
        "audit.tasks.audit_prune_task",
        False,
        1,
    )
    assert AuditEvent.objects.filter(pk=stale.pk).exists() is False
    run = AuditEvent.objects.get(action=Action.TASK_RUN)
    assert (run.username, run.details) == (
        "root",
        {"schedule": "audit-prune", "task": "audit.tasks.audit_prune_task"},
    )
    assert PeriodicTask.objects.get(name="audit-prune").interval.every == 86400  # unchanged


def test_run_now_queues_on_the_worker_when_there_is_a_broker(admin_api, celery_worker):
    stale = _stale_audit_event()

    response = admin_api.post("/api/v1/schedules/audit-prune/run/")

    queued = bool(settings.CELERY_BROKER_URL)
    assert response.status_code == (202 if queued else 200)
    assert response.json()["queued"] is queued
    if queued:
        assert response.json()["result"] is None
        assert celery_app.AsyncResult(response.json()["task_id"]).get(timeout=120) == 1
    assert AuditEvent.objects.filter(pk=stale.pk).exists() is False


def test_the_in_process_schedule_follows_an_interval_changed_through_the_api(
    admin_api, transactional_db, tmp_path, tasks_in_process
):
    schedules_install()
    PeriodicTask.objects.exclude(name="audit-prune").update(enabled=False)
    stale = _stale_audit_event()
    schedule = InProcessSchedule(state_dir=tmp_path, poll=0.2)
    schedule.start()
    try:
        assert schedule.running.wait(30)
        patched = admin_api.patch(
            "/api/v1/schedules/audit-prune/", {"every_seconds": 1}, format="json"
        )
        pruned = _wait(lambda: not AuditEvent.objects.filter(pk=stale.pk).exists())
    finally:
        schedule.stop()

    assert patched.status_code == 200
    assert pruned is True
    assert PeriodicTask.objects.get(name="audit-prune").total_run_count >= 1


@pytest.mark.skipif(not settings.CELERY_BROKER_URL, reason="beat needs a broker")
def test_beat_follows_an_interval_changed_through_the_api(admin_api, celery_worker, tmp_path):
    schedules_install()
    PeriodicTask.objects.exclude(name="audit-prune").update(enabled=False)
    stale = _stale_audit_event()
    beat = start_beat(tmp_path, celery_app.conf.task_default_queue)
    log = tmp_path / "beat.log"
    sent = "Sending due task audit-prune"
    try:
        assert _wait(lambda: "beat: Starting" in log.read_text())
        patched = admin_api.patch(
            "/api/v1/schedules/audit-prune/", {"every_seconds": 1}, format="json"
        )
        # Daily before the change; now beat sends it every second, and the worker runs it.
        assert _wait(lambda: log.read_text().count(sent) >= 2)
        pruned = _wait(lambda: not AuditEvent.objects.filter(pk=stale.pk).exists())
    finally:
        beat.terminate()
        beat.wait(timeout=30)

    assert patched.status_code == 200
    assert pruned is True
    text = settled_text(log)
    assert "DatabaseScheduler: Schedule changed." in text
    assert "Sending due task blob-gc" not in text  # switched off
