"""The admin console: an operator creates a token (shown once) and revokes it."""

import re

import pytest

from access.auth import principal_for_token
from access.errors import AuthenticationFailed
from access.models import ApiToken
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator(client):
    admin = UserFactory(username="operator", is_staff=True, is_superuser=True)
    client.force_login(admin)
    return admin


def test_token_created_in_the_admin_is_shown_once_and_works(client, operator):
    owner = UserFactory(username="deployer")
    response = client.post(
        "/admin/access/apitoken/add/",
        {"user": owner.pk, "name": "deploy", "expires_at_0": "", "expires_at_1": ""},
        follow=True,
    )
    assert response.status_code == 200
    secret = re.search(r"(reg_[A-Za-z0-9_-]{43})", response.content.decode()).group(1)
    principal = principal_for_token(secret)
    assert principal is not None
    assert principal.user == owner

    token = ApiToken.objects.get(user=owner)
    change_page = client.get(f"/admin/access/apitoken/{token.pk}/change/").content.decode()
    assert secret not in change_page
    assert token.token_prefix in change_page


def test_revoke_action(client, operator):
    from access.services import token_create

    issued = token_create(user=UserFactory())
    response = client.post(
        "/admin/access/apitoken/",
        {"action": "revoke", "_selected_action": [issued.token.pk]},
        follow=True,
    )
    assert response.status_code == 200
    with pytest.raises(AuthenticationFailed):
        principal_for_token(issued.secret)


@pytest.mark.parametrize(
    "path",
    [
        "/admin/formats/repository/add/",
        "/admin/auth/user/add/",
        "/admin/auth/group/add/",
        "/admin/access/repositoryrole/add/",
        "/admin/formats/package/",
        "/admin/formats/version/",
        "/admin/formats/tag/",
        "/admin/formats/tagevent/",
        "/admin/storage/blob/",
    ],
)
def test_admin_pages_render(client, operator, path):
    assert client.get(path).status_code == 200
