"""npm proxy repositories: packuments and tarballs of the upstream registry, cached here.

The packument is a metadata document of the core's cache (``proxy_document``), stored in the
layout of ``formats.npm.proxied``; a tarball is fetched once through ``proxy_file``, verified
against the packument's ``dist.integrity``/``dist.shasum`` and recorded as a Version of the
proxy, so the UI and the API list what was cached.
"""

import json
from functools import partial
from typing import Any
from urllib.parse import quote

from django.http import HttpRequest
from django.http.response import HttpResponseBase

from formats.npm import metadata, proxied
from formats.npm.services import TARBALL_BASE_PLACEHOLDER, packument_key
from formats.plugin import (
    Asset,
    AssetUnknown,
    ProxyDocument,
    Repository,
    UpstreamUnavailable,
    package_ensure,
    proxy_document,
    proxy_file,
    version_ensure,
)


def npm_upstream_packument_url(*, repository: Repository, name: str) -> str:
    """Return the upstream URL of a packument, the scope's slash escaped as npm sends it."""
    return f"{repository.upstream_url.rstrip('/')}/{quote(name, safe='@')}"


def _layout(content: bytes, content_type: str, *, name: str) -> bytes:
    try:
        return proxied.proxied_layout(body=content, name=name, base=TARBALL_BASE_PLACEHOLDER)
    except proxied.PackumentInvalid as error:
        raise UpstreamUnavailable(str(error)) from None


def npm_proxy_packument(*, repository: Repository, name: str) -> ProxyDocument:
    """Return the cached packument layout of ``name`` in proxy ``repository``, revalidated if due.

    Raises:
        UpstreamMissing: the upstream has no such package.
        UpstreamUnavailable, UpstreamTimeout: the upstream failed and nothing is cached.
    """
    return proxy_document(
        repository=repository,
        key=packument_key(name=name),
        url=npm_upstream_packument_url(repository=repository, name=name),
        package=name,
        headers={"Accept": metadata.MIME_JSON},
        transform=partial(_layout, name=name),
    )


def _record(asset: Asset, *, name: str, number: str, manifest: dict[str, Any]) -> None:
    """Attach a cached tarball to a Version of the proxy (``proxy_file``'s ``on_stored``)."""
    dist = manifest.get("dist") or {}
    package = package_ensure(repository=asset.repository, name=name, normalized_name=name)
    version = version_ensure(
        package=package,
        version=number,
        metadata={
            "manifest": {k: v for k, v in manifest.items() if k not in ("dist", "readme")},
            "integrity": dist.get("integrity", ""),
            "shasum": dist.get("shasum", ""),
        },
        user=None,
    )
    Asset.objects.filter(pk=asset.pk).update(version=version)
    description = manifest.get("description")
    package.metadata = {
        **package.metadata,
        "latest": {
            "version": number,
            "description": description if isinstance(description, str) else "",
            "keywords": [],
            "date": metadata.format_time(version.published_at),
            "publisher": {},
            "maintainers": [],
        },
    }
    package.save(update_fields=["metadata", "updated"])


def npm_proxy_tarball(
    request: HttpRequest, *, repository: Repository, name: str, filename: str, layout: bytes
) -> HttpResponseBase:
    """Serve a tarball of proxy ``repository`` not found cached a moment ago: fetched once and
    verified against ``layout`` (its cached packument layout), or cached meanwhile.

    Raises:
        AssetUnknown: the upstream's packument has no such tarball.
        UpstreamMissing, UpstreamUnavailable, UpstreamTimeout, UpstreamDigestMismatch: as
            ``proxy_file``.
    """
    path = f"{name}/-/{filename}"
    entry = proxied.layout_files(layout).get(filename)
    if entry is None:
        raise AssetUnknown(f"{path} not found")
    manifest = json.loads(proxied.layout_part(layout, abbreviated=False))["versions"]
    return proxy_file(
        request,
        repository=repository,
        path=path,
        url=entry["url"],
        expected=proxied.expected_digests(integrity=entry["integrity"], shasum=entry["shasum"]),
        media_type=metadata.MIME_NPM_TARBALL,
        package=name,
        on_stored=partial(
            _record, name=name, number=entry["version"], manifest=manifest[entry["version"]]
        ),
    )
