"""Deleting one distribution file through the management API."""

import hashlib

import pytest
from rest_framework.test import APIClient

from access.models import Role
from access.services import token_create
from formats.models import Asset, Version
from tests.factories import RepositoryFactory
from tests.formats.pypi.dists import make_sdist, make_wheel

pytestmark = [pytest.mark.django_db, pytest.mark.protocol]

ACCEPT_JSON = {"Accept": "application/vnd.pypi.simple.v1+json"}


def _api(user) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token_create(user=user).secret}")
    return api


def _asset(path_end: str) -> Asset:
    return Asset.objects.get(path__endswith=path_end)


def test_deleting_a_wheel_keeps_the_release_and_updates_the_page(
    client, upload, pypi_repository, make_user, writer_auth
):
    for filename, data in (make_wheel("tiny", "1.0"), make_sdist("tiny", "1.0")):
        assert upload(filename, data).status_code == 200
    deleter = make_user(pypi_repository, Role.DELETE)

    wheel = _asset("tiny-1.0-py3-none-any.whl")
    assert _api(deleter).delete(f"/api/v1/assets/{wheel.pk}/").status_code == 204

    page = client.get("/repository/pypi-local/simple/tiny/", headers={**writer_auth, **ACCEPT_JSON})
    assert [f["filename"] for f in page.json()["files"]] == ["tiny-1.0.tar.gz"]
    assert Asset.objects.filter(path__endswith=".whl.metadata").exists() is False
    assert Version.objects.filter(package__name="tiny", version="1.0").exists()


def test_deleting_the_last_file_removes_the_release(client, upload, pypi_repository, make_user):
    upload(*make_wheel("tiny", "1.0"))
    deleter = make_user(pypi_repository, Role.DELETE)
    wheel = _asset(".whl")
    assert _api(deleter).delete(f"/api/v1/assets/{wheel.pk}/").status_code == 204
    assert Version.objects.filter(package__name="tiny").exists() is False


def test_a_writer_cannot_delete_files(upload, pypi_repository, make_user):
    upload(*make_wheel("tiny", "1.0"))
    writer = make_user(pypi_repository, Role.WRITE)
    wheel = _asset(".whl")
    assert _api(writer).delete(f"/api/v1/assets/{wheel.pk}/").status_code == 403
    assert Asset.objects.filter(pk=wheel.pk).exists()


def test_formats_without_single_file_deletion_answer_405(make_user):
    from formats.services import asset_put
    from storage.services import blob_ingest_bytes

    repository = RepositoryFactory(name="npm-files", format="npm")
    asset = asset_put(
        repository=repository,
        path="x/-/x-1.0.0.tgz",
        blob=blob_ingest_bytes(content=b"tgz"),
        media_type="application/gzip",
        user=None,
    )
    response = _api(make_user(repository, Role.ADMIN)).delete(f"/api/v1/assets/{asset.pk}/")
    assert response.status_code == 405
    assert response.json()["code"] == "UNSUPPORTED"
    assert Asset.objects.filter(pk=asset.pk).exists()


REUSED = (
    "This filename has already been used, use a different version. "
    "See https://pypi.org/help/#file-name-reuse for more information."
)


def test_a_deleted_filename_never_returns_with_other_bytes(upload, pypi_repository, make_user):
    filename, original = make_wheel("tiny", "1.0")
    upload(filename, original)
    deleter = make_user(pypi_repository, Role.DELETE)
    assert _api(deleter).delete(f"/api/v1/assets/{_asset('.whl').pk}/").status_code == 204

    refused = upload(*make_wheel("tiny", "1.0", summary="modified"))

    assert (refused.status_code, refused.reason_phrase) == (400, REUSED)
    assert Asset.objects.exists() is False
    assert Version.objects.exists() is False
    assert upload(filename, original).status_code == 200  # the same bytes may come back
    assert _asset(".whl").blob_id == hashlib.sha256(original).hexdigest()


def test_a_redeploy_repository_takes_other_bytes_for_a_deleted_filename(
    upload, pypi_repository, make_user
):
    pypi_repository.allow_redeploy = True
    pypi_repository.save()
    upload(*make_wheel("tiny", "1.0"))
    deleter = make_user(pypi_repository, Role.DELETE)
    assert _api(deleter).delete(f"/api/v1/assets/{_asset('.whl').pk}/").status_code == 204
    filename, modified = make_wheel("tiny", "1.0", summary="modified")

    assert upload(filename, modified).status_code == 200
    assert _asset(".whl").blob_id == hashlib.sha256(modified).hexdigest()
