"""The first middleware: a request id for every request, its access line and its metrics.

The request id comes from ``X-Request-ID`` when that is a safe one (``logs.request_id_accept``)
and is echoed in the response. The access line and the metrics are written when the response
is closed, after its last byte left, so streamed downloads are counted whole and timed to their
end; log lines written while a response streams still carry the request's id.
"""

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, cast

from django.core.signals import request_finished
from django.dispatch import receiver
from django.http import HttpRequest
from django.http.response import HttpResponseBase, StreamingHttpResponse

from access.auth import request_principal
from registry_project import metrics
from registry_project.logs import WorkContext, request_id_accept, work_context_set

logger = logging.getLogger("registry.access")
REQUEST_ID_HEADER = "X-Request-ID"


@dataclass
class _Served:
    """A request whose response is on its way: what its access line needs at the end."""

    context: WorkContext
    request: HttpRequest
    response: HttpResponseBase
    started: float
    sent: int = 0


# The response of this thread's current request, until Django's ``request_finished``.
_pending: ContextVar[_Served | None] = ContextVar("pending_response", default=None)


def _counted(served: _Served, chunks: Iterable[bytes]) -> Iterator[bytes]:
    for chunk in chunks:
        served.sent += len(chunk)
        yield chunk


class RequestLogMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        started = time.monotonic()
        context = WorkContext(request_id=request_id_accept(request.headers.get(REQUEST_ID_HEADER)))
        work_context_set(context)
        response = self.get_response(request)
        response[REQUEST_ID_HEADER] = context.request_id
        served = _Served(context=context, request=request, response=response, started=started)
        if request.method == "HEAD":
            pass  # a HEAD answer has headers only
        elif getattr(response, "file_to_stream", None) is not None:
            # The WSGI server sends the file itself (sendfile), all of the declared length.
            served.sent = int(response.get("Content-Length") or 0)
        elif isinstance(response, StreamingHttpResponse):
            # A WSGI server iterates synchronously.
            response.streaming_content = _counted(
                served, cast(Iterator[bytes], response.streaming_content)
            )
        else:
            served.sent = len(getattr(response, "content", b""))
        _pending.set(served)
        return response


def _caller(request: HttpRequest) -> tuple[str, int | None]:
    principal = request_principal(request)
    if principal is not None:
        user: Any = principal.user
        token = principal.token.pk if principal.token else None
    else:
        user, token = getattr(request, "user", None), None  # the web UI's session user
    name = user.get_username() if user is not None and user.is_authenticated else "-"
    return name, token


@receiver(request_finished, dispatch_uid="registry_project.requestlog")
def _finished(**kwargs: object) -> None:
    """Write the access line and the metrics of the response this thread just closed."""
    served = _pending.get()
    if served is None:
        return
    _pending.set(None)
    try:
        _record(served)
    finally:
        work_context_set(None)


def _record(served: _Served) -> None:
    request, response, context = served.request, served.response, served.context
    duration = time.monotonic() - served.started
    user, token = _caller(request)
    received = _content_length(request)
    status = response.status_code
    format = context.format or "none"
    operation = context.operation or _url_name(request)
    metrics.REQUESTS.labels(format, request.method, str(status)).inc()
    metrics.REQUEST_SECONDS.labels(format, operation).observe(duration)
    metrics.BYTES_IN.labels(format).inc(received)
    metrics.BYTES_OUT.labels(format).inc(served.sent)
    fields = {
        "method": request.method,
        "path": request.path,
        "status": status,
        "bytes": served.sent,
        "duration": round(duration, 6),
        "user": user,
        "token_id": token,
        "repository": context.repository,
        "format": context.format,
    }
    logger.info(
        "%s %s %s %sB %.3fs user=%s token=%s repository=%s format=%s",
        request.method,
        request.path,
        status,
        served.sent,
        duration,
        user,
        token if token is not None else "-",
        context.repository or "-",
        context.format or "-",
        extra=fields,
    )


def _content_length(request: HttpRequest) -> int:
    try:
        return max(int(request.headers.get("Content-Length") or 0), 0)
    except ValueError:
        return 0  # the view answered the malformed header; the count is only a metric


def _url_name(request: HttpRequest) -> str:
    match = request.resolver_match
    return (match.url_name or match.view_name) if match is not None else "unresolved"
