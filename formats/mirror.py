"""The mirror: the read tree of hosted and group repositories, as files nginx sends itself.

With ``MIRROR_DIR`` set, ``<dir>/<repository>/<path>`` holds, for URLs clients GET below
``/repository/<repository>/``, exactly the body the registry serves there: immutable files as
symbolic links into the blob store, generated documents as files. Which files, a format says
(``FormatConfig.mirror_entries``, for formats whose ``mirrored`` is set); only those nginx sends
with the registry's own Content-Type (``mirror_served_type``, the ``types`` of the mirror
location in deploy/nginx.conf) may be there. A group's tree is what the registry serves to a
caller who may read all its members; ``/-/authorize`` lets only such callers use it
(``mirror_readable``). deploy/nginx.conf serves a file found there after a cached
``/-/authorize`` subrequest and sends everything else to the registry, so a missing file only
costs speed. Proxies and groups with a proxy member have no tree: what they serve is their
upstream's, which no tree built here could keep up with. The database stays the truth: a
subtree is reconciled with it by ``mirror_refresh_task`` after every commit that changes it
(``mirror_refresh_on_commit``), in the repository and in every group containing it, and
``manage.py mirror_sync`` rebuilds the whole mirror. Every file is written whole under a
temporary name and renamed into place, so nginx never sends half of one.
"""

import fcntl
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from access.auth import Principal
from access.permissions import READ, has_permission
from formats.base import format_config, format_configs
from formats.models import Asset, Document, Repository
from formats.selectors import repository_containing_groups, repository_read_order
from storage.selectors import blob_local_path

MIME_DEFAULT = "application/octet-stream"  # nginx's default_type in the mirror location
TEMP_PREFIX = ".mirror-tmp-"
# Per mirrored repository, the repositories its tree was built from (itself, or a group and its
# members): nginx must not serve a tree built for others (members changed outside
# repository_members_set, a member deleted, a deleted repository's name taken by a new one). No
# repository name starts with a dot, and /-/authorize refuses this folder as an unknown one.
STATE = ".state"
LOCKS = ".locks"  # in STATE, one lock file per repository


@dataclass(frozen=True)
class MirrorEntry:
    """What one mirror file must be: ``content`` bytes, or a symbolic link to ``target``.

    ``modified`` (POSIX time) becomes the file's mtime, so nginx's Last-Modified is the
    registry's.
    """

    content: bytes | None = None
    target: str | None = None
    modified: float | None = None


def mirror_root() -> Path | None:
    """Return the mirror directory, or None when the fast path is off."""
    return Path(settings.MIRROR_DIR) if settings.MIRROR_DIR else None


def mirror_served_types() -> dict[str, str]:
    """Return the Content-Type nginx sends a mirrored file with, by its last extension.

    Every mirrored format's ``mirror_types``: the ``types`` block of the mirror location in
    deploy/nginx.conf (tests keep them equal); any other extension gets ``MIME_DEFAULT``.
    """
    served: dict[str, str] = {}
    for config in format_configs():
        if config.mirrored:
            served.update(config.mirror_types)
    return served


def mirror_served_type(path: str) -> str:
    """Return the Content-Type nginx sends for a mirrored ``path``."""
    extension = path.rpartition("/")[2].rpartition(".")[2]
    return mirror_served_types().get(extension, MIME_DEFAULT)


def mirror_asset_entry(path: str, asset: Asset) -> Iterator[tuple[str, MirrorEntry]]:
    """Yield the entry of a stored file at ``path``: a link to its blob.

    Nothing when nginx would send it with another Content-Type than the registry does, or when
    the blob is in an object store (no file to link to: the registry redirects to it).
    """
    local = blob_local_path(blob=asset.blob)
    if local is not None and asset.media_type == mirror_served_type(path):
        yield path, MirrorEntry(target=str(local.resolve()))


def mirror_document_entry(key: str, document: Document) -> Iterator[tuple[str, MirrorEntry]]:
    """Yield the entry of a generated document at ``key``, when nginx sends it with its type."""
    if document.content_type == mirror_served_type(key):
        content = bytes(document.content)
        yield key, MirrorEntry(content=content, modified=document.updated.timestamp())


def mirror_first_assets(*, sources: list[Repository], prefix: str) -> dict[str, Asset]:
    """Return the files under ``prefix`` a reader of all ``sources`` gets: the first holder's.

    One query per source, blobs joined.
    """
    assets: dict[str, Asset] = {}
    for source in sources:
        found = Asset.objects.filter(repository=source, path__startswith=prefix)
        for asset in found.select_related("blob"):
            assets.setdefault(asset.path, asset)
    return assets


def _is_mirrored(repository: Repository) -> bool:
    # A proxy's answers come from its upstream, so a tree of what it cached would be stale or
    # incomplete; so would the tree of a group reading through a proxy.
    config = format_config(repository.format)
    if config is None or not config.mirrored or repository.kind == Repository.Kind.PROXY:
        return False
    return all(
        source.kind != Repository.Kind.PROXY
        for source in repository_read_order(repository=repository)
    )


def _present(*, base: Path, prefix: str) -> Iterator[str]:
    folder, _, _ = prefix.rpartition("/")
    start = base / folder
    if not start.is_dir():
        return
    # A file prefix (a document of a folder) names files of one folder; a folder prefix a subtree.
    walk = os.walk(start) if prefix.endswith("/") or not prefix else iter([next(os.walk(start))])
    for directory, _, files in walk:
        for name in files:
            relative = (Path(directory) / name).relative_to(base).as_posix()
            if relative.startswith(prefix) and not name.startswith(TEMP_PREFIX):
                yield relative


def _is_current(file: Path, entry: MirrorEntry) -> bool:
    if entry.target is not None:
        return file.is_symlink() and os.readlink(file) == entry.target
    if file.is_symlink() or not file.is_file():
        return False
    return file.stat().st_size == len(entry.content or b"") and file.read_bytes() == entry.content


def _write(file: Path, entry: MirrorEntry) -> None:
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


def _reconcile(*, base: Path, prefix: str, wanted: dict[str, MirrorEntry]) -> None:
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
        config = format_config(repository.format)
        assert config is not None  # _is_mirrored
        try:
            wanted = config.mirror_entries(repository=repository, sources=sources, prefix=prefix)
            _reconcile(base=root / repository.name, prefix=prefix, wanted=wanted)
        except BaseException:
            # Half reconciled (a full disk): without its stamp /-/authorize sends every reader
            # to the registry, and the next refresh of the repository rebuilds all of it.
            _stamp_file(root, repository).unlink(missing_ok=True)
            raise
        content = _stamp(repository=repository, sources=sources)
        _write(_stamp_file(root, repository), MirrorEntry(content=content))


def mirror_refresh(*, repository_id: int, prefix: str) -> None:
    """Make the mirror files under ``prefix`` of a repository and its groups match the database.

    Idempotent: it writes what the committed rows say, whenever and however often it runs.

    Args:
        repository_id: Any repository (gone: nothing to do); hosted and group repositories of
            mirrored formats are mirrored, and so is the same prefix of every group containing
            it (nested or not), unless a proxy is among their members: such a group's tree is
            removed.
        prefix: A folder (``com/example/lib/``, ``""`` for all) or a file key
            (``com/example/maven-metadata.xml``) whose files are reconciled.
    """
    root = mirror_root()
    repository = Repository.objects.filter(pk=repository_id).first()
    if root is None or repository is None:
        return
    config = format_config(repository.format)
    if config is None or not config.mirrored or repository.kind == Repository.Kind.PROXY:
        return  # its cache is no mirror's, and groups reading through it are not mirrored
    for target in (repository, *repository_containing_groups(repository=repository)):
        _refresh_one(root=root, repository=target, prefix=prefix)


def mirror_readable(*, repository: Repository, principal: Principal) -> bool:
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


def mirror_sync() -> list[str]:
    """Rebuild the whole mirror from the database: every mirrored repository.

    For a new deployment, or to repair the mirror after a crash between a commit and its refresh.

    Returns:
        The names of the repositories mirrored.
    """
    root = mirror_root()
    if root is None:
        return []
    root.mkdir(mode=0o755, parents=True, exist_ok=True)
    repositories = [
        repository for repository in Repository.objects.order_by("pk") if _is_mirrored(repository)
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
