"""Making a proxy's cached metadata due again (``manage.py proxy_invalidate``)."""

from datetime import UTC, datetime

from django.db import transaction

from formats.models import ProxyEntry, Repository

_LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)


def proxy_invalidate(*, repository: Repository, package: str | None = None) -> int:
    """Make the cached metadata of ``repository`` (or of one ``package``) due for revalidation.

    Documents and mutable files stay, so they are still served if the upstream is down at the
    next read, which revalidates them; remembered 404s are forgotten. ``package`` is the
    normalized package name the format tagged its entries with, or one entry's key (a raw
    path). Returns how many entries were touched.
    """
    entries = ProxyEntry.objects.filter(repository=repository)
    if package is not None:
        entries = (
            entries.filter(package=package)
            | entries.filter(key=package)
            | entries.filter(key=f"file:{package}")
        )
    with transaction.atomic():
        forgotten, _ = entries.filter(status=ProxyEntry.Status.MISSING).delete()
        touched = entries.update(checked=_LONG_AGO)
    return forgotten + touched
