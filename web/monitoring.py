"""What operators and their monitoring read: ``/-/metrics`` (Prometheus) and ``/-/status``.

Both go through the shared access check: metrics for superusers and users granted
``access.read_metrics`` (a monitoring system's token), or anyone when ``METRICS_PUBLIC``;
status for superusers only.
"""

import logging
import platform
from collections.abc import Callable, Iterator
from typing import Any

import celery
import django
from django.conf import settings
from django.core.handlers.wsgi import WSGIRequest
from django.db import DatabaseError, connection
from django.db.models import Count, Sum
from django.http import HttpRequest, HttpResponse, JsonResponse
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from access.auth import Principal, authenticate
from access.permissions import may_read_metrics, may_read_status
from formats.base import repository_error
from formats.models import Asset
from registry_project.celery import app as celery_app
from registry_project.errors import AuthenticationRequired, PermissionDenied, RegistryError
from registry_project.metrics import exposition
from storage.models import Blob

logger = logging.getLogger(__name__)


class BlobStoreCollector:
    """Blob count and bytes, and what deduplication saves, read from the database per scrape."""

    def collect(self) -> Iterator[Metric]:
        try:
            stored = Blob.objects.aggregate(count=Count("pk"), size=Sum("size"))
            # Bytes as many times as assets name them, against once per distinct blob named.
            named = Asset.objects.aggregate(size=Sum("blob__size"))["size"] or 0
            distinct = Blob.objects.filter(assets__isnull=False).distinct().aggregate(s=Sum("size"))
        except DatabaseError as error:  # the request metrics are still worth a scrape
            logger.warning("metrics: blob store figures left out: %s", error)
            return
        yield GaugeMetricFamily("registry_blobs", "Blobs in the store", value=stored["count"])
        yield GaugeMetricFamily(
            "registry_blob_bytes", "Bytes of the blobs in the store", value=stored["size"] or 0
        )
        yield GaugeMetricFamily(
            "registry_dedup_saved_bytes",
            "Bytes the files of all repositories would take more without deduplication",
            value=named - (distinct["s"] or 0),
        )


def _guarded(
    request: HttpRequest, allowed: Callable[[Principal], bool], respond: Callable[[], HttpResponse]
) -> HttpResponse:
    try:
        principal = authenticate(request)
        if principal.is_anonymous:
            raise AuthenticationRequired()
        if not allowed(principal):
            raise PermissionDenied(f"{request.path} is for administrators")
    except RegistryError as error:
        return repository_error(request, error)
    return respond()


def metrics(request: HttpRequest) -> HttpResponse:
    """Every metric in the Prometheus text format."""
    return _metrics(request, BlobStoreCollector())


def _metrics(request: HttpRequest, *collectors: Collector) -> HttpResponse:
    def respond() -> HttpResponse:
        return HttpResponse(exposition(*collectors), content_type=CONTENT_TYPE_LATEST)

    if settings.METRICS_PUBLIC:
        return respond()
    return _guarded(request, lambda principal: may_read_metrics(principal=principal), respond)


def worker_metrics(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    """WSGI app of a Celery worker's metrics port: its tasks' metrics, behind /-/metrics' check."""
    try:
        response = _metrics(WSGIRequest(environ))
    finally:
        connection.close()  # this server thread's own
    status = f"{response.status_code} {response.reason_phrase}"
    if response.status_code >= 400:
        logger.warning(
            "worker metrics: refused a scrape from %s: %s", environ.get("REMOTE_ADDR"), status
        )
    start_response(status, list(response.items()))
    return [response.content]


def status(request: HttpRequest) -> HttpResponse:
    """Versions of what runs, and how many tasks wait in the broker's queue."""

    def respond() -> HttpResponse:
        return JsonResponse(
            {
                "versions": {
                    "python": platform.python_version(),
                    "django": django.get_version(),
                    "celery": celery.__version__,
                    "database": f"{connection.vendor} {_database_version()}",
                },
                "formats": sorted(settings.FORMAT_APPS),
                "queue": _queue_status(),
            }
        )

    return _guarded(request, lambda principal: may_read_status(principal=principal), respond)


def _database_version() -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT version()" if connection.vendor == "postgresql" else "SELECT sqlite_version()"
        )
        return str(cursor.fetchone()[0]).split(" on ")[0]


def _queue_status() -> dict[str, object]:
    queue = settings.CELERY_TASK_DEFAULT_QUEUE
    if not settings.CELERY_BROKER_URL:
        return {"name": queue, "broker": "none: tasks run in the server process"}
    try:
        with celery_app.connection_for_read() as broker:
            declared = broker.default_channel.queue_declare(queue=queue, passive=True)
    except Exception as error:  # noqa: BLE001 - kombu raises the transport's own errors
        return {"name": queue, "error": error.__class__.__name__}
    return {"name": queue, "depth": declared.message_count}
