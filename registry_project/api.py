"""Shared pieces of the management API: pagination and the one exception handler."""

from typing import Any

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, JsonResponse
from rest_framework import exceptions
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from registry_project.errors import DatabaseUnavailable, RegistryError


class Pagination(LimitOffsetPagination):
    default_limit = 50
    max_limit = 500


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Render every API error as ``{"code", "message", "detail"}``."""
    if isinstance(exc, (OperationalError, InterfaceError)):
        exc = DatabaseUnavailable()  # a broken connection (database restart): retry later
    if isinstance(exc, RegistryError):
        return Response(error_body(exc), status=exc.http_status, headers=dict(exc.headers))
    response = drf_exception_handler(exc, context)
    if response is None or not isinstance(exc, exceptions.APIException):
        return response
    data, codes = response.data, exc.get_codes()
    if isinstance(data, list):
        message, detail = "; ".join(map(str, data)), data
    elif "detail" in data:
        message, detail = str(data["detail"]), {k: v for k, v in data.items() if k != "detail"}
    else:
        message, detail = "invalid request", data
    response.data = {
        "code": codes if isinstance(codes, str) else "invalid",
        "message": message,
        "detail": detail,
    }
    return response


def error_body(error: RegistryError) -> dict[str, object]:
    """Return the API's envelope for ``error``."""
    return {"code": error.code, "message": error.message, "detail": error.detail}


def api_error(request: HttpRequest, error: RegistryError) -> JsonResponse:
    """Render ``error`` outside a DRF view (an unmatched ``/api/`` path, a broken database)."""
    response = JsonResponse(error_body(error), status=error.http_status)
    for name, value in error.headers.items():
        response[name] = value
    return response
