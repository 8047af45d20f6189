"""Writes to the audit log. Call ``audit_record`` inside the transaction of the change."""

import logging
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.utils import timezone

from audit.context import current_actor
from audit.models import AuditEvent

logger = logging.getLogger(__name__)


def _authenticated(user: object) -> User | None:
    if isinstance(user, User) and user.is_authenticated:
        return user
    return None


def audit_record(
    action: str,
    *,
    repository: str = "",
    package: str = "",
    version: str = "",
    user: User | AnonymousUser | None = None,
    username: str = "",
    address: str = "",
    details: dict | None = None,
) -> AuditEvent:
    """Record ``action``; the actor is ``user`` or the current request's caller.

    Args:
        username: the name to record when there is no user (a failed login's name).
        address: the client address when there is no request scope.
    """
    actor = current_actor()
    who = _authenticated(user)
    token_id = None
    if actor is not None:
        if who is None or who == _authenticated(actor.user):
            who = who or _authenticated(actor.user)
            token_id = actor.token_id
        if who is None and actor.request is not None:
            who = _authenticated(getattr(actor.request, "user", None))  # a web session
        address = address or actor.address
    return AuditEvent.objects.create(
        action=action,
        user=who,
        username=who.get_username() if who is not None else username,
        token_id=token_id,
        address=address,
        repository=repository,
        package=package,
        version=version,
        details=details or {},
    )


def audit_prune(*, days: int | None = None) -> int:
    """Delete events older than ``days`` (default ``AUDIT_RETENTION_DAYS``; 0 keeps all)."""
    days = settings.AUDIT_RETENTION_DAYS if days is None else days
    if days <= 0:
        return 0
    deleted, _ = AuditEvent.objects.filter(at__lt=timezone.now() - timedelta(days=days)).delete()
    if deleted:
        logger.info("audit log: deleted %d events older than %d days", deleted, days)
    return deleted
