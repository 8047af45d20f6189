"""Fixtures of the PyPI protocol tests: a repository, writers, and an uploader."""

import base64
import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from access.models import Role
from tests.factories import RepositoryFactory


def basic(username: str, secret: str) -> dict[str, str]:
    encoded = base64.b64encode(f"{username}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {encoded}"}


@pytest.fixture
def pypi_repository(db):
    return RepositoryFactory(name="pypi-local", format="pypi")


@pytest.fixture
def writer_auth(pypi_repository, make_user, make_token) -> dict[str, str]:
    """Basic credentials of a writer, as twine sends them with an API token."""
    return basic("__token__", make_token(make_user(pypi_repository, Role.WRITE)))


@pytest.fixture
def upload(client, pypi_repository, writer_auth):
    """POST a distribution to the legacy upload API, like twine; extra fields override."""

    def send(filename: str, data: bytes, *, repository=None, headers=None, **fields):
        stem = filename.removesuffix(".tar.gz").removesuffix(".zip")
        form = {
            ":action": "file_upload",
            "name": stem.split("-")[0],
            "version": stem.split("-")[1],
            "protocol_version": "1",
            "sha256_digest": hashlib.sha256(data).hexdigest(),
            "md5_digest": hashlib.md5(data).hexdigest(),
            "filetype": "sdist" if filename.endswith((".tar.gz", ".zip")) else "bdist_wheel",
            "content": _named(filename, data),
        }
        form.update(fields)
        form = {key: value for key, value in form.items() if value is not None}
        return client.post(
            f"/repository/{(repository or pypi_repository).name}/",
            data=form,
            headers=writer_auth if headers is None else headers,
        )

    return send


def _named(filename: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(filename, content, content_type="application/octet-stream")
