"""A full disk answers 507 in each protocol's error format, leaves nothing behind, reads go on.

The blob store (and Django's upload spool) live on a real 2 MiB tmpfs, filled up by a file.
"""

import hashlib
import os
import subprocess
from base64 import b64encode
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from access.models import Role
from formats.models import Asset
from storage.backends import blob_backend
from storage.models import Blob, Upload
from tests.factories import RepositoryFactory
from tests.formats.npm.helpers import make_tarball, publish_body
from tests.formats.oci.helpers import basic, digest
from tests.formats.pypi.dists import make_wheel

pytestmark = [pytest.mark.django_db, pytest.mark.filesystem_store]

TOO_BIG = os.urandom(512 * 1024)
MESSAGE = "the registry's storage is full; nothing was stored, try again later"


class Disk:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.filler = root / "filler"

    def fill(self, *, leave: int = 64 * 1024) -> None:
        stats = os.statvfs(self.root)
        self.filler.write_bytes(b"\0" * (stats.f_bavail * stats.f_frsize - leave))

    def free(self) -> None:
        self.filler.unlink()

    def leftovers(self) -> list[str]:
        """Files in the temp folder and the blob folders (the lock stripes do not count)."""
        temp = [p.name for p in (self.root / "tmp").iterdir() if p.is_file()]
        blobs = [p.name for p in (self.root / "sha256").rglob("*") if p.is_file()]
        return sorted(temp + blobs)


@pytest.fixture
def disk(tmp_path, settings):
    root = tmp_path / "store"
    root.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(root)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.strip()}")
    try:
        settings.BLOB_STORE_DIR = root
        settings.FILE_UPLOAD_TEMP_DIR = str(root / "tmp")
        blob_backend()  # creates its folders on the small disk
        yield Disk(root)
    finally:
        subprocess.run(["umount", "-l", str(root)], check=False)


@pytest.fixture
def raw(make_user, make_token):
    repository = RepositoryFactory(name="files", format="raw")
    user = make_user(repository, Role.WRITE)
    return basic(user, make_token(user))


def test_raw_put_on_a_full_disk_is_507_and_reads_go_on(client, disk, raw):
    kept = os.urandom(1000)
    assert client.put("/repository/files/kept.bin", data=kept, headers=raw).status_code == 201
    disk.fill()

    response = client.put("/repository/files/big.bin", data=TOO_BIG, headers=raw)

    assert response.status_code == 507
    assert response.json() == {"error": MESSAGE}
    assert list(Asset.objects.values_list("path", flat=True)) == ["kept.bin"]
    assert disk.leftovers() == [hashlib.sha256(kept).hexdigest()]
    read = client.get("/repository/files/kept.bin", headers=raw)
    assert read.status_code == 200
    assert b"".join(read.streaming_content) == kept


@pytest.fixture
def oci(make_user, make_token):
    repository = RepositoryFactory(name="images", format="oci")
    user = make_user(repository, Role.WRITE)
    return basic(user, make_token(user))


OCI_FULL = {
    "errors": [{"code": "INSUFFICIENT_STORAGE", "message": MESSAGE, "detail": {}}],
}


def test_oci_monolithic_upload_on_a_full_disk_is_507(client, disk, oci):
    disk.fill()

    response = client.post(
        f"/v2/images/app/blobs/uploads/?digest={digest(TOO_BIG)}",
        data=TOO_BIG,
        content_type="application/octet-stream",
        headers=oci,
    )

    assert response.status_code == 507
    assert response.json() == OCI_FULL
    assert Blob.objects.exists() is False
    assert disk.leftovers() == []


def test_oci_chunk_on_a_full_disk_is_dropped_and_the_session_goes_on(client, disk, oci):
    started = client.post("/v2/images/app/blobs/uploads/", headers=oci)
    location = urlsplit(started["Location"]).path
    first = os.urandom(1000)
    patched = client.patch(
        location, data=first, content_type="application/octet-stream", headers=oci
    )
    assert patched.status_code == 202
    disk.fill()

    response = client.patch(
        location, data=TOO_BIG, content_type="application/octet-stream", headers=oci
    )

    assert response.status_code == 507
    assert response.json() == OCI_FULL
    [upload] = Upload.objects.all()
    assert upload.size == len(first)
    assert (disk.root / upload.path).stat().st_size == len(first)  # the partial chunk is gone
    disk.free()
    resumed = client.patch(
        location, data=TOO_BIG, content_type="application/octet-stream", headers=oci
    )
    assert resumed.status_code == 202
    finished = client.put(f"{location}?digest={digest(first + TOO_BIG)}", headers=oci)
    assert finished.status_code == 201
    assert Blob.objects.get().sha256 == hashlib.sha256(first + TOO_BIG).hexdigest()


def test_npm_publish_on_a_full_disk_is_507(client, disk, make_user, make_token):
    repository = RepositoryFactory(name="npm", format="npm")
    token = make_token(make_user(repository, Role.WRITE))
    tarball = make_tarball({"name": "big", "version": "1.0.0"}, files={"big.bin": TOO_BIG})
    disk.fill()

    response = client.put(
        "/repository/npm/big",
        data=publish_body("big", "1.0.0", tarball=tarball),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )

    assert response.status_code == 507, response.content
    assert response.json() == {"error": MESSAGE}
    assert Asset.objects.exists() is False
    assert disk.leftovers() == []


def test_twine_upload_on_a_full_disk_is_507(client, disk, make_user, make_token):
    repository = RepositoryFactory(name="pypi", format="pypi")
    twine = {
        "Authorization": "Basic "
        + b64encode(f"__token__:{make_token(make_user(repository, Role.WRITE))}".encode()).decode()
    }
    # Stored uncompressed: larger than Django keeps in memory, so it spools to the full disk.
    filename, content = make_wheel("big", "1.0", summary="y" * 400_000)
    disk.fill(leave=128 * 1024)
    form = {
        ":action": "file_upload",
        "name": "big",
        "version": "1.0",
        "protocol_version": "1",
        "filetype": "bdist_wheel",
        "sha256_digest": hashlib.sha256(content).hexdigest(),
    }
    with (disk.root.parent / filename).open("wb+") as file:
        file.write(content)
        file.seek(0)
        response = client.post("/repository/pypi/", data={**form, "content": file}, headers=twine)

    assert response.status_code == 507
    assert response.reason_phrase == MESSAGE
    assert Asset.objects.exists() is False
    assert disk.leftovers() == []
