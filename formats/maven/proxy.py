"""Reads of a Maven proxy repository: the upstream's files and metadata, cached here.

The upstream is a Maven 2 repository root (Maven Central, Nexus, another registry). Release
files are fetched once, verified against the upstream's ``.sha256`` or ``.sha1`` when it has
one, and kept forever; ``maven-metadata.xml`` and SNAPSHOT files may change upstream, so they
are revalidated after ``metadata_ttl``. Checksums of cached files are computed here, never
copied from the upstream.
"""

import logging
from collections.abc import Callable

from django.http import HttpRequest
from django.http.response import HttpResponseBase

from formats.maven.checksums import parse_checksum_file
from formats.maven.errors import ChecksumMismatch, MetadataInvalid
from formats.maven.media import MIME_XML, media_type_for
from formats.maven.metadata import parse_metadata
from formats.maven.paths import MavenPath, PathKind
from formats.maven.selectors import maven_package_name
from formats.maven.versions import is_snapshot
from formats.plugin import (
    Asset,
    Document,
    Repository,
    UpstreamMissing,
    UpstreamUnavailable,
    blob_response,
    package_ensure,
    proxy_asset,
    proxy_document,
    proxy_file,
    version_ensure,
)

logger = logging.getLogger(__name__)
# The upstream checksum a release file is verified with, strongest first.
VERIFIED_WITH = ("sha256", "sha1")


def _url(repository: Repository, path: str) -> str:
    return f"{repository.upstream_url.rstrip('/')}/{path}"


def _package(mpath: MavenPath) -> str:
    if not (mpath.group_id and mpath.artifact_id):
        return ""
    return maven_package_name(group_id=mpath.group_id, artifact_id=mpath.artifact_id)


def _mutable(mpath: MavenPath) -> bool:
    return mpath.version is not None and is_snapshot(mpath.version)


def _declared_digest(repository: Repository, mpath: MavenPath) -> dict[str, str]:
    """Return what the upstream's checksum file of ``mpath`` says, or {} when it has none.

    The checksum files go through the metadata cache: fetched once for concurrent requests, and
    an upstream without them (or without the file) is not asked again within ``negative_ttl``.

    Raises:
        UpstreamUnavailable, UpstreamTimeout: the upstream failed and nothing is cached.
    """
    path = mpath.target_path
    for algorithm in VERIFIED_WITH:
        key = f"{path}.{algorithm}"
        url = _url(repository, key)
        try:
            document = proxy_document(
                repository=repository, key=key, url=url, package=_package(mpath)
            )
        except UpstreamMissing:
            continue
        try:
            return {algorithm: parse_checksum_file(raw=document.content, algorithm=algorithm)}
        except ChecksumMismatch as error:
            logger.warning("ignoring %s: %s", url, error.message)
    return {}


def _attach(mpath: MavenPath) -> Callable[[Asset], None]:
    """Return the ``on_stored`` hook that lists a cached file under its Package and Version."""

    def attach(asset: Asset) -> None:
        name = _package(mpath)
        package = package_ensure(repository=asset.repository, name=name, normalized_name=name)
        asset.version = version_ensure(
            package=package, version=mpath.version or "", metadata={}, user=None
        )
        asset.metadata = {
            **asset.metadata,
            "classifier": mpath.classifier,
            "extension": mpath.extension,
            "timestamp": mpath.timestamp,
            "build_number": mpath.build_number,
        }
        asset.save(update_fields=["version", "metadata"])

    return attach


def _file_arguments(repository: Repository, mpath: MavenPath) -> dict:
    path = mpath.target_path
    mutable = _mutable(mpath)
    return {
        "repository": repository,
        "path": path,
        "url": _url(repository, path),
        "expected": None if mutable else _declared_digest(repository, mpath),
        "media_type": media_type_for(extension=mpath.extension or ""),
        "package": _package(mpath),
        "mutable": mutable,
        "on_stored": _attach(mpath),
    }


def _cached_release(repository: Repository, mpath: MavenPath) -> Asset | None:
    if _mutable(mpath):
        return None  # revalidated by the core after metadata_ttl
    return (
        Asset.objects.select_related("blob")
        .filter(repository=repository, path=mpath.target_path)
        .first()
    )


def maven_proxy_file(
    request: HttpRequest, *, repository: Repository, mpath: MavenPath
) -> HttpResponseBase:
    """Answer a GET or HEAD of an artifact file of proxy ``repository``.

    Raises:
        UpstreamMissing, UpstreamDigestMismatch, UpstreamUnavailable: as ``proxy_file``.
    """
    cached = _cached_release(repository, mpath)
    if cached is not None:  # no upstream checksum to fetch for what is already here
        return blob_response(request, cached.blob, content_type=cached.media_type)
    return proxy_file(request, **_file_arguments(repository, mpath))


def maven_proxy_asset(*, repository: Repository, mpath: MavenPath) -> Asset:
    """Return the cached artifact file a path (or its checksum path) names, fetching it first.

    Raises:
        UpstreamMissing, UpstreamDigestMismatch, UpstreamUnavailable: as ``proxy_asset``.
    """
    cached = _cached_release(repository, mpath)
    if cached is not None:
        return cached
    return proxy_asset(**_file_arguments(repository, mpath))


def _valid_metadata(url: str) -> Callable[[bytes, str], bytes]:
    """Return the ``transform`` that keeps only a well-formed upstream ``maven-metadata.xml``."""

    def transform(content: bytes, content_type: str) -> bytes:
        try:
            parse_metadata(raw=content)
        except MetadataInvalid as error:
            message = f"upstream {url} sent invalid metadata: {error.message}"
            raise UpstreamUnavailable(message) from error
        return content

    return transform


def maven_proxy_metadata(*, repository: Repository, mpath: MavenPath) -> Document:
    """Return the upstream's ``maven-metadata.xml`` at ``mpath`` as an unsaved Document.

    Raises:
        UpstreamMissing: the upstream has none (remembered for ``negative_ttl``).
        UpstreamUnavailable, UpstreamTimeout: the upstream failed and nothing is cached.
    """
    key = mpath.target_path
    url = _url(repository, key)
    package = _package(mpath) if mpath.kind is not PathKind.GROUP_METADATA else ""
    document = proxy_document(
        repository=repository, key=key, url=url, package=package, transform=_valid_metadata(url)
    )
    return Document(
        repository=repository,
        key=key,
        content=document.content,
        content_type=MIME_XML,
        etag=document.etag,
        updated=document.updated,
    )
