"""``/-/authorize``: the permission answer nginx's auth_request caches before serving the mirror."""

import base64
from datetime import timedelta

import pytest
from django.utils import timezone

from access.models import ApiToken, Role
from access.services import role_grant, token_create, token_revoke
from formats.models import Repository
from formats.services import repository_members_set
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


@pytest.fixture
def groups(repositories):
    """``open``: a public group of private + public; ``closed``: a private group; ``nested``."""
    private, public = repositories["private"], repositories["public"]
    made = {
        "open": RepositoryFactory(
            name="open", format="maven", kind=Repository.Kind.GROUP, anonymous_read=True
        ),
        "closed": RepositoryFactory(name="closed", format="maven", kind=Repository.Kind.GROUP),
        "all-public": RepositoryFactory(
            name="all-public", format="maven", kind=Repository.Kind.GROUP, anonymous_read=True
        ),
        "nested": RepositoryFactory(name="nested", format="maven", kind=Repository.Kind.GROUP),
    }
    repository_members_set(repository=made["open"], members=[public, private])
    repository_members_set(repository=made["closed"], members=[private, public])
    repository_members_set(repository=made["all-public"], members=[public])
    repository_members_set(repository=made["nested"], members=[made["all-public"], private])
    reader = UserFactory(username="reader")
    role_grant(repository=private, role=Role.READ, user=reader)
    role_grant(repository=made["closed"], role=Role.READ, user=reader)
    role_grant(repository=made["nested"], role=Role.READ, user=reader)
    partial = UserFactory(username="partial")
    for name in ("closed", "nested"):
        role_grant(repository=made[name], role=Role.READ, user=partial)
    UserFactory(username="stranger")
    return made


@pytest.mark.parametrize(
    ("_case", "who", "repository", "status"),
    [
        ("a reader of the group and every member may", "reader", "closed", 204),
        ("members read through nested groups count", "reader", "nested", 204),
        ("a reader of all members of a public group may", "reader", "open", 204),
        ("a reader of the group but not a member goes to the registry", "partial", "closed", 403),
        ("so does one missing a member of a nested group", "partial", "nested", 403),
        ("anonymous on a public group with a private member too", None, "open", 403),
        ("anonymous on a public group of public members may", None, "all-public", 204),
        ("a stranger on a private group is refused", "stranger", "closed", 403),
        ("anonymous on a private group is challenged", None, "closed", 401),
    ],
)
def test_authorize_sends_only_readers_of_every_member_to_a_group_mirror(
    client, groups, _case, who, repository, status
):
    headers = _basic(who, PASSWORD) if who else {}

    response = client.get("/-/authorize", {"repository": repository}, headers=headers)

    assert response.status_code == status
    assert response.get("WWW-Authenticate") == (CHALLENGE if status == 401 else None)
    assert response["X-Accel-Expires"] == "5"


def test_authorize_refuses_a_repository_the_mirror_cannot_hold(client, credentials):
    RepositoryFactory(name="files", format="raw", anonymous_read=True)

    response = client.get("/-/authorize", {"repository": "files"}, headers=credentials["anonymous"])

    # Only Maven repositories are mirrored: nginx hands anything else to the registry.
    assert (response.status_code, response.content) == (403, b"")
    assert response["X-Accel-Expires"] == "5"
