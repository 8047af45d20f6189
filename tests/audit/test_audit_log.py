"""The audit log: an event per state change, with its actor, read by admins through the API."""

import base64
import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from access.models import ApiToken, RepositoryRole
from access.services import token_create
from audit.models import Action, AuditEvent
from audit.services import audit_prune
from audit.tasks import audit_prune_task
from formats.models import Repository
from storage.services import blob_ingest_bytes
from tests.factories import PASSWORD, RepositoryFactory, UserFactory, VersionFactory

pytestmark = pytest.mark.django_db


def _basic(username: str, password: str = PASSWORD) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


@pytest.fixture
def root():
    return UserFactory(username="root", is_superuser=True, is_staff=True)


@pytest.fixture
def api(root) -> APIClient:
    client = APIClient(REMOTE_ADDR="192.0.2.7")
    client.credentials(HTTP_AUTHORIZATION=_basic("root"))
    return client


def _events(api: APIClient, **filters: str) -> list[dict]:
    response = api.get("/api/v1/audit-events/", filters)
    assert response.status_code == 200, response.content
    return response.json()["results"]


def test_repository_lifecycle_members_and_yank_through_the_api(api, root):
    assert api.post("/api/v1/repositories/", {"name": "r1", "format": "raw"}).status_code == 201
    patched = api.patch("/api/v1/repositories/r1/", {"anonymous_read": True}, format="json")
    assert patched.status_code == 200
    body = {"name": "all", "format": "raw", "kind": "group", "members": ["r1"]}
    assert api.post("/api/v1/repositories/", body, format="json").status_code == 201
    version = VersionFactory(package__repository=Repository.objects.get(name="r1"))
    url = f"/api/v1/versions/{version.pk}/"
    assert api.patch(url, {"yanked": True, "yanked_reason": "broken"}).status_code == 200
    assert api.patch(url, {"yanked": False}).status_code == 200
    assert api.patch(url, {"deprecated": "use 2"}).status_code == 200
    assert api.patch(url, {"deprecated": ""}).status_code == 200
    assert api.delete("/api/v1/repositories/all/").status_code == 204

    events = _events(api)
    actions = [event["action"] for event in reversed(events)]
    assert actions == [
        Action.REPOSITORY_CREATE,
        Action.REPOSITORY_UPDATE,
        Action.REPOSITORY_CREATE,
        Action.MEMBERS_SET,
        Action.VERSION_YANK,
        Action.VERSION_UNYANK,
        Action.VERSION_DEPRECATE,
        Action.VERSION_UNDEPRECATE,
        Action.REPOSITORY_DELETE,
    ]
    assert {(event["username"], event["address"]) for event in events} == {("root", "192.0.2.7")}
    assert events[-2]["details"] == {"fields": ["anonymous_read"]}
    members = next(event for event in events if event["action"] == Action.MEMBERS_SET)
    assert (members["repository"], members["details"]) == ("all", {"members": ["r1"]})
    yank = next(event for event in events if event["action"] == Action.VERSION_YANK)
    assert (yank["repository"], yank["version"], yank["details"]) == (
        "r1",
        version.version,
        {"reason": "broken"},
    )


def test_a_secret_changed_on_a_repository_is_named_never_recorded(api):
    body = {"name": "up", "format": "raw", "kind": "proxy", "upstream_url": "http://127.0.0.1:9/"}
    assert api.post("/api/v1/repositories/", body, format="json").status_code == 201
    change = {"upstream_password": "s3cret-upstream"}
    assert api.patch("/api/v1/repositories/up/", change, format="json").status_code == 200
    assert "s3cret-upstream" not in str(list(AuditEvent.objects.values_list("details")))
    assert _events(api, action=Action.REPOSITORY_UPDATE)[0]["details"] == {
        "fields": ["upstream_password"]
    }


def test_tokens_created_and_revoked_name_the_token_used(api, root):
    issued = token_create(user=root, name="ci")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.secret}")
    created = client.post("/api/v1/tokens/", {"name": "child"}, format="json")
    assert created.status_code == 201, created.content
    child = ApiToken.objects.get(name="child")
    assert client.delete(f"/api/v1/tokens/{child.pk}/").status_code == 204

    create, revoke = list(reversed(_events(api, action="token.")))[1:]
    assert create["action"] == Action.TOKEN_CREATE
    assert create["token_id"] == issued.token.pk  # who acted: the "ci" token
    assert create["details"]["token_id"] == child.pk
    assert (revoke["action"], revoke["details"]["token_id"]) == (Action.TOKEN_REVOKE, child.pk)
    assert revoke["token_id"] == issued.token.pk


def test_role_grant_and_revoke_by_command_and_admin_console(api, root, client):
    repository = RepositoryFactory(name="team")
    UserFactory(username="bob")
    call_command("grant", "user", "bob", "team", "write")
    client.force_login(root)
    binding = RepositoryRole.objects.get(repository=repository)
    page = f"/admin/access/repositoryrole/{binding.pk}/delete/"
    assert client.post(page, {"post": "yes"}).status_code == 302

    grant, revoke = reversed(_events(api, repository="team"))
    assert (grant["action"], grant["details"]) == (
        Action.ROLE_GRANT,
        {"user": "bob", "role": "write"},
    )
    assert (revoke["action"], revoke["username"]) == (Action.ROLE_REVOKE, "root")
    assert not RepositoryRole.objects.exists()


def test_failed_login_records_the_name_tried_and_the_address(api):
    stranger = APIClient(REMOTE_ADDR="198.51.100.3")
    stranger.credentials(HTTP_AUTHORIZATION=_basic("root", "wrong"))
    assert stranger.get("/api/v1/repositories/").status_code == 401
    (event,) = _events(api, action=Action.LOGIN_FAILED)
    assert (event["username"], event["address"]) == ("root", "198.51.100.3")


def test_a_gc_run_that_freed_something_is_recorded_with_its_counts(api):
    blob_ingest_bytes(content=b"nobody refers to me")
    call_command("gc", "--dry-run", "--grace", "0", stdout=io.StringIO())
    call_command("gc", "--grace", "0", stdout=io.StringIO())
    call_command("gc", "--grace", "0", stdout=io.StringIO())  # nothing left to free
    (event,) = _events(api, action=Action.GC_RUN)
    assert (event["details"]["collector"], event["details"]["blobs"]) == ("blobs", 1)
    assert event["username"] == ""  # a command, not a person


def test_filters_by_user_repository_and_time(api, root):
    RepositoryFactory(name="a")
    RepositoryFactory(name="b")
    call_command("grant", "user", "root", "a", "read")
    call_command("grant", "user", "root", "b", "read")
    old = AuditEvent.objects.create(action=Action.TAG_SET, repository="a", username="carol")
    AuditEvent.objects.filter(pk=old.pk).update(at=timezone.now() - timedelta(days=3))

    assert [event["repository"] for event in _events(api, repository="a")] == ["a", "a"]
    assert [event["id"] for event in _events(api, user="carol")] == [old.pk]
    since = (timezone.now() - timedelta(days=1)).isoformat()
    assert {event["repository"] for event in _events(api, since=since)} == {"a", "b"}
    until = (timezone.now() - timedelta(days=2)).isoformat()
    assert [event["id"] for event in _events(api, until=until)] == [old.pk]
    # Any offset is read as the time it names; nonsense is the client's error.
    assert _events(api, since="0346-06-20T03:18:37-19:26", until=until) == _events(api, until=until)
    for bad in ("yesterday", "0001-01-01T00:00:00+23:00"):
        assert api.get("/api/v1/audit-events/", {"since": bad}).status_code == 400


def test_only_admins_with_an_unrestricted_credential_read_it(root):
    owner = UserFactory(username="dave")
    RepositoryFactory(name="mine")
    call_command("grant", "user", "dave", "mine", "admin")
    for authorization in (
        _basic("dave"),
        f"Bearer {token_create(user=root, read_only=True).secret}",
        f"Bearer {token_create(user=root, repositories=[Repository.objects.get()]).secret}",
    ):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=authorization)
        assert client.get("/api/v1/audit-events/").status_code == 403, owner
    assert APIClient().get("/api/v1/audit-events/").status_code == 401


def test_the_scheduled_task_deletes_events_past_the_retention_only(celery_worker):
    old = AuditEvent.objects.create(action=Action.TAG_SET)
    AuditEvent.objects.filter(pk=old.pk).update(at=timezone.now() - timedelta(days=366))
    recent = AuditEvent.objects.create(action=Action.TAG_SET)
    assert audit_prune_task.delay().get(timeout=120) == 1  # AUDIT_RETENTION_DAYS: 365
    assert list(AuditEvent.objects.values_list("pk", flat=True)) == [recent.pk]


def test_a_retention_of_0_keeps_everything(settings):
    settings.AUDIT_RETENTION_DAYS = 0
    old = AuditEvent.objects.create(action=Action.TAG_SET)
    AuditEvent.objects.filter(pk=old.pk).update(at=timezone.now() - timedelta(days=9999))
    assert audit_prune() == 0
    settings.AUDIT_RETENTION_DAYS = 30
    assert audit_prune() == 1


def test_a_package_deleted_through_the_api_is_recorded(api):
    version = VersionFactory(package__repository=RepositoryFactory(name="pkgs", format="raw"))
    package = version.package

    assert api.delete(f"/api/v1/packages/{package.pk}/").status_code == 204

    (event,) = _events(api, action=Action.PACKAGE_DELETE)
    assert (event["username"], event["repository"], event["package"]) == (
        "root",
        "pkgs",
        package.name,
    )
