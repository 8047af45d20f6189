"""``/-/downloaded``: the count of a file nginx sent from the Maven mirror (its ``mirror`` copy)."""

import base64

import pytest

from access.models import Role
from access.services import role_grant
from formats import downloads
from formats.downloads import downloads_flush
from formats.models import Asset
from formats.services import asset_put, package_ensure, version_create
from storage.services import blob_ingest_bytes
from tests.factories import PASSWORD, RepositoryFactory, UserFactory

pytestmark = pytest.mark.django_db
JAR = "com/example/util/1.0/util-1.0.jar"


@pytest.fixture(autouse=True)
def fresh_buffer(monkeypatch):
    monkeypatch.setattr(downloads, "_buffer", None)
    downloads_flush()
    yield
    downloads_flush()


@pytest.fixture
def jar() -> Asset:
    repository = RepositoryFactory(name="releases", format="maven")
    package = package_ensure(
        repository=repository, name="com.example:util", normalized_name="com.example:util"
    )
    version = version_create(package=package, version="1.0", metadata={}, user=None)
    reader = UserFactory(username="reader")
    role_grant(repository=repository, role=Role.READ, user=reader)
    UserFactory(username="stranger")
    return asset_put(
        repository=repository,
        path=JAR,
        blob=blob_ingest_bytes(content=b"jar bytes"),
        media_type="application/java-archive",
        user=None,
        version=version,
    )


def _copy(client, uri: str, who: str = "reader", method: str = "get", **headers: str):
    token = base64.b64encode(f"{who}:{PASSWORD}".encode()).decode()
    headers = {"Authorization": f"Basic {token}", "X-Original-URI": uri, **headers}
    return getattr(client, method)("/-/downloaded", headers=headers).status_code


@pytest.mark.parametrize(
    ("_case", "uri", "who", "method", "headers", "status", "counted"),
    [
        ("a reader's GET of the jar", f"/repository/releases/{JAR}", "reader", "get", {}, 204, 1),
        ("a range from byte 0", f"/repository/releases/{JAR}", "reader", "get",
         {"Range": "bytes=0-99"}, 204, 1),
        ("a later range", f"/repository/releases/{JAR}", "reader", "get",
         {"Range": "bytes=5-"}, 204, 0),
        ("a HEAD", f"/repository/releases/{JAR}", "reader", "head", {}, 204, 0),
        ("its checksum", f"/repository/releases/{JAR}.sha1", "reader", "get", {}, 204, 0),
        ("a caller without a role", f"/repository/releases/{JAR}", "stranger", "get", {}, 403, 0),
        ("a file that is not there", f"/repository/releases/{JAR[:-4]}-sources.jar",
         "reader", "get", {}, 404, 0),
        ("not a Maven path", "/repository/releases/com/example/util/1.0/x-1.0.jar", "reader",
         "get", {}, 400, 0),
        ("an unknown repository", f"/repository/nowhere/{JAR}", "reader", "get", {}, 404, 0),
        ("not a repository URI", "/v2/", "reader", "get", {}, 404, 0),
    ],
)  # fmt: skip
def test_only_a_readers_download_of_a_file_counts(
    client, jar, _case, uri, who, method, headers, status, counted
):
    assert _copy(client, uri, who, method, **headers) == status

    assert downloads_flush() == counted
    jar.refresh_from_db()
    assert jar.download_count == counted
