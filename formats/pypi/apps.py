from pathlib import Path
from typing import TYPE_CHECKING

from django.http import HttpRequest, HttpResponse
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion
from packaging.version import Version as PackagingVersion

from formats.base import (
    Dependency,
    FormatConfig,
    Imported,
    SearchTerms,
    Snippet,
    VersionDetails,
    plain_text_error,
)
from formats.pypi.names import DIST_MEDIA_TYPES
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
    mirrored = True  # the distribution files (core metadata files are served as text)
    mirror_types = {
        archive.rpartition(".")[2]: media_type for archive, media_type in DIST_MEDIA_TYPES.items()
    }

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
        from formats.pypi.services import pypi_distribution_import

        asset = pypi_distribution_import(repository=repository, file=unit, user=user)
        return Imported(label=unit.name, assets=[asset], version=asset.version)

    def on_package_changed(self, package: "Package") -> None:
        """Rebuild the simple pages after the management API yanked or deleted releases."""
        from formats.pypi.services import pypi_project_changed  # models load after apps

        pypi_project_changed(package=package)

    def version_details(self, version: "Version") -> VersionDetails:
        """The summary, description and requirements from the release's core metadata."""
        metadata = version.metadata
        content_type = metadata.get("description_content_type") or ""
        return VersionDetails(
            summary=self.search_terms(version).summary,
            readme=metadata.get("description") or "",
            readme_format=_readme_format(content_type),
            license=metadata.get("license_expression") or metadata.get("license") or "",
            dependencies=[_dependency(line) for line in metadata.get("requires_dist") or []],
        )

    def search_terms(self, version: "Version") -> SearchTerms:
        """The core metadata's ``Summary`` and ``Keywords``."""
        keywords = version.metadata.get("keywords") or ()
        return SearchTerms(
            summary=version.metadata.get("summary") or "",
            keywords=tuple(keyword for keyword in keywords if isinstance(keyword, str)),
        )

    def setup_snippets(
        self, repository: "Repository", *, base_url: str, username: str
    ) -> list[Snippet]:
        """pip.conf, uv's index table and (for uploads) .pypirc for this repository."""
        index = f"{base_url}/repository/{repository.name}/simple/"
        user = username or "USER"
        snippets = [
            Snippet("pip.conf", f"[global]\nindex-url = {index}"),
            Snippet(
                "pyproject.toml (uv)",
                f'[[tool.uv.index]]\nname = "{repository.name}"\nurl = "{index}"\ndefault = true',
            ),
        ]
        if repository.kind != "proxy":
            upload = f"{base_url}/repository/{repository.name}/"
            snippets.append(
                Snippet(
                    ".pypirc (twine upload -r " + repository.name + ")",
                    f"[distutils]\nindex-servers = {repository.name}\n\n[{repository.name}]\n"
                    f"repository = {upload}\nusername = {user}\npassword = $REGISTRY_TOKEN",
                )
            )
        return snippets

    def install_snippets(
        self, version: "Version", assets: "list[Asset]", *, base_url: str
    ) -> list[Snippet]:
        """``pip install name==v`` and a requirements line pinned by every file's sha256."""
        name, index = version.package.name, f"{base_url}/repository/"
        index += f"{version.package.repository.name}/simple/"
        hashes = "".join(
            f" \\\n    --hash=sha256:{asset.blob_id}"
            for asset in assets
            if not asset.path.endswith(".metadata")
        )
        return [
            Snippet("pip", f"pip install --index-url {index} {name}=={version.version}"),
            Snippet(
                "requirements.txt (pip install --require-hashes -r requirements.txt)",
                f"{name}=={version.version}{hashes}",
            ),
        ]

    def is_prerelease(self, version: str) -> bool:
        """PEP 440: alpha, beta, release candidates and development releases."""
        try:
            return PackagingVersion(version).is_prerelease
        except InvalidVersion:
            return False


def _readme_format(content_type: str) -> str:
    """The README markup a core metadata ``Description-Content-Type`` names."""
    if content_type.startswith("text/markdown"):
        return "markdown"
    return "rst" if content_type.startswith("text/x-rst") else "text"


def _dependency(line: str) -> Dependency:
    """A ``Requires-Dist`` line, linked by its PEP 503 name when it parses."""
    try:
        return Dependency(line, canonicalize_name(Requirement(line).name))
    except InvalidRequirement:
        return Dependency(line)
