"""Background work of the blob store."""

from dataclasses import asdict

from celery import shared_task

from storage.services import blob_gc


@shared_task
def blob_gc_task() -> dict[str, int]:
    """Remove unreferenced blobs, abandoned uploads and stale temp files past the grace period."""
    return asdict(blob_gc())
