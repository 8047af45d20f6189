"""Per-repository roles and API tokens."""

import hashlib
import secrets

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models
from django.db.models import Q
from django.utils import timezone

from formats.models.repository import Repository

TOKEN_PREFIX = "reg_"


class Role(models.IntegerChoices):
    """Roles in increasing power; each includes the ones below it."""

    READ = 1, "read"
    WRITE = 2, "write"
    DELETE = 3, "delete"
    ADMIN = 4, "admin"


class RepositoryRole(models.Model):
    """Grants a user or a group a role on one repository."""

    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="roles")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE
    )
    group = models.ForeignKey(Group, null=True, blank=True, on_delete=models.CASCADE)
    role = models.PositiveSmallIntegerField(choices=Role.choices)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(user__isnull=False, group__isnull=True)
                | Q(user__isnull=True, group__isnull=False),
                name="role_for_user_xor_group",
            ),
            models.UniqueConstraint(fields=["repository", "user"], name="one_role_per_user"),
            models.UniqueConstraint(fields=["repository", "group"], name="one_role_per_group"),
        ]

    def __str__(self) -> str:
        who = f"user {self.user}" if self.user_id else f"group {self.group}"
        return f"{who}: {self.get_role_display()} on {self.repository}"


def hash_token(secret: str) -> str:
    """Return the stored form of a token secret (tokens are random, so sha256 suffices)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def generate_token_secret() -> str:
    """Return a new token secret: a recognizable prefix and 256 bits of randomness."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


class ApiToken(models.Model):
    """A bearer credential for a user; only its hash is stored, the secret is shown once."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100, blank=True, default="")
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    # The first characters, to let a person recognize a token in a list.
    token_prefix = models.CharField(max_length=12, editable=False)
    repositories = models.ManyToManyField(
        Repository, blank=True, help_text="Limit the token to these repositories (empty: all)."
    )
    # Limited to ``repositories``, chosen at creation. Kept apart from them so that a token whose
    # repositories were all deleted reaches none, rather than every repository its user does.
    scoped = models.BooleanField(default=False, editable=False)
    read_only = models.BooleanField(default=False)
    created = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created"]
        # A monitoring system's user holds this (and scrapes with one of its tokens).
        permissions = [("read_metrics", "Can read the metrics at /-/metrics")]

    def __str__(self) -> str:
        return f"{self.token_prefix}… ({self.user})"

    @property
    def is_active(self) -> bool:
        now = timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


class SignInThrottle(models.Model):
    """Recent failed password checks of one user name or one client address, and its lockout.

    Kept in the database so that every web process and replica sees the same count.
    """

    key = models.CharField(max_length=200, unique=True)  # "user:<name>" or "address:<ip>"
    failures = models.PositiveIntegerField(default=0)
    window_start = models.DateTimeField()
    locked_until = models.DateTimeField(null=True, blank=True)
    # When the row stops mattering (window and lockout both over); stale rows are deleted.
    expires = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.key}: {self.failures} failures, locked until {self.locked_until}"
