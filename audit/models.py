"""AuditEvent: one state change, with its actor and the names of what it touched."""

from django.conf import settings
from django.db import models
from django.utils import timezone


class Action(models.TextChoices):
    """What happened; the prefix names the kind of thing changed."""

    VERSION_PUBLISH = "version.publish"
    VERSION_DELETE = "version.delete"
    VERSION_YANK = "version.yank"
    VERSION_UNYANK = "version.unyank"
    VERSION_DEPRECATE = "version.deprecate"
    VERSION_UNDEPRECATE = "version.undeprecate"
    PACKAGE_DELETE = "package.delete"
    ASSET_UPLOAD = "asset.upload"
    ASSET_CACHE = "asset.cache"  # a proxy kept a file it fetched from its upstream
    ASSET_DELETE = "asset.delete"
    TAG_SET = "tag.set"
    TAG_MOVE = "tag.move"
    TAG_DELETE = "tag.delete"
    REPOSITORY_CREATE = "repository.create"
    REPOSITORY_UPDATE = "repository.update"
    REPOSITORY_DELETE = "repository.delete"
    MEMBERS_SET = "repository.members"
    ROLE_GRANT = "role.grant"
    ROLE_REVOKE = "role.revoke"
    TOKEN_CREATE = "token.create"
    TOKEN_REVOKE = "token.revoke"
    GC_RUN = "gc.run"
    FSCK_RUN = "fsck.run"
    SCHEDULE_SET = "schedule.set"
    TASK_RUN = "task.run"
    POLICY_SET = "policy.set"
    POLICY_CLEAR = "policy.clear"
    CLEANUP_RUN = "cleanup.run"
    LOGIN_FAILED = "login.failed"
    USER_CREATE = "user.create"
    USER_ACTIVATE = "user.activate"
    USER_DEACTIVATE = "user.deactivate"
    USER_PASSWORD = "user.password"
    GROUP_CREATE = "group.create"
    GROUP_MEMBERS = "group.members"


class AuditEvent(models.Model):
    """A state change. Names, not foreign keys: the record outlives what it describes."""

    at = models.DateTimeField(default=timezone.now, db_index=True)
    action = models.CharField(max_length=32, choices=Action.choices, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # The actor's name when it acted (a failed login: the name tried); "" for a task.
    username = models.CharField(max_length=150, blank=True, default="", db_index=True)
    token_id = models.PositiveBigIntegerField(null=True, blank=True)
    address = models.CharField(max_length=64, blank=True, default="")
    repository = models.CharField(max_length=64, blank=True, default="", db_index=True)
    package = models.CharField(max_length=512, blank=True, default="")
    version = models.CharField(max_length=255, blank=True, default="")
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        where = "/".join(part for part in (self.repository, self.package, self.version) if part)
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.username or '-'} {self.action} {where}"
