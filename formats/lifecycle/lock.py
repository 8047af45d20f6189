"""One cleanup per repository at a time, across processes (and hosts, on PostgreSQL)."""

from collections.abc import Iterator
from contextlib import contextmanager

from storage.locks import lock_try


@contextmanager
def repository_lock(repository_pk: int) -> Iterator[bool]:
    """Hold the cleanup lock of a repository for the block; yield False if it is held already."""
    with lock_try("cleanup", repository_pk) as held:
        yield held
