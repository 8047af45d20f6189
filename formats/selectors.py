"""Reads from the shared version model."""

from collections.abc import Sequence
from functools import cache
from typing import Any

from django.db.models import QuerySet

from access.auth import Principal
from access.permissions import READ, permitted
from formats.document_cache import documents
from formats.errors import AssetUnknown, PackageUnknown, VersionUnknown
from formats.models import (
    Asset,
    Document,
    Package,
    Repository,
    RepositoryMember,
    TagEvent,
    Version,
)
from registry_project.db import (
    model_from_row,
    placeholders,
    quoted,
    row_get,
    rows_list,
    select_columns,
    value_get,
    values_list,
)
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
    link = RepositoryMember
    member, group = quoted(link, "member"), quoted(link, "group")
    return (
        f"SELECT {select_columns(Repository, prefix='r.')} FROM {quoted(Repository)} r"
        f" JOIN {quoted(link)} l ON l.{member} = r.{quoted(Repository, 'id')}"
        f" WHERE l.{group} = %s ORDER BY l.{quoted(link, 'position')}, l.{quoted(link, 'id')}"
    )


def repository_members(*, group: Repository) -> list[Repository]:
    """Return the direct members of ``group`` in lookup order (their stored positions)."""
    return rows_list(Repository, _members_statement(), [group.pk])


def repository_find(*, name: str) -> Repository | None:
    """Return the repository named ``name``, or None (a hot read: a fixed statement)."""
    return row_get(Repository, name=name)


def asset_find(*, repository: Repository, path: str) -> Asset | None:
    """Return the file at ``path`` with its blob, or None (a hot read: fixed statements)."""
    asset = row_get(Asset, repository=repository.pk, path=path)
    blob = row_get(Blob, sha256=asset.blob_id) if asset is not None else None
    if asset is not None and blob is not None:  # the foreign key keeps the blob while the row is
        asset.blob = blob
    return asset


@cache
def _first_asset_statement(count: int) -> str:
    blob_column = quoted(Asset, "blob")
    return (
        f"SELECT {select_columns(Asset, prefix='a.')}, {select_columns(Blob, prefix='b.')}"
        f" FROM {quoted(Asset)} a JOIN {quoted(Blob)} b"
        f" ON b.{quoted(Blob, 'sha256')} = a.{blob_column}"
        f" WHERE a.{quoted(Asset, 'path')} = %s"
        f" AND a.{quoted(Asset, 'repository')} IN ({placeholders(count)})"
    )


def asset_find_first(
    *, repositories: Sequence[Repository], path: str
) -> tuple[Repository, Asset] | None:
    """Return the first of ``repositories`` (in their order) that has a file at ``path``, with
    that file and its blob; None if none has it. One statement for any number (a group read)."""
    if not repositories:
        return None
    params = [path, *(repository.pk for repository in repositories)]
    width = len(Asset._meta.concrete_fields)
    found = {}
    for row in values_list(_first_asset_statement(len(repositories)), params):
        asset = model_from_row(Asset, row[:width])
        asset.blob = model_from_row(Blob, row[width:])
        found[asset.repository_id] = asset
    for repository in repositories:
        if repository.pk in found:
            return repository, found[repository.pk]
    return None


def asset_get(*, repository: Repository, path: str) -> Asset:
    """Return the file at ``path`` with its blob; raise AssetUnknown otherwise."""
    asset = asset_find(repository=repository, path=path)
    if asset is None:
        raise AssetUnknown(f"{path} not found")
    return asset


def tag_history(*, package: Package) -> QuerySet[TagEvent]:
    """Return every recorded tag move of a package, newest first."""
    return package.tag_events.select_related("actor")


@cache
def _document_columns(cached: int) -> str:
    # The content column comes back NULL when the row's ETag is one of those cached here.
    columns = select_columns(Document)
    if not cached:
        return columns
    content, etag = quoted(Document, "content"), quoted(Document, "etag")
    return columns.replace(
        content, f"CASE WHEN {etag} IN ({placeholders(cached)}) THEN NULL ELSE {content} END"
    )


@cache
def _documents_statement(count: int, columns: str) -> str:
    return (
        f"SELECT {columns} FROM {quoted(Document)}"
        f" WHERE {quoted(Document, 'key')} = %s"
        f" AND {quoted(Document, 'repository')} IN ({placeholders(count)})"
    )


def document_get(*, repository: Repository, key: str) -> Document | None:
    """Return a generated document, or None if it was never built.

    A hot read: one statement, which carries the content only when it changed since this
    process last read it (``formats.document_cache``).
    """
    return documents_get(repositories=[repository], key=key).get(repository.pk)


def documents_get(*, repositories: Sequence[Repository], key: str) -> dict[int, Document]:
    """Return the generated document ``key`` of each of ``repositories`` that has one, by
    repository id (a group read of its hosted members: one statement for any number).

    Contents cached in this process are not sent again: a row whose ETag (a hash of its
    content) is cached comes back without its content, which the cache supplies.
    """
    if not repositories:
        return {}
    cached = {repository.pk: documents.get((repository.pk, key)) for repository in repositories}
    known = dict(entry for entry in cached.values() if entry is not None)
    statement = _documents_statement(len(repositories), _document_columns(len(known)))
    params = [*known, key, *(repository.pk for repository in repositories)]
    found = {}
    for document in rows_list(Document, statement, params):
        if document.content is None:
            document.content = known[document.etag]
        else:
            document.content = bytes(document.content)
        entry = cached[document.repository_id]
        if entry is None or entry[0] != document.etag:
            documents.put((document.repository_id, key), document.etag, document.content)
        found[document.repository_id] = document
    for pk, entry in cached.items():
        if entry is not None and pk not in found:
            documents.discard((pk, key))
    return found


def document_etags(*, repositories: Sequence[Repository], key: str) -> dict[int, str]:
    """Return the ETag of the generated document ``key`` of each of ``repositories`` that has
    one, by repository id: one short statement, no content (what a cached merge depends on)."""
    if not repositories:
        return {}
    params = [key, *(repository.pk for repository in repositories)]
    columns = f"{quoted(Document, 'repository')}, {quoted(Document, 'etag')}"
    return dict(values_list(_documents_statement(len(repositories), columns), params))


def repository_columns(*, prefix: str = "") -> str:
    """Return the Repository columns that open a plugin's fixed statement (``prefix.`` each).

    A format's hottest read may fetch the repository and its own rows in one statement (OCI's
    manifest lookup: compiling the equivalent ORM queries costs more than the query itself);
    ``repository_from_row`` reads the repository back out of such a row.
    """
    return select_columns(Repository, prefix=prefix)


def repository_from_row(row: Sequence[Any]) -> tuple[Repository, Sequence[Any]]:
    """Split a row that opens with ``repository_columns()`` into its Repository and the rest."""
    count = len(Repository._meta.concrete_fields)
    return model_from_row(Repository, row[:count]), row[count:]


def repository_read_order(*, repository: Repository) -> list[Repository]:
    """Return the repositories a read of ``repository`` looks in, in lookup order.

    A repository that is not a group is its own only member. A group yields its members in the
    order they were linked, a nested group's members in its place, each repository once: a
    group that contains itself (directly or not) ends the walk there instead of looping.
    Members of another format are skipped. The walk is what a reader of every member sees;
    callers drop the members a caller may not read.
    """
    if repository.kind != Repository.Kind.GROUP:
        return [repository]
    members: list[Repository] = []
    seen = {repository.pk}
    pending = repository_members(group=repository)
    while pending:
        member = pending.pop(0)
        if member.pk in seen or member.format != repository.format:
            continue
        seen.add(member.pk)
        if member.kind == Repository.Kind.GROUP:
            pending = repository_members(group=member) + pending
        else:
            members.append(member)
    return members


def repository_containing_groups(*, repository: Repository) -> list[Repository]:
    """Return the groups of ``repository``'s format containing it, directly or through others.

    Nearest first (breadth first, each group once), so documents a group derives from its
    members can be rebuilt from the inside out.
    """
    groups: list[Repository] = []
    seen = {repository.pk}
    pending = [repository]
    while pending:
        containing = Repository.objects.filter(
            members=pending.pop(0), kind=Repository.Kind.GROUP, format=repository.format
        )
        for group in containing.exclude(pk__in=seen).order_by("pk"):
            seen.add(group.pk)
            groups.append(group)
            pending.append(group)
    return groups


@cache
def _held_statement(count: int) -> str:
    return (
        f"SELECT 1 FROM {quoted(Package)} WHERE {quoted(Package, 'normalized_name')} = %s"
        f" AND {quoted(Package, 'repository')} IN ({placeholders(count)}) LIMIT 1"
    )


def _held_in(package: str, repositories: list[Repository]) -> bool:
    """Whether any of ``repositories`` has ``package`` (a hot read: one fixed statement)."""
    statement = _held_statement(len(repositories))
    return value_get(statement, [package, *(member.pk for member in repositories)]) is not None


def repository_read_sources(
    *, repository: Repository, principal: Principal, package: str | None = None
) -> list[Repository]:
    """Return the repositories a read of ``repository`` by ``principal`` looks in, in order.

    ``repository_read_order`` without the hosted members the caller may not read (a proxy
    member fetches for any reader of the group); the caller's right to read ``repository``
    itself has been checked already.

    With ``package`` (its normalized name in the format's Package rows) and the group's
    ``hosted_guard`` on, a name that any hosted member holds is served from hosted members
    only: an upstream can never shadow a private package with a higher version (dependency
    confusion). Hosted members the caller may not read count for the guard too.
    """
    if repository.kind != Repository.Kind.GROUP:
        return [repository]
    order = repository_read_order(repository=repository)
    if package is not None and repository.hosted_guard:
        hosted = [member for member in order if member.kind == Repository.Kind.HOSTED]
        if hosted and _held_in(package, hosted):
            order = hosted
    checked = [member for member in order if member.kind != Repository.Kind.PROXY]
    readable = {
        member.pk for member in permitted(principal=principal, repositories=checked, action=READ)
    }
    return [
        member for member in order if member.kind == Repository.Kind.PROXY or member.pk in readable
    ]
