"""The admin console: policies edited with the command's checks, runs listed read-only."""

import pytest

from formats.lifecycle.cleanup import cleanup_run, policy_set
from formats.models import CleanupPolicy
from tests.factories import RepositoryFactory

pytestmark = pytest.mark.django_db

ADD = "/admin/formats/cleanuppolicy/add/"


@pytest.fixture
def admin_client(client, make_user):
    client.force_login(make_user(is_superuser=True, is_staff=True))
    return client


def test_a_policy_form_refuses_what_setpolicy_refuses(admin_client):
    hosted = RepositoryFactory(name="hosted", format="npm")
    group = RepositoryFactory(name="group", format="npm", kind="group")

    narrowed = admin_client.post(
        ADD, {"repository": hosted.pk, "match": "1.*", "keep_tagged": "on"}
    )
    assert b"only narrows a rule" in narrowed.content
    on_group = admin_client.post(ADD, {"repository": group.pk, "keep_last": "2"})
    assert b"a group holds nothing" in on_group.content
    saved = admin_client.post(ADD, {"repository": hosted.pk, "keep_last": "2", "keep_tagged": "on"})
    assert saved.status_code == 302
    assert CleanupPolicy.objects.get().keep_last == 2


def test_runs_are_listed_and_cannot_be_changed(admin_client):
    repository = RepositoryFactory(name="listed", format="raw")
    policy_set(repository=repository, keep_last=1)
    run = cleanup_run(repository=repository, actor_name="schedule")

    listing = admin_client.get("/admin/formats/cleanuprun/")
    assert listing.status_code == 200
    assert b"listed" in listing.content
    assert b"schedule" in listing.content
    page = admin_client.get(f"/admin/formats/cleanuprun/{run.pk}/change/")
    assert page.status_code == 200
    assert admin_client.get("/admin/formats/cleanuprun/add/").status_code == 403
