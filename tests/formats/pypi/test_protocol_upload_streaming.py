"""The upload API streams the file part into the blob store as it arrives: no spooled copy on
local disk, and a request cut off half-way leaves nothing behind."""

import hashlib
import io
import os
import zipfile
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart

from formats.models import Asset
from storage.backends import blob_backend
from storage.models import Blob, Upload
from tests.formats.pypi.dists import make_wheel

pytestmark = [pytest.mark.django_db, pytest.mark.protocol]

PAYLOAD = 8 * 1024 * 1024


def _large_wheel() -> tuple[str, bytes]:
    filename, content = make_wheel("demo-pkg", "1.0")
    buffer = io.BytesIO(content)
    with zipfile.ZipFile(buffer, "a") as wheel:
        wheel.writestr("demo_pkg/data.bin", os.urandom(PAYLOAD))
    return filename, buffer.getvalue()


def _form(filename: str, content: bytes) -> bytes:
    return encode_multipart(
        BOUNDARY,
        {
            ":action": "file_upload",
            "name": "demo-pkg",
            "version": "1.0",
            "filetype": "bdist_wheel",
            "sha256_digest": hashlib.sha256(content).hexdigest(),
            "content": SimpleUploadedFile(filename, content),
        },
    )


def _files_under(folder: Path) -> dict[Path, int]:
    return {file: file.stat().st_size for file in folder.rglob("*") if file.is_file()}


def _temp_files() -> dict[Path, int]:
    """The files in the local temp folders: Django's spool and the store's own."""
    folders = {Path(settings.FILE_UPLOAD_TEMP_DIR), blob_backend().temp_dir}
    return {file: size for folder in folders for file, size in _files_under(folder).items()}


def _session_files() -> dict[Path, int]:
    return _files_under(blob_backend().temp_dir.parent / "uploads")


def _grown(now: dict[Path, int], before: dict[Path, int]) -> int:
    """How many bytes files new since ``before`` hold (other tests' files stay out)."""
    return sum(size for file, size in now.items() if file not in before)


class _WatchedBody(io.RawIOBase):
    """A request body that notes, as it is read, how much the local temp folders and the
    store's upload sessions have grown; it fails like a dropped connection at ``cut_at``."""

    def __init__(self, body: bytes, *, cut_at: int | None = None) -> None:
        self._body, self._cut_at = io.BytesIO(body), cut_at
        self.temp_before, self.sessions_before = _temp_files(), _session_files()
        self.seen: list[tuple[int, int, int]] = []  # (bytes read, temp bytes, session bytes)

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        position = self._body.tell()
        if self._cut_at is not None and position >= self._cut_at:
            raise OSError("connection reset by peer")
        self.seen.append(
            (
                position,
                _grown(_temp_files(), self.temp_before),
                _grown(_session_files(), self.sessions_before),
            )
        )
        return self._body.read(size)


def _post(client, repository, auth: dict[str, str], body: _WatchedBody, length: int):
    return client.request(
        REQUEST_METHOD="POST",
        PATH_INFO=f"/repository/{repository.name}/",
        CONTENT_TYPE=MULTIPART_CONTENT,
        CONTENT_LENGTH=str(length),
        HTTP_AUTHORIZATION=auth["Authorization"],
        **{"wsgi.input": body},
    )


def test_a_large_file_goes_to_the_store_as_it_arrives_without_a_local_copy(
    client, pypi_repository, writer_auth
):
    filename, content = _large_wheel()
    form = _form(filename, content)
    body = _WatchedBody(form)

    response = _post(client, pypi_repository, writer_auth, body, len(form))

    assert response.status_code == 200
    # Nothing was spooled: the local temp folders stayed empty all along ...
    assert max(temp for _, temp, _ in body.seen) == 0
    # ... while the session in the store grew with what had been read.
    halfway = [session for read, _, session in body.seen if read >= len(form) // 2]
    assert halfway[0] >= PAYLOAD // 4
    asset = Asset.objects.get(path=f"packages/demo-pkg/1.0/{filename}")
    assert (asset.blob.sha256, asset.blob.md5, asset.blob.size) == (
        hashlib.sha256(content).hexdigest(),
        hashlib.md5(content).hexdigest(),
        len(content),
    )
    assert Upload.objects.count() == 0
    assert _session_files().keys() == body.sessions_before.keys()


def test_an_upload_cut_off_half_way_leaves_no_session_nor_bytes(
    client, pypi_repository, writer_auth
):
    filename, content = _large_wheel()
    form = _form(filename, content)
    body = _WatchedBody(form, cut_at=len(form) // 2)

    response = _post(client, pypi_repository, writer_auth, body, len(form))

    assert response.status_code == 400
    assert response.reason_phrase.startswith("Invalid multipart form: ")
    assert body.seen[-1][2] > 0  # it had reached the store
    assert (Upload.objects.count(), Blob.objects.count(), Asset.objects.count()) == (0, 0, 0)
    assert _session_files().keys() == body.sessions_before.keys()
    assert _grown(_temp_files(), body.temp_before) == 0
