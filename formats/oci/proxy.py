"""Pull-through reads of OCI proxy repositories: manifests, blobs and tag lists from upstream.

The upstream URL is a registry root: image ``<proxy>/<path>`` is the upstream's ``<path>``
(``hub/library/debian`` is ``library/debian`` at ``https://registry-1.docker.io``).
Blobs and manifests by digest are immutable: fetched once, verified against the digest and
kept. A tag is metadata: the upstream's manifest for it is kept for ``metadata_ttl``, then
revalidated with the upstream's ETag (Distribution and this registry send one), and served
stale when the upstream fails. Every manifest fetched is recorded in the OCI model (version,
tag, references) so that tag lists, referrers and garbage collection see a proxy's images as
any others. The client's credentials never go upstream: the repository's own do.
"""

import hashlib
import json
from collections.abc import Callable

from django.http import HttpRequest
from django.http.response import HttpResponseBase

from formats.oci.errors import ManifestInvalid, ManifestUnknown, TagInvalid
from formats.oci.headers import HEADER_DOCKER_CONTENT_DIGEST
from formats.oci.manifests import (
    MAX_MANIFEST_SIZE,
    MIME_DOCKER_MANIFEST_LIST_V2,
    MIME_DOCKER_MANIFEST_V2,
    MIME_OCI_INDEX,
    MIME_OCI_MANIFEST,
    MIME_OCTET_STREAM,
)
from formats.oci.names import Digest, digest_of, validate_tag
from formats.oci.selectors import ManifestContent, OciImage
from formats.oci.services import oci_manifest_record
from formats.plugin import (
    Asset,
    Blob,
    BlobUnknown,
    ProxyDocument,
    Repository,
    RepositoryUnknown,
    UpstreamDigestMismatch,
    UpstreamMissing,
    UpstreamUnavailable,
    asset_find,
    proxy_document,
    proxy_file,
)

MANIFEST_ACCEPT = ", ".join(
    (MIME_OCI_INDEX, MIME_OCI_MANIFEST, MIME_DOCKER_MANIFEST_LIST_V2, MIME_DOCKER_MANIFEST_V2)
)


def upstream_url(repository: Repository, path: str) -> str:
    """Return the upstream's URL of ``/v2/<path>`` (``path`` empty: the API root)."""
    return f"{repository.upstream_url.rstrip('/')}/v2/{path}"


def _digest_checked(digest: Digest, url: str) -> Callable[[bytes, str], bytes]:
    """The transform that refuses (before anything is stored) bytes that are not ``digest``."""

    def check(content: bytes, content_type: str) -> bytes:
        if hashlib.new(digest.algorithm, content).hexdigest() != digest.hex:
            raise UpstreamDigestMismatch(
                f"{url} sent a manifest that is not {digest}; nothing was stored"
            )
        return content

    return check


def _manifest_document(image: OciImage, reference: Digest | str) -> tuple[ProxyDocument, str]:
    repository = image.repository
    url = upstream_url(repository, f"{image.name}/manifests/{reference}")
    if isinstance(reference, Digest):
        key, transform = f"manifest:{image.name}@{reference}", _digest_checked(reference, url)
    else:
        key, transform = f"tag:{image.name}:{reference}", None
    try:
        document = proxy_document(
            repository=repository,
            key=key,
            url=url,
            package=image.name,
            headers={"Accept": MANIFEST_ACCEPT},
            transform=transform,
            max_size=MAX_MANIFEST_SIZE,
        )
    except UpstreamMissing:
        raise ManifestUnknown(reference=str(reference)) from None
    return document, url


def oci_proxy_manifest(
    *, image: OciImage, reference: Digest | str, cached: ManifestContent | None
) -> ManifestContent:
    """Return the manifest ``reference`` names in proxy image ``image``.

    ``cached`` is what this registry holds under the reference: served as is for a digest;
    for a tag, only while the upstream (or, within ``metadata_ttl``, the cache) agrees.

    Raises:
        ManifestUnknown: the upstream has no such tag or digest (remembered ``negative_ttl``).
        UpstreamUnavailable, UpstreamTimeout: the upstream failed and nothing is cached.
        UpstreamDigestMismatch: the upstream's bytes are not the digest asked for.
    """
    if isinstance(reference, Digest) and cached is not None:
        return cached
    document, url = _manifest_document(image, reference)
    algorithm = reference.algorithm if isinstance(reference, Digest) else "sha256"
    digest = digest_of(document.content, algorithm=algorithm)
    if cached is not None and cached.digest == str(digest):
        return cached
    try:
        manifest = oci_manifest_record(
            image=image,
            raw=document.content,
            content_type=document.content_type,
            digest=digest,
            provenance={"upstream_url": url, "fetched": document.updated.isoformat()},
            tag=None if isinstance(reference, Digest) else reference,
        )
    except ManifestInvalid as error:
        raise UpstreamUnavailable(
            f"{url} sent a manifest this registry cannot serve: {error}"
        ) from None
    return ManifestContent(
        digest=manifest.digest,
        media_type=manifest.media_type,
        blob=manifest.blob,
        asset_id=Asset.objects.values_list("pk", flat=True).get(version=manifest.version_id),
    )


def _blob_path(image: OciImage, digest: Digest) -> str:
    return f"{image.name}/blobs/{digest}"


def oci_proxy_blob_cached(*, image: OciImage, digest: Digest) -> Blob | None:
    """Return the blob if the proxy fetched it for this image before, else None."""
    asset = asset_find(repository=image.repository, path=_blob_path(image, digest))
    return asset.blob if asset is not None else None


def oci_proxy_blob(request: HttpRequest, *, image: OciImage, digest: Digest) -> HttpResponseBase:
    """Serve a blob of proxy image ``image``: from the cache, or streamed from the upstream.

    A cold blob is fetched once however many clients ask at the same time, verified against
    ``digest`` (a mismatch stores nothing) and kept.

    Raises:
        BlobUnknown: the upstream has no such blob in this image (remembered ``negative_ttl``).
        UpstreamUnavailable, UpstreamTimeout, UpstreamDigestMismatch: as ``proxy_file``.
    """
    try:
        response = proxy_file(
            request,
            repository=image.repository,
            path=_blob_path(image, digest),
            url=upstream_url(image.repository, f"{image.name}/blobs/{digest}"),
            expected={digest.algorithm: digest.hex},
            media_type=MIME_OCTET_STREAM,
            package=image.name,
        )
    except UpstreamMissing:
        raise BlobUnknown(digest=str(digest)) from None
    response[HEADER_DOCKER_CONTENT_DIGEST] = str(digest)
    return response


def _is_tag(value: object) -> bool:
    try:
        return isinstance(value, str) and bool(validate_tag(value))
    except TagInvalid:
        return False


def _tag_names(content: bytes, content_type: str) -> bytes:
    """Keep the valid tag names of an upstream tag list, sorted, as a JSON array."""
    try:
        tags = json.loads(content).get("tags") or []
    except (ValueError, AttributeError):
        raise UpstreamUnavailable("the upstream sent a tag list that is not JSON") from None
    names = {tag for tag in tags if _is_tag(tag)} if isinstance(tags, list) else set()
    return json.dumps(sorted(names)).encode()


def oci_proxy_tag_names(*, image: OciImage) -> list[str]:
    """Return the upstream's tags of proxy image ``image`` (cached for ``metadata_ttl``).

    Raises:
        RepositoryUnknown: the upstream has no such image.
        UpstreamUnavailable, UpstreamTimeout: the upstream failed and nothing is cached.
    """
    try:
        document = proxy_document(
            repository=image.repository,
            key=f"tags:{image.name}",
            url=upstream_url(image.repository, f"{image.name}/tags/list"),
            package=image.name,
            headers={"Accept": "application/json"},
            transform=_tag_names,
        )
    except UpstreamMissing:
        raise RepositoryUnknown(name=image.full_name) from None
    return list(json.loads(document.content))
