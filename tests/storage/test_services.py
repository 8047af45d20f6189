import hashlib
import io
import os
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from storage.backends import blob_backend
from storage.errors import BlobTooLarge, DigestMismatch, UploadOutOfOrder
from storage.models import Blob, Upload
from storage.s3 import PART_SIZE
from storage.services import (
    blob_checksums,
    blob_gc,
    blob_ingest,
    upload_append,
    upload_finish,
    upload_open,
    upload_session,
    upload_sha256,
    upload_start,
    upload_writing,
)
from storage.tasks import blob_gc_task

pytestmark = pytest.mark.django_db


def _temp_files() -> set[str]:
    return set(os.listdir(blob_backend().temp_dir))


def test_ingest_stores_bytes_under_their_sha256():
    content = os.urandom(3 * 1024 * 1024 + 7)
    blob = blob_ingest(stream=io.BytesIO(content))
    assert blob.sha256 == hashlib.sha256(content).hexdigest()
    assert blob.size == len(content)
    with blob_backend().open(blob.path) as stored:
        assert stored.read() == content
    assert blob.path == f"sha256/{blob.sha256[:2]}/{blob.sha256}"


def test_same_content_twice_is_one_blob():
    content = os.urandom(1000)
    first = blob_ingest(stream=io.BytesIO(content))
    second = blob_ingest(stream=io.BytesIO(content))
    assert first.pk == second.pk
    assert Blob.objects.filter(sha256=first.sha256).count() == 1


def test_ingest_computes_requested_digests_in_one_pass():
    content = os.urandom(5000)
    blob = blob_ingest(stream=io.BytesIO(content), algorithms=["sha512", "sha1", "md5"])
    assert blob.sha512 == hashlib.sha512(content).hexdigest()
    assert blob.sha1 == hashlib.sha1(content).hexdigest()
    assert blob.md5 == hashlib.md5(content).hexdigest()


def test_checksums_are_filled_on_demand_and_kept():
    content = os.urandom(5000)
    blob = blob_ingest(stream=io.BytesIO(content))
    assert (blob.sha1, blob.md5, blob.sha512) == ("", "", "")
    blob_checksums(blob=blob)
    stored = Blob.objects.get(pk=blob.pk)
    assert stored.sha1 == hashlib.sha1(content).hexdigest()
    assert stored.sha512 == hashlib.sha512(content).hexdigest()


@pytest.mark.parametrize("algorithm", ["sha256", "sha512", "md5"])
def test_digest_mismatch_leaves_nothing_behind(algorithm):
    content = os.urandom(4096)
    before = _temp_files()
    with pytest.raises(DigestMismatch) as raised:
        blob_ingest(stream=io.BytesIO(content), expected={algorithm: "0" * 64})
    assert raised.value.http_status == 400
    sha256 = hashlib.sha256(content).hexdigest()
    assert Blob.objects.filter(sha256=sha256).exists() is False
    assert blob_backend().exists(f"sha256/{sha256[:2]}/{sha256}") is False
    assert _temp_files() == before


def test_expected_digest_that_matches_is_accepted():
    content = b"hello"
    sha256 = hashlib.sha256(content).hexdigest()
    blob = blob_ingest(stream=io.BytesIO(content), expected={"sha256": sha256.upper()})
    assert blob.sha256 == sha256


def test_oversized_content_is_refused_and_not_stored():
    content = os.urandom(2048)
    before = _temp_files()
    with pytest.raises(BlobTooLarge):
        blob_ingest(stream=io.BytesIO(content), max_size=1024)
    assert Blob.objects.count() == 0
    assert _temp_files() == before


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_of_the_same_bytes_end_with_one_blob():
    content = os.urandom(2 * 1024 * 1024)
    results, errors = [], []

    def write() -> None:
        try:
            results.append(blob_ingest(stream=io.BytesIO(content)).sha256)
        except Exception as error:  # noqa: BLE001 - the assertion below reports it
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=write) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert results == [hashlib.sha256(content).hexdigest()] * 6
    assert Blob.objects.count() == 1
    with blob_backend().open(Blob.objects.get().path) as stored:
        assert stored.read() == content


def test_chunked_upload_assembles_and_verifies():
    content = os.urandom(300_000)
    upload = upload_start(owner=None, scope="demo")
    upload = upload_append(upload=upload, stream=io.BytesIO(content[:100_000]), offset=0)
    upload = upload_append(upload=upload, stream=io.BytesIO(content[100_000:]), offset=100_000)
    assert upload.size == 300_000
    blob = upload_finish(upload=upload, expected={"sha256": hashlib.sha256(content).hexdigest()})
    assert blob.size == 300_000
    with blob_backend().open(blob.path) as stored:
        assert stored.read() == content


@pytest.mark.parametrize(
    ("_case", "forget_running_hash"),
    [
        ("closed by the process that appended (running sha256)", False),
        ("closed by another process (bytes read again)", True),
    ],
)
def test_chunked_upload_finish_verifies_either_way(_case, forget_running_hash):
    from storage import services

    content = os.urandom(200_000)
    upload = upload_start(owner=None, scope="demo")
    upload = upload_append(upload=upload, stream=io.BytesIO(content[:50_000]), offset=0)
    upload = upload_append(upload=upload, stream=io.BytesIO(content[50_000:]))
    if forget_running_hash:
        services._running_hashes.clear()
    with pytest.raises(DigestMismatch):
        upload_finish(upload=upload, expected={"sha256": "0" * 64})
    assert Blob.objects.exists() is False
    # The refused attempt used up the running hash; the next one still verifies correctly.
    blob = upload_finish(upload=upload, expected={"sha256": hashlib.sha256(content).hexdigest()})
    with blob_backend().open(blob.path) as stored:
        assert stored.read() == content


def test_a_refused_finish_leaves_the_session_open_for_more_chunks():
    from storage import services

    # On S3 the session then holds a full part and a tail, and the refused finish sealed both.
    content = os.urandom(2 * PART_SIZE + 5000)
    first, rest = content[: PART_SIZE + 1000], content[PART_SIZE + 1000 :]
    upload = upload_start(owner=None, scope="demo")
    upload = upload_append(upload=upload, stream=io.BytesIO(first), offset=0)
    with pytest.raises(DigestMismatch):
        upload_finish(upload=upload, expected={"sha256": hashlib.sha256(first[:-1]).hexdigest()})
    services._running_hashes.clear()  # the next chunk lands on another web process

    upload = upload_append(upload=upload, stream=io.BytesIO(rest), offset=len(first))
    blob = upload_finish(upload=upload, expected={"sha256": hashlib.sha256(content).hexdigest()})

    assert blob.size == len(content)
    with blob_backend().open(blob.path) as stored:
        assert stored.read() == content


def test_pushed_chunks_can_be_read_back_before_they_become_a_blob():
    # A multipart part as Django's parser hands it over: small chunks, pushed. On S3 they
    # fill parts and a tail, and the sealed session reads like the file it will be.
    content = os.urandom(PART_SIZE + 300_000)
    with upload_session(owner=None, scope="demo") as session:
        with upload_writing(upload=session, algorithms=("md5",)) as writer:
            for offset in range(0, len(content), 64 * 1024):
                writer.write(memoryview(content[offset : offset + 64 * 1024]))
        session = writer.upload
        with upload_open(upload=session) as stream:
            stream.seek(PART_SIZE - 10)
            assert stream.read(20) == content[PART_SIZE - 10 : PART_SIZE + 10]
        assert upload_sha256(upload=session) == hashlib.sha256(content).hexdigest()
        assert Blob.objects.exists() is False

        blob = upload_finish(upload=session, expected={"md5": hashlib.md5(content).hexdigest()})

    assert (blob.size, blob.md5) == (len(content), hashlib.md5(content).hexdigest())
    with blob_backend().open(blob.path) as stored:
        assert stored.read() == content
    assert Upload.objects.exists() is False


def test_a_push_past_the_limit_adds_nothing_and_the_session_goes_with_its_block():
    with upload_session(owner=None, scope="demo") as session:
        with upload_writing(upload=session, max_size=10) as writer:
            writer.write(memoryview(b"12345"))
        with pytest.raises(BlobTooLarge), upload_writing(upload=session, max_size=10) as writer:
            writer.write(memoryview(b"678901"))
        assert Upload.objects.get(pk=session.pk).size == 5
    assert Upload.objects.exists() is False


@pytest.mark.filesystem_store
def test_running_hash_ignores_the_tail_of_an_interrupted_chunk():
    content = b"abc" * 1000
    upload = upload_start(owner=None, scope="demo")
    upload = upload_append(upload=upload, stream=io.BytesIO(content))
    with (blob_backend().root / upload.path).open("ab") as stored:
        stored.write(b"partial chunk that never committed")
    blob = upload_finish(upload=upload, expected={"sha256": hashlib.sha256(content).hexdigest()})
    assert blob.size == len(content)
    with blob_backend().open(blob.path) as stored:
        assert stored.read() == content


def test_chunk_at_the_wrong_offset_is_refused():
    upload = upload_start(owner=None, scope="demo")
    upload_append(upload=upload, stream=io.BytesIO(b"abc"), offset=0)
    with pytest.raises(UploadOutOfOrder) as raised:
        upload_append(upload=upload, stream=io.BytesIO(b"def"), offset=10)
    assert raised.value.http_status == 416
    upload.refresh_from_db()
    assert upload.size == 3


def test_gc_removes_only_old_unreferenced_blobs(raw_repository):
    from formats.services import asset_put

    old_orphan = blob_ingest(stream=io.BytesIO(os.urandom(100)))
    new_orphan = blob_ingest(stream=io.BytesIO(os.urandom(100)))
    referenced = blob_ingest(stream=io.BytesIO(os.urandom(100)))
    asset_put(
        repository=raw_repository,
        path="kept.bin",
        blob=referenced,
        media_type="application/octet-stream",
        user=None,
    )
    an_hour_ago = timezone.now() - timedelta(hours=2)
    Blob.objects.filter(pk__in=[old_orphan.pk, referenced.pk]).update(last_written=an_hour_ago)

    assert blob_gc(grace=timedelta(hours=1)).blobs == 1
    assert set(Blob.objects.values_list("pk", flat=True)) == {new_orphan.pk, referenced.pk}
    assert blob_backend().exists(old_orphan.path) is False
    assert blob_backend().exists(referenced.path) is True


@pytest.mark.environment_store
def test_gc_task_runs_on_the_worker(celery_worker):
    orphan = blob_ingest(stream=io.BytesIO(os.urandom(100)))
    Blob.objects.filter(pk=orphan.pk).update(last_written=timezone.now() - timedelta(days=2))

    removed = blob_gc_task.delay().get(timeout=60)

    assert removed == {"blobs": 1, "bytes": 100, "uploads": 0, "temp_files": 0}
    assert Blob.objects.filter(pk=orphan.pk).exists() is False
    assert blob_backend().exists(orphan.path) is False


@pytest.mark.filesystem_store
def test_write_back_starts_for_exactly_the_bytes_written(monkeypatch, settings):
    # Early write-back leaves the closing fsync little to wait for; it must cover each byte of
    # the file once, also for a chunk appended to an upload that already holds bytes.
    from storage import backends

    settings.BLOB_FSYNC = True
    started: list[tuple[int, int]] = []
    monkeypatch.setattr(
        backends, "start_writeback", lambda fd, offset, length: started.append((offset, length))
    )
    upload = upload_start(owner=None, scope="demo")
    upload_append(upload=upload, stream=io.BytesIO(os.urandom(1000)), offset=0)
    upload_append(upload=upload, stream=io.BytesIO(os.urandom(2 * 1024 * 1024 + 5)), offset=1000)

    mib = 1024 * 1024
    assert started == [(0, 1000), (1000, mib), (1000 + mib, mib), (1000 + 2 * mib, 5)]
