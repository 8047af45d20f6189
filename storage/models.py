"""Content-addressed blobs and in-progress uploads."""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


def blob_path(sha256: str) -> str:
    """Return the store-relative path of the bytes with this sha256 (``sha256/ab/abcdef…``)."""
    return f"sha256/{sha256[:2]}/{sha256}"


class Blob(models.Model):
    """One unique content: its bytes live in the blob store under ``blob_path(sha256)``.

    sha256 is the address and always known; the other digests are filled on demand, once.
    """

    sha256 = models.CharField(max_length=64, primary_key=True)
    size = models.BigIntegerField()
    sha512 = models.CharField(max_length=128, blank=True, default="", db_index=True)
    sha1 = models.CharField(max_length=40, blank=True, default="")
    md5 = models.CharField(max_length=32, blank=True, default="")
    created = models.DateTimeField(auto_now_add=True)
    # When these bytes were last stored; garbage collection spares recently written blobs.
    last_written = models.DateTimeField(default=timezone.now, db_index=True)
    # When fsck found the stored bytes missing or no longer matching the digest; served
    # requests then answer an error (BlobCorrupt). Storing the same bytes again clears it.
    corrupt = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"sha256:{self.sha256}"

    @property
    def path(self) -> str:
        return blob_path(self.sha256)

    @property
    def digest(self) -> str:
        return f"sha256:{self.sha256}"


class Upload(models.Model):
    """A resumable upload whose bytes accumulate in a file under the store's ``uploads/`` folder."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    size = models.BigIntegerField(default=0)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    # Which protocol context started it (e.g. the OCI repository name), so it cannot be hijacked.
    scope = models.CharField(max_length=512, blank=True, default="")
    started = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True, db_index=True)

    def __str__(self) -> str:
        return str(self.id)

    @property
    def path(self) -> str:
        return f"uploads/{self.id}"
