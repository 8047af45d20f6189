"""Repositories: the named places every format serves, and what access control grants roles on.

A module of its own so ``access`` (roles, tokens, permissions) depends on the repository
alone, never on the version model the formats build on top of it.
"""

import re

from django.core.validators import RegexValidator, URLValidator
from django.db import models

REPOSITORY_NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
FORMAT_CHOICES = [(name, name) for name in ("raw", "pypi", "npm", "maven", "oci")]
DEFAULT_METADATA_TTL = 30 * 60
DEFAULT_NEGATIVE_TTL = 5 * 60


class Repository(models.Model):
    """A named place for artifacts of one format, served under ``/repository/<name>/``."""

    class Kind(models.TextChoices):
        HOSTED = "hosted"
        PROXY = "proxy"
        GROUP = "group"

    name = models.CharField(
        max_length=64,
        unique=True,
        validators=[RegexValidator(REPOSITORY_NAME_PATTERN, "lowercase letters, digits, . _ -")],
    )
    format = models.CharField(max_length=16, choices=FORMAT_CHOICES)
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.HOSTED)
    anonymous_read = models.BooleanField(
        default=False, help_text="Anyone, signed in or not, may read (pull, install, download)."
    )
    allow_redeploy = models.BooleanField(
        default=False, help_text="A file or version that exists may be uploaded again."
    )
    immutable_tags = models.BooleanField(
        default=False, help_text="Tags, once set, may not move (except the exceptions below)."
    )
    immutable_tag_exceptions = models.CharField(
        max_length=255,
        default="latest",
        blank=True,
        help_text="Comma-separated tag patterns (fnmatch) that stay movable.",
    )
    # Format-specific policy, e.g. {"version_policy": "release"} for Maven.
    config = models.JSONField(default=dict, blank=True)
    upstream_url = models.CharField(
        max_length=2048,
        blank=True,
        default="",
        validators=[URLValidator(schemes=["http", "https"])],
        help_text="For proxy repositories: the URL the format's client itself would use.",
    )
    upstream_username = models.CharField(max_length=255, blank=True, default="")
    # Sent upstream, so kept as given (an upstream needs the secret itself); never shown back.
    upstream_password = models.CharField(
        max_length=4096,
        blank=True,
        default="",
        help_text="With a username: HTTP Basic; alone: a bearer token.",
    )
    metadata_ttl = models.PositiveIntegerField(
        default=DEFAULT_METADATA_TTL,
        help_text="Seconds cached metadata is served before it is revalidated upstream.",
    )
    negative_ttl = models.PositiveIntegerField(
        default=DEFAULT_NEGATIVE_TTL,
        help_text="Seconds an upstream 'not found' is remembered.",
    )
    upstream_status = models.CharField(
        max_length=512, blank=True, default="", help_text="The last upstream check's result."
    )
    upstream_checked = models.DateTimeField(null=True, blank=True)
    members = models.ManyToManyField(
        "self",
        symmetrical=False,
        blank=True,
        through="RepositoryMember",
        through_fields=("group", "member"),
        help_text="For group repositories, in lookup order.",
    )
    deploy_to = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="For group repositories: the hosted member that writes to the group land in.",
    )
    hosted_guard = models.BooleanField(
        default=True,
        help_text=(
            "For group repositories: a package name that a hosted member has is served from "
            "hosted members only (dependency-confusion protection)."
        ),
    )
    quota_bytes = models.PositiveBigIntegerField(
        null=True,
        blank=True,
        help_text=(
            "For hosted repositories: the most bytes its files may take, each distinct content "
            "counted once; an upload beyond it is refused. Empty: no limit."
        ),
    )
    quota_used_bytes = models.PositiveBigIntegerField(
        null=True,
        blank=True,
        editable=False,
        help_text=(
            "Accounted by the quota check: at least the bytes the repository holds (deletions "
            "do not lower it; a check near the quota counts again). Empty: not counted yet."
        ),
    )
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "repositories"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class RepositoryMember(models.Model):
    """One member of a group, at its place in the group's lookup order."""

    group = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="member_links")
    member = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="group_links")
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["group", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["group", "member"], name="unique_group_member")
        ]

    def __str__(self) -> str:
        return f"{self.group.name}[{self.position}] = {self.member.name}"
