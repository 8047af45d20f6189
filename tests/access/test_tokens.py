import hashlib
from datetime import timedelta

import pytest
from django.test import RequestFactory

from access.auth import authenticate
from access.errors import AuthenticationFailed
from access.models import ApiToken
from access.services import token_create, token_revoke
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def _request(authorization: str):
    return RequestFactory().get("/", headers={"Authorization": authorization})


def _basic(username: str, password: str) -> str:
    import base64

    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def test_tokens_are_stored_only_as_a_hash():
    issued = token_create(user=UserFactory())
    stored = ApiToken.objects.get(pk=issued.token.pk)
    assert stored.token_hash == hashlib.sha256(issued.secret.encode()).hexdigest()
    row = ApiToken.objects.filter(pk=stored.pk).values().get()
    assert issued.secret not in {str(value) for value in row.values()}
    assert issued.secret.startswith("reg_")
    assert len(issued.secret) == 47


@pytest.mark.parametrize(
    ("_case", "style"),
    [("bearer", "bearer"), ("basic with __token__", "token-user"), ("basic as password", "basic")],
)
def test_a_token_authenticates_in_every_client_style(_case, style):
    user = UserFactory(username="carol")
    secret = token_create(user=user).secret
    header = {
        "bearer": f"Bearer {secret}",
        "token-user": _basic("__token__", secret),
        "basic": _basic("carol", secret),
    }[style]
    principal = authenticate(_request(header))
    assert principal.user == user
    assert principal.token is not None


def test_password_authenticates_over_basic():
    user = UserFactory(username="dave")
    assert authenticate(_request(_basic("dave", PASSWORD))).user == user


@pytest.mark.parametrize(
    ("_case", "header"),
    [
        ("wrong password", _basic("erin", "nope")),
        ("unknown token", "Bearer reg_doesnotexist"),
        ("garbage basic", "Basic !!!"),
    ],
)
def test_bad_credentials_fail_with_401(_case, header):
    UserFactory(username="erin")
    with pytest.raises(AuthenticationFailed) as raised:
        authenticate(_request(header))
    assert raised.value.http_status == 401
    assert raised.value.headers["WWW-Authenticate"] == 'Basic realm="registry"'


def test_expired_and_revoked_tokens_stop_working():
    user = UserFactory()
    expired = token_create(user=user, expires_in=timedelta(seconds=-1)).secret
    revoked = token_create(user=user)
    token_revoke(token=revoked.token)
    for secret in (expired, revoked.secret):
        with pytest.raises(AuthenticationFailed):
            authenticate(_request(f"Bearer {secret}"))
