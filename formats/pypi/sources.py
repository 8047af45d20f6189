"""Reads of proxy and group PyPI repositories: pages and files across their sources.

A group looks in its members in order (``repository_read_sources``: hosted members the caller
may read, proxies, the dependency-confusion guard); a proxy is its own only source. A project
page merges the sources' files, the first source with a filename winning, and the file of that
name is served from the same source. All pages link files relative to ``simple/<project>/``
with the hosted layout, so one path names a file in every member.
"""

import hashlib
import logging
from dataclasses import dataclass, field

from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.utils import timezone

from formats.plugin import (
    AssetUnknown,
    Document,
    DocumentCache,
    Package,
    Principal,
    ProxyDocument,
    Repository,
    UpstreamDigestMismatch,
    UpstreamMissing,
    UpstreamUnavailable,
    asset_find_first,
    asset_response,
    document_etag,
    document_etags,
    repository_read_sources,
)
from formats.pypi.errors import ProjectUnknown
from formats.pypi.proxy import (
    FILE_URL_PREFIX,
    pypi_proxy_file,
    pypi_proxy_files,
    pypi_proxy_page_document,
)
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


# Merged project pages of groups by the ETag that names their inputs; the bytes kept are bounded.
MERGED_PAGES_BYTES = 64 * 1024 * 1024
_merged_pages = DocumentCache(budget=MERGED_PAGES_BYTES)


@dataclass
class _Inputs:
    """What a proxy's or group's project page is made of: each source's state, in order."""

    sources: list[Repository]
    pages: dict[int, ProxyDocument] = field(default_factory=dict)  # proxies' cached pages
    states: list[str] = field(default_factory=list)  # one per source: ``id:ETag`` (or why not)
    failure: UpstreamUnavailable | None = None

    def key(self, representation: str, project: str) -> str:
        """The name of the page these inputs render to: it changes whenever one of them does."""
        return document_etag(" ".join([representation, project, *self.states]).encode())


def _page_inputs(
    *, repository: Repository, principal: Principal, project: str, representation: str
) -> _Inputs:
    """Read what each source holds of ``project`` now: hosted pages' ETags, proxies' pages.

    A hosted member's stored page is regenerated on every write to the project, so its ETag
    stands for its files; a proxy's page is read (and revalidated when due) as it is served. A
    proxy that fails is skipped (logged), so a group keeps serving what it can.
    """
    sources = repository_read_sources(repository=repository, principal=principal, package=project)
    inputs = _Inputs(sources=sources)
    hosted = [source for source in sources if source.kind != Repository.Kind.PROXY]
    etags = document_etags(
        repositories=hosted,
        key=simple_document_key(project=project, representation=representation),
    )
    for source in sources:
        if source.kind != Repository.Kind.PROXY:
            inputs.states.append(f"{source.pk}:{etags.get(source.pk, '-')}")
            continue
        try:
            page = pypi_proxy_page_document(repository=source, project=project)
        except UpstreamMissing:
            inputs.states.append(f"{source.pk}:missing")
            continue
        except UpstreamUnavailable as error:
            logger.warning("%s: %s skipped for %s: %s", repository, source, project, error)
            inputs.failure = inputs.failure or error
            inputs.states.append(f"{source.pk}:failed")
            continue
        inputs.pages[source.pk] = page
        inputs.states.append(f"{source.pk}:{page.etag}")
    return inputs


def _project_files(inputs: _Inputs, project: str) -> list[SimpleFile]:
    """Merge the sources' files of ``project``, the first source with a filename winning.

    Raises:
        ProjectUnknown: no source has the project.
        UpstreamUnavailable, UpstreamTimeout: none has it, and a proxy could not tell.
    """
    merged: dict[str, SimpleFile] = {}
    hosted = simple_files_by_repository(
        repositories=[source for source in inputs.sources if source.kind != Repository.Kind.PROXY],
        project=project,
        url_prefix=FILE_URL_PREFIX,
    )
    for source in inputs.sources:
        page = inputs.pages.get(source.pk)
        files = (
            pypi_proxy_files(page=page, project=project)
            if page is not None
            else hosted.get(source.pk, [])
        )
        for file in files:
            merged.setdefault(file["filename"], file)
    if merged:
        return list(merged.values())
    if inputs.failure is not None:
        raise inputs.failure
    raise ProjectUnknown(f"Project {project!r} not found.")


def _rendered(
    repository: Repository, key: str, content: bytes, content_type: str, etag: str = ""
) -> Document:
    """An unsaved Document, so the page is served with ETag and 304 like a stored one."""
    return Document(
        repository=repository,
        key=key,
        content=content,
        content_type=content_type,
        etag=etag or hashlib.sha256(content).hexdigest()[:32],
        updated=timezone.now(),
    )


def pypi_sources_simple_document(
    *, repository: Repository, principal: Principal, project: str | None, representation: str
) -> Document:
    """Render a simple page of a proxy or group: the root index or a project's.

    The root index lists what the sources hold: hosted members' projects and the projects a
    proxy has cached files of (never the upstream's whole index). A project's page is merged
    once per process for each state of its sources (``_page_inputs``), then served from
    memory while none of them changes.
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
    inputs = _page_inputs(
        repository=repository, principal=principal, project=project, representation=representation
    )
    slot = inputs.key(representation, project)
    cached = _merged_pages.get(slot)
    if cached is None:
        render_project = render_simple_project_json if json_type else render_simple_project_html
        content = render_project(name=project, files=_project_files(inputs, project))
        cached = (hashlib.sha256(content).hexdigest()[:32], content)
        _merged_pages.put(slot, *cached)
    return _rendered(repository, key, cached[1], content_type, etag=cached[0])


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
    sources = repository_read_sources(repository=repository, principal=principal, package=project)
    # One statement finds the first source holding the file; only proxies listed before it
    # (they have not cached it yet) are asked whether their upstream has it.
    stored = asset_find_first(repositories=sources, path=path)
    for source in sources:
        if stored is not None and source == stored[0]:
            return asset_response(request, stored[1])
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
