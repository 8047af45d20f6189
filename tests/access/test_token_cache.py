"""API tokens found active are reused for TOKEN_CACHE_SECONDS, and revoking still ends them."""

import base64
import time

import pytest
from django.core.cache import caches
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from access.models import ApiToken, Role
from access.services import token_revoke
from tests.factories import RepositoryFactory

pytestmark = [pytest.mark.django_db, pytest.mark.protocol]

# The token (its scoped flag is a column of it) and its user.
TOKEN_TABLES = ('"access_apitoken', '"auth_user"')


@pytest.fixture(autouse=True)
def _fresh_cache(settings):
    settings.TOKEN_CACHE_SECONDS = 5
    caches["local"].clear()
    yield
    caches["local"].clear()


@pytest.fixture
def reader(make_user):
    return make_user(RepositoryFactory(name="files", format="raw"), Role.READ, username="reader")


def _get(client, secret: str):
    credentials = base64.b64encode(f"__token__:{secret}".encode()).decode()
    headers = {"Authorization": f"Basic {credentials}"}
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/repository/files/missing.txt", headers=headers)
    reads = [q["sql"] for q in queries if any(t in q["sql"] for t in TOKEN_TABLES)]
    return response.status_code, len(reads)


def test_a_token_is_read_once_while_it_is_cached(client, reader, make_token):
    secret = make_token(reader)

    assert [_get(client, secret) for _ in range(3)] == [(404, 3), (404, 0), (404, 0)]


def test_revoking_ends_a_cached_token_at_once(client, reader, make_token):
    secret = make_token(reader)
    assert _get(client, secret) == (404, 3)

    token_revoke(token=ApiToken.objects.get(user=reader))

    assert _get(client, secret) == (401, 2)


def test_a_token_revoked_elsewhere_works_until_its_entry_expires(
    client, reader, make_token, settings
):
    settings.TOKEN_CACHE_SECONDS = 1
    secret = make_token(reader)
    assert _get(client, secret) == (404, 3)
    # Another process revokes it: this process's copy is not told.
    ApiToken.objects.update(revoked_at=timezone.now())
    assert _get(client, secret) == (404, 0)
    time.sleep(settings.TOKEN_CACHE_SECONDS + 0.1)

    assert _get(client, secret) == (401, 2)


def test_a_token_is_read_on_every_request_when_the_cache_is_off(
    client, reader, make_token, settings
):
    settings.TOKEN_CACHE_SECONDS = 0
    secret = make_token(reader)

    assert [_get(client, secret) for _ in range(2)] == [(404, 3), (404, 2)]


def test_an_unknown_token_is_never_cached(client, reader):
    assert [_get(client, "reg_unknown") for _ in range(2)] == [(401, 1), (401, 1)]
    assert list(caches["local"]._cache) == []
