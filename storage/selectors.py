"""Reads from the blob store."""

import uuid

from storage.errors import UploadUnknown
from storage.models import Upload


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
