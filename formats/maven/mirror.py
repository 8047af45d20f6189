"""The Maven mirror: the read tree of hosted Maven repositories, as files nginx sends itself.

With ``MAVEN_MIRROR_DIR`` set, ``<dir>/<repository>/<maven path>`` holds, for every URL a client
GETs, exactly the body the registry serves there: both levels of ``maven-metadata.xml`` and the
artifact files (symbolic links into the blob store), each with its ``.md5/.sha1/.sha256/.sha512``.
deploy/nginx.conf serves a file found there after a cached ``/-/authorize`` subrequest and sends
everything else (writes, folders, groups, base SNAPSHOT names) to the registry, so a missing file
only costs speed. The database stays the truth: a subtree is reconciled with it after every
commit that changes it, and ``manage.py maven_mirror_sync`` rebuilds the whole mirror.
"""

import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import transaction

from formats.maven.parsers import CHECKSUM_ALGORITHMS
from formats.maven.selectors import content_checksum
from formats.models import Asset, Document, Repository
from storage.backends import blob_backend
from storage.services import blob_checksums

# The Content-Type nginx gives a mirrored file by its last extension: the ``types`` block of the
# Maven location in deploy/nginx.conf (tests/formats/maven/test_mirror.py keeps them equal). A
# file the registry serves with another type stays out of the mirror.
SERVED_TYPES: dict[str, str] = {
    "xml": "application/xml",
    "pom": "application/xml",
    "jar": "application/java-archive",
    "war": "application/java-archive",
    "ear": "application/java-archive",
    "module": "application/json",
    "asc": "text/plain",
    **dict.fromkeys(CHECKSUM_ALGORITHMS, "text/plain"),
}
DEFAULT_TYPE = "application/octet-stream"
TEMP_PREFIX = ".mirror-tmp-"


@dataclass(frozen=True)
class _Entry:
    """What one mirror file must be: ``content`` bytes, or a symbolic link to ``target``."""

    content: bytes | None = None
    target: str | None = None
    modified: float | None = None


def mirror_root() -> Path | None:
    """Return the mirror directory, or None when the fast path is off."""
    return Path(settings.MAVEN_MIRROR_DIR) if settings.MAVEN_MIRROR_DIR else None


def served_type(path: str) -> str:
    """Return the Content-Type nginx sends for a mirrored ``path``."""
    extension = path.rpartition("/")[2].rpartition(".")[2]
    return SERVED_TYPES.get(extension, DEFAULT_TYPE)


def _is_mirrored(repository: Repository) -> bool:
    # Groups merge their members per caller (maven_read_sources): the registry serves them.
    return repository.format == "maven" and repository.kind == Repository.Kind.HOSTED


def _with_checksums(path: str, content: bytes | None, digests: dict[str, str]) -> Iterator:
    for suffix, algorithm in CHECKSUM_ALGORITHMS.items():
        digest = digests.get(algorithm) or content_checksum(content=content, algorithm=algorithm)
        yield f"{path}.{suffix}", _Entry(content=digest.encode())


def _wanted(*, repository: Repository, prefix: str) -> dict[str, _Entry]:
    wanted: dict[str, _Entry] = {}
    assets = Asset.objects.filter(repository=repository, path__startswith=prefix)
    backend = blob_backend()
    for asset in assets.select_related("blob"):
        blob = blob_checksums(blob=asset.blob)
        local = backend.local_path(blob.path)
        # An object store has no file to link to: the registry redirects to it.
        if local is not None and asset.media_type == served_type(asset.path):
            wanted[asset.path] = _Entry(target=str(local.resolve()))
        digests = {algorithm: getattr(blob, algorithm) for algorithm in CHECKSUM_ALGORITHMS}
        wanted.update(_with_checksums(asset.path, None, digests))
    documents = Document.objects.filter(repository=repository, key__startswith=prefix)
    for document in documents:
        content = bytes(document.content)
        if document.content_type == served_type(document.key):
            wanted[document.key] = _Entry(content=content, modified=document.updated.timestamp())
            wanted.update(_with_checksums(document.key, content, {}))
    return wanted


def _present(*, base: Path, prefix: str) -> Iterator[str]:
    folder, _, _ = prefix.rpartition("/")
    start = base / folder
    if not start.is_dir():
        return
    # A file prefix (plugin-group metadata) names files of one folder; a folder prefix a subtree.
    walk = os.walk(start) if prefix.endswith("/") or not prefix else [next(os.walk(start))]
    for directory, _, files in walk:
        for name in files:
            relative = (Path(directory) / name).relative_to(base).as_posix()
            if relative.startswith(prefix) and not name.startswith(TEMP_PREFIX):
                yield relative


def _is_current(file: Path, entry: _Entry) -> bool:
    if entry.target is not None:
        return file.is_symlink() and os.readlink(file) == entry.target
    if file.is_symlink() or not file.is_file():
        return False
    return file.stat().st_size == len(entry.content or b"") and file.read_bytes() == entry.content


def _write(file: Path, entry: _Entry) -> None:
    file.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
    descriptor, temp = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=file.parent)
    try:
        if entry.target is not None:
            os.close(descriptor)
            os.unlink(temp)
            os.symlink(entry.target, temp)
        else:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(entry.content or b"")
            os.chmod(temp, 0o644)  # nginx workers run as another user
            if entry.modified is not None:  # nginx's Last-Modified then equals the registry's
                os.utime(temp, (entry.modified, entry.modified))
        os.replace(temp, file)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def _remove(file: Path, base: Path) -> None:
    file.unlink(missing_ok=True)
    for parent in file.parents:
        if parent == base or not parent.is_relative_to(base):
            break
        try:
            parent.rmdir()
        except OSError:
            break  # not empty


def maven_mirror_refresh(*, repository: Repository, prefix: str) -> None:
    """Make the mirror files under ``prefix`` of ``repository`` match the database.

    Args:
        repository: Any repository; only hosted Maven repositories are mirrored.
        prefix: A folder (``com/example/lib/``, ``""`` for all) or a file key
            (``com/example/maven-metadata.xml``) whose files are reconciled.
    """
    root = mirror_root()
    if root is None or not _is_mirrored(repository):
        return
    base = root / repository.name
    wanted = _wanted(repository=repository, prefix=prefix)
    for relative in set(_present(base=base, prefix=prefix)) - set(wanted):
        _remove(base / relative, base)
    for relative, entry in wanted.items():
        file = base / relative
        if not _is_current(file, entry):
            _write(file, entry)


def maven_mirror_refresh_on_commit(*, repository: Repository, prefix: str) -> None:
    """Refresh the mirror under ``prefix`` once the current transaction commits.

    The refresh reads the committed rows, so of two deploys committing close together the later
    refresh writes the newest state whatever order they run in.
    """
    if mirror_root() is not None:
        transaction.on_commit(
            lambda: maven_mirror_refresh(repository=repository, prefix=prefix), robust=True
        )


def maven_mirror_sync() -> list[str]:
    """Rebuild the whole mirror from the database: every hosted Maven repository, nothing else.

    For a new deployment, or to repair the mirror after a crash between a commit and its refresh.

    Returns:
        The names of the repositories mirrored.
    """
    root = mirror_root()
    if root is None:
        return []
    root.mkdir(mode=0o755, parents=True, exist_ok=True)
    repositories = list(Repository.objects.filter(format="maven", kind=Repository.Kind.HOSTED))
    names = {repository.name for repository in repositories}
    for child in root.iterdir():
        if child.name in names:
            continue
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()
    for repository in repositories:
        base = root / repository.name
        for directory, _, files in os.walk(base):
            for name in files:
                if name.startswith(TEMP_PREFIX):  # left by a crash mid-write
                    (Path(directory) / name).unlink(missing_ok=True)
        maven_mirror_refresh(repository=repository, prefix="")
    return sorted(names)
