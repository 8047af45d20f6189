"""Counting the downloads nginx sends from the Maven mirror itself (download statistics).

deploy/nginx.conf copies every read it serves from the mirror to ``/-/downloaded`` with its
``mirror`` directive: a subrequest made after the permission check, whose answer nginx ignores,
with the client's method, credentials, Range header and, in ``X-Original-URI``, its URI. The
authorization answer is cached, so it cannot count; this copy reaches the registry every time.
The caller must be allowed to read the file, as for a download through the registry, so a
client can count no more downloads here than it could make.
"""

from urllib.parse import unquote, urlsplit

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_safe

from formats.maven.paths import parse_path
from formats.maven.selectors import maven_asset_find, maven_read_sources
from formats.plugin import READ, RegistryError, Repository, download_record, require

PREFIX = "/repository/"


def _counted(request: HttpRequest) -> bool:
    # As asset_response counts: a GET of the whole file, or of a range from its first byte.
    ranged = request.headers.get("Range", "")
    return request.method == "GET" and (not ranged or ranged.startswith("bytes=0-"))


@require_safe
def mirror_downloaded(request: HttpRequest) -> HttpResponse:
    """Count the download of ``X-Original-URI`` (a file of a Maven repository); answer 204.

    Checksums and ``maven-metadata.xml`` are not downloads of a file: not counted. A path that
    names no file, or one the caller may not read, counts nothing (4xx: nginx ignores it).
    """
    original = unquote(urlsplit(request.headers.get("X-Original-URI", "")).path)
    name, _, path = original.removeprefix(PREFIX).partition("/")
    repository = Repository.objects.filter(name=name, format="maven").first()
    if not original.startswith(PREFIX) or repository is None:
        return HttpResponse(status=404)
    try:
        principal = require(request, repository=repository, action=READ)
        mpath = parse_path(path=path)
        if not _counted(request) or mpath.is_checksum or mpath.is_metadata:
            return HttpResponse(status=204)
        sources = maven_read_sources(repository=repository, principal=principal, mpath=mpath)
        asset = maven_asset_find(sources=sources, mpath=mpath)
    except RegistryError as error:
        return HttpResponse(status=error.http_status)
    download_record(asset_id=asset.pk)
    return HttpResponse(status=204)
