"""Writes to the blob store: streaming ingest, resumable uploads, garbage collection.

Bytes are hashed while they stream to a temporary file next to the store, verified, and only
then renamed into place; the ``Blob`` row is created after the bytes exist, so no row ever
points at nothing and no failed upload leaves anything visible.

Ingest and garbage collection of one digest (several web processes and workers, PostgreSQL
under READ COMMITTED or SQLite on one host):

- Every process that holds a temporary file (an ingest, Django's spooled multipart parts)
  keeps an exclusive ``flock`` on it while it may still use it; the temp-file sweep removes
  only files it can lock itself, so an upload in progress is never swept, whatever its age.
- Ingest, after hashing, takes the digest's lock (PostgreSQL: ``pg_advisory_xact_lock``,
  released by its commit; SQLite: an ``flock`` on a stripe file, around its transaction) and,
  holding it, makes sure of both halves: when the row is missing (collected meanwhile) or the
  file is, it publishes the bytes it holds, then creates the row or refreshes ``last_written``.
- Garbage collection works on batches of digests. It takes their locks without waiting (a
  digest being ingested is fresh; skipping it also rules out lock cycles), then, in one
  transaction per batch, locks the rows ``FOR UPDATE SKIP LOCKED``, re-checks ``last_written``
  and that nothing refers to them in a fresh statement, deletes them and commits; only after
  the commit, still holding the locks, it removes the files. An ingest waiting for a lock
  therefore sees either row and file, or neither, and restores both.
- A transaction that writes a row referring to a Blob calls ``blob_hold`` first: ``FOR KEY
  SHARE`` on the row, which conflicts with the collector's ``FOR UPDATE``. Either the
  collector comes second and skips the row (it is in use), or it came first and the writer,
  once the collector committed, finds the row gone and raises BlobCollected (503, retry)
  instead of committing a dangling reference. The foreign keys (deferred to commit, on both
  databases) are the last net: a collector's delete that a reference slipped past fails at
  commit, before any unlink.
"""

import errno
import hashlib
import hmac
import io
import itertools
import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import BinaryIO, cast
from uuid import UUID

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Exists, OuterRef, QuerySet, Sum
from django.db.models.expressions import Combinable
from django.utils import timezone

from audit.models import Action
from audit.services import audit_record
from registry_project.db import placeholders, quoted, values_list
from registry_project.metrics import GC_FREED_BYTES
from storage.backends import ChunkWriter, blob_backend
from storage.errors import (
    BlobCollected,
    BlobTooLarge,
    DigestMismatch,
    InsufficientStorage,
    UploadOutOfOrder,
    UploadUnknown,
)
from storage.locks import file_lock, lock_file, session_lock
from storage.models import Blob, Upload, blob_path

logger = logging.getLogger(__name__)
# Blobs garbage collection locks, deletes and unlinks together. Two batches' digest locks are
# held at once (see _Unlinker): PostgreSQL's shared lock table has 64 per connection by default.
GC_BATCH = 1000
# Files removed at once: a cold unlink waits for the disk, an object store's delete for the network.
GC_DELETERS = 16
CHUNK_SIZE = 1024 * 1024
BUFFERS = 4  # per ingest: one filling, the others being written and hashed
ALGORITHMS = ("sha256", "sha512", "sha1", "md5")
OPTIONAL_ALGORITHMS = ("sha512", "sha1", "md5")


def _update_all(chunk: memoryview, hashers: Iterable["hashlib._Hash"]) -> None:
    for hasher in hashers:
        hasher.update(chunk)


def _fill(source: BinaryIO, buffer: bytearray) -> int:
    """Read from ``source`` into ``buffer`` until it is full or the content ends; return how
    many bytes it holds (fewer than its size only at the end)."""
    readinto = getattr(source, "readinto", None)
    view = memoryview(buffer)
    filled = 0
    if readinto is None:
        while filled < len(buffer) and (data := source.read(len(buffer) - filled)):
            view[filled : filled + len(data)] = data
            filled += len(data)
        return filled
    while filled < len(buffer) and (count := readinto(view[filled:])):
        filled += count
    return filled


def _hash_into(
    *,
    source: BinaryIO,
    target: ChunkWriter | None,
    algorithms: Iterable[str],
    max_size: int,
    hashers: dict[str, "hashlib._Hash"] | None = None,
) -> tuple[dict[str, str], int]:
    # Three things overlap: filling the next buffer (here), writing and hashing the ones before
    # it (a thread each, in order; file writes and hashlib release the GIL), so ingest runs near
    # disk speed. Buffers are reused and sources with ``readinto`` fill them without a copy.
    # ``hashers`` continues running hashes instead of starting new ones for ``algorithms``.
    if hashers is None:
        hashers = {name: hashlib.new(name) for name in algorithms}
    size = 0
    first = bytearray(CHUNK_SIZE)
    count = _fill(source, first)
    if count < CHUNK_SIZE:
        # The whole content fits one buffer (a tarball, a wheel, a manifest: most ingests).
        # Threads would cost more than they overlap: hash and write it here.
        if count > max_size:
            raise BlobTooLarge(limit=max_size)
        chunk = memoryview(first)[:count]
        _update_all(chunk, hashers.values())
        if target is not None and count:
            target.write(chunk)
        return {name: hasher.hexdigest() for name, hasher in hashers.items()}, count
    buffers = [first, *(bytearray(CHUNK_SIZE) for _ in range(BUFFERS - 1))]
    in_use: list[list[Future]] = [[] for _ in buffers]
    with ThreadPoolExecutor(1) as hashing, ThreadPoolExecutor(1) as writing:
        for turn in itertools.count():
            slot = turn % len(buffers)
            for future in in_use[slot]:
                future.result()
            if turn:
                count = _fill(source, buffers[slot])
            if not count:
                break
            if size + count > max_size:
                raise BlobTooLarge(limit=max_size)
            chunk = memoryview(buffers[slot])[:count]
            in_use[slot] = [hashing.submit(_update_all, chunk, hashers.values())]
            if target is not None:
                in_use[slot].append(writing.submit(target.write, chunk))
            size += count
        for futures in in_use:
            for future in futures:
                future.result()
    return {name: hasher.hexdigest() for name, hasher in hashers.items()}, size


def _verify(*, digests: Mapping[str, str], expected: Mapping[str, str]) -> None:
    for algorithm, value in expected.items():
        if not hmac.compare_digest(digests[algorithm], value.lower()):
            logger.warning(
                "digest mismatch: expected %s:%s, got %s", algorithm, value, digests[algorithm]
            )
            raise DigestMismatch(
                expected=f"{algorithm}:{value}", actual=f"{algorithm}:{digests[algorithm]}"
            )


# Both forms of PostgreSQL advisory lock share one table; the two-key form with a namespace of
# our own cannot collide with single-key users. Digests that share 32 bits only wait for each
# other.
_ADVISORY_NAMESPACE = 0x426C6F62  # "Blob"


def _advisory_key(sha256: str) -> int:
    return int(sha256[:8], 16) - (1 << 31)


@contextmanager
def _publishing(sha256: str) -> Iterator[None]:
    """Run the body in a transaction holding ``sha256``'s lock until it commits.

    Held by ingest around "ensure the file, ensure the row"; see the module docstring.
    """
    if connection.vendor == "postgresql":
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_advisory_xact_lock(%s, %s)",
                    [_ADVISORY_NAMESPACE, _advisory_key(sha256)],
                )
            yield
    else:
        with file_lock(lock_file(sha256[:2]), wait=True, create=True), transaction.atomic():
            yield


@contextmanager
def digest_lock_try(sha256: str) -> Iterator[bool]:
    """Hold ``sha256``'s lock across a commit and what follows it; yield False if it is busy.

    The lock garbage collection and fsck take before they remove what a digest names.
    """
    with digest_locks_try([sha256]) as held:
        yield bool(held)


@contextmanager
def digest_locks_try(sha256s: Iterable[str]) -> Iterator[list[str]]:
    """Hold the locks of those of ``sha256s`` that are free; yield those digests.

    ``digest_lock_try`` for a batch, in one round trip on PostgreSQL: none is waited for, so
    a collector never queues behind an ingest, nor an ingest behind a collector for longer
    than the collector's batch.
    """
    wanted = list(sha256s)
    if connection.vendor != "postgresql":
        with ExitStack() as stack:
            stripes = {}
            for stripe in sorted({sha256[:2] for sha256 in wanted}):
                stripes[stripe] = stack.enter_context(
                    file_lock(lock_file(stripe), wait=False, create=True)
                )
            yield [sha256 for sha256 in wanted if stripes[sha256[:2]]]
        return
    # Digests sharing a key share its lock: each key is taken once and released once.
    keys = sorted({_advisory_key(sha256) for sha256 in wanted})
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT key FROM unnest(%s::int4[]) AS key WHERE pg_try_advisory_lock(%s, key)",
            [keys, _ADVISORY_NAMESPACE],
        )
        held = {row[0] for row in cursor.fetchall()}
    try:
        yield [sha256 for sha256 in wanted if _advisory_key(sha256) in held]
    finally:
        if held:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_advisory_unlock(%s, key) FROM unnest(%s::int4[]) AS key",
                    [_ADVISORY_NAMESPACE, sorted(held)],
                )


_UPLOAD_NAMESPACE = 0x55706C64  # "Upld"


@contextmanager
def _upload_lock(upload_id: UUID, *, wait: bool) -> Iterator[bool]:
    """Hold one upload session's lock: appends, finishing and collecting it take turns.

    A lock rather than a database transaction: the bytes stream for as long as the client sends
    them, and on SQLite a transaction held that long would block every other writer.
    """
    key = upload_id.int % (1 << 32) - (1 << 31)
    with session_lock(_UPLOAD_NAMESPACE, key, file=f"upload-{key & 0xFF:02x}", wait=wait) as held:
        yield held


def _publish(*, publish: Callable[[str], None], digests: Mapping[str, str], size: int) -> Blob:
    """Make verified bytes visible (``publish`` them under their path) unless they already are.

    Bytes not published are dropped by their writer afterwards.
    """
    backend = blob_backend()
    path = blob_path(digests["sha256"])
    known = {name: digests.get(name, "") for name in OPTIONAL_ALGORITHMS}
    with _publishing(digests["sha256"]):
        blob = Blob.objects.filter(pk=digests["sha256"]).first()
        if blob is None or blob.corrupt is not None or not backend.exists(path):
            publish(path)  # new, or verified bytes repair what fsck found
        if blob is None:
            return Blob.objects.create(sha256=digests["sha256"], size=size, **known)
        # Refresh last_written so garbage collection's grace period restarts for re-sent content.
        missing = {
            name: value for name, value in known.items() if value and not getattr(blob, name)
        }
        blob.last_written = timezone.now()
        blob.corrupt = None
        Blob.objects.filter(pk=blob.pk).update(
            last_written=blob.last_written, corrupt=None, **missing
        )
        for name, value in missing.items():
            setattr(blob, name, value)
    return blob


def blob_hold(*, blob: Blob) -> None:
    """Keep ``blob`` from garbage collection until the current transaction ends.

    Call it inside the transaction that writes a row referring to ``blob``, before the write.

    Raises:
        BlobCollected: garbage collection removed the blob since it was ingested.
    """
    if connection.vendor == "postgresql":
        table = connection.ops.quote_name(Blob._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT 1 FROM {table} WHERE sha256 = %s FOR KEY SHARE", [blob.pk])
            present = cursor.fetchone() is not None
    else:
        # SQLite transactions here are IMMEDIATE: the collector cannot commit until this does.
        present = Blob.objects.filter(pk=blob.pk).exists()
    if not present:
        raise BlobCollected(digest=blob.digest)


@contextmanager
def disk_full_errors() -> Iterator[None]:
    """Turn a full disk (ENOSPC, EDQUOT) met inside the block into InsufficientStorage (507).

    The services here use it for every write; code that writes request bytes to local disk
    itself (Django spooling a multipart upload) wraps that in it too.
    """
    try:
        yield
    except OSError as error:
        if error.errno in (errno.ENOSPC, errno.EDQUOT):
            raise InsufficientStorage() from error
        raise


def _algorithms_for(*, expected: Mapping[str, str], extra: Iterable[str]) -> list[str]:
    wanted = {"sha256", *expected, *extra}
    return [name for name in ALGORITHMS if name in wanted]


def blob_ingest(
    *,
    stream: BinaryIO,
    expected: Mapping[str, str] | None = None,
    algorithms: Iterable[str] = (),
    max_size: int | None = None,
) -> Blob:
    """Store the bytes read from ``stream`` under their sha256 and return their Blob.

    Args:
        stream: readable binary stream; read in chunks, never whole.
        expected: digests the content must have, as ``{"sha256": hex}`` (any of sha256, sha512,
            sha1, md5); on a mismatch nothing is stored and DigestMismatch is raised.
        algorithms: further digests to compute in the same pass and keep on the Blob.
        max_size: refuse (BlobTooLarge) content larger than this; the setting by default.

    Storing content that already exists is a no-op returning the existing Blob.
    """
    expected = dict(expected or {})
    limit = settings.REGISTRY_MAX_UPLOAD_SIZE if max_size is None else max_size
    with disk_full_errors(), blob_backend().writer(prefix="ingest-") as target:
        digests, size = _hash_into(
            source=stream,
            target=target,
            algorithms=_algorithms_for(expected=expected, extra=algorithms),
            max_size=limit,
        )
        _verify(digests=digests, expected=expected)
        return _publish(publish=target.publish, digests=digests, size=size)


def blob_ingest_passing(
    *,
    chunks: Iterable[bytes],
    expected: Mapping[str, str] | None = None,
    max_size: int | None = None,
) -> Generator[bytes, None, Blob]:
    """Store ``chunks`` as ``blob_ingest`` does, handing each chunk on once it is written.

    For a cache that fills while it serves: ``blob = yield from blob_ingest_passing(...)``
    passes every chunk through to the caller's consumer, and its value is the Blob, made
    visible only after the whole content was verified. A mismatch raises DigestMismatch after
    the last chunk and stores nothing; a consumer that stops early stores nothing either.
    """
    expected = dict(expected or {})
    limit = settings.REGISTRY_MAX_UPLOAD_SIZE if max_size is None else max_size
    hashers = {name: hashlib.new(name) for name in _algorithms_for(expected=expected, extra=())}
    size = 0
    with disk_full_errors(), blob_backend().writer(prefix="passing-") as target:
        for chunk in chunks:
            size += len(chunk)
            if size > limit:
                raise BlobTooLarge(limit=limit)
            view = memoryview(chunk)
            _update_all(view, hashers.values())
            target.write(view)
            yield chunk
        digests = {name: hasher.hexdigest() for name, hasher in hashers.items()}
        _verify(digests=digests, expected=expected)
        return _publish(publish=target.publish, digests=digests, size=size)


def blob_ingest_bytes(*, content: bytes, expected: Mapping[str, str] | None = None) -> Blob:
    """Store a small document (a manifest, a metadata file) already in memory."""
    return blob_ingest(stream=io.BytesIO(content), expected=expected, max_size=len(content))


def blob_checksums(*, blob: Blob) -> Blob:
    """Fill the digests the Blob does not know yet, reading its bytes once; return the Blob."""
    missing = [name for name in OPTIONAL_ALGORITHMS if not getattr(blob, name)]
    if missing:
        with blob_backend().open(blob.path) as source:
            digests, _ = _hash_into(
                source=source, target=None, algorithms=missing, max_size=blob.size
            )
        Blob.objects.filter(pk=blob.pk).update(**digests)
        for name, value in digests.items():
            setattr(blob, name, value)
    return blob


def upload_start(*, owner: User | AnonymousUser | None, scope: str) -> Upload:
    """Open a resumable upload bound to ``scope`` (the protocol context that may continue it)."""
    upload = Upload.objects.create(
        owner=owner if owner and owner.is_authenticated else None, scope=scope
    )
    blob_backend().session_start(upload.path)
    return upload


class UploadWriter:
    """One append to an upload session in progress (``upload_writing``): chunks are hashed
    into the session's running digests and written in order; ``written`` counts them."""

    def __init__(
        self,
        *,
        upload: Upload,
        target: ChunkWriter,
        hashers: dict[str, "hashlib._Hash"],
        limit: int,
    ) -> None:
        self.upload, self.target, self.hashers, self.limit = upload, target, hashers, limit
        self.written = 0

    def write(self, chunk: memoryview) -> None:
        """Append ``chunk``; BlobTooLarge once the session would pass its size limit."""
        if self.upload.size + self.written + len(chunk) > self.limit:
            raise BlobTooLarge(limit=self.limit)
        _update_all(chunk, self.hashers.values())
        self.target.write(chunk)
        self.written += len(chunk)


@contextmanager
def upload_writing(
    *,
    upload: Upload,
    offset: int | None = None,
    algorithms: Iterable[str] = (),
    max_size: int | None = None,
) -> Iterator[UploadWriter]:
    """Append to ``upload`` what is written to the yielded writer; it counts once the block ends.

    For bytes pushed as they arrive (a multipart part Django's parser hands over chunk by
    chunk); ``upload_append`` pulls them from a stream. The session's lock is held throughout,
    so garbage collection leaves it alone however long the bytes take. A block that fails adds
    nothing.

    Args:
        upload: the session.
        offset: when the client states one, it must equal the bytes so far.
        algorithms: digests to run beside sha256 from the session's first byte, so that
            ``upload_finish`` in this process need not read the bytes again to check them.
        max_size: the session's size limit; the setting by default.

    Raises:
        UploadUnknown: the session is gone (collected as abandoned).
        UploadOutOfOrder: ``offset`` is not the session's size.
    """
    limit = settings.REGISTRY_MAX_UPLOAD_SIZE if max_size is None else max_size
    with _upload_lock(upload.pk, wait=True), ExitStack() as session:
        current = Upload.objects.filter(pk=upload.pk).first()
        if current is None:
            raise UploadUnknown(upload=str(upload.pk))  # collected as abandoned
        if offset is not None and offset != current.size:
            raise UploadOutOfOrder(expected_offset=current.size, offset=offset)
        session.enter_context(disk_full_errors())
        try:
            target = session.enter_context(
                blob_backend().session_append(current.path, size=current.size)
            )
        except FileNotFoundError:
            raise UploadUnknown(upload=str(upload.pk)) from None  # its bytes were lost
        running = _running_hashes_take(upload=current)
        if running is None and current.size == 0:
            running = {name: hashlib.new(name) for name in ("sha256", *algorithms)}
        writer = UploadWriter(upload=current, target=target, hashers=running or {}, limit=limit)
        yield writer
        session.close()  # the chunk is stored: only now does it count
        current.size += writer.written
        current.updated = timezone.now()
        # Garbage collection may have abandoned the session while the chunk streamed in (a
        # client idle past the grace period); the client starts over, as the spec lets it.
        if not Upload.objects.filter(pk=current.pk).update(
            size=current.size, updated=current.updated
        ):
            raise UploadUnknown(upload=str(current.pk))
        if running is not None:
            _running_hashes_keep(upload=current, hashers=running)


def upload_append(
    *,
    upload: Upload,
    stream: BinaryIO,
    offset: int | None = None,
    algorithms: Iterable[str] = (),
    max_size: int | None = None,
) -> Upload:
    """Append a chunk; ``offset`` (when the client states one) must equal the bytes so far.

    ``algorithms`` and ``max_size`` are ``upload_writing``'s.
    """
    with upload_writing(
        upload=upload, offset=offset, algorithms=algorithms, max_size=max_size
    ) as writer:
        _, writer.written = _hash_into(
            source=stream,
            target=writer.target,
            algorithms=(),
            max_size=writer.limit - writer.upload.size,
            hashers=writer.hashers,
        )
    return writer.upload


# The running digests of the sessions this process appended to, keyed by upload id and size:
# when the same process closes the session, upload_finish need not read the bytes again.
# Another process (or a size that moved on elsewhere) simply misses and re-reads.
_RUNNING_HASHES_MAX = 256
_running_hashes: "OrderedDict[object, tuple[int, dict[str, hashlib._Hash]]]" = OrderedDict()
_running_hashes_lock = threading.Lock()


def _running_hashes_take(
    *, upload: Upload, keep: bool = False
) -> "dict[str, hashlib._Hash] | None":
    with _running_hashes_lock:
        entry = _running_hashes.get(upload.pk) if keep else _running_hashes.pop(upload.pk, None)
    return entry[1] if entry is not None and entry[0] == upload.size else None


def _running_hashes_keep(*, upload: Upload, hashers: "dict[str, hashlib._Hash]") -> None:
    with _running_hashes_lock:
        _running_hashes[upload.pk] = (upload.size, hashers)
        while len(_running_hashes) > _RUNNING_HASHES_MAX:
            _running_hashes.popitem(last=False)


def upload_open(*, upload: Upload) -> BinaryIO:
    """Seal the session and open its bytes (seekable, buffered), to look inside them before
    ``upload_finish``.

    Raises:
        UploadUnknown: garbage collection abandoned the session meanwhile.
    """
    backend = blob_backend()
    with _upload_lock(upload.pk, wait=True):
        if not Upload.objects.filter(pk=upload.pk).exists():
            raise UploadUnknown(upload=str(upload.pk))
        try:
            backend.session_seal(upload.path, size=upload.size)
            stream = backend.open(upload.path)
        except FileNotFoundError:
            raise UploadUnknown(upload=str(upload.pk)) from None
    if isinstance(stream, io.RawIOBase):  # an object store's: a read may come back short
        return cast(BinaryIO, io.BufferedReader(stream))
    return stream


def upload_sha256(*, upload: Upload) -> str:
    """Return the sha256 of the session's bytes: its running hash in the process that appended
    them, else read from the sealed session."""
    running = _running_hashes_take(upload=upload, keep=True)
    if running and "sha256" in running:
        return running["sha256"].hexdigest()
    with upload_open(upload=upload) as source:
        digests, _ = _hash_into(
            source=source, target=None, algorithms=("sha256",), max_size=upload.size
        )
    return digests["sha256"]


def upload_finish(*, upload: Upload, expected: Mapping[str, str]) -> Blob:
    """Verify the accumulated bytes against ``expected`` and turn them into a Blob.

    Raises:
        UploadUnknown: garbage collection abandoned the session meanwhile.
        DigestMismatch: the bytes do not have the expected digests; the session stays open.
    """
    backend = blob_backend()
    with _upload_lock(upload.pk, wait=True):  # garbage collection leaves a locked session alone
        if not Upload.objects.filter(pk=upload.pk).exists():
            raise UploadUnknown(upload=str(upload.pk))
        try:
            backend.session_seal(upload.path, size=upload.size)
        except FileNotFoundError:
            raise UploadUnknown(upload=str(upload.pk)) from None
        running = _running_hashes_take(upload=upload)
        if running and set(expected) <= set(running):
            digests = {name: hasher.hexdigest() for name, hasher in running.items()}
            size = upload.size
        else:
            with backend.open(upload.path) as source:
                digests, size = _hash_into(
                    source=source,
                    target=None,
                    algorithms=_algorithms_for(expected=expected, extra=()),
                    max_size=upload.size,
                )
        _verify(digests=digests, expected=expected)
        blob = _publish(
            publish=lambda path: backend.session_publish(upload.path, path),
            digests=digests,
            size=size,
        )
        upload_cancel(upload=upload)  # what publishing left of the session
    return blob


def upload_cancel(*, upload: Upload) -> None:
    """Forget an upload and its bytes."""
    blob_backend().session_delete(upload.path)
    upload.delete()


@contextmanager
def upload_session(*, owner: User | AnonymousUser | None, scope: str) -> Iterator[Upload]:
    """Open an upload session for the block (``upload_start``); it is forgotten when the block
    ends, unless ``upload_finish`` made a blob of it meanwhile."""
    upload = upload_start(owner=owner, scope=scope)
    try:
        yield upload
    finally:
        if Upload.objects.filter(pk=upload.pk).exists():
            upload_cancel(upload=upload)


@dataclass(frozen=True)
class BlobGcResult:
    """What one garbage collection pass of the blob store removed (or, dry, would remove).

    Attributes:
        blobs: unreferenced blobs past the grace period.
        bytes: their total size.
        uploads: upload sessions untouched for longer than the grace period.
        temp_files: temporary files no process holds, older than the grace period.
    """

    blobs: int
    bytes: int
    uploads: int
    temp_files: int


def blob_gc(
    *,
    grace: timedelta | None = None,
    dry_run: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> BlobGcResult:
    """Delete blobs nothing refers to, abandoned uploads and stale temporary files.

    References are every foreign key to Blob, whichever app declares it, so the store needs
    no knowledge of formats. The grace period protects content ingested a moment before the
    row that will refer to it is written. Blobs go in batches of ``GC_BATCH``, each in a short
    transaction, so the work per batch is a fixed number of queries; how a deletion stays
    safe next to concurrent ingests is the module's docstring.

    Args:
        grace: how long unreferenced content and idle uploads are kept;
            ``BLOB_GC_GRACE_SECONDS`` by default.
        dry_run: count what would go and remove nothing.
        progress: called with (blobs examined, candidates in all) after each batch.
    """
    grace = timedelta(seconds=settings.BLOB_GC_GRACE_SECONDS) if grace is None else grace
    cutoff = timezone.now() - grace
    candidates = Blob.objects.filter(*_unreferenced(), last_written__lt=cutoff)
    if dry_run:
        totals = candidates.aggregate(blobs=Count("pk"), bytes=Sum("size"))
        blobs, size = totals["blobs"], totals["bytes"] or 0
    else:
        blobs = size = 0
        total = candidates.count() if progress is not None else 0
        examined = 0
        with _Unlinker() as unlinker:
            for batch in _batches(candidates):
                collected = _blobs_collect(sha256s=batch, cutoff=cutoff, unlinker=unlinker)
                blobs += len(collected)
                size += sum(collected.values())
                examined += len(batch)
                if progress is not None:
                    progress(examined, max(total, examined))
    uploads = 0
    for upload_id in Upload.objects.filter(updated__lt=cutoff).values_list("pk", flat=True):
        if dry_run or _upload_collect(upload_id=upload_id, cutoff=cutoff):
            uploads += 1
    temp_files = _remove_stale_temp_files(
        older_than=time.time() - grace.total_seconds(), dry_run=dry_run
    )
    result = BlobGcResult(blobs=blobs, bytes=size, uploads=uploads, temp_files=temp_files)
    logger.info("blob gc%s: %s", " (dry run)" if dry_run else "", result)
    if not dry_run:
        GC_FREED_BYTES.inc(size)
    if not dry_run and any(asdict(result).values()):  # a run that freed nothing changed nothing
        audit_record(Action.GC_RUN, details={"collector": "blobs", **asdict(result)})
    return result


def _unreferenced() -> list[Combinable]:
    """Conditions on Blob: no row of any model with a foreign key to Blob refers to it."""
    return [
        ~Exists(
            relation.related_model._default_manager.filter(**{relation.field.name: OuterRef("pk")})
        )
        for relation in Blob._meta.related_objects
    ]


def _unreferenced_sql() -> tuple[str, list]:
    """``_unreferenced`` as an SQL condition on Blob's table (and its parameters)."""
    query = Blob.objects.filter(*_unreferenced()).query
    sql, params = query.get_compiler(using="default").compile(query.where)
    return sql, list(params)


def _batches(candidates: "QuerySet[Blob]") -> Iterator[list[str]]:
    """Yield the digests of ``candidates`` in batches of ``GC_BATCH``, in digest order.

    Each batch is a fresh query from where the last one ended (keyset pagination), so no
    cursor stays open across the batches' transactions and the cost of a batch does not grow
    with how many came before.
    """
    last = ""
    while True:
        page = candidates.filter(sha256__gt=last).order_by("sha256")
        batch = list(page.values_list("sha256", flat=True)[:GC_BATCH])
        if not batch:
            return
        yield batch
        last = batch[-1]


class _Unlinker:
    """Removes the files of one batch in a thread pool while the next batch's rows go.

    A cold unlink waits for the disk (an object store's delete for the network), so the files
    go ``GC_DELETERS`` at a time. Each batch's digest locks are released only once its files
    are gone; meanwhile the next batch takes its own. On PostgreSQL a session may take an
    advisory lock it holds again, so consecutive batches overlap; two ``flock`` descriptors
    of one stripe file conflict even in one process, so elsewhere a batch waits for the last.
    """

    def __init__(self) -> None:
        self.pool = ThreadPoolExecutor(GC_DELETERS, thread_name_prefix="gc-delete")
        self.overlap = connection.vendor == "postgresql"
        self.pending: tuple[ExitStack, list[Future]] | None = None

    def __enter__(self) -> "_Unlinker":
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.finish()
        finally:
            self.pool.shutdown()

    def start(self, sha256s: Iterable[str], locks: ExitStack) -> None:
        """Remove the files of ``sha256s``, then release ``locks``; wait for the batch before."""
        paths = [blob_path(sha256) for sha256 in sha256s]
        share = -(-len(paths) // GC_DELETERS) or 1  # one task per deleter: few futures
        delete = blob_backend().delete
        tasks = [
            self.pool.submit(_delete_files, delete, paths[start : start + share])
            for start in range(0, len(paths), share)
        ]
        self.finish()
        self.pending = (locks, tasks)

    def finish(self) -> None:
        """Wait for the pending batch's files, then release its locks."""
        if self.pending is None:
            return
        locks, tasks = self.pending
        self.pending = None
        with locks:
            for task in tasks:
                task.result()


def _delete_files(delete: Callable[[str], None], paths: list[str]) -> None:
    for path in paths:
        delete(path)


def _blobs_collect(*, sha256s: list[str], cutoff: datetime, unlinker: _Unlinker) -> dict[str, int]:
    """Delete those of ``sha256s`` still stale and unreferenced; return their sizes by digest.

    Rows go in one transaction; their files after its commit, still under the digests' locks,
    which ``unlinker`` releases once the files are gone.
    """
    if not unlinker.overlap:
        unlinker.finish()  # its stripes are free before this batch takes them
    with ExitStack() as locks:
        held = locks.enter_context(digest_locks_try(sha256s))  # the others are being ingested
        gone = _rows_delete(sha256s=held, cutoff=cutoff)
        unlinker.start(gone, locks.pop_all())
    return gone


def _rows_delete(*, sha256s: list[str], cutoff: datetime) -> dict[str, int]:
    if not sha256s:
        return {}
    blob, key, size = quoted(Blob), quoted(Blob, "sha256"), quoted(Blob, "size")
    written = quoted(Blob, "last_written")
    # Rows a writer holds (``blob_hold``) are about to be referenced: skipped, not waited for,
    # so no push waits for the collector either. SQLite's one writer at a time needs no lock.
    skip = " FOR UPDATE SKIP LOCKED" if connection.features.has_select_for_update else ""
    try:
        with transaction.atomic():
            pks = [
                row[0]
                for row in values_list(
                    f"SELECT {key} FROM {blob} WHERE {key} IN ({placeholders(len(sha256s))})"
                    f" AND {written} < %s{skip}",
                    [*sha256s, cutoff],
                )
            ]
            gone: dict[str, int] = {}
            if pks:
                # Locked first, then a fresh statement: it sees the references committed by
                # the writers that held the rows before (READ COMMITTED).
                unreferenced, params = _unreferenced_sql()
                gone = dict(
                    values_list(
                        f"DELETE FROM {blob} WHERE {key} IN ({placeholders(len(pks))})"
                        f" AND {unreferenced} RETURNING {key}, {size}",
                        [*pks, *params],
                    )
                )
    except IntegrityError:
        # A reference committed meanwhile (the deferred foreign keys kept every row of the
        # batch): delete the others one by one, so the referenced one alone stays.
        if len(sha256s) == 1:
            return {}
        gone = {}
        for sha256 in sha256s:
            gone.update(_rows_delete(sha256s=[sha256], cutoff=cutoff))
    return gone


def _upload_collect(*, upload_id: UUID, cutoff: datetime) -> bool:
    with _upload_lock(upload_id, wait=False) as held:
        # A session being appended to or finished holds its lock.
        if not held or not Upload.objects.filter(pk=upload_id, updated__lt=cutoff).exists():
            return False
        upload_cancel(upload=Upload(pk=upload_id))
        return True


def _remove_stale_temp_files(*, older_than: float, dry_run: bool) -> int:
    """Remove temporary files older than ``older_than`` that no process holds; return how many.

    Files vanish during the sweep all the time (an ingest renamed or removed its own).
    """
    removed = 0
    for entry in os.scandir(blob_backend().temp_dir):
        try:
            if not entry.is_file(follow_symlinks=False) or entry.stat().st_mtime >= older_than:
                continue
            with file_lock(Path(entry.path), wait=False) as held:
                if held and not dry_run:
                    Path(entry.path).unlink()
        except FileNotFoundError:
            continue
        removed += held
    return removed + sum(
        1 for _ in blob_backend().stale_temporaries(older_than=older_than, dry_run=dry_run)
    )
