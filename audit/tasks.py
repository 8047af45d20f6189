"""Background work of the audit log."""

from celery import shared_task

from audit.services import audit_prune


@shared_task
def audit_prune_task() -> int:
    """Delete audit events past ``AUDIT_RETENTION_DAYS`` (idempotent)."""
    return audit_prune()
