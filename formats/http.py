"""The HTTP toolkit the formats' protocol views share: conditional responses and body limits.

Conditional requests are RFC 9110 section 13, evaluated by Django's own
``get_conditional_response`` (If-Match, If-Unmodified-Since, If-None-Match with ``*`` and weak
comparison, If-Modified-Since) so every format answers them the same way. Request bodies
read into memory go through ``body_read``, and a Content-Length over a limit is refused by
``body_length_check`` before a byte is read (RFC 9110 section 15.5.14, 413 Content Too Large);
``request_stream`` and ``request_json_body`` are how protocol views get a body;
``after_response`` runs work once a response is sent. Byte ranges are parsed once, by
``storage.responses.parse_range``.
"""

from collections.abc import Callable
from datetime import datetime
from typing import BinaryIO, cast

from django.conf import settings
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.utils.cache import get_conditional_response
from django.utils.http import http_date

from registry_project.errors import BodyTooLarge, PreconditionFailed
from registry_project.request_body import socket_body


def body_length_check(request: HttpRequest, *, limit: int, message: str = "") -> None:
    """Refuse a body whose declared Content-Length is over ``limit`` bytes, before reading it.

    Args:
        request: the request whose body is about to be read.
        limit: the most bytes accepted.
        message: the error's message, when the protocol shows one (twine prints the reason).

    Raises:
        BodyTooLarge: the declared length exceeds ``limit``.
    """
    declared = request.META.get("CONTENT_LENGTH") or "0"
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(message, limit=limit)


def body_read(stream: BinaryIO, *, limit: int) -> bytes:
    """Read all of ``stream`` into memory, refusing more than ``limit`` bytes.

    One byte past the limit is read, so a body of exactly ``limit`` bytes is accepted and a
    longer one is refused without reading the rest of it.

    Raises:
        BodyTooLarge: the stream holds more than ``limit`` bytes.
    """
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise BodyTooLarge(limit=limit)
    return data


def conditional_response(
    request: HttpRequest,
    *,
    etag: str,
    last_modified: datetime,
    respond: Callable[[], HttpResponseBase],
) -> HttpResponseBase:
    """Answer 304 when the client's copy is current, else ``respond()``; both carry validators.

    The 304 is Django's ``HttpResponseNotModified``: no Content-Type. pip and poetry
    (CacheControl) merge a 304's headers into the page they cached, so a Content-Type there
    (Django's default ``text/html``) turned a cached PEP 691 JSON page into HTML and the next
    install found "versions: none". Callers add Cache-Control and Vary to either answer.

    Args:
        request: the GET or HEAD being answered.
        etag: the quoted entity tag of the current representation.
        last_modified: when the representation last changed.
        respond: builds the full response; not called for a 304.

    Raises:
        PreconditionFailed: If-Match or If-Unmodified-Since does not hold.
    """
    timestamp = int(last_modified.timestamp())
    conditional = get_conditional_response(request, etag=etag, last_modified=timestamp)
    if conditional is not None and conditional.status_code == 412:
        raise PreconditionFailed()
    response = respond() if conditional is None else conditional
    response["ETag"] = etag
    response["Last-Modified"] = http_date(timestamp)
    return response


def _wsgi_stream(request: HttpRequest) -> BinaryIO:
    body_length_check(request, limit=settings.REGISTRY_MAX_UPLOAD_SIZE)
    chunked = "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower()
    if chunked and not request.META.get("CONTENT_LENGTH"):
        return request.META["wsgi.input"]
    # HttpRequest is a file-like reader of its body (read, readline, readinto).
    return cast(BinaryIO, request)


def request_stream(request: HttpRequest) -> BinaryIO:
    """Return the request body as a stream, including chunked bodies without Content-Length.

    Django reads a body without Content-Length as empty; gunicorn de-chunks
    ``wsgi.input`` for us, so read that directly (Go clients such as skopeo send chunked).
    Under gunicorn a body of known length is received straight into the reader's buffers.
    """
    stream = _wsgi_stream(request)
    # Once Django has begun reading the body (request.POST, request.body), gunicorn's count
    # of what is left no longer matches the socket.
    started = getattr(request, "_read_started", True)
    direct = socket_body(request.META) if stream is request and not started else None
    return stream if direct is None else cast(BinaryIO, direct)


def request_json_body(request: HttpRequest, *, limit: int) -> bytes:
    """Read a document body (JSON, XML) that must be parsed in memory, refusing oversized ones."""
    return body_read(_wsgi_stream(request), limit=limit)


def after_response(response: HttpResponseBase, work: Callable[[], None]) -> None:
    """Run ``work`` when ``response`` is closed: after the server sent its last byte.

    Django closes every response it handled (its file, a streamed body) through the same
    list, so ``work`` runs in the request's thread with its database connection still open.
    An exception it raises is swallowed by Django: ``work`` should log its own failures.
    """
    response._resource_closers.append(work)  # type: ignore[attr-defined]
