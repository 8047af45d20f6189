"""PyPI proxy repositories: project pages from an upstream simple index, files on first read.

A project page is cached (``proxy_document``) in the stored form of ``formats.pypi.upstream``
and rendered per request with this repository's file URLs, which use the hosted layout
(``packages/<project>/<version>/<filename>``). A file's upstream URL and digests come from the
cached page, never from the client's URL. A file fetched once becomes an Asset of the proxy
with its release's Package and Version rows.
"""

from django.http import HttpRequest
from django.http.response import HttpResponseBase

from formats.plugin import (
    Asset,
    ProxyDocument,
    Repository,
    UpstreamUnavailable,
    Version,
    package_ensure,
    proxy_document,
    proxy_file,
    version_ensure,
)
from formats.pypi.names import (
    DIST_MEDIA_TYPES,
    is_valid_project_name,
    normalize_project_name,
    parse_distribution_filename,
)
from formats.pypi.renderers import SimpleFile
from formats.pypi.services import (
    ASSET_KIND_CORE_METADATA,
    ASSET_KIND_DISTRIBUTION,
    CORE_METADATA_SUFFIX,
    MIME_CORE_METADATA,
    PACKAGES_PREFIX,
)
from formats.pypi.upstream import (
    UPSTREAM_ACCEPT,
    UpstreamFile,
    stored_page_files,
    upstream_page_normalize,
    upstream_project_url,
)

# Digests the blob store verifies, strongest first.
VERIFIED_HASHES = ("sha256", "sha512", "sha1", "md5")
# Simple pages link files relative to ``simple/<project>/``.
FILE_URL_PREFIX = "../../"


def file_path(file: UpstreamFile, project: str) -> str:
    """Return the repository path a proxied file is served at (the hosted layout)."""
    return f"{PACKAGES_PREFIX}{project}/{file.version}/{file.filename}"


def pypi_proxy_page_document(*, repository: Repository, project: str) -> ProxyDocument:
    """Return the cached page of ``project`` (the stored form), revalidated when due.

    Raises:
        UpstreamMissing: the upstream has no such project (remembered for ``negative_ttl``).
        UpstreamUnavailable, UpstreamTimeout: it failed, or sent no readable page, and
            nothing is cached.
    """
    url = upstream_project_url(repository.upstream_url, project)

    def normalize(content: bytes, content_type: str) -> bytes:
        try:
            return upstream_page_normalize(content, content_type, page_url=url, project=project)
        except (ValueError, UnicodeDecodeError) as error:
            raise UpstreamUnavailable(f"upstream {url} sent an unreadable page: {error}") from None

    return proxy_document(
        repository=repository,
        key=f"simple/{project}",
        url=url,
        package=project,
        headers={"Accept": UPSTREAM_ACCEPT},
        transform=normalize,
    )


def pypi_proxy_page(*, repository: Repository, project: str) -> list[UpstreamFile]:
    """Return the upstream's files of ``project`` (``pypi_proxy_page_document``'s errors)."""
    return stored_page_files(
        pypi_proxy_page_document(repository=repository, project=project).content
    )


def pypi_proxy_files(*, page: ProxyDocument, project: str) -> list[SimpleFile]:
    """Return the files of a proxied project's ``page`` as the renderers take them, linked to
    this proxy."""
    return [
        file.simple_file(FILE_URL_PREFIX + file_path(file, project))
        for file in stored_page_files(page.content)
    ]


def _attach(asset: Asset, *, file: UpstreamFile, project: str, metadata_file: bool) -> None:
    """Give a newly cached file its release (Package and Version rows), as an upload would."""
    package = package_ensure(repository=asset.repository, name=project, normalized_name=project)
    version = version_ensure(
        package=package,
        version=file.version,
        metadata={"requires_python": file.requires_python},
        user=None,
    )
    path = file_path(file, project)
    metadata: dict[str, object]
    if metadata_file:
        metadata = {"kind": ASSET_KIND_CORE_METADATA, "distribution_path": path}
    else:
        dist = parse_distribution_filename(file.filename)
        metadata = {
            "kind": ASSET_KIND_DISTRIBUTION,
            "filename": file.filename,
            "packagetype": dist.kind,
            "python_version": dist.python_tag,
            "requires_python": file.requires_python,
        }
        if file.upload_time is not None:
            metadata["upload_time"] = file.upload_time.isoformat()
        if file.core_metadata_sha256:
            metadata["core_metadata_sha256"] = file.core_metadata_sha256
            metadata["core_metadata_path"] = path + CORE_METADATA_SUFFIX
    asset.metadata = {**asset.metadata, **metadata}
    Asset.objects.filter(pk=asset.pk).update(version=version, metadata=asset.metadata)
    if file.yanked is not False and not version.yanked:
        reason = file.yanked if isinstance(file.yanked, str) else ""
        Version.objects.filter(pk=version.pk).update(yanked=True, yanked_reason=reason)


def _listed(*, repository: Repository, path: str) -> tuple[UpstreamFile, str, bool] | None:
    """The page entry a file path names: ``(file, project, is_metadata)``, or None."""
    parts = path.removeprefix(PACKAGES_PREFIX).split("/")
    if len(parts) != 3:
        return None
    project, version, filename = parts
    if not is_valid_project_name(project) or normalize_project_name(project) != project:
        return None  # only the names pages link to, never an upstream request for others
    metadata_file = filename.endswith(CORE_METADATA_SUFFIX)
    filename = filename.removesuffix(CORE_METADATA_SUFFIX) if metadata_file else filename
    for file in pypi_proxy_page(repository=repository, project=project):
        if file.filename == filename and file.version == version:
            if metadata_file and not file.core_metadata_sha256:
                return None
            return file, project, metadata_file
    return None


def pypi_proxy_file(
    request: HttpRequest, *, repository: Repository, path: str
) -> HttpResponseBase | None:
    """Serve a proxied file (or its PEP 658 ``.metadata``) the cached page lists.

    Returns:
        The response, or None when the project's page does not list the file.

    Raises:
        UpstreamDigestMismatch: the upstream's bytes are not what its page declared.
        UpstreamMissing, UpstreamUnavailable, UpstreamTimeout: as ``proxy_file``.
    """
    listed = _listed(repository=repository, path=path)
    if listed is None:
        return None
    file, project, metadata_file = listed
    if metadata_file and file.core_metadata_sha256:
        url = file.url + CORE_METADATA_SUFFIX
        expected = {"sha256": file.core_metadata_sha256}
        media_type = MIME_CORE_METADATA
    else:
        url = file.url
        algorithm = next((name for name in VERIFIED_HASHES if name in file.hashes), None)
        expected = {algorithm: file.hashes[algorithm]} if algorithm else {}
        media_type = DIST_MEDIA_TYPES[parse_distribution_filename(file.filename).archive_format]
    return proxy_file(
        request,
        repository=repository,
        path=path,
        url=url,
        expected=expected or None,
        media_type=media_type,
        package=project,
        on_stored=lambda asset: _attach(
            asset, file=file, project=project, metadata_file=metadata_file
        ),
    )
