import base64
import re
from pathlib import Path
from typing import TYPE_CHECKING

from django.http import HttpRequest

from formats.base import Dependency, FormatConfig, Imported, SearchTerms, Snippet, VersionDetails

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from formats.models import Asset, Package, Repository, Version

CHALLENGE = 'Bearer realm="registry"'
# semver: a prerelease is a hyphen and identifiers after MAJOR.MINOR.PATCH (before any +build).
PRERELEASE = re.compile(r"^v?\d+\.\d+\.\d+-[0-9A-Za-z.-]+(\+.*)?$")


class NpmConfig(FormatConfig):
    """npm registries: what ``npm config set registry http://HOST/repository/<repo>/`` talks to."""

    name = "formats.npm"
    label = "npm"
    verbose_name = "npm"
    format_name = "npm"
    protocol_urls = "formats.npm.protocol.urls"
    kinds = ("hosted", "proxy", "group")
    mirrored = True  # the tarballs, sent as application/octet-stream (nginx's default type)

    def import_units(self, root: Path) -> list[Path]:
        """The ``.tgz`` files under ``root``: a Verdaccio storage folder holds its own
        package.json files next to them, which are not packages."""
        units = super().import_units(root)
        return units if root.is_file() else [path for path in units if path.suffix == ".tgz"]

    def import_unit(
        self, repository: "Repository", *, root: Path, unit: Path, user: "User"
    ) -> Imported:
        """A package tarball (``npm pack``, a Verdaccio storage folder), published as is."""
        from django.conf import settings

        from formats.npm.services import npm_tarball_import
        from formats.plugin import BodyTooLarge

        # A tarball is read whole, as npm publish sends it: under the same limit.
        if unit.stat().st_size > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
            raise BodyTooLarge(f"larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes")
        version = npm_tarball_import(repository=repository, tarball=unit.read_bytes(), user=user)
        label = f"{version.package.name}@{version.version}"
        return Imported(label=label, assets=list(version.assets.all()), version=version)

    def auth_challenge(self, request: HttpRequest) -> str:
        """npm sends its ``_authToken`` as a bearer token; ``otp`` here would mean 2FA to npm."""
        return CHALLENGE

    def upstream_probe_url(self, repository: "Repository") -> str:
        """``npm ping``'s URL: every npm registry answers it (its root may be a web page)."""
        return f"{repository.upstream_url.rstrip('/')}/-/ping"

    def version_details(self, version: "Version") -> VersionDetails:
        """The README and dependencies from the published tarball's package.json.

        Any JSON may be stored in a manifest published before install fields came from the
        tarball (``"dependencies": "x"`` was a 500 here), so each field is checked for its type.
        """
        manifest = version.metadata.get("manifest", {})
        readme_filename = version.metadata.get("readme_filename", "")
        plain = readme_filename.lower().endswith((".txt", "readme"))
        dependencies = manifest.get("dependencies")
        return VersionDetails(
            summary=self.search_terms(version).summary,
            readme=version.metadata.get("readme", ""),
            readme_format="text" if plain else "markdown",
            license=str(manifest.get("license", "")),
            dependencies=[Dependency(f"{n}@{r}", n) for n, r in dependencies.items()]
            if isinstance(dependencies, dict)
            else [],
        )

    def search_terms(self, version: "Version") -> SearchTerms:
        """package.json's ``description`` and ``keywords`` (each checked for its type)."""
        manifest = version.metadata.get("manifest", {})
        description = manifest.get("description")
        keywords = manifest.get("keywords")
        return SearchTerms(
            summary=description if isinstance(description, str) else "",
            keywords=tuple(k for k in keywords if isinstance(k, str))
            if isinstance(keywords, list)
            else (),
        )

    def setup_snippets(
        self, repository: "Repository", *, base_url: str, username: str
    ) -> list[Snippet]:
        """An .npmrc naming this registry and where its token goes."""
        url = f"{base_url}/repository/{repository.name}/"
        bare = url.split(":", 1)[1]  # npm keys credentials by the URL without its scheme
        return [
            Snippet(".npmrc", f"registry={url}\n{bare}:_authToken=${{NPM_TOKEN}}"),
            Snippet("npm login", f"npm login --registry={url}"),
        ]

    def install_snippets(
        self, version: "Version", assets: "list[Asset]", *, base_url: str
    ) -> list[Snippet]:
        """``npm install name@v``, with the tarball's integrity as package-lock.json pins it."""
        command = f"npm install {version.package.name}@{version.version}"
        integrities = [
            "sha512-" + base64.b64encode(bytes.fromhex(asset.blob.sha512)).decode()
            for asset in assets
            if asset.blob.sha512
        ]
        text = "\n".join([command, *(f"# integrity {value}" for value in integrities)])
        return [Snippet("npm", text)]

    def on_package_changed(self, package: "Package") -> None:
        """Rebuild the packuments after the management API deleted versions or the package.

        A proxy's packuments are its upstream's: what it cached of a package is refetched.
        """
        if package.repository.kind != "hosted":
            return
        from formats.npm.services import npm_package_changed  # models load after apps

        npm_package_changed(package=package)

    def is_prerelease(self, version: str) -> bool:
        """semver: ``1.0.0-beta.1`` is a prerelease, ``1.0.0`` and ``1.0.0+build`` are not."""
        return PRERELEASE.match(version) is not None
