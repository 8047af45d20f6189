"""A credential never mints or revokes beyond its own limits (REST token API)."""

import base64
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from access.models import ApiToken, Role
from access.services import TOKEN_MAX_DAYS, role_grant, token_create
from formats.models import Repository
from tests.factories import PASSWORD, RepositoryFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def repos():
    return {name: RepositoryFactory(name=name) for name in ("alpha", "beta", "secret")}


@pytest.fixture
def carol(repos, make_user):
    user = make_user(repos["alpha"], Role.ADMIN, username="carol")
    role_grant(repository=repos["beta"], role=Role.ADMIN, user=user)
    return user


def _api(secret: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def _basic_api(username: str) -> APIClient:
    client = APIClient()
    encoded = base64.b64encode(f"{username}:{PASSWORD}".encode()).decode()
    client.credentials(HTTP_AUTHORIZATION=f"Basic {encoded}")
    return client


def _stored(response) -> ApiToken:
    return ApiToken.objects.get(pk=response.json()["id"])


def _scope(token: ApiToken) -> list[str]:
    return sorted(token.repositories.values_list("name", flat=True))


def test_a_read_only_token_creates_read_only_tokens(carol):
    parent = token_create(user=carol, read_only=True).secret

    inherited = _api(parent).post("/api/v1/tokens/", {"name": "child"}, format="json")
    widened = _api(parent).post(
        "/api/v1/tokens/", {"name": "writer", "read_only": False}, format="json"
    )

    assert inherited.status_code == 201
    assert inherited.json()["read_only"] is True
    assert _stored(inherited).read_only is True
    assert widened.status_code == 403
    assert widened.json() == {
        "code": "DENIED",
        "message": "a read-only token can create only read-only tokens",
        "detail": {},
    }
    assert ApiToken.objects.filter(name="writer").exists() is False


def test_a_scoped_token_creates_tokens_within_its_repositories(carol, repos):
    parent = token_create(user=carol, repositories=[repos["alpha"], repos["beta"]]).secret

    inherited = _api(parent).post("/api/v1/tokens/", {"name": "same"}, format="json")
    narrower = _api(parent).post(
        "/api/v1/tokens/", {"name": "narrow", "repositories": ["alpha"]}, format="json"
    )

    assert inherited.status_code == 201
    assert inherited.json()["repositories"] == ["alpha", "beta"]
    assert _scope(_stored(inherited)) == ["alpha", "beta"]
    assert narrower.status_code == 201
    assert _scope(_stored(narrower)) == ["alpha"]


def test_a_scoped_token_cannot_name_a_repository_outside_its_scope(carol, repos):
    gamma = RepositoryFactory(name="gamma")
    role_grant(repository=gamma, role=Role.ADMIN, user=carol)
    parent = token_create(user=carol, repositories=[repos["alpha"]]).secret

    response = _api(parent).post(
        "/api/v1/tokens/", {"name": "wider", "repositories": ["alpha", "gamma"]}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["detail"] == {"repositories": ["Object with name=gamma does not exist."]}
    assert ApiToken.objects.filter(name="wider").exists() is False


def test_an_expiring_token_creates_tokens_that_do_not_outlive_it(carol):
    parent = token_create(user=carol, expires_in=timedelta(days=2))
    client = _api(parent.secret)

    inherited = client.post("/api/v1/tokens/", {"name": "same"}, format="json")
    shorter = client.post("/api/v1/tokens/", {"name": "short", "expires_in_days": 1}, format="json")
    longer = client.post("/api/v1/tokens/", {"name": "long", "expires_in_days": 3}, format="json")

    assert inherited.status_code == 201
    assert _stored(inherited).expires_at == parent.token.expires_at
    assert shorter.status_code == 201
    assert _stored(shorter).expires_at < parent.token.expires_at
    assert longer.status_code == 403
    assert longer.json()["message"] == (
        f"this token expires at {parent.token.expires_at.isoformat()}; "
        "the tokens it creates cannot outlive it"
    )
    assert ApiToken.objects.filter(name="long").exists() is False


def test_a_password_creates_an_unrestricted_token(carol):
    response = _basic_api("carol").post("/api/v1/tokens/", {"name": "full"}, format="json")

    assert response.status_code == 201
    token = _stored(response)
    assert (token.read_only, _scope(token), token.expires_at) == (False, [], None)


def test_an_oci_registry_jwt_creates_revokes_and_manages_nothing(client):
    root = UserFactory(username="root", is_superuser=True)
    RepositoryFactory(name="images", format="oci")
    other = token_create(user=root).token
    encoded = base64.b64encode(f"root:{PASSWORD}".encode()).decode()
    issued = client.get(
        "/v2/token",
        {"scope": "repository:images/app:pull,push,delete", "service": "testserver"},
        headers={"Authorization": f"Basic {encoded}"},
    )
    assert issued.status_code == 200
    jwt = _api(issued.json()["token"])

    created = jwt.post("/api/v1/tokens/", {"name": "x"}, format="json")
    revoked = jwt.delete(f"/api/v1/tokens/{other.pk}/")
    repository = jwt.post("/api/v1/repositories/", {"name": "new", "format": "raw"}, format="json")

    assert created.status_code == 403
    assert created.json()["message"] == "a registry token (JWT) cannot create API tokens"
    assert revoked.status_code == 403
    assert revoked.json()["message"] == "a read-only or registry token can revoke only itself"
    assert repository.status_code == 403
    assert list(ApiToken.objects.values_list("pk", "revoked_at")) == [(other.pk, None)]
    assert list(Repository.objects.values_list("name", flat=True)) == ["images"]


@pytest.mark.parametrize("days", [0, TOKEN_MAX_DAYS + 1, 10**12, 10**40])
def test_expires_in_days_out_of_range_is_a_400(carol, days):
    client = _basic_api("carol")

    response = client.post("/api/v1/tokens/", {"expires_in_days": days}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert list(response.json()["detail"]) == ["expires_in_days"]
    assert ApiToken.objects.exists() is False


def test_naming_a_private_repository_tells_nothing_about_its_existence(carol, repos):
    client = _basic_api("carol")

    private = client.post("/api/v1/tokens/", {"repositories": ["secret"]}, format="json")
    missing = client.post("/api/v1/tokens/", {"repositories": ["nosuch"]}, format="json")

    assert (private.status_code, missing.status_code) == (400, 400)
    assert private.json()["detail"] == {"repositories": ["Object with name=secret does not exist."]}
    assert missing.json()["detail"] == {"repositories": ["Object with name=nosuch does not exist."]}
    assert ApiToken.objects.exists() is False


@pytest.mark.parametrize(
    ("_case", "options", "status"),
    [
        ("read-only token", {"read_only": True}, 403),
        ("token scoped to another repository", {"scope": ["beta"]}, 403),
        ("token scoped to the same repository", {"scope": ["alpha"]}, 204),
        ("token scoped to more repositories", {"scope": ["alpha", "beta"]}, 204),
        ("unrestricted token", {}, 204),
    ],
)
def test_who_may_revoke_another_token(carol, repos, _case, options, status):
    victim = token_create(user=carol, repositories=[repos["alpha"]]).token
    scope = [repos[name] for name in options.get("scope", [])]
    caller = token_create(
        user=carol, repositories=scope, read_only=options.get("read_only", False)
    ).secret

    response = _api(caller).delete(f"/api/v1/tokens/{victim.pk}/")

    assert response.status_code == status
    victim.refresh_from_db()
    assert (victim.revoked_at is None) is (status == 403)


def test_a_read_only_token_may_revoke_itself(carol):
    issued = token_create(user=carol, read_only=True)

    response = _api(issued.secret).delete(f"/api/v1/tokens/{issued.token.pk}/")

    assert response.status_code == 204
    issued.token.refresh_from_db()
    assert issued.token.revoked_at is not None
    assert issued.token.revoked_at <= timezone.now()


def test_no_token_api_returns_a_hash(carol):
    issued = token_create(user=carol)

    listed = _api(issued.secret).get("/api/v1/tokens/")
    detail = _api(issued.secret).get(f"/api/v1/tokens/{issued.token.pk}/")

    assert issued.token.token_hash not in listed.content.decode()
    assert issued.token.token_hash not in detail.content.decode()
    assert sorted(detail.json()) == [
        "created",
        "expires_at",
        "id",
        "last_used_at",
        "name",
        "read_only",
        "repositories",
        "revoked_at",
        "token_prefix",
    ]
