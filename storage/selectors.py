"""Reads from the blob store."""

import uuid

from storage.errors import BlobUnknown, UploadUnknown
from storage.models import Blob, Upload

DIGEST_COLUMNS = {"sha256": "sha256", "sha512": "sha512"}


def blob_get(*, digest: str) -> Blob:
    """Return the Blob for ``sha256:<hex>`` or ``sha512:<hex>``; raise BlobUnknown otherwise."""
    algorithm, _, value = digest.partition(":")
    if algorithm not in DIGEST_COLUMNS or not value:
        raise BlobUnknown(digest=digest)
    blob = Blob.objects.filter(**{DIGEST_COLUMNS[algorithm]: value.lower()}).first()
    if blob is None:
        raise BlobUnknown(digest=digest)
    return blob


def upload_get(*, upload_id: str, scope: str) -> Upload:
    """Return the in-progress upload started in ``scope``; raise UploadUnknown otherwise."""
    try:
        key = uuid.UUID(upload_id)
    except ValueError:
        raise UploadUnknown(upload=upload_id) from None
    upload = Upload.objects.filter(pk=key, scope=scope).first()
    if upload is None:
        raise UploadUnknown(upload=upload_id)
    return upload
