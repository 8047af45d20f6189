"""The metadata cache of proxy repositories: upstream documents kept for a TTL, then revalidated.

A document (a packument, a simple page, a tag list) is fresh for the repository's
``metadata_ttl`` after the upstream last confirmed it; then one request revalidates it with
If-None-Match / If-Modified-Since while the others wait for that answer (single flight). An
upstream 404 is remembered for ``negative_ttl``. When the upstream fails (unreachable, timeout,
5xx), the last good copy is served and the failure logged; only what was never cached fails.
"""

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from formats.errors import UpstreamMissing, UpstreamUnavailable
from formats.models import ProxyEntry, Repository
from formats.proxy.flight import single_flight
from formats.proxy.upstream import UpstreamResponse, upstream_open
from formats.services import document_etag
from registry_project.db import row_get

logger = logging.getLogger(__name__)
MISSING_STATUSES = (404, 410)

# ``transform(content, content_type)``: what of a new upstream body is kept.
Transform = Callable[[bytes, str], bytes]


@dataclass(frozen=True)
class ProxyDocument:
    """A cached upstream document as the format kept it (``transform`` applied)."""

    content: bytes
    content_type: str
    etag: str  # strong, of ``content``
    updated: datetime  # when the upstream last sent a new body
    stale: bool  # served past its TTL because the upstream failed


def _fresh(entry: ProxyEntry, repository: Repository, now: datetime) -> bool:
    ttl = repository.metadata_ttl if entry.status == 200 else repository.negative_ttl
    return entry.checked + timedelta(seconds=ttl) > now


def _served(entry: ProxyEntry, *, stale: bool = False) -> ProxyDocument:
    if entry.status != ProxyEntry.Status.FOUND:
        raise UpstreamMissing(f"{entry.key} not found upstream")
    return ProxyDocument(
        content=bytes(entry.content),
        content_type=entry.content_type,
        etag=entry.etag,
        updated=entry.fetched,
        stale=stale,
    )


def entry_validators(entry: ProxyEntry | None) -> dict[str, str]:
    """Return the conditional headers that revalidate ``entry`` upstream (none for a 404)."""
    if entry is None or entry.status != ProxyEntry.Status.FOUND:
        return {}
    headers = {}
    if entry.upstream_etag:
        headers["If-None-Match"] = entry.upstream_etag
    if entry.upstream_last_modified:
        headers["If-Modified-Since"] = entry.upstream_last_modified
    return headers


def proxy_entry_save(*, repository: Repository, key: str, **fields: object) -> ProxyEntry:
    """Store the upstream's latest answer for ``key`` in one statement (an upsert).

    One ``INSERT ... ON CONFLICT DO UPDATE`` instead of a transaction with a locking read, an
    update and an insert: on SQLite every write transaction holds the database's one write
    lock, so concurrent cold requests queued behind each other's round trips. Two hosts that
    store the same key at once leave the last answer, which is as new as the first.
    """
    entry = ProxyEntry(repository=repository, key=key, **fields)
    ProxyEntry.objects.bulk_create(
        [entry],
        update_conflicts=True,
        unique_fields=["repository", "key"],
        update_fields=list(fields),
    )
    return entry


def _refresh(
    *,
    repository: Repository,
    key: str,
    url: str,
    package: str,
    headers: Mapping[str, str],
    transform: Transform | None,
    entry: ProxyEntry | None,
    max_size: int,
) -> ProxyEntry:
    now = timezone.now()
    response: UpstreamResponse = upstream_open(
        repository=repository, url=url, headers={**headers, **entry_validators(entry)}
    )
    if response.status == 304 and entry is not None and entry.status == 200:
        response.close()
        ProxyEntry.objects.filter(pk=entry.pk).update(checked=now)
        entry.checked = now
        return entry
    if response.status in MISSING_STATUSES:
        response.close()
        return proxy_entry_save(
            repository=repository,
            key=key,
            package=package,
            url=url,
            status=ProxyEntry.Status.MISSING,
            content=b"",
            content_type="",
            etag="",
            upstream_etag="",
            upstream_last_modified="",
            fetched=now,
            checked=now,
        )
    if response.status != 200:
        response.close()
        raise UpstreamUnavailable(f"upstream {url} answered HTTP {response.status}")
    content_type = response.headers.get("Content-Type", "application/octet-stream")
    body = response.read(max_size)
    content = transform(body, content_type) if transform is not None else body
    return proxy_entry_save(
        repository=repository,
        key=key,
        package=package,
        url=url,
        status=ProxyEntry.Status.FOUND,
        content=content,
        content_type=content_type,
        etag=document_etag(content),
        upstream_etag=response.headers.get("ETag", ""),
        upstream_last_modified=response.headers.get("Last-Modified", ""),
        fetched=now,
        checked=now,
    )


def proxy_document(
    *,
    repository: Repository,
    key: str,
    url: str,
    package: str = "",
    headers: Mapping[str, str] | None = None,
    transform: Transform | None = None,
    max_size: int | None = None,
) -> ProxyDocument:
    """Return the document ``key`` of proxy ``repository``, fetched from ``url`` when due.

    Args:
        key: the cache key, unique in the repository (e.g. ``packument:express``).
        url: where the upstream serves it.
        package: the normalized package name it belongs to, for ``proxy_invalidate``.
        headers: sent upstream (``Accept`` to choose a representation).
        transform: applied to each new upstream body before it is stored.
        max_size: the largest body accepted (REGISTRY_MAX_DOCUMENT_SIZE by default); a larger
            one is an upstream failure (502).

    Raises:
        UpstreamMissing: the upstream answered 404/410 (now or within ``negative_ttl``).
        UpstreamUnavailable, UpstreamTimeout: the upstream failed and nothing is cached.
    """
    entry = row_get(ProxyEntry, repository=repository.pk, key=key)
    if entry is not None and _fresh(entry, repository, timezone.now()):
        return _served(entry)
    with single_flight(f"document:{repository.pk}:{key}"):
        # Read again under the lock, even without waiting for it: the holder before may have
        # released it between the read above and this lock (then it looks free).
        entry = row_get(ProxyEntry, repository=repository.pk, key=key)
        if entry is not None and _fresh(entry, repository, timezone.now()):
            return _served(entry)
        try:
            entry = _refresh(
                repository=repository,
                key=key,
                url=url,
                package=package,
                headers=headers or {},
                transform=transform,
                entry=entry,
                max_size=settings.DATA_UPLOAD_MAX_MEMORY_SIZE if max_size is None else max_size,
            )
        except UpstreamUnavailable as error:
            if entry is None or entry.status != ProxyEntry.Status.FOUND:
                raise
            logger.warning("serving stale %s of %s: %s", key, repository.name, error.message)
            return _served(entry, stale=True)
    return _served(entry)
