"""/ui/tokens/: create (secret shown once), list and revoke personal tokens, audited."""

import re

import pytest
from django.test import Client

from access.models import ApiToken, Role
from audit.models import AuditEvent
from tests.factories import RepositoryFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def files(db):
    return RepositoryFactory(name="files", format="raw")


@pytest.fixture
def erin(files, make_user):
    return make_user(files, Role.WRITE, username="erin")


def _secret(response) -> str:
    match = re.search(r'<pre id="new-token">([^<]+)</pre>', response.content.decode())
    assert match is not None, "no secret on the page"
    return match.group(1)


def _read(secret: str) -> int:
    """The status of reading the private repository with the token (a real file: tests/browser)."""
    headers = {"Authorization": f"Bearer {secret}"}
    return Client().get("/api/v1/repositories/files/", headers=headers).status_code


def test_the_tokens_page_asks_a_visitor_to_sign_in(client):
    response = client.get("/ui/tokens/")
    assert (response.status_code, response["Location"]) == (302, "/ui/login/?next=/ui/tokens/")


def test_a_new_token_is_shown_once_works_and_stops_working_when_revoked(client, erin, files):
    client.force_login(erin)
    created = client.post(
        "/ui/tokens/",
        {"name": "ci", "repositories": [files.pk], "read_only": "on", "expires_in_days": "30"},
    )
    secret = _secret(created)
    token = ApiToken.objects.get(user=erin)

    assert (created.status_code, created["Cache-Control"]) == (200, "no-store")
    assert (token.name, token.read_only, list(token.repositories.all())) == ("ci", True, [files])
    assert token.expires_at is not None
    assert _read(secret) == 200
    listed = client.get("/ui/tokens/").content.decode()
    assert secret not in listed
    assert f"<code>{token.token_prefix}…</code>" in listed
    assert "<td>read-only</td>" in listed
    assert re.search(r"<td>\d{4}-\d\d-\d\d \d\d:\d\d</td>\s*<td>\d{4}-", listed)  # last used

    revoked = client.post(f"/ui/tokens/{token.pk}/revoke/", follow=True)

    assert "Token ci revoked." in revoked.content.decode()
    assert _read(secret) == 401
    actions = list(AuditEvent.objects.order_by("pk").values_list("action", "username"))
    assert ("token.create", "erin") in actions
    assert ("token.revoke", "erin") in actions


def test_a_token_of_another_user_cannot_be_revoked(client, erin, make_token):
    other = UserFactory(username="frank")
    make_token(other)
    client.force_login(erin)

    response = client.post(f"/ui/tokens/{ApiToken.objects.get(user=other).pk}/revoke/")

    assert response.status_code == 404
    assert ApiToken.objects.get(user=other).revoked_at is None


def test_revoking_is_a_post(client, erin, make_token):
    make_token(erin)
    client.force_login(erin)
    assert client.get(f"/ui/tokens/{ApiToken.objects.get().pk}/revoke/").status_code == 405


@pytest.mark.parametrize(
    ("_case", "form", "message"),
    [
        ("no lifetime of 0 days", {"expires_in_days": "0"}, "greater than or equal to 1"),
        ("a repository the user may not read", {"repositories": ["999999"]}, "valid choice"),
    ],
)
def test_a_bad_form_is_shown_again_with_the_error(client, erin, _case, form, message):
    client.force_login(erin)
    response = client.post("/ui/tokens/", {"name": "x", **form})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert ApiToken.objects.count() == 0


def test_only_readable_repositories_are_offered(client, erin):
    RepositoryFactory(name="someone-elses")
    client.force_login(erin)
    page = client.get("/ui/tokens/").content.decode()
    assert "files" in page
    assert "someone-elses" not in page
