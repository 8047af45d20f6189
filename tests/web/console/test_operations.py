"""Console pages for tasks, audit log, storage, users and groups, as an administrator uses them."""

import re

import pytest
from django.contrib.auth.models import Group, User
from django.urls import reverse
from django.utils.html import escape

from audit.models import AuditEvent
from audit.services import audit_record
from registry_project.schedules import schedule_list
from storage.models import Blob
from tests.factories import (
    PASSWORD,
    PackageFactory,
    RepositoryFactory,
    UserFactory,
    VersionFactory,
)

pytestmark = pytest.mark.django_db


def test_run_now_starts_the_scheduled_cleanup_and_the_page_shows_its_result(
    client, admin, celery_worker
):
    from formats.lifecycle.cleanup import policy_set
    from registry_project.celery import app as celery_app

    team = RepositoryFactory(name="team", format="raw")
    package = PackageFactory(repository=team, name="tool")
    for version in ("1.0", "1.1"):
        VersionFactory(package=package, version=version)
    policy_set(repository=team, keep_last=1)
    response = client.post(reverse("web:console:task_run", kwargs={"name": "cleanup"}), follow=True)
    started = re.search(r"Started cleanup \(task ([0-9a-f-]+)\)", response.content.decode())
    assert started is not None
    if celery_worker is not None:  # on the worker: wait for it (in process, it is done)
        celery_app.AsyncResult(started[1]).get(timeout=120)
    assert list(package.versions.values_list("version", flat=True)) == ["1.1"]
    page = client.get(reverse("web:console:tasks")).content.decode()
    assert "formats.tasks.cleanup_task" in page
    assert "<td>team</td><td>schedule</td><td>done</td>" in page


def test_run_now_of_an_unknown_schedule_is_404(client, admin):
    assert client.post(reverse("web:console:task_run", kwargs={"name": "nope"})).status_code == 404


def test_a_cleanup_run_from_the_console_is_listed_with_its_result(client, admin):
    RepositoryFactory(name="team", format="raw")
    client.post(reverse("web:console:cleanup", kwargs={"name": "team"}), {"action": "run"})
    page = client.get(reverse("web:console:tasks")).content.decode()
    assert "<td>team</td><td>root</td><td>done</td>" in page


def test_the_audit_log_filters_like_the_api_and_pages(client, admin):
    for number in range(60):
        audit_record("tag.set", repository="team", details={"n": number})
    audit_record("role.grant", repository="other")
    url = reverse("web:console:audit")
    first = client.get(url, {"action": "tag.", "repository": "team"}).content.decode()
    second = client.get(url, {"action": "tag.", "repository": "team", "page": 2}).content.decode()
    assert first.count("<td>tag.set</td>") == 50
    assert "Page 1 of 2" in first
    assert "action=tag.&amp;repository=team&amp;page=2" in first
    assert second.count("<td>tag.set</td>") == 10
    assert "role.grant" not in first
    bad = client.get(url, {"since": "yesterday"})
    assert bad.status_code == 400
    assert "Enter a valid date/time." in bad.content.decode()


def test_storage_shows_usage_and_a_growth_chart(client, admin):
    from formats.models import Asset

    repository = RepositoryFactory(name="files", format="raw", anonymous_read=True)
    blob = Blob.objects.create(sha256="a" * 64, size=1000)
    for path in ("a.bin", "b.bin"):  # the same content twice: stored once
        Asset.objects.create(repository=repository, path=path, blob=blob)
    page = client.get(reverse("web:console:storage")).content.decode()
    assert "deduplication saves 1000\xa0bytes" in page
    assert "<polyline" in page
    assert "files</a></td><td>2.0\xa0KB</td><td>1000\xa0bytes</td>" in page


def test_users_are_created_deactivated_and_given_a_new_password(client, admin):
    created = client.post(
        reverse("web:console:users"), {"username": "dana", "password": "weak"}, follow=True
    )
    assert "This password is too short." in created.content.decode()
    assert not User.objects.filter(username="dana").exists()
    client.post(reverse("web:console:users"), {"username": "dana", "password": PASSWORD})
    user_url = reverse("web:console:user", kwargs={"username": "dana"})
    client.post(user_url, {"action": "deactivate"})
    assert User.objects.get(username="dana").is_active is False
    client.post(user_url, {"action": "password", "password": "another long passphrase 9"})
    assert User.objects.get(username="dana").check_password("another long passphrase 9")
    actions = list(AuditEvent.objects.filter(username="root").values_list("action", flat=True))
    assert sorted(actions) == ["user.create", "user.deactivate", "user.password"]
    assert "another long" not in str(AuditEvent.objects.values_list("details", flat=True))


def test_groups_are_created_and_given_members(client, admin):
    UserFactory(username="erin")
    client.post(reverse("web:console:groups"), {"name": "devs"})
    client.post(reverse("web:console:group", kwargs={"name": "devs"}), {"members": ["erin"]})
    assert list(Group.objects.get(name="devs").user_set.values_list("username", flat=True)) == [
        "erin"
    ]
    event = AuditEvent.objects.get(action="group.members")
    assert event.details == {"group": "devs", "members": ["erin"]}


def test_anonymous_read_is_toggled_in_the_matrix(client, admin):
    repository = RepositoryFactory(name="team", format="raw")
    url = reverse("web:console:permissions", kwargs={"name": "team"})
    client.post(url, {"action": "anonymous", "anonymous_read": "on"})
    repository.refresh_from_db()
    assert repository.anonymous_read is True
    assert '<th scope="row">anyone</th>' in client.get(url).content.decode()
    assert AuditEvent.objects.filter(action="repository.update", repository="team").exists()


def test_every_users_working_tokens_are_listed_and_revoked(client, admin, make_token):
    from access.models import ApiToken

    secret = make_token(UserFactory(username="fay"), name="ci")
    revoked = make_token(UserFactory(username="gus"), name="old")
    ApiToken.objects.filter(token_prefix=revoked[:10]).update(revoked_at="2026-01-01T00:00Z")
    page = client.get(reverse("web:console:tokens")).content.decode()
    assert f"<code>{secret[:10]}…</code>" in page
    assert revoked[:10] not in page
    token = ApiToken.objects.get(token_prefix=secret[:10])
    response = client.post(
        reverse("web:console:token_revoke", kwargs={"token_id": token.pk}), {"back": "tokens"}
    )
    assert response["Location"] == reverse("web:console:tokens")
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert AuditEvent.objects.get(action="token.revoke").details["owner"] == "fay"


def test_checking_a_proxys_upstream_records_what_it_answered(client, admin):
    proxy = RepositoryFactory(
        name="mirror", format="raw", kind="proxy", upstream_url="http://127.0.0.1:9/"
    )
    url = reverse("web:console:upstream_check", kwargs={"name": "mirror"})
    page = client.post(url, follow=True).content.decode()
    proxy.refresh_from_db()
    assert proxy.upstream_checked is not None
    assert escape(f"Upstream http://127.0.0.1:9/: {proxy.upstream_status}") in page
    hosted = RepositoryFactory(name="team", format="raw")
    assert client.post(reverse("web:console:upstream_check", args=[hosted.name])).status_code == 404


def test_growth_adds_up_what_each_day_brought_and_fits_the_chart():
    from datetime import UTC, date, datetime

    from formats.models import Asset
    from web.console.growth import HEIGHT, growth_by_day, growth_chart

    repository = RepositoryFactory(name="files", format="raw")
    for day, digit, size, copies in ((1, "a", 100, 1), (3, "b", 300, 2)):
        blob = Blob.objects.create(sha256=digit * 64, size=size)
        Blob.objects.filter(pk=blob.pk).update(created=datetime(2026, 5, day, tzinfo=UTC))
        for copy in range(copies):
            asset = Asset.objects.create(repository=repository, path=f"{digit}{copy}", blob=blob)
            Asset.objects.filter(pk=asset.pk).update(created=datetime(2026, 5, day, tzinfo=UTC))
    days = growth_by_day()
    assert [(day.day, day.logical, day.physical) for day in days] == [
        (date(2026, 5, 1), 100, 100),
        (date(2026, 5, 3), 700, 400),
    ]
    chart = growth_chart(days)
    assert chart.top == 700
    assert chart.logical == f"8.0,{HEIGHT - 8 - (HEIGHT - 16) * 100 / 700:.1f} 632.0,8.0"


def test_a_schedule_is_changed_and_switched_off_on_the_tasks_page(client, admin):
    url = reverse("web:console:schedule_change", kwargs={"name": "blob-gc"})
    page = client.post(url, {"every_seconds": "900"}, follow=True).content.decode()
    assert "Changed the schedule of blob-gc." in page
    changed = next(s for s in schedule_list() if s.name == "blob-gc")
    assert (changed.every_seconds, changed.enabled) == (900, False)
    refused = client.post(url, {"every_seconds": "0", "enabled": "on"}, follow=True)
    assert "every_seconds must be at least 1" in refused.content.decode()
    assert next(s for s in schedule_list() if s.name == "blob-gc").every_seconds == 900
    assert AuditEvent.objects.filter(action="schedule.set").count() == 1
