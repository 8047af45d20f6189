"""Single flight: of all requests for the same uncached thing, one fetches it, the others wait.

The lock is PostgreSQL's session advisory lock when the database is PostgreSQL (so web
processes on every host share it), else an ``flock`` on a file next to the blob store (every
process and thread of this host). Waiting polls, so a waiter gives up after a deadline instead
of hanging on a stuck fetch.
"""

import fcntl
import hashlib
import time
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import connection

from formats.errors import UpstreamTimeout
from storage.services import lock_folder

_ADVISORY_NAMESPACE = 0x50727879  # "Prxy"
_POLL_SECONDS = 0.02


def _key(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "big") - (1 << 31)


def _try_advisory(key: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [_ADVISORY_NAMESPACE, key])
        return bool(cursor.fetchone()[0])


def _release_advisory(key: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [_ADVISORY_NAMESPACE, key])


@contextmanager
def single_flight(name: str) -> Iterator[bool]:
    """Hold the lock called ``name`` for the block; yield whether another holder came first.

    Yields True when the lock was free at once (this caller is the leader), False when it had
    to wait for another holder (whose result the caller should look for first).

    Raises:
        UpstreamTimeout: the lock stayed busy for PROXY_FLIGHT_WAIT_SECONDS.
    """
    deadline = time.monotonic() + settings.PROXY_FLIGHT_WAIT_SECONDS
    waited = False
    if connection.vendor == "postgresql":
        key = _key(name)
        while not _try_advisory(key):
            waited = True
            if time.monotonic() > deadline:
                raise UpstreamTimeout("another request has been fetching this for too long")
            time.sleep(_POLL_SECONDS)
        try:
            yield not waited
        finally:
            _release_advisory(key)
        return
    path = lock_folder("flights") / hashlib.sha256(name.encode()).hexdigest()[:24]
    with path.open("ab") as handle:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                waited = True
                if time.monotonic() > deadline:
                    raise UpstreamTimeout(
                        "another request has been fetching this for too long"
                    ) from None
                time.sleep(_POLL_SECONDS)
        yield not waited
