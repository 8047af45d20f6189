from datetime import UTC, datetime, timedelta

import jwt
import pytest

from access.models import Role
from formats.models import Tag
from formats.oci.auth import TOKEN_ISSUER, _signing_key
from formats.oci.models import OciBlobLink, OciManifest
from formats.oci.parsers import MIME_OCI_MANIFEST
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
    assert client.get("/v2/_catalog").json() == {"repositories": ["public/c"]}


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
