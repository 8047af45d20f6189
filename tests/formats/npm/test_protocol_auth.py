"""npm login, whoami, tokens, logout, and the endpoints npm calls around them."""

import json

import pytest

from access.models import ApiToken, Role, hash_token
from access.services import token_create
from formats.npm.selectors import npm_token_key
from tests.factories import PASSWORD, RepositoryFactory
from tests.formats.npm.helpers import publish_body

pytestmark = [pytest.mark.django_db, pytest.mark.protocol]

ROOT = "/repository/npm/"


@pytest.fixture
def repository():
    return RepositoryFactory(name="npm", format="npm")


@pytest.fixture
def alice(repository, make_user):
    return make_user(repository, Role.WRITE, username="alice")


def _login_body(name, password):
    # What npm 11 sends for `npm login --auth-type=legacy`.
    return json.dumps(
        {
            "_id": f"org.couchdb.user:{name}",
            "name": name,
            "password": password,
            "type": "user",
            "roles": [],
            "date": "2026-11-26T20:43:52.123Z",
        }
    )


def _login(client, name, password):
    return client.put(
        f"{ROOT}-/user/org.couchdb.user:{name}",
        _login_body(name, password),
        content_type="application/json",
    )


def test_login_returns_a_working_token_for_this_repository(client, repository, alice):
    response = _login(client, "alice", PASSWORD)

    assert response.status_code == 201
    secret = response.json()["token"]
    assert response.json() == {"ok": True, "id": "org.couchdb.user:alice", "token": secret}
    token = ApiToken.objects.get(token_hash=hash_token(secret))
    assert (token.user, token.name, list(token.repositories.all())) == (
        alice,
        "npm login",
        [repository],
    )
    whoami = client.get(ROOT + "-/whoami", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert whoami.json() == {"username": "alice"}


@pytest.mark.parametrize(
    ("_case", "name", "password"),
    [("wrong password", "alice", "wrong"), ("unknown user (no sign-up)", "mallory", "whatever")],
)
def test_login_refusals(client, alice, _case, name, password):
    response = _login(client, name, password)

    assert response.status_code == 401
    assert response.json() == {"error": "bad username or password"}
    assert response["WWW-Authenticate"] == 'Bearer realm="registry"'
    assert ApiToken.objects.exists() is False


def test_login_with_a_body_for_another_user_is_refused(client, alice):
    response = client.put(
        f"{ROOT}-/user/org.couchdb.user:bob",
        _login_body("alice", PASSWORD),
        content_type="application/json",
    )

    assert response.status_code == 400
    assert ApiToken.objects.exists() is False


def test_whoami_needs_a_signed_in_user(client, repository):
    repository.anonymous_read = True
    repository.save()

    response = client.get(ROOT + "-/whoami")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="registry"'


def test_token_list_create_revoke(client, alice, make_token):
    auth = {"HTTP_AUTHORIZATION": f"Bearer {make_token(alice)}"}

    created = client.post(
        ROOT + "-/npm/v1/tokens",
        json.dumps({"name": None, "password": PASSWORD}),
        content_type="application/json",
        **auth,
    )
    listed = client.get(ROOT + "-/npm/v1/tokens", **auth).json()
    new_key = created.json()["key"]
    revoked = client.delete(f"{ROOT}-/npm/v1/tokens/token/{new_key}", **auth)
    after = client.get(ROOT + "-/npm/v1/tokens", **auth).json()

    assert created.status_code == 201
    secret = created.json()["token"]
    assert secret.startswith("reg_")
    assert ApiToken.objects.get(token_hash=hash_token(secret)).name == "npm token create"
    assert listed["total"] == 2
    assert {o["key"] for o in listed["objects"]} == {
        npm_token_key(token=token) for token in ApiToken.objects.all()
    }
    hashes = set(ApiToken.objects.values_list("token_hash", flat=True))
    assert all(h not in json.dumps(listed) + json.dumps(created.json()) for h in hashes)
    assert all(len(o["token"]) == 10 for o in listed["objects"])  # never the secret
    assert revoked.status_code == 204
    assert after["total"] == 1
    denied = client.get(ROOT + "-/whoami", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert denied.status_code == 401


@pytest.mark.parametrize(
    ("_case", "body", "status"),
    [
        ("wrong password", {"password": "nope"}, 403),
        ("no password", {}, 400),
        ("cidr limit", {"password": PASSWORD, "cidr_whitelist": ["10.0.0.0/8"]}, 400),
    ],
)
def test_token_create_refusals(client, alice, make_token, _case, body, status):
    auth = {"HTTP_AUTHORIZATION": f"Bearer {make_token(alice)}"}

    response = client.post(
        ROOT + "-/npm/v1/tokens", json.dumps(body), content_type="application/json", **auth
    )

    assert response.status_code == status
    assert ApiToken.objects.count() == 1


def test_token_revoke_of_someone_elses_key_is_404(client, repository, alice, make_user, make_token):
    auth = {"HTTP_AUTHORIZATION": f"Bearer {make_token(alice)}"}
    other = ApiToken.objects.get(
        token_hash=hash_token(make_token(make_user(repository, Role.READ)))
    )

    response = client.delete(f"{ROOT}-/npm/v1/tokens/token/{npm_token_key(token=other)}", **auth)

    assert response.status_code == 404
    other.refresh_from_db()
    assert other.revoked_at is None


def test_logout_revokes_the_token(client, alice, make_token):
    secret = make_token(alice)

    response = client.delete(f"{ROOT}-/user/token/{secret}", HTTP_AUTHORIZATION=f"Bearer {secret}")

    assert response.status_code == 200
    assert ApiToken.objects.get().revoked_at is not None


def test_ping_and_audit(client, repository, alice, make_token):
    auth = {"HTTP_AUTHORIZATION": f"Bearer {make_token(alice)}"}

    ping = client.get(ROOT + "-/ping")
    bulk = client.post(
        ROOT + "-/npm/v1/security/advisories/bulk", "{}", content_type="application/json", **auth
    )
    quick = client.post(
        ROOT + "-/npm/v1/security/audits/quick", "{}", content_type="application/json", **auth
    )

    assert (ping.status_code, ping.json()) == (200, {})
    assert (bulk.status_code, bulk.json()) == (200, {})
    assert quick.status_code == 200
    assert quick.json()["metadata"]["vulnerabilities"] == {
        "info": 0,
        "low": 0,
        "moderate": 0,
        "high": 0,
        "critical": 0,
    }


def test_search(client, repository, alice, make_token):
    auth = {"HTTP_AUTHORIZATION": f"Bearer {make_token(alice)}"}
    for name, description in (("tinylib", "tiny helpers"), ("biglib", "large"), ("@a/tiny", "")):
        client.put(
            ROOT + name.replace("/", "%2f"),
            publish_body(name, "1.0.0", description=description),
            content_type="application/json",
            **auth,
        )

    response = client.get(ROOT + "-/v1/search?text=tiny&size=1&from=0", **auth)
    second = client.get(ROOT + "-/v1/search?text=tiny&size=1&from=1", **auth)
    by_description = client.get(ROOT + "-/v1/search?text=large", **auth)

    body = response.json()
    assert body["total"] == 2
    assert [o["package"]["name"] for o in body["objects"]] == ["@a/tiny"]
    assert [o["package"]["name"] for o in second.json()["objects"]] == ["tinylib"]
    assert second.json()["objects"][0]["package"]["publisher"] == {
        "username": "alice",
        "email": "",
    }
    assert [o["package"]["name"] for o in by_description.json()["objects"]] == ["biglib"]


def test_search_needs_read(client, repository):
    response = client.get(ROOT + "-/v1/search?text=x")

    assert response.status_code == 401


def _bearer(secret):
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def _create(client, secret, **body):
    return client.post(
        ROOT + "-/npm/v1/tokens",
        json.dumps({"password": PASSWORD, **body}),
        content_type="application/json",
        **_bearer(secret),
    )


def test_a_read_only_token_cannot_revoke_other_tokens(client, repository, alice):
    reader = token_create(user=alice, repositories=[repository], read_only=True)
    other = token_create(user=alice, repositories=[repository], read_only=True).token

    refused = client.delete(
        f"{ROOT}-/npm/v1/tokens/token/{npm_token_key(token=other)}", **_bearer(reader.secret)
    )
    itself = client.delete(
        f"{ROOT}-/npm/v1/tokens/token/{npm_token_key(token=reader.token)}",
        **_bearer(reader.secret),
    )

    assert refused.status_code == 403
    assert refused.json() == {"error": "a read-only or registry token can revoke only itself"}
    other.refresh_from_db()
    assert other.revoked_at is None
    assert itself.status_code == 204
    reader.token.refresh_from_db()
    assert reader.token.revoked_at is not None


def test_a_token_scoped_to_this_repository_cannot_revoke_an_unscoped_one(client, repository, alice):
    scoped = token_create(user=alice, repositories=[repository]).secret
    broad = token_create(user=alice).token

    response = client.delete(
        f"{ROOT}-/npm/v1/tokens/token/{npm_token_key(token=broad)}", **_bearer(scoped)
    )

    assert response.status_code == 403
    assert response.json() == {
        "error": "a repository-scoped token can revoke only tokens limited to its repositories"
    }
    broad.refresh_from_db()
    assert broad.revoked_at is None


def test_a_read_only_token_creates_only_read_only_tokens(client, repository, alice):
    reader = token_create(user=alice, repositories=[repository], read_only=True).secret

    # npm 11 sends no "readonly": the new token inherits the caller's flag.
    inherited = _create(client, reader, name="ci")
    widened = _create(client, reader, name="writer", readonly=False)

    assert inherited.status_code == 201
    assert inherited.json()["readonly"] is True
    assert ApiToken.objects.get(name="ci").read_only is True
    assert widened.status_code == 403
    assert widened.json() == {"error": "a read-only token can create only read-only tokens"}
    assert ApiToken.objects.filter(name="writer").exists() is False


@pytest.mark.parametrize("expires", [36501, 10**20])
def test_token_create_with_an_absurd_lifetime_is_a_400(client, alice, make_token, expires):
    response = _create(client, make_token(alice), expires=expires)

    assert response.status_code == 400
    assert response.json() == {"error": "expires_in_days must be between 1 and 36500"}
    assert ApiToken.objects.count() == 1


def test_token_revoke_by_secret(client, alice, make_token):
    caller = make_token(alice)
    doomed = token_create(user=alice)

    response = client.delete(f"{ROOT}-/npm/v1/tokens/token/{doomed.secret}", **_bearer(caller))

    assert response.status_code == 204
    doomed.token.refresh_from_db()
    assert doomed.token.revoked_at is not None


def test_login_to_a_repository_the_user_cannot_read_is_answered_as_missing(client, alice):
    RepositoryFactory(name="secret", format="npm")
    body = _login_body("alice", PASSWORD)

    private = client.put(
        "/repository/secret/-/user/org.couchdb.user:alice", body, content_type="application/json"
    )
    missing = client.put(
        "/repository/nosuch/-/user/org.couchdb.user:alice", body, content_type="application/json"
    )

    # A login is anonymous until it succeeds: both answer what anonymous callers get.
    assert (private.status_code, missing.status_code) == (401, 401)
    assert private.json() == missing.json() == {"error": "authentication required"}
    assert ApiToken.objects.exists() is False
