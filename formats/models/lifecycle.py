"""Cleanup policies of repositories and the record of every cleanup run."""

from django.conf import settings
from django.db import models

from formats.models.repository import Repository


class CleanupPolicy(models.Model):
    """The rules a repository's cleanup applies (``formats.lifecycle``); unset rules do nothing.

    A version goes when it is in scope (``match``, ``prerelease_only``), is not pinned, not a
    tag's target (unless ``keep_tagged`` is off), is not among the ``keep_last`` newest in scope
    of its package, and is older than every age rule that is set. Without ``keep_last``,
    ``older_than_days`` or ``unused_days`` no version goes; ``snapshot_builds`` prunes Maven
    SNAPSHOT builds on its own.
    """

    repository = models.OneToOneField(
        Repository, on_delete=models.CASCADE, related_name="cleanup_policy"
    )
    keep_last = models.PositiveIntegerField(
        null=True, blank=True, help_text="Keep the N most recent versions in scope per package."
    )
    older_than_days = models.PositiveIntegerField(
        null=True, blank=True, help_text="Remove versions published more than D days ago."
    )
    unused_days = models.PositiveIntegerField(
        null=True, blank=True, help_text="Remove versions not downloaded for D days."
    )
    match = models.CharField(
        max_length=255, blank=True, default="", help_text="Only versions matching this pattern."
    )
    match_regex = models.BooleanField(
        default=False, help_text="The pattern is a regular expression (else a glob)."
    )
    prerelease_only = models.BooleanField(default=False, help_text="Only prerelease versions.")
    keep_tagged = models.BooleanField(
        default=True, help_text="Keep versions a tag points at (latest, dist-tags, image tags)."
    )
    snapshot_builds = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Maven: keep the last N timestamped builds of each SNAPSHOT.",
    )
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "cleanup policies"
        ordering = ["repository__name"]

    def __str__(self) -> str:
        return f"cleanup of {self.repository.name}"


class CleanupRun(models.Model):
    """One cleanup of a repository: what it removed, by whom (or the schedule), by which rules."""

    class Status(models.TextChoices):
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    repository = models.ForeignKey(
        Repository, on_delete=models.CASCADE, related_name="cleanup_runs"
    )
    started = models.DateTimeField(auto_now_add=True, db_index=True)
    finished = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.RUNNING)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    # The user's name, or "schedule" for beat's runs; kept after the user is gone.
    actor_name = models.CharField(max_length=150, blank=True, default="")
    policy = models.JSONField(default=dict, blank=True)
    # One entry per removal: {"package", "version", "files", "bytes"} (+ "error" when refused).
    removed = models.JSONField(default=list, blank=True)
    versions_removed = models.PositiveIntegerField(default=0)
    files_removed = models.PositiveIntegerField(default=0)
    # Size of the files removed; the blob store frees their bytes when nothing else refers to them.
    bytes_freed = models.BigIntegerField(default=0)
    error = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-started", "-id"]

    def __str__(self) -> str:
        return f"cleanup of {self.repository.name} at {self.started:%Y-%m-%d %H:%M}"
