"""Pulls from a repository of any kind: hosted, proxy (``formats.oci.proxy``) or group.

A group looks in its members in order (``repository_read_sources``: hosted members the caller
may read, every proxy), and the first member that has the tag answers. What a digest names is
the same bytes wherever it is, so for digests every member's local copy is looked at first,
and only then are proxies asked upstream. With the group's hosted guard on, an image path that
a hosted member holds is served from hosted members only (no upstream can shadow it). A tag
list is the union of the members' tags (those a failing proxy would add are left out, and
logged). When no member has something and a proxy failed, the failure is the answer
(502/504), not a 404 that may be wrong.
"""

import logging
from collections.abc import Callable
from http import HTTPStatus
from typing import TypeVar

from django.http import HttpRequest
from django.http.response import HttpResponseBase

from formats.oci.errors import ManifestUnknown
from formats.oci.headers import HEADER_DOCKER_CONTENT_DIGEST
from formats.oci.manifests import MIME_OCTET_STREAM, Descriptor
from formats.oci.names import Digest
from formats.oci.proxy import (
    oci_proxy_blob,
    oci_proxy_blob_cached,
    oci_proxy_manifest,
    oci_proxy_tag_names,
)
from formats.oci.selectors import (
    ManifestContent,
    OciImage,
    Page,
    oci_blob_get,
    oci_manifest_lookup,
    oci_page,
    oci_referrers_list,
    oci_tag_names,
    oci_tag_page,
)
from formats.plugin import (
    Blob,
    BlobUnknown,
    Principal,
    RegistryError,
    Repository,
    RepositoryUnknown,
    UpstreamUnavailable,
    blob_response,
    repository_read_sources,
)

logger = logging.getLogger(__name__)
HOSTED, PROXY, GROUP = Repository.Kind.HOSTED, Repository.Kind.PROXY, Repository.Kind.GROUP
T = TypeVar("T")


def _members(image: OciImage, principal: Principal) -> list[OciImage]:
    # The caller's token was granted for the group's image; members are checked by the user's
    # (and API token's) own rights, as a reader of the group sees what it may read.
    caller = Principal(user=principal.user, token=principal.token)
    sources = repository_read_sources(
        repository=image.repository, principal=caller, package=image.name
    )
    return [OciImage(repository=member, name=image.name) for member in sources]


def _first(members: list[OciImage], read: Callable[[OciImage], T], missing: RegistryError) -> T:
    """Return the first member's answer; a proxy's failure beats a 404 when none has it."""
    failure: UpstreamUnavailable | None = None
    for member in members:
        try:
            return read(member)
        except UpstreamUnavailable as error:
            failure = failure or error
        except RegistryError as error:
            if error.http_status != HTTPStatus.NOT_FOUND:
                raise
    raise failure or missing


def _manifest_in(image: OciImage, reference: Digest | str) -> ManifestContent | None:
    return oci_manifest_lookup(name=image.full_name, reference=reference).content


def oci_manifest_read(
    *,
    image: OciImage,
    reference: Digest | str,
    principal: Principal,
    cached: ManifestContent | None,
) -> ManifestContent:
    """Return the manifest ``reference`` names in ``image`` (``cached``: what it holds itself).

    Raises:
        ManifestUnknown: no member has it.
        UpstreamUnavailable, UpstreamTimeout, UpstreamDigestMismatch: a proxy failed.
    """
    kind = image.repository.kind
    if kind == PROXY:
        return oci_proxy_manifest(image=image, reference=reference, cached=cached)
    if kind != GROUP:
        if cached is None:
            raise ManifestUnknown(reference=str(reference))
        return cached
    members = _members(image, principal)
    if isinstance(reference, Digest):
        local = (_manifest_in(member, reference) for member in members)
        found = next((content for content in local if content is not None), None)
        if found is not None:
            return found

    def read(member: OciImage) -> ManifestContent:
        # A digest no member holds: the proxies are asked; a tag: every member in turn.
        cached = None if isinstance(reference, Digest) else _manifest_in(member, reference)
        return oci_manifest_read(
            image=member, reference=reference, principal=principal, cached=cached
        )

    return _first(members, read, ManifestUnknown(reference=str(reference)))


def _blob_local(image: OciImage, digest: Digest) -> Blob | None:
    if image.repository.kind == PROXY:
        return oci_proxy_blob_cached(image=image, digest=digest)
    try:
        return oci_blob_get(image=image, digest=digest)
    except BlobUnknown:
        return None


def _blob_held(members: list[OciImage], digest: Digest) -> Blob | None:
    local = (_blob_local(member, digest) for member in members)
    return next((blob for blob in local if blob is not None), None)


def oci_blob_find(*, image: OciImage, digest: Digest, principal: Principal) -> Blob | None:
    """Return the blob if ``image`` (any member, for a group) holds it here, else None."""
    members = _members(image, principal) if image.repository.kind == GROUP else [image]
    return _blob_held(members, digest)


def _blob_served(request: HttpRequest, blob: Blob, digest: Digest) -> HttpResponseBase:
    return blob_response(
        request,
        blob,
        content_type=MIME_OCTET_STREAM,
        headers={HEADER_DOCKER_CONTENT_DIGEST: str(digest)},
    )


def oci_blob_read(
    request: HttpRequest, *, image: OciImage, digest: Digest, principal: Principal
) -> HttpResponseBase:
    """Serve a blob of ``image``: a proxy's from its cache or upstream, a group's from a member.

    Raises:
        BlobUnknown: no member has it.
        UpstreamUnavailable, UpstreamTimeout, UpstreamDigestMismatch: a proxy failed.
    """
    kind = image.repository.kind
    if kind == HOSTED:
        return _blob_served(request, oci_blob_get(image=image, digest=digest), digest)
    if kind == PROXY:
        return oci_proxy_blob(request, image=image, digest=digest)
    members = _members(image, principal)
    blob = _blob_held(members, digest)
    if blob is not None:
        return _blob_served(request, blob, digest)
    proxies = [member for member in members if member.repository.kind == PROXY]

    def read(member: OciImage) -> HttpResponseBase:
        return oci_proxy_blob(request, image=member, digest=digest)

    return _first(proxies, read, BlobUnknown(digest=str(digest)))


def oci_tag_page_read(*, image: OciImage, principal: Principal, n: int, last: str) -> Page:
    """Return one page of the tags of ``image``: ``n`` at most after ``last``, in lexical order.

    A hosted image's page is read off the index; a proxy's or group's is cut from the whole
    list (the upstream's tags, or the members' union).

    Raises:
        RepositoryUnknown: no member has the image.
        UpstreamUnavailable, UpstreamTimeout: a proxy failed and no member has the image.
    """
    if image.repository.kind == HOSTED:
        return oci_tag_page(image=image, n=n, last=last)
    return oci_page(oci_tag_names_read(image=image, principal=principal), n=n, last=last)


def oci_tag_names_read(*, image: OciImage, principal: Principal) -> list[str]:
    """Return the tags of ``image``; a group's are every member's (the union).

    Raises:
        RepositoryUnknown: no member has the image.
        UpstreamUnavailable, UpstreamTimeout: a proxy failed and no member has the image.
    """
    kind = image.repository.kind
    if kind == HOSTED:
        return oci_tag_names(image=image)
    if kind == PROXY:
        return oci_proxy_tag_names(image=image)
    names: set[str] = set()
    found = False
    failure: UpstreamUnavailable | None = None
    for member in _members(image, principal):
        try:
            names.update(oci_tag_names_read(image=member, principal=principal))
            found = True
        except UpstreamUnavailable as error:
            failure = failure or error
        except RegistryError as error:
            if error.http_status != HTTPStatus.NOT_FOUND:
                raise
    if not found:
        raise failure or RepositoryUnknown(name=image.full_name)
    if failure is not None:
        logger.warning("tags of %s without a failed member: %s", image.full_name, failure.message)
    return sorted(names)


def oci_referrers_read(
    *, image: OciImage, subject: Digest, principal: Principal
) -> list[Descriptor]:
    """Return the referrers of ``subject`` held here (a group: in every member, first wins)."""
    members = _members(image, principal) if image.repository.kind == GROUP else [image]
    found: dict[str, Descriptor] = {}
    for member in members:
        for descriptor in oci_referrers_list(image=member, subject=subject):
            found.setdefault(str(descriptor.digest), descriptor)
    return sorted(found.values(), key=lambda descriptor: str(descriptor.digest))
