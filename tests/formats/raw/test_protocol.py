import hashlib
import io

import pytest

from access.models import Role
from access.services import token_create
from formats.models import Asset
from storage.models import Blob
from tests.factories import RepositoryFactory
from tests.helpers import body_of

pytestmark = [pytest.mark.django_db, pytest.mark.protocol]


@pytest.fixture
def repo():
    return RepositoryFactory(name="files", format="raw")


@pytest.fixture
def auth(repo, make_user):
    def headers(role: Role) -> dict[str, str]:
        return {"Authorization": f"Bearer {token_create(user=make_user(repo, role)).secret}"}

    return headers


def test_put_then_get_head_and_delete(client, repo, auth):
    writer = auth(Role.DELETE)
    put = client.put(
        "/repository/files/a/b.txt", b"hello", content_type="text/plain", headers=writer
    )
    assert put.status_code == 201
    get = client.get("/repository/files/a/b.txt", headers=writer)
    assert get.status_code == 200
    assert body_of(get) == b"hello"
    assert get["Content-Type"] == "text/plain"
    head = client.head("/repository/files/a/b.txt", headers=writer)
    assert (head.status_code, head["Content-Length"], head.content) == (200, "5", b"")
    delete = client.delete("/repository/files/a/b.txt", headers=writer)
    assert delete.status_code == 204
    assert client.get("/repository/files/a/b.txt", headers=writer).status_code == 404


@pytest.mark.parametrize(
    ("_case", "role", "method", "expected"),
    [
        ("reader may read", Role.READ, "get", 200),
        ("reader may not write", Role.READ, "put", 403),
        ("writer may not delete", Role.WRITE, "delete", 403),
        ("anonymous is challenged", None, "get", 401),
    ],
)
def test_permissions(client, repo, auth, _case, role, method, expected):
    client.put("/repository/files/f", b"x", content_type="text/plain", headers=auth(Role.WRITE))
    headers = auth(role) if role else {}
    kwargs = {"data": b"y", "content_type": "text/plain"} if method == "put" else {}
    response = getattr(client, method)("/repository/files/f", headers=headers, **kwargs)
    body_of(response)
    assert response.status_code == expected
    assert Asset.objects.get(path="f").blob_id == hashlib.sha256(b"x").hexdigest()


def test_public_repository_allows_anonymous_download(client, auth):
    RepositoryFactory(name="pub", format="raw", anonymous_read=True)
    response = client.get("/repository/pub/missing")
    assert response.status_code == 404
    assert response.json() == {"error": "missing not found"}


def test_wrong_checksum_header_is_refused_and_stores_nothing(client, repo, auth):
    response = client.put(
        "/repository/files/f.bin",
        b"payload",
        content_type="application/octet-stream",
        headers={**auth(Role.WRITE), "X-Checksum-Sha256": "0" * 64},
    )
    assert response.status_code == 400
    assert response.json() == {"error": "provided digest did not match uploaded content"}
    assert Asset.objects.exists() is False
    assert Blob.objects.exists() is False


def test_oversized_body_is_refused(client, repo, auth, settings):
    settings.REGISTRY_MAX_UPLOAD_SIZE = 10
    response = client.put(
        "/repository/files/big", b"x" * 11, content_type="text/plain", headers=auth(Role.WRITE)
    )
    assert response.status_code == 413
    assert Asset.objects.exists() is False


@pytest.mark.parametrize(
    ("_case", "url", "status"),
    [
        ("unknown repository", "/repository/nope/x", 404),
        ("traversal", "/repository/files/a/../b", 400),
        ("empty segment", "/repository/files/a//b", 400),
    ],
)
def test_bad_paths_get_clear_errors(client, repo, auth, _case, url, status):
    response = client.put(url, b"x", content_type="text/plain", headers=auth(Role.WRITE))
    assert response.status_code == status
    assert "error" in response.json()
    assert Asset.objects.exists() is False


def test_range_request_returns_206(client, repo, auth):
    headers = auth(Role.WRITE)
    client.put(
        "/repository/files/r",
        io.BytesIO(bytes(range(256))).read(),
        content_type="application/octet-stream",
        headers=headers,
    )
    response = client.get("/repository/files/r", headers={**headers, "Range": "bytes=10-19"})
    assert response.status_code == 206
    assert body_of(response) == bytes(range(10, 20))


def test_an_authenticated_download_costs_four_fixed_queries(
    client, repo, auth, django_assert_num_queries
):
    headers = auth(Role.READ)
    client.put("/repository/files/q", b"x", content_type="text/plain", headers=auth(Role.WRITE))
    body_of(client.get("/repository/files/q", headers=headers))  # first use reads the token
    # repository, the role, the file, its blob: none grows with data; the token, its user and
    # its scope come from access.token_cache until TOKEN_CACHE_SECONDS pass
    with django_assert_num_queries(4):
        response = client.get("/repository/files/q", headers=headers)
    assert body_of(response) == b"x"


def test_raw_files_are_deleted_through_the_management_api(client, repo, make_user):
    from rest_framework.test import APIClient

    deleter = make_user(repo, Role.DELETE)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token_create(user=deleter).secret}")
    client.put(
        "/repository/files/doc.txt",
        b"text",
        content_type="text/plain",
        headers={"Authorization": f"Bearer {token_create(user=deleter).secret}"},
    )
    listed = api.get("/api/v1/assets/?repository=files").json()["results"]
    assert [(row["path"], row["size"]) for row in listed] == [("doc.txt", 4)]
    assert api.delete(f"/api/v1/assets/{listed[0]['id']}/").status_code == 204
    assert Asset.objects.filter(repository=repo).exists() is False


@pytest.mark.parametrize(
    ("_case", "path", "content_type", "disposition"),
    [
        ("HTML by the client's Content-Type", "page", "text/html", "attachment"),
        ("SVG", "logo.svg", "image/svg+xml", "attachment"),
        ("XHTML with parameters", "a.xhtml", "application/xhtml+xml; charset=utf-8", "attachment"),
        ("no type at all", "blob", "", None),
        ("plain text stays inline", "notes.txt", "text/plain", None),
        ("PNG stays inline", "pic.png", "image/png", None),
    ],
)
def test_served_files_cannot_run_in_the_registry_origin(
    client, repo, auth, _case, path, content_type, disposition
):
    headers = auth(Role.WRITE)
    client.put(
        f"/repository/files/{path}",
        b"<script>alert(1)</script>",
        content_type=content_type,
        headers=headers,
    )

    for method in ("get", "head"):
        response = getattr(client, method)(f"/repository/files/{path}", headers=headers)
        body_of(response)
        assert response.status_code == 200
        assert response.get("Content-Disposition") == disposition
        assert response["Content-Security-Policy"] == "sandbox"
        assert response["X-Content-Type-Options"] == "nosniff"


METHODS = pytest.mark.parametrize("method", ["get", "put", "delete"])


@METHODS
def test_anonymous_callers_cannot_tell_a_private_repository_from_a_missing_one(
    client, repo, auth, method
):
    client.put("/repository/files/f", b"x", content_type="text/plain", headers=auth(Role.WRITE))

    private = getattr(client, method)("/repository/files/f")
    missing = getattr(client, method)("/repository/nope/f")

    for response in (private, missing):
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == 'Basic realm="registry"'
        assert response.json() == {"error": "authentication required"}
    assert Asset.objects.get().blob_id == hashlib.sha256(b"x").hexdigest()


@METHODS
def test_signed_in_callers_without_a_role_cannot_tell_either(client, repo, auth, make_user, method):
    client.put("/repository/files/f", b"x", content_type="text/plain", headers=auth(Role.WRITE))
    RepositoryFactory(name="secret", format="raw")
    outsider = {"Authorization": f"Bearer {token_create(user=make_user()).secret}"}

    private = getattr(client, method)("/repository/secret/f", headers=outsider)
    missing = getattr(client, method)("/repository/nope/f", headers=outsider)
    own = getattr(client, method)("/repository/files/f", headers=outsider)

    assert (private.status_code, private.json()) == (
        404,
        {"error": "repository 'secret' not found"},
    )
    assert (missing.status_code, missing.json()) == (404, {"error": "repository 'nope' not found"})
    assert (own.status_code, own.json()) == (404, {"error": "repository 'files' not found"})
    assert missing.reason_phrase == "repository 'nope' not found"
    assert Asset.objects.get().blob_id == hashlib.sha256(b"x").hexdigest()


def test_a_reader_is_still_refused_writes_with_403(client, repo, auth):
    response = client.put(
        "/repository/files/f", b"y", content_type="text/plain", headers=auth(Role.READ)
    )

    assert response.status_code == 403
    assert response.json() == {"error": "write access to 'files' denied"}
    assert Asset.objects.exists() is False


def test_an_unsupported_method_answers_405_in_the_format(client, repo, auth):
    response = client.post(
        "/repository/files/f", b"x", content_type="text/plain", headers=auth(Role.WRITE)
    )

    assert response.status_code == 405
    assert response.json() == {"error": "POST is not supported here"}
    assert response["Allow"] == "GET, PUT, DELETE, HEAD, OPTIONS"
    assert Asset.objects.exists() is False


@pytest.mark.parametrize(
    ("_case", "range_header", "status", "content_range"),
    [
        ("start of 5000 digits", "bytes=" + "9" * 5000 + "-", 416, "bytes */256"),
        ("end of 5000 digits", "bytes=10-" + "9" * 5000, 206, "bytes 10-255/256"),
        ("suffix of 5000 digits", "bytes=-" + "9" * 5000, 206, "bytes 0-255/256"),
        ("leading zeros", "bytes=" + "0" * 5000 + "1-2", 206, "bytes 1-2/256"),
    ],
)
def test_ranges_with_thousands_of_digits(
    client, repo, auth, _case, range_header, status, content_range
):
    headers = auth(Role.WRITE)
    client.put(
        "/repository/files/r",
        bytes(range(256)),
        content_type="application/octet-stream",
        headers=headers,
    )

    response = client.get("/repository/files/r", headers={**headers, "Range": range_header})

    body_of(response)
    assert response.status_code == status
    assert response["Content-Range"] == content_range


def test_conditional_downloads(client, repo, auth):
    headers = auth(Role.WRITE)
    client.put("/repository/files/c", b"content", content_type="text/plain", headers=headers)
    etag = f'"sha256:{hashlib.sha256(b"content").hexdigest()}"'

    not_modified = client.get("/repository/files/c", headers={**headers, "If-None-Match": etag})
    any_etag = client.get("/repository/files/c", headers={**headers, "If-None-Match": "*"})
    failed = client.get("/repository/files/c", headers={**headers, "If-Match": '"other"'})

    for response in (not_modified, any_etag):
        assert response.status_code == 304
        assert "Content-Type" not in response
        assert response["ETag"] == etag
        assert response["Cache-Control"] == "max-age=31536000, immutable"
    assert failed.status_code == 412
    assert failed.json() == {
        "error": "a precondition of the request (If-Match, If-Unmodified-Since) is not met"
    }
