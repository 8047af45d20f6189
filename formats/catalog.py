"""Reads for browsing the registry: repository summaries, package search, digest lookup, folders.

The web UI reads through these; every function takes the repositories the caller may read
(``readable_repositories``), so nothing private is counted, listed or found. Each read is a
fixed number of statements whatever the number of packages, versions or files.
"""

import base64
import binascii
import re
from dataclasses import dataclass

from django.db.models import Count, OuterRef, QuerySet, Subquery, Sum

from formats.base import format_configs
from formats.models import Asset, Package, Repository, Version
from formats.quotas import repositories_logical_bytes
from storage.models import Blob

_HEX64 = re.compile(r"^(?:sha256:)?([0-9a-f]{64})$")
_HEX128 = re.compile(r"^sha512:([0-9a-f]{128})$")
_INTEGRITY = re.compile(r"^sha512-([A-Za-z0-9+/]{86}==)$")


@dataclass(frozen=True)
class RepositorySummary:
    """A repository with its package count and logical size (every file at its size)."""

    repository: Repository
    packages: int
    size: int


@dataclass(frozen=True)
class DigestHit:
    """A place that holds given content: a file of a version, or a package's own reference."""

    repository: Repository
    package: Package | None
    version: Version | None
    path: str


@dataclass(frozen=True)
class FolderEntry:
    """A child of a folder: a sub-folder (``size`` None) or a file."""

    name: str
    path: str
    size: int | None


def repository_summaries(*, repositories: QuerySet[Repository]) -> list[RepositorySummary]:
    """Return ``repositories`` by name with their package counts and sizes."""
    counted = repositories.annotate(package_count=Count("packages")).order_by("name")
    sizes = repositories_logical_bytes(repositories=repositories)
    return [
        RepositorySummary(repository, repository.package_count, sizes.get(repository.pk, 0))
        for repository in counted
    ]


def package_find(*, repository: Repository, name: str) -> Package | None:
    """Return the package named ``name`` as the format spells it (or normalizes it), or None."""
    packages = Package.objects.filter(repository=repository)
    return packages.filter(name=name).first() or packages.filter(normalized_name=name).first()


def package_search(
    *,
    repositories: QuerySet[Repository],
    text: str,
    format_name: str = "",
    repository: str = "",
    offset: int = 0,
    limit: int = 50,
) -> list[Package]:
    """Return ``limit`` packages from ``offset`` of those in ``repositories`` matching ``text``.

    Every word must match the name, the latest version's summary or a keyword (the stored,
    lowercase ``Package.search_text``; a trigram index serves it on PostgreSQL). The package
    named exactly ``text`` comes first, then names starting with it, then the others, each by
    name. Each rank is read on its own, in name order and only as far as the page reaches, so
    a word every package has reads one page of an index, not every match to sort them.
    """
    packages = Package.objects.filter(repository__in=repositories)
    if format_name:
        packages = packages.filter(repository__format=format_name)
    if repository:
        packages = packages.filter(repository__name=repository)
    wanted = text.lower().strip()
    for word in wanted.split():
        packages = packages.filter(search_text__contains=word)
    if wanted:
        ranks = [
            packages.filter(normalized_name=wanted),
            packages.filter(normalized_name__startswith=wanted).exclude(normalized_name=wanted),
            packages.exclude(normalized_name__startswith=wanted),
        ]
    else:
        ranks = [packages]
    reach = offset + limit
    ids = [
        pk
        for rank in ranks
        for pk in rank.order_by("normalized_name", "pk").values_list("pk", flat=True)[:reach]
    ][offset:reach]
    found = Package.objects.filter(pk__in=ids).select_related("repository")
    by_id = {package.pk: package for package in found.defer("metadata", "search_text")}
    return [by_id[pk] for pk in ids]


def digest_parse(text: str) -> tuple[str, str] | None:
    """Return (``sha256`` or ``sha512``, hex) when ``text`` names content, else None.

    ``sha256:<hex>``, a bare 64-hex sha256, ``sha512:<hex>`` and an npm integrity string
    (``sha512-<base64>``) are digests.
    """
    text = text.strip()
    if match := _HEX64.match(text.lower()):
        return "sha256", match.group(1)
    if match := _HEX128.match(text.lower()):
        return "sha512", match.group(1)
    if match := _INTEGRITY.match(text):
        try:
            return "sha512", base64.b64decode(match.group(1), validate=True).hex()
        except binascii.Error:
            return None
    return None


def digest_search(
    *, repositories: QuerySet[Repository], algorithm: str, hex_digest: str, limit: int = 200
) -> list[DigestHit]:
    """Return up to ``limit`` places in ``repositories`` holding the content with this digest.

    Files (assets) first, then what formats keep otherwise (``FormatConfig.blob_references``:
    the images an OCI layer is linked to). One statement per kind of row.
    """
    blobs = Blob.objects.filter(**{algorithm: hex_digest}).values("sha256")
    assets = (
        Asset.objects.filter(blob__in=blobs, repository__in=repositories)
        .select_related("repository", "version__package")
        .order_by("repository__name", "path")[:limit]
    )
    hits = [
        DigestHit(
            asset.repository,
            asset.version.package if asset.version else None,
            asset.version,
            asset.path,
        )
        for asset in assets
    ]
    for config in format_configs():
        references = config.blob_references()
        if references is None:
            continue
        rows, lookup = references
        package_lookup = lookup.removesuffix("__repository")
        held = rows.filter(blob__in=blobs, **{f"{lookup}__in": repositories})
        for package in Package.objects.filter(pk__in=held.values(package_lookup)).select_related(
            "repository"
        )[:limit]:
            hits.append(DigestHit(package.repository, package, None, ""))
    return hits[:limit]


def folder_list(*, repository: Repository, path: str, limit: int = 5000) -> list[FolderEntry]:
    """Return the folders and files directly under ``path`` (``a/b/`` or empty for the root).

    Reads at most ``limit`` file paths below it (a folder browser, not an export).
    """
    prefix = path.strip("/") + "/" if path.strip("/") else ""
    below = (
        Asset.objects.filter(repository=repository, path__startswith=prefix)
        .order_by("path")
        .values_list("path", "blob__size")[:limit]
    )
    folders: dict[str, FolderEntry] = {}
    files: list[FolderEntry] = []
    for full, size in below:
        rest = full[len(prefix) :]
        head, slash, _ = rest.partition("/")
        if slash:
            folders.setdefault(head, FolderEntry(head, f"{prefix}{head}/", None))
        else:
            files.append(FolderEntry(rest, full, size))
    return [*sorted(folders.values(), key=lambda entry: entry.name), *files]


def version_sizes(*, package: Package) -> QuerySet[Version]:
    """Return a package's versions, newest first, each with its files' total ``size``.

    The size is a subquery of each row, so a page of versions sums only its own files (not a
    join and grouping over every version of the package).
    """
    sizes = (
        Asset.objects.filter(version=OuterRef("pk"))
        .order_by()
        .values("version")
        .annotate(total=Sum("blob__size"))
        .values("total")
    )
    return (
        package.versions.select_related("published_by")
        .annotate(size=Subquery(sizes))
        .order_by("-published_at", "-pk")
    )
