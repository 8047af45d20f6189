"""Downloads, PEP 658 metadata files, the JSON API, and yank/delete through the REST API."""

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from access.models import Role
from formats.models import Asset, Document, Package, Version
from tests.formats.pypi.conftest import basic
from tests.formats.pypi.dists import core_metadata, make_sdist, make_wheel

pytestmark = [pytest.mark.django_db, pytest.mark.protocol]

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "pypi"
JSON = "application/vnd.pypi.simple.v1+json"
WHEEL_URL = "/repository/pypi-local/packages/demo-pkg/1.0/demo_pkg-1.0-py3-none-any.whl"


@pytest.fixture
def wheel(upload, pypi_repository) -> bytes:
    filename, content = make_wheel("demo_pkg", "1.0", requires_dist=("dep[extra]>=1",))
    assert upload(filename, content).status_code == 200
    pypi_repository.anonymous_read = True
    pypi_repository.save()
    return content


def test_wheel_download_has_type_length_and_etag(client, wheel):
    response = client.get(WHEEL_URL)

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == wheel
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Length"] == str(len(wheel))
    assert response["ETag"] == f'"sha256:{hashlib.sha256(wheel).hexdigest()}"'


def test_wheel_download_honours_range(client, wheel):
    response = client.get(WHEEL_URL, headers={"Range": "bytes=10-19"})

    assert response.status_code == 206
    assert b"".join(response.streaming_content) == wheel[10:20]
    assert response["Content-Range"] == f"bytes 10-19/{len(wheel)}"


def test_core_metadata_file_is_served(client, wheel):
    response = client.get(WHEEL_URL + ".metadata")

    expected = core_metadata("demo_pkg", "1.0", requires_dist=("dep[extra]>=1",))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == expected
    assert response["Content-Type"] == "text/plain; charset=utf-8"


def test_sdist_is_served_without_content_encoding(client, upload, wheel):
    filename, content = make_sdist("demo_pkg", "1.0")
    upload(filename, content)

    response = client.get(f"/repository/pypi-local/packages/demo-pkg/1.0/{filename}")

    assert response["Content-Type"] == "application/gzip"
    assert "Content-Encoding" not in response
    assert b"".join(response.streaming_content) == content


@pytest.mark.parametrize(
    ("_case", "path"),
    [
        ("unknown file", "packages/demo-pkg/1.0/nope.whl"),
        ("dot-dot segment", "packages/demo-pkg/../1.0/demo_pkg-1.0-py3-none-any.whl"),
    ],
)
def test_missing_or_invalid_file_path_is_refused(client, wheel, _case, path):
    response = client.get(f"/repository/pypi-local/{path}")

    assert response.status_code in (400, 404)
    assert response["Content-Type"] == "text/plain; charset=utf-8"


def test_large_upload_goes_through_a_temporary_file(upload):
    # Members are stored uncompressed, so this wheel is larger than Django keeps in memory.
    filename, content = make_wheel("big", "1.0", summary="y" * 400_000)

    response = upload(filename, content)

    assert response.status_code == 200
    assert len(content) > 256 * 1024
    assert (
        Asset.objects.get(path__endswith=".whl").blob.sha256 == hashlib.sha256(content).hexdigest()
    )


def test_project_json_api(client, wheel, upload):
    upload(*make_wheel("demo_pkg", "2.0rc1"))

    document = client.get("/repository/pypi-local/pypi/demo-pkg/json").json()

    assert document["info"]["name"] == "demo_pkg"
    assert document["info"]["version"] == "1.0"
    assert document["info"]["requires_dist"] == ["dep[extra]>=1"]
    assert sorted(document["releases"]) == ["1.0", "2.0rc1"]
    [file] = document["urls"]
    assert file["url"] == "http://testserver" + WHEEL_URL
    assert file["digests"] == {
        "sha256": hashlib.sha256(wheel).hexdigest(),
        "md5": hashlib.md5(wheel).hexdigest(),
    }
    assert (file["packagetype"], file["python_version"], file["size"]) == (
        "bdist_wheel",
        "py3",
        len(wheel),
    )


def test_release_json_api(client, wheel, upload):
    upload(*make_wheel("demo_pkg", "2.0rc1"))

    document = client.get("/repository/pypi-local/pypi/demo-pkg/2.0rc1/json").json()

    assert document["info"]["version"] == "2.0rc1"
    assert "releases" not in document
    assert [f["filename"] for f in document["urls"]] == ["demo_pkg-2.0rc1-py3-none-any.whl"]


@pytest.mark.parametrize(
    ("_case", "path"),
    [("project", "pypi/nope/json"), ("release", "pypi/demo-pkg/9.9/json")],
)
def test_json_api_unknown_is_404(client, wheel, _case, path):
    assert client.get(f"/repository/pypi-local/{path}").status_code == 404


@pytest.fixture
def admin_auth(pypi_repository, make_user, make_token) -> dict[str, str]:
    return basic("__token__", make_token(make_user(pypi_repository, Role.ADMIN)))


def _files(client) -> dict:
    return client.get("/repository/pypi-local/simple/demo-pkg/", headers={"Accept": JSON}).json()


def test_yank_and_unyank_through_the_api_regenerate_the_page(client, wheel, admin_auth):
    version = Version.objects.get()

    yank = client.patch(
        f"/api/v1/versions/{version.pk}/",
        data={"yanked": True, "yanked_reason": "security"},
        content_type="application/json",
        headers=admin_auth,
    )
    yanked = _files(client)["files"][0]["yanked"]
    unyank = client.patch(
        f"/api/v1/versions/{version.pk}/",
        data={"yanked": False},
        content_type="application/json",
        headers=admin_auth,
    )

    assert (yank.status_code, unyank.status_code) == (200, 200)
    assert yanked == "security"
    assert _files(client)["files"][0]["yanked"] is False


def test_deleting_a_release_through_the_api_regenerates_the_pages(
    client, wheel, upload, admin_auth
):
    upload(*make_wheel("demo_pkg", "2.0"))
    version = Version.objects.get(version="1.0")

    response = client.delete(f"/api/v1/versions/{version.pk}/", headers=admin_auth)

    assert response.status_code == 204
    assert _files(client)["versions"] == ["2.0"]
    assert client.get(WHEEL_URL).status_code == 404


def test_deleting_a_project_through_the_api_removes_its_pages(client, wheel, admin_auth):
    package = Package.objects.get()

    response = client.delete(f"/api/v1/packages/{package.pk}/", headers=admin_auth)

    index = client.get("/repository/pypi-local/simple/", headers={"Accept": JSON}).json()
    assert response.status_code == 204
    assert index["projects"] == []
    assert client.get("/repository/pypi-local/simple/demo-pkg/").status_code == 404
    assert set(Document.objects.values_list("key", flat=True)) == {"simple/html", "simple/json"}


def test_deleting_a_file_keeps_the_release_while_it_has_files(client, wheel, upload, admin_auth):
    upload(*make_sdist("demo_pkg", "1.0"))

    response = client.delete(WHEEL_URL, headers=admin_auth)

    assert response.status_code == 204
    assert [f["filename"] for f in _files(client)["files"]] == ["demo_pkg-1.0.tar.gz"]
    assert list(Asset.objects.values_list("path", flat=True)) == [
        "packages/demo-pkg/1.0/demo_pkg-1.0.tar.gz"
    ]


def test_deleting_the_last_file_deletes_the_release(client, wheel, admin_auth):
    response = client.delete(WHEEL_URL, headers=admin_auth)

    assert response.status_code == 204
    assert Version.objects.count() == 0
    assert client.get("/repository/pypi-local/simple/demo-pkg/").status_code == 404


def test_writer_cannot_delete_a_file(client, wheel, writer_auth):
    response = client.delete(WHEEL_URL, headers=writer_auth)

    assert response.status_code == 403
    assert Asset.objects.count() == 2


def test_head_of_a_wheel_has_headers_and_no_body(client, wheel):
    response = client.head(WHEEL_URL)

    assert response.status_code == 200
    assert response.content == b""
    assert response["Content-Length"] == str(len(wheel))
    assert response["ETag"] == f'"sha256:{hashlib.sha256(wheel).hexdigest()}"'


def test_head_of_a_simple_page_has_headers_and_no_body(client, wheel):
    page = client.get("/repository/pypi-local/simple/demo-pkg/", headers={"Accept": JSON})

    response = client.head("/repository/pypi-local/simple/demo-pkg/", headers={"Accept": JSON})

    assert response.status_code == 200
    assert response.content == b""
    assert response["Content-Length"] == str(len(page.content))
    assert response["ETag"] == page["ETag"]


def test_release_json_api_golden(client, wheel):
    Asset.objects.update(created=datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC))

    response = client.get("/repository/pypi-local/pypi/demo-pkg/1.0/json")

    document = response.json()
    assert response["Content-Type"] == "application/json"
    assert document.pop("last_serial") == Asset.objects.order_by("pk").last().pk
    assert document == json.loads((GOLDEN / "release.json").read_text())
