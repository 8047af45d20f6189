"""Reads of the PyPI format: the cached simple pages, files and the JSON API.

JSON API shape: https://docs.pypi.org/api/json/
"""

import dataclasses
from typing import Any

from django.utils import timezone
from packaging.version import InvalidVersion
from packaging.version import Version as PackagingVersion

from formats.plugin import (
    Asset,
    Document,
    Package,
    Repository,
    Version,
    asset_get,
    document_get,
)
from formats.pypi.errors import ProjectUnknown
from formats.pypi.metadata import CoreMetadata
from formats.pypi.renderers import (
    MIME_PYPI_SIMPLE_V1_JSON,
    SimpleFile,
    render_project_json,
    render_simple_index_html,
    render_simple_index_json,
)
from formats.pypi.services import MIME_HTML_UTF8, simple_document_key, simple_files

SIMPLE_REPRESENTATIONS = {"html": MIME_HTML_UTF8, "json": MIME_PYPI_SIMPLE_V1_JSON}


def pypi_simple_document(
    *, repository: Repository, project: str | None, representation: str
) -> Document:
    """Return a stored simple page: the root index (``project=None``) or a project's.

    Args:
        repository: The PyPI repository.
        project: The normalized project name, or None for the index.
        representation: ``"html"`` or ``"json"``.

    Raises:
        ProjectUnknown: The project has no page (it has no releases).
    """
    key = simple_document_key(project=project, representation=representation)
    document = document_get(repository=repository, key=key)
    if document is not None:
        return document
    if project is not None:
        raise ProjectUnknown(f"Project {project!r} not found.")
    # A repository nothing was uploaded to yet: an empty index, not an error.
    render = render_simple_index_html if representation == "html" else render_simple_index_json
    content = render(projects=[])
    return Document(
        repository=repository,
        key=key,
        content=content,
        content_type=SIMPLE_REPRESENTATIONS[representation],
        etag="empty-" + representation,
        updated=repository.created or timezone.now(),
    )


def pypi_file_get(*, repository: Repository, path: str) -> Asset:
    """Return a distribution or ``.metadata`` file below ``packages/``; raise AssetUnknown."""
    return asset_get(repository=repository, path=path)


def _release_metadata(version: Version, *, name: str) -> CoreMetadata:
    known = {field.name for field in dataclasses.fields(CoreMetadata)}
    values: dict[str, Any] = {"metadata_version": "2.1", "name": name, "version": version.version}
    values.update(
        (key, tuple(value) if isinstance(value, list) else value)
        for key, value in version.metadata.items()
        if key in known
    )
    return CoreMetadata(**values)


def _sort_key(version: Version) -> tuple[int, PackagingVersion]:
    try:
        return (1, PackagingVersion(version.version))
    except InvalidVersion:
        return (0, PackagingVersion("0"))


def _latest(versions: list[Version]) -> Version:
    """PyPI describes the newest final, unyanked release; failing that, the newest at all."""
    ordered = sorted(versions, key=_sort_key)
    unyanked = [v for v in ordered if not v.yanked]
    finals = [v for v in unyanked if not _sort_key(v)[1].is_prerelease]
    return (finals or unyanked or ordered)[-1]


def pypi_project_json(
    *, repository: Repository, project: str, version: str | None, base_url: str
) -> bytes:
    """Render the JSON API document of a project or of one of its releases.

    Args:
        repository: The PyPI repository.
        project: The normalized project name.
        version: A release, or None for the project document (which lists all releases).
        base_url: Absolute URL of the repository root, ending in ``/``.

    Raises:
        ProjectUnknown: No such project or release.
    """
    package = Package.objects.filter(repository=repository, normalized_name=project).first()
    versions = list(package.versions.all()) if package is not None else []
    if package is None or not versions:
        raise ProjectUnknown(f"Project {project!r} not found.")
    if version is None:
        described = _latest(versions)
    else:
        found = next((v for v in versions if _same(v.version, version)), None)
        if found is None:
            raise ProjectUnknown(f"Release {project} {version} not found.")
        described = found
    files = simple_files(package=package, url_prefix=base_url)
    files_by_version: dict[str, list[SimpleFile]] = {v.version: [] for v in versions}
    for file in files:
        files_by_version[file["version"]].append(file)
    serial = Asset.objects.filter(version__package=package).order_by("-pk").first()
    project_url = f"{base_url}simple/{package.normalized_name}/"
    return render_project_json(
        metadata=_release_metadata(described, name=package.name),
        files_by_version=files_by_version,
        project_url=project_url,
        release_url=f"{project_url}#{described.version}",
        last_serial=serial.pk if serial is not None else 0,
        yanked=(described.yanked_reason or True) if described.yanked else False,
        include_releases=version is None,
    )


def _same(stored: str, requested: str) -> bool:
    if stored == requested:
        return True
    try:
        return PackagingVersion(stored) == PackagingVersion(requested)
    except InvalidVersion:
        return False
