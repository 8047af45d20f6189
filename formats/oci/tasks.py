"""Background work of the OCI format."""

from dataclasses import asdict

from celery import shared_task
from django.conf import settings

from formats.oci.services import oci_gc


@shared_task
def oci_gc_task(delete_untagged: bool | None = None) -> dict[str, int]:
    """Unlink blobs (and, if enabled, untagged manifests) no image needs; idempotent.

    ``delete_untagged`` defaults to the ``OCI_GC_DELETE_UNTAGGED`` setting. The bytes go at the
    blob store's next ``blob_gc_task``.
    """
    if delete_untagged is None:
        delete_untagged = settings.OCI_GC_DELETE_UNTAGGED
    return asdict(oci_gc(delete_untagged=delete_untagged))
