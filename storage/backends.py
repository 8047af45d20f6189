"""Where blob bytes live: the filesystem by default, or an S3-compatible store (``storage.s3``).

Ingest streams into a backend's writer while it hashes, and publishes the written bytes under
their final path only once they are verified; resumable upload sessions accumulate in the
backend too. ``temp_dir`` is always local: lock stripes (and form parts Django spools for
the management API's multipart parser) live there.
"""

import ctypes
import fcntl
import os
import tempfile
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from functools import cache
from pathlib import Path
from typing import BinaryIO, Protocol

from django.conf import settings
from django.utils.module_loading import import_string

_libc = ctypes.CDLL(None, use_errno=True)
_sync_file_range = getattr(_libc, "sync_file_range", None)  # Linux only
if _sync_file_range is not None:
    _sync_file_range.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
SYNC_FILE_RANGE_WRITE = 2


def start_writeback(fd: int, offset: int, length: int) -> None:
    """Ask the kernel to start writing a range of ``fd`` to disk now, without waiting for it.

    A gigabyte written to the page cache and fsynced at the end waits for the whole write-back
    then (a third of an upload's time here); started chunk by chunk while the rest still
    arrives, the closing fsync finds little left. It promises nothing: the fsync still does.
    """
    if _sync_file_range is not None:
        _sync_file_range(fd, offset, length, SYNC_FILE_RANGE_WRITE)


class ChunkWriter(Protocol):
    """Bytes being stored, written in order."""

    def write(self, chunk: memoryview) -> None: ...


class BlobWriter(ChunkWriter, Protocol):
    """Bytes being stored: written in order, then published under a path or dropped."""

    def publish(self, path: str) -> None:
        """Make the bytes written so far visible at ``path``; identical content may exist."""


class BlobBackend(Protocol):
    """The operations the registry needs from a blob store."""

    temp_dir: Path

    def exists(self, path: str) -> bool: ...

    def open(self, path: str) -> BinaryIO: ...

    def writer(self, *, prefix: str) -> AbstractContextManager[BlobWriter]:
        """Start a write; bytes not published when the block ends are dropped."""

    def delete(self, path: str) -> None: ...

    def local_path(self, path: str) -> Path | None:
        """Return a local file for zero-copy serving, or None for remote stores."""

    def walk(self, prefix: str) -> Iterator[tuple[str, float]]:
        """Yield ``(path, modified)`` of every file under ``prefix`` (a timestamp in seconds)."""

    def url(self, path: str, *, expires: int, content_type: str, disposition: str) -> str:
        """Return a presigned GET URL of ``path`` valid for ``expires`` seconds (object stores)."""

    def session_start(self, path: str) -> None:
        """Open an empty resumable upload session at ``path``."""

    def session_append(self, path: str, *, size: int) -> AbstractContextManager[ChunkWriter]:
        """Continue a session holding ``size`` bytes; a block that fails adds nothing.

        Raises:
            FileNotFoundError: the session is gone.
        """

    def session_seal(self, path: str, *, size: int) -> None:
        """Make the session's first ``size`` bytes readable with ``open(path)``."""

    def session_publish(self, path: str, target: str) -> None:
        """Make a sealed session's bytes visible at ``target``; the session is gone after."""

    def session_delete(self, path: str) -> None: ...

    def stale_temporaries(self, *, older_than: float, dry_run: bool) -> Iterator[str]:
        """Remove writes kept outside ``temp_dir`` and interrupted before ``older_than``.

        Yield each one removed (or, ``dry_run``, that would be).
        """


@contextmanager
def locked_temp_file(*, prefix: str, folder: Path | None = None) -> Iterator[BinaryIO]:
    """Create a temporary file in the store's temp folder, open (unbuffered) and locked.

    The file goes when the block ends unless it was published (renamed) meanwhile. The lock
    lasts as long: the temp-file sweep of garbage collection removes only files it can lock,
    so an upload in progress is never swept, however long it takes.
    """
    folder = blob_backend().temp_dir if folder is None else folder
    while True:
        fd, name = tempfile.mkstemp(dir=folder, prefix=prefix)
        target = os.fdopen(fd, "w+b", buffering=0)
        fcntl.flock(target, fcntl.LOCK_EX)
        if os.fstat(fd).st_nlink:
            break
        target.close()  # swept between its creation and the lock: take another
    target.name = name  # FileIO names an fdopen()ed file by its number
    try:
        yield target
    finally:
        Path(name).unlink(missing_ok=True)
        target.close()


class FileWriter:
    """Writes to an open unbuffered file from its current offset; publish renames the file."""

    def __init__(self, backend: "FilesystemBackend", file: BinaryIO) -> None:
        self._backend, self.file = backend, file
        self._offset = file.tell()

    def write(self, chunk: memoryview) -> None:
        # The file is unbuffered, so a failed write (a full disk) leaves nothing pending that a
        # later flush or close could still try to write; a raw write may also be short.
        written = 0
        while written < len(chunk):
            written += self.file.write(chunk[written:]) or 0
        if self._backend.fsync:
            start_writeback(self.file.fileno(), self._offset, len(chunk))
        self._offset += len(chunk)

    def publish(self, path: str) -> None:
        self._backend.publish(Path(self.file.name), path)


class FilesystemBackend:
    """Blobs as files under one root; publish is an atomic rename, so readers never see partials."""

    def __init__(self, root: Path | str, *, fsync: bool = True) -> None:
        self.root = Path(root)
        self.temp_dir = self.root / "tmp"
        self.fsync = fsync
        for folder in (self.temp_dir, self.root / "uploads"):
            folder.mkdir(parents=True, exist_ok=True)

    @contextmanager
    def writer(self, *, prefix: str) -> Iterator[FileWriter]:
        with locked_temp_file(prefix=prefix, folder=self.temp_dir) as file:
            yield FileWriter(self, file)

    def _file(self, path: str) -> Path:
        return self.root / path

    def exists(self, path: str) -> bool:
        return self._file(path).exists()

    def open(self, path: str) -> BinaryIO:
        return self._file(path).open("rb")

    def publish(self, temp_file: Path, path: str) -> None:
        """Move a finished temporary file to ``path`` atomically; identical content may exist."""
        target = self._file(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        if self.fsync:
            with temp_file.open("rb") as handle:
                os.fsync(handle.fileno())
        # Two writers of the same bytes both rename; the later rename replaces identical content.
        os.replace(temp_file, target)
        if self.fsync:
            directory = os.open(target.parent, os.O_RDONLY)
            try:
                os.fsync(directory)
            finally:
                os.close(directory)

    def delete(self, path: str) -> None:
        self._file(path).unlink(missing_ok=True)

    def local_path(self, path: str) -> Path | None:
        return self._file(path)

    def walk(self, prefix: str) -> Iterator[tuple[str, float]]:
        for folder, _, names in os.walk(self._file(prefix)):
            for name in names:
                file = Path(folder) / name
                try:
                    modified = file.stat().st_mtime
                except FileNotFoundError:
                    continue  # collected meanwhile
                yield file.relative_to(self.root).as_posix(), modified

    def url(self, path: str, *, expires: int, content_type: str, disposition: str) -> str:
        raise NotImplementedError("a filesystem store has no presigned URLs")  # refused at start

    def session_start(self, path: str) -> None:
        self._file(path).touch()

    @contextmanager
    def session_append(self, path: str, *, size: int) -> Iterator[FileWriter]:
        with self._file(path).open("r+b", buffering=0) as file:
            file.truncate(size)  # drop the tail of an earlier interrupted chunk
            file.seek(size)
            try:
                yield FileWriter(self, file)
            except BaseException:
                # A failed chunk is not part of the upload: its bytes give back their space now.
                file.truncate(size)
                raise

    def session_seal(self, path: str, *, size: int) -> None:
        os.truncate(self._file(path), size)  # the tail of an interrupted chunk is not part of it

    def session_publish(self, path: str, target: str) -> None:
        self.publish(self._file(path), target)

    def session_delete(self, path: str) -> None:
        self.delete(path)

    def stale_temporaries(self, *, older_than: float, dry_run: bool) -> Iterator[str]:
        return iter(())  # its writes are files in temp_dir, which the temp-file sweep covers


@cache
def _backend_for(backend_class: str, root: str, fsync: bool) -> BlobBackend:
    return import_string(backend_class)(root, fsync=fsync)


@cache
def _s3_backend_for(url: str, root: str, endpoint_url: str, region: str) -> BlobBackend:
    from storage.s3 import S3Backend  # boto3 is imported only by deployments that use it

    return S3Backend(url, temp_root=root, endpoint_url=endpoint_url, region=region)


def blob_backend() -> BlobBackend:
    """Return the configured backend (built lazily, so tests can point settings elsewhere).

    ``BLOB_STORE_URL=s3://bucket/prefix`` selects the object store; otherwise ``BLOB_BACKEND``
    (the filesystem under ``BLOB_STORE_DIR``).
    """
    if settings.BLOB_STORE_URL:
        return _s3_backend_for(
            settings.BLOB_STORE_URL,
            str(settings.BLOB_STORE_DIR),
            settings.AWS_ENDPOINT_URL,
            settings.AWS_REGION,
        )
    return _backend_for(settings.BLOB_BACKEND, str(settings.BLOB_STORE_DIR), settings.BLOB_FSYNC)
