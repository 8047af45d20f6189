"""Background work of the blob store."""

from dataclasses import asdict

from celery import shared_task

from storage.fsck import blob_fsck
from storage.services import blob_gc


@shared_task
def blob_gc_task() -> dict[str, int]:
    """Remove unreferenced blobs, abandoned uploads and stale temp files past the grace period."""
    return asdict(blob_gc())


@shared_task
def blob_fsck_task(sample: float = 100.0) -> dict[str, int]:
    """Check the blob store (``blob_fsck``) and mark what is missing or corrupt; repairs nothing."""
    return blob_fsck(sample=sample).summary()
