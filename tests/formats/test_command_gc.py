"""``manage.py gc``: what operators run when there is no beat, or to see what would go."""

import io
import os
import time
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from formats.oci.models import OciBlobLink
from formats.oci.names import parse_digest
from formats.oci.selectors import OciImage
from formats.oci.services import oci_blob_push
from storage.backends import blob_backend
from storage.models import Blob, Upload
from storage.services import blob_ingest, upload_append, upload_start
from tests.factories import RepositoryFactory
from tests.formats.oci.helpers import digest

pytestmark = pytest.mark.django_db

LONG_AGO = timezone.now() - timedelta(days=2)


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command("gc", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def garbage(tmp_path, settings):
    """An orphan blob, an abandoned session, a crashed upload's temp file, an unused layer."""
    settings.BLOB_STORE_DIR = tmp_path / "store"
    orphan = blob_ingest(stream=io.BytesIO(b"orphan"))
    upload = upload_start(owner=None, scope="demo")
    upload_append(upload=upload, stream=io.BytesIO(b"abandoned"))
    crashed = blob_backend().temp_dir / "ingest-crashed"
    crashed.write_bytes(b"partial")
    os.utime(crashed, (time.time() - 7200, time.time() - 7200))
    image = OciImage(repository=RepositoryFactory(name="oci", format="oci"), name="app")
    layer = b"a layer no manifest uses"
    oci_blob_push(image=image, digest=parse_digest(digest(layer)), stream=io.BytesIO(layer))
    Blob.objects.update(last_written=LONG_AGO)
    Upload.objects.update(updated=LONG_AGO)
    OciBlobLink.objects.update(created=LONG_AGO)
    return [orphan.path, upload.path, "tmp/ingest-crashed", f"sha256/{digest(layer)[7:9]}"]


def _present(paths: list[str]) -> list[bool]:
    return [(blob_backend().root / path).exists() for path in paths]


def test_dry_run_lists_what_would_go_and_removes_nothing(garbage):
    output = _run("--dry-run")

    assert output.splitlines() == [
        "formats: collecting...",
        "oci: would remove manifests=0, blob_links=1",
        "blob store: collecting...",
        "blob store: would remove blobs=1, bytes=6, uploads=1, temp_files=1",
        "gc: would remove 1 blobs, 6 B",
    ]
    assert _present(garbage) == [True, True, True, True]
    assert (Blob.objects.count(), Upload.objects.count(), OciBlobLink.objects.count()) == (2, 1, 1)


def test_gc_removes_format_garbage_and_then_the_bytes_it_freed(garbage):
    output = _run()

    assert output.splitlines() == [
        "formats: collecting...",
        "oci: removed manifests=0, blob_links=1",
        "blob store: collecting...",
        "blob store: removed blobs=2, bytes=30, uploads=1, temp_files=1",
        "gc: removed 2 blobs, 30 B",
    ]
    assert _present(garbage[:3]) == [False, False, False]
    assert list((blob_backend().root / garbage[3]).iterdir()) == []
    assert (Blob.objects.count(), Upload.objects.count(), OciBlobLink.objects.count()) == (0, 0, 0)


def test_gc_honours_the_grace_it_is_given(garbage):
    output = _run("--grace", str(timedelta(days=3).total_seconds()))

    assert output.splitlines()[-2:] == [
        "blob store: removed blobs=0, bytes=0, uploads=0, temp_files=0",
        "gc: removed 0 blobs, 0 B",
    ]
    assert _present(garbage) == [True, True, True, True]


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_gc_draws_its_progress_on_a_terminal(garbage, monkeypatch):
    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)

    _run()

    assert terminal.getvalue().endswith("\rgc blobs [" + "#" * 30 + "] 2/2 100.0%\n")
