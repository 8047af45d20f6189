"""Background work of the shared model: cleanup policies on beat's schedule."""

from celery import shared_task

from formats.lifecycle.cleanup import cleanup_scheduled


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
