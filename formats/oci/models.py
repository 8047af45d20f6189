"""What OCI needs beyond the shared model.

An image (``<repo>/<name>``) is a ``Package``; a manifest is a ``Version`` named by its digest,
whose bytes are its ``Asset``. These tables add the blob links that make a blob readable in an
image, and the references of each manifest, so garbage collection and the referrers API can
follow them.
"""

from django.db import models
from django.utils import timezone

from formats.models import Package, Version
from storage.models import Blob


class OciBlobLink(models.Model):
    """A blob pushed to, or mounted into, an image; only linked blobs are readable there."""

    package = models.ForeignKey(Package, on_delete=models.CASCADE, related_name="oci_blob_links")
    blob = models.ForeignKey(Blob, on_delete=models.PROTECT, related_name="oci_links")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["package", "blob"], name="unique_oci_blob_link")
        ]

    def __str__(self) -> str:
        return f"{self.package}@{self.blob}"


class OciManifest(models.Model):
    """A manifest or index of an image: its exact bytes, media type and subject."""

    version = models.OneToOneField(Version, on_delete=models.CASCADE, related_name="oci_manifest")
    package = models.ForeignKey(Package, on_delete=models.CASCADE, related_name="oci_manifests")
    # As the client named it: ``sha256:<hex>`` or ``sha512:<hex>`` (same as version.version).
    digest = models.CharField(max_length=140)
    media_type = models.CharField(max_length=255)
    artifact_type = models.CharField(max_length=255, blank=True, default="")
    size = models.BigIntegerField()
    blob = models.ForeignKey(Blob, on_delete=models.PROTECT, related_name="oci_manifests")
    subject_digest = models.CharField(max_length=140, blank=True, default="", db_index=True)
    annotations = models.JSONField(default=dict, blank=True)
    # Last PUT of these bytes; garbage collection spares untagged manifests pushed recently.
    pushed = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["package", "digest"], name="unique_oci_manifest")
        ]

    def __str__(self) -> str:
        return f"{self.package}@{self.digest}"


class OciManifestReference(models.Model):
    """One thing a manifest points at: a blob (config, layer), a child manifest or a subject."""

    class Kind(models.TextChoices):
        BLOB = "blob"
        MANIFEST = "manifest"
        SUBJECT = "subject"

    manifest = models.ForeignKey(OciManifest, on_delete=models.CASCADE, related_name="references")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    digest = models.CharField(max_length=140)
    # Set for blob references so the blob store's garbage collection sees them as referenced.
    blob = models.ForeignKey(
        Blob, null=True, blank=True, on_delete=models.PROTECT, related_name="oci_references"
    )

    class Meta:
        indexes = [models.Index(fields=["kind", "digest"], name="oci_reference_target")]
        constraints = [
            models.UniqueConstraint(
                fields=["manifest", "kind", "digest"], name="unique_oci_manifest_reference"
            )
        ]

    def __str__(self) -> str:
        return f"{self.manifest} -> {self.kind} {self.digest}"
