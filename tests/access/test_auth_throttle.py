"""Password checks: verified passwords are cached safely; failures lock out users and addresses."""

import base64
import hashlib
import json
import pickle
import time
from datetime import timedelta

import pytest
from django.core.cache import caches
from django.test import RequestFactory
from django.utils import timezone

from access.models import ApiToken, Role, SignInThrottle
from access.throttle import client_address
from tests.access.hashers import CountingHasher
from tests.factories import PASSWORD, RepositoryFactory

pytestmark = [pytest.mark.django_db, pytest.mark.protocol]

LIMIT = 3
LOCKOUT = 900


def basic(username: str, password: str) -> dict[str, str]:
    return {
        "Authorization": "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()
    }


@pytest.fixture(autouse=True)
def _throttle_settings(settings):
    settings.PASSWORD_HASHERS = ["tests.access.hashers.CountingHasher"]
    settings.SIGN_IN_FAILURE_LIMIT_USER = LIMIT
    settings.SIGN_IN_FAILURE_LIMIT_ADDRESS = 2 * LIMIT
    settings.SIGN_IN_LOCKOUT_SECONDS = LOCKOUT
    settings.PASSWORD_CACHE_SECONDS = 300
    CountingHasher.verified = 0
    for cache in caches.all():
        cache.clear()
    yield
    for cache in caches.all():
        cache.clear()


@pytest.fixture
def files(db):
    return RepositoryFactory(name="files", format="raw")


@pytest.fixture
def alice(files, make_user):
    return make_user(files, Role.READ, username="alice")


def _items(alias):
    """What a LocMemCache holds: (key, pickled value) pairs."""
    return caches[alias]._cache.items()


def _get(client, headers, address="10.0.0.1"):
    return client.get("/repository/files/missing.txt", headers=headers, REMOTE_ADDR=address)


def _lock_out(client, username="alice", address="10.0.0.1"):
    for _ in range(LIMIT):
        assert _get(client, basic(username, "wrong"), address).status_code == 401


# The verified-password cache.


def test_a_verified_password_is_not_hashed_again(client, alice):
    first = _get(client, basic("alice", PASSWORD))
    second = _get(client, basic("alice", PASSWORD))

    assert (first.status_code, second.status_code) == (404, 404)
    assert CountingHasher.verified == 1


def test_the_cache_holds_neither_the_password_nor_an_unkeyed_hash_of_it(client, alice):
    _get(client, basic("alice", PASSWORD))

    entries = {
        key: pickle.loads(value) for alias in ("default", "local") for key, value in _items(alias)
    }
    stored = repr(entries).encode()
    unkeyed = [
        hashlib.sha256(f"{name}{separator}{PASSWORD}".encode()).hexdigest()
        for name in ("", "alice")
        for separator in ("", ":", "\0")
    ]
    assert len(entries) == 1  # one key, in memory and in the shared cache
    assert PASSWORD.encode() not in stored
    assert [digest for digest in unkeyed if digest.encode() in stored] == []
    assert alice.password.encode() not in stored


def test_a_changed_password_misses_the_cache(client, alice):
    _get(client, basic("alice", PASSWORD))
    alice.set_password("a new password 2")
    alice.save()

    old = _get(client, basic("alice", PASSWORD))
    new = _get(client, basic("alice", "a new password 2"))

    assert (old.status_code, new.status_code) == (401, 404)
    assert CountingHasher.verified == 3


def test_a_deactivated_user_misses_the_cache(client, alice):
    _get(client, basic("alice", PASSWORD))
    alice.is_active = False
    alice.save()

    response = _get(client, basic("alice", PASSWORD))

    assert response.status_code == 401
    assert CountingHasher.verified == 2


def test_an_expired_entry_misses_the_cache(client, alice, settings):
    settings.PASSWORD_CACHE_SECONDS = 1
    _get(client, basic("alice", PASSWORD))
    time.sleep(1.1)

    response = _get(client, basic("alice", PASSWORD))

    assert response.status_code == 404
    assert CountingHasher.verified == 2


def test_a_wrong_password_is_never_cached(client, alice):
    _get(client, basic("alice", "wrong"))
    _get(client, basic("alice", "wrong"))

    assert CountingHasher.verified == 2
    assert (list(_items("default")), list(_items("local"))) == ([], [])


def test_a_password_another_process_verified_is_not_hashed_again(client, alice):
    _get(client, basic("alice", PASSWORD))
    caches["local"].clear()  # this process never saw it; the shared cache (Redis) has it

    response = _get(client, basic("alice", PASSWORD))

    assert response.status_code == 404
    assert CountingHasher.verified == 1
    assert len(list(_items("local"))) == 1


# The lockout.


def test_a_locked_user_is_refused_with_the_right_password_and_without_hashing(client, alice):
    _lock_out(client)
    hashed = CountingHasher.verified

    response = _get(client, basic("alice", PASSWORD), address="10.0.0.2")

    assert response.status_code == 429
    assert response["Retry-After"] in {str(LOCKOUT), str(LOCKOUT - 1)}
    assert response.json() == {
        "error": f"too many failed sign-in attempts; retry in {response['Retry-After']} s"
    }
    assert CountingHasher.verified == hashed == LIMIT


def test_a_cached_password_is_refused_during_a_lockout(client, alice):
    assert _get(client, basic("alice", PASSWORD)).status_code == 404
    _lock_out(client, address="10.0.0.9")

    assert _get(client, basic("alice", PASSWORD)).status_code == 429


def test_a_lockout_is_logged_for_operators(client, alice, caplog):
    with caplog.at_level("WARNING", logger="access.throttle"):
        _lock_out(client)

    assert [r.getMessage() for r in caplog.records if r.name == "access.throttle"] == [
        f"sign-in locked out after {LIMIT} failures: user:alice"
    ]


def test_failures_below_the_limit_do_not_lock(client, alice):
    for _ in range(LIMIT - 1):
        _get(client, basic("alice", "wrong"))

    assert _get(client, basic("alice", PASSWORD)).status_code == 404


def test_a_lockout_ends(client, alice):
    _lock_out(client)
    SignInThrottle.objects.filter(key="user:alice").update(
        locked_until=timezone.now() - timedelta(seconds=1)
    )

    assert _get(client, basic("alice", PASSWORD)).status_code == 404


def test_failures_older_than_the_window_are_forgotten(client, alice):
    for _ in range(LIMIT - 1):
        _get(client, basic("alice", "wrong"))
    SignInThrottle.objects.update(window_start=timezone.now() - timedelta(hours=1))

    assert _get(client, basic("alice", "wrong")).status_code == 401
    assert _get(client, basic("alice", PASSWORD)).status_code == 404
    assert SignInThrottle.objects.get(key="user:alice").failures == 1


def test_an_api_token_still_works_for_a_locked_user(client, alice, make_token):
    token = make_token(alice)
    _lock_out(client)

    assert _get(client, basic("__token__", token)).status_code == 404
    assert _get(client, {"Authorization": f"Bearer {token}"}).status_code == 404


def test_an_address_is_locked_out_across_user_names(client, alice):
    for index in range(2 * LIMIT):
        assert _get(client, basic(f"guess{index}", "wrong")).status_code == 401

    from_there = _get(client, basic("alice", PASSWORD))
    elsewhere = _get(client, basic("alice", PASSWORD), address="10.0.0.2")

    assert (from_there.status_code, elsewhere.status_code) == (429, 404)
    assert SignInThrottle.objects.filter(key="user:alice").exists() is False


@pytest.mark.parametrize(
    ("_case", "forwarded", "proxies", "expected"),
    [
        ("no proxy: the socket's address", "203.0.113.9", 0, "10.0.0.1"),
        ("one proxy: what it appended", "203.0.113.9", 1, "203.0.113.9"),
        ("a spoofed entry before the proxy's is ignored", "1.2.3.4, 203.0.113.9", 1, "203.0.113.9"),
        ("two proxies", "203.0.113.9, 10.1.1.1", 2, "203.0.113.9"),
        ("fewer entries than proxies: the socket's address", "203.0.113.9", 2, "10.0.0.1"),
    ],
)
def test_client_address_trusts_only_the_configured_proxies(
    settings, _case, forwarded, proxies, expected
):
    settings.TRUSTED_PROXY_COUNT = proxies
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=forwarded)

    assert client_address(request) == expected


# Every password path answers 429 in its client's format.


def _npm_login(client):
    body = {"_id": "org.couchdb.user:alice", "name": "alice", "password": PASSWORD}
    return client.put(
        "/repository/npm/-/user/org.couchdb.user:alice",
        json.dumps(body),
        content_type="application/json",
    )


def _message(response) -> str:
    return f"too many failed sign-in attempts; retry in {response['Retry-After']} s"


@pytest.mark.parametrize(
    ("_case", "request_", "body"),
    [
        (
            "pip (reason phrase)",
            lambda c: c.get("/repository/pypi/simple/", headers=basic("alice", PASSWORD)),
            lambda r: (r.reason_phrase, r.content.decode()) == (_message(r), _message(r) + "\n"),
        ),
        (
            "mvn (reason phrase)",
            lambda c: c.get("/repository/maven/a/b/1/b-1.jar", headers=basic("alice", PASSWORD)),
            lambda r: r.reason_phrase == _message(r),
        ),
        (
            "OCI ping",
            lambda c: c.get("/v2/", headers=basic("alice", PASSWORD)),
            lambda r: (
                r.json()["errors"][0]
                == {
                    "code": "TOOMANYREQUESTS",
                    "message": _message(r),
                    "detail": {},
                }
            ),
        ),
        (
            "OCI token endpoint",
            lambda c: c.get("/v2/token?service=x", headers=basic("alice", PASSWORD)),
            lambda r: r.json()["errors"][0]["code"] == "TOOMANYREQUESTS",
        ),
        (
            "npm login",
            _npm_login,
            lambda r: r.json() == {"error": _message(r)},
        ),
        (
            "management API",
            lambda c: c.get("/api/v1/tokens/", headers=basic("alice", PASSWORD)),
            lambda r: r.json() == {"code": "TOOMANYREQUESTS", "message": _message(r), "detail": {}},
        ),
    ],
)
def test_every_password_path_answers_429_in_its_format(client, alice, _case, request_, body):
    for name, format_name in [("pypi", "pypi"), ("maven", "maven"), ("npm", "npm")]:
        RepositoryFactory(name=name, format=format_name)
    _lock_out(client, address="127.0.0.1")
    tokens_before = ApiToken.objects.count()

    response = request_(client)

    assert response.status_code == 429
    assert response["Retry-After"] in {str(LOCKOUT), str(LOCKOUT - 1)}
    assert body(response)
    assert ApiToken.objects.count() == tokens_before


def test_npm_login_counts_failures_per_address(client, alice, settings):
    settings.SIGN_IN_FAILURE_LIMIT_USER = 100
    RepositoryFactory(name="npm", format="npm")
    body = {"_id": "org.couchdb.user:x", "name": "x", "password": "wrong"}
    for index in range(2 * LIMIT):
        body["name"] = f"guess{index}"
        failed = client.put(
            f"/repository/npm/-/user/org.couchdb.user:guess{index}",
            json.dumps(body),
            content_type="application/json",
        )
        assert failed.status_code == 401

    assert _npm_login(client).status_code == 429
    assert ApiToken.objects.exists() is False


def test_the_web_sign_in_is_throttled(client, alice):
    for _ in range(LIMIT):
        wrong = client.post("/ui/login/", {"username": "alice", "password": "wrong"})
        assert wrong.status_code == 200

    response = client.post("/ui/login/", {"username": "alice", "password": PASSWORD})

    assert response.status_code == 429
    assert response["Retry-After"] in {str(LOCKOUT), str(LOCKOUT - 1)}
    assert "Too many failed sign-in attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_the_admin_sign_in_is_throttled(client, make_user):
    make_user(username="root", is_staff=True, is_superuser=True)
    for _ in range(LIMIT):
        client.post("/admin/login/", {"username": "root", "password": "wrong"})

    response = client.post("/admin/login/", {"username": "root", "password": PASSWORD})

    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_nginx_hands_a_locked_out_read_to_the_registry(client, alice, files):
    _lock_out(client, address="127.0.0.1")

    response = client.get(
        "/-/authorize?repository=files&action=read", headers=basic("alice", PASSWORD)
    )

    assert response.status_code == 403  # nginx then asks the registry, which answers 429
