"""Background work of the formats core."""

from celery import shared_task

from formats.downloads import downloads_flush


@shared_task
def download_stats_flush_task() -> int:
    """Write buffered download counts to the database (safe to run twice at once)."""
    return downloads_flush()
