"""Raw files over plain HTTP: PUT stores, GET/HEAD (with Range) read, DELETE removes."""

from urllib.parse import quote

from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase

from formats.plugin import (
    DELETE,
    READ,
    WRITE,
    AssetUnknown,
    ProtocolView,
    RegistryError,
    Repository,
    UpstreamMissing,
    UpstreamUnavailable,
    asset_find,
    asset_response,
    proxy_file,
    repository_read_sources,
    request_stream,
    validate_path,
)
from formats.raw.services import raw_file_delete, raw_file_put

HEADER_CHECKSUM_SHA256 = "X-Checksum-Sha256"  # as Artifactory's generic deploy sends it


class RawFileView(ProtocolView):
    """``/repository/<repo>/<path>`` of a raw repository."""

    format_name = "raw"

    def get(self, request: HttpRequest, path: str) -> HttpResponseBase:
        """Download the file at ``path``: a group's from the first member that has it."""
        principal = self.require(READ)
        path = validate_path(path)
        failure: RegistryError = AssetUnknown(f"{path} not found")
        for source in repository_read_sources(repository=self.repository, principal=principal):
            if source.kind != Repository.Kind.PROXY:
                asset = asset_find(repository=source, path=path)
                if asset is not None:
                    return asset_response(request, asset)
                continue
            try:
                return proxy_file(
                    request,
                    repository=source,
                    path=path,
                    url=source.upstream_url.rstrip("/") + "/" + quote(path),
                    mutable=True,
                )
            except UpstreamMissing:
                continue
            except UpstreamUnavailable as error:  # a later member may still have it
                failure = error
        raise failure

    head = get

    def put(self, request: HttpRequest, path: str) -> HttpResponse:
        """Upload a file to ``path``: 201 when new, 200 when a redeploy replaced it."""
        principal = self.require_write(WRITE)
        asset, created = raw_file_put(
            repository=self.repository,
            path=path,
            stream=request_stream(request),
            content_type=request.content_type or "",
            user=principal.user,
            expected_sha256=request.headers.get(HEADER_CHECKSUM_SHA256, ""),
        )
        response = HttpResponse(status=201 if created else 200)
        response["ETag"] = f'"{asset.blob.digest}"'
        return response

    def delete(self, request: HttpRequest, path: str) -> HttpResponse:
        """Delete the file at ``path``."""
        self.require_write(DELETE)
        raw_file_delete(repository=self.repository, path=path)
        return HttpResponse(status=204)
