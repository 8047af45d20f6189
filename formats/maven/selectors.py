"""Reads of the Maven format: files, metadata and listings of hosted and group repositories.

Layout: https://maven.apache.org/repository/layout.html. A group repository reads through its
members in order (Nexus's ``maven-public``); hosted repositories are a group of one.
"""

import hashlib
from dataclasses import dataclass
from datetime import datetime

from formats.maven.errors import FileUnknown
from formats.maven.metadata import MavenMetadata, parse_metadata
from formats.maven.paths import MavenPath, PathKind
from formats.maven.renderers import render_artifact_metadata, render_group_metadata
from formats.maven.versions import compare_versions
from formats.plugin import (
    Asset,
    Document,
    Principal,
    Repository,
    Version,
    asset_find,
    document_etag,
    repository_read_sources,
)

POLICY_RELEASE = "release"
POLICY_SNAPSHOT = "snapshot"
POLICY_MIXED = "mixed"
VERSION_POLICIES = (POLICY_RELEASE, POLICY_SNAPSHOT, POLICY_MIXED)
LISTED_CHECKSUMS = ("md5", "sha1")


def maven_version_policy(*, repository: Repository) -> str:
    """Return the repository's version policy (``release`` unless configured otherwise)."""
    policy = repository.config.get("version_policy", POLICY_RELEASE)
    return policy if policy in VERSION_POLICIES else POLICY_RELEASE


def maven_package_name(*, group_id: str, artifact_id: str) -> str:
    """Return the shared model's package name for Maven coordinates (``groupId:artifactId``)."""
    return f"{group_id}:{artifact_id}"


def maven_read_sources(
    *, repository: Repository, principal: Principal, mpath: MavenPath | None = None
) -> list[Repository]:
    """Return the repositories a read of ``mpath`` in ``repository`` looks in, in order.

    ``repository_read_sources`` with the package of an artifact's paths (``groupId:artifactId``):
    a name a hosted member holds is read from hosted members only (the group's hosted guard).
    """
    package = None
    if mpath is not None and mpath.group_id and mpath.artifact_id:
        package = maven_package_name(group_id=mpath.group_id, artifact_id=mpath.artifact_id)
    return repository_read_sources(repository=repository, principal=principal, package=package)


def maven_asset_find(*, sources: list[Repository], mpath: MavenPath) -> Asset:
    """Return the file an artifact path (or the target of its checksum path) names.

    ``<a>-1.0-SNAPSHOT[-c].ext`` that was never deployed as such resolves to the newest
    timestamped build with the same classifier and extension, as Nexus serves it.

    Raises:
        FileUnknown: no source holds the file.
    """
    path = mpath.target_path
    for repository in sources:
        found = asset_find(repository=repository, path=path)
        if found is None and mpath.timestamp is None and _is_base_snapshot(mpath):
            found = _newest_build(repository=repository, mpath=mpath)
        if found is not None:
            return found
    raise FileUnknown(f"{path} not found")


def _is_base_snapshot(mpath: MavenPath) -> bool:
    return mpath.version is not None and mpath.version.endswith("-SNAPSHOT")


def _newest_build(*, repository: Repository, mpath: MavenPath) -> Asset | None:
    version = Version.objects.filter(
        package__repository=repository,
        package__normalized_name=maven_package_name(
            group_id=mpath.group_id or "", artifact_id=mpath.artifact_id or ""
        ),
        version=mpath.version,
    ).first()
    if version is None:
        return None
    builds = [
        asset
        for asset in version.assets.select_related("blob")
        if asset.metadata.get("build_number")
        and asset.metadata.get("classifier") == mpath.classifier
        and asset.metadata.get("extension") == mpath.extension
    ]
    return max(builds, key=_build_key, default=None)


def _build_key(asset: Asset) -> tuple[int, str]:
    return asset.metadata["build_number"], asset.metadata.get("timestamp") or ""


def maven_metadata_merge(*, documents: list[Document], mpath: MavenPath) -> Document:
    """Return what a group serves for the metadata ``mpath`` its members hold as ``documents``.

    ``documents`` are in member order; one is served as is, several are merged.
    """
    if len(documents) == 1:
        return documents[0]
    snapshot = mpath.kind is PathKind.SNAPSHOT_METADATA
    parsed = [(document, parse_metadata(raw=bytes(document.content))) for document in documents]
    newest_update = max(document.updated for document in documents)
    if snapshot:
        document, _ = max(parsed, key=lambda pair: _snapshot_key(pair[1]))
        return document
    metadata = [item for _, item in parsed]
    if any(item.plugins for item in metadata):
        plugins = {(p.prefix, p.artifact_id): p for item in metadata for p in item.plugins}
        content = render_group_metadata(plugins=plugins.values())
    else:
        first = metadata[0]
        content = render_artifact_metadata(
            group_id=first.group_id or "",
            artifact_id=first.artifact_id or "",
            versions=[version for item in metadata for version in item.versions],
            last_updated=newest_update,
        )
    return Document(
        key=documents[0].key,
        content=content,
        content_type=documents[0].content_type,
        etag=document_etag(content),
        updated=newest_update,
    )


def _snapshot_key(metadata: MavenMetadata) -> tuple[str, int]:
    return metadata.snapshot_timestamp or "", metadata.snapshot_build_number or 0


def content_checksum(*, content: bytes, algorithm: str) -> str:
    """Return the hex digest of a small in-memory document."""
    return hashlib.new(algorithm, content).hexdigest()


@dataclass(frozen=True)
class ListingEntry:
    """One line of a directory listing.

    Attributes:
        name: File name, or folder name ending with ``/``.
        size: File size in bytes, None for folders and checksums.
        modified: When the file was last written, None for folders and checksums.
    """

    name: str
    size: int | None = None
    modified: datetime | None = None


def maven_directory_list(*, sources: list[Repository], prefix: str) -> list[ListingEntry]:
    """Return the entries directly below folder ``prefix`` (``""`` or ending with ``/``).

    Files are followed by the ``.md5``/``.sha1`` files that are served for them.

    Raises:
        FileUnknown: nothing lies below ``prefix`` (the root is always listed).
    """
    folders: set[str] = set()
    files: dict[str, ListingEntry] = {}
    for repository in sources:
        assets = Asset.objects.filter(repository=repository, path__startswith=prefix)
        for path, size, created in assets.values_list("path", "blob__size", "created"):
            _add_entry(path[len(prefix) :], folders, files, size=size, modified=created)
        documents = Document.objects.filter(repository=repository, key__startswith=prefix)
        for document in documents:
            relative = document.key[len(prefix) :]
            size = len(document.content)
            _add_entry(relative, folders, files, size=size, modified=document.updated)
    if prefix and not folders and not files:
        raise FileUnknown(f"{prefix} not found")
    entries = [ListingEntry(name=f"{name}/") for name in sorted(folders, key=_natural)]
    for name in sorted(files, key=_natural):
        entries.append(files[name])
        entries.extend(ListingEntry(name=f"{name}.{suffix}") for suffix in LISTED_CHECKSUMS)
    return entries


def _add_entry(
    relative: str,
    folders: set[str],
    files: dict[str, ListingEntry],
    *,
    size: int,
    modified: datetime,
) -> None:
    head, slash, _ = relative.partition("/")
    if slash:
        folders.add(head)
    elif head not in files:
        files[head] = ListingEntry(name=head, size=size, modified=modified)


def _natural(name: str) -> tuple[int, object]:
    # Version folders list in Maven order (1.9 before 1.10); anything else alphabetically.
    return (0, _MavenOrder(name)) if name[:1].isdigit() else (1, name)


class _MavenOrder:
    __slots__ = ("value",)

    def __init__(self, value: str) -> None:
        self.value = value

    def __lt__(self, other: "_MavenOrder") -> bool:
        return compare_versions(self.value, other.value) < 0

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _MavenOrder) and self.value == other.value


def maven_directory_exists(*, sources: list[Repository], path: str) -> bool:
    """Return whether ``path`` (without a trailing slash) is a folder holding anything."""
    prefix = f"{path}/"
    return any(
        Asset.objects.filter(repository=repository, path__startswith=prefix).exists()
        or Document.objects.filter(repository=repository, key__startswith=prefix).exists()
        for repository in sources
    )
