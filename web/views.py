"""Browse UI (server-rendered), its sign-in, and the health endpoint."""

import uuid

from django.contrib.auth.views import LoginView
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render

from access.auth import Principal
from access.permissions import READ, has_permission, readable_repositories
from formats.base import format_config
from formats.models import Package, Repository
from formats.selectors import tag_history
from storage.backends import blob_backend
from web.markup import render_readme


def _principal(request: HttpRequest) -> Principal:
    return Principal(user=request.user)


def health(request: HttpRequest) -> JsonResponse:
    """Report whether the database and the blob store answer (200) or not (503)."""
    checks = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as error:  # noqa: BLE001 - any failure means unhealthy
        checks["database"] = f"error: {error.__class__.__name__}"
    try:
        backend = blob_backend()
        probe = backend.temp_dir / f"health-{uuid.uuid4().hex}"
        probe.write_bytes(b"ok")
        probe.unlink()
        checks["blob_store"] = "ok"
    except OSError as error:
        checks["blob_store"] = f"error: {error.__class__.__name__}"
    healthy = all(value == "ok" for value in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "error", **checks}, status=200 if healthy else 503
    )


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
