"""Garbage collection costs a fixed number of queries per batch of blobs, not per blob."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from formats.models import Asset
from storage import services
from storage.backends import blob_backend
from storage.models import Blob
from storage.services import blob_gc, blob_ingest_bytes

pytestmark = pytest.mark.django_db

NO_GRACE = timedelta(0)


@pytest.fixture(autouse=True)
def _store(tmp_path, settings):
    settings.BLOB_STORE_DIR = tmp_path / "store"


def _garbage(count: int, *, start: int = 0) -> list[Blob]:
    return [blob_ingest_bytes(content=b"garbage %d" % n) for n in range(start, start + count)]


def _gc_queries(monkeypatch, *, blobs: int, batch: int) -> int:
    monkeypatch.setattr(services, "GC_BATCH", batch)
    made = _garbage(blobs, start=Blob.objects.count())
    with CaptureQueriesContext(connection) as queries:
        result = blob_gc(grace=NO_GRACE)
    assert result.blobs == blobs
    assert [blob_backend().exists(blob.path) for blob in made] == [False] * blobs
    return len(queries)


def test_gc_queries_grow_with_batches_not_with_blobs(monkeypatch):
    one_batch_of_5 = _gc_queries(monkeypatch, blobs=5, batch=5)
    one_batch_of_20 = _gc_queries(monkeypatch, blobs=20, batch=20)
    two_batches_of_5 = _gc_queries(monkeypatch, blobs=10, batch=5)
    four_batches_of_5 = _gc_queries(monkeypatch, blobs=20, batch=5)

    assert one_batch_of_20 == one_batch_of_5
    per_batch = two_batches_of_5 - one_batch_of_5
    assert per_batch > 0
    assert four_batches_of_5 == one_batch_of_5 + 3 * per_batch


def test_gc_in_batches_keeps_every_referenced_blob(monkeypatch, raw_repository):
    monkeypatch.setattr(services, "GC_BATCH", 3)
    blobs = _garbage(10)
    kept = blobs[1::3]
    for number, blob in enumerate(kept):
        Asset.objects.create(repository=raw_repository, path=f"kept/{number}", blob=blob)

    result = blob_gc(grace=NO_GRACE)

    assert result.blobs == len(blobs) - len(kept)
    assert set(Blob.objects.values_list("sha256", flat=True)) == {blob.pk for blob in kept}
    assert [blob_backend().exists(blob.path) for blob in blobs] == [blob in kept for blob in blobs]
    assert result.bytes == sum(blob.size for blob in blobs if blob not in kept)


def test_gc_dry_run_counts_in_one_query_and_removes_nothing(monkeypatch):
    monkeypatch.setattr(services, "GC_BATCH", 2)
    blobs = _garbage(7)

    result = blob_gc(grace=NO_GRACE, dry_run=True)

    assert (result.blobs, result.bytes) == (7, sum(blob.size for blob in blobs))
    assert Blob.objects.count() == 7
    assert all(blob_backend().exists(blob.path) for blob in blobs)
