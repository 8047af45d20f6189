"""Browse UI (server-rendered), its sign-in, and the health and readiness endpoints."""

import uuid

from django.conf import settings
from django.contrib.auth.views import LoginView
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render

from access.auth import Principal
from access.permissions import READ, has_permission, readable_repositories
from formats.base import format_config
from formats.models import Package, Repository
from formats.selectors import tag_history
from registry_project.celery import app as celery_app
from registry_project.db import value_get
from registry_project.errors import DatabaseUnavailable
from storage.backends import blob_backend
from web.markup import render_readme

BROKER_TIMEOUT = 2  # seconds; a readiness probe must answer before the orchestrator gives up


def _principal(request: HttpRequest) -> Principal:
    return Principal(user=request.user)


def _database_check() -> str:
    # The same path (and reconnect) every client request's first read takes: health must
    # fail exactly when requests do, not succeed on a connection of its own.
    try:
        value_get("SELECT 1", [])
    except DatabaseUnavailable as error:
        return f"error: {error.__cause__.__class__.__name__}"
    return "ok"


def _blob_store_check() -> str:
    try:
        probe = blob_backend().temp_dir / f"health-{uuid.uuid4().hex}"
        probe.write_bytes(b"ok")
        probe.unlink()
    except OSError as error:
        return f"error: {error.__class__.__name__}"
    return "ok"


def _broker_check() -> str:
    try:
        with celery_app.connection_for_write(settings.CELERY_BROKER_URL) as broker:
            broker.ensure_connection(max_retries=1, interval_start=0, timeout=BROKER_TIMEOUT)
    except Exception as error:  # noqa: BLE001 - kombu raises the transport's own errors
        return f"error: {error.__class__.__name__}"
    return "ok"


def _report(checks: dict[str, str]) -> JsonResponse:
    healthy = all(value == "ok" for value in checks.values())
    body = {"status": "ok" if healthy else "error", **checks}
    response = JsonResponse(body, status=200 if healthy else 503)
    if not healthy:
        response["Retry-After"] = DatabaseUnavailable.headers["Retry-After"]
    return response


def health(request: HttpRequest) -> JsonResponse:
    """Liveness: the process answers (what it depends on is ``ready``'s to check)."""
    return JsonResponse({"status": "ok"})


def ready(request: HttpRequest) -> JsonResponse:
    """Readiness: the database, the blob store and (when configured) the broker answer."""
    checks = {"database": _database_check(), "blob_store": _blob_store_check()}
    if settings.CELERY_BROKER_URL:
        checks["broker"] = _broker_check()
    return _report(checks)


class SignInView(LoginView):
    """Sign every active user in to the UI (staff or not); ``next`` must stay on this site.

    Django's LoginView checks the CSRF token and ``next``; the password check behind its form
    is throttled (a locked user or address gets the 429 page of ``web.middleware``).
    """

    template_name = "web/login.html"
    redirect_authenticated_user = True


def index(request: HttpRequest) -> HttpResponse:
    """List the repositories the visitor may read."""
    repositories = readable_repositories(principal=_principal(request))
    return render(request, "web/index.html", {"repositories": repositories})


def _readable_repository(request: HttpRequest, name: str) -> Repository:
    repository = get_object_or_404(Repository, name=name)
    if not has_permission(principal=_principal(request), repository=repository, action=READ):
        raise Http404("no such repository")  # private repositories stay hidden
    return repository


def repository_detail(request: HttpRequest, name: str) -> HttpResponse:
    """List the packages of a repository."""
    repository = _readable_repository(request, name)
    packages = repository.packages.order_by("normalized_name")[:500]
    return render(request, "web/repository.html", {"repository": repository, "packages": packages})


def package_detail(request: HttpRequest, name: str, package_id: int) -> HttpResponse:
    """Show a package's versions, tags and tag history."""
    repository = _readable_repository(request, name)
    package = get_object_or_404(Package, pk=package_id, repository=repository)
    versions = package.versions.select_related("published_by").order_by("-published_at")
    latest = versions.first()
    config = format_config(repository.format)
    details = config.version_details(latest) if latest is not None and config else None
    context = {
        "repository": repository,
        "package": package,
        "latest": latest,
        "details": details,
        "readme": render_readme(details.readme, readme_format=details.readme_format)
        if details and details.readme
        else "",
        "versions": versions,
        "tags": package.tags.select_related("version"),
        "history": tag_history(package=package)[:50],
    }
    return render(request, "web/package.html", context)
