"""Raw files over plain HTTP: PUT stores, GET/HEAD (with Range) read, DELETE removes."""

from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase

from access.permissions import DELETE, READ, WRITE
from formats.paths import validate_path
from formats.plugin import ProtocolView, request_stream
from formats.raw.services import raw_file_delete, raw_file_put
from formats.selectors import asset_get
from storage.responses import blob_response

HEADER_CHECKSUM_SHA256 = "X-Checksum-Sha256"  # as Artifactory's generic deploy sends it


class RawFileView(ProtocolView):
    """``/repository/<repo>/<path>`` of a raw repository."""

    format_name = "raw"

    def get(self, request: HttpRequest, path: str) -> HttpResponseBase:
        """Download the file at ``path``."""
        self.require(READ)
        asset = asset_get(repository=self.repository, path=validate_path(path))
        return blob_response(request, asset.blob, content_type=asset.media_type)

    head = get

    def put(self, request: HttpRequest, path: str) -> HttpResponse:
        """Upload a file to ``path``: 201 when new, 200 when a redeploy replaced it."""
        principal = self.require(WRITE)
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
        self.require(DELETE)
        raw_file_delete(repository=self.repository, path=path)
        return HttpResponse(status=204)
