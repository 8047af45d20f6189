"""What every wire-protocol view shares: dispatch by repository, permission check, errors.

``/repository/<repo>/<path>`` is resolved against the URLconf of the repository's format
(``FormatConfig.protocol_urls``); the view receives the Repository as ``repository``.
"""

from typing import Any, BinaryIO, ClassVar

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.urls import Resolver404, resolve
from django.utils.cache import patch_cache_control
from django.utils.http import http_date
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from access.auth import Principal
from access.models import Role
from access.permissions import require
from formats.base import FormatConfig, format_config
from formats.errors import RepositoryUnknown
from formats.models import Document, Repository
from registry_project.db import row_get
from registry_project.errors import BodyTooLarge, NotFound, RegistryError
from registry_project.request_body import socket_body


class ProtocolView(View):
    """Base of the views a package client talks to.

    Subclasses set ``format_name``; a RegistryError raised anywhere in a handler is rendered
    by the format's ``render_error``, so handlers never build error bodies themselves.
    """

    format_name: ClassVar[str]
    repository: Repository

    @classmethod
    def as_view(cls, **initkwargs: Any) -> Any:
        return csrf_exempt(super().as_view(**initkwargs))

    @property
    def format(self) -> FormatConfig:
        config = format_config(self.format_name)
        assert config is not None
        return config

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        self.repository = kwargs.pop("repository", None)
        try:
            return super().dispatch(request, *args, **kwargs)
        except RegistryError as error:
            return self.format.render_error(request, error)

    def require(self, action: Role) -> Principal:
        """Check that the caller may perform ``action`` here; raise 401/403 otherwise."""
        return require(
            self.request,
            repository=self.repository,
            action=action,
            challenge=self.format.auth_challenge(self.request),
        )


def _unknown_repository(name: str) -> HttpResponse:
    error = RepositoryUnknown(f"repository {name!r} not found")
    return JsonResponse({"error": error.message}, status=error.http_status)


@csrf_exempt
def repository_dispatch(request: HttpRequest, repository_name: str, path: str) -> HttpResponseBase:
    """Route ``/repository/<repo>/<path>`` to the URLconf of the repository's format."""
    repository = row_get(Repository, name=repository_name)
    config = format_config(repository.format) if repository is not None else None
    if repository is None or config is None:
        return _unknown_repository(repository_name)
    try:
        match = resolve("/" + path, urlconf=config.protocol_urls)
    except Resolver404:
        return config.render_error(request, NotFound(f"no such {config.format_name} resource"))
    return match.func(request, *match.args, repository=repository, **match.kwargs)


def repository_path(repository: Repository) -> str:
    """Return the URL path every format of ``repository`` is served under."""
    return f"/repository/{repository.name}/"


def _wsgi_stream(request: HttpRequest) -> BinaryIO:
    declared = request.META.get("CONTENT_LENGTH") or "0"
    if declared.isdigit() and int(declared) > settings.REGISTRY_MAX_UPLOAD_SIZE:
        raise BodyTooLarge(limit=settings.REGISTRY_MAX_UPLOAD_SIZE)
    chunked = "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower()
    if chunked and not request.META.get("CONTENT_LENGTH"):
        return request.META["wsgi.input"]
    return request


def request_stream(request: HttpRequest) -> BinaryIO:
    """Return the request body as a stream, including chunked bodies without Content-Length.

    Django reads a body without Content-Length as empty; gunicorn de-chunks
    ``wsgi.input`` for us, so read that directly (Go clients such as skopeo send chunked).
    Under gunicorn a body of known length is received straight into the reader's buffers.
    """
    stream = _wsgi_stream(request)
    direct = socket_body(request.META) if stream is request and not request._read_started else None
    return stream if direct is None else direct


def request_json_body(request: HttpRequest, *, limit: int) -> bytes:
    """Read a document body (JSON, XML) that must be parsed in memory, refusing oversized ones."""
    stream = _wsgi_stream(request)
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise BodyTooLarge(limit=limit)
    return data


def document_response(
    request: HttpRequest, document: Document, *, max_age: int = 0
) -> HttpResponse:
    """Serve a generated document with ETag/Last-Modified, answering 304 when unchanged."""
    etag = f'"{document.etag}"'
    if etag in request.headers.get("If-None-Match", ""):
        response = HttpResponse(status=304)
    else:
        body = b"" if request.method == "HEAD" else bytes(document.content)
        response = HttpResponse(body, content_type=document.content_type)
        response["Content-Length"] = str(len(document.content))
    response["ETag"] = etag
    response["Last-Modified"] = http_date(document.updated.timestamp())
    patch_cache_control(response, max_age=max_age, must_revalidate=True)
    return response
