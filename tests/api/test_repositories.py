"""Repository management: its own permission through the one check, token limits always apply."""

import base64

import pytest
from django.contrib.auth.models import Permission
from rest_framework.test import APIClient

from access.models import RepositoryRole, Role
from access.services import token_create
from formats.models import Repository
from tests.factories import (
    PASSWORD,
    GroupFactory,
    PackageFactory,
    RepositoryFactory,
    UserFactory,
    VersionFactory,
)

pytestmark = pytest.mark.django_db

NEW = {"name": "fresh", "format": "raw"}


def _api(secret: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def _password_api(username: str) -> APIClient:
    client = APIClient()
    encoded = base64.b64encode(f"{username}:{PASSWORD}".encode()).decode()
    client.credentials(HTTP_AUTHORIZATION=f"Basic {encoded}")
    return client


@pytest.fixture
def root():
    return UserFactory(username="root", is_superuser=True, is_staff=True)


@pytest.fixture
def raw():
    return RepositoryFactory(name="raw")


def _may_add_repositories(user) -> None:
    user.user_permissions.add(Permission.objects.get(codename="add_repository"))


def test_a_read_only_superuser_token_cannot_delete_a_repository(root, raw):
    response = _api(token_create(user=root, read_only=True).secret).delete(
        "/api/v1/repositories/raw/"
    )

    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert Repository.objects.filter(name="raw").exists() is True


@pytest.mark.parametrize(
    ("_case", "options"),
    [("scoped to raw", {"scope": True}), ("read-only", {"read_only": True})],
)
def test_a_restricted_superuser_token_cannot_create_repositories(root, raw, _case, options):
    secret = token_create(
        user=root,
        repositories=[raw] if options.get("scope") else None,
        read_only=options.get("read_only", False),
    ).secret

    response = _api(secret).post("/api/v1/repositories/", NEW, format="json")

    assert response.status_code == 403
    assert Repository.objects.filter(name="fresh").exists() is False


def test_a_staff_user_without_a_role_cannot_see_change_or_delete_a_repository(raw):
    UserFactory(username="staffer", is_staff=True)
    client = _password_api("staffer")

    deleted = client.delete("/api/v1/repositories/raw/")
    patched = client.patch("/api/v1/repositories/raw/", {"anonymous_read": True}, format="json")
    created = client.post("/api/v1/repositories/", NEW, format="json")

    assert (deleted.status_code, patched.status_code, created.status_code) == (404, 404, 403)
    assert deleted.json()["code"] == "not_found"
    raw.refresh_from_db()
    assert raw.anonymous_read is False
    assert Repository.objects.filter(name="fresh").exists() is False


@pytest.mark.parametrize(
    ("role", "status"),
    [(Role.READ, 403), (Role.WRITE, 403), (Role.DELETE, 403), (Role.ADMIN, 204)],
)
def test_deleting_a_repository_needs_its_admin_role(make_user, raw, role, status):
    user = make_user(raw, role, is_staff=True)

    response = _api(token_create(user=user).secret).delete("/api/v1/repositories/raw/")

    assert response.status_code == status
    assert Repository.objects.filter(name="raw").exists() is (status != 204)


def test_an_admin_role_holder_changes_its_repository(make_user, raw):
    user = make_user(raw, Role.ADMIN)

    response = _api(token_create(user=user).secret).patch(
        "/api/v1/repositories/raw/", {"anonymous_read": True}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["anonymous_read"] is True
    raw.refresh_from_db()
    assert raw.anonymous_read is True


def test_the_add_repository_permission_lets_a_user_create_and_own_a_repository():
    user = UserFactory(username="builder")
    _may_add_repositories(user)
    client = _password_api("builder")

    created = client.post("/api/v1/repositories/", NEW, format="json")
    seen = client.get("/api/v1/repositories/fresh/")

    assert created.status_code == 201
    assert created.json()["name"] == "fresh"
    assert seen.status_code == 200
    binding = RepositoryRole.objects.get(repository__name="fresh")
    assert (binding.user, binding.role) == (user, Role.ADMIN)


def test_the_add_repository_permission_through_a_group_counts():
    user = UserFactory(username="builder")
    group = GroupFactory()
    group.permissions.add(Permission.objects.get(codename="add_repository"))
    user.groups.add(group)

    response = _password_api("builder").post("/api/v1/repositories/", NEW, format="json")

    assert response.status_code == 201


def test_a_read_only_token_of_a_user_who_may_add_repositories_cannot():
    user = UserFactory(username="builder")
    _may_add_repositories(user)

    response = _api(token_create(user=user, read_only=True).secret).post(
        "/api/v1/repositories/", NEW, format="json"
    )

    assert response.status_code == 403
    assert Repository.objects.filter(name="fresh").exists() is False


def test_anonymous_creation_is_challenged():
    response = APIClient().post("/api/v1/repositories/", NEW, format="json")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Basic realm="registry"'
    assert Repository.objects.exists() is False


@pytest.mark.parametrize("config", [[1, 2], "text", 7, None, True])
def test_a_config_that_is_not_an_object_is_refused(root, raw, config):
    client = _api(token_create(user=root).secret)

    created = client.post("/api/v1/repositories/", {**NEW, "config": config}, format="json")
    patched = client.patch("/api/v1/repositories/raw/", {"config": config}, format="json")

    assert (created.status_code, patched.status_code) == (400, 400)
    assert list(created.json()["detail"]) == ["config"]
    assert list(patched.json()["detail"]) == ["config"]
    assert Repository.objects.filter(name="fresh").exists() is False
    raw.refresh_from_db()
    assert raw.config == {}
    assert client.get("/api/v1/repositories/raw/").status_code == 200


@pytest.mark.parametrize(
    ("_case", "change"),
    [("format", {"format": "npm"}), ("kind", {"kind": "proxy"})],
)
def test_format_and_kind_of_a_repository_with_content_cannot_change(root, raw, _case, change):
    PackageFactory(repository=raw, name="notes")
    client = _api(token_create(user=root).secret)

    response = client.patch("/api/v1/repositories/raw/", change, format="json")

    assert response.status_code == 409
    assert response.json() == {
        "code": "REPOSITORY_IN_USE",
        "message": f"repository 'raw' holds content: its {_case} cannot change",
        "detail": {},
    }
    raw.refresh_from_db()
    assert (raw.format, raw.kind) == ("raw", "hosted")


def test_a_group_member_cannot_change_format(root, raw):
    group = RepositoryFactory(name="all-raw", kind="group")
    group.members.add(raw)

    response = _api(token_create(user=root).secret).put(
        "/api/v1/repositories/raw/", {"name": "raw", "format": "pypi"}, format="json"
    )

    assert response.status_code == 409
    raw.refresh_from_db()
    assert raw.format == "raw"


def test_an_empty_repository_may_change_format(root, raw):
    response = _api(token_create(user=root).secret).patch(
        "/api/v1/repositories/raw/", {"format": "npm", "kind": "hosted"}, format="json"
    )

    assert response.status_code == 200
    raw.refresh_from_db()
    assert raw.format == "npm"


def test_a_superuser_creates_a_repository_with_config_and_no_role_binding(root):
    response = _api(token_create(user=root).secret).post(
        "/api/v1/repositories/", {**NEW, "config": {"note": "x"}}, format="json"
    )

    assert response.status_code == 201
    assert Repository.objects.get(name="fresh").config == {"note": "x"}
    # A superuser needs no role of its own on what it creates.
    assert RepositoryRole.objects.exists() is False


def test_a_repository_whose_name_has_a_dot_is_reachable(root):
    RepositoryFactory(name="team.npm", format="npm")
    client = _api(token_create(user=root).secret)

    found = client.get("/api/v1/repositories/team.npm/")
    deleted = client.delete("/api/v1/repositories/team.npm/")

    assert found.status_code == 200
    assert found.json()["name"] == "team.npm"
    assert deleted.status_code == 204
    assert Repository.objects.filter(name="team.npm").exists() is False


def test_patching_deprecated_sets_and_lifts_it_and_leaves_the_rest(root):
    version = VersionFactory(package=PackageFactory(repository=RepositoryFactory(format="npm")))
    api = _api(token_create(user=root).secret)
    url = f"/api/v1/versions/{version.pk}/"

    set_response = api.patch(url, {"deprecated": "use 2.x"}, format="json")
    version.refresh_from_db()
    set_state = (version.deprecated, version.yanked)
    lift_response = api.patch(url, {"deprecated": ""}, format="json")
    version.refresh_from_db()

    assert (set_response.status_code, set_response.json()["deprecated"]) == (200, "use 2.x")
    assert set_state == ("use 2.x", False)
    assert (lift_response.status_code, version.deprecated) == (200, "")
