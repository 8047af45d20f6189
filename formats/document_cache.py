"""The bytes of generated documents, kept in this process's memory under their ETag.

A packument of 5,000 versions is megabytes; fetching it from the database is most of what
serving it costs (PostgreSQL sends ``bytea`` as hex text). ``document_get`` reads the row with
its content only when the row's ETag differs from the one cached here, so an unchanged
document costs one short statement. The ETag is a hash of the content, so a cached entry can
never be served for other bytes, whichever process or transaction wrote the row.
"""

import threading
from collections import OrderedDict
from collections.abc import Hashable

from django.conf import settings


class DocumentCache:
    """A least-recently-used map of slots (``(repository id, key)`` for stored documents; any
    hashable key for documents built on read) to ``(etag, content)``.

    Bounded by the total size of the contents, ``budget`` bytes; a content larger than the
    budget is not kept. Safe to share between threads.
    """

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self._size = 0
        self._entries: OrderedDict[Hashable, tuple[str, bytes]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, slot: Hashable) -> tuple[str, bytes] | None:
        """Return the cached ``(etag, content)`` of ``slot``, or None."""
        with self._lock:
            entry = self._entries.get(slot)
            if entry is not None:
                self._entries.move_to_end(slot)
            return entry

    def put(self, slot: Hashable, etag: str, content: bytes) -> None:
        """Keep ``content`` as the content of ``slot`` under ``etag``, evicting the oldest."""
        self.discard(slot)
        if len(content) > self.budget:
            return
        with self._lock:
            self._entries[slot] = (etag, content)
            self._size += len(content)
            while self._size > self.budget:
                _, (_, evicted) = self._entries.popitem(last=False)
                self._size -= len(evicted)

    def discard(self, slot: Hashable) -> None:
        """Forget ``slot`` (its document is gone)."""
        with self._lock:
            entry = self._entries.pop(slot, None)
            if entry is not None:
                self._size -= len(entry[1])


documents = DocumentCache(budget=settings.DOCUMENT_CACHE_BYTES)
