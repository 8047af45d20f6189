"""What only the object store does: part-sized buffering of small chunks, sessions finished by
another process, presigned redirects, and the configurations it refuses at startup."""

import hashlib
import io
import json
import os
import threading
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.test import RequestFactory

from access.models import Role
from formats.apps import check_mirror_store
from storage import backends, services
from storage.apps import check_serve_mode
from storage.backends import blob_backend
from storage.models import Blob, Upload
from storage.responses import blob_response
from storage.s3 import PART_SIZE
from storage.services import blob_ingest, upload_append, upload_finish, upload_start
from tests.factories import RepositoryFactory
from tests.formats.oci.helpers import basic, digest, push_image

pytestmark = [pytest.mark.django_db, pytest.mark.s3_store]


def _other_process() -> None:
    """Forget what this process knows of sessions, as a second web process would not know it."""
    services._running_hashes.clear()
    backends._s3_backend_for.cache_clear()


def test_small_chunks_become_parts_and_another_process_finishes_the_session():
    content = os.urandom(2 * PART_SIZE + 12345)
    upload = upload_start(owner=None, scope="demo")
    chunk = 3 * 1024 * 1024  # below the 5 MiB S3 asks of a part
    for offset in range(0, len(content), chunk):
        _other_process()  # every PATCH lands on another web process
        upload = upload_append(
            upload=upload, stream=io.BytesIO(content[offset : offset + chunk]), offset=offset
        )
    _other_process()

    blob = upload_finish(
        upload=Upload.objects.get(pk=upload.pk),
        expected={"sha256": hashlib.sha256(content).hexdigest()},
    )

    with blob_backend().open(blob.path) as stored:
        assert stored.read() == content
    backend = blob_backend()
    left = backend.client.list_objects_v2(Bucket=backend.bucket, Prefix=backend.prefix + "uploads/")
    assert left.get("KeyCount") == 0  # no parts, tail or assembled session remain
    assert backend.client.list_multipart_uploads(Bucket=backend.bucket).get("Uploads", []) == []


def _object_keys() -> set[str]:
    backend = blob_backend()
    return {
        item["Key"]
        for page in backend.client.pages("list_objects_v2", Bucket=backend.bucket)
        for item in page.get("Contents", [])
    }


def test_an_ingest_leaves_no_temporary_object_or_open_multipart_upload():
    backend = blob_backend()
    objects, writes = _object_keys(), set(_multipart_writes())  # CI shares one bucket
    content = os.urandom(PART_SIZE + 1)
    blob = blob_ingest(stream=io.BytesIO(content))
    blob_ingest(stream=io.BytesIO(content))  # the same bytes again: nothing new is kept

    assert _object_keys() - objects == {backend.prefix + blob.path}
    assert set(_multipart_writes()) - writes == set()


def test_redirect_mode_answers_a_presigned_url_that_serves_the_bytes_and_ranges(settings):
    settings.BLOB_SERVE_MODE = "redirect"
    content = os.urandom(100_000)
    blob = blob_ingest(stream=io.BytesIO(content))
    factory = RequestFactory()

    response = blob_response(factory.get("/"), blob, content_type="application/gzip")

    assert response.status_code == 302
    signed = parse_qs(urlsplit(response["Location"]).query)
    # S3 answers with these (moto ignores them); the store's origin is not ours either way.
    assert signed["response-content-type"] == ["application/gzip"]
    assert signed["response-content-disposition"] == ["attachment"]
    assert int(signed["X-Amz-Expires"][0]) == settings.BLOB_REDIRECT_SECONDS
    full = requests.get(response["Location"], timeout=30)
    assert full.content == content
    partial = requests.get(response["Location"], headers={"Range": "bytes=10-19"}, timeout=30)
    assert (partial.status_code, partial.content) == (206, content[10:20])
    head = blob_response(factory.head("/"), blob, content_type="application/gzip")
    assert (head.status_code, head["Content-Length"]) == (200, "100000")  # answered by us


class _PausingBody:
    """A request body sent in segments; before each one after the first it waits for ``go``."""

    def __init__(self, *segments: bytes) -> None:
        self._segments = [io.BytesIO(segment) for segment in segments]
        self.go = threading.Semaphore(0)

    def read(self, size: int = -1) -> bytes:
        while self._segments:
            if data := self._segments[0].read(size):
                return data
            self._segments.pop(0)
            if self._segments and not self.go.acquire(timeout=60):
                raise TimeoutError("the test never let the body go on")
        return b""


def _multipart_writes() -> dict[str, str]:
    backend = blob_backend()
    answer = backend.client.list_multipart_uploads(Bucket=backend.bucket)
    return {item["Key"]: item["UploadId"] for item in answer.get("Uploads", [])}


def _parts_sent(key: str, upload_id: str) -> int:
    backend = blob_backend()
    answer = backend.client.list_parts(Bucket=backend.bucket, Key=key, UploadId=upload_id)
    return len(answer.get("Parts", []))


def _ingest_in_thread(body: "_PausingBody") -> tuple[threading.Thread, list[Blob | Exception]]:
    """Start ingesting ``body`` in a thread; the list receives the Blob or the error."""
    ingested: list[Blob | Exception] = []

    def ingest() -> None:
        try:
            ingested.append(blob_ingest(stream=body))
        except Exception as error:  # noqa: BLE001 (the assertion shows it)
            ingested.append(error)
        finally:
            connection.close()

    thread = threading.Thread(target=ingest)
    thread.start()
    return thread, ingested


def _new_multipart_write(known: set[str]) -> str:
    """Wait for the one multipart write started that is not in ``known``; return its key."""
    while not (new := set(_multipart_writes()) - known):
        time.sleep(0.1)
    [key] = new
    return key


def _wait_for_parts(key: str, count: int) -> None:
    while _parts_sent(key, _multipart_writes()[key]) < count:
        time.sleep(0.1)


@pytest.mark.django_db(transaction=True)  # the ingest commits from its own thread
def test_gc_judges_a_temporary_write_by_its_last_part_not_its_start():
    grace = 3.0
    backend = blob_backend()
    others = set(_multipart_writes())  # CI's S3 pass shares one bucket across tests
    crashed = backend.prefix + "tmp/ingest-crashed"  # its process died mid-write
    backend.client.create_multipart_upload(Bucket=backend.bucket, Key=crashed)
    content = os.urandom(2 * PART_SIZE + 10)
    body = _PausingBody(content[:PART_SIZE], content[PART_SIZE:-10], content[-10:])
    thread, ingested = _ingest_in_thread(body)
    live = _new_multipart_write(others | {crashed})
    _wait_for_parts(live, 1)
    time.sleep(grace + 0.5)  # both started longer ago than the grace period
    body.go.release()
    _wait_for_parts(live, 2)  # but the live one has just sent a part

    removed = list(backend.stale_temporaries(older_than=time.time() - grace, dry_run=False))

    body.go.release()
    thread.join(timeout=120)
    assert crashed in removed
    assert live not in removed
    [blob] = ingested
    assert isinstance(blob, Blob), blob
    assert blob.sha256 == hashlib.sha256(content).hexdigest()
    with backend.open(blob.path) as stored:
        assert stored.read() == content
    assert set(_multipart_writes()) - others == set()


@pytest.mark.django_db(transaction=True)  # the ingest commits from its own thread
def test_gc_with_no_grace_passes_by_a_silent_live_write_and_aborts_a_dead_one():
    backend = blob_backend()
    others = set(_multipart_writes())  # CI's S3 pass shares one bucket across tests
    crashed = backend.prefix + "tmp/ingest-crashed-silent"  # its process died before a part
    backend.client.create_multipart_upload(Bucket=backend.bucket, Key=crashed)
    leftover = backend.prefix + "tmp/ingest-published"  # completed, but its cleanup failed
    backend.client.put_object(Bucket=backend.bucket, Key=leftover, Body=b"copied already")
    content = os.urandom(PART_SIZE // 2)
    body = _PausingBody(content[:100], content[100:])  # less than a part, then silence
    thread, ingested = _ingest_in_thread(body)
    live = _new_multipart_write(others | {crashed})
    assert _parts_sent(live, _multipart_writes()[live]) == 0

    removed = list(backend.stale_temporaries(older_than=time.time() + 60, dry_run=False))

    body.go.release()
    thread.join(timeout=120)
    assert {crashed, leftover} <= set(removed)
    assert live not in removed
    assert leftover not in _object_keys()
    [blob] = ingested
    assert isinstance(blob, Blob), blob
    with backend.open(blob.path) as stored:
        assert stored.read() == content
    assert set(_multipart_writes()) - others == set()


@pytest.mark.parametrize(
    ("_case", "store_url", "mode", "mirror", "message"),
    [
        ("x-accel needs files", "s3://b/p", "x-accel", "", "BLOB_SERVE_MODE=x-accel serves files"),
        ("redirect needs an object store", "", "redirect", "", "needs an object store"),
        ("unknown mode", "", "sendfile", "", "use one of stream, x-accel, redirect"),
        ("maven mirror needs files", "s3://b/p", "redirect", "/srv/mirror", "MIRROR_DIR"),
    ],
)
def test_contradicting_configurations_are_refused_at_startup(
    settings, _case, store_url, mode, mirror, message
):
    settings.BLOB_STORE_URL, settings.BLOB_SERVE_MODE = store_url, mode
    settings.MIRROR_DIR = mirror
    with pytest.raises(ImproperlyConfigured, match=message):
        _startup_checks()


def _startup_checks() -> None:
    check_serve_mode()
    check_mirror_store()


def test_redirect_mode_sends_manifests_from_here_and_redirects_blobs(settings, client, make_user):
    settings.BLOB_SERVE_MODE = "redirect"
    repository = RepositoryFactory(name="oci", format="oci")
    auth = basic(make_user(repository, Role.WRITE))
    manifest = push_image(client, "oci/app", "1.0", auth)
    layer = json.loads(manifest)["layers"][0]["digest"]

    answer = client.get("/v2/oci/app/manifests/1.0", headers=auth)
    blob = client.get(f"/v2/oci/app/blobs/{layer}", headers=auth)

    # Clients read the manifest answer's digest header, which a redirect would lose.
    assert answer.status_code == 200
    assert answer["Docker-Content-Digest"] == digest(manifest)
    assert b"".join(answer.streaming_content) == manifest
    assert blob.status_code == 302
    assert requests.get(blob["Location"], timeout=30).content == b"layer-x"
