from pathlib import Path
from typing import TYPE_CHECKING

from django.http import HttpRequest, HttpResponse
from packaging.version import InvalidVersion
from packaging.version import Version as PackagingVersion

from formats.base import FormatConfig, Imported, VersionDetails, plain_text_error
from registry_project.errors import RegistryError

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

    from formats.models import Asset, Package, Repository, Version


class PypiConfig(FormatConfig):
    name = "formats.pypi"
    label = "pypi"
    format_name = "pypi"
    protocol_urls = "formats.pypi.protocol.urls"
    kinds = ("hosted", "proxy", "group")

    def render_error(self, request: HttpRequest, error: RegistryError) -> HttpResponse:
        """Answer as warehouse does: twine prints the reason phrase as the error."""
        return plain_text_error(request, error)

    def asset_delete(self, asset: "Asset", user: "User | AnonymousUser") -> None:
        """Delete a distribution file (with its .metadata); an emptied release goes too."""
        from formats.pypi.services import pypi_file_delete  # models load after apps

        pypi_file_delete(repository=asset.repository, path=asset.path, user=user)

    def import_unit(
        self, repository: "Repository", *, root: Path, unit: Path, user: "User"
    ) -> Imported:
        """A wheel or sdist (a pypiserver or devpi folder), checked as twine uploads are."""
        from formats.pypi.names import parse_distribution_filename
        from formats.pypi.services import pypi_distribution_store

        dist = parse_distribution_filename(unit.name)
        asset = pypi_distribution_store(
            repository=repository, dist=dist, local=unit, expected=None, user=user
        )
        return Imported(label=dist.filename, assets=[asset], version=asset.version)

    def on_package_changed(self, package: "Package") -> None:
        """Rebuild the simple pages after the management API yanked or deleted releases."""
        from formats.pypi.services import pypi_project_changed  # models load after apps

        pypi_project_changed(package=package)

    def version_details(self, version: "Version") -> VersionDetails:
        """The summary, description and requirements from the release's core metadata."""
        metadata = version.metadata
        content_type = metadata.get("description_content_type") or ""
        return VersionDetails(
            summary=metadata.get("summary") or "",
            readme=metadata.get("description") or "",
            readme_format="markdown" if content_type.startswith("text/markdown") else "text",
            license=metadata.get("license_expression") or metadata.get("license") or "",
            dependencies=list(metadata.get("requires_dist") or []),
            usage=f"pip install {version.package.name}=={version.version}",
        )

    def is_prerelease(self, version: str) -> bool:
        """PEP 440: alpha, beta, release candidates and development releases."""
        try:
            return PackagingVersion(version).is_prerelease
        except InvalidVersion:
            return False
