"""Only registry administrators reach the console: every page and every form refuses others."""

import pytest
from django.urls import reverse

from access.models import Role
from audit.models import AuditEvent
from formats.models import Repository
from tests.factories import GroupFactory, RepositoryFactory, UserFactory

pytestmark = pytest.mark.django_db

PAGES = [
    ("repositories", {}),
    ("repository_new", {"kind": "proxy"}),
    ("repository", {"name": "team"}),
    ("repository_delete", {"name": "team"}),
    ("permissions", {"name": "team"}),
    ("users", {}),
    ("user", {"username": "bob"}),
    ("tokens", {}),
    ("groups", {}),
    ("group", {"name": "devs"}),
    ("tasks", {}),
    ("audit", {}),
    ("storage", {}),
]
POSTS = [
    ("repository_new", {"kind": "hosted"}, {"name": "made", "format": "raw"}),
    ("repository", {"name": "team"}, {"anonymous_read": "on"}),
    ("repository_delete", {"name": "team"}, {}),
    ("member_move", {"name": "team"}, {"member": "x", "direction": "up"}),
    ("cleanup", {"name": "team"}, {"action": "run"}),
    ("upstream_check", {"name": "team"}, {}),
    ("permissions", {"name": "team"}, {"action": "anonymous", "anonymous_read": "on"}),
    ("users", {}, {"username": "eve2", "password": "a long enough password 1"}),
    ("user", {"username": "bob"}, {"action": "deactivate"}),
    ("token_revoke", {"token_id": 1}, {}),
    ("groups", {}, {"name": "made"}),
    ("group", {"name": "devs"}, {"members": ["bob"]}),
    ("task_run", {"name": "blob-gc"}, {}),
]


@pytest.fixture
def setting():
    team = RepositoryFactory(name="team", format="raw")
    GroupFactory(name="devs")
    # A repository admin and a staff member are still not registry administrators.
    bob = UserFactory(username="bob", is_staff=True)
    from access.services import role_grant

    role_grant(repository=team, role=Role.ADMIN, user=bob)
    return bob


@pytest.mark.parametrize(("page", "kwargs"), PAGES)
def test_anonymous_visitors_are_sent_to_sign_in(client, setting, page, kwargs):
    url = reverse(f"web:console:{page}", kwargs=kwargs)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(f"{reverse('web:login')}?next=")


@pytest.mark.parametrize(("page", "kwargs"), PAGES)
def test_a_user_without_the_registry_admin_permission_is_refused_each_page(
    client, setting, page, kwargs
):
    client.force_login(setting)
    assert client.get(reverse(f"web:console:{page}", kwargs=kwargs)).status_code == 403


@pytest.mark.parametrize(("page", "kwargs", "data"), POSTS)
def test_a_user_without_the_registry_admin_permission_is_refused_each_post(
    client, setting, page, kwargs, data
):
    client.force_login(setting)
    before = AuditEvent.objects.count()
    response = client.post(reverse(f"web:console:{page}", kwargs=kwargs), data)
    assert response.status_code == 403
    assert AuditEvent.objects.count() == before  # nothing changed
    assert Repository.objects.filter(name="team", anonymous_read=False).exists()


def test_an_inactive_superuser_is_refused(client, setting):
    client.force_login(UserFactory(username="gone", is_superuser=True))
    from django.contrib.auth.models import User

    User.objects.filter(username="gone").update(is_active=False)
    assert client.get(reverse("web:console:repositories")).status_code == 302


def test_every_form_needs_the_csrf_token(setting):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(UserFactory(username="root", is_superuser=True))
    response = client.post(reverse("web:console:groups"), {"name": "sneaky"})
    assert response.status_code == 403
    assert not AuditEvent.objects.filter(action="group.create").exists()
    page = client.get(reverse("web:console:groups")).content.decode()
    assert 'name="csrfmiddlewaretoken"' in page


@pytest.mark.parametrize(("page", "kwargs"), PAGES)
def test_a_registry_administrator_sees_each_page(client, setting, page, kwargs):
    client.force_login(UserFactory(username="root", is_superuser=True))
    response = client.get(reverse(f"web:console:{page}", kwargs=kwargs))
    assert response.status_code == 200
    assert b'aria-label="Admin console"' in response.content
