"""Background work of the Maven format: keeping the mirror (``MAVEN_MIRROR_DIR``) true."""

import logging

from celery import Task, shared_task

from formats.maven.mirror import maven_mirror_refresh

logger = logging.getLogger(__name__)
MAX_RETRIES = 3
RETRY_DELAY = 30  # seconds: a full disk or a remounted volume takes a moment to come back


@shared_task(bind=True, max_retries=MAX_RETRIES)
def maven_mirror_refresh_task(self: Task, repository_id: int, prefix: str) -> None:
    """Reconcile the mirror under ``prefix`` of a repository and its groups with the database.

    Idempotent: it writes what the committed rows say. Sent after the commit of every change
    (``maven_mirror_refresh_on_commit``). A failure is logged and, on a worker, retried; run in
    process (no broker) it is not, because the request that committed is still waiting for it.
    Meanwhile the repository's tree has no stamp, so nginx sends its reads to the registry.
    """
    try:
        maven_mirror_refresh(repository_id=repository_id, prefix=prefix)
    except Exception as error:
        retry = not self.request.is_eager and self.request.retries < MAX_RETRIES
        logger.exception(
            "maven mirror refresh of repository %s under %r failed%s",
            repository_id,
            prefix,
            "; retrying" if retry else "; the registry serves its reads until the next refresh",
        )
        if retry:
            raise self.retry(exc=error, countdown=RETRY_DELAY) from error
