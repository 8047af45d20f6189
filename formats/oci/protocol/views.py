"""What docker, podman, skopeo and oras speak: the OCI distribution API under ``/v2/``.

https://github.com/opencontainers/distribution-spec/blob/v1.1.0/spec.md#endpoints
https://distribution.github.io/distribution/spec/auth/token/
"""

from collections.abc import Callable
from operator import attrgetter
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.request import MediaType
from django.http.response import HttpResponseBase

from formats.oci.auth import (
    oci_authenticate,
    oci_authorize,
    oci_authorize_write,
    oci_catalog_reader,
    oci_scope,
    oci_token_caller,
    oci_token_issue,
)
from formats.oci.errors import BlobUploadInvalid, ManifestUnknown, Unsupported
from formats.oci.headers import (
    API_VERSION,
    FILTER_ARTIFACT_TYPE,
    HEADER_CONTENT_RANGE,
    HEADER_DOCKER_CONTENT_DIGEST,
    HEADER_DOCKER_DISTRIBUTION_API_VERSION,
    HEADER_DOCKER_UPLOAD_UUID,
    HEADER_LINK,
    HEADER_OCI_FILTERS_APPLIED,
    HEADER_OCI_SUBJECT,
    HEADER_OCI_TAG,
    HEADER_RANGE,
    build_next_link,
    parse_page_size,
)
from formats.oci.manifests import (
    MAX_MANIFEST_SIZE,
    MIME_OCI_INDEX,
    build_referrers_index,
)
from formats.oci.names import (
    Digest,
    is_digest_reference,
    parse_digest,
    parse_reference,
    validate_name,
    validate_tag,
)
from formats.oci.protocol.renderers import bearer_challenge, error_response
from formats.oci.reads import (
    oci_blob_find,
    oci_blob_read,
    oci_manifest_read,
    oci_referrers_read,
    oci_tag_page_read,
)
from formats.oci.scopes import Scope, parse_scopes
from formats.oci.selectors import (
    ManifestLookup,
    OciImage,
    oci_catalog_list,
    oci_image_resolve,
    oci_manifest_lookup,
    oci_upload_get,
)
from formats.oci.services import (
    oci_blob_link,
    oci_blob_push,
    oci_blob_unlink,
    oci_manifest_delete,
    oci_manifest_put,
    oci_tag_delete,
    oci_upload_append,
    oci_upload_cancel,
    oci_upload_finish,
    oci_upload_start,
)
from formats.plugin import (
    DELETE,
    READ,
    WRITE,
    AuthenticationRequired,
    Blob,
    Principal,
    ProtocolView,
    RegistryError,
    Repository,
    Role,
    Upload,
    blob_response,
    download_count,
    request_json_body,
    request_stream,
)

PAGE_DEFAULT = 1000
PAGE_MAXIMUM = 10000


class OciView(ProtocolView):
    """Base of the ``/v2/`` views: resolves ``<name>``, renders errors in the spec's envelope.

    Views receive the image the URL names as ``self.named`` (a ``name`` URL argument is
    resolved into it) and ``self.image``, the same until ``authorize_write`` moves a group's
    write to its deploy target. URLs sent back name ``self.named``.
    """

    format_name = "oci"
    image: OciImage
    named: OciImage

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        try:
            if "name" in kwargs:
                self.image = self.named = self.resolve(kwargs.pop("name"), **kwargs)
                kwargs["repository"] = self.image.repository
            response = super().dispatch(request, *args, **kwargs)
        except RegistryError as error:
            response = error_response(request, error)
        response[HEADER_DOCKER_DISTRIBUTION_API_VERSION] = API_VERSION
        return response

    def resolve(self, name: str, **kwargs: str) -> OciImage:
        """Resolve the URL's ``<name>``; a view may fold this query into its own lookup."""
        return oci_image_resolve(name=name)

    def http_method_not_allowed(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        raise Unsupported(f"{request.method} is not supported here", method=request.method)

    def authorize_write(self, action: Role, challenge_scopes: tuple[Scope, ...] = ()) -> Principal:
        """Check the caller may write to the named image; ``self.image`` is then where it lands."""
        principal, self.image = oci_authorize_write(
            self.request, image=self.named, action=action, challenge_scopes=challenge_scopes
        )
        return principal

    def blob_location(self, digest: Digest | str) -> str:
        return self.request.build_absolute_uri(f"/v2/{self.named.full_name}/blobs/{digest}")

    def upload_response(self, upload: Upload, *, status: int = 202) -> HttpResponse:
        """The answer to every step of an upload session: where to continue and how far."""
        response = HttpResponse(status=status)
        response["Location"] = self.request.build_absolute_uri(
            f"/v2/{self.named.full_name}/blobs/uploads/{upload.id}"
        )
        response[HEADER_RANGE] = f"0-{max(upload.size - 1, 0)}"
        response[HEADER_DOCKER_UPLOAD_UUID] = str(upload.id)
        response["Content-Length"] = "0"
        return response

    def blob_created(self, digest: Digest | str) -> HttpResponse:
        response = HttpResponse(status=201)
        response["Location"] = self.blob_location(digest)
        response[HEADER_DOCKER_CONTENT_DIGEST] = str(digest)
        response["Content-Length"] = "0"
        return response


def _content_length(request: HttpRequest) -> int | None:
    value = request.META.get("CONTENT_LENGTH") or ""
    return int(value) if value.isdigit() else None


def _has_body(request: HttpRequest) -> bool:
    chunked = "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower()
    return chunked or bool(_content_length(request))


class ApiVersionView(OciView):
    """``GET /v2/``: whether this is a registry, and whether the caller is signed in."""

    def get(self, request: HttpRequest) -> HttpResponse:
        """Answer 200 to an authenticated caller, 401 with the token challenge otherwise."""
        principal = oci_authenticate(request)
        if principal.is_anonymous:
            raise AuthenticationRequired(
                "authentication required", challenge=bearer_challenge(request)
            )
        return JsonResponse({})

    head = get


class TokenView(OciView):
    """``GET /v2/token``: the Docker token endpoint (Basic credentials or none)."""

    def get(self, request: HttpRequest) -> JsonResponse:
        """Return a JWT granting the requested scopes as far as the caller's roles allow."""
        issued = oci_token_issue(
            principal=oci_token_caller(request),
            scopes=parse_scopes(request.GET.getlist("scope")),
            service=request.GET.get("service", request.get_host()),
        )
        return JsonResponse(
            {
                "token": issued.token,
                "access_token": issued.token,
                "expires_in": issued.expires_in,
                "issued_at": issued.issued_at.isoformat(),
            }
        )


class CatalogView(OciView):
    """``GET /v2/_catalog``: the images the caller may read, paginated."""

    def get(self, request: HttpRequest) -> JsonResponse:
        """List image names in lexical order with ``n``/``last`` and a ``Link`` to the next page."""
        principal = oci_catalog_reader(request)
        n = parse_page_size(request.GET.get("n"), default=PAGE_DEFAULT, maximum=PAGE_MAXIMUM)
        page = oci_catalog_list(principal=principal, n=n, last=request.GET.get("last", ""))
        response = JsonResponse({"repositories": page.items})
        if page.more and page.items:
            response[HEADER_LINK] = build_next_link(request.path, n=n, last=page.items[-1])
        return response


class TagsListView(OciView):
    """``GET /v2/<name>/tags/list``."""

    def get(self, request: HttpRequest) -> JsonResponse:
        """List the image's tags in lexical order with ``n``/``last`` pagination."""
        principal = oci_authorize(request, image=self.image, action=READ)
        n = parse_page_size(request.GET.get("n"), default=PAGE_MAXIMUM, maximum=PAGE_MAXIMUM)
        page = oci_tag_page_read(
            image=self.image, principal=principal, n=n, last=request.GET.get("last", "")
        )
        response = JsonResponse({"name": self.image.full_name, "tags": page.items})
        if page.more and page.items:
            response[HEADER_LINK] = build_next_link(request.path, n=n, last=page.items[-1])
        return response


def _accepts(request: HttpRequest, media_type: str) -> bool:
    """Whether the Accept header allows ``media_type``; no header (or an empty one) allows all.

    RFC 9110 12.5.1: the most specific range that matches decides, so a type named with ``q=0``
    is refused even when a wildcard beside it admits everything else. Django drops ``q=0``
    ranges before matching, hence the second look.
    """
    header = request.headers.get("Accept", "")
    if not header.strip():
        return True
    if not request.accepts(media_type):
        return False
    ranges = (MediaType(part) for part in header.split(","))
    decisive = max((r for r in ranges if r.match(media_type)), key=attrgetter("specificity"))
    return decisive.quality != 0


class ManifestView(OciView):
    """``/v2/<name>/manifests/<reference>``: a tag or a digest."""

    found: ManifestLookup

    def resolve(self, name: str, **kwargs: str) -> OciImage:
        """For GET and HEAD, find the image and its manifest in one query."""
        if self.request.method not in ("GET", "HEAD"):
            return super().resolve(name)
        validate_name(name)  # a bad name is reported before a bad reference, as for PUT
        self.found = oci_manifest_lookup(name=name, reference=parse_reference(kwargs["reference"]))
        return self.found.image

    def get(self, request: HttpRequest, reference: str) -> HttpResponseBase:
        """Serve the manifest's exact bytes with its media type and digest."""
        principal = oci_authorize(request, image=self.image, action=READ)
        manifest = oci_manifest_read(
            image=self.image,
            reference=parse_reference(reference),
            principal=principal,
            cached=self.found.content,
        )
        if not _accepts(request, manifest.media_type):
            raise ManifestUnknown(
                f"manifest is {manifest.media_type}, which the Accept header excludes",
                reference=reference,
            )
        response = blob_response(
            request,
            manifest.blob,
            content_type=manifest.media_type,
            headers={HEADER_DOCKER_CONTENT_DIGEST: manifest.digest},
            redirect=False,  # a manifest is small, and clients read its digest header
        )
        if not is_digest_reference(reference):
            response["Cache-Control"] = "no-cache"  # a tag may move
        # A pull is counted once, on its manifest (the image's version), as Harbor and Docker
        # Hub count them: a layer belongs to no one version, and every pull fetches several.
        download_count(request, response, asset_id=manifest.asset_id)
        return response

    head = get

    def _adopter(self, principal: Principal) -> Callable[[Digest], Blob | None] | None:
        # A push through a group: blobs the group already served the client (a HEAD said
        # they exist) are linked from the member holding them.
        if self.named.repository.kind != Repository.Kind.GROUP:
            return None
        return lambda digest: oci_blob_find(image=self.named, digest=digest, principal=principal)

    def put(self, request: HttpRequest, reference: str) -> HttpResponse:
        """Store a manifest (201) under its digest, and under the tag if the reference is one.

        ``?tag=`` parameters tag it too; the tags set are echoed in ``OCI-Tag``.
        """
        principal = self.authorize_write(WRITE)
        tags = tuple(validate_tag(tag) for tag in request.GET.getlist("tag"))
        manifest, parsed = oci_manifest_put(
            image=self.image,
            reference=parse_reference(reference),
            raw=request_json_body(request, limit=MAX_MANIFEST_SIZE),
            content_type=request.headers.get("Content-Type"),
            user=principal.user,
            tags=tags,
            adopt=self._adopter(principal),
        )
        response = HttpResponse(status=201)
        response["Location"] = request.build_absolute_uri(
            f"/v2/{self.named.full_name}/manifests/{manifest.digest}"
        )
        response[HEADER_DOCKER_CONTENT_DIGEST] = manifest.digest
        if parsed.subject is not None:
            response[HEADER_OCI_SUBJECT] = str(parsed.subject.digest)
        if tags:
            response[HEADER_OCI_TAG] = ", ".join(dict.fromkeys(tags))
        response["Content-Length"] = "0"
        return response

    def delete(self, request: HttpRequest, reference: str) -> HttpResponse:
        """Delete a manifest by digest (with its tags), or only a tag (202)."""
        principal = self.authorize_write(DELETE)
        parsed = parse_reference(reference)
        if isinstance(parsed, Digest):
            oci_manifest_delete(image=self.image, digest=parsed, user=principal.user)
        else:
            oci_tag_delete(image=self.image, name=parsed, user=principal.user)
        return HttpResponse(status=202)


class BlobView(OciView):
    """``/v2/<name>/blobs/<digest>``."""

    def get(self, request: HttpRequest, digest: str) -> HttpResponseBase:
        """Serve a blob of the image (Range, ETag and HEAD included)."""
        principal = oci_authorize(request, image=self.image, action=READ)
        return oci_blob_read(
            request, image=self.image, digest=parse_digest(digest), principal=principal
        )

    head = get

    def delete(self, request: HttpRequest, digest: str) -> HttpResponse:
        """Remove the blob from the image (202)."""
        self.authorize_write(DELETE)
        oci_blob_unlink(image=self.image, digest=parse_digest(digest))
        return HttpResponse(status=202)


class UploadStartView(OciView):
    """``POST /v2/<name>/blobs/uploads/``: a monolithic upload, a mount, or a new session."""

    def post(self, request: HttpRequest) -> HttpResponse:
        """201 for a monolithic upload (``?digest=``) or a mount; 202 and a session otherwise."""
        mount, source = request.GET.get("mount"), request.GET.get("from")
        scopes = self._mount_scopes(source) if mount and source else ()
        principal = self.authorize_write(WRITE, challenge_scopes=scopes)
        if mount and source:
            if self._mount(parse_digest(mount), source, scopes=scopes) is not None:
                return self.blob_created(mount)
        elif "digest" in request.GET:
            digest = parse_digest(request.GET["digest"])
            oci_blob_push(image=self.image, digest=digest, stream=request_stream(request))
            return self.blob_created(digest)
        upload = oci_upload_start(image=self.image, user=principal.user)
        return self.upload_response(upload)

    def _mount_scopes(self, source_name: str) -> tuple[Scope, ...]:
        # Every challenge of a mount names the target's push and the source's pull, as
        # Distribution's does: a client that fetches one token and retries once then succeeds.
        target = oci_scope(image=self.named, action=WRITE)
        try:
            validate_name(source_name)
        except RegistryError:
            return ()  # no mount: the request opens a session
        return (target, Scope(type="repository", name=source_name, actions=("pull",)))

    def _mount(self, digest: Digest, source_name: str, *, scopes: tuple[Scope, ...]) -> Blob | None:
        # A source the caller may not read (or that does not exist) falls back to a session. A
        # token that lacks only the source's scope gets a 401 naming both images.
        try:
            source = oci_image_resolve(name=source_name)
            principal = oci_authorize(
                self.request, image=source, action=READ, challenge_scopes=scopes
            )
        except AuthenticationRequired:
            raise
        except RegistryError:
            return None
        blob = oci_blob_find(image=source, digest=digest, principal=principal)
        if blob is not None:
            oci_blob_link(image=self.image, blob=blob)
        return blob


class UploadView(OciView):
    """``/v2/<name>/blobs/uploads/<uuid>``: continue, query, close or cancel a session."""

    def get(self, request: HttpRequest, upload_id: str) -> HttpResponse:
        """Report how many bytes the session holds (204 with ``Range``)."""
        self.authorize_write(WRITE)
        upload = oci_upload_get(image=self.image, upload_id=upload_id)
        return self.upload_response(upload, status=204)

    def patch(self, request: HttpRequest, upload_id: str) -> HttpResponse:
        """Append a chunk (streamed); a chunk that does not continue the upload gets 416."""
        self.authorize_write(WRITE)
        upload = oci_upload_get(image=self.image, upload_id=upload_id)
        upload = oci_upload_append(
            upload=upload,
            stream=request_stream(request),
            content_range=request.headers.get(HEADER_CONTENT_RANGE),
            content_length=_content_length(request),
        )
        return self.upload_response(upload)

    def put(self, request: HttpRequest, upload_id: str) -> HttpResponse:
        """Close the session with ``?digest=``, after appending a last chunk if one is sent."""
        self.authorize_write(WRITE)
        if "digest" not in request.GET:
            raise BlobUploadInvalid("the digest query parameter is required")
        digest = parse_digest(request.GET["digest"])
        upload = oci_upload_get(image=self.image, upload_id=upload_id)
        if _has_body(request):
            upload = oci_upload_append(
                upload=upload,
                stream=request_stream(request),
                content_range=request.headers.get(HEADER_CONTENT_RANGE),
                content_length=_content_length(request),
            )
        oci_upload_finish(image=self.image, upload=upload, digest=digest)
        return self.blob_created(digest)

    def delete(self, request: HttpRequest, upload_id: str) -> HttpResponse:
        """Cancel the session (204)."""
        self.authorize_write(WRITE)
        oci_upload_cancel(upload=oci_upload_get(image=self.image, upload_id=upload_id))
        return HttpResponse(status=204)


class ReferrersView(OciView):
    """``GET /v2/<name>/referrers/<digest>``: the manifests whose subject is ``digest``."""

    def get(self, request: HttpRequest, digest: str) -> HttpResponse:
        """Answer an image index of descriptors, filtered by ``artifactType`` when asked."""
        principal = oci_authorize(request, image=self.image, action=READ)
        descriptors = oci_referrers_read(
            image=self.image, subject=parse_digest(digest), principal=principal
        )
        artifact_type = request.GET.get(FILTER_ARTIFACT_TYPE) or None
        body = build_referrers_index(descriptors, artifact_type_filter=artifact_type)
        response = HttpResponse(body, content_type=MIME_OCI_INDEX)
        if artifact_type:
            response[HEADER_OCI_FILTERS_APPLIED] = FILTER_ARTIFACT_TYPE
        return response
