"""Garbage collection next to work in progress: ingests, upload sessions, referencing writes."""

import hashlib
import io
import os
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection, transaction

from formats.models import Asset
from formats.services import asset_put
from storage import services
from storage.backends import blob_backend
from storage.errors import BlobCollected
from storage.models import Blob, Upload
from storage.services import blob_gc, blob_ingest, upload_append, upload_start

NO_GRACE = timedelta(0)
FIRST = os.urandom(services.CHUNK_SIZE)
REST = os.urandom(1000)
AN_HOUR_AGO = time.time() - 3600


class HeldStream:
    """Sends one chunk, then waits for ``release`` before sending the rest: a slow client."""

    def __init__(self) -> None:
        self.sent_first = threading.Event()
        self.release = threading.Event()
        self.parts = [FIRST, REST]

    def read(self, size: int = -1) -> bytes:
        if len(self.parts) == 1:
            self.sent_first.set()
            assert self.release.wait(60)
        return self.parts.pop(0) if self.parts else b""


def _in_thread(work: Callable[[], object]) -> tuple[threading.Thread, list]:
    outcome: list = []

    def run() -> None:
        try:
            outcome.append(work())
        except Exception as error:  # noqa: BLE001 - the test asserts on it
            outcome.append(error)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def _temp_files() -> dict[str, Path]:
    return {p.name: p for p in blob_backend().temp_dir.iterdir() if p.is_file()}


@pytest.mark.django_db(transaction=True)
@pytest.mark.filesystem_store  # local temporary files
def test_sweep_keeps_an_ingest_in_progress_and_removes_what_a_crash_left():
    before = set(_temp_files())
    crashed = blob_backend().temp_dir / "ingest-crashed"
    crashed.write_bytes(b"partial")
    os.utime(crashed, (AN_HOUR_AGO, AN_HOUR_AGO))
    stream = HeldStream()
    thread, outcome = _in_thread(lambda: blob_ingest(stream=stream))
    assert stream.sent_first.wait(60)
    [in_flight] = set(_temp_files()) - before - {"ingest-crashed"}
    os.utime(_temp_files()[in_flight], (AN_HOUR_AGO, AN_HOUR_AGO))  # however old it looks

    swept = blob_gc(grace=NO_GRACE)

    assert swept.temp_files == 1
    assert set(_temp_files()) - before == {in_flight}
    stream.release.set()
    thread.join()
    [blob] = outcome
    assert isinstance(blob, Blob)
    with blob_backend().open(blob.path) as stored:
        assert hashlib.sha256(stored.read()).hexdigest() == hashlib.sha256(FIRST + REST).hexdigest()
    assert set(_temp_files()) == before


@pytest.mark.django_db
@pytest.mark.filesystem_store
def test_sweep_takes_files_vanishing_under_it_in_its_stride(monkeypatch):
    folder = blob_backend().temp_dir
    for name in ("ingest-a", "ingest-b"):
        (folder / name).write_bytes(b"x")
        os.utime(folder / name, (AN_HOUR_AGO, AN_HOUR_AGO))
    listing = os.scandir

    def renamed_while_listed(path):
        # Each file is published (renamed away) between the listing and the sweep's look at it.
        with listing(path) as entries:
            for entry in list(entries):
                if entry.name.startswith("ingest-"):
                    Path(entry.path).unlink()
                yield entry

    monkeypatch.setattr(services.os, "scandir", renamed_while_listed)

    assert blob_gc(grace=NO_GRACE).temp_files == 0


@pytest.mark.django_db(transaction=True)
def test_gc_leaves_an_upload_session_being_appended_to_alone():
    upload = upload_start(owner=None, scope="demo")
    stream = HeldStream()
    thread, outcome = _in_thread(lambda: upload_append(upload=upload, stream=stream))
    assert stream.sent_first.wait(60)

    assert blob_gc(grace=NO_GRACE).uploads == 0

    stream.release.set()
    thread.join()
    [appended] = outcome
    assert isinstance(appended, Upload)
    assert Upload.objects.get().size == len(FIRST) + len(REST)
    # Idle now, and the grace period is zero: abandoned.
    assert blob_gc(grace=NO_GRACE).uploads == 1
    assert Upload.objects.exists() is False
    assert blob_backend().exists(upload.path) is False


@pytest.mark.django_db(transaction=True)
def test_gc_skips_a_digest_while_an_ingest_publishes_it():
    blob = blob_ingest(stream=io.BytesIO(b"in demand"))
    publishing, release = threading.Event(), threading.Event()

    def publish() -> None:
        # What an ingest holds between "is the file there" and the commit of its row.
        with services._publishing(blob.sha256):
            publishing.set()
            assert release.wait(60)

    thread, _ = _in_thread(publish)
    assert publishing.wait(60)

    assert blob_gc(grace=NO_GRACE).blobs == 0

    release.set()
    thread.join()
    assert blob_backend().exists(blob.path) is True
    assert blob_gc(grace=NO_GRACE).blobs == 1
    assert blob_backend().exists(blob.path) is False


@pytest.mark.django_db
def test_a_reference_to_a_collected_blob_is_refused_and_retryable(raw_repository):
    blob = blob_ingest(stream=io.BytesIO(b"collected too soon"))
    assert blob_gc(grace=NO_GRACE).blobs == 1

    with pytest.raises(BlobCollected) as raised:
        asset_put(
            repository=raw_repository,
            path="late.bin",
            blob=blob,
            media_type="application/octet-stream",
            user=None,
        )

    assert (raised.value.http_status, raised.value.headers) == (503, {"Retry-After": "1"})
    assert Asset.objects.exists() is False


@pytest.mark.django_db(transaction=True)
def test_gc_skips_a_blob_a_transaction_is_about_to_refer_to_without_waiting(raw_repository):
    if connection.vendor != "postgresql":
        pytest.skip("row locks: SQLite runs one writing transaction at a time anyway")
    blob = blob_ingest(stream=io.BytesIO(b"about to be used"))
    held, release = threading.Event(), threading.Event()

    def refer() -> Asset:
        with transaction.atomic():
            services.blob_hold(blob=blob)
            held.set()
            assert release.wait(60)
            return asset_put(
                repository=raw_repository,
                path="used.bin",
                blob=blob,
                media_type="application/octet-stream",
                user=None,
            )

    writer, written = _in_thread(refer)
    assert held.wait(60)
    # The collector finishes while the writer still holds the row: no push waits for it.
    collector, collected = _in_thread(lambda: blob_gc(grace=NO_GRACE))
    collector.join(60)
    finished_while_held = not collector.is_alive() and writer.is_alive()

    release.set()
    writer.join()
    collector.join()

    assert finished_while_held is True
    assert isinstance(written[0], Asset)
    assert collected[0].blobs == 0
    assert Asset.objects.get().blob_id == blob.pk
    assert blob_backend().exists(blob.path) is True
