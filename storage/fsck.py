"""Integrity check of the blob store: rows against files, files against rows, bytes against digests.

Safe next to uploads and garbage collection (see ``storage.services``): a row whose file seems
missing is looked up again before it is reported (collection deletes the row, then the file);
a mark is set only if the blob was not stored again meanwhile (``last_written`` unchanged), so
a repairing upload is never marked by a check that read the old bytes; and an orphan file is
removed only past the grace period, holding its digest's lock, with no row found under it.
"""

import hashlib
import logging
import random
import re
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TextIO

from django.conf import settings
from django.utils import timezone

from audit.models import Action
from audit.services import audit_record
from storage.backends import blob_backend
from storage.models import Blob, blob_path
from storage.progress import Progress
from storage.services import CHUNK_SIZE, digest_lock_try

logger = logging.getLogger(__name__)
BLOBS_PREFIX = "sha256"
_BLOB_FILE = re.compile(r"^sha256/([0-9a-f]{2})/(\1[0-9a-f]{62})$")
_BATCH = 1000


@dataclass
class FsckResult:
    """What one check found.

    Attributes:
        blobs: Blob rows checked.
        hashed: of those, how many had their bytes re-hashed (the sample).
        missing: digests whose file is gone (marked corrupt).
        corrupt: digests whose bytes no longer match (marked corrupt).
        orphans: store paths without a Blob row.
        removed: orphans removed (``repair`` only, past the grace period).
    """

    blobs: int = 0
    hashed: int = 0
    missing: list[str] = field(default_factory=list)
    corrupt: list[str] = field(default_factory=list)
    orphans: list[str] = field(default_factory=list)
    removed: int = 0

    def summary(self) -> dict[str, int]:
        return {
            "blobs": self.blobs,
            "hashed": self.hashed,
            "missing": len(self.missing),
            "corrupt": len(self.corrupt),
            "orphans": len(self.orphans),
            "removed": self.removed,
        }


def blob_fsck(
    *,
    sample: float = 100.0,
    repair: bool = False,
    grace: timedelta | None = None,
    progress: TextIO | None = None,
) -> FsckResult:
    """Check every Blob row has its file, every file its row, and re-hash ``sample`` percent.

    Missing and corrupt blobs are marked (``Blob.corrupt``), so serving them answers an error;
    a blob that checks out again is unmarked. Every problem is logged as a warning, and a
    summary line at the end; the run and its counts are audited (``fsck.run``).

    Args:
        sample: percentage (0-100) of blobs whose bytes are read and hashed, picked at random.
        repair: remove orphan files older than ``grace``.
        grace: ``BLOB_GC_GRACE_SECONDS`` by default: a file this recent may be an ingest
            whose row is about to be written.
        progress: a stream to draw progress bars on, when it is a terminal.
    """
    grace = timedelta(seconds=settings.BLOB_GC_GRACE_SECONDS) if grace is None else grace
    result = FsckResult()
    total = Blob.objects.count()
    bar = Progress("fsck blobs", total, stream=progress) if progress else None
    rows = Blob.objects.values_list("sha256", "size", "last_written", "corrupt")
    for sha256, size, last_written, marked in rows.iterator(chunk_size=_BATCH):
        _check_blob(sha256, size, last_written, marked, sample=sample, result=result)
        if bar:
            bar.advance()
    if bar:
        bar.close()
    bar = Progress("fsck files", total, stream=progress) if progress else None
    _check_files(cutoff=time.time() - grace.total_seconds(), repair=repair, result=result, bar=bar)
    if bar:
        bar.close()
    logger.info("fsck%s: %s", " (repair)" if repair else "", result.summary())
    audit_record(Action.FSCK_RUN, details={"sample": sample, "repair": repair, **result.summary()})
    return result


def _check_blob(
    sha256: str,
    size: int,
    last_written: datetime,
    marked: datetime | None,
    *,
    sample: float,
    result: FsckResult,
) -> None:
    result.blobs += 1
    path = blob_path(sha256)
    if not blob_backend().exists(path):
        if not Blob.objects.filter(pk=sha256).exists():
            result.blobs -= 1  # collected meanwhile
            return
        logger.warning("fsck: sha256:%s: file missing (%s)", sha256, path)
        result.missing.append(sha256)
        _mark(sha256, last_written, corrupt=True)
        return
    if random.uniform(0, 100) >= sample:  # noqa: S311 (a sample, not a secret)
        return
    result.hashed += 1
    try:
        actual, actual_size = _hash(path)
    except FileNotFoundError:
        return  # collected meanwhile: the next run sees the row gone
    if actual == sha256 and actual_size == size:
        if marked is not None:
            logger.info("fsck: sha256:%s: bytes match again, unmarked", sha256)
            _mark(sha256, last_written, corrupt=False)
        return
    logger.warning(
        "fsck: sha256:%s: corrupt (%d bytes hash to sha256:%s)", sha256, actual_size, actual
    )
    result.corrupt.append(sha256)
    _mark(sha256, last_written, corrupt=True)


def _hash(path: str) -> tuple[str, int]:
    hasher = hashlib.sha256()
    size = 0
    with blob_backend().open(path) as source:
        while chunk := source.read(CHUNK_SIZE):
            hasher.update(chunk)
            size += len(chunk)
    return hasher.hexdigest(), size


def _mark(sha256: str, last_written: datetime, *, corrupt: bool) -> None:
    # Unchanged last_written: no ingest stored (and so repaired) these bytes since they were read.
    Blob.objects.filter(pk=sha256, last_written=last_written).update(
        corrupt=timezone.now() if corrupt else None
    )


def _check_files(*, cutoff: float, repair: bool, result: FsckResult, bar: Progress | None) -> None:
    batch: list[tuple[str, float]] = []
    for entry in blob_backend().walk(BLOBS_PREFIX):
        batch.append(entry)
        if len(batch) >= _BATCH:
            _check_file_batch(batch, cutoff=cutoff, repair=repair, result=result)
            if bar:
                bar.advance(len(batch))
            batch = []
    _check_file_batch(batch, cutoff=cutoff, repair=repair, result=result)
    if bar:
        bar.advance(len(batch))


def _check_file_batch(
    entries: list[tuple[str, float]], *, cutoff: float, repair: bool, result: FsckResult
) -> None:
    named = {path: _BLOB_FILE.match(path) for path, _ in entries}
    digests = [match.group(2) for match in named.values() if match]
    known = set(Blob.objects.filter(pk__in=digests).values_list("pk", flat=True))
    for path, modified in entries:
        match = named[path]
        if match and match.group(2) in known:
            continue
        if match and Blob.objects.filter(pk=match.group(2)).exists():
            continue  # its row was written since the batch was read
        result.orphans.append(path)
        old = modified < cutoff
        logger.warning("fsck: %s: no Blob row%s", path, "" if old else " (within grace period)")
        if repair and old and _remove_orphan(path, match.group(2) if match else None):
            result.removed += 1


def _remove_orphan(path: str, sha256: str | None) -> bool:
    if sha256 is None:  # not a blob's name: nothing ingests it
        blob_backend().delete(path)
        return True
    with digest_lock_try(sha256) as held:
        # Under the digest's lock no ingest is between publishing the file and its row.
        if not held or Blob.objects.filter(pk=sha256).exists():
            return False
        blob_backend().delete(path)
        logger.info("fsck: removed orphan %s", path)
        return True
