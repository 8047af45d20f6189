"""Locks that a crashed holder releases by itself: across hosts on PostgreSQL.

PostgreSQL's session advisory lock when the database is PostgreSQL, else an ``flock`` on a file
next to the blob store's temporary files (every process and thread of this host). The blob
store's digest and upload-session locks are built on ``session_lock``; ``lock_try`` names one
for one-at-a-time work outside the blob protocol (single flight of proxy fetches, one cleanup
per repository).
"""

import fcntl
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.db import connection

from storage.backends import blob_backend

LOCKS_DIR = "locks"


def lock_file(name: str) -> Path:
    """Return the path of lock file ``name`` (``kind/key`` allowed) under the store's locks."""
    path = blob_backend().temp_dir / LOCKS_DIR / name
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


@contextmanager
def file_lock(path: Path, *, wait: bool, create: bool = False) -> Iterator[bool]:
    """Hold an exclusive ``flock`` on ``path`` for the block; yield whether it was taken."""
    with path.open("ab" if create else "rb") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True


@contextmanager
def session_lock(namespace: int, key: int, *, file: str, wait: bool) -> Iterator[bool]:
    """Hold lock ``key`` of ``namespace`` (both signed 32-bit) for the block.

    On PostgreSQL a session advisory lock, in the two-key form (a namespace of our own cannot
    collide with single-key users); elsewhere an ``flock`` on lock file ``file``. Yields whether
    it was taken (always True when ``wait``).
    """
    if connection.vendor != "postgresql":
        with file_lock(lock_file(file), wait=wait, create=True) as held:
            yield held
        return
    keys = [namespace, key]
    with connection.cursor() as cursor:
        if wait:
            cursor.execute("SELECT pg_advisory_lock(%s, %s)", keys)
            held = True
        else:
            cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", keys)
            held = bool(cursor.fetchone()[0])
    try:
        yield held
    finally:
        if held:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", keys)


@contextmanager
def lock_try(kind: str, key: int) -> Iterator[bool]:
    """Hold lock ``key`` of ``kind`` for the block if it is free; yield whether it was taken."""
    namespace = zlib.crc32(kind.encode()) - (1 << 31)
    with session_lock(
        namespace, key % (1 << 32) - (1 << 31), file=f"{kind}/{key}", wait=False
    ) as held:
        yield held
