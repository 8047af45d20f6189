from dataclasses import asdict
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from formats.base import FormatConfig, Imported, SearchTerms, Snippet, VersionDetails
from formats.oci.protocol.renderers import bearer_challenge, error_response
from registry_project.errors import RegistryError

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from django.db.models import QuerySet

    from formats.models import Asset, Package, Repository, Version

TITLE_KEYS = ("title", "description")


class OciConfig(FormatConfig):
    """Container images and OCI artifacts (distribution-spec v1.1) under ``/v2/``."""

    name = "formats.oci"
    label = "oci"
    verbose_name = "OCI images"
    format_name = "oci"
    protocol_urls = "formats.oci.protocol.urls"
    root_urls = "formats.oci.protocol.root_urls"
    kinds = ("hosted", "proxy", "group")

    def ready(self) -> None:
        # The verifier needs the models, which exist only once the app registry is ready.
        from formats.oci.auth import oci_token_verify
        from formats.plugin import register_bearer

        register_bearer(oci_token_verify)

    def import_units(self, root: Path) -> list[Path]:
        """Image layouts: ``root`` itself when it is one, else the layout folders under it."""
        from formats.oci.layouts import LAYOUT_FILE, is_oci_layout

        if is_oci_layout(root):
            return [root]
        return sorted(marker.parent for marker in root.rglob(LAYOUT_FILE))

    def import_unit(
        self, repository: "Repository", *, root: Path, unit: Path, user: "User"
    ) -> Imported:
        """An image layout becomes the image named like its folder, tagged by ``ref.name``."""
        from formats.oci.layouts import oci_layout_import

        pushed = oci_layout_import(repository=repository, layout=unit, name=unit.name, user=user)
        return Imported(label=", ".join(pushed), assets=[])

    def render_error(self, request: HttpRequest, error: RegistryError) -> HttpResponse:
        """Render ``error`` in the spec's ``{"errors": [...]}`` envelope."""
        return error_response(request, error)

    def auth_challenge(self, request: HttpRequest) -> str:
        """Send clients to the token endpoint."""
        return bearer_challenge(request)

    def upstream_probe_url(self, repository: "Repository") -> str:
        """The upstream's API root: a registry answers it (200, or 401 asking for a token)."""
        return f"{repository.upstream_url.rstrip('/')}/v2/"

    def collect_garbage(self, *, grace: timedelta | None, dry_run: bool) -> dict[str, int]:
        """Unlink blobs (and untagged manifests, if enabled) that no image needs."""
        from formats.oci.services import oci_gc  # models load after apps

        result = oci_gc(
            grace=grace, delete_untagged=settings.OCI_GC_DELETE_UNTAGGED, dry_run=dry_run
        )
        return asdict(result)

    def blob_references(self) -> "tuple[QuerySet, str]":
        """The blobs linked to images (layers, configs) count as their repository's files."""
        from formats.oci.models import OciBlobLink  # models load after apps

        return OciBlobLink.objects.all(), "package__repository"

    def cleanup_needs(self, package: "Package", kept: set[int]) -> set[int]:
        """What kept manifests need: an index's children, subjects and their referrers."""
        from formats.oci.services import oci_manifests_needed  # models load after apps

        return oci_manifests_needed(package=package, kept=kept)

    def version_details(self, version: "Version") -> VersionDetails:
        """The manifest's platforms, layers, config and referrers."""
        from formats.oci.pages import oci_version_tables  # models load after apps

        return VersionDetails(tables=oci_version_tables(version))

    def search_terms(self, version: "Version") -> SearchTerms:
        """The manifest's ``org.opencontainers.image.title`` and ``.description`` annotations.

        Image labels live in the config blob, which search never reads.
        """
        from formats.oci.models import OciManifest  # models load after apps

        annotations = (
            OciManifest.objects.filter(version_id=version.pk)
            .values_list("annotations", flat=True)
            .first()
        ) or {}
        parts = (annotations.get(f"org.opencontainers.image.{key}") for key in TITLE_KEYS)
        return SearchTerms(summary=" - ".join(part for part in parts if part))

    def setup_snippets(
        self, repository: "Repository", *, base_url: str, username: str
    ) -> list[Snippet]:
        """``docker login`` to this host and the names images of this repository take."""
        host = base_url.split("://", 1)[1]
        user = f" -u {username}" if username else ""
        image = f"{host}/{repository.name}/IMAGE:TAG"
        return [
            Snippet("docker login", f"docker login{user} {host}"),
            Snippet("push and pull", f"docker push {image}\ndocker pull {image}"),
        ]

    def asset_url(self, asset: "Asset", repository: "Repository") -> str:
        """A manifest's bytes are served under ``/v2/`` by its digest."""
        image, _, digest = asset.path.rpartition("/manifests/")
        return f"/v2/{repository.name}/{image}/manifests/{digest}"

    def install_snippets(
        self, version: "Version", assets: "list[Asset]", *, base_url: str
    ) -> list[Snippet]:
        """``docker pull image@digest``: a digest names these exact bytes."""
        host = base_url.split("://", 1)[1]
        image = f"{host}/{version.package.repository.name}/{version.package.name}"
        return [Snippet("docker pull", f"docker pull {image}@{version.version}")]
