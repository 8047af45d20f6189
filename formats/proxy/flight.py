"""Single flight: of all requests for the same uncached thing, one fetches it, the others wait.

The lock is ``storage.locks.lock_try`` (every web process and thread; every host on
PostgreSQL). Waiting polls, so a waiter gives up after a deadline instead of hanging on a
stuck fetch.
"""

import hashlib
import time
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings

from formats.errors import UpstreamTimeout
from storage.locks import lock_try

_POLL_SECONDS = 0.02


@contextmanager
def single_flight(name: str) -> Iterator[bool]:
    """Hold the lock called ``name`` for the block; yield whether another holder came first.

    Yields True when the lock was free at once (this caller is the leader), False when it had
    to wait for another holder (whose result the caller should look for first).

    Raises:
        UpstreamTimeout: the lock stayed busy for PROXY_FLIGHT_WAIT_SECONDS.
    """
    key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "big")
    deadline = time.monotonic() + settings.PROXY_FLIGHT_WAIT_SECONDS
    waited = False
    while True:
        with lock_try("flights", key) as held:
            if held:
                yield not waited
                return
        waited = True
        if time.monotonic() > deadline:
            raise UpstreamTimeout("another request has been fetching this for too long")
        time.sleep(_POLL_SECONDS)
