"""Keeping the mirror (``formats.mirror``) true: a refresh after every commit that changes it."""

import logging

from celery import Task, shared_task

from formats.base import format_config
from formats.mirror import mirror_refresh, mirror_root
from formats.models import Repository

logger = logging.getLogger(__name__)
MAX_RETRIES = 3
RETRY_DELAY = 30  # seconds: a full disk or a remounted volume takes a moment to come back


@shared_task(bind=True, max_retries=MAX_RETRIES)
def mirror_refresh_task(self: Task, repository_id: int, prefix: str) -> None:
    """Reconcile the mirror under ``prefix`` of a repository and its groups with the database.

    Idempotent: it writes what the committed rows say. Sent after the commit of every change
    (``mirror_refresh_on_commit``). A failure is logged and, on a worker, retried; run in
    process (no broker) it is not, because the request that committed is still waiting for it.
    Meanwhile the repository's tree has no stamp, so nginx sends its reads to the registry.
    """
    try:
        mirror_refresh(repository_id=repository_id, prefix=prefix)
    except Exception as error:
        retry = not self.request.is_eager and self.request.retries < MAX_RETRIES
        logger.exception(
            "mirror refresh of repository %s under %r failed%s",
            repository_id,
            prefix,
            "; retrying" if retry else "; the registry serves its reads until the next refresh",
        )
        if retry:
            raise self.retry(exc=error, countdown=RETRY_DELAY) from error


def mirror_refresh_on_commit(*, repository: Repository, prefix: str) -> None:
    """Have the mirror under ``prefix`` of ``repository`` follow once the transaction commits.

    ``mirror_refresh_task`` reads the committed rows, so of two writes committing close
    together the later refresh writes the newest state whatever order they run in. Without a
    mirror, for a format that has none, and for a proxy (neither it nor a group reading through
    it is mirrored), nothing is sent: a task per write for nothing would only fill the broker.
    """
    if mirror_root() is None or repository.kind == Repository.Kind.PROXY:
        return
    config = format_config(repository.format)
    if config is not None and config.mirrored:
        mirror_refresh_task.delay_on_commit(repository.pk, prefix)
