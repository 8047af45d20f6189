"""Reads of proxy and group PyPI repositories: pages and files across their sources.

A group looks in its members in order (``repository_read_sources``: hosted members the caller
may read, proxies, the dependency-confusion guard); a proxy is its own only source. A project
page merges the sources' files, the first source with a filename winning, and the file of that
name is served from the same source. All pages link files relative to ``simple/<project>/``
with the hosted layout, so one path names a file in every member.
"""

import hashlib
import logging

from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.utils import timezone

from formats.plugin import (
    AssetUnknown,
    Document,
    Package,
    Principal,
    Repository,
    UpstreamDigestMismatch,
    UpstreamMissing,
    UpstreamUnavailable,
    asset_find,
    asset_response,
    repository_read_sources,
)
from formats.pypi.errors import ProjectUnknown
from formats.pypi.proxy import FILE_URL_PREFIX, pypi_proxy_file, pypi_proxy_files
from formats.pypi.renderers import (
    MIME_PYPI_SIMPLE_V1_JSON,
    SimpleFile,
    render_simple_index_html,
    render_simple_index_json,
    render_simple_project_html,
    render_simple_project_json,
)
from formats.pypi.services import (
    MIME_HTML_UTF8,
    simple_document_key,
    simple_files_by_repository,
)

logger = logging.getLogger(__name__)


def pypi_sources_project_files(
    *, repository: Repository, principal: Principal, project: str
) -> list[SimpleFile]:
    """Return the files of ``project`` a reader of ``repository`` sees, first source winning.

    A proxy that fails is skipped when another source has the project (logged), so a group
    keeps serving what it can.

    Raises:
        ProjectUnknown: no source has the project.
        UpstreamUnavailable, UpstreamTimeout: none has it, and a proxy could not tell.
    """
    merged: dict[str, SimpleFile] = {}
    failure: UpstreamUnavailable | None = None
    sources = repository_read_sources(repository=repository, principal=principal, package=project)
    hosted = simple_files_by_repository(
        repositories=[source for source in sources if source.kind != Repository.Kind.PROXY],
        project=project,
        url_prefix=FILE_URL_PREFIX,
    )
    for source in sources:
        try:
            files = (
                pypi_proxy_files(repository=source, project=project)
                if source.kind == Repository.Kind.PROXY
                else hosted.get(source.pk, [])
            )
        except UpstreamMissing:
            continue
        except UpstreamUnavailable as error:
            logger.warning("%s: %s skipped for %s: %s", repository, source, project, error)
            failure = failure or error
            continue
        for file in files:
            merged.setdefault(file["filename"], file)
    if merged:
        return list(merged.values())
    if failure is not None:
        raise failure
    raise ProjectUnknown(f"Project {project!r} not found.")


def _rendered(repository: Repository, key: str, content: bytes, content_type: str) -> Document:
    """An unsaved Document, so the page is served with ETag and 304 like a stored one."""
    return Document(
        repository=repository,
        key=key,
        content=content,
        content_type=content_type,
        etag=hashlib.sha256(content).hexdigest()[:32],
        updated=timezone.now(),
    )


def pypi_sources_simple_document(
    *, repository: Repository, principal: Principal, project: str | None, representation: str
) -> Document:
    """Render a simple page of a proxy or group: the root index or a project's.

    The root index lists what the sources hold: hosted members' projects and the projects a
    proxy has cached files of (never the upstream's whole index).
    """
    key = simple_document_key(project=project, representation=representation)
    json_type = representation == "json"
    content_type = MIME_PYPI_SIMPLE_V1_JSON if json_type else MIME_HTML_UTF8
    if project is None:
        sources = repository_read_sources(repository=repository, principal=principal)
        names = sorted(
            set(
                Package.objects.filter(repository__in=sources, versions__isnull=False)
                .distinct()
                .values_list("normalized_name", flat=True)
            )
        )
        render_index = render_simple_index_json if json_type else render_simple_index_html
        return _rendered(repository, key, render_index(projects=names), content_type)
    files = pypi_sources_project_files(repository=repository, principal=principal, project=project)
    render_project = render_simple_project_json if json_type else render_simple_project_html
    return _rendered(repository, key, render_project(name=project, files=files), content_type)


def pypi_sources_json_repository(
    *, repository: Repository, principal: Principal, project: str
) -> Repository:
    """The source whose releases of ``project`` a group's JSON API describes: the first with any."""
    for source in repository_read_sources(
        repository=repository, principal=principal, package=project
    ):
        if Package.objects.filter(
            repository=source, normalized_name=project, versions__isnull=False
        ).exists():
            return source
    return repository


def pypi_sources_file(
    request: HttpRequest, *, repository: Repository, principal: Principal, path: str
) -> HttpResponseBase:
    """Serve the file at ``path`` from the first source that has it (the page's winner).

    Raises:
        AssetUnknown: no source has it.
        UpstreamDigestMismatch: the proxy that lists it got other bytes than declared.
        UpstreamUnavailable, UpstreamTimeout: no source has it, and a proxy could not tell.
    """
    project = path.split("/")[1]
    failure: UpstreamUnavailable | None = None
    for source in repository_read_sources(
        repository=repository, principal=principal, package=project
    ):
        asset = asset_find(repository=source, path=path)
        if asset is not None:
            return asset_response(request, asset)
        if source.kind != Repository.Kind.PROXY:
            continue
        try:
            response = pypi_proxy_file(request, repository=source, path=path)
        except UpstreamMissing:
            continue
        except UpstreamDigestMismatch:
            raise
        except UpstreamUnavailable as error:
            failure = failure or error
            continue
        if response is not None:
            return response
    if failure is not None:
        raise failure
    raise AssetUnknown(f"{path} not found")
