"""The one place that decides how blob bytes leave the server.

``stream`` hands the open file to the WSGI server's file wrapper (gunicorn uses sendfile; an
object store's bytes stream through in part-sized reads); ``x-accel`` lets nginx serve the
file from an ``internal`` location on the same volume; ``redirect`` answers a GET with a
short-lived presigned URL of the object store, which then serves the bytes (and Range) itself.

Served files are whatever users uploaded, on the origin of the web UI and the API: a browser
must never run them. Every answer carries ``Content-Security-Policy: sandbox`` (no script, an
opaque origin) and ``nosniff``, and types outside ``INLINE_MEDIA_TYPES`` are attachments.
"""

import logging
import re
from typing import BinaryIO

from django.conf import settings
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.utils.cache import get_conditional_response, patch_cache_control
from django.utils.http import content_disposition_header

from registry_project.errors import PreconditionFailed
from storage.backends import blob_backend
from storage.errors import BlobCorrupt, RangeNotSatisfiable
from storage.models import Blob
from storage.services import CHUNK_SIZE

logger = logging.getLogger(__name__)

RANGE_PATTERN = re.compile(r"^bytes=(\d*)-(\d*)$")
# More digits than any size needs; int() of over 4300 digits raises (CVE-2020-10735 limit).
MAX_RANGE_DIGITS = 19
# Types a browser shows without running anything (no HTML, SVG, XML, PDF viewers); the
# rest downloads. Package clients ignore Content-Disposition without a filename.
INLINE_MEDIA_TYPES = frozenset(
    {
        "application/octet-stream",
        "application/json",
        "text/plain",
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
    }
)
CONTENT_SECURITY_POLICY = "sandbox"


class _BoundedFile:
    """A file positioned at a range start that reads no further than the range end.

    It keeps ``fileno`` so the WSGI server can still sendfile; gunicorn sends exactly
    Content-Length bytes from the current offset.
    """

    def __init__(self, file: BinaryIO, length: int) -> None:
        self._file = file
        self._remaining = length

    def read(self, size: int = -1) -> bytes:
        if self._remaining <= 0:
            return b""
        size = self._remaining if size < 0 else min(size, self._remaining)
        data = self._file.read(size)
        self._remaining -= len(data)
        return data

    def fileno(self) -> int:
        return self._file.fileno()

    def close(self) -> None:
        self._file.close()


def _number(digits: str) -> int:
    digits = digits.lstrip("0") or "0"
    return int(digits) if len(digits) <= MAX_RANGE_DIGITS else 10**MAX_RANGE_DIGITS


def parse_range(header: str, size: int) -> tuple[int, int] | None:
    """Return the inclusive (start, end) of a single-range ``Range`` header, or None to ignore it.

    Raises:
        RangeNotSatisfiable: the range lies outside the content.
    """
    match = RANGE_PATTERN.match(header.strip())
    if not match or match.groups() == ("", ""):
        return None  # multi-range or malformed: RFC 9110 lets us answer with the whole body
    first, last = (_number(group) if group else None for group in match.groups())
    if first is None:
        length = last or 0
        if length == 0:
            raise RangeNotSatisfiable(size=size)
        return max(size - length, 0), size - 1
    start = first
    end = min(last, size - 1) if last is not None else size - 1
    if start >= size or start > end:
        raise RangeNotSatisfiable(size=size)
    return start, end


def blob_response(
    request: HttpRequest,
    blob: Blob,
    *,
    content_type: str,
    filename: str = "",
    headers: dict[str, str] | None = None,
    redirect: bool = True,
) -> HttpResponseBase:
    """Answer a GET or HEAD for ``blob``, honouring conditional headers and a single byte Range.

    ``redirect=False`` sends the bytes from here in redirect mode too: for small documents
    whose answer's own headers matter to the client (OCI manifests and their digest header).

    Raises:
        PreconditionFailed: an If-Match or If-Unmodified-Since header does not hold.
        BlobCorrupt: fsck marked the blob's bytes missing or corrupt, or its file is gone.
    """
    if blob.corrupt is not None:
        logger.error("refused to serve sha256:%s: marked corrupt by fsck", blob.sha256)
        raise BlobCorrupt(digest=blob.digest)
    etag = f'"{blob.digest}"'
    conditional = get_conditional_response(request, etag=etag)
    if conditional is not None:
        if conditional.status_code == 412:
            raise PreconditionFailed()
        conditional["ETag"] = etag
        patch_cache_control(conditional, max_age=31536000, immutable=True)
        return conditional
    if redirect and settings.BLOB_SERVE_MODE == "redirect" and request.method != "HEAD":
        return _redirect(blob, content_type=content_type, filename=filename)
    byte_range = None
    x_accel = settings.BLOB_SERVE_MODE == "x-accel" and request.method != "HEAD"
    # Behind nginx, nginx itself answers Range requests for the redirected file.
    if not x_accel and "Range" in request.headers and request.headers.get("If-Range", etag) == etag:
        try:
            byte_range = parse_range(request.headers["Range"], blob.size)
        except RangeNotSatisfiable:
            refused = HttpResponse(status=416, content_type="text/plain")
            refused["Content-Range"] = f"bytes */{blob.size}"
            return untrusted_headers(refused, content_type="text/plain", filename="")
    start, end = byte_range or (0, blob.size - 1)
    length = end - start + 1 if blob.size else 0
    response: HttpResponseBase
    if request.method == "HEAD":
        response = HttpResponse(content_type=content_type)
    elif x_accel:
        response = HttpResponse(content_type=content_type)
        response["X-Accel-Redirect"] = settings.BLOB_X_ACCEL_PREFIX + blob.path
    else:
        try:
            file = blob_backend().open(blob.path)
        except FileNotFoundError:
            logger.error("sha256:%s: its file is gone from the store", blob.sha256)
            raise BlobCorrupt(digest=blob.digest) from None
        file.seek(start)
        response = FileResponse(_BoundedFile(file, length), content_type=content_type)
        response.block_size = CHUNK_SIZE  # reads when there is no sendfile (an object store, TLS)
    if not x_accel:
        response["Content-Length"] = str(length)
    if byte_range:
        response.status_code = 206
        response["Content-Range"] = f"bytes {start}-{end}/{blob.size}"
    untrusted_headers(response, content_type=content_type, filename=filename)
    response["Accept-Ranges"] = "bytes"
    response["ETag"] = etag
    for name, value in (headers or {}).items():
        response[name] = value
    patch_cache_control(response, max_age=31536000, immutable=True)
    return response


def _redirect(blob: Blob, *, content_type: str, filename: str) -> HttpResponseBase:
    # The object store answers with the type and disposition signed into the URL; its origin
    # is not ours, so what it serves cannot act as this site's pages.
    url = blob_backend().url(
        blob.path,
        expires=settings.BLOB_REDIRECT_SECONDS,
        content_type=content_type,
        disposition=_disposition(content_type=content_type, filename=filename),
    )
    response = HttpResponseRedirect(url)
    response["ETag"] = f'"{blob.digest}"'
    patch_cache_control(response, private=True, max_age=settings.BLOB_REDIRECT_SECONDS // 2)
    return response


def _disposition(*, content_type: str, filename: str) -> str:
    media_type = content_type.partition(";")[0].strip().lower()
    if filename or media_type not in INLINE_MEDIA_TYPES:
        # Django always answers for an attachment: "attachment", with the filename if any.
        return str(content_disposition_header(True, filename))
    return ""


def untrusted_headers(
    response: HttpResponseBase, *, content_type: str, filename: str = ""
) -> HttpResponseBase:
    """Add the headers that keep uploaded bytes from running as this site's pages."""
    if disposition := _disposition(content_type=content_type, filename=filename):
        response["Content-Disposition"] = disposition
    response["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response["X-Content-Type-Options"] = "nosniff"
    return response
