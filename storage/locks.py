"""Named locks that a crashed holder releases by itself: across hosts on PostgreSQL.

PostgreSQL's session advisory lock when the database is PostgreSQL, else an ``flock`` on a file
next to the blob store (every process and thread of this host). Used for one-at-a-time work
outside the blob protocol (single flight of proxy fetches, one cleanup per repository); the
blob store's own digest locks are in ``storage.services``.
"""

import fcntl
import zlib
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection

from storage.services import lock_folder


@contextmanager
def lock_try(kind: str, key: int) -> Iterator[bool]:
    """Hold lock ``key`` of ``kind`` for the block if it is free; yield whether it was taken."""
    if connection.vendor == "postgresql":
        # The two-key form, with a namespace per kind, cannot collide with other users.
        keys = [zlib.crc32(kind.encode()) - (1 << 31), key % (1 << 32) - (1 << 31)]
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", keys)
            held = bool(cursor.fetchone()[0])
        try:
            yield held
        finally:
            if held:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s, %s)", keys)
        return
    with (lock_folder(kind) / str(key)).open("ab") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
