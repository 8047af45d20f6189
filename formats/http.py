"""The HTTP toolkit the formats' protocol views share: conditional responses.

Conditional requests are RFC 9110 section 13, evaluated by Django's own
``get_conditional_response`` (If-Match, If-Unmodified-Since, If-None-Match with ``*`` and weak
comparison, If-Modified-Since) so every format answers them the same way.
"""

from collections.abc import Callable
from datetime import datetime

from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.utils.cache import get_conditional_response
from django.utils.http import http_date

from registry_project.errors import PreconditionFailed


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
    response = get_conditional_response(request, etag=etag, last_modified=timestamp)
    if response is None:
        response = respond()
    elif response.status_code == 412:
        raise PreconditionFailed()
    response["ETag"] = etag
    response["Last-Modified"] = http_date(timestamp)
    return response
