"""The plugin contract: a format is a Django app whose AppConfig subclasses FormatConfig."""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, ClassVar

from django.apps import AppConfig, apps
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse, JsonResponse

from registry_project.errors import RegistryError

MAX_REASON_LENGTH = 300
BASIC_CHALLENGE = 'Basic realm="registry"'

if TYPE_CHECKING:
    from datetime import timedelta
    from pathlib import Path

    from django.contrib.auth.models import AnonymousUser, User
    from django.db.models import QuerySet

    from formats.mirror import MirrorEntry
    from formats.models import Asset, Package, Repository, Version


class FileDeleteUnsupported(RegistryError):
    """this format does not delete single files"""

    code = "UNSUPPORTED"
    http_status = 405


class ImportUnsupported(RegistryError):
    """this format cannot import files"""

    code = "UNSUPPORTED"
    http_status = 400


@dataclass(frozen=True)
class Imported:
    """What ``FormatConfig.import_unit`` made of one unit: a label, its files and version."""

    label: str
    assets: "list[Asset]"
    version: "Version | None" = None


@dataclass(frozen=True)
class Snippet:
    """A text a person copies into a client: a configuration file or a command."""

    title: str
    text: str


@dataclass(frozen=True)
class Dependency:
    """A dependency as the format writes it; ``name`` (a Package.normalized_name) links it."""

    label: str
    name: str = ""


@dataclass(frozen=True)
class DetailTable:
    """A table of format facts for the version page (OCI: platforms, layers, referrers)."""

    title: str
    columns: tuple[str, ...]
    rows: Sequence[Sequence[str]]


@dataclass(frozen=True)
class VersionDetails:
    """What the web UI shows about a version, in the format's own terms.

    ``readme`` is untrusted text from the uploader; the UI renders and sanitizes it.
    """

    summary: str = ""
    readme: str = ""
    readme_format: str = "text"  # "markdown", "rst" or "text"
    license: str = ""
    dependencies: list[Dependency] = field(default_factory=list)
    tables: list[DetailTable] = field(default_factory=list)


@dataclass(frozen=True)
class SearchTerms:
    """What search matches of a version besides its package's name: summary and keywords."""

    summary: str = ""
    keywords: tuple[str, ...] = ()


class FormatConfig(AppConfig):
    """Base class for a package-format app; subclass it in ``formats/<name>/apps.py``.

    Attributes:
        format_name: the value of ``Repository.format`` this app serves.
        protocol_urls: URLconf resolved against the path below ``/repository/<repo>/``;
            its views receive the Repository as the ``repository`` keyword argument.
        root_urls: optional URLconf mounted at the site root (OCI needs ``/v2/``).
        kinds: the repository kinds (hosted, proxy, group) the format serves.
    """

    format_name: str
    protocol_urls: str
    root_urls: str = ""
    # The repository kinds this format serves; creating another kind is refused.
    kinds: tuple[str, ...] = ("hosted",)
    # Whether hosted and group repositories of this format have a tree in the mirror nginx
    # serves (formats.mirror, MIRROR_DIR), and the Content-Types nginx gives its files by
    # their last extension (the mirror location's ``types`` in deploy/nginx.conf).
    mirrored: bool = False
    mirror_types: ClassVar[dict[str, str]] = {}

    def __init__(self, app_name: str, app_module: ModuleType | None) -> None:
        super().__init__(app_name, app_module)
        missing = [attr for attr in ("format_name", "protocol_urls") if not hasattr(self, attr)]
        if missing:
            raise ImproperlyConfigured(f"{app_name} must define {', '.join(missing)}")

    def render_error(self, request: HttpRequest, error: RegistryError) -> HttpResponse:
        """Render ``error`` in the envelope this format's clients understand."""
        response = JsonResponse({"error": error.message}, status=error.http_status)
        for name, value in error.headers.items():
            response[name] = value
        return response

    def auth_challenge(self, request: HttpRequest) -> str:
        """Return the WWW-Authenticate value sent with a 401 from this format."""
        return BASIC_CHALLENGE

    def version_details(self, version: "Version") -> VersionDetails:
        """Describe ``version`` for the web UI; formats override this."""
        return VersionDetails()

    def search_terms(self, version: "Version") -> SearchTerms:
        """Return the summary and keywords search finds ``version``'s package by.

        Called when the package's latest version changes; it must read only ``version``'s
        row (and the format's own rows of it), never a blob. Formats override this.
        """
        return SearchTerms()

    def setup_snippets(
        self, repository: "Repository", *, base_url: str, username: str
    ) -> list[Snippet]:
        """Return the client configuration that uses ``repository`` (its "Set up" panel).

        ``base_url`` is the site's scheme and host (no trailing slash); ``username`` is the
        signed-in user's, empty for a visitor. Secrets never appear: snippets name a token.
        """
        url = f"{base_url}/repository/{repository.name}/"
        user = f" -u {username}:$REGISTRY_TOKEN" if username else ""
        return [Snippet("curl", f"curl -fO{user} {url}PATH")]

    def asset_url(self, asset: "Asset", repository: "Repository") -> str:
        """Return the path (from the site root) where clients download ``asset``."""
        return f"/repository/{repository.name}/{asset.path}"

    def install_snippets(
        self, version: "Version", assets: "list[Asset]", *, base_url: str
    ) -> list[Snippet]:
        """Return commands that fetch exactly ``version`` (pinned by content where possible).

        ``assets`` are the version's files with their blobs loaded.
        """
        repository = version.package.repository
        return [
            Snippet(
                asset.path,
                f"curl -fO {base_url}{self.asset_url(asset, repository)}\n"
                f"echo '{asset.blob_id}  {asset.path.rsplit('/', 1)[-1]}' | sha256sum -c",
            )
            for asset in assets
        ]

    def asset_delete(self, asset: "Asset", user: "User | AnonymousUser") -> None:
        """Delete one file through the management API, keeping the format's documents true.

        Formats whose files can go one by one override this; by default only whole versions
        or packages may be deleted.
        """
        raise FileDeleteUnsupported(
            f"{self.format_name} files cannot be deleted one by one; delete the version"
        )

    def on_package_changed(self, package: "Package") -> None:
        """Called after the management API yanked, changed or deleted versions of ``package``.

        Formats that cache generated documents (simple pages, packuments) rebuild them here.
        After the package itself was deleted, ``package.pk`` is None.
        """

    def upstream_probe_url(self, repository: "Repository") -> str:
        """Return the URL whose answer tells whether a proxy's upstream is reachable."""
        return repository.upstream_url

    def import_units(self, root: "Path") -> "list[Path]":
        """Return what ``manage.py import`` loads from ``root``, one entry per unit to load.

        By default every file under ``root`` (or ``root`` itself when it is a file), in name
        order; a format whose unit is a folder (an OCI image layout) overrides this.
        """
        if root.is_file():
            return [root]
        return sorted(path for path in root.rglob("*") if path.is_file())

    def import_unit(
        self, repository: "Repository", *, root: "Path", unit: "Path", user: "User"
    ) -> Imported:
        """Load ``unit`` (found under ``root``) into hosted ``repository`` as an upload would.

        Formats implement it with the services their upload views use, so imported content
        is checked and stored exactly like uploaded content.

        Raises:
            RegistryError: the unit is refused (its message says why); nothing was stored.
        """
        raise ImportUnsupported(f"{self.format_name} repositories cannot import files")

    def collect_garbage(self, *, grace: "timedelta | None", dry_run: bool) -> dict[str, int]:
        """Remove what this format's rows keep alive but no client can reach any more.

        Run by ``manage.py gc`` before the blob store frees the bytes nothing refers to.
        Formats with references of their own (OCI blob links, untagged manifests) override it.

        Args:
            grace: how recent a write is always kept; the format's default when None.
            dry_run: count what would go and remove nothing.

        Returns:
            How many rows of each kind were (or would be) removed.
        """
        return {}

    def blob_references(self) -> "tuple[QuerySet, str] | None":
        """Return rows besides Assets that keep blobs in repositories, and their repository.

        Rows have a ``blob`` foreign key; the string is the lookup from a row to its
        Repository (``package__repository``). Storage accounting and quotas count them with
        the assets. Formats with references of their own (OCI's layer links) override it.
        """
        return None

    def mirror_entries(
        self, *, repository: "Repository", sources: "list[Repository]", prefix: str
    ) -> "dict[str, MirrorEntry]":
        """Return what the mirror of ``repository`` must hold under ``prefix``, by path.

        ``sources`` are its read order (itself, or a group's members). By default the stored
        files a reader of every source gets (the first source's file), as links to their
        blobs; formats that serve generated documents at their own paths add them.
        """
        from formats.mirror import mirror_asset_entry, mirror_first_assets  # models load later

        wanted: dict[str, MirrorEntry] = {}
        for path, asset in mirror_first_assets(sources=sources, prefix=prefix).items():
            wanted.update(mirror_asset_entry(path, asset))
        return wanted

    def is_prerelease(self, version: str) -> bool:
        """Whether ``version`` is a prerelease by this format's rules (``--prerelease-only``)."""
        return False

    def cleanup_needs(self, package: "Package", kept: set[int]) -> set[int]:
        """Return the ids of versions of ``package`` that the versions ``kept`` need.

        Cleanup keeps them too. Formats whose versions refer to each other (OCI: an index's
        children, a referrer's subject) override this; the result includes ``kept``.
        """
        return kept

    def stale_builds(self, version: "Version", keep: int) -> list["Asset"]:
        """Return the files of ``version`` beyond its ``keep`` newest builds.

        ``--snapshot-builds``: only formats with several builds per version (Maven SNAPSHOTs).
        """
        return []

    def builds_delete(self, version: "Version", assets: list["Asset"], user: "User | None") -> None:
        """Delete ``assets`` (from ``stale_builds``) of ``version``, keeping documents true.

        Called inside the transaction that holds the package's lock.
        """
        raise FileDeleteUnsupported(f"{self.format_name} versions have no separate builds")


def plain_text_error(request: HttpRequest, error: RegistryError) -> HttpResponse:
    """Render ``error`` as text with the message also in the reason phrase.

    twine and mvn print only the status line of a failed upload, so the reason phrase carries
    the why (as warehouse and Nexus do it). A reason phrase is one line of latin-1 (RFC 9112).
    """
    body = b"" if request.method == "HEAD" else f"{error.message}\n".encode()
    response = HttpResponse(
        body, status=error.http_status, content_type="text/plain; charset=utf-8"
    )
    response.reason_phrase = _reason_phrase(error.message)
    for name, value in error.headers.items():
        response[name] = value
    return response


def repository_error(request: HttpRequest, error: RegistryError) -> HttpResponse:
    """Render ``error`` for a ``/repository/`` URL whose format is not known (or not told).

    ``{"error": ...}`` is what npm prints; pip and mvn print the reason phrase.
    """
    response = JsonResponse({"error": error.message}, status=error.http_status)
    response.reason_phrase = _reason_phrase(error.message)
    for name, value in error.headers.items():
        response[name] = value
    return response


def _reason_phrase(message: str) -> str:
    reason = " ".join(message.split()).encode("latin-1", "replace").decode("latin-1")
    return reason[:MAX_REASON_LENGTH]


def format_configs() -> Iterator[FormatConfig]:
    """Yield the installed format apps."""
    return (config for config in apps.get_app_configs() if isinstance(config, FormatConfig))


def format_config(format_name: str) -> FormatConfig | None:
    """Return the installed app serving ``format_name``, or None."""
    return next((c for c in format_configs() if c.format_name == format_name), None)
