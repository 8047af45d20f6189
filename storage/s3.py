"""Blobs in an S3-compatible object store (AWS S3, MinIO, Ceph RGW), selected by ``BLOB_STORE_URL``.

Writes stream: bytes go out as a multipart upload to a temporary key while they are hashed
(a few part-sized buffers in memory, nothing on local disk), and become visible under their
digest key only when published, by a server-side copy. Resumable upload sessions keep all
their state in the store: full parts of the session's multipart upload plus a "tail" object
with the bytes after the last full part (less than a part, which S3 requires of every part but
the last), so any web process can continue or finish a session another one started.
"""

import functools
import io
import logging
import uuid
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from storage.errors import StoreUnavailable
from storage.locks import lock_try

logger = logging.getLogger(__name__)

PART_SIZE = 8 * 1024 * 1024  # >= the 5 MiB S3 asks of every part but the last
PARTS_IN_FLIGHT = 4  # per write: parts being sent while the next one fills
MAX_COPY_SIZE = 5 * 1024**3  # a single CopyObject's limit; larger objects copy part by part
COPY_PART_SIZE = 512 * 1024**2
TEMP_PREFIX = "tmp/"
# A live write to a temporary key holds one of these locks (picked by the key's random name),
# so garbage collection passes it by however long it has been silent.
LIVE_WRITE_LOCK = "s3-live-write"
LIVE_WRITE_STRIPES = 1024
READ_TIMEOUT = 60  # seconds a request may wait for the first byte of its answer
ASSEMBLE_TIMEOUT = 1800  # the same for completing and copying, which assemble whole objects
_MISSING = {"404", "NoSuchKey", "NotFound", "NoSuchUpload"}


def _is_missing(error: ClientError) -> bool:
    return str(error.response.get("Error", {}).get("Code")) in _MISSING


@contextmanager
def _store_errors() -> Iterator[None]:
    """Turn a failing store (down, unreachable, answering errors) into StoreUnavailable (503).

    An object that is missing stays a ClientError: callers treat that as an answer.
    """
    try:
        yield
    except ClientError as error:
        if _is_missing(error):
            raise
        logger.warning("object store error: %s", error)
        raise StoreUnavailable() from error
    except BotoCoreError as error:  # no connection, timeouts, a response cut short
        logger.warning("object store unreachable: %s", error)
        raise StoreUnavailable() from error


class _Client:
    """The boto3 client whose calls raise StoreUnavailable when the store fails them."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(self._client, name)

        @functools.wraps(method)
        def call(*args: Any, **kwargs: Any) -> Any:
            with _store_errors():
                return method(*args, **kwargs)

        return call

    def pages(self, operation: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
        """Yield every page of a listing ``operation``."""
        with _store_errors():
            yield from self._client.get_paginator(operation).paginate(**kwargs)


class S3Reader(io.RawIOBase):
    """A seekable read-only view of one object; each read continues one ranged GET."""

    def __init__(self, client: Any, bucket: str, key: str) -> None:
        self._client, self._bucket, self._key = client, bucket, key
        try:
            head = client.head_object(Bucket=bucket, Key=key)
        except ClientError as error:
            if _is_missing(error):
                raise FileNotFoundError(key) from None
            raise
        self.size = int(head["ContentLength"])
        self._position = 0
        self._body: Any = None

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self.size}[whence]
        if base + offset != self._position:
            self._drop_body()
            self._position = base + offset
        return self._position

    def tell(self) -> int:
        return self._position

    def readinto(self, buffer: Any) -> int:
        if self._position >= self.size:
            return 0
        if self._body is None:
            answer = self._client.get_object(
                Bucket=self._bucket, Key=self._key, Range=f"bytes={self._position}-"
            )
            self._body = answer["Body"]
        with _store_errors():
            data = self._body.read(len(buffer))
        buffer[: len(data)] = data
        self._position += len(data)
        return len(data)

    def _drop_body(self) -> None:
        if self._body is not None:
            self._body.close()
            self._body = None

    def close(self) -> None:
        self._drop_body()
        super().close()


class _PartSender:
    """Fills part-sized buffers and sends each to a multipart upload, a few at a time."""

    def __init__(self, backend: "S3Backend", key: str, upload_id: str, *, first_part: int) -> None:
        self._backend, self._key, self._upload_id = backend, key, upload_id
        self._number = first_part
        self._buffer = bytearray()
        self._pool = ThreadPoolExecutor(PARTS_IN_FLIGHT)
        self._in_flight: list[Future] = []
        self.parts: dict[int, str] = {}

    def write(self, chunk: memoryview) -> None:
        while chunk:
            room = PART_SIZE - len(self._buffer)
            self._buffer += chunk[:room]
            chunk = chunk[room:]
            if len(self._buffer) == PART_SIZE:
                self._send(bytes(self._buffer))
                self._buffer = bytearray()

    def _send(self, data: bytes) -> None:
        # Bounded memory: wait for the oldest part once PARTS_IN_FLIGHT are on their way.
        while len(self._in_flight) >= PARTS_IN_FLIGHT:
            self._in_flight.pop(0).result()
        self._in_flight.append(self._pool.submit(self._put, self._number, data))
        self._number += 1

    def _put(self, number: int, data: bytes) -> None:
        answer = self._backend.client.upload_part(
            Bucket=self._backend.bucket,
            Key=self._key,
            UploadId=self._upload_id,
            PartNumber=number,
            Body=data,
        )
        self.parts[number] = answer["ETag"]

    def finish(self) -> None:
        """Send what is left as the last part (the only part of an empty write)."""
        last = self.remainder()
        if last or not self.parts:
            self._put(self._number, last)

    def remainder(self) -> bytes:
        """Wait for every part sent; return the bytes after the last full part."""
        for future in self._in_flight:
            future.result()
        self._in_flight = []
        return bytes(self._buffer)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class _S3Writer:
    """One streamed write to a temporary key; ``publish`` copies it to its final key."""

    def __init__(self, backend: "S3Backend", key: str) -> None:
        self._backend, self.key = backend, key
        answer = backend.client.create_multipart_upload(Bucket=backend.bucket, Key=key)
        self._upload_id = answer["UploadId"]
        self._sender = _PartSender(backend, key, self._upload_id, first_part=1)
        self.completed = False

    def write(self, chunk: memoryview) -> None:
        self._sender.write(chunk)

    def publish(self, path: str) -> None:
        self._sender.finish()
        self._backend.complete(self.key, self._upload_id, self._sender.parts)
        self.completed = True
        self._backend.copy(self.key, path)

    def discard(self) -> None:
        self._sender.close()
        try:
            if self.completed:
                self._backend.delete_key(self.key)
            else:
                self._backend.abort(self.key, self._upload_id)
        except StoreUnavailable:
            # What the write published (or the error it raises) stands; garbage collection
            # removes the temporary object or multipart upload once it is stale.
            logger.warning("left temporary %s to garbage collection", self.key)


def _live_write_stripe(key: str) -> int:
    return zlib.crc32(key.encode()) % LIVE_WRITE_STRIPES


def _client(session: Any, endpoint_url: str, region: str, *, read_timeout: int) -> _Client:
    return _Client(
        session.client(
            "s3",
            endpoint_url=endpoint_url or None,
            region_name=region or None,
            config=Config(
                s3={"addressing_style": "path"} if endpoint_url else {},
                signature_version="s3v4",
                max_pool_connections=32,
                read_timeout=read_timeout,
                retries={"max_attempts": 5, "mode": "standard"},
            ),
        )
    )


class S3Backend:
    """Blobs as objects under ``s3://bucket/prefix``; nothing is served from local files.

    ``temp_dir`` stays local: the lock stripes live there.
    """

    def __init__(self, url: str, *, temp_root: Path | str, endpoint_url: str, region: str) -> None:
        parts = urlsplit(url)
        if parts.scheme != "s3" or not parts.netloc:
            raise ValueError(f"BLOB_STORE_URL must look like s3://bucket/prefix, not {url!r}")
        self.bucket = parts.netloc
        self.prefix = parts.path.strip("/") + "/" if parts.path.strip("/") else ""
        self.temp_dir = Path(temp_root) / "tmp"
        self.temp_dir.mkdir(parents=True, exist_ok=True)
        session = boto3.session.Session()
        self.client = _client(session, endpoint_url, region, read_timeout=READ_TIMEOUT)
        # Completing a multipart upload and copying server-side answer only once all the bytes
        # are assembled: minutes for gigabytes (AWS says so; moto takes ~1 min a GiB). Within
        # a short read timeout the client retries while the first attempt still runs, and
        # moto answers 500 to the attempt that races the first.
        self.assembling = _client(session, endpoint_url, region, read_timeout=ASSEMBLE_TIMEOUT)

    def _key(self, path: str) -> str:
        return self.prefix + path

    def exists(self, path: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(path))
        except ClientError as error:
            if _is_missing(error):
                return False
            raise
        return True

    def open(self, path: str) -> BinaryIO:
        return io.BufferedReader(S3Reader(self.client, self.bucket, self._key(path)), PART_SIZE)

    @contextmanager
    def writer(self, *, prefix: str) -> Iterator[_S3Writer]:
        with self._live_write_key(prefix) as key:
            writer = _S3Writer(self, key)
            try:
                yield writer
            finally:
                writer.discard()

    @contextmanager
    def _live_write_key(self, prefix: str) -> Iterator[str]:
        """Yield a fresh temporary key, holding its live-write lock for the block."""
        while True:
            key = self._key(f"{TEMP_PREFIX}{prefix}{uuid.uuid4().hex}")
            with lock_try(LIVE_WRITE_LOCK, _live_write_stripe(key)) as held:
                if held:  # else another live write has this stripe: draw again
                    yield key
                    return

    def delete(self, path: str) -> None:
        self.delete_key(self._key(path))

    def delete_key(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=key)

    def local_path(self, path: str) -> Path | None:
        return None

    def url(self, path: str, *, expires: int, content_type: str, disposition: str) -> str:
        """Return a presigned GET URL for ``path`` valid for ``expires`` seconds."""
        params = {
            "Bucket": self.bucket,
            "Key": self._key(path),
            "ResponseContentType": content_type,
        }
        if disposition:
            params["ResponseContentDisposition"] = disposition
        return self.client.generate_presigned_url("get_object", Params=params, ExpiresIn=expires)

    def walk(self, prefix: str) -> Iterator[tuple[str, float]]:
        pages = self.client.pages(
            "list_objects_v2", Bucket=self.bucket, Prefix=self._key(prefix.rstrip("/") + "/")
        )
        for page in pages:
            for item in page.get("Contents", []):
                yield item["Key"][len(self.prefix) :], item["LastModified"].timestamp()

    def copy(self, source_key: str, path: str) -> None:
        """Copy an object of this bucket to ``path`` on the server side."""
        target = self._key(path)
        size = int(self.client.head_object(Bucket=self.bucket, Key=source_key)["ContentLength"])
        if size <= MAX_COPY_SIZE:
            source = {"Bucket": self.bucket, "Key": source_key}
            self.assembling.copy_object(Bucket=self.bucket, Key=target, CopySource=source)
            return
        upload_id = self.client.create_multipart_upload(Bucket=self.bucket, Key=target)["UploadId"]
        try:
            parts = self._copy_parts(source_key, target, upload_id, size=size, part=COPY_PART_SIZE)
            self.complete(target, upload_id, parts)
        except BaseException:
            self.abort(target, upload_id)
            raise

    def _copy_parts(
        self, source_key: str, key: str, upload_id: str, *, size: int, part: int
    ) -> dict[int, str]:
        """Copy the first ``size`` bytes of an object into an upload, ``part`` bytes a part."""
        parts = {}
        source = {"Bucket": self.bucket, "Key": source_key}
        for number, start in enumerate(range(0, size, part), start=1):
            end = min(start + part, size) - 1
            answer = self.assembling.upload_part_copy(
                Bucket=self.bucket,
                Key=key,
                UploadId=upload_id,
                PartNumber=number,
                CopySource=source,
                CopySourceRange=f"bytes={start}-{end}",
            )
            parts[number] = answer["CopyPartResult"]["ETag"]
        return parts

    def complete(self, key: str, upload_id: str, parts: dict[int, str]) -> None:
        self.assembling.complete_multipart_upload(
            Bucket=self.bucket,
            Key=key,
            UploadId=upload_id,
            MultipartUpload={
                "Parts": [{"PartNumber": n, "ETag": etag} for n, etag in sorted(parts.items())]
            },
        )

    def abort(self, key: str, upload_id: str) -> None:
        try:
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
        except ClientError as error:
            if not _is_missing(error):
                raise

    # Resumable upload sessions.

    def _session_upload_id(self, key: str) -> str | None:
        answer = self.client.list_multipart_uploads(Bucket=self.bucket, Prefix=key)
        ids = [item["UploadId"] for item in answer.get("Uploads", []) if item["Key"] == key]
        return ids[0] if ids else None

    def _tail(self, key: str) -> bytes:
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=key + ".tail")
        except ClientError as error:
            if _is_missing(error):
                return b""
            raise
        return answer["Body"].read()

    def session_start(self, path: str) -> None:
        self.client.create_multipart_upload(Bucket=self.bucket, Key=self._key(path))

    @contextmanager
    def session_append(self, path: str, *, size: int) -> Iterator[_PartSender]:
        """Yield a writer continuing the session at ``size`` bytes; it counts once the block ends.

        Parts have fixed offsets (part n holds bytes from ``(n - 1) * PART_SIZE``), so a chunk
        that fails half-way leaves nothing a retry from ``size`` does not overwrite.
        """
        key = self._key(path)
        upload_id = self._session_upload_id(key) or self._session_reopen(key, size=size)
        full_parts, tail_length = divmod(size, PART_SIZE)
        sender = _PartSender(self, key, upload_id, first_part=full_parts + 1)
        try:
            tail = self._tail(key)[:tail_length] if tail_length else b""
            sender.write(memoryview(tail))
            yield sender
            rest = sender.remainder()
        finally:
            sender.close()
        self.client.put_object(Bucket=self.bucket, Key=key + ".tail", Body=rest)

    def _session_reopen(self, key: str, *, size: int) -> str:
        """Turn a sealed session (a finish whose digest did not match) back into parts and tail.

        Return the new multipart upload's id. The parts are server-side copies of the sealed
        object's ranges, so the client continues the session as if it had never been closed.
        """
        try:
            sealed = int(self.client.head_object(Bucket=self.bucket, Key=key)["ContentLength"])
        except ClientError as error:
            if _is_missing(error):
                raise FileNotFoundError(key) from None
            raise
        if sealed != size:
            raise FileNotFoundError(key)  # not this session's bytes
        upload_id = self.client.create_multipart_upload(Bucket=self.bucket, Key=key)["UploadId"]
        full_parts, tail_length = divmod(size, PART_SIZE)
        self._copy_parts(key, key, upload_id, size=full_parts * PART_SIZE, part=PART_SIZE)
        tail = b""
        if tail_length:
            answer = self.client.get_object(
                Bucket=self.bucket, Key=key, Range=f"bytes={full_parts * PART_SIZE}-{size - 1}"
            )
            with _store_errors():
                tail = answer["Body"].read()
        self.client.put_object(Bucket=self.bucket, Key=key + ".tail", Body=tail)
        return upload_id

    def session_seal(self, path: str, *, size: int) -> None:
        """Turn the session's parts and tail into one object at ``path`` (again: a no-op)."""
        key = self._key(path)
        upload_id = self._session_upload_id(key)
        if upload_id is None:
            if self.exists(path):
                return  # sealed by an earlier finish whose digest did not match
            raise FileNotFoundError(path)
        full_parts, tail_length = divmod(size, PART_SIZE)
        listed = self.client.pages("list_parts", Bucket=self.bucket, Key=key, UploadId=upload_id)
        parts = {
            item["PartNumber"]: item["ETag"]
            for page in listed
            for item in page.get("Parts", [])
            if item["PartNumber"] <= full_parts
        }
        if tail_length or not parts:
            tail = self._tail(key)[:tail_length]
            answer = self.client.upload_part(
                Bucket=self.bucket,
                Key=key,
                UploadId=upload_id,
                PartNumber=full_parts + 1,
                Body=tail,
            )
            parts[full_parts + 1] = answer["ETag"]
        self.complete(key, upload_id, parts)
        self.delete_key(key + ".tail")

    def session_publish(self, path: str, target: str) -> None:
        """Make a sealed session's bytes visible at ``target``; the session is gone after."""
        self.copy(self._key(path), target)
        self.session_delete(path)

    def session_delete(self, path: str) -> None:
        key = self._key(path)
        upload_id = self._session_upload_id(key)
        if upload_id is not None:
            self.abort(key, upload_id)
        self.delete_key(key)
        self.delete_key(key + ".tail")

    def stale_temporaries(self, *, older_than: float, dry_run: bool) -> Iterator[str]:
        """Drop the temporary writes idle since before ``older_than`` whose writer is gone.

        Multipart writes are aborted, completed temporary objects (a publish whose cleanup
        failed) deleted. A write is judged by its last part sent, not its start (one large
        upload can take longer than the grace period), and one whose writer still holds its
        lock is live however long it has been silent.
        """
        pages = self.client.pages(
            "list_multipart_uploads", Bucket=self.bucket, Prefix=self._key(TEMP_PREFIX)
        )
        for page in pages:
            for item in page.get("Uploads", []):
                key, upload_id = item["Key"], item["UploadId"]
                last = self._last_written(key, upload_id, item["Initiated"].timestamp())
                if last < older_than and self._drop_dead(
                    key, functools.partial(self.abort, key, upload_id), dry_run=dry_run
                ):
                    yield key
        for path, modified in self.walk(TEMP_PREFIX):
            key = self._key(path)
            if modified < older_than and self._drop_dead(
                key, functools.partial(self.delete_key, key), dry_run=dry_run
            ):
                yield key

    def _drop_dead(self, key: str, drop: Callable[[], None], *, dry_run: bool) -> bool:
        """Call ``drop`` unless the temporary write to ``key`` is live; return whether dead."""
        with lock_try(LIVE_WRITE_LOCK, _live_write_stripe(key)) as free:
            if free and not dry_run:
                drop()
            return free

    def _last_written(self, key: str, upload_id: str, initiated: float) -> float:
        """Return when the multipart write last sent a part (or started, before its first)."""
        try:
            parts = [
                item["LastModified"].timestamp()
                for page in self.client.pages(
                    "list_parts", Bucket=self.bucket, Key=key, UploadId=upload_id
                )
                for item in page.get("Parts", [])
            ]
        except ClientError as error:
            if _is_missing(error):
                return float("inf")  # completed or dropped meanwhile: not ours to abort
            raise
        return max([initiated, *parts])
