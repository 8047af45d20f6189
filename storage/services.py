"""Writes to the blob store: streaming ingest, resumable uploads, garbage collection.

Bytes are hashed while they stream to a temporary file next to the store, verified, and only
then renamed into place; the ``Blob`` row is created after the bytes exist, so no row ever
points at nothing and no failed upload leaves anything visible.
"""

import fcntl
import hashlib
import hmac
import io
import itertools
import os
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import BinaryIO

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from storage.backends import blob_backend, start_writeback
from storage.errors import BlobTooLarge, DigestMismatch, UploadOutOfOrder
from storage.models import Blob, Upload, blob_path

CHUNK_SIZE = 1024 * 1024
BUFFERS = 4  # per ingest: one filling, the others being written and hashed
ALGORITHMS = ("sha256", "sha512", "sha1", "md5")
OPTIONAL_ALGORITHMS = ("sha512", "sha1", "md5")


def _update_all(chunk: memoryview, hashers: Iterable["hashlib._Hash"]) -> None:
    for hasher in hashers:
        hasher.update(chunk)


def _write_out(target: BinaryIO, chunk: memoryview, offset: int) -> None:
    target.write(chunk)
    if settings.BLOB_FSYNC:
        target.flush()
        start_writeback(target.fileno(), offset, len(chunk))


def _fill(source: BinaryIO, buffer: bytearray) -> int:
    """Read from ``source`` into ``buffer``; return how many bytes it holds (0 at the end)."""
    readinto = getattr(source, "readinto", None)
    if readinto is None:
        data = source.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)
    view = memoryview(buffer)
    filled = 0
    while filled < len(buffer) and (count := readinto(view[filled:])):
        filled += count
    return filled


def _hash_into(
    *,
    source: BinaryIO,
    target: BinaryIO | None,
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
    offset = target.tell() if target is not None else 0
    buffers = [bytearray(CHUNK_SIZE) for _ in range(BUFFERS)]
    in_use: list[list[Future]] = [[] for _ in buffers]
    with ThreadPoolExecutor(1) as hashing, ThreadPoolExecutor(1) as writing:
        for turn in itertools.count():
            slot = turn % len(buffers)
            for future in in_use[slot]:
                future.result()
            count = _fill(source, buffers[slot])
            if not count:
                break
            if size + count > max_size:
                raise BlobTooLarge(limit=max_size)
            chunk = memoryview(buffers[slot])[:count]
            in_use[slot] = [hashing.submit(_update_all, chunk, hashers.values())]
            if target is not None:
                in_use[slot].append(writing.submit(_write_out, target, chunk, offset + size))
            size += count
        for futures in in_use:
            for future in futures:
                future.result()
    return {name: hasher.hexdigest() for name, hasher in hashers.items()}, size


def _verify(*, digests: Mapping[str, str], expected: Mapping[str, str]) -> None:
    for algorithm, value in expected.items():
        if not hmac.compare_digest(digests[algorithm], value.lower()):
            raise DigestMismatch(
                expected=f"{algorithm}:{value}", actual=f"{algorithm}:{digests[algorithm]}"
            )


def _publish(*, temp_file: Path, digests: Mapping[str, str], size: int) -> Blob:
    backend = blob_backend()
    path = blob_path(digests["sha256"])
    if backend.exists(path):
        temp_file.unlink(missing_ok=True)
    else:
        backend.publish(temp_file, path)
    known = {name: digests.get(name, "") for name in OPTIONAL_ALGORITHMS}
    blob, created = Blob.objects.get_or_create(
        sha256=digests["sha256"], defaults={"size": size, **known}
    )
    if not created:
        # Refresh last_written so garbage collection's grace period restarts for re-sent content.
        missing = {
            name: value for name, value in known.items() if value and not getattr(blob, name)
        }
        blob.last_written = timezone.now()
        Blob.objects.filter(pk=blob.pk).update(last_written=blob.last_written, **missing)
        for name, value in missing.items():
            setattr(blob, name, value)
    return blob


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
    backend = blob_backend()
    fd, name = tempfile.mkstemp(dir=backend.temp_dir, prefix="ingest-")
    temp_file = Path(name)
    try:
        with os.fdopen(fd, "wb") as target:
            digests, size = _hash_into(
                source=stream,
                target=target,
                algorithms=_algorithms_for(expected=expected, extra=algorithms),
                max_size=limit,
            )
        _verify(digests=digests, expected=expected)
        return _publish(temp_file=temp_file, digests=digests, size=size)
    finally:
        temp_file.unlink(missing_ok=True)


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


def upload_start(*, owner: AbstractBaseUser | None, scope: str) -> Upload:
    """Open a resumable upload bound to ``scope`` (the protocol context that may continue it)."""
    upload = Upload.objects.create(
        owner=owner if owner and owner.is_authenticated else None, scope=scope
    )
    local = blob_backend().local_path(upload.path)
    assert local is not None, "resumable uploads need a local or shared upload folder"
    local.touch()
    return upload


def _upload_file(upload: Upload) -> Path:
    local = blob_backend().local_path(upload.path)
    assert local is not None
    return local


def upload_append(
    *, upload: Upload, stream: BinaryIO, offset: int | None = None, max_size: int | None = None
) -> Upload:
    """Append a chunk; ``offset`` (when the client states one) must equal the bytes so far."""
    limit = settings.REGISTRY_MAX_UPLOAD_SIZE if max_size is None else max_size
    with _upload_file(upload).open("r+b") as target:
        # A lock on the session's file, not a database transaction, serializes appends: the
        # bytes stream for as long as the client sends them, and on SQLite a transaction held
        # that long would block every other writer (parallel layer uploads, token use).
        fcntl.flock(target, fcntl.LOCK_EX)
        current = Upload.objects.get(pk=upload.pk)
        if offset is not None and offset != current.size:
            raise UploadOutOfOrder(expected_offset=current.size, offset=offset)
        target.truncate(current.size)  # drop the tail of an earlier interrupted chunk
        target.seek(current.size)
        running = _running_sha256_take(upload=current)
        if running is None and current.size == 0:
            running = hashlib.sha256()
        _, written = _hash_into(
            source=stream,
            target=target,
            algorithms=(),
            max_size=limit - current.size,
            hashers={"sha256": running} if running is not None else {},
        )
        target.flush()
        current.size += written
        current.save(update_fields=["size", "updated"])
        if running is not None:
            _running_sha256_keep(upload=current, hasher=running)
    return current


# The sha256 of the sessions this process appended to, keyed by upload id and size: when the
# same process closes the session, upload_finish need not read the bytes again. Another process
# (or a size that moved on elsewhere) simply misses and re-reads.
_RUNNING_SHA256_MAX = 256
_running_sha256: "OrderedDict[object, tuple[int, hashlib._Hash]]" = OrderedDict()
_running_sha256_lock = threading.Lock()


def _running_sha256_take(*, upload: Upload) -> "hashlib._Hash | None":
    with _running_sha256_lock:
        entry = _running_sha256.pop(upload.pk, None)
    return entry[1] if entry is not None and entry[0] == upload.size else None


def _running_sha256_keep(*, upload: Upload, hasher: "hashlib._Hash") -> None:
    with _running_sha256_lock:
        _running_sha256[upload.pk] = (upload.size, hasher)
        while len(_running_sha256) > _RUNNING_SHA256_MAX:
            _running_sha256.popitem(last=False)


def upload_finish(*, upload: Upload, expected: Mapping[str, str]) -> Blob:
    """Verify the accumulated bytes against ``expected`` and turn them into a Blob."""
    file = _upload_file(upload)
    running = _running_sha256_take(upload=upload)
    if running is not None and set(expected) <= {"sha256"}:
        os.truncate(file, upload.size)  # the tail of an interrupted chunk is not part of it
        digests, size = {"sha256": running.hexdigest()}, upload.size
    else:
        with file.open("rb") as source:
            digests, size = _hash_into(
                source=source,
                target=None,
                algorithms=_algorithms_for(expected=expected, extra=()),
                max_size=upload.size,
            )
    _verify(digests=digests, expected=expected)
    blob = _publish(temp_file=file, digests=digests, size=size)
    upload.delete()
    return blob


def upload_cancel(*, upload: Upload) -> None:
    """Forget an upload and its bytes."""
    blob_backend().delete(upload.path)
    upload.delete()


def blob_gc(*, grace: timedelta | None = None) -> int:
    """Delete blobs nothing refers to and uploads abandoned longer than ``grace``.

    References are every foreign key to Blob, whichever app declares it, so the store needs
    no knowledge of formats. The grace period protects content ingested a moment before the
    row that will refer to it is written. Returns the number of blobs removed.
    """
    grace = timedelta(seconds=settings.BLOB_GC_GRACE_SECONDS) if grace is None else grace
    cutoff = timezone.now() - grace
    unreferenced = {f"{relation.name}__isnull": True for relation in Blob._meta.related_objects}
    backend = blob_backend()
    removed = 0
    for blob in Blob.objects.filter(last_written__lt=cutoff, **unreferenced).iterator():
        with transaction.atomic():
            # Delete only if still unreferenced; a concurrent publish would have linked it.
            if Blob.objects.filter(pk=blob.pk, **unreferenced).delete()[0]:
                backend.delete(blob.path)
                removed += 1
    for upload in Upload.objects.filter(updated__lt=cutoff):
        upload_cancel(upload=upload)
    _remove_stale_temp_files(older_than=time.time() - grace.total_seconds())
    return removed


def _remove_stale_temp_files(*, older_than: float) -> None:
    for entry in os.scandir(blob_backend().temp_dir):
        if entry.is_file() and entry.stat().st_mtime < older_than:
            Path(entry.path).unlink(missing_ok=True)
