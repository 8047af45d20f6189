"""A browser session authenticates reads on protocol URLs, never writes (no CSRF check there)."""

import hashlib

import pytest

from access.models import Role
from formats.models import Asset, Package
from storage.models import Blob, Upload
from tests.factories import RepositoryFactory
from tests.helpers import body_of

pytestmark = [pytest.mark.django_db, pytest.mark.protocol]


@pytest.fixture
def files(db):
    return RepositoryFactory(name="files", format="raw")


@pytest.fixture
def signed_in(client, files, make_user):
    """The test client carrying the session of a user who may read, write and delete."""
    client.force_login(make_user(files, Role.DELETE))
    return client


def test_a_session_still_reads_a_private_repository(signed_in, files, make_token):
    owner = {"Authorization": f"Bearer {make_token(files.roles.get().user)}"}
    signed_in.put("/repository/files/notes.txt", b"hi", content_type="text/plain", headers=owner)

    response = signed_in.get("/repository/files/notes.txt")

    assert response.status_code == 200
    assert body_of(response) == b"hi"


def test_a_session_cannot_put_a_file(signed_in):
    response = signed_in.put("/repository/files/evil.html", b"<script>", content_type="text/html")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Basic realm="registry"'
    assert Asset.objects.exists() is False
    assert Blob.objects.exists() is False


def test_a_session_cannot_delete_a_file(signed_in, files, make_token):
    owner = {"Authorization": f"Bearer {make_token(files.roles.get().user)}"}
    signed_in.put("/repository/files/keep.txt", b"keep", content_type="text/plain", headers=owner)

    response = signed_in.delete("/repository/files/keep.txt")

    assert response.status_code == 401
    assert list(Asset.objects.values_list("path", flat=True)) == ["keep.txt"]


def test_a_session_cannot_start_an_oci_upload(client, make_user):
    repository = RepositoryFactory(name="oci", format="oci")
    client.force_login(make_user(repository, Role.DELETE))
    data = b"layer"
    digest = f"sha256:{hashlib.sha256(data).hexdigest()}"

    response = client.post(
        f"/v2/oci/app/blobs/uploads/?digest={digest}",
        data=data,
        content_type="application/octet-stream",
    )

    assert response.status_code == 401
    assert response.json()["errors"][0]["code"] == "UNAUTHORIZED"
    assert response["WWW-Authenticate"].startswith('Bearer realm="http://testserver/v2/token"')
    assert Blob.objects.exists() is False
    assert Upload.objects.exists() is False


def test_a_session_cannot_publish_to_npm(client, make_user):
    repository = RepositoryFactory(name="npm", format="npm")
    client.force_login(make_user(repository, Role.WRITE))

    response = client.put(
        "/repository/npm/left-pad", data=b'{"name": "left-pad"}', content_type="application/json"
    )

    assert response.status_code == 401
    assert Package.objects.exists() is False
