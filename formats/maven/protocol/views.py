"""What mvn, Gradle and Ivy speak: the Maven 2 repository layout over plain HTTP.

https://maven.apache.org/repository/layout.html. PUT deploys, GET/HEAD read files, checksums
and ``maven-metadata.xml``; a folder path answers with an HTML index.
"""

from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils.cache import patch_cache_control

from formats.maven.errors import FileUnknown, GroupReadOnly, MavenPathInvalid
from formats.maven.media import MIME_CHECKSUM
from formats.maven.paths import MavenPath, PathKind, parse_path
from formats.maven.selectors import (
    content_checksum,
    maven_asset_find,
    maven_directory_exists,
    maven_directory_list,
    maven_metadata_find,
    maven_read_sources,
)
from formats.maven.services import (
    MAX_METADATA_SIZE,
    maven_checksum_check,
    maven_file_deploy,
    maven_metadata_put,
)
from formats.plugin import (
    READ,
    WRITE,
    ProtocolView,
    Repository,
    asset_response,
    blob_checksums,
    document_response,
    request_json_body,
    request_stream,
)

# Digests a client may declare on the PUT of a file (Maven Resolver 1.8+, Artifactory, Nexus).
CHECKSUM_HEADERS = {
    "sha1": "X-Checksum-Sha1",
    "md5": "X-Checksum-Md5",
    "sha256": "X-Checksum-Sha256",
    "sha512": "X-Checksum-Sha512",
}
MAX_CHECKSUM_SIZE = 1024
LISTING_TEMPLATE = "formats/maven/listing.html"


def _checksum_response(request: HttpRequest, digest: str) -> HttpResponse:
    response = HttpResponse(b"" if request.method == "HEAD" else digest.encode(), MIME_CHECKSUM)
    response["Content-Length"] = str(len(digest))
    response["ETag"] = f'"{digest}"'
    patch_cache_control(response, max_age=0, must_revalidate=True)
    return response


class MavenRepositoryView(ProtocolView):
    """Every path of a Maven repository, hosted or group."""

    format_name = "maven"

    def get(self, request: HttpRequest, path: str) -> HttpResponseBase:
        """Serve a file, a checksum, ``maven-metadata.xml`` or a folder index at ``path``."""
        principal = self.require(READ)
        sources = maven_read_sources(repository=self.repository, principal=principal)
        try:
            mpath = parse_path(path=path)
        except MavenPathInvalid:
            return self._folder_redirect(sources=sources, path=path)
        if mpath.kind is PathKind.DIRECTORY:
            return self._listing(request, sources=sources, mpath=mpath)
        try:
            if mpath.is_metadata:
                return self._metadata(request, sources=sources, mpath=mpath)
            return self._file(request, sources=sources, mpath=mpath)
        except FileUnknown:
            return self._folder_redirect(sources=sources, path=path)

    head = get

    def _file(
        self, request: HttpRequest, *, sources: list[Repository], mpath: MavenPath
    ) -> HttpResponseBase:
        asset = maven_asset_find(sources=sources, mpath=mpath)
        if mpath.checksum is not None:
            blob = blob_checksums(blob=asset.blob)
            return _checksum_response(request, getattr(blob, mpath.checksum))
        return asset_response(request, asset)

    def _metadata(
        self, request: HttpRequest, *, sources: list[Repository], mpath: MavenPath
    ) -> HttpResponseBase:
        document = maven_metadata_find(sources=sources, mpath=mpath)
        if mpath.checksum is not None:
            digest = content_checksum(content=bytes(document.content), algorithm=mpath.checksum)
            return _checksum_response(request, digest)
        return document_response(request, document)

    def _listing(
        self, request: HttpRequest, *, sources: list[Repository], mpath: MavenPath
    ) -> HttpResponse:
        entries = maven_directory_list(sources=sources, prefix=mpath.path)
        context = {"repository": self.repository, "path": mpath.path, "entries": entries}
        return render(request, LISTING_TEMPLATE, context)

    def _folder_redirect(self, *, sources: list[Repository], path: str) -> HttpResponseBase:
        # Browsers and crawlers ask for folders without the trailing slash.
        if path and not path.endswith("/") and maven_directory_exists(sources=sources, path=path):
            return HttpResponsePermanentRedirect(f"{self.request.path}/")
        raise FileUnknown(f"{path} not found")

    def put(self, request: HttpRequest, path: str) -> HttpResponse:
        """Deploy a file, check an uploaded checksum, or reconcile uploaded metadata.

        Answers 201 for a new file, 200 for a replaced SNAPSHOT file or a redeploy.
        """
        principal = self.require(WRITE)
        if self.repository.kind == Repository.Kind.GROUP:
            raise GroupReadOnly()
        mpath = parse_path(path=path)
        if mpath.kind is PathKind.DIRECTORY:
            raise MavenPathInvalid(f"{path} is a folder, not a file")
        if mpath.checksum is not None:
            raw = request_json_body(request, limit=MAX_CHECKSUM_SIZE)
            maven_checksum_check(repository=self.repository, mpath=mpath, raw=raw)
            return HttpResponse(status=201)
        if mpath.is_metadata:
            raw = request_json_body(request, limit=MAX_METADATA_SIZE)
            maven_metadata_put(repository=self.repository, mpath=mpath, raw=raw)
            return HttpResponse(status=201)
        expected = {
            algorithm: request.headers[header].strip().lower()
            for algorithm, header in CHECKSUM_HEADERS.items()
            if request.headers.get(header, "").strip()
        }
        _, created = maven_file_deploy(
            repository=self.repository,
            mpath=mpath,
            stream=request_stream(request),
            user=principal.user,
            expected=expected,
        )
        return HttpResponse(status=201 if created else 200)
