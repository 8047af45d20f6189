"""Background work of the formats core: download statistics and cleanup policies."""

from celery import shared_task

from formats.downloads import downloads_flush
from formats.lifecycle.cleanup import cleanup_scheduled


@shared_task
def download_stats_flush_task() -> int:
    """Write buffered download counts to the database (safe to run twice at once)."""
    return downloads_flush()


@shared_task
def cleanup_task() -> list[dict[str, object]]:
    """Run every repository's cleanup policy (one run per repository at a time)."""
    return [
        {
            "repository": run.repository.name,
            "versions": run.versions_removed,
            "files": run.files_removed,
            "bytes": run.bytes_freed,
        }
        for run in cleanup_scheduled()
    ]
