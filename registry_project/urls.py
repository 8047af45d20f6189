"""Top-level routes: formats under /repository/<repo>/, the API, the UI and the admin console."""

import sys

from django.contrib import admin
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, include, path, re_path, resolve
from django.views.defaults import page_not_found
from django.views.defaults import server_error as django_server_error

from formats.base import format_configs, repository_error
from formats.mirror_views import mirror_authorize
from formats.protocol import repository_dispatch
from registry_project.api import api_error
from registry_project.errors import DatabaseUnavailable, NotFound, RegistryError
from web import monitoring
from web.views import health, ready

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("registry_project.api_urls")),
    path("-/health", health, name="health"),
    path("-/ready", ready, name="ready"),
    path("-/metrics", monitoring.metrics, name="metrics"),
    path("-/status", monitoring.status, name="status"),
    path("-/authorize", mirror_authorize, name="mirror-authorize"),
    re_path(
        r"^repository/(?P<repository_name>[^/]+)/(?P<path>.*)$",
        repository_dispatch,
        name="repository",
    ),
    *(path("", include(c.root_urls)) for c in format_configs() if c.root_urls),
    path("", include("web.urls")),
]


def _render(request: HttpRequest, error: RegistryError) -> HttpResponse | None:
    """Render ``error`` for the client of ``request``'s URL; None for the web UI's pages."""
    if request.path.startswith("/api/"):
        return api_error(request, error)
    if request.path.startswith(("/repository/", "/-/")):
        return repository_error(request, error)
    for config in format_configs():
        if config.root_urls:
            try:
                resolve(request.path, urlconf=config.root_urls)
            except Resolver404:
                continue
            return config.render_error(request, error)
    return None


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """A URL no route matches, answered in the envelope of whoever asks for it there."""
    response = _render(request, NotFound(f"nothing at {request.path}"))
    return response or page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    """An uncaught error; a broken database connection is 503 (retry later), not a 500.

    Django calls this while handling the exception, so ``sys.exc_info()`` is the error; it
    covers what fails before a view's own handling (middleware, URL resolution).
    """
    if not isinstance(sys.exc_info()[1], OperationalError | InterfaceError):
        return django_server_error(request)
    error = DatabaseUnavailable()
    response = _render(request, error)
    if response is None:
        response = HttpResponse(error.message, status=error.http_status, content_type="text/plain")
        for name, value in error.headers.items():
            response[name] = value
    return response


handler404 = not_found
handler500 = server_error
