"""What mvn, Gradle and Ivy speak: the Maven 2 repository layout over plain HTTP.

https://maven.apache.org/repository/layout.html. PUT deploys, GET/HEAD read files, checksums
and ``maven-metadata.xml``; a folder path answers with an HTML index. A group reads its members
in order (a proxy member through its upstream), a proxy its upstream (formats/maven/proxy.py).
"""

from collections.abc import Callable
from functools import partial
from typing import TypeVar

from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils.cache import patch_cache_control

from formats.maven.errors import FileUnknown, MavenPathInvalid
from formats.maven.media import MIME_CHECKSUM
from formats.maven.paths import MavenPath, PathKind, parse_path
from formats.maven.proxy import maven_proxy_asset, maven_proxy_file, maven_proxy_metadata
from formats.maven.selectors import (
    content_checksum,
    maven_asset_find,
    maven_directory_exists,
    maven_directory_list,
    maven_metadata_merge,
    maven_read_sources,
)
from formats.maven.services import (
    MAX_CHECKSUM_SIZE,
    MAX_METADATA_SIZE,
    maven_checksum_check,
    maven_file_deploy,
    maven_metadata_put,
)
from formats.plugin import (
    READ,
    Asset,
    Document,
    ProtocolView,
    Repository,
    UpstreamMissing,
    UpstreamUnavailable,
    asset_response,
    blob_checksums,
    document_get,
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
LISTING_TEMPLATE = "formats/maven/listing.html"
T = TypeVar("T")


def _checksum_response(request: HttpRequest, digest: str) -> HttpResponse:
    response = HttpResponse(b"" if request.method == "HEAD" else digest.encode(), MIME_CHECKSUM)
    response["Content-Length"] = str(len(digest))
    response["ETag"] = f'"{digest}"'
    patch_cache_control(response, max_age=0, must_revalidate=True)
    return response


def _first(sources: list[Repository], mpath: MavenPath, read: Callable[[Repository], T]) -> T:
    """Return ``read`` of the first source holding ``mpath``.

    A proxy whose upstream fails is passed over; its error is raised when no later source has
    the file (a 502 naming the upstream, not a 404).
    """
    failure = None
    for source in sources:
        try:
            return read(source)
        except (FileUnknown, UpstreamMissing):
            continue
        except UpstreamUnavailable as error:
            failure = failure or error
    raise failure or FileUnknown(f"{mpath.target_path} not found")


def _asset(source: Repository, *, mpath: MavenPath) -> Asset:
    if source.kind == Repository.Kind.PROXY:
        return maven_proxy_asset(repository=source, mpath=mpath)
    return maven_asset_find(sources=[source], mpath=mpath)


def _file_response(
    request: HttpRequest, source: Repository, *, mpath: MavenPath
) -> HttpResponseBase:
    if source.kind == Repository.Kind.PROXY:
        return maven_proxy_file(request, repository=source, mpath=mpath)
    asset = maven_asset_find(sources=[source], mpath=mpath)
    return asset_response(request, asset)


def _documents(source: Repository, *, mpath: MavenPath) -> list[Document]:
    if source.kind == Repository.Kind.PROXY:
        return [maven_proxy_metadata(repository=source, mpath=mpath)]
    document = document_get(repository=source, key=mpath.target_path)
    return [] if document is None else [document]


class MavenRepositoryView(ProtocolView):
    """Every path of a Maven repository: hosted, proxy or group."""

    format_name = "maven"

    def get(self, request: HttpRequest, path: str) -> HttpResponseBase:
        """Serve a file, a checksum, ``maven-metadata.xml`` or a folder index at ``path``."""
        principal = self.require(READ)
        try:
            mpath = parse_path(path=path)
        except MavenPathInvalid:
            sources = maven_read_sources(repository=self.repository, principal=principal)
            return self._folder_redirect(sources=sources, path=path)
        sources = maven_read_sources(repository=self.repository, principal=principal, mpath=mpath)
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
        if mpath.checksum is not None:
            asset = _first(sources, mpath, partial(_asset, mpath=mpath))
            blob = blob_checksums(blob=asset.blob)
            return _checksum_response(request, getattr(blob, mpath.checksum))
        return _first(sources, mpath, partial(_file_response, request, mpath=mpath))

    def _metadata(
        self, request: HttpRequest, *, sources: list[Repository], mpath: MavenPath
    ) -> HttpResponseBase:
        documents: list[Document] = []
        failure = None
        for source in sources:
            try:
                documents.extend(_documents(source, mpath=mpath))
            except UpstreamMissing:
                continue
            except UpstreamUnavailable as error:
                failure = failure or error
        if not documents:
            raise failure or FileUnknown(f"{mpath.target_path} not found")
        document = maven_metadata_merge(documents=documents, mpath=mpath)
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
        principal = self.require_write()
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
