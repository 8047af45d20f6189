"""Shared pieces of the management API: pagination and the one exception handler."""

from typing import Any

from rest_framework import exceptions
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from registry_project.errors import RegistryError


class Pagination(LimitOffsetPagination):
    default_limit = 50
    max_limit = 500


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Render every API error as ``{"code", "message", "detail"}``."""
    if isinstance(exc, RegistryError):
        return Response(
            {"code": exc.code, "message": exc.message, "detail": exc.detail},
            status=exc.http_status,
            headers=dict(exc.headers),
        )
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(exc, exceptions.APIException):
        detail = response.data
        message = detail.get("detail", "invalid request") if isinstance(detail, dict) else detail
        response.data = {
            "code": exc.get_codes() if isinstance(exc.get_codes(), str) else "invalid",
            "message": str(message)
            if not isinstance(message, list)
            else "; ".join(map(str, message)),
            "detail": detail
            if not (isinstance(detail, dict) and set(detail) == {"detail"})
            else {},
        }
    return response
