"""Files of proxy repositories: fetched from the upstream once, kept as Assets, served from here.

An uncached file is fetched by one request while the others for it wait (single flight) and
then read what it stored. The bytes go through the blob store's hashing ingest and are verified
against the digests the upstream declared (in its metadata) before anything becomes visible; a
mismatch stores nothing. A file up to ``PROXY_VERIFY_FIRST_SIZE`` is verified before its first
byte is sent, so a mismatch is a clean 502; a larger one streams to the first client while it
is written, and a mismatch then cuts that response short (the client's own check fails too).
The storing transaction makes the file visible with its provenance and audit row; the format's
bookkeeping of it (``on_stored``: Package and Version rows) follows once the response is sent.

Immutable files (tarballs, wheels, release jars, blobs by digest) are served forever once
cached. Mutable ones (raw paths, Maven metadata and SNAPSHOT files) carry a ProxyEntry with the
upstream's validators and are revalidated after ``metadata_ttl`` like documents. Upstream 404s
are remembered for ``negative_ttl``. A cached file is served when the upstream fails.
"""

import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack
from datetime import timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.utils import timezone

from formats.downloads import asset_response, download_record
from formats.errors import UpstreamDigestMismatch, UpstreamMissing, UpstreamUnavailable
from formats.http import after_response
from formats.models import Asset, ProxyEntry, Repository
from formats.proxy.documents import entry_validators, proxy_entry_save
from formats.proxy.flight import single_flight
from formats.proxy.upstream import UpstreamResponse, upstream_errors, upstream_open
from formats.selectors import asset_find
from formats.services import asset_cache_event
from registry_project.db import row_get
from storage.errors import DigestMismatch
from storage.models import Blob
from storage.responses import untrusted_headers
from storage.services import blob_hold, blob_ingest, blob_ingest_passing

logger = logging.getLogger(__name__)
MISSING_STATUSES = (404, 410)
DEFAULT_MEDIA_TYPE = "application/octet-stream"

OnStored = Callable[[Asset], None]


def _entry_key(path: str) -> str:
    return f"file:{path}"


def _fresh(entry: ProxyEntry | None, repository: Repository) -> bool:
    if entry is None:
        return False
    ttl = repository.metadata_ttl if entry.status == 200 else repository.negative_ttl
    return entry.checked + timedelta(seconds=ttl) > timezone.now()


class _Fetch:
    """One request's view of a file: what is cached, and whether it must go upstream."""

    def __init__(self, *, repository: Repository, path: str, mutable: bool) -> None:
        self.repository, self.path, self.mutable = repository, path, mutable
        self.reload()

    def reload(self) -> None:
        self.asset = asset_find(repository=self.repository, path=self.path)
        self.entry = row_get(ProxyEntry, repository=self.repository.pk, key=_entry_key(self.path))
        # fsck found the cached bytes missing or rotten: the upstream still has them, so the
        # file is fetched again as if it were cold (no stale copy, no 304) and replaced.
        self.corrupt = self.asset is not None and self.asset.blob.corrupt is not None
        if self.corrupt:
            logger.warning("refetching %s of %s: cached copy corrupt", self.path, self.repository)
            self.asset = None

    def cached(self) -> Asset | None:
        """Return the asset to serve without asking upstream; raise a fresh 404 remembered."""
        fresh = _fresh(self.entry, self.repository)
        if fresh and self.entry is not None and self.entry.status != 200:
            raise UpstreamMissing(f"{self.path} not found upstream")
        if self.asset is not None and (not self.mutable or fresh):
            return self.asset
        return None

    def validators(self) -> dict[str, str]:
        if not self.mutable or self.asset is None:
            return {}
        return entry_validators(self.entry)


def _entry_save(repository: Repository, path: str, **fields: object) -> None:
    now = timezone.now()
    defaults = {"fetched": now, "checked": now, "content": b"", "content_type": "", **fields}
    proxy_entry_save(repository=repository, key=_entry_key(path), **defaults)


def _store(
    *,
    repository: Repository,
    path: str,
    blob: Blob,
    media_type: str,
    response: UpstreamResponse,
    package: str,
    mutable: bool,
    replace: bool,
    stored: list[Asset],
) -> Asset:
    now = timezone.now()
    provenance = {
        "upstream_url": response.url,
        "fetched": now.isoformat(),
        "etag": response.headers.get("ETag", ""),
        "last_modified": response.headers.get("Last-Modified", ""),
    }
    with transaction.atomic():
        blob_hold(blob=blob)
        # An immutable file was missing under the flight lock a moment ago: try the insert
        # straight away (a mutable one is locked first, it may have to be replaced).
        asset: Asset | None = None
        if mutable:
            locked = Asset.objects.select_for_update().filter(repository=repository, path=path)
            asset = locked.first()
        if asset is None:
            try:
                with transaction.atomic():
                    asset = Asset.objects.create(
                        repository=repository,
                        path=path,
                        blob=blob,
                        media_type=media_type,
                        metadata={"proxy": provenance},
                    )
                    asset_cache_event(asset=asset)
            except IntegrityError:  # stored by another host meanwhile
                asset = Asset.objects.get(repository=repository, path=path)
        elif replace:
            asset.blob, asset.media_type = blob, media_type
            asset.metadata = {**asset.metadata, "proxy": provenance}
            asset.save(update_fields=["blob", "media_type", "metadata"])
            asset_cache_event(asset=asset)
        if mutable:
            _entry_save(
                repository,
                path,
                package=package,
                url=response.url,
                status=ProxyEntry.Status.FOUND,
                upstream_etag=provenance["etag"],
                upstream_last_modified=provenance["last_modified"],
            )
    asset.blob = blob
    stored.append(asset)
    return asset


def _mismatch(path: str, url: str, error: DigestMismatch) -> UpstreamDigestMismatch:
    logger.error("refused %s from %s: %s", path, url, error.message)
    return UpstreamDigestMismatch(
        f"the upstream's {path} does not match the digest it declared; nothing was stored"
    )


class _Passing:
    """The body of a cold file's response: upstream chunks on their way into the store.

    Holds the single-flight lock until the body ends or the response is closed (Django closes
    it even when the client went away before the first chunk).
    """

    def __init__(
        self,
        *,
        stack: ExitStack,
        response: UpstreamResponse,
        expected: Mapping[str, str],
        store: Callable[..., Asset],
        path: str,
    ) -> None:
        self.stack, self.response, self.expected = stack, response, expected
        self.store, self.path = store, path

    def __iter__(self) -> Iterator[bytes]:
        try:
            with upstream_errors(self.response.url):
                blob = yield from blob_ingest_passing(
                    chunks=self.response.stream(), expected=self.expected
                )
            download_record(asset_id=self.store(blob=blob).pk)  # its client had it all
        except DigestMismatch as error:
            raise _mismatch(self.path, self.response.url, error) from None
        finally:
            self.close()

    def close(self) -> None:
        self.response.close()
        self.stack.close()


def _fetch(
    request: HttpRequest | None,
    *,
    fetch: _Fetch,
    url: str,
    expected: Mapping[str, str] | None,
    media_type: str | None,
    package: str,
    stored: list[Asset],
    stack: ExitStack,
) -> Asset | HttpResponseBase:
    """Fetch the file with the flight lock held in ``stack``; return what to serve.

    Returns the Asset (cached meanwhile, revalidated, or stored now) or, for a large cold file
    and a GET, a response that streams while it stores (it takes over ``stack``).
    """
    repository, path = fetch.repository, fetch.path
    stack.enter_context(single_flight(f"file:{repository.pk}:{path}"))
    # Look again under the lock, even without waiting for it: the request before may have
    # stored the file and released the lock between our first look and this lock.
    fetch.reload()
    cached = fetch.cached()
    if cached is not None:
        return cached
    try:
        response = upstream_open(repository=repository, url=url, headers=fetch.validators())
    except UpstreamUnavailable as error:
        if fetch.asset is None:
            raise
        logger.warning("serving stale %s of %s: %s", path, repository.name, error.message)
        return fetch.asset
    if response.status == 304 and fetch.asset is not None:
        response.close()
        ProxyEntry.objects.filter(repository=repository, key=_entry_key(path)).update(
            checked=timezone.now()
        )
        return fetch.asset
    if response.status in MISSING_STATUSES:
        response.close()
        _entry_save(repository, path, package=package, url=url, status=ProxyEntry.Status.MISSING)
        raise UpstreamMissing(f"{path} not found upstream")
    if response.status != 200:
        response.close()
        if fetch.asset is not None:
            logger.warning("serving stale %s: upstream answered %s", path, response.status)
            return fetch.asset
        raise UpstreamUnavailable(f"upstream {url} answered HTTP {response.status}")
    kind = media_type or response.headers.get("Content-Type") or DEFAULT_MEDIA_TYPE
    store = partial(
        _store,
        repository=repository,
        path=path,
        media_type=kind,
        response=response,
        package=package,
        mutable=fetch.mutable,
        replace=fetch.mutable or fetch.corrupt,
        stored=stored,
    )
    length = response.headers.get("Content-Length")
    encoded = bool(response.headers.get("Content-Encoding"))
    small = length is not None and not encoded and int(length) <= settings.PROXY_VERIFY_FIRST_SIZE
    if request is None or request.method != "GET" or small:
        try:
            with upstream_errors(url):
                blob = blob_ingest(stream=response.raw, expected=expected)  # type: ignore[arg-type]
        except DigestMismatch as error:
            raise _mismatch(path, url, error) from None
        finally:
            response.close()
        return store(blob=blob)
    passing = _Passing(
        stack=stack.pop_all(), response=response, expected=expected or {}, store=store, path=path
    )
    streamed = StreamingHttpResponse(passing, content_type=kind)
    if length is not None and not encoded:
        streamed["Content-Length"] = length
    return untrusted_headers(streamed, content_type=kind)


def _stored_hooks(stored: list[Asset], on_stored: OnStored) -> None:
    for asset in stored:
        try:
            with transaction.atomic():
                on_stored(asset)
        except Exception:
            logger.exception("recording the cached %s of %s failed", asset.path, asset.repository)


def _found_or_fetched(
    request: HttpRequest | None,
    *,
    repository: Repository,
    path: str,
    mutable: bool,
    **fetching: Any,
) -> Asset | HttpResponseBase:
    fetch = _Fetch(repository=repository, path=path, mutable=mutable)
    cached = fetch.cached()
    if cached is not None:
        return cached
    with ExitStack() as stack:
        return _fetch(request, fetch=fetch, stack=stack, **fetching)


def proxy_asset(
    *,
    repository: Repository,
    path: str,
    url: str,
    expected: Mapping[str, str] | None = None,
    media_type: str | None = None,
    package: str = "",
    mutable: bool = False,
    on_stored: OnStored | None = None,
) -> Asset:
    """Return the proxy's file at ``path``, fetching it (whole, verified) from ``url`` if due.

    Args:
        expected: digests the upstream declared, ``{"sha256": hex}`` (sha512, sha1, md5 too).
        media_type: what to serve it as; the upstream's Content-Type when None.
        package: the normalized package name, for ``proxy_invalidate``.
        mutable: the upstream may change the file: revalidate after ``metadata_ttl``.
        on_stored: called with each Asset this call stored (in a transaction of its own, after
            the one that made the file visible): the format's bookkeeping, such as Package and
            Version rows, neither holds that transaction nor, in ``proxy_file``, delays the
            client. A failure of it is logged; the file stays cached.

    Raises:
        UpstreamMissing: the upstream has no such file (404/410, remembered).
        UpstreamDigestMismatch: the bytes are not what was declared; nothing was stored.
        UpstreamUnavailable, UpstreamTimeout: the upstream failed and nothing is cached.
    """
    stored: list[Asset] = []
    found = _found_or_fetched(
        None,
        repository=repository,
        path=path,
        url=url,
        expected=expected,
        media_type=media_type,
        package=package,
        mutable=mutable,
        stored=stored,
    )
    assert isinstance(found, Asset)  # without a request nothing streams
    if on_stored is not None:
        _stored_hooks(stored, on_stored)
    return found


def proxy_file(
    request: HttpRequest,
    *,
    repository: Repository,
    path: str,
    url: str,
    expected: Mapping[str, str] | None = None,
    media_type: str | None = None,
    package: str = "",
    mutable: bool = False,
    on_stored: OnStored | None = None,
) -> HttpResponseBase:
    """Answer a GET or HEAD for the proxy's file at ``path`` (``proxy_asset``'s arguments).

    A cached file is served like any stored file (Range, ETag, 304); a cold one is fetched
    once for all concurrent requests, and a large one streams while it is stored. ``on_stored``
    runs once the response is sent.
    """
    stored: list[Asset] = []
    found = _found_or_fetched(
        request,
        repository=repository,
        path=path,
        url=url,
        expected=expected,
        media_type=media_type,
        package=package,
        mutable=mutable,
        stored=stored,
    )
    response = asset_response(request, found) if isinstance(found, Asset) else found
    if on_stored is not None:  # a streamed file is stored on its way, before the last byte
        after_response(response, partial(_stored_hooks, stored, on_stored))
    return response
