"""Where blob bytes live: the filesystem by default; an object store can implement the same.

Ingest always hashes into a local temporary file first (``temp_dir``), so a backend only has to
publish a finished, verified file under its final path.
"""

import ctypes
import os
from collections.abc import Iterator
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


class BlobBackend(Protocol):
    """The operations the registry needs from a blob store."""

    temp_dir: Path

    def exists(self, path: str) -> bool: ...

    def open(self, path: str) -> BinaryIO: ...

    def publish(self, temp_file: Path, path: str) -> None:
        """Move a finished temporary file to ``path`` atomically; identical content may exist."""

    def delete(self, path: str) -> None: ...

    def local_path(self, path: str) -> Path | None:
        """Return a local file for zero-copy serving, or None for remote stores."""

    def walk(self, prefix: str) -> Iterator[tuple[str, float]]:
        """Yield ``(path, modified)`` of every file under ``prefix`` (a timestamp in seconds)."""


class FilesystemBackend:
    """Blobs as files under one root; publish is an atomic rename, so readers never see partials."""

    def __init__(self, root: Path | str, *, fsync: bool = True) -> None:
        self.root = Path(root)
        self.temp_dir = self.root / "tmp"
        self.fsync = fsync
        for folder in (self.temp_dir, self.root / "uploads"):
            folder.mkdir(parents=True, exist_ok=True)

    def _file(self, path: str) -> Path:
        return self.root / path

    def exists(self, path: str) -> bool:
        return self._file(path).exists()

    def open(self, path: str) -> BinaryIO:
        return self._file(path).open("rb")

    def publish(self, temp_file: Path, path: str) -> None:
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


@cache
def _backend_for(backend_class: str, root: str, fsync: bool) -> BlobBackend:
    return import_string(backend_class)(root, fsync=fsync)


def blob_backend() -> BlobBackend:
    """Return the configured backend (built lazily, so tests can point settings elsewhere)."""
    return _backend_for(settings.BLOB_BACKEND, str(settings.BLOB_STORE_DIR), settings.BLOB_FSYNC)
