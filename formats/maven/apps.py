from pathlib import Path
from typing import TYPE_CHECKING

from django.http import HttpRequest, HttpResponse

from formats.base import (
    Dependency,
    FormatConfig,
    Imported,
    SearchTerms,
    Snippet,
    VersionDetails,
    plain_text_error,
)
from formats.maven.media import MIRROR_TYPES
from formats.maven.versions import is_prerelease
from registry_project.errors import RegistryError

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from formats.mirror import MirrorEntry
    from formats.models import Asset, Package, Repository, Version


class MavenConfig(FormatConfig):
    """Maven 2 repositories (release, snapshot, mixed), proxies of others and groups, as Nexus."""

    name = "formats.maven"
    label = "maven"
    verbose_name = "Maven"
    format_name = "maven"
    kinds = ("hosted", "proxy", "group")
    protocol_urls = "formats.maven.protocol.urls"
    mirrored = True
    mirror_types = MIRROR_TYPES

    def render_error(self, request: HttpRequest, error: RegistryError) -> HttpResponse:
        """mvn prints only "status code: 400, reason phrase: ...": the reason says why."""
        return plain_text_error(request, error)

    def version_details(self, version: "Version") -> VersionDetails:
        """What the POM says: name, description, licenses and dependencies."""
        pom = version.metadata
        dependencies = [
            Dependency(
                f"{d['group_id']}:{d['artifact_id']}:{d['version']}"
                + ("" if d["scope"] == "compile" else f" ({d['scope']})"),
                f"{d['group_id']}:{d['artifact_id']}",
            )
            for d in pom.get("dependencies", [])
        ]
        return VersionDetails(
            summary=self.search_terms(version).summary,
            license=", ".join(lic["name"] for lic in pom.get("licenses", []) if lic["name"]),
            dependencies=dependencies,
        )

    def search_terms(self, version: "Version") -> SearchTerms:
        """The POM's ``name`` and ``description``."""
        pom = version.metadata
        return SearchTerms(
            summary=" - ".join(part for part in (pom.get("name"), pom.get("description")) if part)
        )

    def setup_snippets(
        self, repository: "Repository", *, base_url: str, username: str
    ) -> list[Snippet]:
        """settings.xml credentials, the POM's <repository> and, for deploys, its target."""
        url = f"{base_url}/repository/{repository.name}/"
        server = (
            f"<settings>\n  <servers>\n    <server>\n      <id>{repository.name}</id>\n"
            f"      <username>{username or 'USER'}</username>\n"
            "      <password>${env.REGISTRY_TOKEN}</password>\n    </server>\n"
            "  </servers>\n</settings>"
        )
        block = f"<id>{repository.name}</id>\n    <url>{url}</url>"
        snippets = [
            Snippet("~/.m2/settings.xml", server),
            Snippet(
                "pom.xml",
                f"<repositories>\n  <repository>\n    {block}\n  </repository>\n</repositories>",
            ),
        ]
        if repository.kind != "proxy":
            snippets.append(
                Snippet(
                    "pom.xml (mvn deploy)",
                    "<distributionManagement>\n  <repository>\n"
                    f"    {block}\n  </repository>\n</distributionManagement>",
                )
            )
        return snippets

    def install_snippets(
        self, version: "Version", assets: "list[Asset]", *, base_url: str
    ) -> list[Snippet]:
        """The POM's <dependency>, and the sha256 of each file to check a download against."""
        group_id, _, artifact_id = version.package.name.partition(":")
        dependency = (
            f"<dependency>\n  <groupId>{group_id}</groupId>\n"
            f"  <artifactId>{artifact_id}</artifactId>\n"
            f"  <version>{version.version}</version>\n</dependency>"
        )
        sums = "\n".join(
            f"{asset.blob_id}  {asset.path.rsplit('/', 1)[-1]}"
            for asset in assets
            if not asset.path.endswith((".md5", ".sha1", ".sha256", ".sha512"))
        )
        return [Snippet("pom.xml", dependency), Snippet("sha256sum -c", sums)]

    def import_units(self, root: Path) -> list[Path]:
        """The artifact files of a repository tree; its checksum files are read with them and
        its ``maven-metadata.xml`` files are generated anew."""
        from formats.maven.paths import parse_path
        from formats.plugin import RegistryError

        def derived(path: Path) -> bool:
            try:
                mpath = parse_path(path=path.relative_to(root).as_posix())
            except RegistryError:
                return False  # refused with its reason when imported
            return mpath.checksum is not None or mpath.is_metadata

        units = super().import_units(root)
        return units if root.is_file() else [path for path in units if not derived(path)]

    def import_unit(
        self, repository: "Repository", *, root: Path, unit: Path, user: "User"
    ) -> Imported:
        """A file at its path in the tree, deployed as ``mvn deploy`` would."""
        from formats.maven.services import maven_file_import

        path = unit.relative_to(root).as_posix()
        asset = maven_file_import(repository=repository, path=path, file=unit, user=user)
        return Imported(label=path, assets=[asset], version=asset.version)

    def on_package_changed(self, package: "Package") -> None:
        """Regenerate maven-metadata.xml after the management API deleted versions."""
        from formats.maven.services import maven_package_changed  # models load after apps

        maven_package_changed(package=package)

    def mirror_entries(
        self, *, repository: "Repository", sources: "list[Repository]", prefix: str
    ) -> "dict[str, MirrorEntry]":
        """Files with their checksums, and ``maven-metadata.xml`` (merged for a group)."""
        from formats.maven.mirror import maven_mirror_entries  # models load after apps

        return maven_mirror_entries(repository=repository, sources=sources, prefix=prefix)

    def is_prerelease(self, version: str) -> bool:
        """SNAPSHOTs, and versions ordered before their release (alpha, beta, milestone, rc)."""
        return is_prerelease(version)

    def stale_builds(self, version: "Version", keep: int) -> list["Asset"]:
        """The files of a SNAPSHOT's timestamped builds older than its ``keep`` newest."""
        from formats.maven.services import maven_stale_builds  # models load after apps

        return maven_stale_builds(version=version, keep=keep)

    def builds_delete(self, version: "Version", assets: list["Asset"], user: "User | None") -> None:
        """Delete the files of old builds and regenerate the SNAPSHOT's metadata."""
        from formats.maven.services import maven_builds_delete  # models load after apps

        maven_builds_delete(version=version, assets=assets)
