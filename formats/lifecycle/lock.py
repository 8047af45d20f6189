"""One cleanup per repository at a time, across processes and hosts.

PostgreSQL's session advisory lock when the database is PostgreSQL, else an ``flock`` on a
file next to the blob store. A holder that dies releases it: no stale lock to clear by hand.
"""

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection

from storage.services import lock_folder

_ADVISORY_NAMESPACE = 0x436C6E70  # "Clnp"


@contextmanager
def repository_lock(repository_pk: int) -> Iterator[bool]:
    """Hold the cleanup lock of a repository for the block; yield False if it is held already."""
    if connection.vendor == "postgresql":
        key = [_ADVISORY_NAMESPACE, repository_pk % 2**31]  # the lock's keys are 32-bit
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", key)
            held = bool(cursor.fetchone()[0])
        try:
            yield held
        finally:
            if held:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s, %s)", key)
        return
    with (lock_folder("cleanup") / str(repository_pk)).open("ab") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
