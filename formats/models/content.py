"""The version model every format translates its protocol onto.

A digest is a fact (``storage.Blob``), a tag is an opinion (``Tag``, every move kept in
``TagEvent``), and a published version is immutable.
"""

from django.conf import settings
from django.db import models

from formats.models.repository import Repository
from storage.models import Blob


class Package(models.Model):
    """A named package in a repository; ``normalized_name`` is the format's identity rule.

    ``latest_version``, ``summary`` and ``search_text`` are what search reads, kept by
    ``formats.services.package_search_refresh`` whenever the latest version changes.
    """

    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="packages")
    name = models.CharField(max_length=512)
    normalized_name = models.CharField(max_length=512)
    metadata = models.JSONField(default=dict, blank=True)
    latest_version = models.CharField(max_length=255, blank=True, default="")
    summary = models.TextField(blank=True, default="")
    # Lowercase name, summary and keywords; a trigram index on PostgreSQL (migration 0007).
    search_text = models.TextField(blank=True, default="")
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["normalized_name"]
        # Search reads each rank in this order, across repositories, one page at a time.
        indexes = [models.Index(fields=["normalized_name", "id"], name="package_name_order")]
        constraints = [
            models.UniqueConstraint(
                fields=["repository", "normalized_name"], name="unique_package_per_repository"
            )
        ]

    def __str__(self) -> str:
        return f"{self.repository.name}/{self.name}"


class Version(models.Model):
    """A published version; its files never change once published."""

    package = models.ForeignKey(Package, on_delete=models.CASCADE, related_name="versions")
    version = models.CharField(max_length=255)
    metadata = models.JSONField(default=dict, blank=True)
    published_at = models.DateTimeField(auto_now_add=True, db_index=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    yanked = models.BooleanField(default=False)
    yanked_reason = models.TextField(blank=True, default="")
    deprecated = models.TextField(blank=True, default="")
    # Download statistics, written in batches by formats.downloads (not on every request).
    download_count = models.PositiveBigIntegerField(default=0)
    last_downloaded = models.DateTimeField(null=True, blank=True, db_index=True)
    pinned = models.BooleanField(default=False, help_text="Kept by every cleanup policy.")

    class Meta:
        ordering = ["package", "published_at"]
        constraints = [
            models.UniqueConstraint(fields=["package", "version"], name="unique_version")
        ]
        # A package's versions in publishing order, a page at a time (API, UI, cleanup).
        indexes = [models.Index(fields=["package", "published_at"], name="version_publishing")]

    def __str__(self) -> str:
        return f"{self.package.name}@{self.version}"


class Tag(models.Model):
    """A movable pointer (dist-tag, image tag, latest) from a name to a version."""

    package = models.ForeignKey(Package, on_delete=models.CASCADE, related_name="tags")
    name = models.CharField(max_length=255)
    version = models.ForeignKey(Version, on_delete=models.CASCADE, related_name="tags")
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["package", "name"]
        constraints = [models.UniqueConstraint(fields=["package", "name"], name="unique_tag")]

    def __str__(self) -> str:
        return f"{self.package.name}:{self.name}"


class TagEvent(models.Model):
    """One move of a tag, kept even after the tag, version or user is gone."""

    class Action(models.TextChoices):
        SET = "set"
        MOVE = "move"
        DELETE = "delete"

    package = models.ForeignKey(Package, on_delete=models.CASCADE, related_name="tag_events")
    tag = models.CharField(max_length=255)
    action = models.CharField(max_length=8, choices=Action.choices)
    from_version = models.CharField(max_length=255, blank=True, default="")
    to_version = models.CharField(max_length=255, blank=True, default="")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    actor_name = models.CharField(max_length=150, blank=True, default="")
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.tag}: {self.from_version or '-'} -> {self.to_version or '-'}"


class Asset(models.Model):
    """A file at a path in a repository, backed by a blob; usually part of a version."""

    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="assets")
    version = models.ForeignKey(
        Version, null=True, blank=True, on_delete=models.CASCADE, related_name="assets"
    )
    path = models.CharField(max_length=1024)
    blob = models.ForeignKey(Blob, on_delete=models.PROTECT, related_name="assets")
    media_type = models.CharField(max_length=255, default="application/octet-stream")
    metadata = models.JSONField(default=dict, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created = models.DateTimeField(auto_now_add=True)
    download_count = models.PositiveBigIntegerField(default=0)
    last_downloaded = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["path"]
        constraints = [
            models.UniqueConstraint(fields=["repository", "path"], name="unique_asset_path")
        ]

    def __str__(self) -> str:
        return f"{self.repository.name}/{self.path}"


class PublishedCoordinate(models.Model):
    """A coordinate once published (npm ``name@version``, a PyPI filename, a Maven release path).

    Kept when the version, its files and their blobs are gone, so that a coordinate never comes
    back with other bytes ("1.4.0 means that exact build forever", as npm and PyPI promise). It
    points at no Package, Version, Asset or Blob for that reason; it goes only with its
    repository, since deleting a whole repository is the administrator's deliberate reset of
    every promise made under its name.
    """

    repository = models.ForeignKey(
        Repository, on_delete=models.CASCADE, related_name="published_coordinates"
    )
    key = models.CharField(max_length=1024)
    sha256 = models.CharField(max_length=64)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    published_by_name = models.CharField(max_length=150, blank=True, default="")
    first_published = models.DateTimeField(auto_now_add=True)
    last_published = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["repository", "key"], name="unique_published_coordinate"
            )
        ]

    def __str__(self) -> str:
        return f"{self.repository.name}:{self.key}"


class Document(models.Model):
    """A generated metadata document (packument, simple page, maven-metadata.xml, tag list).

    Formats rebuild it on write; reads serve it with one query and a strong ETag.
    """

    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="documents")
    key = models.CharField(max_length=1024)
    content = models.BinaryField()
    content_type = models.CharField(max_length=255)
    etag = models.CharField(max_length=80)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["repository", "key"], name="unique_document_key")
        ]

    def __str__(self) -> str:
        return f"{self.repository.name}:{self.key}"
