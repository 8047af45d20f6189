"""Repositories: the named places every format serves, and what access control grants roles on.

A module of its own so ``access`` (roles, tokens, permissions) depends on the repository
alone, never on the version model the formats build on top of it.
"""

import re

from django.core.validators import RegexValidator
from django.db import models

REPOSITORY_NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
FORMAT_CHOICES = [(name, name) for name in ("raw", "pypi", "npm", "maven", "oci")]


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
    upstream_url = models.URLField(blank=True, default="", help_text="For proxy repositories.")
    members = models.ManyToManyField(
        "self", symmetrical=False, blank=True, help_text="For group repositories, in order."
    )
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "repositories"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
