"""The Maven mirror: the read tree of Maven repositories, as files nginx sends itself.

With ``MAVEN_MIRROR_DIR`` set, ``<dir>/<repository>/<maven path>`` holds, for every URL a client
GETs, exactly the body the registry serves there: both levels of ``maven-metadata.xml`` and the
artifact files (symbolic links into the blob store), each with its ``.md5/.sha1/.sha256/.sha512``.
A group's tree is what the registry serves to a caller who may read all its members (the first
member's file, metadata merged by the same selectors); ``/-/authorize`` lets only such callers
use it (``maven_mirror_readable``). deploy/nginx.conf serves a file found there after a cached
``/-/authorize`` subrequest and sends everything else (writes, folders, base SNAPSHOT names) to
the registry, so a missing file only costs speed. Proxies and groups with a proxy member have no
tree: what they serve is their upstream's, which no tree built here could keep up with. The
database stays the truth: a subtree is reconciled with it by ``maven_mirror_refresh_task`` after
every commit that changes it, in the repository and in every group containing it, and
``manage.py maven_mirror_sync`` rebuilds the whole mirror.
"""

import fcntl
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from formats.maven.errors import MavenPathInvalid
from formats.maven.media import MIME_BY_EXTENSION, MIME_CHECKSUM, MIME_DEFAULT
from formats.maven.paths import CHECKSUM_ALGORITHMS, parse_path
from formats.maven.selectors import content_checksum, maven_metadata_merge
from formats.plugin import (
    READ,
    Asset,
    Document,
    Principal,
    Repository,
    blob_checksums,
    blob_local_path,
    has_permission,
    repository_containing_groups,
    repository_read_order,
)

# The Content-Type nginx gives a mirrored file by its last extension: the ``types`` block of the
# Maven location in deploy/nginx.conf (tests/formats/maven/test_mirror.py keeps them equal), that
# is the registry's own table. A file the registry serves with another type stays out.
SERVED_TYPES: dict[str, str] = {
    **MIME_BY_EXTENSION,
    **dict.fromkeys(CHECKSUM_ALGORITHMS, MIME_CHECKSUM),
}
TEMP_PREFIX = ".mirror-tmp-"
# Per mirrored repository, the repositories its tree was built from (itself, or a group and its
# members): nginx must not serve a tree built for others (members changed outside
# repository_members_set, a member deleted, a deleted repository's name taken by a new one). No
# repository name starts with a dot, and /-/authorize refuses this folder as an unknown one.
STATE = ".state"
LOCKS = ".locks"  # in STATE, one lock file per repository


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
    return SERVED_TYPES.get(extension, MIME_DEFAULT)


def _is_mirrored(repository: Repository) -> bool:
    # A proxy's answers come from its upstream, so a tree of what it cached would be stale or
    # incomplete; so would the tree of a group reading through a proxy.
    if repository.format != "maven" or repository.kind == Repository.Kind.PROXY:
        return False
    return all(
        source.kind != Repository.Kind.PROXY
        for source in repository_read_order(repository=repository)
    )


def _with_checksums(path: str, digests: dict[str, str]) -> Iterator[tuple[str, _Entry]]:
    for suffix, algorithm in CHECKSUM_ALGORITHMS.items():
        yield f"{path}.{suffix}", _Entry(content=digests[algorithm].encode())


def _asset_entries(path: str, asset: Asset) -> Iterator[tuple[str, _Entry]]:
    blob = blob_checksums(blob=asset.blob)
    local = blob_local_path(blob=blob)
    # An object store has no file to link to: the registry redirects to it.
    if local is not None and asset.media_type == served_type(path):
        yield path, _Entry(target=str(local.resolve()))
    digests = {algorithm: getattr(blob, algorithm) for algorithm in CHECKSUM_ALGORITHMS}
    yield from _with_checksums(path, digests)


def _document_entries(key: str, document: Document) -> Iterator[tuple[str, _Entry]]:
    if document.content_type == served_type(key):
        content = bytes(document.content)
        yield key, _Entry(content=content, modified=document.updated.timestamp())
        digests = {
            algorithm: content_checksum(content=content, algorithm=algorithm)
            for algorithm in CHECKSUM_ALGORITHMS.values()
        }
        yield from _with_checksums(key, digests)


def _hosted_wanted(*, repository: Repository, prefix: str) -> dict[str, _Entry]:
    wanted: dict[str, _Entry] = {}
    assets = Asset.objects.filter(repository=repository, path__startswith=prefix)
    for asset in assets.select_related("blob"):
        wanted.update(_asset_entries(asset.path, asset))
    documents = Document.objects.filter(repository=repository, key__startswith=prefix)
    for document in documents:
        wanted.update(_document_entries(document.key, document))
    return wanted


def _group_wanted(*, members: list[Repository], prefix: str) -> dict[str, _Entry]:
    # What the registry's view answers a caller reading all members, from two queries per
    # member: a file is the first member's (maven_asset_find), metadata is merged by the view's
    # own maven_metadata_merge, so the mirror cannot drift from what the registry serves.
    assets: dict[str, Asset] = {}
    documents: dict[str, list[Document]] = {}
    for member in members:
        found = Asset.objects.filter(repository=member, path__startswith=prefix)
        for asset in found.select_related("blob"):
            assets.setdefault(asset.path, asset)
        for document in Document.objects.filter(repository=member, key__startswith=prefix):
            documents.setdefault(document.key, []).append(document)
    wanted: dict[str, _Entry] = {}
    for path, asset in assets.items():
        wanted.update(_asset_entries(path, asset))
    for key, held in documents.items():
        try:
            mpath = parse_path(path=key)
        except MavenPathInvalid:
            continue
        if mpath.is_metadata and mpath.target_path == key and not mpath.checksum:
            wanted.update(_document_entries(key, maven_metadata_merge(documents=held, mpath=mpath)))
    return wanted


def _present(*, base: Path, prefix: str) -> Iterator[str]:
    folder, _, _ = prefix.rpartition("/")
    start = base / folder
    if not start.is_dir():
        return
    # A file prefix (plugin-group metadata) names files of one folder; a folder prefix a subtree.
    walk = os.walk(start) if prefix.endswith("/") or not prefix else iter([next(os.walk(start))])
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


def _reconcile(*, base: Path, prefix: str, wanted: dict[str, _Entry]) -> None:
    for relative in set(_present(base=base, prefix=prefix)) - set(wanted):
        _remove(base / relative, base)
    for relative, entry in wanted.items():
        file = base / relative
        if not _is_current(file, entry):
            _write(file, entry)


def _stamp(*, repository: Repository, sources: list[Repository]) -> bytes:
    # Primary keys: a repository deleted and created again under its name is another one.
    return " ".join(str(source.pk) for source in (repository, *sources)).encode()


def _stamp_file(root: Path, repository: Repository) -> Path:
    return root / STATE / repository.name


def _stamp_matches(root: Path, repository: Repository, sources: list[Repository]) -> bool:
    file = _stamp_file(root, repository)
    return file.is_file() and file.read_bytes() == _stamp(repository=repository, sources=sources)


def _refresh_one(*, root: Path, repository: Repository, prefix: str) -> None:
    locks = root / STATE / LOCKS
    locks.mkdir(mode=0o755, parents=True, exist_ok=True)
    # One refresh of a repository at a time (also across replicas sharing the volume), reading
    # the members inside the lock: the tree and its stamp always come from the same sources.
    with open(locks / repository.name, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not _is_mirrored(repository):  # a proxy joined it: nginx must send readers here
            _stamp_file(root, repository).unlink(missing_ok=True)
            shutil.rmtree(root / repository.name, ignore_errors=True)
            return
        sources = repository_read_order(repository=repository)
        if not _stamp_matches(root, repository, sources):
            prefix = ""  # built from other repositories: any path may differ
        try:
            if repository.kind == Repository.Kind.GROUP:
                wanted = _group_wanted(members=sources, prefix=prefix)
            else:
                wanted = _hosted_wanted(repository=repository, prefix=prefix)
            _reconcile(base=root / repository.name, prefix=prefix, wanted=wanted)
        except BaseException:
            # Half reconciled (a full disk): without its stamp /-/authorize sends every reader
            # to the registry, and the next refresh of the repository rebuilds all of it.
            _stamp_file(root, repository).unlink(missing_ok=True)
            raise
        content = _stamp(repository=repository, sources=sources)
        _write(_stamp_file(root, repository), _Entry(content=content))


def maven_mirror_refresh(*, repository_id: int, prefix: str) -> None:
    """Make the mirror files under ``prefix`` of a repository and its groups match the database.

    Idempotent: it writes what the committed rows say, whenever and however often it runs.

    Args:
        repository_id: Any repository (gone: nothing to do); hosted and group Maven
            repositories are mirrored, and so is the same prefix of every group containing it
            (nested or not), unless a proxy is among their members: such a group's tree is
            removed.
        prefix: A folder (``com/example/lib/``, ``""`` for all) or a file key
            (``com/example/maven-metadata.xml``) whose files are reconciled.
    """
    root = mirror_root()
    repository = Repository.objects.filter(pk=repository_id).first()
    if root is None or repository is None or repository.format != "maven":
        return
    if repository.kind == Repository.Kind.PROXY:
        return  # its cache is no mirror's, and groups reading through it are not mirrored
    for target in (repository, *repository_containing_groups(repository=repository)):
        _refresh_one(root=root, repository=target, prefix=prefix)


def maven_mirror_readable(*, repository: Repository, principal: Principal) -> bool:
    """Return whether nginx may send ``principal`` the mirror of ``repository``.

    A group's mirror is the view of a reader of every member: a caller who may read only some
    is served by the registry, which merges just those. So is everyone while a tree was built
    from other repositories than the database now names (until the refresh after that change
    ends), and everyone reading a proxy or a group with a proxy member. The caller's right to
    read ``repository`` itself has been checked already.
    """
    if not _is_mirrored(repository):
        return False
    sources = repository_read_order(repository=repository)
    if repository.kind == Repository.Kind.GROUP and not all(
        has_permission(principal=principal, repository=member, action=READ) for member in sources
    ):
        return False
    root = mirror_root()
    return root is None or _stamp_matches(root, repository, sources)


def maven_mirror_sync() -> list[str]:
    """Rebuild the whole mirror from the database: every mirrored Maven repository.

    For a new deployment, or to repair the mirror after a crash between a commit and its refresh.

    Returns:
        The names of the repositories mirrored.
    """
    root = mirror_root()
    if root is None:
        return []
    root.mkdir(mode=0o755, parents=True, exist_ok=True)
    repositories = [
        repository
        for repository in Repository.objects.filter(format="maven").order_by("pk")
        if _is_mirrored(repository)
    ]
    names = {repository.name for repository in repositories}
    _prune(root, keep={*names, STATE})
    state = root / STATE
    if state.is_dir():
        _prune(state, keep={*names, LOCKS})
        if (state / LOCKS).is_dir():
            _prune(state / LOCKS, keep=names)
    for repository in repositories:
        for directory, _, files in os.walk(root / repository.name):
            for name in files:
                if name.startswith(TEMP_PREFIX):  # left by a crash mid-write
                    (Path(directory) / name).unlink(missing_ok=True)
        _refresh_one(root=root, repository=repository, prefix="")
    return sorted(names)


def _prune(folder: Path, *, keep: set[str]) -> None:
    for child in folder.iterdir():
        if child.name in keep:
            continue
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()
