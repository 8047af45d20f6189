"""``/-/authorize``: the permission answer nginx's auth_request caches before serving the mirror."""

import base64
from datetime import timedelta

import pytest
from django.utils import timezone

from access.models import ApiToken, Role
from access.services import role_grant, token_create, token_revoke
from tests.factories import PASSWORD, RepositoryFactory, UserFactory

pytestmark = pytest.mark.django_db
CHALLENGE = 'Basic realm="registry"'


def _basic(username: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{username}:{secret}".encode()).decode()}


@pytest.fixture
def repositories():
    return {
        "private": RepositoryFactory(name="private", format="maven"),
        "public": RepositoryFactory(name="public", format="maven", anonymous_read=True),
    }


@pytest.fixture
def credentials(repositories):
    """Authorization headers by who presents them."""
    reader = UserFactory(username="reader")
    role_grant(repository=repositories["private"], role=Role.READ, user=reader)
    UserFactory(username="stranger")
    revoked = token_create(user=reader)
    token_revoke(token=ApiToken.objects.get(pk=revoked.token.pk))
    expired = token_create(user=reader)
    ApiToken.objects.filter(pk=expired.token.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    return {
        "anonymous": {},
        "reader password": _basic("reader", PASSWORD),
        "reader token": _basic("__token__", token_create(user=reader).secret),
        "reader bearer": {"Authorization": f"Bearer {token_create(user=reader).secret}"},
        "stranger": _basic("stranger", PASSWORD),
        "revoked token": _basic("__token__", revoked.secret),
        "expired token": _basic("__token__", expired.secret),
        "wrong password": _basic("reader", "not the password"),
    }


@pytest.mark.parametrize(
    ("_case", "who", "repository", "action", "status"),
    [
        ("anonymous on a private repository is challenged", "anonymous", "private", "read", 401),
        ("a reader by password may read", "reader password", "private", "read", 204),
        ("a reader by token may read", "reader token", "private", "read", 204),
        ("a reader by bearer token may read", "reader bearer", "private", "read", 204),
        ("a reader may not write", "reader token", "private", "write", 403),
        ("a user without a role is refused", "stranger", "private", "read", 403),
        ("anonymous may read a public repository", "anonymous", "public", "read", 204),
        ("anonymous may not write a public repository", "anonymous", "public", "write", 401),
        ("a revoked token is challenged", "revoked token", "private", "read", 401),
        ("an expired token is challenged", "expired token", "private", "read", 401),
        ("a wrong password is challenged", "wrong password", "private", "read", 401),
        ("an unknown repository is refused", "reader token", "missing", "read", 403),
    ],
)
def test_authorize_answers_the_permission_check(
    client, credentials, _case, who, repository, action, status
):
    response = client.get(
        "/-/authorize",
        {"repository": repository, "action": action},
        headers=credentials[who],
    )

    assert response.status_code == status
    assert response.content == b""
    assert response.get("WWW-Authenticate") == (CHALLENGE if status == 401 else None)
    assert response["X-Accel-Expires"] == "5"


def test_authorize_reads_by_default_and_keeps_the_configured_ttl(client, credentials, settings):
    settings.AUTHORIZE_CACHE_SECONDS = 2

    response = client.head("/-/authorize?repository=private", headers=credentials["reader token"])

    assert response.status_code == 204
    assert response["X-Accel-Expires"] == "2"


@pytest.mark.parametrize(
    ("_case", "method", "query", "status"),
    [
        ("an unknown action is a configuration error", "get", "repository=private&action=x", 400),
        ("nginx only ever asks with GET or HEAD", "post", "repository=private", 405),
    ],
)
def test_authorize_refuses_malformed_questions(client, repositories, _case, method, query, status):
    response = getattr(client, method)(f"/-/authorize?{query}")

    assert response.status_code == status
