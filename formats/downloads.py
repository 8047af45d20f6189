"""Download statistics: counted where stored files are served, written in batches.

Formats serve an asset's bytes with ``asset_response`` (hosted, group and proxied files alike);
OCI serves manifests its own way and counts them with ``download_count``. A GET answered with
the file (200, 304, or a range from its first byte) adds one to a buffer: this process's
memory, or a Redis hash that every process shares when ``DOWNLOAD_STATS_URL`` is set.
``downloads_flush`` moves the buffer into the ``download_count`` and ``last_downloaded`` of
the assets and their versions, a few statements whatever the number of files (increments
computed in the database, so concurrent flushes lose nothing). Each serving process flushes
every ``DOWNLOAD_STATS_FLUSH_SECONDS`` (0: only the ``download_stats_flush_task`` of the
schedule and explicit calls do).
"""

import logging
import threading
import time
from datetime import UTC, datetime
from typing import Any

import redis
from django.conf import settings
from django.db import connection, transaction
from django.http import HttpRequest
from django.http.response import HttpResponseBase

from formats.download_log import (
    Taken,
    download_log_claim,
    download_log_counts,
    download_log_release,
    taken_add,
)
from formats.models import Asset, Version
from registry_project.db import quoted
from storage.responses import blob_response

logger = logging.getLogger(__name__)
COUNTS_KEY = "registry:downloads:counts"
LAST_KEY = "registry:downloads:last"


class _MemoryBuffer:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._taken: Taken = {}

    def add(self, counts: Taken) -> None:
        with self._lock:
            for asset_id, (count, at) in counts.items():
                taken_add(self._taken, asset_id, count, at)

    def take(self) -> Taken:
        with self._lock:
            taken, self._taken = self._taken, {}
        return taken


class _RedisBuffer:
    def __init__(self, url: str) -> None:
        self._client = redis.Redis.from_url(url)

    def add(self, counts: Taken) -> None:
        pipe = self._client.pipeline(transaction=False)
        for asset_id, (count, at) in counts.items():
            pipe.hincrby(COUNTS_KEY, str(asset_id), count)
            pipe.hset(LAST_KEY, str(asset_id), repr(at))
        pipe.execute()

    def take(self) -> Taken:
        pipe = self._client.pipeline(transaction=True)  # MULTI: nothing lands between the two
        pipe.hgetall(COUNTS_KEY)
        pipe.hgetall(LAST_KEY)
        pipe.delete(COUNTS_KEY, LAST_KEY)
        counts, last, _ = pipe.execute()
        now = time.time()
        return {int(key): (int(value), float(last.get(key, now))) for key, value in counts.items()}


_buffer: _MemoryBuffer | _RedisBuffer | None = None
_flusher: threading.Thread | None = None
_setup_lock = threading.Lock()


def _current_buffer() -> _MemoryBuffer | _RedisBuffer:
    global _buffer, _flusher
    if _buffer is None:
        with _setup_lock:
            if _buffer is None:
                url = settings.DOWNLOAD_STATS_URL
                _buffer = _RedisBuffer(url) if url else _MemoryBuffer()
            if _flusher is None and settings.DOWNLOAD_STATS_FLUSH_SECONDS > 0:
                _flusher = threading.Thread(target=_flush_forever, name="downloads", daemon=True)
                _flusher.start()
    return _buffer


def downloads_flusher_start() -> None:
    """Start this process's periodic flush now, not at its first download.

    For serving processes (gunicorn's ``post_worker_init``): with every file sent by nginx from
    the mirror, no download may ever reach one, and the log nginx writes must still be read.
    """
    _current_buffer()


def _flush_forever() -> None:
    while True:
        time.sleep(settings.DOWNLOAD_STATS_FLUSH_SECONDS)
        try:
            downloads_flush()
        except Exception:
            logger.exception("download statistics: flush failed; retried at the next interval")
        finally:
            connection.close()  # this thread's own; idle until the next interval


def download_record(*, asset_id: int) -> None:
    """Count one download of the asset (never fails the download: a lost count is logged)."""
    try:
        _current_buffer().add({asset_id: (1, time.time())})
    except redis.RedisError:
        logger.warning("download statistics: Redis unreachable, a download was not counted")


def _counted(request: HttpRequest, response: HttpResponseBase) -> bool:
    if request.method != "GET":
        return False
    if response.status_code == 206:
        return response["Content-Range"].startswith("bytes 0-")
    return response.status_code in (200, 304)


def download_count(request: HttpRequest, response: HttpResponseBase, *, asset_id: int) -> None:
    """Count a download of the asset if ``response`` to ``request`` delivers its file."""
    if _counted(request, response):
        download_record(asset_id=asset_id)


def asset_response(
    request: HttpRequest,
    asset: Asset,
    *,
    content_type: str | None = None,
    headers: dict[str, str] | None = None,
) -> HttpResponseBase:
    """Serve ``asset``'s bytes (``blob_response``: Range, ETag, HEAD) and count the download."""
    response = blob_response(
        request, asset.blob, content_type=content_type or asset.media_type, headers=headers
    )
    download_count(request, response, asset_id=asset.pk)
    return response


def downloads_flush() -> int:
    """Write the buffered downloads, and those nginx logged, to their assets and versions.

    Returns how many. A failed write gives the counts back to the buffer and the log files
    back to ``MIRROR_DOWNLOADS_DIR`` for the next flush.
    """
    buffer = _current_buffer()
    buffered = buffer.take()
    logs = download_log_claim()
    try:
        taken = dict(buffered)
        for asset_id, (count, at) in download_log_counts(logs).items():
            taken_add(taken, asset_id, count, at)
        if taken:
            _apply(taken)
    except Exception:
        buffer.add(buffered)
        download_log_release(logs, written=False)
        raise
    download_log_release(logs, written=True)
    if not taken:
        return 0
    total = sum(count for count, _ in taken.values())
    logger.info("download statistics: %d downloads of %d files written", total, len(taken))
    return total


# Rows written by one statement; a flush of more files takes several.
FLUSH_BATCH = 500


def _counts_update(model: type[Asset] | type[Version], counts: Taken) -> None:
    """Add ``counts`` to the rows of ``model`` in one statement per ``FLUSH_BATCH`` rows.

    ``UPDATE ... FROM`` a list of values (PostgreSQL, SQLite 3.33+): each row's count grows by
    its increment in the database, so concurrent flushes add up; ids in one order for every
    flush, so two never deadlock.
    """
    table = quoted(model)
    pk, count, last = (quoted(model, f) for f in ("id", "download_count", "last_downloaded"))
    later = "GREATEST" if connection.vendor == "postgresql" else "MAX"  # SQLite's scalar max
    at = "CAST(v.at AS TIMESTAMP WITH TIME ZONE)" if connection.vendor == "postgresql" else "v.at"
    ids = sorted(counts)
    for first in range(0, len(ids), FLUSH_BATCH):
        batch = ids[first : first + FLUSH_BATCH]
        values = ", ".join(["(%s, %s, %s)"] * len(batch))
        params: list[Any] = []
        for row_id in batch:
            added, when = counts[row_id]
            moment = datetime.fromtimestamp(when, UTC)
            params += [row_id, added, connection.ops.adapt_datetimefield_value(moment)]
        with connection.cursor() as cursor:
            cursor.execute(
                f"WITH v (id, n, at) AS (VALUES {values}) "
                f"UPDATE {table} SET {count} = {table}.{count} + CAST(v.n AS BIGINT), "
                f"{last} = {later}(COALESCE({table}.{last}, {at}), {at}) "
                f"FROM v WHERE {table}.{pk} = CAST(v.id AS BIGINT)",
                params,
            )


def _apply(taken: Taken) -> None:
    per_version: Taken = {}
    with transaction.atomic():
        owners = dict(Asset.objects.filter(pk__in=list(taken)).values_list("pk", "version_id"))
        _counts_update(Asset, {asset_id: taken[asset_id] for asset_id in owners})
        for asset_id, version_id in owners.items():
            if version_id is not None:
                taken_add(per_version, version_id, *taken[asset_id])
        _counts_update(Version, per_version)
