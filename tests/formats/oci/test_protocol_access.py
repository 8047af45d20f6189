import json
import re
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from access.models import ApiToken, Role
from access.services import role_grant, token_revoke
from formats.models import Tag
from formats.oci.auth import TOKEN_ISSUER, _signing_key
from formats.oci.manifests import MIME_OCI_MANIFEST
from formats.oci.models import OciBlobLink, OciManifest
from storage.models import Upload
from tests.factories import RepositoryFactory
from tests.formats.oci.helpers import basic, digest, push_blob, push_image

pytestmark = [pytest.mark.django_db, pytest.mark.protocol]

NAME = "oci/team/app"
SERVICE = "testserver"
REALM = "http://testserver/v2/token"
BASIC_WRONG = {"Authorization": "Basic dXNlcjp3cm9uZw=="}  # user:wrong


def _error_code(response) -> str:
    return response.json()["errors"][0]["code"]


def _token(client, scope: str, headers=None) -> str:
    response = client.get("/v2/token", {"scope": scope, "service": SERVICE}, headers=headers or {})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["token"] == body["access_token"]
    return body["token"]


def _access(token: str) -> list:
    return jwt.decode(token, options={"verify_signature": False})["access"]


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _read(response) -> int:
    if response.streaming:
        b"".join(response.streaming_content)
    return response.status_code


def test_api_version_challenges_anonymous_callers(client, oci_repository):
    response = client.get("/v2/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == f'Bearer realm="{REALM}",service="{SERVICE}"'
    assert response["Docker-Distribution-API-Version"] == "registry/2.0"
    assert _error_code(response) == "UNAUTHORIZED"


def test_api_version_accepts_basic_and_bearer(client, auth):
    assert client.get("/v2/", headers=auth).status_code == 200
    token = _token(client, f"repository:{NAME}:pull", auth)
    response = client.get("/v2/", headers=_bearer(token))
    assert (response.status_code, response["Docker-Distribution-API-Version"]) == (
        200,
        "registry/2.0",
    )


@pytest.mark.parametrize(
    ("_case", "authorization"),
    [
        ("wrong password", BASIC_WRONG["Authorization"]),
        ("not base64", "Basic !!!"),
        ("forged bearer", "Bearer a.b.c"),
        ("unknown API token", "Bearer reg_nope"),
    ],
)
def test_bad_credentials_get_a_bearer_challenge(client, oci_repository, _case, authorization):
    response = client.get("/v2/", headers={"Authorization": authorization})
    assert (response.status_code, _error_code(response)) == (401, "UNAUTHORIZED")
    assert response["WWW-Authenticate"].startswith(f'Bearer realm="{REALM}"')


@pytest.mark.parametrize(
    ("_case", "role", "requested", "granted"),
    [
        ("reader asks for push", Role.READ, "pull,push", ["pull"]),
        ("writer asks for push", Role.WRITE, "pull,push", ["pull", "push"]),
        ("writer asks for delete", Role.WRITE, "delete", None),
        ("deleter asks for everything", Role.DELETE, "*", ["pull", "push", "delete"]),
        ("no role", None, "pull", None),
    ],
)
def test_token_grants_only_what_roles_allow(
    client, oci_repository, make_user, _case, role, requested, granted
):
    user = make_user(oci_repository, role)
    token = _token(client, f"repository:{NAME}:{requested}", basic(user))
    expected = [{"type": "repository", "name": NAME, "actions": granted}] if granted else []
    assert _access(token) == expected


def test_token_with_an_api_token_as_password_honours_read_only(client, writer, make_token):
    secret = make_token(writer, read_only=True)
    token = _token(client, f"repository:{NAME}:pull,push", basic(writer, secret))
    assert _access(token) == [{"type": "repository", "name": NAME, "actions": ["pull"]}]


def test_anonymous_token_pulls_public_repositories_only(client):
    RepositoryFactory(name="public", format="oci", anonymous_read=True)
    RepositoryFactory(name="private", format="oci")
    public = _token(client, "repository:public/app:pull,push")
    private = _token(client, "repository:private/app:pull")
    assert _access(public) == [{"type": "repository", "name": "public/app", "actions": ["pull"]}]
    assert _access(private) == []


def test_token_endpoint_refuses_bad_credentials_and_scopes(client, oci_repository, auth):
    wrong = client.get("/v2/token", {"scope": f"repository:{NAME}:pull"}, headers=BASIC_WRONG)
    assert (wrong.status_code, _error_code(wrong)) == (401, "UNAUTHORIZED")
    malformed = client.get("/v2/token", {"scope": "repository:UPPER:pull"}, headers=auth)
    assert (malformed.status_code, _error_code(malformed)) == (400, "SCOPE_INVALID")


def test_reader_may_pull_and_not_push(client, oci_repository, auth, make_user):
    manifest = push_image(client, NAME, "1.0", auth)
    reader = make_user(oci_repository, Role.READ)
    for headers in (
        basic(reader),
        _bearer(_token(client, f"repository:{NAME}:pull,push", basic(reader))),
    ):
        assert _read(client.get(f"/v2/{NAME}/manifests/1.0", headers=headers)) == 200
        put = client.put(
            f"/v2/{NAME}/manifests/2.0",
            data=manifest,
            content_type=MIME_OCI_MANIFEST,
            headers=headers,
        )
        assert (put.status_code, _error_code(put)) == (403, "DENIED")
        upload = client.post(f"/v2/{NAME}/blobs/uploads/", headers=headers)
        assert (upload.status_code, _error_code(upload)) == (403, "DENIED")
        delete = client.delete(f"/v2/{NAME}/manifests/1.0", headers=headers)
        assert (delete.status_code, _error_code(delete)) == (403, "DENIED")
    assert list(Tag.objects.values_list("name", flat=True)) == ["1.0"]


def test_a_pull_token_of_a_writer_asks_for_a_better_token(client, auth):
    manifest = push_image(client, NAME, "1.0", auth)
    token = _token(client, f"repository:{NAME}:pull", auth)
    response = client.put(
        f"/v2/{NAME}/manifests/2.0",
        data=manifest,
        content_type=MIME_OCI_MANIFEST,
        headers=_bearer(token),
    )
    assert (response.status_code, _error_code(response)) == (401, "UNAUTHORIZED")
    assert response["WWW-Authenticate"] == (
        f'Bearer realm="{REALM}",service="{SERVICE}",'
        f'scope="repository:{NAME}:pull,push",error="insufficient_scope"'
    )
    assert OciManifest.objects.count() == 1


def test_a_token_for_one_image_does_not_open_another(client, auth):
    push_image(client, "oci/team/other", "1.0", auth)
    token = _token(client, f"repository:{NAME}:pull", auth)
    response = client.get("/v2/oci/team/other/manifests/1.0", headers=_bearer(token))
    assert response.status_code == 401
    assert 'scope="repository:oci/team/other:pull"' in response["WWW-Authenticate"]


def test_push_with_a_push_token(client, writer):
    token = _bearer(_token(client, f"repository:{NAME}:pull,push", basic(writer)))
    manifest = push_image(client, NAME, "1.0", token)
    assert _read(client.get(f"/v2/{NAME}/manifests/{digest(manifest)}", headers=token)) == 200


def test_anonymous_pull_on_a_public_repository(client, make_user):
    public = RepositoryFactory(name="public", format="oci", anonymous_read=True)
    owner = make_user(public, Role.WRITE)
    push_image(client, "public/app", "1.0", basic(owner))
    assert _read(client.get("/v2/public/app/manifests/1.0")) == 200
    token = _token(client, "repository:public/app:pull")
    assert _read(client.get("/v2/public/app/manifests/1.0", headers=_bearer(token))) == 200
    push = client.post("/v2/public/app/blobs/uploads/", headers=_bearer(token))
    assert push.status_code == 401
    assert 'scope="repository:public/app:pull,push"' in push["WWW-Authenticate"]


def test_anonymous_pull_on_a_private_repository_is_challenged(client, auth):
    push_image(client, NAME, "1.0", auth)
    token = _token(client, f"repository:{NAME}:pull")
    for headers in ({}, _bearer(token)):
        response = client.get(f"/v2/{NAME}/manifests/1.0", headers=headers)
        assert (response.status_code, _error_code(response)) == (401, "UNAUTHORIZED")
        assert response["WWW-Authenticate"] == (
            f'Bearer realm="{REALM}",service="{SERVICE}",scope="repository:{NAME}:pull"'
        )


@pytest.mark.parametrize(
    ("_case", "payload"),
    [
        ("expired", {"exp": datetime.now(tz=UTC) - timedelta(minutes=1)}),
        ("another issuer", {"iss": "elsewhere"}),
    ],
)
def test_expired_or_foreign_tokens_are_refused(client, auth, writer, _case, payload):
    claims = {
        "iss": TOKEN_ISSUER,
        "uid": writer.pk,
        "exp": datetime.now(tz=UTC) + timedelta(minutes=5),
        "access": [{"type": "repository", "name": NAME, "actions": ["pull"]}],
        **payload,
    }
    token = jwt.encode(claims, _signing_key(), algorithm="HS256")
    response = client.get("/v2/", headers=_bearer(token))
    assert (response.status_code, _error_code(response)) == (401, "UNAUTHORIZED")


def test_a_token_signed_with_another_key_is_refused(client, auth, writer):
    claims = {
        "iss": TOKEN_ISSUER,
        "uid": writer.pk,
        "exp": datetime.now(tz=UTC) + timedelta(minutes=5),
    }
    token = jwt.encode(claims, b"k" * 32, algorithm="HS256")
    assert client.get("/v2/", headers=_bearer(token)).status_code == 401


def test_catalog_lists_readable_images_with_pagination(
    client, oci_repository, auth, writer, make_user
):
    public = RepositoryFactory(name="public", format="oci", anonymous_read=True)
    hidden = RepositoryFactory(name="hidden", format="oci")
    for repository, names in ((oci_repository, ["b", "a"]), (public, ["c"]), (hidden, ["d"])):
        owner = make_user(repository, Role.WRITE)
        for name in names:
            push_image(client, f"{repository.name}/{name}", "1", basic(owner))
    push_blob(client, "oci/blob-only", b"no manifest yet", auth)

    full = client.get("/v2/_catalog", headers=auth)
    assert full.json() == {"repositories": ["oci/a", "oci/b", "public/c"]}
    first = client.get("/v2/_catalog?n=2", headers=auth)
    assert first.json() == {"repositories": ["oci/a", "oci/b"]}
    assert first["Link"] == '</v2/_catalog?n=2&last=oci%2Fb>; rel="next"'
    second = client.get("/v2/_catalog?n=2&last=oci/b", headers=auth)
    assert (second.json(), "Link" in second) == ({"repositories": ["public/c"]}, False)


@pytest.mark.parametrize(
    ("_case", "method", "path", "headers"),
    [
        ("manifest with a NUL", "get", "/v2/oci/app/manifests/a%00b", {}),
        ("huge n", "get", "/v2/oci/app/tags/list?n=99999999999999999999", {}),
        ("garbage Range", "get", "/v2/oci/app/blobs/sha256:" + "a" * 64, {"Range": "bytes=zz"}),
        (
            "garbage Content-Range",
            "patch",
            "/v2/oci/app/blobs/uploads/x",
            {"Content-Range": "\x00"},
        ),
        ("garbage Authorization", "get", "/v2/", {"Authorization": "Negotiate \x01"}),
        ("scope with nonsense", "get", "/v2/token?scope=%%%", {}),
        ("uuid that is a path", "delete", "/v2/oci/app/blobs/uploads/..%2F..%2Fetc", {}),
        ("catalog n not a number", "get", "/v2/_catalog?n=ten", {}),
    ],
)
def test_malformed_requests_never_500(client, auth, _case, method, path, headers):
    response = getattr(client, method)(path, headers={**auth, **headers})
    _read(response)
    assert 400 <= response.status_code < 500


def test_mount_with_a_token_lacking_the_source_asks_for_both_scopes(client, auth, writer):
    value = push_blob(client, NAME, b"shared layer", auth)
    target = "oci/team/copy"
    url = f"/v2/{target}/blobs/uploads/?mount={value}&from={NAME}"
    narrow = _token(client, f"repository:{target}:pull,push", auth)

    challenged = client.post(url, headers=_bearer(narrow))
    assert (challenged.status_code, _error_code(challenged)) == (401, "UNAUTHORIZED")
    assert challenged["WWW-Authenticate"] == (
        f'Bearer realm="{REALM}",service="{SERVICE}",'
        f'scope="repository:{target}:pull,push repository:{NAME}:pull",error="insufficient_scope"'
    )
    assert OciBlobLink.objects.filter(package__name="team/copy").exists() is False
    assert Upload.objects.exists() is False

    both = _token(client, f"repository:{target}:pull,push repository:{NAME}:pull", auth)
    mounted = client.post(url, headers=_bearer(both))
    assert (mounted.status_code, mounted["Docker-Content-Digest"]) == (201, value)
    assert OciBlobLink.objects.filter(package__name="team/copy").count() == 1


def test_mount_with_a_token_of_a_user_who_cannot_read_the_source_is_a_session(
    client, oci_repository, auth, make_user
):
    secret = RepositoryFactory(name="secret", format="oci")
    value = push_blob(client, "secret/app", b"secret layer", basic(make_user(secret, Role.WRITE)))
    outsider = make_user(oci_repository, Role.WRITE)
    token = _token(
        client, f"repository:{NAME}:pull,push repository:secret/app:pull", basic(outsider)
    )
    response = client.post(
        f"/v2/{NAME}/blobs/uploads/?mount={value}&from=secret/app", headers=_bearer(token)
    )
    assert response.status_code == 202
    assert OciBlobLink.objects.filter(package__repository=oci_repository).exists() is False


def _challenged(response) -> dict[str, str]:
    """The parameters of a Bearer challenge, as a client reads them."""
    assert response.status_code == 401
    scheme, _, params = response["WWW-Authenticate"].partition(" ")
    assert scheme == "Bearer"
    return dict(re.findall(r'(\w+)="([^"]*)"', params))


def _token_flow(client, method: str, path: str, authorization: dict[str, str]):
    """Docker's token flow: the 401 challenge, a token for its scopes, one retry with it."""
    challenge = _challenged(getattr(client, method)(path))
    query = {"service": challenge["service"]}
    if "scope" in challenge:
        query["scope"] = challenge["scope"]
    assert challenge["realm"] == REALM
    token = client.get("/v2/token", query, headers=authorization)
    assert token.status_code == 200, token.content
    return getattr(client, method)(path, headers=_bearer(token.json()["token"]))


@pytest.fixture
def catalog_images(client, oci_repository, make_user):
    """``oci/a`` (private), ``public/b`` (anonymous read) and ``hidden/c`` (private)."""
    public = RepositoryFactory(name="public", format="oci", anonymous_read=True)
    hidden = RepositoryFactory(name="hidden", format="oci")
    for repository, name in ((oci_repository, "a"), (public, "b"), (hidden, "c")):
        owner = make_user(repository, Role.WRITE)
        push_image(client, f"{repository.name}/{name}", "1", basic(owner))


@pytest.mark.parametrize(
    ("_case", "who", "expected"),
    [
        ("anonymous", None, ["public/b"]),
        ("empty Basic credentials", "empty", ["public/b"]),
        ("a writer of oci", "writer", ["oci/a", "public/b"]),
        ("an admin", "admin", ["hidden/c", "oci/a", "public/b"]),
        ("an API token scoped to oci", "scoped", ["oci/a", "public/b"]),
    ],
)
def test_catalog_through_the_token_flow_lists_what_the_caller_may_read(
    client, catalog_images, writer, make_user, make_token, oci_repository, _case, who, expected
):
    admin = make_user(is_superuser=True, is_staff=True)
    authorization = {
        None: {},
        "empty": {"Authorization": "Basic Og=="},
        "writer": basic(writer),
        "admin": basic(admin),
        "scoped": basic(admin, make_token(admin, repositories=[oci_repository])),
    }[who]
    anonymous = client.get("/v2/_catalog")
    assert _challenged(anonymous)["scope"] == "registry:catalog:*"
    assert _error_code(anonymous) == "UNAUTHORIZED"
    response = _token_flow(client, "get", "/v2/_catalog", authorization)
    assert (response.status_code, response.json()) == (200, {"repositories": expected})


def test_catalog_answers_anonymous_callers_when_nothing_is_hidden(client, make_user):
    public = RepositoryFactory(name="public", format="oci", anonymous_read=True)
    push_image(client, "public/app", "1", basic(make_user(public, Role.WRITE)))
    RepositoryFactory(name="private-raw", format="raw")
    response = client.get("/v2/_catalog")
    assert (response.status_code, response.json()) == (200, {"repositories": ["public/app"]})


def test_catalog_with_a_token_for_an_image_asks_for_the_catalog_scope(client, catalog_images, auth):
    token = _token(client, "repository:oci/a:pull", auth)
    response = client.get("/v2/_catalog", headers=_bearer(token))
    assert _challenged(response) == {
        "realm": REALM,
        "service": SERVICE,
        "scope": "registry:catalog:*",
        "error": "insufficient_scope",
    }


def test_token_endpoint_treats_empty_basic_credentials_as_anonymous(client, oci_repository):
    RepositoryFactory(name="public", format="oci", anonymous_read=True)
    scope = f"repository:public/app:pull,push repository:{NAME}:pull"
    token = _token(client, scope, {"Authorization": "Basic Og=="})
    assert _access(token) == [{"type": "repository", "name": "public/app", "actions": ["pull"]}]
    assert jwt.decode(token, options={"verify_signature": False})["sub"] == ""


def test_token_endpoint_challenges_bad_credentials_with_basic(client, oci_repository):
    response = client.get("/v2/token", {"scope": f"repository:{NAME}:pull"}, headers=BASIC_WRONG)
    assert (response.status_code, _error_code(response)) == (401, "UNAUTHORIZED")
    assert response["WWW-Authenticate"] == 'Basic realm="registry"'


def test_a_token_obtained_with_an_api_token_ends_with_it(client, writer, make_token):
    push_image(client, NAME, "1", basic(writer))
    secret = make_token(writer)
    token = _bearer(_token(client, f"repository:{NAME}:pull", basic(writer, secret)))
    assert _read(client.get(f"/v2/{NAME}/manifests/1", headers=token)) == 200
    token_revoke(token=ApiToken.objects.get(user=writer))
    response = client.get(f"/v2/{NAME}/manifests/1", headers=token)
    assert (response.status_code, _error_code(response)) == (401, "UNAUTHORIZED")


def test_mount_from_a_client_retrying_once_succeeds(client, auth):
    value = push_blob(client, NAME, b"shared layer", auth)
    target = "oci/team/copy"
    url = f"/v2/{target}/blobs/uploads/?mount={value}&from={NAME}"
    assert _challenged(client.post(url))["scope"] == (
        f"repository:{target}:pull,push repository:{NAME}:pull"
    )
    mounted = _token_flow(client, "post", url, auth)
    assert (mounted.status_code, mounted["Docker-Content-Digest"]) == (201, value)
    assert OciBlobLink.objects.filter(package__name="team/copy").count() == 1


def test_a_scoped_api_token_still_reads_what_anonymous_may_read(
    client, oci_repository, writer, make_user, make_token
):
    public = RepositoryFactory(name="public", format="oci", anonymous_read=True)
    other = RepositoryFactory(name="other", format="oci")
    for repository in (public, other):
        push_image(client, f"{repository.name}/app", "1", basic(make_user(repository, Role.WRITE)))
    role_grant(repository=public, role=Role.WRITE, user=writer)
    role_grant(repository=other, role=Role.WRITE, user=writer)
    scoped = basic(writer, make_token(writer, repositories=[oci_repository]))

    assert _read(client.get("/v2/public/app/manifests/1", headers=scoped)) == 200
    token = _token(client, "repository:public/app:pull,push repository:other/app:pull", scoped)
    assert _access(token) == [{"type": "repository", "name": "public/app", "actions": ["pull"]}]
    assert _read(client.get("/v2/public/app/manifests/1", headers=_bearer(token))) == 200
    push = client.post("/v2/public/app/blobs/uploads/", headers=scoped)
    assert (push.status_code, _error_code(push)) == (403, "DENIED")
    hidden = client.get("/v2/other/app/manifests/1", headers=scoped)
    assert (hidden.status_code, _error_code(hidden)) == (404, "NAME_UNKNOWN")
    assert Upload.objects.exists() is False


REQUESTS = [
    ("get", "/v2/{name}/manifests/1", "pull"),
    ("head", "/v2/{name}/manifests/1", "pull"),
    ("put", "/v2/{name}/manifests/1", "pull,push"),
    ("delete", "/v2/{name}/manifests/1", "delete"),
    ("get", "/v2/{name}/tags/list", "pull"),
    ("get", "/v2/{name}/blobs/sha256:" + "a" * 64, "pull"),
    ("post", "/v2/{name}/blobs/uploads/", "pull,push"),
    ("patch", "/v2/{name}/blobs/uploads/x", "pull,push"),
    ("get", "/v2/{name}/referrers/sha256:" + "a" * 64, "pull"),
]


def _answer(client, method: str, path: str, name: str, headers: dict[str, str]):
    response = getattr(client, method)(path.format(name=name), headers=headers)
    _read(response)
    body = response.content.decode().replace(name, "<name>")
    challenge = response.get("WWW-Authenticate", "").replace(name, "<name>")
    return response.status_code, body, challenge


@pytest.mark.parametrize(("method", "path", "actions"), REQUESTS)
def test_a_private_repository_answers_like_a_missing_one(client, make_user, method, path, actions):
    private = RepositoryFactory(name="private", format="oci")
    push_image(client, "private/app", "1", basic(make_user(private, Role.DELETE)))
    RepositoryFactory(name="rawrepo", format="raw")  # another format's repository is no image
    outsider = make_user()
    scopes = "repository:{}:pull,push,delete"
    callers = {
        "anonymous": ({}, {}),
        "anonymous token": tuple(
            _bearer(_token(client, scopes.format(name))) for name in ("private/app", "nope/app")
        ),
        "outsider": (basic(outsider), basic(outsider)),
        "outsider token": tuple(
            _bearer(_token(client, scopes.format(name), basic(outsider)))
            for name in ("private/app", "nope/app")
        ),
    }
    for caller, (private_headers, missing_headers) in callers.items():
        answers = [
            _answer(client, method, path, name, headers)
            for name, headers in (
                ("private/app", private_headers),
                ("nope/app", missing_headers),
                ("rawrepo/app", missing_headers),
            )
        ]
        assert answers[0] == answers[1] == answers[2], caller
        status, body, challenge = answers[0]
        if caller.startswith("anonymous"):
            assert status == 401, caller
            assert challenge == (
                f'Bearer realm="{REALM}",service="{SERVICE}",scope="repository:<name>:{actions}"'
            )
        else:
            assert (status, challenge) == (404, ""), caller
            if method != "head":
                assert json.loads(body)["errors"][0]["code"] == "NAME_UNKNOWN"
    assert list(Tag.objects.values_list("name", flat=True)) == ["1"]
    assert Upload.objects.exists() is False


def test_a_patch_with_a_content_range_of_thousands_of_digits_is_refused(client, auth):
    start = client.post(f"/v2/{NAME}/blobs/uploads/", headers=auth)
    response = client.patch(
        start["Location"],
        data=b"chunk",
        content_type="application/octet-stream",
        headers={**auth, "Content-Range": "0-" + "9" * 5000},
    )
    assert (response.status_code, _error_code(response)) == (400, "BLOB_UPLOAD_INVALID")
    assert Upload.objects.get().size == 0
