"""Reads from the blob store."""

import uuid
from pathlib import Path

from django.conf import settings

from storage.backends import blob_backend
from storage.errors import UploadUnknown
from storage.models import Blob, Upload


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


def blob_store_is_local() -> bool:
    """Whether blobs are files on this host (the filesystem store), not objects in a remote one."""
    return not settings.BLOB_STORE_URL


def blob_local_path(*, blob: Blob) -> Path | None:
    """Return the local file holding ``blob``'s bytes, or None when the store is remote.

    For what links to blobs instead of copying them (the Maven mirror's symbolic links).
    """
    return blob_backend().local_path(blob.path)


def blob_read_small(*, blob: Blob, limit: int) -> bytes:
    """Return the bytes of a small blob (a manifest, an image config); ValueError past ``limit``.

    For documents the UI parses; files of any size are streamed (``blob_response``) instead.
    """
    if blob.size > limit:
        raise ValueError(f"blob {blob.sha256} is {blob.size} bytes, more than {limit}")
    with blob_backend().open(blob.path) as source:
        return source.read(limit)
