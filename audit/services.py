"""Writes to the audit log. Call ``audit_record`` inside the transaction of the change."""

import logging
from collections.abc import Iterable
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
    event = _event(action, user=user, username=username, address=address)
    event.repository, event.package, event.version = repository, package, version
    event.details = details or {}
    event.save()
    return event


def audit_record_many(
    action: str,
    *,
    targets: Iterable[tuple[str, str, str]],
    user: User | AnonymousUser | None = None,
) -> list[AuditEvent]:
    """Record ``action`` once per ``(repository, package, version)`` of ``targets``, at once.

    ``audit_record`` for a batch (a cleanup deleting hundreds of versions): one INSERT.
    """
    template = _event(action, user=user, username="", address="")
    events = [
        AuditEvent(
            action=action,
            at=template.at,
            user=template.user,
            username=template.username,
            token_id=template.token_id,
            address=template.address,
            repository=repository,
            package=package,
            version=version,
        )
        for repository, package, version in targets
    ]
    return AuditEvent.objects.bulk_create(events)


def _event(
    action: str, *, user: User | AnonymousUser | None, username: str, address: str
) -> AuditEvent:
    """An unsaved event of ``action`` with its actor: ``user`` or the current caller."""
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
    return AuditEvent(
        action=action,
        user=who,
        username=who.get_username() if who is not None else username,
        token_id=token_id,
        address=address,
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
