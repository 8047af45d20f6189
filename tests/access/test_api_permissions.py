"""The permission matrix of the management API: who may see, change and delete what."""

from datetime import timedelta

import pytest
from rest_framework.test import APIClient

from access.models import Role
from access.services import token_create
from formats.models import Repository, Version
from tests.factories import PackageFactory, RepositoryFactory, UserFactory, VersionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(make_user):
    private = RepositoryFactory(name="private")
    public = RepositoryFactory(name="public", anonymous_read=True)
    other = RepositoryFactory(name="other")
    version = VersionFactory(package=PackageFactory(repository=private, name="lib"))
    users = {
        "reader": make_user(private, Role.READ, username="reader"),
        "writer": make_user(private, Role.WRITE, username="writer"),
        "deleter": make_user(private, Role.DELETE, username="deleter"),
        "admin": make_user(private, Role.ADMIN, username="repoadmin"),
        "stranger": make_user(username="stranger"),
    }
    return {"private": private, "public": public, "other": other, "version": version, **users}


def _client(token: str | None = None) -> APIClient:
    client = APIClient()
    if token:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def _names(response) -> list[str]:
    return [row["name"] for row in response.json()["results"]]


@pytest.mark.parametrize(
    ("who", "visible"),
    [
        ("anonymous", ["public"]),
        ("stranger", ["public"]),
        ("reader", ["private", "public"]),
        ("admin", ["private", "public"]),
    ],
)
def test_repository_list_shows_only_readable_repositories(world, who, visible):
    token = None if who == "anonymous" else token_create(user=world[who]).secret
    response = _client(token).get("/api/v1/repositories/")
    assert response.status_code == 200
    assert _names(response) == visible


@pytest.mark.parametrize(
    ("who", "patch_status", "delete_status"),
    [
        ("anonymous", 401, 401),
        ("stranger", 404, 404),
        ("reader", 403, 403),
        ("writer", 200, 403),
        ("deleter", 200, 204),
        ("admin", 200, 204),
    ],
)
def test_version_yank_and_delete_need_write_and_delete(world, who, patch_status, delete_status):
    token = None if who == "anonymous" else token_create(user=world[who]).secret
    url = f"/api/v1/versions/{world['version'].pk}/"
    patched = _client(token).patch(url, {"yanked": True, "yanked_reason": "broken"}, format="json")
    assert patched.status_code == patch_status
    deleted = _client(token).delete(url)
    assert deleted.status_code == delete_status
    assert Version.objects.filter(pk=world["version"].pk).exists() is (delete_status != 204)


def test_anonymous_gets_a_basic_challenge(world):
    response = _client().delete(f"/api/v1/versions/{world['version'].pk}/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Basic realm="registry"'
    assert response.json()["code"] == "not_authenticated"


def test_a_token_scoped_to_another_repository_sees_nothing_here(world):
    token = token_create(user=world["writer"], repositories=[world["other"]]).secret
    listed = _client(token).get("/api/v1/repositories/")
    assert _names(listed) == ["public"]  # what anyone may read
    response = _client(token).patch(
        f"/api/v1/versions/{world['version'].pk}/", {"yanked": True}, format="json"
    )
    assert response.status_code == 404
    assert Version.objects.get(pk=world["version"].pk).yanked is False


def test_a_read_only_token_cannot_write(world):
    token = token_create(user=world["writer"], read_only=True).secret
    response = _client(token).patch(
        f"/api/v1/versions/{world['version'].pk}/", {"yanked": True}, format="json"
    )
    assert response.status_code == 403
    assert Version.objects.get(pk=world["version"].pk).yanked is False


def test_an_expired_token_is_refused(world):
    token = token_create(user=world["admin"], expires_in=timedelta(seconds=-5)).secret
    response = _client(token).get("/api/v1/repositories/")
    assert response.status_code == 401
    assert response.json()["message"] == "token is invalid, expired or revoked"


def test_only_superusers_create_repositories(world):
    payload = {"name": "new-repo", "format": "raw"}
    by_admin_role = _client(token_create(user=world["admin"]).secret).post(
        "/api/v1/repositories/", payload, format="json"
    )
    assert by_admin_role.status_code == 403
    root = UserFactory(username="root", is_superuser=True, is_staff=True)
    created = _client(token_create(user=root).secret).post(
        "/api/v1/repositories/", payload, format="json"
    )
    assert created.status_code == 201
    assert created.json()["name"] == "new-repo"


def test_token_api_shows_the_secret_once(world):
    client = _client(token_create(user=world["reader"]).secret)
    created = client.post(
        "/api/v1/tokens/", {"name": "ci", "repositories": ["private"]}, format="json"
    )
    assert created.status_code == 201
    secret = created.json()["token"]
    assert secret.startswith("reg_")
    listed = client.get("/api/v1/tokens/").json()["results"]
    assert {row["name"] for row in listed} == {"", "ci"}
    assert all("token" not in row for row in listed)
    revoked = client.delete(f"/api/v1/tokens/{created.json()['id']}/")
    assert revoked.status_code == 204
    assert _client(secret).get("/api/v1/repositories/").status_code == 401


def test_openapi_schema_is_served():
    response = APIClient().get("/api/schema/")
    assert response.status_code == 200
    assert b"/api/v1/repositories/" in response.content


@pytest.mark.parametrize(
    ("_case", "body", "content_type", "expected_code", "expected_message"),
    [
        (
            "malformed JSON",
            b"{not json",
            "application/json",
            "parse_error",
            "JSON parse error - Expecting property name enclosed in double quotes: "
            "line 1 column 2 (char 1)",
        ),
        (
            "unknown format",
            b'{"name": "x1", "format": "cobol"}',
            "application/json",
            "invalid",
            "invalid request",
        ),
        (
            "path-like name",
            b'{"name": "../etc", "format": "raw"}',
            "application/json",
            "invalid",
            "invalid request",
        ),
    ],
)
def test_bad_repository_input_is_a_clear_400(
    _case, body, content_type, expected_code, expected_message
):
    root = UserFactory(username="root", is_superuser=True, is_staff=True)
    client = _client(token_create(user=root).secret)
    response = client.generic("POST", "/api/v1/repositories/", body, content_type=content_type)
    assert response.status_code == 400
    assert response.json()["code"] == expected_code
    assert response.json()["message"] == expected_message
    assert Repository.objects.filter(name__in=["x1", "../etc"]).exists() is False
