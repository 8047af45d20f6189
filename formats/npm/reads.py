"""What a read of an npm repository of any kind finds: hosted, proxy or group.

A group looks in its members in order (``repository_read_sources``: the hosted guard keeps a
name any hosted member has away from proxies); its packument merges theirs
(``proxied.merge_packuments``) and a tarball comes from the first member that has it. Every
packument keeps the registry-root placeholder, so tarball URLs point at the repository the
client asked (a group's lockfile ``resolved`` URLs name the group).
"""

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from formats.npm import metadata, proxied
from formats.npm.services import TARBALL_BASE_PLACEHOLDER_JSON, abbreviated_key, packument_key
from formats.npm.upstream import npm_proxy_packument
from formats.plugin import (
    Asset,
    AssetUnknown,
    Document,
    DocumentCache,
    NotFound,
    PackageUnknown,
    Principal,
    RegistryError,
    Repository,
    UpstreamUnavailable,
    asset_find_first,
    document_etag,
    documents_get,
    repository_read_sources,
)

logger = logging.getLogger(__name__)
# Merged packuments by the ETag that names their inputs; the bytes kept are bounded.
MERGED_CACHE_BYTES = 64 * 1024 * 1024
_merged_bodies = DocumentCache(budget=MERGED_CACHE_BYTES)


@dataclass(frozen=True)
class Packument:
    """A packument to serve; ``body()`` builds its bytes (a merge happens only if asked)."""

    body: Callable[[], bytes]
    content_type: str
    etag: str
    updated: datetime


def _proxy_packument(member: Repository, *, name: str, abbreviated: bool) -> Packument:
    layout = npm_proxy_packument(repository=member, name=name)
    tag = "a" if abbreviated else "f"
    part = proxied.layout_part(layout.content, abbreviated=abbreviated)
    return Packument(
        body=lambda: part,
        content_type=metadata.MIME_NPM_ABBREVIATED if abbreviated else metadata.MIME_JSON,
        etag=f"{layout.etag}{tag}",
        updated=layout.updated,
    )


def _hosted_packument(document: Document) -> Packument:
    content = bytes(document.content)
    return Packument(
        body=lambda: content,
        content_type=document.content_type,
        etag=document.etag,
        updated=document.updated,
    )


def _merged_body(etag: str, found: list[Packument]) -> bytes:
    """Return the merge of ``found``, built once per process for each set of member documents.

    ``etag`` is made of the members' strong ETags, so a cached merge can never be stale: a
    publish to a member, or a proxy member's new upstream body, changes the key.
    """
    cached = _merged_bodies.get(etag)
    if cached is not None:
        return cached[1]
    body = proxied.merged_body([packument.body() for packument in found])
    _merged_bodies.put(etag, etag, body)
    return body


def _merged(found: list[Packument]) -> Packument:
    if len(found) == 1:
        return found[0]
    etag = document_etag(" ".join(packument.etag for packument in found).encode())
    return Packument(
        body=lambda: _merged_body(etag, found),
        content_type=found[0].content_type,
        etag=etag,
        updated=max(packument.updated for packument in found),
    )


def npm_packument_read(
    *, repository: Repository, principal: Principal, name: str, abbreviated: bool
) -> Packument:
    """Return the packument of ``name`` that ``repository`` serves to ``principal``.

    A member whose upstream fails is left out while another member has the package (and the
    failure logged); a package no member has is a 404, or the upstream's 502/504 when an
    upstream that might have it failed.

    Raises:
        PackageUnknown: no member has the package.
        UpstreamUnavailable, UpstreamTimeout: an upstream failed and no member has it.
    """
    found: list[Packument] = []
    errors: list[RegistryError] = []
    sources = repository_read_sources(repository=repository, principal=principal, package=name)
    hosted = [member for member in sources if member.kind != Repository.Kind.PROXY]
    key = abbreviated_key(name=name) if abbreviated else packument_key(name=name)
    documents = documents_get(repositories=hosted, key=key)
    for member in sources:
        if member.kind != Repository.Kind.PROXY:
            if member.pk in documents:
                found.append(_hosted_packument(documents[member.pk]))
            continue
        try:
            found.append(_proxy_packument(member, name=name, abbreviated=abbreviated))
        except NotFound:
            continue
        except UpstreamUnavailable as error:
            errors.append(error)
    if not found:
        raise errors[0] if errors else PackageUnknown("Not found")
    for failure in errors:
        logger.warning("%s: %s left out of %s's packument", repository.name, failure.message, name)
    return _merged(found)


def npm_packument_json(packument: Packument, *, base_url: str) -> dict[str, Any]:
    """Return a packument as JSON with its tarball URLs under ``base_url``."""
    base = json.dumps(base_url.rstrip("/"))[1:-1].encode()
    return json.loads(packument.body().replace(TARBALL_BASE_PLACEHOLDER_JSON, base))


@dataclass(frozen=True)
class TarballSource:
    """Where a read of a tarball is served from."""

    member: Repository
    asset: Asset | None  # None: ``member`` is a proxy whose upstream lists it, not cached yet
    layout: bytes = b""  # that proxy's packument layout (where the tarball is, its digests)


def npm_tarball_source(
    *, repository: Repository, principal: Principal, name: str, filename: str
) -> TarballSource:
    """Return the member serving tarball ``filename`` of ``name``, with its file if stored.

    One statement finds the first member holding the file; only proxy members before it (they
    have not cached it) are asked whether their upstream's packument lists it.

    Raises:
        AssetUnknown: no member has it.
        UpstreamUnavailable, UpstreamTimeout: an upstream failed and no member has it.
    """
    path = f"{name}/-/{filename}"
    errors: list[RegistryError] = []
    sources = repository_read_sources(repository=repository, principal=principal, package=name)
    stored = asset_find_first(repositories=sources, path=path)
    for member in sources:
        if stored is not None and member == stored[0]:
            return TarballSource(member=member, asset=stored[1])
        if member.kind != Repository.Kind.PROXY:
            continue
        try:
            layout = npm_proxy_packument(repository=member, name=name).content
        except NotFound:
            continue
        except UpstreamUnavailable as error:
            errors.append(error)
            continue
        if filename in proxied.layout_files(layout):
            return TarballSource(member=member, asset=None, layout=layout)
    if errors:
        raise errors[0]
    raise AssetUnknown(f"{path} not found")
