"""The web UI's sign-in, and the health and readiness endpoints."""

import uuid

from django.conf import settings
from django.contrib.auth.views import LoginView
from django.http import HttpRequest, JsonResponse

from registry_project.celery import app as celery_app
from registry_project.db import value_get
from registry_project.errors import DatabaseUnavailable
from storage.backends import blob_backend

BROKER_TIMEOUT = 2  # seconds; a readiness probe must answer before the orchestrator gives up


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
