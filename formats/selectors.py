"""Reads from the shared version model."""

from functools import cache

from django.db.models import QuerySet

from formats.errors import AssetUnknown, PackageUnknown, VersionUnknown
from formats.models import Asset, Document, Package, Repository, TagEvent, Version
from registry_project.db import quoted, row_get, rows_list, select_columns
from storage.models import Blob


def package_get(*, repository: Repository, normalized_name: str) -> Package:
    """Return a package by its normalized name; raise PackageUnknown otherwise."""
    package = Package.objects.filter(repository=repository, normalized_name=normalized_name).first()
    if package is None:
        raise PackageUnknown(f"package {normalized_name!r} not found")
    return package


def version_get(*, package: Package, version: str) -> Version:
    """Return one version of a package; raise VersionUnknown otherwise."""
    found = Version.objects.filter(package=package, version=version).first()
    if found is None:
        raise VersionUnknown(f"{package.name} {version} not found")
    return found


@cache
def _members_statement() -> str:
    link = Repository.members.through
    member, group = quoted(link, "to_repository"), quoted(link, "from_repository")
    return (
        f"SELECT {select_columns(Repository, prefix='r.')} FROM {quoted(Repository)} r"
        f" JOIN {quoted(link)} l ON l.{member} = r.{quoted(Repository, 'id')}"
        f" WHERE l.{group} = %s ORDER BY l.{quoted(link, 'id')}"
    )


def repository_members(*, group: Repository) -> list[Repository]:
    """Return the direct members of ``group`` in lookup order: the order they were linked."""
    return rows_list(Repository, _members_statement(), [group.pk])


def asset_find(*, repository: Repository, path: str) -> Asset | None:
    """Return the file at ``path`` with its blob, or None (a hot read: fixed statements)."""
    asset = row_get(Asset, repository=repository.pk, path=path)
    blob = row_get(Blob, sha256=asset.blob_id) if asset is not None else None
    if asset is not None and blob is not None:  # the foreign key keeps the blob while the row is
        asset.blob = blob
    return asset


def asset_get(*, repository: Repository, path: str) -> Asset:
    """Return the file at ``path`` with its blob; raise AssetUnknown otherwise."""
    asset = asset_find(repository=repository, path=path)
    if asset is None:
        raise AssetUnknown(f"{path} not found")
    return asset


def tag_history(*, package: Package) -> QuerySet[TagEvent]:
    """Return every recorded tag move of a package, newest first."""
    return package.tag_events.select_related("actor")


def document_get(*, repository: Repository, key: str) -> Document | None:
    """Return a generated document, or None if it was never built (a hot read: one statement)."""
    return row_get(Document, repository=repository.pk, key=key)
