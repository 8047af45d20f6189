"""What only the object store does: part-sized buffering of small chunks, sessions finished by
another process, presigned redirects, and the configurations it refuses at startup."""

import hashlib
import io
import os
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.core.exceptions import ImproperlyConfigured
from django.test import RequestFactory

from formats.maven.apps import check_mirror_store
from storage import backends, services
from storage.apps import check_serve_mode
from storage.backends import blob_backend
from storage.models import Upload
from storage.responses import blob_response
from storage.s3 import PART_SIZE
from storage.services import blob_ingest, upload_append, upload_finish, upload_start

pytestmark = [pytest.mark.django_db, pytest.mark.s3_store]


def _other_process() -> None:
    """Forget what this process knows of sessions, as a second web process would not know it."""
    services._running_sha256.clear()
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


def test_an_ingest_leaves_no_temporary_object_or_open_multipart_upload():
    content = os.urandom(PART_SIZE + 1)
    blob = blob_ingest(stream=io.BytesIO(content))
    blob_ingest(stream=io.BytesIO(content))  # the same bytes again: nothing new is kept

    backend = blob_backend()
    keys = [
        item["Key"]
        for item in backend.client.list_objects_v2(Bucket=backend.bucket).get("Contents", [])
    ]
    assert keys == [backend.prefix + blob.path]
    assert backend.client.list_multipart_uploads(Bucket=backend.bucket).get("Uploads", []) == []


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


@pytest.mark.parametrize(
    ("_case", "store_url", "mode", "mirror", "message"),
    [
        ("x-accel needs files", "s3://b/p", "x-accel", "", "BLOB_SERVE_MODE=x-accel serves files"),
        ("redirect needs an object store", "", "redirect", "", "needs an object store"),
        ("unknown mode", "", "sendfile", "", "use one of stream, x-accel, redirect"),
        ("maven mirror needs files", "s3://b/p", "redirect", "/srv/mirror", "MAVEN_MIRROR_DIR"),
    ],
)
def test_contradicting_configurations_are_refused_at_startup(
    settings, _case, store_url, mode, mirror, message
):
    settings.BLOB_STORE_URL, settings.BLOB_SERVE_MODE = store_url, mode
    settings.MAVEN_MIRROR_DIR = mirror
    with pytest.raises(ImproperlyConfigured, match=message):
        _startup_checks()


def _startup_checks() -> None:
    check_serve_mode()
    check_mirror_store()
