"""What the mirror (``formats.mirror``) holds of a Maven repository.

For every URL a client GETs: both levels of ``maven-metadata.xml`` and the artifact files
(symbolic links into the blob store), each with its ``.md5/.sha1/.sha256/.sha512``. A group's
tree is what the registry serves to a caller who may read all its members: the first member's
file, metadata merged by the same selectors as the registry's view, so the mirror cannot drift
from what the registry serves. Folders and base SNAPSHOT names are never in it: nginx sends
those to the registry.
"""

from collections.abc import Iterator

from formats.maven.errors import MavenPathInvalid
from formats.maven.paths import CHECKSUM_ALGORITHMS, parse_path
from formats.maven.selectors import content_checksum, maven_metadata_merge
from formats.plugin import (
    Asset,
    Document,
    MirrorEntry,
    Repository,
    blob_checksums,
    mirror_asset_entry,
    mirror_document_entry,
    mirror_first_assets,
)


def _with_checksums(path: str, digests: dict[str, str]) -> Iterator[tuple[str, MirrorEntry]]:
    for suffix, algorithm in CHECKSUM_ALGORITHMS.items():
        yield f"{path}.{suffix}", MirrorEntry(content=digests[algorithm].encode())


def _asset_entries(path: str, asset: Asset) -> Iterator[tuple[str, MirrorEntry]]:
    yield from mirror_asset_entry(path, asset)
    blob = blob_checksums(blob=asset.blob)
    digests = {algorithm: getattr(blob, algorithm) for algorithm in CHECKSUM_ALGORITHMS}
    yield from _with_checksums(path, digests)


def _document_entries(key: str, document: Document) -> Iterator[tuple[str, MirrorEntry]]:
    for path, entry in mirror_document_entry(key, document):
        yield path, entry
        digests = {
            algorithm: content_checksum(content=entry.content or b"", algorithm=algorithm)
            for algorithm in CHECKSUM_ALGORITHMS.values()
        }
        yield from _with_checksums(path, digests)


def maven_mirror_entries(
    *, repository: Repository, sources: list[Repository], prefix: str
) -> dict[str, MirrorEntry]:
    """Return the mirror files of ``repository`` under ``prefix``: two queries per source."""
    wanted: dict[str, MirrorEntry] = {}
    for path, asset in mirror_first_assets(sources=sources, prefix=prefix).items():
        wanted.update(_asset_entries(path, asset))
    documents: dict[str, list[Document]] = {}
    for source in sources:
        for document in Document.objects.filter(repository=source, key__startswith=prefix):
            documents.setdefault(document.key, []).append(document)
    for key, held in documents.items():
        if repository.kind != Repository.Kind.GROUP:
            wanted.update(_document_entries(key, held[0]))
            continue
        try:
            mpath = parse_path(path=key)
        except MavenPathInvalid:
            continue
        if mpath.is_metadata and mpath.target_path == key and not mpath.checksum:
            wanted.update(_document_entries(key, maven_metadata_merge(documents=held, mpath=mpath)))
    return wanted
