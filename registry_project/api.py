"""Shared pieces of the management API: pagination, the one exception handler and its schema."""

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from registry_project.errors import DatabaseUnavailable, RegistryError

# A viewset's lookup_value_regex: any path segment reaches the viewset (DRF's default stops at a
# dot, and repository names may hold one), so a malformed id answers the API's own 404.
ANY_SEGMENT = "[^/]+"


class Pagination(LimitOffsetPagination):
    default_limit = 50
    max_limit = 500


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Render every API error as ``{"code", "message", "detail"}``."""
    if isinstance(exc, (OperationalError, InterfaceError)):
        exc = DatabaseUnavailable()  # a broken connection (database restart): retry later
    if isinstance(exc, RegistryError):
        return Response(error_body(exc), status=exc.http_status, headers=dict(exc.headers))
    # DRF turns these into its own exceptions only inside its handler; the envelope needs them
    # turned first, or a 404 from get_object() answers DRF's bare {"detail": ...}.
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(*exc.args)
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(*exc.args)
    response = drf_exception_handler(exc, context)
    if response is None or not isinstance(exc, exceptions.APIException):
        return response
    data, codes = response.data, exc.get_codes()
    detail: list[Any] | dict[str, Any]
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


ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "code": {"type": "string"},
        "message": {"type": "string"},
        "detail": {"description": "What went wrong, per field for invalid input."},
    },
    "required": ["code", "message", "detail"],
}


def document_errors(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """drf-spectacular hook: every operation may answer an error, always in the one envelope.

    Declared as each operation's ``default`` response, so the schema says what a client gets
    for a 400, 401, 403, 404 or 409 (and schema checks hold every error body to it).
    """
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    reference = {"$ref": "#/components/schemas/Error"}
    for operations in result["paths"].values():
        for operation in operations.values():
            operation["responses"].setdefault(
                "default",
                {"description": "An error", "content": {"application/json": {"schema": reference}}},
            )
    return result
