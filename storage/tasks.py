"""Background work of the blob store."""

from celery import shared_task

from storage.services import blob_gc


@shared_task
def blob_gc_task() -> int:
    """Remove unreferenced blobs and abandoned uploads past the grace period."""
    return blob_gc()
