"""An object store that stops answering makes writes answer 503 in each protocol's error format.

The store is a moto server of the test's own, stopped mid-way through a write or before one.
"""

import hashlib
import io
from base64 import b64encode

import pytest

from access.models import Role
from formats.models import Asset
from storage.backends import blob_backend
from storage.errors import StoreUnavailable
from storage.models import Blob
from storage.s3 import PART_SIZE
from storage.services import blob_ingest
from tests.factories import RepositoryFactory
from tests.formats.npm.helpers import make_tarball, publish_body
from tests.formats.oci.helpers import basic, digest
from tests.formats.pypi.dists import make_wheel
from tests.s3 import S3Server, start_s3_server

pytestmark = [pytest.mark.django_db, pytest.mark.s3_store]

MESSAGE = "the registry's blob store is unavailable; nothing was changed, try again later"
CONTENT = b"x" * 100_000


@pytest.fixture
def store(tmp_path, settings, blob_store) -> S3Server:
    """A store on an S3 server of this test's own, which the test may stop."""
    server = start_s3_server(tmp_path, own=True)
    settings.BLOB_STORE_URL = server.new_store()
    settings.AWS_ENDPOINT_URL = server.endpoint
    blob_backend()
    yield server
    server.stop()


class _StoppingBody:
    """A request body that stops the store once it has sent ``first`` bytes."""

    def __init__(self, store: S3Server, content: bytes, *, first: int) -> None:
        self._store, self._body, self._first = store, io.BytesIO(content), first

    def read(self, size: int = -1) -> bytes:
        if self._body.tell() >= self._first and self._store.process.poll() is None:
            self._store.stop()
        return self._body.read(size)


def test_a_store_stopping_mid_upload_raises_store_unavailable_and_stores_nothing(store):
    body = _StoppingBody(store, b"y" * (3 * PART_SIZE), first=2 * PART_SIZE)

    with pytest.raises(StoreUnavailable):
        blob_ingest(stream=body)

    assert Blob.objects.exists() is False


def _writer(repository_format: str, make_user, make_token) -> dict[str, str]:
    repository = RepositoryFactory(name=repository_format, format=repository_format)
    user = make_user(repository, Role.WRITE)
    return basic(user, make_token(user))


def test_raw_put_is_503(client, store, make_user, make_token):
    auth = _writer("raw", make_user, make_token)
    store.stop()

    response = client.put("/repository/raw/file.bin", data=CONTENT, headers=auth)

    assert (response.status_code, response["Retry-After"]) == (503, "5")
    assert response.json() == {"error": MESSAGE}
    assert Asset.objects.exists() is False


def test_oci_monolithic_upload_is_503(client, store, make_user, make_token):
    auth = _writer("oci", make_user, make_token)
    store.stop()

    response = client.post(
        f"/v2/oci/app/blobs/uploads/?digest={digest(CONTENT)}",
        data=CONTENT,
        content_type="application/octet-stream",
        headers=auth,
    )

    assert (response.status_code, response["Retry-After"]) == (503, "5")
    assert response.json() == {
        "errors": [{"code": "UNAVAILABLE", "message": MESSAGE, "detail": {}}]
    }
    assert Blob.objects.exists() is False


def test_npm_publish_is_503(client, store, make_user, make_token):
    auth = _writer("npm", make_user, make_token)
    tarball = make_tarball({"name": "app", "version": "1.0.0"}, files={"a.bin": CONTENT})
    store.stop()

    response = client.put(
        "/repository/npm/app",
        data=publish_body("app", "1.0.0", tarball=tarball),
        content_type="application/json",
        headers=auth,
    )

    assert (response.status_code, response["Retry-After"]) == (503, "5")
    assert response.json() == {"error": MESSAGE}
    assert Asset.objects.exists() is False


def test_twine_upload_is_503(client, store, make_user, make_token):
    repository = RepositoryFactory(name="pypi", format="pypi")
    token = make_token(make_user(repository, Role.WRITE))
    twine = {"Authorization": "Basic " + b64encode(f"__token__:{token}".encode()).decode()}
    filename, content = make_wheel("app", "1.0")
    store.stop()

    response = client.post(
        "/repository/pypi/",
        data={
            ":action": "file_upload",
            "name": "app",
            "version": "1.0",
            "protocol_version": "1",
            "filetype": "bdist_wheel",
            "sha256_digest": hashlib.sha256(content).hexdigest(),
            "content": _named(filename, content),
        },
        headers=twine,
    )

    assert (response.status_code, response.reason_phrase) == (503, MESSAGE)
    assert Asset.objects.exists() is False


def test_maven_deploy_is_503(client, store, make_user, make_token):
    auth = _writer("maven", make_user, make_token)
    store.stop()

    response = client.put(
        "/repository/maven/com/example/app/1.0/app-1.0.jar", data=CONTENT, headers=auth
    )

    assert (response.status_code, response["Retry-After"]) == (503, "5")
    assert Asset.objects.exists() is False


def _named(filename: str, content: bytes) -> io.BytesIO:
    file = io.BytesIO(content)
    file.name = filename
    return file
